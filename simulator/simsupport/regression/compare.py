"""Did a metric move? Exact and statistical comparison of a rerun against its baseline.

- exact: same code and seed give identical numbers; any difference in any replication is a
  change (what a refactoring that should not touch results wants).
- statistical: a metric regresses when Welch's t-test on the replication values rejects "same
  mean" at level alpha after Holm's step-down correction for the number of metrics compared
  (family-wise error rate alpha), and, where a tolerance is given, the change also exceeds it
  (relative to the baseline mean, or absolute). Identical values pass without a test.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import stats

from ..config.base import Frozen

DEFAULT_METRICS = (
    "overall.all.*",
    "by_channel.*.*",
    "by_tier.*.*",
    "chatbot.*.*",
    "backlog.*.*",
    "volatile.*.*",
)
# counts that scale with the run, kept out of the default comparison (their rates are in)
IGNORED = ("*.journeys", "*.bot_handled")


class Tolerance(Frozen):
    relative: Annotated[float, Field(ge=0)] | None = None
    absolute: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Tolerance:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("a tolerance is either {relative: 0.05} or {absolute: 2.0}")
        return self

    def allows(self, old: float, new: float) -> bool:
        delta = abs(new - old)
        if self.absolute is not None:
            return delta <= self.absolute
        return delta <= self.relative * abs(old)  # type: ignore[operator]


class CheckConfig(Frozen):
    """How `simsupport check` judges (a YAML file given with --config; all keys optional)."""

    mode: Literal["statistical", "exact"] = "statistical"
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    metrics: list[str] = list(DEFAULT_METRICS)
    ignore: list[str] = list(IGNORED)
    tolerances: dict[str, Tolerance] = {}

    def selects(self, metric: str) -> bool:
        return any(fnmatch.fnmatchcase(metric, p) for p in self.metrics) and not any(
            fnmatch.fnmatchcase(metric, p) for p in self.ignore
        )

    def tolerance(self, metric: str) -> Tolerance | None:
        for pattern, tol in self.tolerances.items():
            if fnmatch.fnmatchcase(metric, pattern):
                return tol
        return None


Verdict = Literal["same", "within noise", "within tolerance", "regression", "changed", "missing", "new", "untestable"]
FAILING = ("regression", "changed", "missing")


@dataclass
class MetricResult:
    metric: str
    old: float
    new: float
    p_value: float = math.nan
    verdict: Verdict = "same"

    @property
    def delta(self) -> float:
        return self.new - self.old

    @property
    def relative(self) -> float:
        return self.delta / abs(self.old) if self.old not in (0.0,) and math.isfinite(self.old) else math.nan


@dataclass
class ScenarioCheck:
    scenario: str
    baseline_path: str
    mode: str
    alpha: float
    scenario_changed: bool
    baseline_version: str
    rows: list[MetricResult] = field(default_factory=list)

    @property
    def failures(self) -> list[MetricResult]:
        return [r for r in self.rows if r.verdict in FAILING]

    @property
    def passed(self) -> bool:
        return not self.failures


def _finite(values: list[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def _mean(values: list[float]) -> float:
    a = _finite(values)
    return float(a.mean()) if len(a) else math.nan


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test (degenerate spreads handled exactly)."""
    if a.min() == a.max() and b.min() == b.max():  # constant (var() is rounding noise, not 0)
        return 1.0 if a[0] == b[0] else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def holm(p_values: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level alpha."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m = len(p_values)
    reject = [False] * m
    for rank, i in enumerate(order):
        if p_values[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject


def compare(old: dict[str, list[float]], new: dict[str, list[float]], config: CheckConfig) -> list[MetricResult]:
    """A verdict for every selected metric in either run."""
    names = sorted(m for m in set(old) | set(new) if config.selects(m))
    rows: list[MetricResult] = []
    tested: list[tuple[MetricResult, float]] = []
    for m in names:
        if m not in new:
            rows.append(MetricResult(m, _mean(old[m]), math.nan, verdict="missing"))
            continue
        if m not in old:
            rows.append(MetricResult(m, math.nan, _mean(new[m]), verdict="new"))
            continue
        row = MetricResult(m, _mean(old[m]), _mean(new[m]))
        rows.append(row)
        if _same(old[m], new[m]):
            tested.append((row, 1.0))  # in Holm's family too: every metric compared counts
            continue
        if config.mode == "exact":
            row.verdict = "changed"
            continue
        a, b = _finite(old[m]), _finite(new[m])
        if len(a) >= 2 and len(b) == 0:
            row.verdict = "missing"  # defined before, undefined in every replication now
            continue
        if len(a) < 2 or len(b) < 2:
            row.verdict = "untestable"
            continue
        row.p_value = welch_p(a, b)
        tested.append((row, row.p_value))
    rejected = holm([p for _, p in tested], config.alpha)
    for (row, _), rej in zip(tested, rejected):
        tol = config.tolerance(row.metric)
        if math.isnan(row.p_value):  # identical values: "same"
            continue
        if not rej:
            row.verdict = "within noise"
        elif tol is not None and tol.allows(row.old, row.new):
            row.verdict = "within tolerance"
        else:
            row.verdict = "regression"
    return rows
