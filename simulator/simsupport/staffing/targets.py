"""Judging staffing targets over replications: is each one met with 95% confidence?

Every replication carries, per target of `config.derived.staffing_targets(s)`, its tallies per
clock hour and per reporting interval (`ReplicationResult.targets`, see `stats.targets` for what
a target covers and how its service level is counted). A target gives one `TargetResult` per
measure it names:

- service_level: answered within T over the SLA formula's denominator (a channel target with no
  measure of its own: the channel's SLA, with its threshold, formula and target); holds when the
  lower 95% bound >= goal;
- abandon_rate: abandoned / admitted (offered - blocked), as in `stats.summary`; holds when the
  upper 95% bound <= goal;
- asa: mean wait of answered tickets; holds when the upper 95% bound <= goal.

Bounds are mean -/+ the t half-width over replications (`experiment.statistics.mean_ci95`: a
replication where the measure is undefined is left out); with a single value the half-width is
NaN and the bound is the mean (as `staffing.search` does). By scope:

- overall, volatile: the measure over the window (volatile: the target's rows in volatile
  intervals), one value per replication;
- worst_hour: per replication, the worst clock hour of the target's own measure (lowest service
  level, highest abandon rate or ASA) among hours where it is defined, then the interval over
  replications of that worst value. (`stats.summary`'s `worst_hour.<channel>` is the same hour
  for a channel's own SLA; its `worst_hour.all` is the desk's worst hour.)
- every_hour, every_interval: a period counts only if it had traffic (offered > 0) in every
  replication; each counted period gets its own mean and bounds; `failing` lists the periods
  whose bound misses the goal (start in seconds since time 0, mean, bound), and the result's
  mean, ci95 and bounds are those of the worst counted period (by bound). Met: no period fails.

A measure with no value in any replication (no traffic in its scope, e.g. a volatile target in
replications that never turned volatile) cannot be judged: mean NaN, n 0, met True, as the
staffing search treats an undefined level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.derived import staffing_targets
from ..config.schema import Scenario
from ..config.targets import SCOPE_WORDS, Target
from ..experiment.statistics import mean_ci95
from ..stats.histogram import HOUR
from ..stats.result import ReplicationResult
from ..stats.targets import COLUMNS, TargetTallies

MEASURES = ("service_level", "abandon_rate", "asa")
_COL = {name: i for i, name in enumerate(COLUMNS)}


@dataclass
class TargetResult:
    """One measure of one staffing target, judged over replications."""

    target: Target
    label: str  # 'chat SLA overall', 'category kyc 95% in 2min every hour', 'tier L2 ASA <= 4h overall'
    scope: str
    measure: str  # 'service_level', 'abandon_rate' or 'asa'
    goal: float  # share (service level, abandon rate) or seconds (ASA)
    mean: float
    ci95: float  # t half-width over replications (NaN with fewer than two values)
    lower: float
    upper: float
    met: bool
    n: int  # replications with a value (every_hour / every_interval: replications)
    values: list[float] = field(default_factory=list)  # per replication (NaN: undefined there)
    # every_hour / every_interval: the counted periods (traffic in every replication)
    period_start_s: list[float] = field(default_factory=list)
    period_mean: list[float] = field(default_factory=list)
    period_ci95: list[float] = field(default_factory=list)
    period_lower: list[float] = field(default_factory=list)
    period_upper: list[float] = field(default_factory=list)
    failing: list[tuple[float, float, float]] = field(default_factory=list)  # (period_start_s, mean, bound)

    @property
    def bound(self) -> float:
        """The bound the goal is judged by: lower for a service level, upper otherwise."""
        return self.lower if self.measure == "service_level" else self.upper


def _measures(s: Scenario, t: Target) -> list[tuple[str, float, str]]:
    """(measure, goal, words) for each measure of a target."""
    if t.own_sla:
        sla = s.channels[t.channel].sla if t.channel is not None else None
        return [] if sla is None else [("service_level", float(sla.target), "SLA")]
    words = iter(t.measures)  # in the order answer_within, max_abandon_rate, max_asa
    out = []
    if t.answer_within is not None and t.target is not None:
        out.append(("service_level", float(t.target), next(words)))
    if t.max_abandon_rate is not None:
        out.append(("abandon_rate", float(t.max_abandon_rate), next(words)))
    if t.max_asa is not None:
        out.append(("asa", float(t.max_asa), next(words)))
    return out


def measure_values(counts: np.ndarray, measure: str) -> np.ndarray:
    """A measure from tallies [..., len(COLUMNS)] (NaN where undefined)."""
    if measure == "service_level":
        num, den = counts[..., _COL["sl_num"]], counts[..., _COL["sl_den"]]
    elif measure == "abandon_rate":
        num, den = counts[..., _COL["abandoned"]], counts[..., _COL["offered"]] - counts[..., _COL["blocked"]]
    elif measure == "asa":
        num, den = counts[..., _COL["wait_answered"]], counts[..., _COL["answered"]]
    else:
        raise ValueError(f"unknown measure {measure!r} (one of {', '.join(MEASURES)})")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _bounds(mean: float, half: float) -> tuple[float, float]:
    h = half if math.isfinite(half) else 0.0
    return mean - h, mean + h


def _holds(measure: str, goal: float, lower: float, upper: float) -> bool:
    """Met with 95% confidence (an undefined bound cannot fail)."""
    if measure == "service_level":
        return not lower < goal
    return not upper > goal


def _tallies(results: Sequence[ReplicationResult]) -> list[TargetTallies]:
    out = []
    for r in results:
        if r.targets is None:
            raise ValueError(
                f"replication {r.replication} carries no target tallies (ReplicationResult.targets); "
                "run it with this version of the engine"
            )
        out.append(r.targets)
    return out


def _judge(t: Target, j: int, measure: str, goal: float, words: str, tallies: list[TargetTallies]) -> TargetResult:
    label = f"{t.subject} {words} {SCOPE_WORDS[t.scope]}"
    base = {"target": t, "label": label, "scope": t.scope, "measure": measure, "goal": goal}
    if t.scope in ("every_hour", "every_interval"):
        return _judge_periods(base, j, tallies)
    if t.scope == "worst_hour":
        values = []
        for tt in tallies:
            v = measure_values(tt.hours[j], measure)
            v = v[np.isfinite(v) & (tt.hours[j, :, _COL["offered"]] > 0)]
            values.append(float((v.min() if measure == "service_level" else v.max()) if len(v) else math.nan))
    else:  # overall, volatile (the tallies hold only the volatile rows)
        values = [float(measure_values(tt.totals()[j], measure)) for tt in tallies]
    mean, half = mean_ci95(values)
    lower, upper = _bounds(mean, half)
    n = sum(1 for v in values if math.isfinite(v))
    return TargetResult(**base, mean=mean, ci95=half, lower=lower, upper=upper,
                        met=n == 0 or _holds(measure, goal, lower, upper), n=n, values=values)  # fmt: skip


def _judge_periods(base: dict[str, Any], j: int, tallies: list[TargetTallies]) -> TargetResult:
    measure, goal = base["measure"], base["goal"]
    hourly = base["scope"] == "every_hour"
    grids = [tt.hours[j] if hourly else tt.intervals[j] for tt in tallies]
    if len({g.shape for g in grids}) > 1:
        raise ValueError("replications with different windows cannot be judged period by period")
    counts = np.stack(grids)  # [R, P, COLUMNS]
    values = measure_values(counts, measure)  # [R, P]
    busy = (counts[:, :, _COL["offered"]] > 0).all(axis=0)
    tt0 = tallies[0]
    out = TargetResult(**base, mean=math.nan, ci95=math.nan, lower=math.nan, upper=math.nan, met=True, n=len(tallies))
    worst: tuple[float, float, float, float, float] | None = None  # (badness, mean, half, lower, upper)
    for p in np.nonzero(busy)[0]:
        mean, half = mean_ci95(values[:, p].tolist())
        if not math.isfinite(mean):
            continue
        lower, upper = _bounds(mean, half)
        start = (tt0.first_hour + int(p)) * HOUR if hourly else (tt0.first_interval + int(p)) * tt0.interval
        out.period_start_s.append(start)
        out.period_mean.append(mean)
        out.period_ci95.append(half)
        out.period_lower.append(lower)
        out.period_upper.append(upper)
        bound = lower if measure == "service_level" else upper
        if not _holds(measure, goal, lower, upper):
            out.failing.append((start, mean, bound))
        badness = -bound if measure == "service_level" else bound
        if worst is None or badness > worst[0]:
            worst = (badness, mean, half, lower, upper)
    if worst is not None:
        _, out.mean, out.ci95, out.lower, out.upper = worst
    out.met = not out.failing
    return out


def evaluate_targets(s: Scenario, results: Sequence[ReplicationResult]) -> list[TargetResult]:
    """Every measure of every staffing target of `s` (config.derived.staffing_targets), judged
    over `results` (replications of `s`, in the order given), in the targets' order."""
    return evaluate_tallies(s, _tallies(results))


