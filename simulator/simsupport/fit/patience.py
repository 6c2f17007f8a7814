"""Customer patience from queue waits, as right-censored data.

An abandoned customer's wait *is* their patience; an answered customer's wait is only a lower
bound on it (they would have waited longer). Averaging the abandoned waits alone (`naive_mean`)
keeps only the impatient and badly underestimates patience, so it is reported only as the wrong
answer beside the right one.

* exponential: closed-form MLE, mean = total time waited / number of abandons; CI on the log
  scale with se = 1/sqrt(abandons) (Wald on log mean from the observed information).
* lognormal, gamma: censored MLE parameterised by (log mean, log cv), so the inverse of the
  numerical Hessian of the log-likelihood (observed information) gives both intervals directly.
  Fitted on a fixed-seed random subsample of at most 20,000 waits (the intervals use the
  subsample's n, so they stay honest); the exponential is always fitted on all waits.
* The family is chosen by AIC on the same waits; the Kaplan-Meier curve checks the fit.

An abandon with a wait of 0 (left at once) is legal: for the two-parameter families it counts
as patience below `zero_wait` seconds (left-censored), since their density at 0 is 0 or infinite.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from simsupport.fit.estimate import Estimate
from simsupport.fit.service import frozen_law

MAX_FIT = 20_000  # waits used by the lognormal/gamma fits
MIN_EVENTS_2P = 10  # abandons needed before a two-parameter family is tried
FEW_EVENTS = 30
KM_POINTS = 400
GAP_WARN = 0.05
MIN_AT_RISK = 20  # the KM/fit comparison ignores the far tail where few are still waiting:
AT_RISK_SHARE = 0.05  # at least this many and this share of all waits must still be waiting
CV_BOUNDS = (math.log(0.02), math.log(50.0))


@dataclass(frozen=True)
class PatienceFit:
    """Fitted patience of one channel. ``dist is None`` means nobody abandoned: ``patience: none``."""

    dist: str | None
    mean: Estimate | None  # seconds
    cv: Estimate | None  # None for the exponential and for `none`
    n_abandoned: int
    n_answered: int
    params: Mapping[str, float] = field(default_factory=dict)  # as service.frozen_law takes them
    aic: Mapping[str, float] = field(default_factory=dict)  # on the (sub)sample the choice used
    fitted_on: int = 0  # waits behind the chosen fit (a subsample for lognormal/gamma on big logs)
    naive_mean: Estimate | None = None  # mean wait of abandoned customers only: biased low
    km_t: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False)  # Kaplan-Meier, <= 400 points
    km_s: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False)
    km_gap: float | None = None  # max |KM - fitted| while >= 5% (and >= 20) of customers still waited
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def survival(self, t: np.ndarray | float) -> np.ndarray:
        """P(patience > t) under the fit (1 everywhere for `patience: none`)."""
        return patience_survival(self, t)


def patience_survival(fit: PatienceFit, t: np.ndarray | float) -> np.ndarray:
    """The fitted survival function at times ``t`` (seconds)."""
    t = np.asarray(t, dtype=float)
    if fit.dist is None:
        return np.ones_like(t)
    return np.asarray(frozen_law(fit.dist, fit.params).sf(t))


def scenario_patience(fit: PatienceFit) -> dict[str, str | float] | str:
    """``"none"`` or ``{"dist": ..., "mean": seconds, "cv": ...}`` for the channel's ``patience``."""
    if fit.dist is None or fit.mean is None:
        return "none"
    out: dict[str, str | float] = {"dist": fit.dist, "mean": float(fit.mean.value)}
    if fit.cv is not None:
        out["cv"] = float(fit.cv.value)
    return out


# ----------------------------------------------------------------------------- likelihoods


