"""Across replications: means and 95% confidence half-widths.

Replications are independent (separate random streams), so the t interval on their means is
the honest one; a metric undefined in a replication (NaN, e.g. no abandons to average) is left
out of that metric's mean, and the count that remains sets the t quantile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

Summary = Mapping[str, Mapping[str, Mapping[str, float]]]


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and 95% t-interval half-width (NaN half-width with fewer than two values)."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = len(arr)
    if n == 0:
        return math.nan, math.nan
    mean = float(arr.mean())
    if n < 2:
        return mean, math.nan
    sd = float(arr.std(ddof=1))
    return mean, float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def aggregate(summaries: Sequence[Summary]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """scope -> key -> metric -> {"mean", "ci95"} over replication summaries."""
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    if not summaries:
        return out
    for scope in summaries[0]:
        out[scope] = {}
        keys: list[str] = []
        for s in summaries:
            for key in s.get(scope, {}):
                if key not in keys:
                    keys.append(key)
        for key in keys:
            metrics: list[str] = []
            for s in summaries:
                for m in s.get(scope, {}).get(key, {}):
                    if m not in metrics:
                        metrics.append(m)
            out[scope][key] = {}
            for m in metrics:
                vals = [s.get(scope, {}).get(key, {}).get(m, math.nan) for s in summaries]
                mean, half = mean_ci95(vals)
                out[scope][key][m] = {"mean": mean, "ci95": half}
    return out
