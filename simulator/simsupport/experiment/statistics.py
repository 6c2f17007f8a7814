"""Across replications: means and 95% confidence half-widths.

Replications are independent (separate random streams), so the t interval on their means is
the honest one; a metric undefined in a replication (NaN, e.g. no abandons to average) is left
out of that metric's mean, and the count that remains sets the t quantile.

The Student t quantile is computed here (`t_quantile`) rather than taken from scipy, whose import
alone costs about half a second of every `simsupport run`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np

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
    return mean, float(t_quantile(0.975, n - 1) * sd / math.sqrt(n))


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


# -- the Student t quantile ----------------------------------------------------------------------
# P(T > t) = I_x(v/2, 1/2) / 2 and P(0 < T < t) = I_y(1/2, v/2) / 2, with x = v / (v + t^2) and
# y = 1 - x (I the regularized incomplete beta, by its continued fraction, taken on whichever side
# it converges); the quantile solves one of them by Newton's method, kept inside a bracket. Beyond
# 1e4 degrees of freedom the continued fraction loses digits and Fisher's expansion about the
# normal quantile is exact to rounding instead. About 1e-14 relative accuracy throughout.

_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_LARGE_DF = 1e4


def _stirling_tail(z: float) -> float:
    """ln Gamma(z) - ((z - 1/2) ln z - z + ln(2 pi) / 2), for z >= 8."""
    w = 1.0 / (z * z)
    return sum(c * w**i for i, c in enumerate(_STIRLING)) / z


def _log_beta_half(a: float) -> float:
    """ln B(a, 1/2), without the cancellation of three large lgammas when a is large."""
    if a < 8.0:
        return math.lgamma(a) + math.lgamma(0.5) - math.lgamma(a + 0.5)
    # ln Gamma(a + 1/2) - ln Gamma(a), from Stirling's series of both
    ratio = a * math.log1p(0.5 / a) - 0.5 + 0.5 * math.log(a) + _stirling_tail(a + 0.5) - _stirling_tail(a)
    return 0.5 * math.log(math.pi) - ratio


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a+1)/(a+b+2)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)), -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def _t_tails(t: float, df: float, log_beta: float) -> tuple[float, float]:
    """(P(T > t), P(0 < T < t)) for t > 0, the smaller of the two directly."""
    a = 0.5 * df
    log_x = -math.log1p(t * t / df)  # x = df / (df + t^2)
    log_y = -math.log1p(df / (t * t))  # y = 1 - x = t^2 / (df + t^2), without the cancellation
    front = math.exp(a * log_x + 0.5 * log_y - log_beta)
    x = math.exp(log_x)
    if x < (a + 1.0) / (a + 2.5):
        upper = 0.5 * front * _beta_cf(a, 0.5, x) / a
        return upper, 0.5 - upper
    central = front * _beta_cf(0.5, a, math.exp(log_y))  # 0.5 * front * cf / 0.5
    return 0.5 - central, central


def _normal_upper_quantile(q: float, central: float) -> float:
    """z > 0 with P(Z > z) = q and P(0 < Z < z) = central = 1/2 - q: Abramowitz and Stegun
    26.2.23 (to 4e-4), then Newton on log erfc (or on erf near the middle)."""
    s = math.sqrt(-2.0 * math.log(q))
    z = s - (2.515517 + s * (0.802853 + s * 0.010328)) / (1.0 + s * (1.432788 + s * (0.189269 + s * 0.001308)))
    for _ in range(8):
        density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        if q < 0.25:
            upper = 0.5 * math.erfc(z / math.sqrt(2.0))
            step = (math.log(upper) - math.log(q)) * upper / density
        else:
            step = (central - 0.5 * math.erf(z / math.sqrt(2.0))) / density
        z += step
        if abs(step) <= 1e-16 * abs(z):
            break
    return z


def _fisher(z: float, df: float) -> float:
    """Fisher's expansion of the t quantile in 1/df about the normal one (A&S 26.7.5)."""
    z2 = z * z
    g1 = z * (z2 + 1) / 4
    g2 = z * ((5 * z2 + 16) * z2 + 3) / 96
    g3 = z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384
    g4 = z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t distribution with df > 0 degrees of freedom (scipy's
    `stats.t.ppf(p, df)`, to about 1e-14 relative)."""
    if not df > 0 or math.isnan(p) or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.5:
        return 0.0
    if p in (0.0, 1.0):
        return math.inf if p == 1.0 else -math.inf
    sign = 1.0 if p > 0.5 else -1.0
    q = 1.0 - p if p > 0.5 else p  # the upper tail to solve for (exact: Sterbenz)
    central = abs(p - 0.5)  # exact for p in [1/4, 3/4], where it is the one to solve for
    z = _normal_upper_quantile(q, central)
    if df > _LARGE_DF:
        return sign * _fisher(z, df)
    log_beta = _log_beta_half(0.5 * df)
    t = max(_fisher(z, df) if df >= 4 else z, 1e-150)  # a start (poor in the tails of small df)
    lo, hi = 0.0, math.inf  # P(T > lo) > q > P(T > hi)
    for _ in range(200):
        upper, inner = _t_tails(t, df, log_beta)
        if upper == q:
            break
        if upper > q:
            lo = t
        else:
            hi = t
        density = math.exp(-log_beta - 0.5 * math.log(df) - 0.5 * (df + 1.0) * math.log1p(t * t / df))
        if not (upper > 0.0 and density > 0.0):  # far beyond the root (underflow): bisect
            new = hi
        elif q < 0.25:  # Newton on log P(T > t) against log t: exact for the power tails of small df
            new = t * math.exp(min((math.log(upper) - math.log(q)) * upper / (t * density), 700.0))
        else:
            new = t + (central - inner) / density
        if not lo < new < hi:  # outside the bracket: bisect it instead (or grow it)
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * max(t, lo)
        done = abs(new - t) <= 1e-15 * t
        t = new
        if done:
            break
    return sign * t
