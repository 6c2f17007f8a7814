"""Durations and rates with units.

Inside simsupport every time is a float number of seconds and every rate is per
second.  Scenario files, on the other hand, are written by people, who think in
"6min", "1h 30min" and "1400/h".  This module is the one place where the two
meet: parsers that turn unit-carrying text into seconds (and refuse anything
ambiguous, such as a bare 20), formatters for tables and messages, and pydantic
annotated types so that scenario schemas parse units and publish a JSON Schema
that editors can complete from.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import timedelta
from typing import Annotated, Any, Final, TypeAlias

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

__all__ = [
    "DURATION_PATTERN",
    "RATE_PATTERN",
    "SECONDS_PER_UNIT",
    "Duration",
    "PositiveDuration",
    "Probability",
    "Rate",
    "Seconds",
    "Share",
    "format_duration",
    "format_rate",
    "parse_duration",
    "parse_rate",
]

Seconds: TypeAlias = float
"""Simulation time: always float seconds inside simsupport."""

SECOND: Final = 1.0
MINUTE: Final = 60.0
HOUR: Final = 3600.0
DAY: Final = 86400.0
WEEK: Final = 604800.0

# Unit word -> (canonical symbol, seconds).  Lower case; input is lower-cased first.
_UNIT_WORDS: Final[dict[str, tuple[str, float]]] = {
    **{w: ("s", SECOND) for w in ("s", "sec", "secs", "second", "seconds")},
    **{w: ("min", MINUTE) for w in ("min", "mins", "minute", "minutes")},
    **{w: ("h", HOUR) for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: ("d", DAY) for w in ("d", "day", "days")},
    **{w: ("w", WEEK) for w in ("w", "week", "weeks")},
}

SECONDS_PER_UNIT: Final[dict[str, float]] = {
    "s": SECOND,
    "min": MINUTE,
    "h": HOUR,
    "d": DAY,
    "w": WEEK,
}
"""Seconds in one canonical unit (the symbols used by the formatters)."""

_UNIT_ORDER: Final[dict[str, int]] = {"w": 5, "d": 4, "h": 3, "min": 2, "s": 1}

# ASCII digits only: Python's float() and \d would otherwise accept e.g. Arabic-Indic digits.
_NUM: Final = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?"
_TERM_RE: Final = re.compile(rf"({_NUM})\s*([a-z]+)")
_CLOCK: Final = r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}(?:\.[0-9]*)?))?"
_CLOCK_RE: Final = re.compile(_CLOCK)
# Applied to stripped text.  No two whitespace runs are adjacent, so a failing match cannot
# backtrack over the ways of splitting a long run of spaces (that was cubic).
_DURATION_RE: Final = re.compile(rf"(?P<terms>{_NUM}\s*[a-z]+(?:\s*{_NUM}\s*[a-z]+)*)?\s*(?P<clock>{_CLOCK})?")
_BARE_NUMBER_RE: Final = re.compile(rf"\s*[+-]?{_NUM}\s*")
_RATE_RE: Final = re.compile(rf"\s*(?P<num>[+-]?{_NUM})\s*/\s*(?P<unit>[a-z]+)\s*")
_PER_RE: Final = re.compile(rf"\s*(?P<num>[+-]?{_NUM})\s*(?:per|a|an|every)\s+(?P<unit>[a-z]+)\s*")

_DURATION_HELP: Final = "write a number with a unit: 20s, 6min, 1.5h, 7d, or 3d 02:00"
_RATE_HELP: Final = "write a number per unit: 1400/h, 45/min, 0.2/s, 1000/d or 5000/w"


def _quote(value: object) -> str:
    """Quote a user value the way error messages show it ('20 seconds please', 1.5)."""
    return repr(value) if isinstance(value, str) else str(value)


def _is_number(value: object) -> bool:
    """A real number that is not a bool (YAML's yes/true must never become 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _unit(word: str, original: object) -> tuple[str, float]:
    """Look up a unit word, with a pointed message for the usual slips (m, ms)."""
    try:
        return _UNIT_WORDS[word]
    except KeyError:
        pass
    if word == "m":
        raise ValueError(f"{_quote(original)} uses 'm', which could mean minutes or months; write min for minutes")
    raise ValueError(
        f"{_quote(original)} has the unknown unit {word!r}; the units are s, min, h, d and w "
        f"(e.g. 20s, 6min, 1.5h, 7d, 2w)"
    )


def _clock_seconds(hh: str, mm: str, ss: str | None, original: object) -> float:
    """Seconds since midnight of an hh:mm[:ss] clock; 24:00 is allowed as the end of a day."""
    h, m = int(hh), int(mm)
    s = float(ss) if ss else 0.0
    if m >= 60 or s >= 60 or h > 24 or (h == 24 and (m or s)):
        raise ValueError(
            f"{_quote(original)} is not a clock time; hours go from 00 to 24 and minutes and seconds from 00 to 59"
        )
    return h * HOUR + m * MINUTE + s


def parse_duration(value: object) -> float:
    """Turn a duration written with units into float seconds.

    Accepted: "20s", "6min", "2.5min", "24h", "7d", "1w", compounds "1h30min", "1h 30min",
    "2d 6h", a day-and-clock "3d 02:00" (3 days + 2 hours), a clock "02:00" or "02:00:30"
    (time since midnight), a ``timedelta``, and the bare number 0.  A bare non-zero number
    is refused because 20 could be seconds or minutes, and that mistake is silent.

    Raises ValueError (only ValueError) with one sentence quoting the bad value.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds < 0:
            raise ValueError(f"{value!r} is negative; a duration must be 0 or more")
        return seconds
    if _is_number(value):
        number = _as_float(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{_quote(value)} is not a duration; {_DURATION_HELP}")
        if number == 0:
            return 0.0
        if number < 0:
            raise ValueError(
                f"{_quote(value)} is negative; a duration must be 0 or more, written with a unit such as 20s"
            )
        shown = _quote(value)
        raise ValueError(
            f"{shown} is not a duration without a unit; write {shown}s, {shown}min, {shown}h or {shown}d "
            f"(only 0 needs no unit)"
        )
    if not isinstance(value, str):
        raise ValueError(f"{_quote(value)} is not a duration; {_DURATION_HELP}")

    text = value.strip().lower()
    if not text:
        raise ValueError(f"{value!r} is empty; {_DURATION_HELP}")
    if _BARE_NUMBER_RE.fullmatch(text):
        if float(text) == 0:
            return 0.0
        if text.startswith("-"):
            raise ValueError(f"{value!r} is negative; a duration must be 0 or more")
        shown = text.lstrip("+")
        raise ValueError(
            f"{value!r} is not a duration without a unit; write {shown}s, {shown}min, {shown}h or {shown}d "
            f"(only 0 needs no unit)"
        )

    if text.startswith("-"):
        raise ValueError(f"{value!r} is negative; a duration must be 0 or more")
    match = _DURATION_RE.fullmatch(text)
    if match is None or not (match.group("terms") or match.group("clock")):
        raise ValueError(f"{value!r} is not a duration; {_DURATION_HELP}")

    total = 0.0
    last_rank = 99
    smallest = ""
    for number_text, word in _TERM_RE.findall(match.group("terms") or ""):
        symbol, factor = _unit(word, value)
        rank = _UNIT_ORDER[symbol]
        if rank >= last_rank:
            raise ValueError(
                f"{value!r} is not a duration; write its parts from the largest unit to the smallest, "
                f"each once, e.g. 1h 30min or 2d 6h"
            )
        last_rank = rank
        smallest = symbol
        total += float(number_text) * factor

    if match.group("clock"):
        if smallest and smallest not in ("d", "w"):
            raise ValueError(
                f"{value!r} is not a duration; a clock time can follow only days, as in 3d 02:00"
            )
        clock = _CLOCK_RE.fullmatch(match.group("clock"))
        assert clock is not None  # the outer pattern already matched it
        total += _clock_seconds(clock.group(1), clock.group(2), clock.group(3), value)

    if math.isinf(total) or math.isnan(total):
        raise ValueError(f"{value!r} is too large to be a duration; {_DURATION_HELP}")
    return total


def parse_rate(value: object) -> float:
    """Turn a rate such as "1400/h", "45/min", "0.2/s", "1000/d" or "5000/w" into events per second.

    A bare number is refused: 1400 could be per hour or per day, and the difference is
    a factor of 24 that no one would notice in a result table.  Zero ("0/h") is allowed.
    Raises ValueError (only ValueError) with one sentence quoting the bad value.
    """
    if _is_number(value):
        number = _as_float(value)
        shown = _quote(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{shown} is not a rate; {_RATE_HELP}")
        if number < 0:
            raise ValueError(f"{shown} is negative; a rate must be 0 or more, written with a unit such as 1400/h")
        raise ValueError(f"{shown} is not a rate without a unit; write {shown}/h, {shown}/min, {shown}/s or {shown}/d")
    if not isinstance(value, str):
        raise ValueError(f"{_quote(value)} is not a rate; {_RATE_HELP}")

    text = value.strip().lower()
    if not text:
        raise ValueError(f"{value!r} is empty; {_RATE_HELP}")
    per = _PER_RE.fullmatch(text)
    if per is not None and per.group("unit") in _UNIT_WORDS:
        symbol = _UNIT_WORDS[per.group("unit")][0]
        raise ValueError(f"{value!r} is not a rate; write it with a slash: {per.group('num')}/{symbol}")
    if _BARE_NUMBER_RE.fullmatch(text):
        shown = text.lstrip("+")
        raise ValueError(
            f"{value!r} is not a rate without a unit; write {shown}/h, {shown}/min, {shown}/s or {shown}/d"
        )
    match = _RATE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{value!r} is not a rate; {_RATE_HELP}")
    number_text = match.group("num")
    if number_text.startswith("-"):
        raise ValueError(f"{value!r} is negative; a rate must be 0 or more")
    word = match.group("unit")
    if word not in _UNIT_WORDS:
        if word == "m":
            raise ValueError(f"{value!r} uses 'm', which could mean minutes or months; write /min for per minute")
        raise ValueError(f"{value!r} has the unknown unit {word!r}; {_RATE_HELP}")
    rate = float(number_text) / _UNIT_WORDS[word][1]
    if math.isinf(rate) or math.isnan(rate):
        raise ValueError(f"{value!r} is too large to be a rate; {_RATE_HELP}")
    return rate


def _trim(number: float, digits: int) -> str:
    """A number with at most ``digits`` significant digits and no trailing zeros."""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.{digits}g}"


def format_duration(seconds: float) -> str:
    """Short human text for a duration in seconds: "45s", "6min", "1h 30min", "2d 3h".

    At most two units are shown and the value is rounded to the smaller one, so the
    text is for tables and messages, not for storage (parse_duration reads it back
    to within half of the smaller unit).
    """
    if math.isnan(seconds):
        return "nan"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if math.isinf(seconds):
        return "inf"
    if seconds < 59.95:
        return f"{_trim(float(f'{seconds:.3g}'), 3)}s"
    for big, small in (("w", "d"), ("d", "h"), ("h", "min"), ("min", "s")):
        big_s, small_s = SECONDS_PER_UNIT[big], SECONDS_PER_UNIT[small]
        if big == "w" and seconds < 10 * WEEK:
            continue  # days read better than weeks up to ~10 weeks ("20d" rather than "2w 6d")
        if seconds >= big_s - small_s / 2:
            if big == "w" and seconds >= 1000 * WEEK:
                return f"{_trim(float(f'{seconds / WEEK:.4g}'), 4)}w"
            count = round(seconds / small_s)
            ratio = round(big_s / small_s)
            whole, rest = divmod(count, ratio)
            return f"{whole}{big}" + (f" {rest}{small}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def format_rate(per_second: float) -> str:
    """Short human text for a rate given per second: "1400/h", "45/min", "12/s".

    Per hour is preferred because support volumes are planned per hour; per minute
    and per second take over only when the per-hour number gets unwieldy (>= 10000).
    """
    if math.isnan(per_second):
        return "nan"
    if math.isinf(per_second):
        return ("-" if per_second < 0 else "") + "inf"
    for symbol in ("h", "min", "s"):
        value = per_second * SECONDS_PER_UNIT[symbol]
        shown = float(f"{value:.4g}")
        if abs(shown) < 10000 or symbol == "s":
            return f"{_trim(shown, 4)}/{symbol}"
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------------
# pydantic annotated types
# ---------------------------------------------------------------------------


def _case_insensitive(word: str) -> str:
    """A JSON-Schema-safe pattern for a word in any case (JSON Schema patterns take no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _unit_alternation() -> str:
    words = sorted(_UNIT_WORDS, key=len, reverse=True)
    return "(?:" + "|".join(_case_insensitive(w) for w in words) + ")"


_NUM_JS: Final = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_UNITS_JS: Final = _unit_alternation()
_CLOCK_JS: Final = r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]*)?)?"
DURATION_PATTERN: Final = (
    rf"^\s*(?:{_NUM_JS}\s*{_UNITS_JS}(?:\s*{_NUM_JS}\s*{_UNITS_JS})*(?:\s*{_CLOCK_JS})?"
    rf"|{_CLOCK_JS}|0+(?:\.0*)?|\.0+)\s*$"
)
"""JSON Schema pattern for a duration string (looser than the parser, never stricter)."""
RATE_PATTERN: Final = rf"^\s*{_NUM_JS}\s*/\s*{_UNITS_JS}\s*$"
"""JSON Schema pattern for a rate string."""

