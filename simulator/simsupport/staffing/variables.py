"""The staffing decisions of a scenario: one headcount per pool, or per shift where the pool
lists shifts. Surge reserves are not decisions (they are called in by rules)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..config.schema import Scenario
from ..plan.calendar import shift_blocks, shift_specs

DAY_H = 24.0


@dataclass(frozen=True)
class Variable:
    pool: str
    shift: int | None  # index into the pool's shifts, or None for the pool's `agents`
    label: str  # "l1-asia/day" or "l2"
    current: int
    lo: int
    hi: int
    hours_per_week: float  # scheduled hours a week of one unit (agent) of this variable
    cost_per_hour: float

    @property
    def weekly_cost(self) -> float:
        """Cost of one more agent on this variable, per week."""
        return self.cost_per_hour * self.hours_per_week


def _shift_hours(sh: Any) -> float:
    length = ((sh.end - sh.start) % 86400 or 86400) / 3600
    days = 7 if sh.days == "all" else len(sh.days)
    return length * days


def exercised(s: Scenario, v: Variable) -> bool:
    """Is this decision's shift on duty at any time in the counted window? (A shift the horizon
    never reaches, such as a weekend shift in a two-day run, cannot be judged by it.)"""
    if v.shift is None:
        return True
    pool = s.pool(v.pool)
    sh = (shift_specs(pool) or [])[v.shift]
    for block in shift_blocks(sh, pool, s.start):
        if block.on >= s.end:
            return False
        if block.off > s.warmup:
            return True
    return False


def decision_variables(s: Scenario) -> list[Variable]:
    out = []
    for p in s.pools:
        lo = p.bounds.min if p.bounds is not None else 0
        hi = p.bounds.max if p.bounds is not None and p.bounds.max is not None else 100_000
        if isinstance(p.shifts, list):
            names = [sh.name or str(i) for i, sh in enumerate(p.shifts)]
            for i, sh in enumerate(p.shifts):
                name = names[i] if names.count(names[i]) == 1 else f"{names[i]}#{i}"  # labels stay unique
                out.append(Variable(p.name, i, f"{p.name}/{name}", sh.agents, lo, hi, _shift_hours(sh), p.cost))
        else:
            # 24x7: agents on duty around the clock; follow_the_sun: three shifts of `agents`
            out.append(Variable(p.name, None, p.name, p.agents or 0, lo, hi, 7 * DAY_H, p.cost))
    return out


def cost(vars_: list[Variable], x: dict[str, int]) -> float:
    """Weekly cost of a staffing (agent-hours x cost per hour)."""
    return sum(v.weekly_cost * x[v.label] for v in vars_)


def apply(data: dict[str, Any], vars_: list[Variable], x: dict[str, int]) -> dict[str, Any]:
    """Scenario data (plain, as read from YAML) with the staffing x written in."""
    out = copy.deepcopy(data)
    pools = {p.get("name"): p for p in out.get("pools", [])}
    for v in vars_:
        pool = pools[v.pool]
        if v.shift is None:
            pool["agents"] = int(x[v.label])
        else:
            pool["shifts"][v.shift]["agents"] = int(x[v.label])
    return out


def apply_to_tree(tree: Any, vars_: list[Variable], x: dict[str, int]) -> None:
    """The same, in place on a ruamel round-trip tree (keeps the file's comments and layout)."""
    for pool in tree.get("pools", []):
        for v in vars_:
            if pool.get("name") != v.pool or v.label not in x:
                continue
            if v.shift is None:
                pool["agents"] = int(x[v.label])
            else:
                pool["shifts"][v.shift]["agents"] = int(x[v.label])


def current(vars_: list[Variable]) -> dict[str, int]:
    return {v.label: v.current for v in vars_}

