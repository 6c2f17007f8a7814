"""Simulation search for the cheapest staffing that meets every target with 95% confidence.

The targets are `config.derived.staffing_targets(s)` (channel, category and tier targets in any
scope), judged from each replication's stored tallies by `staffing.targets.evaluate_tallies`.
Every staffing is evaluated with the same replications 0..R-1 (common random numbers), so two
neighbouring staffings are compared on the same customers and the choice between them is not
noise. Marginal analysis, in three phases:

1. add: while a target is missed, try one step more on each decision (5% of its headcount, at
   least one agent), all in parallel, and keep the step that removes the most shortfall per
   cost. The shortfall sums each missed measure's distance to its goal: a service level's goal
   less its lower bound, an abandon rate's upper bound less its goal, an ASA's upper bound less
   its goal divided by the goal (seconds must not outweigh shares); a per-hour or per-interval
   target sums its failing periods;
2. drop: try one step less on each decision and keep the largest saving that still meets every
   target; repeat, halving the steps down to one agent;
3. swap: a drop-settled staffing is only a local optimum of single moves, so try moving one agent
   from one decision to another (where the one given up costs at least as much as the one
   taken), in parallel batches; keep the best that meets every target and saves cost (or, at
   equal cost, leaves every target further from its goal), drop again from there, and repeat
   until no swap helps or the budget of swaps is spent.

Evaluations run on the sweep executors (process pool or Dask) and are stored like a sweep's,
so an interrupted search resumes and a rerun costs nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..config.derived import staffing_targets
from ..config.load import scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.sweep import Store, run_scenarios
from ..stats.targets import COLUMNS, TargetTallies
from .targets import TargetResult, evaluate_tallies, stored_tallies
from .variables import Variable, apply, cost

SWAP_BATCH = 8  # swaps evaluated together: enough to keep the workers busy


def _gap(measure: str, goal: float, bound: float) -> float:
    """How far a bound is on the wrong side of its goal (negative: on the right side)."""
    if measure == "service_level":
        return goal - bound
    d = bound - goal
    return d / goal if measure == "asa" and goal > 0 else d


def miss(r: TargetResult) -> float:
    """A measure's distance to its goal, 0 when met (per-period scopes: summed over the failing
    periods, so that fixing one more hour counts)."""
    if r.met:
        return 0.0
    bounds = [b for _, _, b in r.failing] if r.failing else [r.bound]
    return sum(max(0.0, _gap(r.measure, r.goal, b)) for b in bounds if math.isfinite(b))


def surely_missed(r: TargetResult) -> bool:
    """Is the goal outside the whole 95% interval (of some period, for per-period scopes)?"""
    if r.period_start_s:
        pairs = list(zip(r.period_lower, r.period_upper))
    else:
        pairs = [(r.lower, r.upper)]
    for lo, hi in pairs:
        far = hi if r.measure == "service_level" else lo  # the bound nearest the goal
        if math.isfinite(far) and _gap(r.measure, r.goal, far) > 0:
            return True
    return False


@dataclass
class Evaluation:
    """A staffing's judgement: every measure of every target (placeholders with met False when
    the staffing could not be run, see `error`)."""

    x: dict[str, int]
    results: list[TargetResult]
    error: str | None = None

    @property
    def shortfall(self) -> float:
        """Sum of the missed measures' distances to their goals (inf: the staffing is refused)."""
        if self.error is not None:
            return math.inf
        return sum(miss(r) for r in self.results)

    @property
    def feasible(self) -> bool:
        return self.error is None and all(r.met for r in self.results)

    @property
    def margin(self) -> tuple[float, float]:
        """How far inside their goals the judged bounds are: the smallest distance, then the sum
        (what an equal-cost swap must raise); -inf when refused."""
        if self.error is not None:
            return -math.inf, -math.inf
        gaps = [-_gap(r.measure, r.goal, r.bound) for r in self.results if math.isfinite(r.bound)]
        return (min(gaps), sum(gaps)) if gaps else (math.inf, 0.0)

    def missed(self) -> list[TargetResult]:
        return [r for r in self.results if not r.met]


class Evaluates(Protocol):
    """What the search needs of an evaluator (the simulation one below, or a test's fake)."""

    vars: list[Variable]
    ran: int
    reused: int
    count: int

    def __call__(self, batch: list[dict[str, int]]) -> list[Evaluation]: ...


