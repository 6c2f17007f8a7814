"""`simsupport schedule` as a library call: the cheapest roster that meets every target.

Three stages, each recorded in the result (and search.json):

1. requirements: agents to schedule per pool and slot of the planning week, from the
   tier-aware analytic model (`staffing.requirements`);
2. covering: for every pool with a `schedule`, the minimum-cost integer choice of shift types
   (template, start, break placement, days-off rotation) whose coverage meets it
   (`staffing.covering`, HiGHS), with its LP bound and gap;
3. simulation with common random numbers: the roster is run (market, bursts and journey
   included, since every candidate is simulated); where a target is missed, the requirement is
   raised in the slots and pools that cause it and the covering solved again; then one
   agent-shift less is tried line by line, kept while every target still holds.

Pools without a `schedule` keep their shifts. The roster is whole agents; shrinkage is applied
by the model as for any shift.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config.derived import staffing_targets
from ..config.load import load_scenario_with, read_data, scenario_from_dict
from ..config.schema import Pool, Scenario
from ..errors import ScenarioError
from ..experiment.replications import default_workers, run_replications
from .covering import CoverSolution, solve_cover, uncoverable_slots
from .requirements import requirements
from .roster import (
    RosterLine,
    cover_problem,
    lines_coverage,
    lines_from,
    local_offset,
    paid_hours_of_shifts,
    to_local_week,
    with_roster,
)
from .targets import TargetResult, evaluate_targets

DAY = 86400.0
WEEK = 7 * DAY


@dataclass
class Round:
    """One covering solved and simulated."""

    stage: str  # cover, raise or trim
    cost: float
    agents: int
    met: bool
    missed: list[str]
    lp_bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0


@dataclass
class ScheduleResult:
    scenario: Scenario
    lines: list[RosterLine]
    targets: list[TargetResult]
    requirement: dict[str, np.ndarray]  # pool -> agents to schedule per local slot (analytic)
    raised: dict[str, np.ndarray]  # pool -> what the simulation stage added
    coverage: dict[str, np.ndarray]  # pool -> agents the roster schedules per local slot
    solutions: dict[str, CoverSolution]
    rounds: list[Round]
    slot: float
    today_hours: float  # paid agent-hours a week of the rostered pools' shifts today (0: none)
    roster_data: dict[str, Any]  # the scenario data with the roster written in
    results: list[Any] = field(default_factory=list)  # the final roster's replications
    unmet: list[dict[str, Any]] = field(default_factory=list)
    evaluations: int = 0
    replications_run: int = 0
    wall_s: float = 0.0

    @property
    def feasible(self) -> bool:
        return all(t.met for t in self.targets)

    @property
    def cost(self) -> float:
        return sum(line.cost for line in self.lines)

    @property
    def paid_hours(self) -> float:
        return sum(line.paid_hours * line.agents for line in self.lines)


def _rostered(s: Scenario) -> list[Pool]:
    pools = [p for p in s.pools if p.schedule is not None]
    if not pools:
        raise ScenarioError(
            "no pool has a `schedule` block, so there is no roster to choose; give a pool "
            "`schedule: {templates: [...], starts: {from, to, every}, days_off: 5x2}` (see the README, "
            "Rosters), or use `simsupport staff` to size fixed shifts",
            field="pools",
        )
    return pools


def schedule(
    path: str | Path,
    *,
    workers: int | None = None,
    replications: int | None = None,
    horizon: str | None = "7d",
    slot: float = 1800.0,
    max_rounds: int = 6,
    max_trims: int = 30,
    time_limit: float = 60.0,
    note: Callable[[str], None] | None = None,
) -> ScheduleResult:
    """Requirements, covering and simulation with common random numbers, as above."""
    say = note or (lambda _msg: None)
    wall = time.perf_counter()
    path = Path(path)
    s = load_scenario_with(path, horizon=horizon, staffing_as_given=False)
    data = read_data(path)[1]
    if horizon is not None:
        data = {**data, "horizon": horizon}
    goal = s.staffing
    reps = replications or (goal.replications if goal is not None and goal.replications else s.replications)
    workers = workers or default_workers()
    pools = _rostered(s)
    targets = staffing_targets(s)
    reqs = {r.pool: r for r in requirements(s, slot=slot, days=7, targets=targets)}
    local = {p.name: np.ceil(to_local_week(reqs[p.name].scheduled, slot, p, s.start)) for p in pools}
    raised = {p.name: np.zeros_like(local[p.name]) for p in pools}
    today = sum(paid_hours_of_shifts(p) for p in pools if not p.unrostered)
    rounds: list[Round] = []
    evaluations = 0

    def cover() -> tuple[list[RosterLine], dict[str, CoverSolution], dict[str, np.ndarray]]:
        lines, sols, cov = [], {}, {}
        for p in pools:
            prob = cover_problem(p, local[p.name], slot, extra=raised[p.name])
            sol = solve_cover(prob, time_limit=time_limit, mip_rel_gap=0.01)
            sols[p.name] = sol
            cov[p.name] = sol.coverage
            lines += lines_from(p, prob, sol, s.start)
        return lines, sols, cov

    def evaluate(lines: list[RosterLine]) -> tuple[Scenario, list[Any], list[TargetResult]]:
        nonlocal evaluations
        cand = scenario_from_dict(with_roster(data, lines), source=str(path), base_dir=path.parent)
        cand = cand.model_copy(update={"replications": reps})
        results = run_replications(cand, reps, workers=workers)  # replications 0..reps-1: common random numbers
        evaluations += 1
        return cand, results, evaluate_targets(cand, results)

    lines, sols, cov = cover()
    cand, results, tr = evaluate(lines)
    rounds.append(_round("cover", lines, tr, sols))
    say(f"cover: {sum(x.agents for x in lines)} agents, cost {sum(x.cost for x in lines):,.0f}; "
        f"{'every target met' if all(t.met for t in tr) else 'missed: ' + ', '.join(t.label for t in tr if not t.met)}")  # fmt: skip
    for _ in range(max_rounds):
        if all(t.met for t in tr):
            break
        if not _raise(s, pools, tr, results, raised, slot):
            break
        lines, sols, cov = cover()
        cand, results, tr = evaluate(lines)
        rounds.append(_round("raise", lines, tr, sols))
        say(f"raise: {sum(x.agents for x in lines)} agents, cost {sum(x.cost for x in lines):,.0f}; "
            f"{'every target met' if all(t.met for t in tr) else 'missed: ' + ', '.join(t.label for t in tr if not t.met)}")  # fmt: skip
    if all(t.met for t in tr):  # one agent-shift less, dearest lines first, while every target holds
        trims = 0
        for i in sorted(range(len(lines)), key=lambda k: -lines[k].cost / max(lines[k].agents, 1)):
            if trims >= max_trims:
                break
            line = lines[i]
            if line.agents <= 0:
                continue
            trial = [*lines[:i], _less(line), *lines[i + 1 :]]
            trims += 1
            c2, r2, t2 = evaluate([x for x in trial if x.agents > 0])
            if all(t.met for t in t2):
                lines, cand, results, tr = trial, c2, r2, t2
                rounds.append(_round("trim", [x for x in lines if x.agents > 0], tr, {}))
                say(f"trim {line.label}: {sum(x.agents for x in lines)} agents, cost {sum(x.cost for x in lines):,.0f}")
        lines = [x for x in lines if x.agents > 0]
    cov = {p.name: lines_coverage(p, [x for x in lines if x.pool == p.name], slot, s.start) for p in pools}
    result = ScheduleResult(
        scenario=cand, lines=lines, targets=tr, requirement=local, raised=raised, coverage=cov, solutions=sols,
        rounds=rounds, slot=slot, today_hours=today, roster_data=with_roster(data, lines), results=results,
        evaluations=evaluations, replications_run=evaluations * reps, wall_s=time.perf_counter() - wall,
    )  # fmt: skip
    result.unmet = unmet_rows(result, pools)
    return result


def _round(stage: str, lines: list[RosterLine], tr: list[TargetResult], sols: dict[str, CoverSolution]) -> Round:
    lp = sum(x.lp_bound for x in sols.values()) if sols else None
    cost = sum(x.cost for x in lines)
    return Round(
        stage=stage, cost=cost, agents=sum(x.agents for x in lines), met=all(t.met for t in tr),
        missed=[t.label for t in tr if not t.met], lp_bound=lp,
        gap=(cost - lp) / cost if lp is not None and cost > 0 else None,
        seconds=sum(x.seconds for x in sols.values()),
    )  # fmt: skip


def _less(line: RosterLine) -> RosterLine:
    """The line with one agent fewer (cost is per agent)."""
    return replace(line, agents=line.agents - 1, cost=line.cost / line.agents * (line.agents - 1))


def _raise(s: Scenario, pools: list[Pool], tr: list[TargetResult], results: list[Any], raised: dict[str, np.ndarray],
           slot: float) -> bool:  # fmt: skip
    """Raise the requirement where missed targets fail: their failing periods (every_hour,
    every_interval) or, for overall, worst_hour and volatile targets, the slots where the
    simulated service is worst; in the pools that serve the target's channel, category or tier."""
    changed = False
    for t in tr:
        if t.met:
            continue
        serving = [p for p in pools if _serves(s, p, t)]
        if not serving:
            continue
        periods = [start for start, _, _ in (t.failing or [])] or _worst_periods(results, t, k=6)
        for p in serving:
            offset = local_offset(p, s.start)
            for start in periods:
                length = 3600.0 if t.scope != "every_interval" else s.interval
                j0 = int(((start + offset) % WEEK) // slot)
                for j in range(j0, j0 + max(1, int(round(length / slot)))):
                    raised[p.name][j % len(raised[p.name])] += 1
                    changed = True
    return changed


def _serves(s: Scenario, p: Pool, t: TargetResult) -> bool:
    tg = t.target
    if tg.tier is not None:
        return p.tier == tg.tier
    if tg.channel is not None and p.channels is not None and tg.channel not in p.channels:
        return False
    if tg.category is not None:
        return p.proficiency(tg.category, s.categories[tg.category].skill) is not None
    return True


def _worst_periods(results: list[Any], t: TargetResult, k: int) -> list[float]:
    """Start times of the k clock hours where the target's channel fares worst (by the interval
    tables: lowest service level, or most abandoned), averaged over replications."""
    channel = t.target.channel
    score: dict[float, list[float]] = {}
    for r in results:
        iv = r.intervals
        for start, ch, sl, ab, off in zip(iv["start_s"], iv["channel"], iv["service_level"], iv["abandoned"], iv["offered"]):
            if channel is not None and ch != channel:
                continue
            if off <= 0:
                continue
            hour = math.floor(start / 3600.0) * 3600.0
            v = (1.0 - sl) if not math.isnan(sl) else 0.0
            score.setdefault(hour, []).append(v + ab / off)
    ranked = sorted(score, key=lambda h: -float(np.mean(score[h])))
    return ranked[:k]


def unmet_rows(result: ScheduleResult, pools: list[Pool]) -> list[dict[str, Any]]:
    """What unmet.csv lists: every missed target (and its failing periods), and the slots no
    template of a pool's schedule can cover, with the shortfall."""
    rows: list[dict[str, Any]] = []
    for t in result.targets:
        if t.met:
            continue
        periods = t.failing or [(None, t.mean, t.lower if t.measure == "service_level" else t.upper)]
        for start, mean, bound in periods:
            rows.append({"target": t.label, "scope": t.scope, "interval": start, "pool": "",
                         "shortfall": (t.goal - bound) if t.measure == "service_level" else (bound - t.goal),
                         "why": "simulated below target" if mean is not None else ""})  # fmt: skip
    for p in pools:
        sol = result.solutions.get(p.name)
        if sol is None:
            continue
        prob = cover_problem(p, result.requirement[p.name], result.slot, extra=result.raised[p.name])
        never = uncoverable_slots(prob)
        for j in np.nonzero(sol.short > 0)[0]:
            rows.append({"target": "requirement", "scope": "slot", "interval": j * result.slot, "pool": p.name,
                         "shortfall": float(sol.short[j]),
                         "why": "no template and start of the schedule covers this time" if never[j] else "limits (max_share)"})  # fmt: skip
    return rows