def evaluate_tallies(s: Scenario, tallies: Sequence[TargetTallies]) -> list[TargetResult]:
    """As `evaluate_targets`, from the replications' tallies alone (e.g. read back from a sweep
    store with `TargetTallies.from_record`)."""
    targets = staffing_targets(s)
    if not targets or not tallies:
        return []
    labels = [t.label for t in targets]
    for k, tt in enumerate(tallies):
        if tt.labels != labels:
            raise ValueError(f"replication {k} tallied other targets ({tt.labels}) than the scenario's ({labels})")
    out = []
    for j, t in enumerate(targets):
        for measure, goal, words in _measures(s, t):
            out.append(_judge(t, j, measure, goal, words, list(tallies)))
    return out


def stored_tallies(records: dict[int, dict[str, Any]], key: str) -> list[TargetTallies]:
    """The target tallies of a point's stored replications (a sweep store's records, by
    replication number), in replication order, not finishing order."""
    out = []
    for rep in sorted(records):
        rec = records[rep].get("targets")
        if rec is None:
            raise RuntimeError(f"stored replication {rep} of {key} has no target tallies")
        out.append(TargetTallies.from_record(rec))
    return out


FRAME_COLUMNS = ("target", "subject", "scope", "measure", "goal", "period_start_s", "mean", "ci95", "lower", "upper",
                 "bound", "met", "n")  # fmt: skip