@dataclass
class SearchResult:
    x: dict[str, int]
    evaluation: Evaluation
    start: dict[str, int]
    feasible: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    replications_run: int = 0
    replications_reused: int = 0
    evaluations: int = 0
    wall_s: float = 0.0
    binding: list[str] = field(default_factory=list)  # decisions at their upper bound when infeasible
    straddle: list[str] = field(default_factory=list)  # one fewer: the CIs straddle the targets
    stop: str = "met"  # why the add phase ended: met, bounds, error, no_gain, rounds
    swap: dict[str, Any] = field(default_factory=dict)  # what the swap phase did and saved


def unjudged(s: Scenario) -> list[TargetResult]:
    """Every measure of every target, not judged (NaN, met False): a refused staffing's table."""
    targets = staffing_targets(s)
    c = len(COLUMNS)
    empty = TargetTallies([t.label for t in targets], np.full(len(targets), math.inf), np.zeros((len(targets), 1, c)),
                          np.zeros((len(targets), 1, c)), 0, 0, float(s.interval))  # fmt: skip
    return [replace(r, met=False) for r in evaluate_tallies(s, [empty])]


class Evaluator:
    """Staffing -> Evaluation, by simulation on an executor, stored and cached. (`scopes` is
    not read: the targets, scopes included, are `staffing_targets(base)`.)"""

    def __init__(self, base: Scenario, data: dict[str, Any], vars_: list[Variable], replications: int,
                 scopes: Sequence[str] | None, store: Store, executor: Any, base_dir: Path, source: str) -> None:  # fmt: skip
        self.base, self.data, self.vars = base, data, vars_
        self.replications = replications
        self.store, self.executor = store, executor
        self.base_dir, self.source = base_dir, source
        self.refused: list[TargetResult] | None = None  # `unjudged(base)`, made when first needed
        self.cache: dict[tuple[int, ...], Evaluation] = {}
        self.ran = self.reused = self.count = 0

    def key(self, x: dict[str, int]) -> tuple[int, ...]:
        return tuple(x[v.label] for v in self.vars)

    def __call__(self, batch: list[dict[str, int]]) -> list[Evaluation]:
        todo: list[tuple[int, dict[str, int], Scenario]] = []
        out: dict[int, Evaluation] = {}
        for i, x in enumerate(batch):
            k = self.key(x)
            if k in self.cache:
                out[i] = self.cache[k]
                continue
            try:
                s = scenario_from_dict(apply(self.data, self.vars, x), source=self.source, base_dir=self.base_dir)
            except ScenarioError as exc:  # e.g. certainly unstable, or a tier nobody staffs: refused
                self.refused = self.refused if self.refused is not None else unjudged(self.base)
                out[i] = self.cache[k] = Evaluation(dict(x), list(self.refused), error=str(exc))
                continue
            todo.append((i, x, s.model_copy(update={"replications": self.replications})))
        if todo:
            run, points = run_scenarios([s for _, _, s in todo], self.store, executor=self.executor,
                                        replications=self.replications, source=self.source)  # fmt: skip
            self.ran += run.ran
            self.reused += run.reused
            if run.failures:
                _, _, err = run.failures[0]
                raise RuntimeError(f"a replication failed while evaluating a staffing: {err}")
            for j, (i, x, s) in enumerate(todo):
                tallies = stored_tallies(run.results[j], points[j].key)
                out[i] = self.cache[self.key(x)] = Evaluation(dict(x), evaluate_tallies(s, tallies))
        self.count += len(batch)
        return [out[i] for i in range(len(batch))]


Say = Callable[[str], None]


