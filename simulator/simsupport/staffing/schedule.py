"""`simsupport schedule` as a library call: the cheapest roster that meets every target.

Three stages, each recorded in the result (and search.json):

1. requirements: agents to schedule per pool and slot of the planning week, from the
   tier-aware analytic model (`staffing.requirements`);
2. covering: for every pool with a `schedule`, the minimum-cost integer choice of shift types
   (template, start, break placement, days-off rotation) whose coverage meets it
   (`staffing.covering`, HiGHS), with its LP bound and gap;
3. simulation with common random numbers (`staffing.roster_eval`; market, bursts and journey
   included, since every candidate is simulated):
   - raise: where a target is missed, the requirement is raised in the hours and pools that
     cause it and the covering solved again;
   - lower: while every target has room, the analytic requirement of the pools whose targets
     all have room is cut (8% of it, halved on each refusal) and the covering solved again,
     kept if every target still holds (the analytic model is conservative where queues pool);
   - local moves (`staffing.moves`): one agent less, a cheaper template, a start or a break
     moved, each kept only if every target still holds.

Pools without a `schedule` keep their shifts. The roster is whole agents; shrinkage is applied
by the model as for any shift.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config.derived import staffing_targets
from ..config.load import load_scenario_with, read_data
from ..config.schema import Pool, Scenario
from ..errors import ScenarioError
from ..experiment.replications import default_workers, run_replications
from ..experiment.sweep import Store, make_executor
from ..outputs.files import write_json
from ..stats.targets import COLUMNS
from .covering import (
    CoverSolution,
    enumerate_shift_types,
    solution_from_counts,
    solve_cover,
    uncoverable_slots,
)
from .moves import allowed, neighbours, surplus
from .requirements import requirements
from .roster import (
    RosterLine,
    cover_problem,
    first_weekday,
    lines_coverage,
    lines_from,
    local_offset,
    paid_hours_of_shifts,
    to_local_week,
    with_roster,
)
from .roster_eval import Judged, RosterEvaluator, slack
from .targets import TargetResult, measure_values

DAY = 86400.0
WEEK = 7 * DAY
LOWER_STEP = 0.08  # the first cut of the analytic requirement where every target has room


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
    replications_reused: int = 0
    wall_s: float = 0.0
    scale: dict[str, float] = field(default_factory=dict)  # pool -> share of the analytic requirement kept

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
    out: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Any = None,
    replications: int | None = None,
    horizon: str | None = "7d",
    slot: float = 1800.0,
    max_rounds: int = 6,
    max_moves: int = 40,
    time_limit: float = 20.0,
    note: Callable[[str], None] | None = None,
) -> ScheduleResult:
    """Requirements, covering and simulation with common random numbers, as above. Evaluations
    are stored under `out` (runs/ and cover/): an interrupted call resumes where it stopped."""
    say = note or (lambda _msg: None)
    wall = time.perf_counter()
    path = Path(path)
    s = load_scenario_with(path, horizon=horizon, staffing_as_given=False)
    data = read_data(path)[1]
    if horizon is not None:
        data = {**data, "horizon": horizon}
    goal = s.staffing
    reps = replications or (goal.replications if goal is not None and goal.replications else s.replications)
    pools = _rostered(s)
    targets = staffing_targets(s)
    reqs = {r.pool: r for r in requirements(s, slot=slot, days=7, targets=targets)}
    raw = {p.name: to_local_week(reqs[p.name].scheduled, slot, p, s.start) for p in pools}
    scale = {p.name: 1.0 for p in pools}
    local = {p.name: np.ceil(raw[p.name] - 1e-9) for p in pools}
    raised = {p.name: np.zeros_like(local[p.name]) for p in pools}
    today = sum(paid_hours_of_shifts(p) for p in pools if not p.unrostered)
    rounds: list[Round] = []
    sols: dict[str, CoverSolution] = {}
    own = executor is None
    if own:
        executor = make_executor(workers or default_workers(), scheduler)
    try:
        ev = RosterEvaluator(data, path, reps, Store(out), executor)

        def cover() -> list[RosterLine]:
            lines: list[RosterLine] = []
            for p in pools:
                prob = cover_problem(p, local[p.name], slot, extra=raised[p.name])
                prev = sols[p.name].counts if p.name in sols else None
                sols[p.name] = cached_cover(out / "cover", p.name, prob, prev, time_limit)
                lines += lines_from(p, prob, sols[p.name], s.start)
            return lines

        def told(stage: str, j: Judged) -> None:
            rounds.append(_round(stage, j, sols if stage in ("cover", "raise", "lower") else {}))
            state = "every target met" if j.met else "missed: " + ", ".join(t.label for t in j.missed)
            say(f"{stage}: {j.agents} agents, cost {j.cost:,.0f}; {j.error or state}")

        (current,) = ev([cover()])
        told("cover", current)
        for _ in range(max_rounds):
            if current.met or not _raise(s, pools, current, raised, slot):
                break
            (current,) = ev([cover()])
            told("raise", current)
        step, tries = LOWER_STEP, 0
        while current.met and step >= LOWER_STEP / 8 and tries < max_rounds:
            loose = [p for p in pools if all(slack(t) > 0 for t in current.targets if serves(s, p, t))]
            if not loose:
                break
            tries += 1
            before = (dict(scale), dict(local), dict(sols))
            for p in loose:
                scale[p.name] = max(scale[p.name] - step, step)
                local[p.name] = _lowered(raw[p.name], scale[p.name])
            (trial,) = ev([cover()])
            if trial.met and trial.cost < current.cost - 1e-9:
                current = trial
                told("lower", trial)
            else:
                scale, local, sols = before[0], before[1], before[2]
                say(f"lower {', '.join(p.name for p in loose)} by {step:.0%} of the analytic requirement: "
                    f"{'no cheaper' if trial.met else 'misses ' + ', '.join(t.label for t in trial.missed)}; kept")  # fmt: skip
                step /= 2
        if current.met:
            current = improve(ev, s, pools, current, local, raised, slot, max_moves, _batch(executor, reps), told)
        final = run_replications(current.scenario, reps, workers=1 if not own else (workers or default_workers())) \
            if current.scenario is not None else []  # fmt: skip
    finally:
        if own:
            executor.close()
    lines = current.lines
    cov = {p.name: lines_coverage(p, [x for x in lines if x.pool == p.name], slot, s.start) for p in pools}
    result = ScheduleResult(
        scenario=current.scenario or s, lines=lines, targets=current.targets, requirement=local, raised=raised,
        coverage=cov, solutions=sols, rounds=rounds, slot=slot, today_hours=today,
        roster_data=with_roster(data, lines), results=final, evaluations=ev.evaluations,
        replications_run=ev.ran, replications_reused=ev.reused, wall_s=time.perf_counter() - wall, scale=scale,
    )  # fmt: skip
    result.unmet = unmet_rows(result, pools, s)
    return result


def _lowered(raw: np.ndarray, scale: float) -> np.ndarray:
    """The analytic requirement cut to `scale`, to the nearest agent (rounding up would keep
    small pools where they are), never below one agent where any is needed."""
    return np.maximum(np.round(raw * scale), np.minimum(np.ceil(raw - 1e-9), 1.0))


def _batch(executor: Any, reps: int) -> int:
    """Candidates simulated together: enough to keep every worker busy with `reps` each."""
    n = getattr(executor, "workers", None) or 1
    return max(1, math.ceil(n / reps))


def improve(ev: RosterEvaluator, s: Scenario, pools: list[Pool], current: Judged, local: dict[str, np.ndarray],
            raised: dict[str, np.ndarray], slot: float, budget: int, batch: int,
            told: Callable[[str, Judged], None]) -> Judged:  # fmt: skip
    """Local moves from a roster that meets every target: one agent less where the roster has
    most to spare, then one agent to a cheaper template, then a start a step earlier or later
    or a break elsewhere (kept when it costs no more and leaves more room at the tightest
    target, so that a later trim can succeed); each kept only if every target still holds."""
    by_name = {p.name: p for p in pools}
    day0 = {p.name: first_weekday(p, s.start) for p in pools}
    tried: set[tuple[Any, ...]] = set()
    while budget > 0:
        cov = {p.name: lines_coverage(p, [x for x in current.lines if x.pool == p.name], slot, s.start) for p in pools}
        need = {n: local[n] + raised[n] for n in local}

        moves = [m for x in current.lines if x.pool in by_name for m in neighbours(by_name[x.pool], x)]
        moves = [m for m in moves if allowed(by_name[m.line.pool], m.apply(current.lines))]
        here = tuple(sorted((x.pool, x.label, x.agents) for x in current.lines))
        moves = [m for m in moves if (here, m.label) not in tried]
        room = {m.label: surplus(m.line, cov[m.line.pool], need[m.line.pool], slot, day0[m.line.pool]) for m in moves}
        # first where the line's every slot has an agent to spare, dearest first; then by room
        less = sorted((m for m in moves if m.kind == "less"), key=lambda m: (room[m.label] < 1, -m.saving, -room[m.label]))
        cheaper = sorted((m for m in moves if m.kind == "template" and m.saving > 1e-9),
                         key=lambda m: (room[m.label] < 1, -m.saving, -room[m.label]))  # fmt: skip
        neutral = sorted((m for m in moves if m.kind in ("earlier", "later", "break") and abs(m.saving) <= 1e-9),
                         key=lambda m: -room[m.label])  # fmt: skip
        kept = None
        for group, neutral_ok in ((less, False), (cheaper, False), (neutral, True)):
            for i in range(0, len(group), batch):
                if budget <= 0:
                    break
                chunk = group[i : i + batch]
                budget -= len(chunk)
                tried.update((here, m.label) for m in chunk)
                judged = ev([m.apply(current.lines) for m in chunk])
                better = [(m, j) for m, j in zip(chunk, judged) if _better(j, current, neutral_ok)]
                if better:
                    m, kept = min(better, key=lambda mj: (mj[1].cost, -mj[1].margin))
                    told(m.kind if m.kind != "less" else "trim", kept)
                    break
            if kept is not None:
                break
        if kept is None:
            break
        current = kept
    return current


def _better(j: Judged, current: Judged, neutral_ok: bool) -> bool:
    """Kept: meets every target and costs less, or (a neutral move) costs no more and leaves
    more room at the tightest target."""
    if not j.met:
        return False
    if j.cost < current.cost - 1e-9:
        return True
    return neutral_ok and j.cost <= current.cost + 1e-9 and j.margin > current.margin + 1e-9


def cached_cover(folder: Path, pool: str, prob: Any, start: dict[Any, int] | None, time_limit: float) -> CoverSolution:
    """`solve_cover`, kept under `folder` by a hash of the problem and the start: the solver's time
    limit makes a solution depend on the machine's speed, and a resumed search must take the
    same roster as the interrupted one did."""
    doc = {"pool": pool, "slot": prob.slot, "requirement": prob.requirement.tolist(), "templates": repr(prob.templates),
           "starts": list(prob.starts), "days_off": prob.days_off, "cost": prob.cost_per_paid_hour,
           "start": sorted([repr(k), v] for k, v in (start or {}).items()), "time_limit": time_limit}  # fmt: skip
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
    file = folder / f"{pool}-{key}.json"
    types = {repr(st): st for st in enumerate_shift_types(prob)}
    if file.is_file():
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
            counts = {types[k]: int(n) for k, n in saved["counts"]}
            return solution_from_counts(prob, counts, lp_bound=saved["lp_bound"], bound=saved["bound"],
                                        status=saved["status"], seconds=saved["seconds"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable: solve again
    sol = solve_cover(prob, time_limit=time_limit, mip_rel_gap=0.01, start=start)
    write_json(file, {"counts": [[repr(k), n] for k, n in sol.counts.items()], "lp_bound": sol.lp_bound,
                      "bound": sol.bound, "status": sol.status, "seconds": sol.seconds})  # fmt: skip
    return sol


def _round(stage: str, j: Judged, sols: dict[str, CoverSolution]) -> Round:
    lp = sum(x.lp_bound for x in sols.values()) if sols else None
    bound = sum(x.bound for x in sols.values()) if sols else None
    return Round(
        stage=stage, cost=j.cost, agents=j.agents, met=j.met, missed=[t.label for t in j.missed], lp_bound=lp,
        gap=(j.cost - bound) / j.cost if bound is not None and j.cost > 0 else None,
        seconds=sum(x.seconds for x in sols.values()),
    )  # fmt: skip


def _raise(s: Scenario, pools: list[Pool], j: Judged, raised: dict[str, np.ndarray], slot: float) -> bool:
    """Raise the requirement where missed targets fail, in the pools that serve them: in their
    failing periods (every_hour, every_interval), or else in every clock hour whose simulated
    measure is worse than the goal (the 6 worst if none is), by 5% of the requirement there
    (at least one agent) for each missed target."""
    changed = False
    for k, t in enumerate(j.targets):
        if t.met:
            continue
        serving = [p for p in pools if serves(s, p, t)]
        if not serving:
            continue
        if t.failing:
            periods = [start for start, _, _ in t.failing]
        else:
            periods = worst_hours(j, t)
        length = s.interval if t.scope == "every_interval" else 3600.0
        for p in serving:
            offset = local_offset(p, s.start)
            for start in periods:
                j0 = int(((start + offset) % WEEK) // slot)
                for i in range(j0, j0 + max(1, int(round(length / slot)))):
                    i %= len(raised[p.name])
                    raised[p.name][i] += 1
                    changed = True
    return changed


def worst_hours(j: Judged, t: TargetResult, k: int = 6) -> list[float]:
    """Clock hours (start, seconds from time 0) where the target's measure, averaged over
    replications, is worse than its goal; the k worst if none is."""
    labels = j.tallies[0].labels
    row = labels.index(t.target.label)
    counts = np.stack([tt.hours[row] for tt in j.tallies])  # [R, H, COLUMNS]
    values = measure_values(counts, t.measure)
    busy = (counts[:, :, COLUMNS.index("offered")] > 0).any(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=0)
    bad = -mean if t.measure == "service_level" else mean
    goal = -t.goal if t.measure == "service_level" else t.goal
    hours = [h for h in np.argsort(-np.nan_to_num(bad, nan=-np.inf)) if busy[h] and np.isfinite(bad[h])]
    worse = [h for h in hours if bad[h] > goal]
    chosen = worse or hours[:k]
    h0 = j.tallies[0].first_hour
    return [float((h0 + int(h)) * 3600.0) for h in chosen]


def serves(s: Scenario, p: Pool, t: TargetResult) -> bool:
    """Can agents of pool `p` answer what target `t` measures?"""
    tg = t.target
    if tg.tier is not None:
        return p.tier == tg.tier
    if tg.channel is not None and p.channels is not None and tg.channel not in p.channels:
        return False
    if tg.category is not None:
        return p.proficiency(tg.category, s.categories[tg.category].skill) is not None
    return True


def _unspoken(s: Scenario, pools: list[Pool]) -> str:
    """Customer languages (with their shares) that none of `pools` speaks."""
    langs = s.languages
    if set(langs) == {"default"}:
        return ""
    spoken = set().union(*[set(p.languages) if p.languages is not None else set(langs) for p in pools])
    return ", ".join(f"{name} ({share:.0%} of contacts)" for name, share in langs.items() if name not in spoken)


def unmet_rows(result: ScheduleResult, pools: list[Pool], s: Scenario) -> list[dict[str, Any]]:
    """What unmet.csv lists: every missed target (and its failing periods) with why, and the
    slots no template of a pool's schedule can cover, with the shortfall."""
    rows: list[dict[str, Any]] = []
    for t in result.targets:
        if t.met:
            continue
        serving = [p.name for p in pools if serves(s, p, t)]
        if not serving:
            fixed = [p.name for p in s.pools if p.schedule is None and serves(s, p, t)]
            why = (f"no rostered pool serves it: only {', '.join(fixed) or 'no pool'}, whose shifts are fixed "
                   "(give one of them a schedule, or change the target)")  # fmt: skip
        else:
            why = (f"still missed after raising the requirement of {', '.join(serving)} "
                   f"{sum(1 for r in result.rounds if r.stage == 'raise')} time(s) (more rounds: --rounds)")  # fmt: skip
            unspoken = _unspoken(s, [p for p in pools if p.name in serving])
            if unspoken:
                why += f"; no rostered pool that serves it speaks {unspoken} (the fixed pools must answer those)"
        periods = t.failing or [(None, t.mean, t.bound)]
        for start, _mean, bound in periods:
            rows.append({"target": t.label, "scope": t.scope, "interval": start, "pool": ";".join(serving),
                         "shortfall": (t.goal - bound) if t.measure == "service_level" else (bound - t.goal),
                         "why": why})  # fmt: skip
    for p in pools:
        sol = result.solutions.get(p.name)
        if sol is None:
            continue
        prob = cover_problem(p, result.requirement[p.name], result.slot, extra=result.raised[p.name])
        never = uncoverable_slots(prob)
        for i in np.nonzero(sol.short > 0)[0]:
            rows.append({"target": "requirement", "scope": "slot", "interval": i * result.slot, "pool": p.name,
                         "shortfall": float(sol.short[i]),
                         "why": "no template and start of the schedule covers this time" if never[i]
                         else "the schedule's limits (max_share) leave it short"})  # fmt: skip
    return rows