_DURATION_EXAMPLES: Final = ["20s", "6min", "1.5h", "1h 30min", "7d", "3d 02:00"]
_RATE_EXAMPLES: Final = ["1400/h", "45/min", "0.2/s", "1000/d"]

_DURATION_SCHEMA: Final[dict[str, Any]] = {
    "anyOf": [
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": _DURATION_EXAMPLES,
            "description": "A duration with a unit (s, min, h, d, w), e.g. 20s, 6min, 1h 30min, 3d 02:00.",
        },
        {"type": "number", "const": 0, "description": "Only 0 may be written without a unit."},
    ]
}
_POSITIVE_DURATION_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": DURATION_PATTERN,
    "examples": _DURATION_EXAMPLES,
    "description": "A duration above 0 with a unit (s, min, h, d, w), e.g. 20s, 6min, 1h 30min.",
}
_RATE_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": RATE_PATTERN,
    "examples": _RATE_EXAMPLES,
    "description": "A rate: a number per unit of time, e.g. 1400/h, 45/min, 0.2/s, 1000/d.",
}


def _as_float(value: object) -> float:
    """float() of a bare number; integers too large for a float are simply infinite."""
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{_quote(value)} must be more than 0, e.g. 20s or 6min")
    return seconds


def _exact_seconds(seconds: float) -> str:
    """Exact, re-parseable text ("1800s", "0.1s") so JSON dumps load back unchanged."""
    text = repr(float(seconds))
    return (text.removesuffix(".0")) + "s"


