"""Log-spaced waiting-time histograms and fact buffers shared by every collector.

Bin 0 holds waits of exactly 0; bin k >= 1 holds [W0 e^((k-1)/PER_E), W0 e^(k/PER_E)), so
quantiles have 1% relative resolution from 10 ms to about three years.
"""

from __future__ import annotations

import math

import numpy as np

# Waiting-time histogram: bin 0 holds waits of exactly 0; bin k >= 1 holds
# [W0 * e^((k-1)/PER_E), W0 * e^(k/PER_E)); waits below W0 go to bin 1.
W0 = 0.01
PER_E = 100.0
N_BINS = 2300  # up to W0 * e^23, about 3 years
FLUSH = 4096

# The worst-hour scope keeps one coarser histogram per hour and channel (5% resolution).
HOUR = 3600.0
HOUR_PER_E = 20.0
HOUR_BINS = 23 * 20 + 2
FINE_PER_COARSE = int(PER_E // HOUR_PER_E)


def floats(buf: list[float]) -> np.ndarray:
    """A fact buffer as an array: fromiter takes 16 ns a value where np.array takes 25."""
    return np.fromiter(buf, dtype=float, count=len(buf))


def ints(buf: list[int]) -> np.ndarray:
    return np.fromiter(buf, dtype=np.int64, count=len(buf))


def wait_bins(waits: np.ndarray, per_e: float = PER_E, n_bins: int = N_BINS) -> np.ndarray:
    """Histogram bin of each wait (vectorised)."""
    out = np.zeros(len(waits), dtype=np.int64)
    pos = waits > 0
    k = np.floor(np.log(np.maximum(waits[pos], W0) / W0) * per_e).astype(np.int64) + 1
    out[pos] = np.minimum(k, n_bins - 1)
    return out


def hist_quantile(hist: np.ndarray, q: float, per_e: float = PER_E) -> float:
    """Quantile from a wait histogram (log-linear interpolation inside the bin)."""
    total = hist.sum()
    if total == 0:
        return math.nan
    target = q * total
    cum = np.cumsum(hist)
    k = int(np.searchsorted(cum, target, side="left"))
    if k == 0:
        return 0.0
    below = cum[k - 1]
    frac = (target - below) / hist[k] if hist[k] else 0.0
    lo = 0.0 if k == 1 else (k - 1) / per_e
    hi = k / per_e
    if k == 1:
        return W0 * frac
    return W0 * math.exp(lo + frac * (hi - lo))


