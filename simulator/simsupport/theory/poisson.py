"""The Poisson law in log space, accurate for any mean: what Erlang formulas need for huge teams.

Erlang B is the Poisson pmf over its cdf, B(n, a) = P(N = n) / P(N <= n) with N ~ Poisson(a); the
recursion over n = 1, 2, ... that small teams use costs n steps, which a load of 1e11 Erlangs
cannot afford. Here the pmf is Loader's saddle-point form (exact to double precision for every n,
no cancellation of terms of size n log a) and the cdf comes from the regularized incomplete gamma
function, or, far in its lower tail where that underflows, from the pmf times a convergent series.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_S = (1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188)


def _stirlerr(n: float) -> float:
    """log(n!) - log(sqrt(2 pi n) (n/e)^n), the error of Stirling's formula."""
    if n <= 15:
        return math.lgamma(n + 1) - (n + 0.5) * math.log(n) + n - _LOG_SQRT_2PI
    s0, s1, s2, s3, s4 = _S
    nn = n * n
    if n > 500:
        return (s0 - s1 / nn) / n
    if n > 80:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


def _bd0(x: float, m: float) -> float:
    """x log(x / m) + m - x, without cancellation when x is near m."""
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        s = (x - m) * v
        ej = 2 * x * v
        v2 = v * v
        j = 1
        while True:
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
            j += 1
    return x * math.log(x / m) + m - x


def log_pmf(n: int, a: float) -> float:
    """log P(N = n), N ~ Poisson(a), a > 0."""
    if n == 0:
        return -a
    return -_stirlerr(n) - _bd0(n, a) - _LOG_SQRT_2PI - 0.5 * math.log(n)


def log_cdf(n: int, a: float) -> float:
    """log P(N <= n), N ~ Poisson(a), a > 0 (-inf for n < 0)."""
    if n < 0:
        return -math.inf
    p = float(special.pdtr(n, a))
    if p > 1e-280:
        return math.log(p)
    return log_pmf(n, a) + math.log(_tail_ratio(n, a))


def _tail_ratio(n: int, a: float) -> float:
    """P(N <= n) / P(N = n) = sum_j prod_{i<j} (n - i) / a, for n < a: the terms fall at least
    geometrically (ratio n / a < 1) and like exp(-j^2 / 2a)."""
    total, log_term, i = 0.0, 0.0, 0
    chunk = 1 << 16
    while i <= n:
        k = np.arange(i, min(i + chunk, n + 1), dtype=float)
        logs = log_term + np.concatenate(([0.0], np.cumsum(np.log((n - k[:-1]) / a))))
        total += float(np.exp(logs).sum())
        log_term = float(logs[-1] + math.log((n - k[-1]) / a)) if k[-1] < n else -math.inf
        i += chunk
        if log_term < math.log(total) - 40:
            break
    return total


def erlang_b_large(servers: int, load: float) -> float:
    """Erlang B = P(N = n) / P(N <= n), in constant time whatever n and the load (well below the
    load, where the series converges fast, as 1 / the series itself: no log of size n log a)."""
    if servers >= 0.9 * load:
        p = float(special.pdtr(servers, load))
        if p > 1e-280:
            return math.exp(log_pmf(servers, load) - math.log(p))
    return 1.0 / _tail_ratio(servers, load)