@dataclass(frozen=True)
class _Sample:
    """Waits split the way the likelihood needs them (logs precomputed once)."""

    te: np.ndarray  # abandons with a positive wait
    le: np.ndarray
    tc: np.ndarray  # answered with a positive wait
    lc: np.ndarray
    n0: int  # abandons at wait 0
    delta: float

    @classmethod
    def of(cls, w: np.ndarray, ab: np.ndarray, delta: float) -> _Sample:
        te = w[ab & (w > 0)]
        tc = w[~ab & (w > 0)]
        return cls(te, np.log(te), tc, np.log(tc), int((ab & (w <= 0)).sum()), delta)


def _ll_lognormal(theta: np.ndarray, s: _Sample) -> float:
    cv = math.exp(theta[1])
    s2 = math.log1p(cv * cv)
    sigma = math.sqrt(s2)
    mu = theta[0] - s2 / 2
    ze = (s.le - mu) / sigma
    ll = -s.le.sum() - s.le.size * (math.log(sigma) + 0.5 * math.log(2 * math.pi)) - 0.5 * float(ze @ ze)
    ll += float(special.log_ndtr(-(s.lc - mu) / sigma).sum())
    if s.n0:
        ll += s.n0 * float(special.log_ndtr((math.log(s.delta) - mu) / sigma))
    return ll


def _ll_gamma(theta: np.ndarray, s: _Sample) -> float:
    cv = math.exp(theta[1])
    k = 1.0 / (cv * cv)
    scale = math.exp(theta[0]) * cv * cv
    ll = (k - 1) * s.le.sum() - s.te.sum() / scale - s.te.size * (k * math.log(scale) + float(special.gammaln(k)))
    ll += float(np.log(np.maximum(special.gammaincc(k, s.tc / scale), 1e-300)).sum())
    if s.n0:
        ll += s.n0 * math.log(max(float(special.gammainc(k, s.delta / scale)), 1e-300))
    return ll


def _ll_exponential(mean: float, s: _Sample) -> float:
    ll = -s.te.size * math.log(mean) - float(s.te.sum() + s.tc.sum()) / mean
    if s.n0:
        ll += s.n0 * math.log(-math.expm1(-s.delta / mean))
    return ll


LOGLIK = {"lognormal": _ll_lognormal, "gamma": _ll_gamma}


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of a scalar function of two variables."""
    H = np.empty((2, 2))
    f0 = f(x)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        H[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / (h * h)
    e0, e1 = np.array([h, 0.0]), np.array([0.0, h])
    H[0, 1] = H[1, 0] = (f(x + e0 + e1) - f(x + e0 - e1) - f(x - e0 + e1) + f(x - e0 - e1)) / (4 * h * h)
    return H


def _fit_two(name: str, s: _Sample, start_mean: float, n: int) -> tuple[float, dict[str, float], Estimate, Estimate, list[str]]:
    """Censored MLE of one two-parameter family: (log-lik, params, mean, cv, warnings)."""
    ll = LOGLIK[name]
    a0 = math.log(start_mean)
    bounds = [(a0 - 10.0, a0 + 10.0), CV_BOUNDS]
    res = optimize.minimize(lambda th: -ll(th, s), np.array([a0, 0.0]), method="L-BFGS-B", bounds=bounds)
    th = res.x
    warn: list[str] = []
    at_bound = any(min(abs(th[i] - b[0]), abs(th[i] - b[1])) < 1e-3 for i, b in enumerate(bounds))
    if not res.success or at_bound or not np.isfinite(res.fun):
        warn.append(f"the censored {name} fit did not converge: not considered")
        return -math.inf, {}, Estimate(math.nan, math.nan, math.nan, n), Estimate(math.nan, math.nan, math.nan, n), warn
    H = _hessian(lambda v: -ll(v, s), th)
    try:
        cov = np.linalg.inv(H)
        se = np.sqrt(np.diag(cov)) if np.all(np.diag(cov) > 0) and np.linalg.det(H) > 0 else np.full(2, np.nan)
    except np.linalg.LinAlgError:
        se = np.full(2, np.nan)
    if not np.all(np.isfinite(se)):
        warn.append(f"the {name} patience has no usable information matrix: no interval")
    mean, cv = math.exp(th[0]), math.exp(th[1])
    if name == "lognormal":
        s2 = math.log1p(cv * cv)
        params = {"mu": th[0] - s2 / 2, "sigma": math.sqrt(s2)}
    else:
        params = {"shape": 1.0 / (cv * cv), "scale": mean * cv * cv}
    return (-float(res.fun), params, Estimate.log_normal(mean, float(se[0]), n, "waits"),
            Estimate.log_normal(cv, float(se[1]), n, "waits"), warn)


# ----------------------------------------------------------------------------- Kaplan-Meier


def _kaplan_meier(w: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KM survival of patience at each distinct wait (scipy.stats.ecdf on CensoredData)."""
    sf = stats.ecdf(stats.CensoredData(uncensored=w[ab], right=w[~ab])).sf
    return np.asarray(sf.quantiles, dtype=float), np.asarray(sf.probabilities, dtype=float)


