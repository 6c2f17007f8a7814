"""The staffing recommendation as a library call: what `simsupport staff` does between reading
the options and printing, so that it can be called (and tested) without the command line.

    plan = plan_staffing("desk.yaml", horizon="2d")          # decisions and analytic start, no simulation
    rec = recommend(plan, out=Path("results/desk-staffing"), workers=4)
    rec.feasible, rec.staffing, rec.achieved, rec.shortfall

`recommend` also takes the scenario file directly. Evaluations are stored under `out` like a
sweep's (an interrupted search resumes, a rerun costs nothing); the output files are written by
`outputs.staffing.write_staffing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.load import load_scenario_with, read_data, scenario_from_dict
from ..config.schema import Scenario
from ..experiment.replications import default_workers
from ..experiment.sweep import Store, make_executor
from .requirements import PoolNeed, analytic_start, pool_needs
from .search import Evaluator, SearchResult, search
from .variables import Variable, apply, cost, current, decision_variables, exercised


@dataclass
class StaffingPlan:
    """A scenario read for a staffing search: its decisions, the analytic start, the settings."""

    scenario: Scenario  # with today's headcounts not judged (they may be short)
    path: Path  # the scenario file, as given
    data: dict[str, Any]  # its plain data, with the horizon override written in
    variables: list[Variable]  # every decision of the scenario
    searched: list[Variable]  # those on duty in the simulated window: the ones the search moves
    needs: list[PoolNeed]  # the hourly Erlang estimate per pool
    start: dict[str, int]  # the analytic start, per searched decision
    replications: int  # per evaluation
    scopes: list[str]  # where every target must be met: overall, worst_hour, volatile
    horizon: str | None  # the override, if any

    @property
    def kept(self) -> list[str]:
        """Decisions never on duty in the simulated window: kept as they are."""
        return [v.label for v in self.variables if v not in self.searched]

    @property
    def settings(self) -> dict[str, Any]:
        """What search.json records of how the search was run."""
        return {"replications": self.replications, "scopes": self.scopes, "horizon": self.horizon, "kept_as_is": self.kept}


@dataclass(frozen=True)
class Achieved:
    """One channel and scope of the recommended staffing's evaluation."""

    channel: str
    scope: str
    target: float
    mean: float
    ci95: float
    lower: float  # the lower 95% bound, what must reach the target

    @property
    def met(self) -> bool:
        return self.lower >= self.target


@dataclass(frozen=True)
class Shortfall:
    """Why no staffing within the bounds meets every target: the worst channel and scope (or the
    error that refused even the largest staffing tried), and the decisions at their upper bound."""

    channel: str | None
    scope: str | None
    lower: float | None  # its lower 95% bound at best
    target: float | None
    error: str | None
    binding: list[str]


@dataclass
class Recommendation:
    """The search's outcome on a plan: the staffing, what it achieves, and what it costs."""

    plan: StaffingPlan
    result: SearchResult
    out: Path

    @property
    def feasible(self) -> bool:
        return self.result.feasible

    @property
    def staffing(self) -> dict[str, int]:
        """Headcount per decision: the recommendation, and today's for the decisions kept."""
        return {v.label: self.result.x.get(v.label, v.current) for v in self.plan.variables}

    @property
    def weekly_cost(self) -> float:
        """Weekly cost of the searched decisions as recommended."""
        return cost(self.plan.searched, self.result.x)

    @property
    def weekly_cost_now(self) -> float:
        """Weekly cost of the searched decisions as in the scenario today."""
        return cost(self.plan.searched, current(self.plan.searched))

    @property
    def achieved(self) -> list[Achieved]:
        """Per channel and scope, sorted: the service level of the recommended staffing."""
        e = self.result.evaluation
        return [Achieved(ch, scope, e.targets[ch], mean, half, e.lower((ch, scope)))
                for (ch, scope), (mean, half) in sorted(e.levels.items())]  # fmt: skip

    @property
    def shortfall(self) -> Shortfall | None:
        """None when every target is met; else the worst miss (lower bound furthest below target)."""
        if self.result.feasible:
            return None
        e = self.result.evaluation
        missed = e.missed() or [(ch, sc, e.lower((ch, sc))) for (ch, sc) in e.levels][:1]
        if not missed:
            return Shortfall(None, None, None, None, e.error, list(self.result.binding))
        ch, sc, lower = min(missed, key=lambda m: m[2] - e.targets[m[0]])
        return Shortfall(ch, sc, lower, e.targets[ch], e.error, list(self.result.binding))

    def staffed_data(self) -> dict[str, Any]:
        """The scenario's plain data with the recommended staffing written in."""
        return apply(self.plan.data, self.plan.variables, self.staffing)

    def staffed_scenario(self) -> Scenario:
        """The scenario with the recommended staffing, validated like any scenario file."""
        path = self.plan.path
        return scenario_from_dict(self.staffed_data(), source=str(path), base_dir=path.resolve().parent)


def plan_staffing(scenario: str | Path, *, replications: int | None = None, horizon: str | None = None) -> StaffingPlan:
    """Read a scenario for a staffing search (no simulation): its decisions, the ones the
    simulated window can judge, the hourly needs and the analytic start. Replications per
    evaluation: `replications`, else the scenario's `staffing.replications`, else its own."""
    path = Path(scenario)
    s = load_scenario_with(path, horizon=horizon, staffing_as_given=False)  # today's may be short
    goal = s.staffing
    scopes = list(goal.scopes) if goal is not None else ["overall"]
    reps = replications or (goal.replications if goal is not None and goal.replications else s.replications)
    data = read_data(path)[1]
    if horizon is not None:
        data = {**data, "horizon": horizon}
    variables = decision_variables(s)
    searched = [v for v in variables if exercised(s, v)]
    needs = pool_needs(s)
    start = analytic_start(s, searched, needs)
    return StaffingPlan(s, path, data, variables, searched, needs, start, reps, scopes, horizon)


def recommend(
    scenario: str | Path | StaffingPlan,
    *,
    out: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    replications: int | None = None,
    horizon: str | None = None,
    executor: Any = None,
    note: Callable[[str], None] | None = None,
) -> Recommendation:
    """The cheapest staffing that meets every target with 95% confidence, by simulation search
    from the analytic start. `scenario` is a file, or a plan from `plan_staffing` (then
    `replications` and `horizon` are the plan's). Evaluations run on `executor` if given (the
    caller closes it), else on one made here from `workers` (all cores) or a Dask `scheduler`.
    `note` receives the search's progress, one line per step. A KeyboardInterrupt leaves the
    evaluations so far stored under `out`."""
    if isinstance(scenario, StaffingPlan):
        if replications is not None or horizon is not None:
            raise TypeError("replications and horizon are the plan's: pass them to plan_staffing")
        plan = scenario
    else:
        plan = plan_staffing(scenario, replications=replications, horizon=horizon)
    own = executor is None
    if own:
        executor = make_executor(workers or default_workers(), scheduler)
    try:
        s, path = plan.scenario, plan.path
        ev = Evaluator(s, plan.data, plan.searched, plan.replications, plan.scopes, Store(out), executor,
                       path.resolve().parent, str(path))  # fmt: skip
        result = search(ev, plan.start, note=note)
    finally:
        if own:
            executor.close()
    return Recommendation(plan, result, out)