def achieved_frame(results_of_targets: Sequence[TargetResult]) -> Any:
    """A tidy pandas.DataFrame: one row per target measure (period_start_s NaN), and for
    every_hour / every_interval one more row per failing period (met False)."""
    import pandas as pd  # only for tables

    rows: list[dict[str, Any]] = []
    for tr in results_of_targets:
        common = {"target": tr.label, "subject": tr.target.subject, "scope": tr.scope, "measure": tr.measure,
                  "goal": tr.goal, "n": tr.n}  # fmt: skip
        rows.append({**common, "period_start_s": math.nan, "mean": tr.mean, "ci95": tr.ci95, "lower": tr.lower,
                     "upper": tr.upper, "bound": tr.bound, "met": tr.met})  # fmt: skip
        failing = {start for start, _, _ in tr.failing}
        for p, start in enumerate(tr.period_start_s):
            if start not in failing:
                continue
            lower, upper = tr.period_lower[p], tr.period_upper[p]
            rows.append({**common, "period_start_s": start, "mean": tr.period_mean[p], "ci95": tr.period_ci95[p],
                         "lower": lower, "upper": upper, "bound": lower if tr.measure == "service_level" else upper,
                         "met": False})  # fmt: skip
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


__all__ = ["MEASURES", "TargetResult", "achieved_frame", "evaluate_tallies", "evaluate_targets", "measure_values",
           "stored_tallies"]
