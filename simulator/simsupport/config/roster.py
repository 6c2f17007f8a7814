"""Rosters: breaks in fixed shifts, and a pool's `schedule:` (the rules a roster must follow).

A fixed shift (`Shift` in schema.py) may list `breaks` at clock times. A `schedule` says how a
pool may be rostered rather than who is on duty: shift `templates` (a length and breaks that may
start at one of several offsets), the clock times a shift may start (`starts`, in the pool's
time zone), the weekly pattern of days on and off (`days_off`: 5x2 is five consecutive days on,
two off) and the largest share of agents on each template (`max_share`). Nothing here rosters
anyone; the engine and the staffing search read these rules.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ..units import Duration, PositiveDuration, format_duration
from .base import Frozen, Name

DAY = 86400.0
_EPS = 1e-6


def clock_text(seconds: float) -> str:
    """'08:00', '12:30:15' or '24:00' for seconds after midnight (a later day wraps)."""
    if seconds != DAY:
        seconds %= DAY
    h, rest = divmod(round(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _clock(what: str) -> Any:
    def check(v: float) -> float:
        if v > DAY:
            raise ValueError(f"{what} is a clock time between 00:00 and 24:00, e.g. 08:00")
        return v

    return AfterValidator(check)


# -- breaks in fixed shifts --------------------------------------------------------------------------------------------


class ShiftBreak(Frozen):
    """A break every agent of a shift takes at a clock time."""

    at: Annotated[Duration, _clock("a break's `at`")] = Field(
        description='clock time the break starts, in the shift\'s time zone, e.g. "12:00"'
    )
    length: PositiveDuration = Field(description="how long the break lasts, e.g. 30min")
    paid: bool = Field(default=False, description="is the break paid working time (for costs)? default false")


def shift_length(start: float, end: float) -> float:
    """Length of a shift from clock times; end <= start crosses midnight (equal: 24 hours)."""
    return (end - start) % DAY or DAY


def check_shift_breaks(breaks: list[ShiftBreak], start: float, end: float) -> None:
    """ValueError unless every break lies inside the shift start..end and no two overlap."""
    length = shift_length(start, end)
    spans = []
    for k, b in enumerate(breaks, 1):
        offset = (b.at - start) % DAY if b.at != start + DAY else DAY
        if offset + b.length > length + _EPS:
            raise ValueError(
                f"break {k} at {clock_text(b.at)} ({format_duration(b.length)}) is not inside the shift "
                f"{clock_text(start)}-{clock_text(end)}; a break lies entirely inside its shift"
            )
        spans.append((offset, k, b))
    spans.sort(key=lambda x: x[0])
    for (o1, k1, b1), (o2, k2, b2) in itertools.pairwise(spans):
        if o1 + b1.length > o2 + _EPS:
            raise ValueError(
                f"break {k1} at {clock_text(b1.at)} ({format_duration(b1.length)}) overlaps break {k2} at "
                f"{clock_text(b2.at)}; the breaks of one shift must not overlap"
            )


# -- a pool's schedule ---------------------------------------------------------------------------------------------


class TemplateBreak(Frozen):
    """A break in a shift template, starting at one of the `after` offsets (the roster picks)."""

    length: PositiveDuration = Field(description="how long the break lasts, e.g. 30min")
    after: Annotated[list[Duration], Field(min_length=1)] = Field(
        description="when the break may start, as offsets from the start of the shift, e.g. [3h30min, 4h, 4h30min]; "
        "the roster picks one for each agent"
    )
    paid: bool = Field(default=False, description="is the break paid working time? default false")

    @field_validator("after", mode="before")
    @classmethod
    def _a_list(cls, v: Any) -> Any:
        if not isinstance(v, list):
            raise ValueError(
                f"{v!r} is not a list of offsets; write the offsets from the shift start at which the break "
                "may start as a list, e.g. after: [3h30min, 4h]"
            )
        return v


class Template(Frozen):
    """A kind of shift a pool may be rostered on: its length and its breaks."""

    name: Name = Field(description="the template's name, e.g. full or part (unique within the schedule)")
    length: PositiveDuration = Field(description="from the start of the shift to its end, breaks included; at most 24h")
    breaks: list[TemplateBreak] = Field(default=[], description="breaks every agent on this template takes")

    @field_validator("length")
    @classmethod
    def _one_day(cls, v: float) -> float:
        if v > DAY + _EPS:
            raise ValueError(f"a template is one shift of at most 24h, not {format_duration(v)}")
        return v

    @field_validator("breaks")
    @classmethod
    def _fit(cls, v: list[TemplateBreak], info: ValidationInfo) -> list[TemplateBreak]:
        length = info.data.get("length")
        if length is None:
            return v  # the length was wrong already
        for k, b in enumerate(v, 1):
            latest = max(b.after)
            if latest + b.length > length + _EPS:
                raise ValueError(
                    f"break {k} ({format_duration(b.length)}) starting after {format_duration(latest)} ends at "
                    f"{format_duration(latest + b.length)}, past the end of the {format_duration(length)} shift; "
                    "every offset in `after` plus the break's length must fit in the template's length"
                )
        total = sum(b.length for b in v)
        if v and total >= length - _EPS:
            raise ValueError(
                f"the breaks last {format_duration(total)} in all, which leaves no working time in a "
                f"{format_duration(length)} shift"
            )
        return v

    def paid_length(self) -> float:
        """Seconds paid per shift: the length minus the unpaid breaks."""
        return self.length - sum(b.length for b in self.breaks if not b.paid)

    def working_length(self) -> float:
        """Seconds on duty per shift (able to take tickets): the length minus every break."""
        return self.length - sum(b.length for b in self.breaks)


class StartWindow(Frozen):
    """Clock times a shift may start: from `from` to `to` (both included) every `every`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    from_: Annotated[Duration, _clock("`from`")] = Field(
        alias="from", description='earliest start, a clock time in the pool\'s time zone, e.g. "06:00"'
    )
    to: Annotated[Duration, _clock("`to`")] = Field(
        description='latest start (included), a clock time in the pool\'s time zone, e.g. "14:00"'
    )
    every: PositiveDuration = Field(description="step between possible starts, e.g. 30min")

    @field_validator("to")
    @classmethod
    def _order(cls, v: float, info: ValidationInfo) -> float:
        start = info.data.get("from_")
        if start is not None and start > v:
            raise ValueError(
                f"`from` ({clock_text(start)}) is after `to` ({clock_text(v)}); a window runs forward within "
                "one day: for starts across midnight give two windows, e.g. [{from: '22:00', to: '24:00', "
                "every: 1h}, {from: '00:00', to: '02:00', every: 1h}]"
            )
        return v

    def times(self) -> list[float]:
        """Every start in the window, `to` included, in seconds after midnight."""
        n = math.floor((self.to - self.from_) / self.every + 1e-9)
        return [self.from_ + k * self.every for k in range(n + 1)]