def _add(ev: Evaluates, x: dict[str, int], e: Evaluation, steps: dict[str, int], history: list[dict[str, Any]],
         say: Say, max_rounds: int) -> tuple[dict[str, int], Evaluation, str]:  # fmt: skip
    """Phase 1: add the step that removes the most shortfall per cost until every target is met.
    Returns the staffing, its evaluation and why it stopped (met, bounds, error, no_gain, rounds)."""
    vars_ = ev.vars
    rounds = 0
    while not e.feasible:
        if rounds >= max_rounds:
            return x, e, "rounds"
        rounds += 1
        cands: list[tuple[str, dict[str, int]]] = []
        for v in vars_:
            if x[v.label] < v.hi:
                cands.append((v.label, {**x, v.label: min(v.hi, x[v.label] + steps[v.label])}))
        if not cands:
            return x, e, "error" if e.error is not None else "bounds"
        if e.error is not None and len(cands) > 1:  # refused: one decision alone may not cure it
            cands.append(("every decision", {v.label: min(v.hi, x[v.label] + steps[v.label]) for v in vars_}))
        evals = ev([y for _, y in cands])
        best: tuple[float, float, str, dict[str, int], Evaluation] | None = None
        for (label, y), ey in zip(cands, evals):
            if ey.error is not None:
                continue
            extra = cost(vars_, y) - cost(vars_, x)
            if e.error is not None:
                gain = math.inf  # any staffing that runs beats one that is refused
            else:
                better = e.shortfall - ey.shortfall
                gain = better / extra if extra > 0 else (math.inf if better > 0 else 0.0)
            if best is None or (gain, -ey.shortfall) > (best[0], best[1]):
                best = (gain, -ey.shortfall, label, y, ey)
        if best is None or not best[0] > 0:
            # nothing helps by one step: grow the steps and try again, until every step reaches
            # its bound; a staffing that runs grows at most by doubling a decision at once
            if all(x[v.label] + steps[v.label] >= v.hi for v in vars_):
                return x, e, "error" if e.error is not None else "bounds"
            cap = {v.label: v.hi if e.error is not None else max(x[v.label], 8) for v in vars_}
            if all(steps[v.label] >= cap[v.label] for v in vars_ if x[v.label] < v.hi):
                return x, e, "no_gain"
            steps.update({k: min(2 * n, cap[k]) for k, n in steps.items()})
            continue
        _, _, label, x, e = best
        history.append({"phase": "add", "decision": label, "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)})
        what = f"{label} -> {x[label]}" if label in x else "a step on every decision"
        say(f"add {what}: shortfall {e.shortfall:.3f}, weekly cost {cost(vars_, x):,.0f}")
    return x, e, "met"


def _drop(ev: Evaluates, x: dict[str, int], e: Evaluation, steps: dict[str, int], history: list[dict[str, Any]],
          say: Say) -> tuple[dict[str, int], Evaluation]:  # fmt: skip
    """Phase 2: drop what is not needed, large steps first. A drop that fails stays failed while
    other decisions only shrink (fewer agents do not raise a service level), so it is not tried
    again until the steps halve."""
    vars_ = ev.vars
    blocked: set[str] = set()
    while True:
        cands = []
        for v in vars_:
            if v.label not in blocked and x[v.label] - steps[v.label] >= v.lo:
                cands.append((v, {**x, v.label: x[v.label] - steps[v.label]}))
        evals = ev([y for _, y in cands]) if cands else []
        ok = [(v.weekly_cost * (x[v.label] - y[v.label]), -ey.shortfall, v, y, ey)
              for (v, y), ey in zip(cands, evals) if ey.feasible]  # fmt: skip
        blocked |= {v.label for (v, _), ey in zip(cands, evals) if not ey.feasible}
        if ok:
            _, _, v, x, e = max(ok, key=lambda t: (t[0], t[1]))
            history.append({"phase": "drop", "decision": v.label, "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)})
            say(f"drop {v.label} -> {x[v.label]}: weekly cost {cost(vars_, x):,.0f}")
            continue
        if all(s == 1 for s in steps.values()):
            return x, e
        steps.update({k: max(1, s // 2) for k, s in steps.items()})
        blocked = set()


def _swap(ev: Evaluates, x: dict[str, int], e: Evaluation, history: list[dict[str, Any]], say: Say,
          budget: int, batch: int) -> tuple[dict[str, int], Evaluation, dict[str, Any]]:  # fmt: skip
    """Phase 3: one agent from one decision to another, then drop again; see the module's doc.
    Pairs are tried largest saving first, and among equal savings the giver whose one-fewer
    staffing misses least with the taker whose one-fewer misses most."""
    vars_ = ev.vars
    t0, c0, n0, ran0 = time.perf_counter(), cost(vars_, x), ev.count, ev.ran
    tried = accepted = 0
    while tried < budget:
        fewer = [(v, {**x, v.label: x[v.label] - 1}) for v in vars_ if x[v.label] - 1 >= v.lo]
        hurt = {v.label: min(ey.shortfall, 1e9) for (v, _), ey in zip(fewer, ev([y for _, y in fewer]) if fewer else [])}
        pairs = []
        for i, a in enumerate(vars_):
            for j, b in enumerate(vars_):
                if a is b or a.label not in hurt or x[b.label] + 1 > b.hi or b.weekly_cost > a.weekly_cost:
                    continue
                y = {**x, a.label: x[a.label] - 1, b.label: x[b.label] + 1}
                order = (-(a.weekly_cost - b.weekly_cost), hurt[a.label] - hurt.get(b.label, 0.0), i, j)
                pairs.append((order, a, b, y))
        pairs.sort(key=lambda p: p[0])
        found = None
        for k in range(0, len(pairs), batch):
            chunk = pairs[k : k + min(batch, budget - tried)]
            if not chunk:
                break
            tried += len(chunk)
            ok = []
            for (_, a, b, y), ey in zip(chunk, ev([y for *_, y in chunk])):
                saving = a.weekly_cost - b.weekly_cost
                if ey.feasible and (saving > 0 or ey.margin > e.margin):
                    ok.append(((saving, ey.margin), a, b, y, ey))
            if ok:
                found = max(ok, key=lambda t: t[0])
                break
            if tried >= budget:
                break
        if found is None:
            break
        _, a, b, x, e = found
        accepted += 1
        history.append({"phase": "swap", "decision": f"{a.label} -> {b.label}", "x": dict(x), "shortfall": e.shortfall,
                        "cost": cost(vars_, x)})  # fmt: skip
        say(f"swap one agent {a.label} -> {b.label}: weekly cost {cost(vars_, x):,.0f}")
        x, e = _drop(ev, x, e, {v.label: 1 for v in vars_}, history, say)
    c1 = cost(vars_, x)
    return x, e, {"cost_before": c0, "cost_after": c1, "saved": c0 - c1, "swaps": accepted, "tried": tried,
                  "budget": budget, "evaluations": ev.count - n0, "replications_run": ev.ran - ran0,
                  "wall_s": time.perf_counter() - t0}  # fmt: skip


def search(
    ev: Evaluates,
    start: dict[str, int],
    *,
    note: Say | None = None,
    max_rounds: int = 200,
    swap_budget: int | None = None,
    swap_batch: int = SWAP_BATCH,
) -> SearchResult:
    """Add, drop, swap (see the module's doc) from `start`. `swap_budget`: the most swaps tried
    (default 4 per decision, at least 24; 0: no swap phase)."""
    t0 = time.perf_counter()
    vars_ = ev.vars
    say = note or (lambda _msg: None)
    x = dict(start)
    e = ev([x])[0]
    history: list[dict[str, Any]] = [{"phase": "start", "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)}]
    steps = {v.label: max(1, round(0.05 * max(x[v.label], 1))) for v in vars_}
    say(f"start: weekly cost {cost(vars_, x):,.0f}, shortfall {e.shortfall:.3f}")
    x, e, stop = _add(ev, x, e, steps, history, say, max_rounds)
    feasible = e.feasible
    swap: dict[str, Any] = {}
    if feasible:
        x, e = _drop(ev, x, e, steps, history, say)
        budget = max(24, 4 * len(vars_)) if swap_budget is None else swap_budget
        if budget > 0 and len(vars_) > 1:
            x, e, swap = _swap(ev, x, e, history, say, budget, max(1, swap_batch))
            if swap["saved"] > 0:
                say(f"swaps saved {swap['saved']:,.0f} a week ({swap['swaps']} swaps, {swap['evaluations']} evaluations)")
    binding = [v.label for v in vars_ if x[v.label] >= v.hi] if not feasible else []
    # one agent fewer whose intervals straddle the targets (neither surely met nor surely missed): say so
    straddle = []
    if feasible:
        cands = [(v, {**x, v.label: x[v.label] - 1}) for v in vars_ if x[v.label] - 1 >= v.lo]
        for (v, y), ey in zip(cands, ev([y for _, y in cands]) if cands else []):
            if ey.error is None and ey.results and not any(surely_missed(r) for r in ey.results):
                straddle.append(v.label)
    return SearchResult(
        straddle=straddle, stop=stop, swap=swap,
        x=x, evaluation=e, start=start, feasible=feasible, history=history, replications_run=ev.ran,
        replications_reused=ev.reused, evaluations=ev.count, wall_s=time.perf_counter() - t0, binding=binding,
    )  # fmt: skip