def _exact_rate(per_second: float) -> str:
    text = repr(float(per_second))
    return (text.removesuffix(".0")) + "/s"


def _reject_bool(value: object) -> object:
    """YAML turns yes/no/true into bools; a fraction written as `true` is a mistake, not 1.0.
    A percentage ("80%") is the fraction it says."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise ValueError(f"{value!r} is not a number; write a fraction between 0 and 1, such as 0.8")
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage; write 80% or 0.8") from None
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(_exact_seconds, return_type=str, when_used="json"),
    WithJsonSchema(_DURATION_SCHEMA),
]
"""Float seconds >= 0, written in scenarios with a unit ("6min"); JSON dumps write exact "<seconds>s"."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(_positive_duration),
    PlainSerializer(_exact_seconds, return_type=str, when_used="json"),
    WithJsonSchema(_POSITIVE_DURATION_SCHEMA),
]
"""Float seconds > 0, written with a unit."""

Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    PlainSerializer(_exact_rate, return_type=str, when_used="json"),
    WithJsonSchema(_RATE_SCHEMA),
]
"""Float events per second >= 0, written with a unit ("1400/h"); JSON dumps write exact "<per second>/s"."""

# Field before BeforeValidator: the other order turns ge/le into non-standard "ge"/"le" JSON Schema keys.
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), BeforeValidator(_reject_bool)]
"""A probability in [0, 1]; bools are refused."""

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False), BeforeValidator(_reject_bool)]
"""A fraction of a whole in [0, 1] (e.g. the share of tickets in one language); bools are refused."""
