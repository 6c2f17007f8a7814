"""Rosters as planners read them, and as scenarios run them.

A roster line is `agents` agents of one pool on one template, starting at one clock time, on
the days of one days-off rotation, with their breaks placed. The covering MILP
(`staffing.covering`) works on a planning week of slots from local midnight of the scenario's
first day; this module turns its pools' `schedule` blocks into covering problems, its
solutions into roster lines, and roster lines into ordinary fixed `shifts` (with `days` and
`breaks`), so that every roster `simsupport schedule` writes is a scenario like any other.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..config.roster import Schedule, clock_text
from ..config.schema import WEEKDAYS, Pool, Shift
from .covering import BreakSpec, CoverProblem, CoverSolution, ShiftType, TemplateSpec

DAY = 86400.0


@dataclass(frozen=True)
class RosterLine:
    pool: str
    template: str
    days: tuple[str, ...]  # weekday names it works
    start: float  # seconds after local midnight
    end: float  # seconds after local midnight (may be below start: crosses midnight)
    breaks: tuple[tuple[float, float, bool], ...]  # (clock time, length, paid)
    agents: int
    paid_hours: float  # per agent per week
    cost: float  # per week, all agents of the line

    @property
    def days_text(self) -> str:
        return "all" if len(self.days) == 7 else ",".join(self.days)

    @property
    def breaks_text(self) -> str:
        return ";".join(f"{clock_text(at)}-{clock_text((at + length) % DAY)}" for at, length, _ in self.breaks)

    @property
    def label(self) -> str:
        return f"{self.template}@{clock_text(self.start)} {self.days_text}"

    def shift(self) -> dict[str, Any]:
        """The line as a fixed shift of the scenario format."""
        out: dict[str, Any] = {
            "name": f"{self.template} {clock_text(self.start)} {self.days_text}",
            "start": clock_text(self.start),
            "end": clock_text(self.end),
            "agents": int(self.agents),
            "days": "all" if len(self.days) == 7 else list(self.days),
        }
        if self.breaks:
            out["breaks"] = [
                {"at": clock_text(at), "length": f"{int(round(length / 60))}min", **({"paid": True} if paid else {})}
                for at, length, paid in self.breaks
            ]
        return out


def first_weekday(pool: Pool, start: datetime) -> int:
    """Weekday (0 = Monday) of local midnight of the scenario's first day, in the pool's zone."""
    return start.astimezone(ZoneInfo(pool.timezone)).weekday()


def local_offset(pool: Pool, start: datetime) -> float:
    """Seconds from local midnight of the first day to simulation time 0."""
    local = start.astimezone(ZoneInfo(pool.timezone))
    return (local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()


def to_local_week(values: np.ndarray, slot: float, pool: Pool, start: datetime) -> np.ndarray:
    """Per-slot values from simulation time 0 re-indexed to the pool's planning week (slot 0 =
    local midnight of the first day; the week wraps, so the hours before time 0 on the first
    day take the last week's values)."""
    n = int(round(7 * DAY / slot))
    shift = int(round(local_offset(pool, start) / slot))
    vals = np.resize(np.asarray(values, dtype=float), n)
    return np.roll(vals, shift)


def templates(schedule: Schedule) -> tuple[TemplateSpec, ...]:
    return tuple(
        TemplateSpec(
            name=t.name,
            length=t.length,
            breaks=tuple(BreakSpec(b.length, tuple(b.after), b.paid) for b in t.breaks),
            max_share=schedule.max_share.get(t.name),
        )
        for t in schedule.templates
    )


def cover_problem(pool: Pool, requirement: np.ndarray, slot: float, *, extra: np.ndarray | None = None) -> CoverProblem:
    """The covering problem of a pool with a `schedule`, for a requirement in its local week."""
    assert pool.schedule is not None
    req = np.asarray(requirement, dtype=float) + (extra if extra is not None else 0.0)
    return CoverProblem(
        slot=slot,
        requirement=np.maximum(req, 0.0),
        templates=templates(pool.schedule),
        starts=tuple(pool.schedule.start_times()),
        days_off=pool.schedule.days_off,
        cost_per_paid_hour=pool.cost,
    )


