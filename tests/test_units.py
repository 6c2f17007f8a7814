"""Tests for simsupport.units: parsing, formatting and the pydantic unit types."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from simsupport.units import (
    DURATION_PATTERN,
    RATE_PATTERN,
    Duration,
    PositiveDuration,
    Probability,
    Rate,
    Share,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

UNIT_SECONDS = {
    **{w: 1.0 for w in ("s", "sec", "secs", "second", "seconds")},
    **{w: 60.0 for w in ("min", "mins", "minute", "minutes")},
    **{w: 3600.0 for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: 86400.0 for w in ("d", "day", "days")},
    **{w: 604800.0 for w in ("w", "week", "weeks")},
}
RATE_UNIT_SECONDS = UNIT_SECONDS


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("6min", 360.0),
        ("2.5min", 150.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
        ("1w", 604800.0),
        ("1h30min", 5400.0),
        ("1h 30min", 5400.0),
        ("2d 6h", 194400.0),
        ("3d 02:00", 3 * 86400.0 + 7200.0),
        ("3d02:00", 3 * 86400.0 + 7200.0),
        ("1w 2d 03:30", 604800.0 + 2 * 86400.0 + 3 * 3600.0 + 1800.0),
        ("02:00", 7200.0),
        ("02:00:30", 7230.0),
        ("00:00", 0.0),
        ("24:00", 86400.0),
        ("6MIN", 360.0),
        ("  1 H   30 Min ", 5400.0),
        ("1 hour 30 minutes", 5400.0),
        ("2 days", 172800.0),
        ("45 secs", 45.0),
        ("1.5hrs", 5400.0),
        (".5h", 1800.0),
        ("1e3s", 1000.0),
        ("0", 0.0),
        ("0.0", 0.0),
        ("0s", 0.0),
        (0, 0.0),
        (0.0, 0.0),
        (timedelta(minutes=6), 360.0),
    ],
)
def test_parse_duration_examples(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-15, abs=0)


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("20 seconds please", ["'20 seconds please' is not a duration", "20s", "6min", "3d 02:00"]),
        (20, ["20 is not a duration without a unit", "20s", "20min"]),
        (1.5, ["1.5", "1.5min"]),
        ("20", ["'20'", "20s", "20min", "only 0"]),
        (-3, ["-3 is negative"]),
        ("-5min", ["'-5min' is negative"]),
        (float("nan"), ["nan is not a duration"]),
        (float("inf"), ["inf is not a duration"]),
        ("nan", ["'nan' is not a duration"]),
        ("inf s", ["'inf s'"]),
        ("", ["'' is empty", "20s"]),
        ("   ", ["is empty"]),
        ("5m", ["'5m'", "min"]),
        ("5ms", ["'5ms'", "'ms'", "s, min, h, d and w"]),
        ("30min 1h", ["'30min 1h'", "largest unit"]),
        ("1h 1h", ["'1h 1h'", "each once"]),
        ("1h 02:00", ["'1h 02:00'", "only days"]),
        ("25:00", ["'25:00' is not a clock time"]),
        ("02:61", ["'02:61' is not a clock time"]),
        ("1e400s", ["'1e400s' is too large"]),
        (True, ["True is not a duration"]),
        (None, ["None is not a duration"]),
        ([1, "s"], ["is not a duration"]),
        ("1..5s", ["'1..5s' is not a duration"]),
        ("١٢s", ["is not a duration"]),  # non-ASCII digits are not numbers here
        (timedelta(seconds=-1), ["is negative"]),
    ],
)
def test_parse_duration_errors(value: object, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


_WHITESPACE = st.sampled_from(["", " ", "  ", "\t"])


def _random_case(draw: st.DrawFn, word: str) -> str:
    flags = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if f else c for c, f in zip(word, flags))


@st.composite
def _duration_text(draw: st.DrawFn) -> tuple[str, float]:
    value = draw(st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False))
    word = draw(st.sampled_from(sorted(UNIT_SECONDS)))
    text = draw(_WHITESPACE) + repr(value) + draw(_WHITESPACE) + _random_case(draw, word) + draw(_WHITESPACE)
    return text, value * UNIT_SECONDS[word]


@given(_duration_text())
def test_parse_duration_any_number_any_unit(case: tuple[str, float]) -> None:
    text, expected = case
    assert parse_duration(text) == expected


@given(
    st.integers(0, 50),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.booleans(),
)
def test_parse_duration_compound_and_clock(days: int, hours: int, minutes: int, seconds: int, clock: bool) -> None:
    expected = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if clock:
        text = f"{days}d {hours:02d}:{minutes:02d}:{seconds:02d}"
    else:
        text = f"{days}d {hours}h{minutes}min {seconds}s"
    assert parse_duration(text) == expected


@given(st.one_of(st.text(), st.text(alphabet="0123456789.:-+eE smhdwinrcoyu/,"), st.binary()))
def test_parse_duration_garbage_raises_only_value_error(text: object) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert isinstance(seconds, float)
        assert math.isfinite(seconds) and seconds >= 0


@given(st.one_of(st.none(), st.booleans(), st.lists(st.integers()), st.dictionaries(st.text(), st.integers())))
def test_parse_duration_wrong_types_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


# --------------------------------------------------------------------------- rates


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("1400/h", 1400 / 3600),
        ("45/min", 45 / 60),
        ("1.5/min", 1.5 / 60),
        ("0.2/s", 0.2),
        ("1000/d", 1000 / 86400),
        ("5000/w", 5000 / 604800),
        ("1400 / h", 1400 / 3600),
        ("1400/hour", 1400 / 3600),
        ("1400/HOURS", 1400 / 3600),
        ("0/h", 0.0),
        ("12/sec", 12.0),
    ],
)
def test_parse_rate_examples(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        (1400, ["1400 is not a rate without a unit", "1400/h"]),
        (0, ["0/h"]),
        ("1400", ["'1400'", "1400/h"]),
        ("1400 per hour", ["'1400 per hour'", "1400/h"]),
        ("30 per minute", ["30/min"]),
        ("-5/h", ["'-5/h' is negative"]),
        ("5/m", ["'5/m'", "/min"]),
        ("5/fortnight", ["'fortnight'", "1400/h"]),
        ("abc", ["'abc' is not a rate"]),
        ("", ["is empty"]),
        (True, ["True is not a rate"]),
        (None, ["None is not a rate"]),
        (float("nan"), ["nan is not a rate"]),
        ("1e400/s", ["too large"]),
    ],
)
def test_parse_rate_errors(value: object, fragments: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_rate(value)
    for fragment in fragments:
        assert fragment in str(info.value)


@given(
    st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from(sorted(RATE_UNIT_SECONDS)),
    _WHITESPACE,
)
def test_parse_rate_any_number_any_unit(value: float, word: str, space: str) -> None:
    assert parse_rate(f"{value!r}{space}/{space}{word}") == value / RATE_UNIT_SECONDS[word]


@given(st.one_of(st.text(), st.text(alphabet="0123456789./-+ smhdwinperu"), st.none(), st.booleans()))
def test_parse_rate_garbage_raises_only_value_error(value: object) -> None:
    try:
        rate = parse_rate(value)
    except ValueError:
        pass
    else:
        assert math.isfinite(rate) and rate >= 0


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (45.0, "45s"),
        (2.5, "2.5s"),
        (0.125, "0.125s"),
        (360.0, "6min"),
        (390.0, "6min 30s"),
        (5400.0, "1h 30min"),
        (3600.0, "1h"),
        (2 * 86400.0 + 3 * 3600.0, "2d 3h"),
        (20 * 86400.0, "20d"),
        (59.96, "1min"),
        (3599.9, "1h"),
        (-90.0, "-1min 30s"),
        (math.inf, "inf"),
        (math.nan, "nan"),
    ],
)
def test_format_duration_examples(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["45s", "6min", "6min 30s", "1h", "1h 30min", "2d 3h", "20d", "0.5s", "11w 3d"])
def test_format_duration_reproduces_canonical_text(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def _display_resolution(seconds: float) -> float:
    """Largest error format_duration may make: half of the smaller unit it shows."""
    if seconds < 60:
        return 0.005 * seconds  # three significant digits
    if seconds < 3600:
        return 0.5
    if seconds < 86400:
        return 30.0
    if seconds < 10 * 604800:
        return 1800.0
    return 43200.0


@given(st.floats(min_value=0.0, max_value=500 * 604800.0, allow_nan=False))
def test_format_duration_round_trip(seconds: float) -> None:
    back = parse_duration(format_duration(seconds))
    assert abs(back - seconds) <= _display_resolution(seconds) * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize(
    ("per_second", "text"),
    [
        (1400 / 3600, "1400/h"),
        (0.0, "0/h"),
        (0.75, "2700/h"),
        (0.5 / 3600, "0.5/h"),
        (1000 / 60, "1000/min"),
        (50.0, "3000/min"),
        (500.0, "500/s"),
        (1000 / 86400, "41.67/h"),
    ],
)
def test_format_rate_examples(per_second: float, text: str) -> None:
    assert format_rate(per_second) == text


@given(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_format_rate_round_trip(per_second: float) -> None:
    assert parse_rate(format_rate(per_second)) == pytest.approx(per_second, rel=5e-4)


# --------------------------------------------------------------------------- pydantic types


class _Timing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wait: Duration = 0.0
    handle: PositiveDuration = 60.0
    arrivals: Rate = 0.0
    p_answer: Probability = 1.0
    share: Share = 1.0


def test_pydantic_types_parse_units() -> None:
    t = _Timing(wait="20s", handle="6min", arrivals="1400/h", p_answer=0.8, share=0.25)
    assert (t.wait, t.handle, t.arrivals, t.p_answer, t.share) == (20.0, 360.0, 1400 / 3600, 0.8, 0.25)
    assert _Timing(wait=0).wait == 0.0


def test_pydantic_json_dump_round_trips() -> None:
    t = _Timing(wait="1h 30min", handle="0.1s", arrivals="1400/h")
    dumped = t.model_dump_json()
    assert json.loads(dumped)["wait"] == "5400s"
    assert _Timing.model_validate_json(dumped) == t
    assert t.model_dump()["wait"] == 5400.0  # python mode keeps plain floats


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"wait": "20"}, "not a duration without a unit"),
        ({"wait": 20}, "not a duration without a unit"),
        ({"handle": "0s"}, "must be more than 0"),
        ({"handle": 0}, "must be more than 0"),
        ({"arrivals": 1400}, "not a rate without a unit"),
        ({"p_answer": True}, "not a number"),
        ({"p_answer": 1.5}, "less than or equal to 1"),
        ({"p_answer": -0.1}, "greater than or equal to 0"),
        ({"p_answer": float("nan")}, "finite number"),
        ({"share": False}, "not a number"),
        ({"share": 2}, "less than or equal to 1"),
        ({"handel": "6min"}, "Extra inputs are not permitted"),
    ],
)
def test_pydantic_types_reject(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Timing.model_validate(data)
    assert fragment in str(info.value)


def test_json_schema_shapes() -> None:
    schema = _Timing.model_json_schema()
    props = schema["properties"]
    wait = props["wait"]
    assert {"type": "number", "const": 0} == {k: v for k, v in wait["anyOf"][1].items() if k != "description"}
    assert wait["anyOf"][0]["type"] == "string" and "6min" in wait["anyOf"][0]["examples"]
    assert props["handle"]["type"] == "string"
    assert props["arrivals"]["type"] == "string" and "1400/h" in props["arrivals"]["examples"]
    assert props["p_answer"]["minimum"] == 0 and props["p_answer"]["maximum"] == 1
    assert "prefixItems" not in json.dumps(schema)


@pytest.mark.parametrize(
    "text", ["20s", "6min", "2.5min", "1h30min", "1H 30 Min", "3d 02:00", "02:00:30", "0", "1e-05s", "5400s", "7 days"]
)
def test_duration_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    assert re.fullmatch(DURATION_PATTERN, text)


@pytest.mark.parametrize("text", ["20", "20 seconds please", "6 m", "abc", "1.5"])
def test_duration_pattern_flags_obvious_mistakes(text: str) -> None:
    assert not re.fullmatch(DURATION_PATTERN, text)


@given(_duration_text())
def test_duration_pattern_never_stricter_than_parser(case: tuple[str, float]) -> None:
    assert re.fullmatch(DURATION_PATTERN, case[0])


@pytest.mark.parametrize("text", ["1400/h", "45/min", "1400 / HOUR", "0.3888/s"])
def test_rate_pattern(text: str) -> None:
    assert re.fullmatch(RATE_PATTERN, text)
    assert not re.fullmatch(RATE_PATTERN, "1400")


def test_schema_examples_parse() -> None:
    props = _Timing.model_json_schema()["properties"]
    for example in props["wait"]["anyOf"][0]["examples"]:
        parse_duration(example)
    for example in props["arrivals"]["examples"]:
        parse_rate(example)