DAYS_OFF_PATTERNS = tuple(f"{n}x{7 - n}" for n in range(1, 8))
DAYS_OFF_PATTERN = "^(none|" + "|".join(DAYS_OFF_PATTERNS) + ")$"
_DAYS_OFF_RE = re.compile(r"^([0-9]+)x([0-9]+)$")


def _days_off(v: Any) -> Any:
    allowed = "none (on every day) or N x M with N + M = 7: N consecutive days on, then M off, e.g. 5x2 or 4x3"
    if isinstance(v, int) and not isinstance(v, bool):
        # YAML reads 0x7 as the hexadecimal number 7 (and 0x7 has no day on anyway)
        raise ValueError(
            f"{v!r} is a number, not a days-off pattern; write {allowed} (YAML reads 0x7 as the hexadecimal "
            "number 7)"
        )
    if not isinstance(v, str):
        raise ValueError(f"{v!r} is not a days-off pattern; write {allowed}")
    text = v.strip().lower()
    if text == "none":
        return text
    m = _DAYS_OFF_RE.fullmatch(text.replace(" ", ""))
    if m is None:
        raise ValueError(f"{v!r} is not a days-off pattern; write {allowed}")
    on, off = int(m.group(1)), int(m.group(2))
    if on < 1 or on + off != 7:
        raise ValueError(f"{v!r} does not cover a week ({on} + {off} days is not 7 with at least one day on); write {allowed}")
    return f"{on}x{off}"