def _thin(t: np.ndarray, s: np.ndarray, k: int = KM_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most k points for plotting, starting at (0, 1) and keeping the last point."""
    if t.size == 0 or t[0] > 0:
        t, s = np.r_[0.0, t], np.r_[1.0, s]
    if t.size > k:
        idx = np.unique(np.linspace(0, t.size - 1, k).round().astype(int))
        t, s = t[idx], s[idx]
    return t, s


def _km_gap(t: np.ndarray, s: np.ndarray, w_sorted: np.ndarray, fitted: np.ndarray) -> float:
    """Max distance between the KM steps (both sides of each) and the fitted survival."""
    at_risk = w_sorted.size - np.searchsorted(w_sorted, t, side="left")
    keep = at_risk >= max(MIN_AT_RISK, AT_RISK_SHARE * w_sorted.size)
    if not keep.any():
        return math.nan
    before = np.r_[1.0, s[:-1]]
    return float(np.maximum(np.abs(s - fitted), np.abs(before - fitted))[keep].max())


# ----------------------------------------------------------------------------- the fit


def fit_patience(waits: np.ndarray, abandoned: np.ndarray, seed: int = 0, max_fit: int = MAX_FIT,
                 zero_wait: float = 1.0) -> PatienceFit | None:
    """Patience from waits (seconds) and whether each customer abandoned (else: answered).

    None (with a Python warning) when there are no usable waits at all; ``dist=None`` when
    nobody abandoned (the scenario's ``patience: none``).
    """
    w = np.asarray(waits, dtype=float)
    ab = np.asarray(abandoned, dtype=bool)
    ok = np.isfinite(w) & (w >= 0)
    warn: list[str] = []
    notes: list[str] = []
    if (~ok).any():
        warn.append(f"excluded {int((~ok).sum()):,} waits that were negative or missing")
    w, ab = w[ok], ab[ok]
    n = int(w.size)
    if n == 0:
        warnings.warn("no waits: patience cannot be estimated", stacklevel=2)
        return None
    d = int(ab.sum())
    total = float(w.sum())
    if d == 0:
        notes.append(f"nobody abandoned in {n:,} waits")
        if total > 0:
            notes.append(f"an exponential patience would have a mean of at least {total / -math.log(0.05):,.0f} s "
                         "(one-sided 95%)")
        t, s = _thin(*_kaplan_meier(w, ab))
        return PatienceFit(None, None, None, 0, n, fitted_on=n, km_t=t, km_s=s, notes=tuple(notes),
                           warnings=tuple(warn))
    if d < FEW_EVENTS:
        warn.append(f"only {d} abandon{'s' * (d != 1)}: patience poorly determined")
    ew = w[ab]
    naive = Estimate.normal(float(ew.mean()), float(ew.std(ddof=1) / math.sqrt(d)) if d > 1 else math.nan, d,
                            "abandons", lower=0.0)
    if total <= 0:
        warn.append("every abandon happened at wait 0: patience cannot be estimated beyond 'immediately'")
        mean_e = Estimate(0.0, 0.0, math.nan, n, math.nan, "waits")
        return PatienceFit("exponential", mean_e, None, d, n - d, {"mean": 0.0}, naive_mean=naive,
                           notes=tuple(notes), warnings=tuple(warn))
    exp_mean = total / d
    mean_e = Estimate.log_normal(exp_mean, 1.0 / math.sqrt(d), n, "waits")

    # the AIC contest runs on one (sub)sample so the likelihoods are comparable
    if n > max_fit:
        idx = np.random.default_rng(seed).choice(n, max_fit, replace=False)
        ws, abs_ = w[idx], ab[idx]
    else:
        ws, abs_ = w, ab
    sample = _Sample.of(ws, abs_, zero_wait)
    ds, ns = int(abs_.sum()), int(ws.size)
    m_sub = float(ws.sum()) / max(ds, 1)
    aic = {"exponential": 2.0 - 2.0 * _ll_exponential(m_sub, sample)} if ds else {}
    fits: dict[str, tuple[dict[str, float], Estimate, Estimate | None, int]] = {
        "exponential": ({"mean": exp_mean}, mean_e, None, n)}
    if ds >= MIN_EVENTS_2P:
        for name in ("lognormal", "gamma"):
            ll, params, m, c, fw = _fit_two(name, sample, m_sub, ns)
            warn += fw
            if math.isfinite(ll):
                aic[name] = 4.0 - 2.0 * ll
                fits[name] = (params, m, c, ns)
    elif d >= MIN_EVENTS_2P:
        warn.append(f"only {ds} abandons in the {ns:,}-wait subsample: exponential assumed")
    else:
        warn.append(f"fewer than {MIN_EVENTS_2P} abandons: exponential assumed")
    dist = min(aic, key=aic.__getitem__) if aic else "exponential"
    params, mean, cv, fitted_on = fits[dist]
    if ns < n:
        notes.append(f"families compared by AIC on a random subsample of {ns:,} of {n:,} waits (seed {seed})")
    if fitted_on < n:
        notes.append(f"{dist} fitted on that subsample: its intervals rest on {fitted_on:,} waits")

    km_t_full, km_s_full = _kaplan_meier(w, ab)
    fitted = np.asarray(frozen_law(dist, params).sf(km_t_full))
    gap = _km_gap(km_t_full, km_s_full, np.sort(w), fitted)
    if math.isfinite(gap) and gap > GAP_WARN:
        warn.append(f"fitted {dist} survival departs from Kaplan-Meier by up to {gap:.3f}")
    s_end = float(km_s_full[-1]) if km_s_full.size else 1.0
    if s_end > 0.5:
        warn.append(f"Kaplan-Meier survival is still {s_end:.2f} at the longest wait: the mean patience "
                    f"extrapolates the fitted {dist}")
    t, s = _thin(km_t_full, km_s_full)
    return PatienceFit(dist, mean, cv, d, n - d, params, aic, fitted_on, naive, t, s,
                       None if math.isnan(gap) else gap, tuple(notes), tuple(warn))


def fit_patience_by_channel(log: pd.DataFrame, seed: int = 0) -> dict[str, PatienceFit]:
    """One fit per channel over answered and abandoned rows with a wait (others carry no
    information on patience). Empty when the log has no ``outcome`` or ``wait_s``; rows without
    a channel are ignored (the reader gives every row one)."""
    if not {"outcome", "wait_s", "channel"} <= set(log.columns):
        return {}
    wait = log["wait_s"].to_numpy(dtype=float, na_value=np.nan)
    outcome = log["outcome"].to_numpy(dtype=object)
    is_ab = outcome == "abandoned"
    mask = (is_ab | (outcome == "answered")) & np.isfinite(wait)
    codes, names = pd.factorize(log["channel"].to_numpy(dtype=object)[mask], sort=True)
    w, ab = wait[mask], is_ab[mask]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    out: dict[str, PatienceFit] = {}
    for c, name in enumerate(names):
        idx = order[bounds[c]:bounds[c + 1]]
        fit = fit_patience(w[idx], ab[idx], seed=seed)
        if fit is not None:
            out[str(name)] = fit
    return out


__all__ = ["PatienceFit", "fit_patience", "fit_patience_by_channel", "patience_survival", "scenario_patience"]
