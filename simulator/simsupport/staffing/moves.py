"""Local moves on a roster: the neighbours the simulation stage of `schedule` tries.

A move takes one agent off a roster line and either drops it (one agent-shift less) or puts it
on a variant of the line within the pool's `schedule`: a start one allowed step earlier or
later, another template at the same start, or a break at another allowed offset. Every
neighbour respects the schedule's starts, templates, break offsets and `max_share`; the caller
simulates it and keeps it only if every target still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..config.schema import WEEKDAYS, Pool
from .covering import TemplateSpec
from .roster import DAY, RosterLine, templates


@dataclass(frozen=True)
class Move:
    kind: str  # less, earlier, later, template, break
    line: RosterLine  # the line one agent leaves
    to: RosterLine | None  # the one-agent line it joins (None: less)

    @property
    def label(self) -> str:
        if self.to is None:
            return f"one agent less on {self.line.pool} {self.line.label}"
        return f"{self.line.pool}: one agent {self.line.label} -> {self.to.label}"

    @property
    def saving(self) -> float:
        per_agent = self.line.cost / self.line.agents
        return per_agent - (self.to.cost if self.to is not None else 0.0)

    def apply(self, lines: list[RosterLine]) -> list[RosterLine]:
        """The roster after the move (lines merged where they become identical)."""
        out: list[RosterLine] = []
        for x in lines:
            out.append(_with_agents(x, x.agents - 1) if x == self.line else x)
        if self.to is not None:
            for i, x in enumerate(out):
                if _same_shift(x, self.to):
                    out[i] = _with_agents(x, x.agents + 1)
                    break
            else:
                out.append(self.to)
        return [x for x in out if x.agents > 0]


def _same_shift(a: RosterLine, b: RosterLine) -> bool:
    return (a.pool, a.template, a.days, a.start, a.breaks) == (b.pool, b.template, b.days, b.start, b.breaks)


def _with_agents(line: RosterLine, n: int) -> RosterLine:
    return replace(line, agents=n, cost=line.cost / line.agents * n if line.agents else 0.0)


def variant(pool: Pool, line: RosterLine, t: TemplateSpec, start: float, offsets: tuple[float, ...]) -> RosterLine:
    """One agent of `line`'s days on template `t` starting at `start` with these break offsets."""
    breaks = tuple(((start + off) % DAY, b.length, b.paid) for b, off in zip(t.breaks, offsets))
    paid = t.paid_seconds / 3600.0 * len(line.days)
    return RosterLine(pool=line.pool, template=t.name, days=line.days, start=start, end=(start + t.length) % DAY,
                      breaks=breaks, agents=1, paid_hours=paid, cost=paid * pool.cost)  # fmt: skip


def _offsets(line: RosterLine) -> tuple[float, ...]:
    return tuple(round((at - line.start) % DAY, 6) for at, _, _ in line.breaks)


def _middle(t: TemplateSpec) -> tuple[float, ...]:
    return tuple(b.offsets[len(b.offsets) // 2] for b in t.breaks)


def neighbours(pool: Pool, line: RosterLine) -> list[Move]:
    """Every move of one agent of `line` (max_share is checked by `allowed`)."""
    assert pool.schedule is not None
    specs = {t.name: t for t in templates(pool.schedule)}
    t = specs[line.template]
    starts = pool.schedule.start_times()
    offsets = _offsets(line)
    moves = [Move("less", line, None)]
    if line.start in starts and len(starts) > 1:
        i = starts.index(line.start)
        for kind, j in (("earlier", i - 1), ("later", i + 1)):
            s2 = starts[j % len(starts)]
            if s2 != line.start:
                moves.append(Move(kind, line, variant(pool, line, t, s2, offsets)))
    for name, other in specs.items():
        if name != line.template:
            moves.append(Move("template", line, variant(pool, line, other, line.start, _middle(other))))
    for k, b in enumerate(t.breaks):
        for off in b.offsets:
            if off != offsets[k]:
                new = offsets[:k] + (off,) + offsets[k + 1 :]
                moves.append(Move("break", line, variant(pool, line, t, line.start, new)))
    return moves


def allowed(pool: Pool, lines: list[RosterLine]) -> bool:
    """Does the pool's part of a roster keep every template within its max_share?"""
    assert pool.schedule is not None
    mine = [x for x in lines if x.pool == pool.name]
    total = sum(x.agents for x in mine)
    for name, share in pool.schedule.max_share.items():
        if sum(x.agents for x in mine if x.template == name) > share * total + 1e-9:
            return False
    return True


def surplus(line: RosterLine, coverage: np.ndarray, required: np.ndarray, slot: float, day0: int) -> float:
    """Fewest agents above the requirement over the slots a line works in the planning week
    (slot 0 = local midnight of the first day, a `day0` weekday): at 1 or more, one agent of
    the line can go and the roster still covers the requirement."""
    n = len(coverage)
    per_day = int(round(DAY / slot))
    first = int(line.start // slot)
    length = max(1, int(round(((line.end - line.start) % DAY or DAY) / slot)))
    days = [d for d in range(n // per_day) if WEEKDAYS[(day0 + d) % 7] in line.days]
    idx = [(d * per_day + first + k) % n for d in days for k in range(length)]
    diff = coverage[idx] - required[idx]
    return float(diff.min()) if len(diff) else 0.0
