"""Poisson counts with a gamma day factor: the simulator's own over-dispersion model, fitted by
maximum likelihood.

Counts y_i in the intervals of day d are Poisson(f_d * mu_i) with f_d ~ Gamma(mean 1, cv^2 =
1/k), independent across days (`market.response.overdispersion`). Integrating f_d out gives a
closed form (a negative multinomial):

    log L = sum_i y_i log mu_i + sum_d [lgamma(Y_d + k) - lgamma(k) + k log k - (Y_d + k) log(M_d + k)]

with Y_d, M_d the day's observed and expected totals. Fitting it, rather than a plain Poisson
regression with a sandwich, matters: a history of a few weeks has only a few dozen days, and
the level, the weekday weights and above all the market elasticity are learned mostly from
differences between days, which the day factor blurs; the likelihood weighs days for what they
are worth and its information gives honest intervals (checked by coverage in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from .estimate import Z95, Estimate

K_MAX = 1e8  # k at which the day factor is no longer distinguishable from none (cv 1e-4)
Offset = Callable[[float], tuple[np.ndarray, np.ndarray]]


def _day_sums(v: np.ndarray, day: np.ndarray, ndays: int) -> np.ndarray:
    return np.bincount(day, weights=v, minlength=ndays)


def _loglik(y: np.ndarray, eta: np.ndarray, mu: np.ndarray, day: np.ndarray, ndays: int, k: float) -> float:
    Y = _day_sums(y, day, ndays)
    M = _day_sums(mu, day, ndays)
    on = M > 0
    days = special.gammaln(Y[on] + k) - special.gammaln(k) + k * math.log(k) - (Y[on] + k) * np.log(M[on] + k)
    return float(np.sum(y * eta) + np.sum(days))


def _k_loglik(Y: np.ndarray, M: np.ndarray, k: float) -> float:
    return float(np.sum(special.gammaln(Y + k) - special.gammaln(k) + k * math.log(k) - (Y + k) * np.log(M + k)))


def _best_k(Y: np.ndarray, M: np.ndarray) -> float:
    res = optimize.minimize_scalar(lambda lk: -_k_loglik(Y, M, math.exp(lk)), bounds=(0.0, math.log(K_MAX)),
                                   method="bounded", options={"xatol": 1e-6})
    return math.exp(float(res.x))


def fit_day_model(y: np.ndarray, X: np.ndarray, offset: Offset, with_e: bool, day: np.ndarray,
                  day_level: int = 1, iters: int = 80) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray, float]:
    """Maximum likelihood (b, e, k) for log mu = X b + g(e) with gamma day factors; returns
    (b, e, k, mu, covariance of (b, e), phi) with the covariance from the expected information,
    inflated by phi, the within-day Pearson dispersion (given each day's factor), where that
    exceeds 1.

    `day_level` parameters (level, weekday weights, elasticity) are learned from the same day
    totals that measure the day factor, and soak up part of its variance (four Mondays fit the
    Monday weight and hide a quarter of their spread): cv^2 is scaled by D / (D - day_level),
    the degrees-of-freedom correction of a variance component, before the covariance is taken."""
    ids, day = np.unique(day, return_inverse=True)
    ndays = len(ids)
    b = np.zeros(X.shape[1])
    b[0] = math.log(max(float(y.mean()), 1e-9))
    e, k = 0.0, 100.0

    def state(b: np.ndarray, e: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, dg = offset(e)
        eta = X @ b + g
        return eta, np.exp(np.minimum(eta, 700.0)), dg

    eta, mu, dg = state(b, e)
    ll = _loglik(y, eta, mu, day, ndays, k)
    for it in range(iters):
        Z = np.column_stack([X, dg]) if with_e else X
        info, grad = _information(y, Z, mu, day, ndays, k)
        try:
            delta = np.linalg.solve(info + 1e-10 * np.eye(len(info)), grad)
        except np.linalg.LinAlgError:
            delta = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while True:
            nb = b + t * delta[: X.shape[1]]
            ne = e + t * delta[-1] if with_e else e
            neta, nmu, ndg = state(nb, ne)
            nll = _loglik(y, neta, nmu, day, ndays, k)
            if nll >= ll - 1e-9 or t < 1e-6:
                break
            t /= 2
        b, e, eta, mu, dg = nb, ne, neta, nmu, ndg
        # the day factor's k, given the profile: a one-dimensional maximum
        Y, M = _day_sums(y, day, ndays), _day_sums(mu, day, ndays)
        k_new = _best_k(Y, M) if ndays >= 3 else K_MAX
        new_ll = _loglik(y, eta, mu, day, ndays, k_new)
        done = abs(new_ll - ll) < 1e-9 * (1 + abs(ll)) and it > 1
        ll, k = new_ll, k_new
        if done:
            break
    if k < K_MAX * 0.999 and ndays > day_level + 1:
        k *= (ndays - day_level) / ndays
    Z = np.column_stack([X, dg]) if with_e else X
    info, _ = _information(y, Z, mu, day, ndays, k)
    cov = np.linalg.pinv(info)
    M = _day_sums(mu, day, ndays)
    Y = _day_sums(y, day, ndays)
    w = ((Y + k) / (M + k))[day]  # the day factor's posterior mean
    dof = max(len(y) - Z.shape[1] - ndays, 1)
    phi = float(np.sum((y - w * mu) ** 2 / np.maximum(w * mu, 1e-12)) / dof)
    return b, e, k, mu, cov * max(phi, 1.0), phi


def _information(y: np.ndarray, Z: np.ndarray, mu: np.ndarray, day: np.ndarray, ndays: int,
                 k: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected information and score of the marginal likelihood in (b, e)."""
    M = _day_sums(mu, day, ndays)
    Y = _day_sums(y, day, ndays)
    w = (Y + k) / (M + k)
    grad = Z.T @ (y - w[day] * mu)
    A = np.zeros((ndays, Z.shape[1]))
    np.add.at(A, day, Z * mu[:, None])
    info = Z.T @ (mu[:, None] * Z) - (A / (M + k)[:, None]).T @ A
    return info, grad


def cv_estimate(y: np.ndarray, mu: np.ndarray, day: np.ndarray, k: float) -> Estimate:
    """The day factor's cv = 1/sqrt(k) with a likelihood-ratio 95% interval (which can reach 0)."""
    ids, day = np.unique(day, return_inverse=True)
    ndays = len(ids)
    Y, M = _day_sums(y, day, ndays), _day_sums(mu, day, ndays)
    if ndays < 3:
        return Estimate(0.0, math.nan, math.nan, ndays, math.nan, "days", ("too few days for over-dispersion",))
    cv = 0.0 if k >= K_MAX * 0.999 else 1.0 / math.sqrt(k)
    cut = _k_loglik(Y, M, k) - 0.5 * 3.841458820694124

    def drop(c: float) -> float:
        return _k_loglik(Y, M, 1.0 / max(c, 1e-4) ** 2) - cut

    floor = 1e-4
    lo = 0.0 if cv <= floor or drop(floor) >= 0 else float(optimize.brentq(drop, floor, cv))
    top = max(cv, floor) * 2 + 0.01
    while drop(top) > 0 and top < 100:
        top *= 2
    hi = float(optimize.brentq(drop, max(cv, floor), top)) if drop(top) < 0 else math.nan
    se = (hi - lo) / (2 * Z95) if math.isfinite(hi) else math.nan
    warns = (f"only {ndays} days: the over-dispersion cv is rough",) if ndays < 14 else ()
    return Estimate(cv, min(lo, cv), max(hi, cv), ndays, se, "days", warns)
