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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.base import on_duty
from ..config.derived import staffing_targets
from ..config.load import load_scenario_with, read_data, scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.replications import default_workers
from ..experiment.sweep import Store, make_executor
from .requirements import STEP, PoolNeed, analytic_start, pool_needs, requirements
from .search import Evaluator, SearchResult, miss, search
from .targets import TargetResult
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
    scopes: list[str]  # staffing.scopes: where every channel's SLA is a target (without staffing.targets)
    horizon: str | None  # the override, if any

    @property
    def kept(self) -> list[str]:
        """Decisions never on duty in the simulated window: kept as they are."""
        return [v.label for v in self.variables if v not in self.searched]

    @property
    def targets(self) -> list[str]:
        """What every staffing is judged by: the labels of `staffing_targets`, in order."""
        return [t.label for t in staffing_targets(self.scenario)]

    @property
    def settings(self) -> dict[str, Any]:
        """What search.json records of how the search was run."""
        return {"replications": self.replications, "scopes": self.scopes, "horizon": self.horizon, "kept_as_is": self.kept}


@dataclass(frozen=True)
class Achieved:
    """One measure of one target of the recommended staffing's evaluation (NaN where it could
    not be judged); `target` is the goal, `lower`/`upper` the 95% bounds."""

    label: str  # 'chat SLA overall', 'tier L2 80% in 1h overall'
    channel: str | None  # the target's channel, if it names one
    scope: str
    measure: str  # service_level, abandon_rate or asa
    target: float
    mean: float
    ci95: float
    lower: float
    upper: float
    met: bool

    @classmethod
    def of(cls, r: TargetResult) -> Achieved:
        return cls(r.label, r.target.channel, r.scope, r.measure, r.goal, r.mean, r.ci95, r.lower, r.upper, r.met)

    @property
    def bound(self) -> float:
        """The bound judged against the goal: lower for a service level, upper otherwise."""
        return self.lower if self.measure == "service_level" else self.upper


@dataclass(frozen=True)
class Shortfall:
    """Why no staffing the search found meets every target: the failing targets (worst first, its
    channel, scope, bound and goal repeated for a one-line message), the error that refused the
    staffing if any, the decisions at their upper bound, and why the search stopped."""

    channel: str | None
    scope: str | None
    lower: float | None  # the worst miss's judged bound (lower for a service level, else upper)
    target: float | None  # its goal
    error: str | None
    binding: list[str]
    label: str | None = None  # the worst miss
    failing: list[Achieved] = field(default_factory=list)
    reason: str = "bounds"  # bounds, error, no_gain, rounds (SearchResult.stop)


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
        """Every measure of every target, in the targets' order: what the staffing achieves."""
        return [Achieved.of(r) for r in self.result.evaluation.results]

    @property
    def shortfall(self) -> Shortfall | None:
        """None when every target is met; else the failing targets, worst (furthest from its goal) first."""
        if self.result.feasible:
            return None
        e = self.result.evaluation
        missed = sorted(e.missed(), key=lambda r: -miss(r))
        failing = [Achieved.of(r) for r in missed]
        first = failing[0] if failing and e.error is None else None
        return Shortfall(
            first.channel if first else None, first.scope if first else None, first.bound if first else None,
            first.target if first else None, e.error, list(self.result.binding), first.label if first else None,
            failing, self.result.stop,
        )  # fmt: skip

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
    if not staffing_targets(s):
        raise ScenarioError("nothing to staff for: give a channel an `sla`, or list `staffing.targets`",
                            file=str(path), field="staffing")  # fmt: skip
    scopes = list(goal.scopes) if goal is not None else ["overall"]
    reps = replications or (goal.replications if goal is not None and goal.replications else s.replications)
    data = read_data(path)[1]
    if horizon is not None:
        data = {**data, "horizon": horizon}
    variables = decision_variables(s)
    searched = [v for v in variables if exercised(s, v)]
    # written targets (tier, category, ...) shape the hourly needs; else each pool's main channel's SLA
    written = goal.targets if goal is not None else None
    needs = list(requirements(s, slot=STEP, days=7, targets=written)) if written is not None else pool_needs(s)
    start = _no_pool_empty(s, searched, needs, analytic_start(s, searched, needs))
    return StaffingPlan(s, path, data, variables, searched, needs, start, reps, scopes, horizon)


def _no_pool_empty(s: Scenario, searched: list[Variable], needs: list[PoolNeed], start: dict[str, int]) -> dict[str, int]:
    """A pool that work flows to never starts with nobody on duty: a tier staffed by nobody
    refuses every staffing the search would try from there (its tickets have nowhere to go)."""
    x = dict(start)
    for need in needs:
        mine = [v for v in searched if v.pool == need.pool]
        shrink = s.pool(need.pool).shrinkage
        if not mine or not (need.arrivals.sum() > 0 or need.load.sum() > 0):
            continue
        if any(on_duty(x[v.label], shrink) > 0 for v in mine):
            continue
        for v in mine:
            n = 1
            while on_duty(n, shrink) < 1:
                n += 1
            x[v.label] = min(max(n, v.lo, x[v.label]), v.hi)
    return x


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
    swap_budget: int | None = None,
) -> Recommendation:
    """The cheapest staffing that meets every target with 95% confidence, by simulation search
    from the analytic start. `scenario` is a file, or a plan from `plan_staffing` (then
    `replications` and `horizon` are the plan's). Evaluations run on `executor` if given (the
    caller closes it), else on one made here from `workers` (all cores) or a Dask `scheduler`.
    `note` receives the search's progress, one line per step; `swap_budget` bounds the swap
    phase (`search.search`). A KeyboardInterrupt leaves the evaluations so far stored under `out`."""
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
        result = search(ev, plan.start, note=note, swap_budget=swap_budget)
    finally:
        if own:
            executor.close()
    return Recommendation(plan, result, out)