DaysOff = Annotated[
    str,
    Field(pattern=DAYS_OFF_PATTERN),
    BeforeValidator(_days_off),
]


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is not a share; write a fraction above 0 and at most 1, such as 0.3")
    return v


# Field before BeforeValidator: the other order writes a non-standard "gt" key into the JSON Schema
MaxShare = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), BeforeValidator(_no_bool)]


class Schedule(Frozen):
    """How a pool may be rostered: templates, start times, days off and limits per template."""

    templates: Annotated[list[Template], Field(min_length=1)] = Field(
        description="the kinds of shift agents may work (names unique), e.g. [{name: full, length: 8h30min}, "
        "{name: part, length: 4h}]"
    )
    starts: StartWindow | Annotated[list[StartWindow], Field(min_length=1)] = Field(
        description="when shifts may start, in the pool's time zone: a window {from, to, every} or a list of "
        "windows"
    )
    days_off: DaysOff = Field(
        default="none",
        description="weekly pattern: N x M with N + M = 7 (N consecutive days on, then M off, e.g. 5x2), or none "
        "(every day)",
    )
    max_share: dict[Name, MaxShare] = Field(
        default={},
        description="the largest share of the pool's agents on a template, above 0 and at most 1, e.g. {part: 0.3}",
    )

    @field_validator("templates")
    @classmethod
    def _unique(cls, v: list[Template]) -> list[Template]:
        seen: set[str] = set()
        for t in v:
            if t.name in seen:
                raise ValueError(f"template name {t.name!r} is used twice; template names must be unique")
            seen.add(t.name)
        return v

    @field_validator("max_share")
    @classmethod
    def _known(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        templates = info.data.get("templates")
        if templates is None:
            return v
        names = [t.name for t in templates]
        for key in v:
            if key not in names:
                raise ValueError(f"unknown template {key!r}; known templates: {', '.join(names)}")
        if set(v) == set(names) and sum(v.values()) < 1 - 1e-9:
            listing = " + ".join(f"{x:g}" for x in v.values())
            raise ValueError(
                f"every template has a max_share and together they allow only {listing} = {sum(v.values()):.4g} "
                "of the agents; they must allow at least 1"
            )
        return v

    @property
    def windows(self) -> list[StartWindow]:
        """The start windows as a list (one window given alone is a list of one)."""
        return list(self.starts) if isinstance(self.starts, list) else [self.starts]

    def start_times(self) -> list[float]:
        """Every allowed start, in seconds after local midnight, sorted and without repeats
        (24:00 is the next day's 00:00)."""
        out: set[float] = set()
        for w in self.windows:
            for t in w.times():
                out.add(round(t % DAY, 6))
        return sorted(out)

    def work_days_on(self) -> int:
        """Consecutive days on in a week: N of NxM, 7 for none."""
        return 7 if self.days_off == "none" else int(self.days_off.split("x")[0])

    def work_days_off(self) -> int:
        """Days off in a week: M of NxM, 0 for none."""
        return 7 - self.work_days_on()

    def template(self, name: str) -> Template:
        for t in self.templates:
            if t.name == name:
                return t
        raise KeyError(name)


__all__ = [
    "DAYS_OFF_PATTERNS",
    "Schedule",
    "ShiftBreak",
    "StartWindow",
    "Template",
    "TemplateBreak",
    "check_shift_breaks",
    "clock_text",
    "shift_length",
]
