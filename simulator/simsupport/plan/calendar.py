"""Shift calendars: when each block of a pool's agents is on duty, in simulation seconds.

Shifts are written in the pool's (or the shift's) time zone, so a block's length in simulation
time follows daylight-saving changes. Shrinkage (breaks, training, absence) removes that share
of every block, rounded to whole agents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..config.base import on_duty
from ..config.schema import WEEKDAYS, Pool, Shift

DAY = 86400.0


@dataclass(frozen=True)
class ShiftBlock:
    """Agents on duty from `on` to `off` (simulation seconds), off duty during `breaks`
    ((start, length) in simulation seconds; an agent busy at a break's start finishes the
    ticket in hand first, then takes the break's full length)."""

    on: float
    off: float
    agents: int
    breaks: tuple[tuple[float, float], ...] = ()


def shift_specs(pool: Pool) -> list[Shift] | None:
    """The pool's shifts as explicit blocks; None means on duty around the clock."""
    if pool.shifts == "24x7":
        return None
    if pool.shifts == "follow_the_sun":
        n = pool.agents or 0
        # already-validated values: construct without re-parsing units
        return [
            Shift.model_construct(start=0.0, end=8 * 3600.0, agents=n, days="all", timezone=None, name="apac"),
            Shift.model_construct(start=8 * 3600.0, end=16 * 3600.0, agents=n, days="all", timezone=None, name="emea"),
            Shift.model_construct(start=16 * 3600.0, end=DAY, agents=n, days="all", timezone=None, name="americas"),
        ]
    return list(pool.shifts)


def shift_blocks(shift: Shift, pool: Pool, start: datetime) -> Iterator[ShiftBlock]:
    """Every occurrence of a shift from simulation time 0 on, in the shift's time zone."""
    tz = ZoneInfo(shift.timezone or pool.timezone)
    n = on_duty(shift.agents, pool.shrinkage)
    length = (shift.end - shift.start) % DAY or DAY
    first_day = (start.astimezone(tz) - timedelta(days=1)).date()
    day = 0
    while True:
        date = first_day + timedelta(days=day)
        day += 1
        if shift.days != "all" and WEEKDAYS[date.weekday()] not in shift.days:
            continue
        wall = datetime(date.year, date.month, date.day) + timedelta(seconds=shift.start)
        on_dt = wall.replace(tzinfo=tz)
        on = (on_dt - start).total_seconds()
        off_wall = wall + timedelta(seconds=length)
        off = (off_wall.replace(tzinfo=tz) - start).total_seconds()
        if off <= 0:
            continue
        breaks = []
        for b in shift.breaks:
            at_wall = wall + timedelta(seconds=(b.at - shift.start) % DAY)
            at = (at_wall.replace(tzinfo=tz) - start).total_seconds()
            if at >= 0:  # a block already running at time 0 starts after its earlier breaks
                breaks.append((at, b.length))
        yield ShiftBlock(max(on, 0.0), off, n, tuple(breaks))
