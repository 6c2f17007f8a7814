"""Agents, pools and shifts.

A pool is a team of interchangeable agents (same languages, skills, channels). Its agents come
on duty in shift blocks; shrinkage (breaks, training, absence) removes that share of every
block, rounded to whole agents. When a shift ends an idle agent leaves at once and a busy one
finishes the ticket in hand first. Idle agents wait in a FIFO, so its head is the agent idle
longest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..config.base import on_duty
from ..config.schema import WEEKDAYS, Pool, Shift

DAY = 86400.0


class Agent:
    __slots__ = ("cap", "id", "idle_since", "leaving", "load", "on_duty", "pool", "ticket")

    def __init__(self, pool: PoolState, id: int) -> None:
        self.pool = pool
        self.idle_since = 0.0
        self.leaving = False
        self.on_duty = False
        self.id = id
        self.ticket: Any = None  # the ticket in service, until its service ends
        self.load = 0  # journey: tickets held (chats held at once)
        self.cap = 1  # journey: tickets it may hold, set by the first one it takes


class PoolState:
    """A pool at run time: who is idle, how many are busy and on duty, and their time integrals."""

    __slots__ = (
        "busy",
        "busy_sum",
        "cgroups",
        "duty",
        "duty_sum",
        "groups",
        "idle",
        "index",
        "name",
        "open",
        "tier",
    )

    def __init__(self, index: int, spec: Pool) -> None:
        self.index = index
        self.name = spec.name
        self.tier = spec.tier
        self.idle: deque[Agent] = deque()
        self.groups: list[dict[int, deque[Any]]] = []  # non-empty queues it serves, by routing rank
        self.busy: float = 0  # agents busy (with chat concurrency: slots held / slots per agent)
        self.duty = 0
        self.open: dict[Agent, None] = {}  # agents holding chats with room for more (journey)
        self.cgroups: list[dict[int, deque[Any]]] = []  # like groups, for queues of concurrent chats
        # Time integrals kept as (sum of leave times - sum of join times): one addition per
        # change on the hot path; the integral up to `now` is that sum + level * now.
        self.busy_sum = 0.0
        self.duty_sum = 0.0

    def busy_area(self, now: float) -> float:
        """Busy agent-seconds over [0, now]."""
        return self.busy_sum + self.busy * now

    def duty_area(self, now: float) -> float:
        """On-duty agent-seconds over [0, now]."""
        return self.duty_sum + self.duty * now


@dataclass(frozen=True)
class ShiftBlock:
    """Agents on duty from `on` to `off` (simulation seconds)."""

    on: float
    off: float
    agents: int


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
        yield ShiftBlock(max(on, 0.0), off, n)
