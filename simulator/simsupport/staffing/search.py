"""Simulation search for the cheapest staffing that meets every target with 95% confidence.

Every staffing is evaluated with the same replications 0..R-1 (common random numbers), so two
neighbouring staffings are compared on the same customers and the choice between them is not
noise. Marginal analysis, in two phases:

1. add: while a target is missed, try one step more on each decision (5% of its headcount, at
   least one agent), all in parallel, and keep the step that removes the most shortfall
   (sum over channels and scopes of target - lower CI bound, where below) per cost;
2. drop: try one step less on each decision, cheapest saving first... keep the largest saving
   that still meets every target; repeat, halving the steps down to one agent.

Evaluations run on the sweep executors (process pool or Dask) and are stored like a sweep's,
so an interrupted search resumes and a rerun costs nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.load import scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.spec import Experiment, ExperimentSpec, Point, point_key
from ..experiment.statistics import mean_ci95
from ..experiment.sweep import Store, run_sweep
from .variables import Variable, apply, cost

SCOPE_PREFIX = {"overall": "by_channel", "worst_hour": "worst_hour", "volatile": "volatile"}


@dataclass
class Evaluation:
    x: dict[str, int]
    levels: dict[tuple[str, str], tuple[float, float]]  # (channel, scope) -> (mean, ci95)
    targets: dict[str, float]
    error: str | None = None

    def lower(self, key: tuple[str, str]) -> float:
        mean, half = self.levels.get(key, (math.nan, math.nan))
        return mean - (half if math.isfinite(half) else 0.0)

    @property
    def shortfall(self) -> float:
        if self.error is not None:
            return math.inf
        total = 0.0
        for (ch, scope), _ in self.levels.items():
            lb = self.lower((ch, scope))
            total += max(0.0, self.targets[ch] - lb) if math.isfinite(lb) else 0.0
        return total

    @property
    def feasible(self) -> bool:
        return self.error is None and self.shortfall <= 0.0

    def missed(self) -> list[tuple[str, str, float]]:
        return [(ch, sc, self.lower((ch, sc))) for (ch, sc) in self.levels
                if math.isfinite(self.lower((ch, sc))) and self.lower((ch, sc)) < self.targets[ch]]  # fmt: skip


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


class Evaluator:
    """Staffing -> Evaluation, by simulation on an executor, stored and cached."""

    def __init__(self, base: Scenario, data: dict[str, Any], vars_: list[Variable], replications: int,
                 scopes: list[str], store: Store, executor: Any, base_dir: Path, source: str) -> None:  # fmt: skip
        self.base, self.data, self.vars = base, data, vars_
        self.replications = replications
        self.scopes = scopes
        self.store, self.executor = store, executor
        self.base_dir, self.source = base_dir, source
        self.targets = {n: ch.sla.target for n, ch in base.channels.items() if ch.sla is not None and ch.rate > 0}
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
            except ScenarioError as exc:  # e.g. certainly unstable: as bad as it gets
                out[i] = self.cache[k] = Evaluation(x, {}, self.targets, error=str(exc))
                continue
            todo.append((i, x, s.model_copy(update={"replications": self.replications})))
        if todo:
            points = [Point(j, {}, s, point_key(s)) for j, (_, _, s) in enumerate(todo)]
            spec = ExperimentSpec.model_construct(name=self.base.name, base=self.source, replications=self.replications)
            exp = Experiment(spec, Path(self.source), Path(self.source), points, [])
            run = run_sweep(exp, self.store, executor=self.executor, replications=self.replications)
            self.ran += run.ran
            self.reused += run.reused
            if run.failures:
                p, k, err = run.failures[0]
                raise RuntimeError(f"a replication failed while evaluating a staffing: {err}")
            for j, (i, x, _) in enumerate(todo):
                res = run.results[j]
                levels = {}
                for ch in self.targets:
                    for scope in self.scopes:
                        metric = f"{SCOPE_PREFIX[scope]}.{ch}.service_level"
                        vals = [res[k]["metrics"].get(metric) for k in sorted(res)]  # by replication, not finish
                        vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
                        if vals:
                            levels[(ch, scope)] = mean_ci95(vals)
                e = Evaluation(x, levels, self.targets)
                out[i] = self.cache[self.key(x)] = e
        self.count += len(batch)
        return [out[i] for i in range(len(batch))]


def search(
    ev: Evaluator,
    start: dict[str, int],
    *,
    note: Callable[[str], None] | None = None,
    max_rounds: int = 200,
) -> SearchResult:
    t0 = time.perf_counter()
    vars_ = ev.vars
    say = note or (lambda _msg: None)
    x = dict(start)
    e = ev([x])[0]
    history: list[dict[str, Any]] = [{"phase": "start", "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)}]
    steps = {v.label: max(1, round(0.05 * max(x[v.label], 1))) for v in vars_}
    say(f"start: weekly cost {cost(vars_, x):,.0f}, shortfall {e.shortfall:.3f}")
    rounds = 0
    # phase 1: add the most service level per cost until every target is met
    while not e.feasible and rounds < max_rounds:
        rounds += 1
        cands = []
        for v in vars_:
            if x[v.label] < v.hi:
                y = dict(x)
                y[v.label] = min(v.hi, x[v.label] + steps[v.label])
                cands.append((v, y))
        if not cands:
            break
        evals = ev([y for _, y in cands])
        best = None
        for (v, y), ey in zip(cands, evals):
            gain = (e.shortfall - ey.shortfall) / ((y[v.label] - x[v.label]) * v.weekly_cost)
            if math.isinf(e.shortfall) and not math.isinf(ey.shortfall):
                gain = math.inf
            if best is None or gain > best[0]:
                best = (gain, v, y, ey)
        if best is None or not best[0] > 0:
            # nothing helps by one step: grow every step and try again (or give up at the bounds)
            if all(x[v.label] >= v.hi for v in vars_):
                break
            steps = {k: s * 2 for k, s in steps.items()}
            continue
        _, v, x, e = best
        history.append({"phase": "add", "decision": v.label, "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)})
        say(f"add {v.label} -> {x[v.label]}: shortfall {e.shortfall:.3f}, weekly cost {cost(vars_, x):,.0f}")
    feasible = e.feasible
    if feasible:
        # phase 2: drop what is not needed, large steps first. A drop that fails stays failed
        # while other decisions only shrink (fewer agents do not raise a service level), so it
        # is not tried again until the steps halve.
        blocked: set[str] = set()
        while True:
            rounds += 1
            cands = []
            for v in vars_:
                if v.label not in blocked and x[v.label] - steps[v.label] >= v.lo:
                    y = dict(x)
                    y[v.label] = x[v.label] - steps[v.label]
                    cands.append((v, y))
            evals = ev([y for _, y in cands]) if cands else []
            ok = [(v.weekly_cost * (x[v.label] - y[v.label]), -ey.shortfall, v, y, ey)
                  for (v, y), ey in zip(cands, evals) if ey.feasible]  # fmt: skip
            blocked |= {v.label for (v, _), ey in zip(cands, evals) if not ey.feasible}
            if ok:
                saving, _, v, x, e = max(ok, key=lambda t: (t[0], t[1]))
                history.append({"phase": "drop", "decision": v.label, "x": dict(x), "shortfall": e.shortfall, "cost": cost(vars_, x)})
                say(f"drop {v.label} -> {x[v.label]}: weekly cost {cost(vars_, x):,.0f}")
                continue
            if all(s == 1 for s in steps.values()):
                break
            steps = {k: max(1, s // 2) for k, s in steps.items()}
            blocked = set()
    binding = [v.label for v in vars_ if x[v.label] >= v.hi] if not feasible else []
    # one agent fewer whose intervals straddle the targets (neither surely met nor surely missed): say so
    straddle = []
    if feasible:
        cands = [(v, {**x, v.label: x[v.label] - 1}) for v in vars_ if x[v.label] - 1 >= v.lo]
        for (v, y), ey in zip(cands, ev([y for _, y in cands]) if cands else []):
            if ey.error is None and ey.levels and all(
                m + (h if math.isfinite(h) else 0.0) >= ev.targets[ch] for (ch, _), (m, h) in ey.levels.items()
            ):  # no target is surely missed either: the intervals straddle
                straddle.append(v.label)
    return SearchResult(
        straddle=straddle,
        x=x, evaluation=e, start=start, feasible=feasible, history=history, replications_run=ev.ran,
        replications_reused=ev.reused, evaluations=ev.count, wall_s=time.perf_counter() - t0, binding=binding,
    )  # fmt: skip