def lines_from(pool: Pool, problem: CoverProblem, solution: CoverSolution, start: datetime) -> list[RosterLine]:
    """The solution's shift types as roster lines, weekdays named from the first local day."""
    day0 = first_weekday(pool, start)
    out = []
    for st, n in sorted(solution.counts.items(), key=lambda kv: (kv[0].start, kv[0].template, kv[0].first_day)):
        out.append(_line(pool, problem, st, n, day0))
    return out


def _line(pool: Pool, problem: CoverProblem, st: ShiftType, n: int, day0: int) -> RosterLine:
    t = problem.template(st.template)
    breaks = tuple(
        ((st.start + off) % DAY, b.length, b.paid) for b, off in zip(t.breaks, st.break_offsets)
    )
    days = tuple(WEEKDAYS[(day0 + d) % 7] for d in sorted(st.days))
    if len(days) == 7:
        days = tuple(WEEKDAYS)
    else:
        days = tuple(sorted(set(days), key=WEEKDAYS.index))
    paid = st.paid_hours(problem)
    return RosterLine(
        pool=pool.name, template=st.template, days=days, start=st.start, end=(st.start + t.length) % DAY,
        breaks=breaks, agents=int(n), paid_hours=paid, cost=paid * n * problem.cost_per_paid_hour,
    )  # fmt: skip


def paid_hours_of_shifts(pool: Pool) -> float:
    """Paid agent-hours a week of a pool's fixed shifts (breaks unpaid unless marked paid)."""
    if isinstance(pool.shifts, str):
        n = pool.agents or 0
        return n * 168.0
    total = 0.0
    for sh in pool.shifts:
        length = (sh.end - sh.start) % DAY or DAY
        unpaid = sum(b.length for b in sh.breaks if not b.paid)
        days = 7 if sh.days == "all" else len(sh.days)
        total += sh.agents * (length - unpaid) / 3600.0 * days
    return total


def shift_coverage(pool: Pool, slot: float, start: datetime) -> np.ndarray:
    """Agents a pool's fixed shifts put on duty in each slot of the local planning week
    (shrinkage not applied; breaks taken off)."""
    n = int(round(7 * DAY / slot))
    cov = np.zeros(n)
    if isinstance(pool.shifts, str):
        cov[:] = pool.agents or 0
        return cov
    day0 = first_weekday(pool, start)
    edges = np.arange(n + 1) * slot
    for sh in pool.shifts:
        length = (sh.end - sh.start) % DAY or DAY
        for d in range(7):
            if sh.days != "all" and WEEKDAYS[(day0 + d) % 7] not in sh.days:
                continue
            on = d * DAY + sh.start
            spans = [(on, length, 1.0)] + [(on + (b.at - sh.start) % DAY, b.length, -1.0) for b in sh.breaks]
            for lo, span, sign in spans:
                for wrap in (0.0, 7 * DAY, -7 * DAY):  # the week wraps
                    overlap = np.clip(np.minimum(edges[1:], lo + wrap + span) - np.maximum(edges[:-1], lo + wrap), 0.0, None)
                    cov += sign * sh.agents * overlap / slot
    return cov


def with_roster(data: dict[str, Any], lines: list[RosterLine]) -> dict[str, Any]:
    """A scenario dict whose rostered pools carry these lines as their shifts."""
    out = copy.deepcopy(data)
    by_pool: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_pool.setdefault(line.pool, []).append(line.shift())
    for pool in out.get("pools", []):
        if pool.get("name") in by_pool:
            pool["shifts"] = by_pool[pool["name"]]
            pool.pop("agents", None)
    return out


def lines_coverage(pool: Pool, lines: list[RosterLine], slot: float, start: datetime) -> np.ndarray:
    """Agents the lines schedule on duty per slot of the pool's local week (breaks off)."""
    if not lines:
        return np.zeros(int(round(7 * DAY / slot)))
    shifts = [Shift.model_validate(line.shift()) for line in lines]
    return shift_coverage(pool.model_copy(update={"shifts": shifts, "agents": None}), slot, start)
