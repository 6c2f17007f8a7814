"""Rosters judged by simulation: roster lines -> scenario -> replications -> every target.

Each roster is run as an ordinary scenario (`staffing.roster.with_roster`) with replications
0..R-1 of the same seed, so two rosters are compared on the same customers (common random
numbers). Replications run on the sweep executors (a process pool or Dask) and are stored
like a sweep's, under `out/runs/<scenario hash>/`: an interrupted `schedule` resumes, and a
roster met twice in a search is simulated once. What is judged is read back from the stored
records alone (the targets' tallies by clock hour), so a resumed search decides exactly as
the first one did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.load import scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.spec import Point, point_key
from ..experiment.sweep import Store, run_scenarios
from ..stats.targets import TargetTallies
from .roster import RosterLine, with_roster
from .targets import TargetResult, evaluate_tallies, stored_tallies


@dataclass
class Judged:
    """One roster, simulated and judged."""

    lines: list[RosterLine]
    scenario: Scenario | None
    targets: list[TargetResult]
    tallies: list[TargetTallies] = field(default_factory=list)
    error: str | None = None  # the roster is not a valid scenario (e.g. a tier left without agents)

    @property
    def cost(self) -> float:
        return sum(x.cost for x in self.lines)

    @property
    def agents(self) -> int:
        return sum(x.agents for x in self.lines)

    @property
    def met(self) -> bool:
        return self.error is None and all(t.met for t in self.targets)

    @property
    def missed(self) -> list[TargetResult]:
        return [t for t in self.targets if not t.met]

    @property
    def margin(self) -> float:
        """The tightest target's slack at its 95% bound, in the target's own terms (service
        level and abandon rate: fractions; ASA: relative to its goal): above 0 means met. Used
        to accept a move that costs nothing but leaves more room."""
        if self.error is not None:
            return -math.inf
        return min((slack(t) for t in self.targets), default=math.inf)


def slack(t: TargetResult) -> float:
    """How far a target's 95% bound is inside its goal (negative: missed by that much)."""
    if t.measure == "service_level":
        v = t.lower - t.goal
    elif t.measure == "asa":
        v = (t.goal - t.upper) / t.goal if t.goal > 0 else -t.upper
    else:
        v = t.goal - t.upper
    return v if math.isfinite(v) else math.inf  # undefined (no traffic) cannot fail


class RosterEvaluator:
    """Rosters -> Judged, by simulation on an executor, stored and cached."""

    def __init__(self, data: dict[str, Any], path: Path, replications: int, store: Store, executor: Any) -> None:
        self.data, self.path = data, path
        self.replications = replications
        self.store, self.executor = store, executor
        self.cache: dict[str, Judged] = {}
        self.evaluations = self.ran = self.reused = 0

    def scenario(self, lines: list[RosterLine]) -> Scenario:
        s = scenario_from_dict(with_roster(self.data, lines), source=str(self.path), base_dir=self.path.resolve().parent)
        return s.model_copy(update={"replications": self.replications})

    def __call__(self, rosters: list[list[RosterLine]]) -> list[Judged]:
        out: dict[int, Judged] = {}
        todo: list[tuple[int, Point]] = []
        for i, lines in enumerate(rosters):
            lines = [x for x in lines if x.agents > 0]
            try:
                s = self.scenario(lines)
            except ScenarioError as exc:
                out[i] = Judged(lines, None, [], error=str(exc))
                continue
            key = point_key(s)
            if key in self.cache:
                out[i] = Judged(lines, s, self.cache[key].targets, self.cache[key].tallies)
                continue
            todo.append((i, Point(len(todo), {}, s, key)))
        if todo:
            run, points = run_scenarios([p.scenario for _, p in todo], self.store, executor=self.executor,
                                        replications=self.replications, source=str(self.path))  # fmt: skip
            self.ran += run.ran
            self.reused += run.reused
            if run.failures:
                p, k, err = run.failures[0]
                raise RuntimeError(f"replication {k} failed while evaluating a roster: {err}")
            for (i, _), p in zip(todo, points):
                tallies = stored_tallies(run.results[p.index], p.key)
                judged = Judged([x for x in rosters[i] if x.agents > 0], p.scenario,
                                evaluate_tallies(p.scenario, tallies), tallies)  # fmt: skip
                self.cache[p.key] = judged
                out[i] = judged
        self.evaluations += len(rosters)
        return [out[i] for i in range(len(rosters))]
