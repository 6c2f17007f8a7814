"""Handle-time distributions from answered tickets: which family, its mean and cv, and how much
longer a category takes on each channel.

Every family is fitted by maximum likelihood in closed form (exponential, lognormal) or by a
short Newton iteration on the shape (gamma), so a million tickets cost milliseconds. The family
is chosen by AIC. Intervals come from the Fisher information of the chosen family at the MLE
(parametric, so they assume the family is right; the KS p-value says whether it is):

* exponential: the exact chi-square interval for the mean (2 n mean_hat / mean ~ chi2(2n));
* lognormal:   var(log mean) = s2/n + s2^2/(2n), cv by the delta method on sigma;
* gamma:       the mean is the sample mean, var(log mean) = cv^2/n; var(shape) from the
               (mean, shape) information, which is diagonal, then cv = shape^-1/2 by the delta method.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from simsupport.fit.estimate import Z95, Estimate

FAMILIES = ("exponential", "lognormal", "gamma")
KS_MAX = 5000  # KS on a fixed-seed subsample above this: with huge n every tiny misfit is "significant"
FEW = 50  # below this many times the family choice is weak
POOR_FIT_P = 0.01
MIN_EFFECT = 0.05  # a channel multiplier within 5% of 1 is not worth a line in the scenario
GENERAL = "general"


@dataclass(frozen=True)
class HandleFit:
    """The chosen handle-time family with its mean and cv (None for the exponential)."""

    dist: str | None  # "exponential" | "lognormal" | "gamma", None when it could not be fitted
    mean: Estimate | None  # seconds
    cv: Estimate | None
    n: int  # positive handle times fitted
    aic: Mapping[str, float] = field(default_factory=dict)  # every family tried
    params: Mapping[str, float] = field(default_factory=dict)  # mu/sigma, shape/scale, or mean
    ks_p: float | None = None  # Kolmogorov-Smirnov vs the fitted law (optimistic: parameters estimated)
    ks_n: int = 0  # times the KS test used (a fixed-seed subsample above KS_MAX)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryHandle:
    """A category's base handle time (on its reference channel) and the channel multipliers.

    The scenario multiplies the category's handle time by ``by_channel[ch]``; the reference
    channel (most answered tickets of the category) has multiplier 1 and is never listed.
    ``by_channel`` keeps only multipliers whose CI excludes 1 and which differ from 1 by more
    than 5%; ``multipliers_all`` has every channel (reference included) for the estimates table.
    """

    category: str
    fit: HandleFit  # fitted on the times divided by their kept channel multiplier
    reference_channel: str | None
    by_channel: Mapping[str, Estimate]
    multipliers_all: Mapping[str, Estimate]
    n: int
    n_by_channel: Mapping[str, int]
    warnings: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- one sample


def _gamma_shape(s: float) -> float:
    """Solve log k - digamma(k) = s (s = log mean - mean log > 0), Newton in log k from Minka's start."""
    k = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    for _ in range(50):
        f = math.log(k) - float(special.digamma(k)) - s
        df = 1.0 - k * float(special.polygamma(1, k))  # d f / d log k
        step = f / df
        k *= math.exp(-max(-2.0, min(2.0, step)))
        if abs(step) < 1e-12:
            break
    return k


def _exponential(total: float, n: int) -> tuple[float, Estimate]:
    m = total / n
    ll = -n * math.log(m) - n
    lo = 2.0 * total / float(stats.chi2.ppf(0.975, 2 * n))
    hi = 2.0 * total / float(stats.chi2.ppf(0.025, 2 * n))
    return ll, Estimate(m, lo, hi, n, m / math.sqrt(n))


def _lognormal(n: int, sum_log: float, s2: float) -> tuple[float, dict[str, float], Estimate, Estimate]:
    mu = sum_log / n
    sigma = math.sqrt(s2)
    ll = -sum_log - n * math.log(sigma) - 0.5 * n * math.log(2 * math.pi) - 0.5 * n
    mean = math.exp(mu + s2 / 2)
    cv = math.sqrt(math.expm1(s2))
    se_log_mean = math.sqrt(s2 / n + s2 * s2 / (2 * n))
    se_sigma = sigma / math.sqrt(2 * n)
    se_log_cv = se_sigma * sigma * math.exp(s2) / (cv * cv)  # d log cv / d sigma = sigma e^s2 / cv^2
    return ll, {"mu": mu, "sigma": sigma}, Estimate.log_normal(mean, se_log_mean, n), Estimate.log_normal(cv, se_log_cv, n)


def _gamma(n: int, total: float, sum_log: float) -> tuple[float, dict[str, float], Estimate, Estimate]:
    m = total / n
    s = math.log(m) - sum_log / n
    k = _gamma_shape(s)
    theta = m / k
    ll = (k - 1) * sum_log - total / theta - n * k * math.log(theta) - n * float(special.gammaln(k))
    cv = 1.0 / math.sqrt(k)
    info_k = n * (float(special.polygamma(1, k)) - 1.0 / k)
    se_log_k = 1.0 / (k * math.sqrt(info_k)) if info_k > 0 else math.nan
    return (ll, {"shape": k, "scale": theta}, Estimate.log_normal(m, cv / math.sqrt(n), n),
            Estimate.log_normal(cv, 0.5 * se_log_k, n))


def frozen_law(dist: str, params: Mapping[str, float]) -> stats.rv_continuous:
    """The scipy distribution behind a fit (for KS, plots and survival checks)."""
    if dist == "exponential":
        return stats.expon(scale=params["mean"])
    if dist == "lognormal":
        return stats.lognorm(params["sigma"], scale=math.exp(params["mu"]))
    if dist == "gamma":
        return stats.gamma(params["shape"], scale=params["scale"])
    raise ValueError(f"unknown distribution {dist!r}")


def fit_handle(times: np.ndarray, seed: int = 0) -> HandleFit:
    """Fit exponential, lognormal and gamma by ML, keep the lowest AIC (k = 1, 2, 2).

    Times of 0 or NaN are dropped (a zero handle time is a logging artefact, not a service).
    The KS p-value uses a fixed-seed subsample of 5000 when there are more times, so it keeps
    meaning something; it is optimistic because the parameters came from the same data.
    """
    x = np.asarray(times, dtype=float)
    ok = np.isfinite(x) & (x > 0)
    warn: list[str] = []
    dropped = int(x.size - ok.sum())
    if dropped:
        warn.append(f"excluded {dropped:,} handle times that were 0, negative or missing")
    x = x[ok]
    n = int(x.size)
    if n < 2:
        warn.append(f"only {n} positive handle time{'s' * (n != 1)}: no distribution fitted")
        return HandleFit(None, None, None, n, warnings=tuple(warn))
    if n < FEW:
        warn.append(f"only {n} handle times: the distribution is poorly determined")
    total = float(x.sum())
    logs = np.log(x)
    sum_log = float(logs.sum())
    s2 = float(logs.var())
    ll_e, mean_e = _exponential(total, n)
    aic = {"exponential": 2.0 - 2.0 * ll_e}
    fits: dict[str, tuple[Mapping[str, float], Estimate, Estimate | None]] = {
        "exponential": ({"mean": mean_e.value}, mean_e, None)}
    if s2 > 1e-12 * max(1.0, abs(sum_log / n)):
        ll_l, p_l, m_l, c_l = _lognormal(n, sum_log, s2)
        ll_g, p_g, m_g, c_g = _gamma(n, total, sum_log)
        aic["lognormal"] = 4.0 - 2.0 * ll_l
        aic["gamma"] = 4.0 - 2.0 * ll_g
        fits["lognormal"] = (p_l, m_l, c_l)
        fits["gamma"] = (p_g, m_g, c_g)
    else:
        warn.append(f"all {n:,} handle times are equal ({x[0]:.4g} s): only the exponential was tried")
    dist = min(aic, key=aic.__getitem__)
    params, mean, cv = fits[dist]
    sample = x
    if n > KS_MAX:
        sample = np.random.default_rng(seed).choice(x, KS_MAX, replace=False)
    ks_p = float(stats.kstest(sample, frozen_law(dist, params).cdf).pvalue)
    if ks_p < POOR_FIT_P:
        warn.append(f"poor fit: KS p={ks_p:.3g} for the {dist} on {sample.size:,} handle times")
    return HandleFit(dist, mean, cv, n, aic, dict(params), ks_p, int(sample.size), tuple(warn))


def scenario_distribution(fit: HandleFit) -> dict[str, str | float]:
    """The fit as a scenario distribution, mean in seconds: {"dist": "gamma", "mean": 412.0, "cv": 0.7}."""
    if fit.dist is None or fit.mean is None:
        raise ValueError("no handle-time distribution was fitted: " + "; ".join(fit.warnings))
    out: dict[str, str | float] = {"dist": fit.dist, "mean": float(fit.mean.value)}
    if fit.cv is not None:
        out["cv"] = float(fit.cv.value)
    return out


# ----------------------------------------------------------------------------- by category


def _ratio(m1: float, v1: float, n1: int, m0: float, v0: float, n0: int) -> Estimate:
    """m1/m0 with a delta-method interval on the log scale: var log(m) ~ var(x) / (n m^2)."""
    r = m1 / m0
    se_log = math.sqrt(v1 / (n1 * m1 * m1) + v0 / (n0 * m0 * m0)) if n1 > 1 and n0 > 1 else math.nan
    return Estimate.log_normal(r, se_log, n1 + n0)


def _keep(e: Estimate) -> bool:
    """Significant (CI excludes 1) and worth writing (more than 5% away from 1)."""
    return math.isfinite(e.lo) and (e.lo > 1.0 or e.hi < 1.0) and abs(e.value - 1.0) > MIN_EFFECT


def _widen_for_multipliers(fit: HandleFit, n_ref: int, n_kept: int) -> HandleFit:
    """The base mean's interval once some channels were divided by their estimated multiplier.

    A kept channel's normalised times have the reference channel's sample mean by construction,
    so they add nothing about the scale: var(pooled mean) = sigma^2 ((n_ref + n_kept)^2 / n_ref
    + n_other) / N^2 instead of sigma^2 / N. The cv keeps its interval (shape uses every time).
    """
    assert fit.mean is not None
    n = fit.n
    inflate = ((n_ref + n_kept) ** 2 / n_ref + (n - n_ref - n_kept)) / n
    m = fit.mean
    se_log = math.log(m.hi / m.lo) / (2 * Z95) if m.lo > 0 else math.nan
    return dataclasses.replace(fit, mean=Estimate.log_normal(m.value, se_log * math.sqrt(inflate), n))


def answered_handle_rows(log: pd.DataFrame) -> tuple[pd.Series, pd.Series, np.ndarray, int]:
    """(category, channel, handle seconds, rows with missing category) of the answered tickets."""
    if "handle_s" not in log.columns:
        raise ValueError("the log has no handle_s column: handle times cannot be fitted")
    mask = np.isfinite(log["handle_s"].to_numpy(dtype=float, na_value=np.nan))
    if "outcome" in log.columns:
        mask &= (log["outcome"] == "answered").to_numpy()
    rows = log.loc[mask]
    if "category" in rows.columns:
        cat = rows["category"]
        missing = int(cat.isna().sum())
        cat = cat.astype(object).where(cat.notna(), GENERAL)
    else:
        cat, missing = pd.Series(GENERAL, index=rows.index), 0
    channel = rows["channel"].astype(object).fillna("unknown") if "channel" in rows.columns else \
        pd.Series("all", index=rows.index)
    return cat, channel, rows["handle_s"].to_numpy(dtype=float, na_value=np.nan), missing


def fit_handle_by_category(log: pd.DataFrame, seed: int = 0) -> dict[str, CategoryHandle]:
    """Per category: channel multipliers (ratio of channel mean to the reference channel's mean,
    within the category, so the category mix of a channel cannot confound them), then the base
    distribution on the times divided by the multipliers the scenario will actually use.

    No category column -> one category ``general``; rows with a missing category are counted
    under ``general`` too (with a warning).
    """
    cat, channel, h, missing = answered_handle_rows(log)
    if h.size == 0:
        return {}
    good = h > 0
    cat_codes, cat_names = pd.factorize(cat.to_numpy(), sort=True)
    ch_codes, ch_names = pd.factorize(channel.to_numpy(), sort=True)
    n_cat, n_ch = len(cat_names), len(ch_names)
    key = cat_codes.astype(np.int64) * max(n_ch, 1) + ch_codes
    kg, hg = key[good], h[good]
    size = n_cat * max(n_ch, 1)
    cnt = np.bincount(kg, minlength=size).reshape(n_cat, -1)
    s1 = np.bincount(kg, weights=hg, minlength=size).reshape(n_cat, -1)
    s2 = np.bincount(kg, weights=hg * hg, minlength=size).reshape(n_cat, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = s1 / cnt
        var = (s2 - cnt * means * means) / (cnt - 1)
    # rows sorted by category once, so each category's times are a slice
    order = np.argsort(cat_codes, kind="stable")
    bounds = np.searchsorted(cat_codes[order], np.arange(n_cat + 1))
    out: dict[str, CategoryHandle] = {}
    for c, name in enumerate(cat_names):
        warn: list[str] = []
        if name == GENERAL and missing:
            warn.append(f"{missing:,} answered tickets without a category counted under {GENERAL!r}")
        idx = order[bounds[c]:bounds[c + 1]]
        counts = cnt[c]
        ref = int(np.argmax(counts)) if counts.sum() else None
        all_m: dict[str, Estimate] = {}
        kept: dict[str, Estimate] = {}
        n_kept = 0
        factor = np.ones(max(n_ch, 1))
        if ref is not None:
            for j in np.flatnonzero(counts):
                if j == ref:
                    e = Estimate(1.0, 1.0, 1.0, int(counts[j]), 0.0)
                else:
                    e = _ratio(means[c, j], var[c, j], int(counts[j]), means[c, ref], var[c, ref], int(counts[ref]))
                all_m[str(ch_names[j])] = e
                if j != ref and _keep(e):
                    kept[str(ch_names[j])] = e
                    factor[j] = e.value
                    n_kept += int(counts[j])
        times = h[idx] / factor[ch_codes[idx]]
        fit = fit_handle(times, seed=seed)
        if kept and fit.mean is not None and ref is not None:
            fit = _widen_for_multipliers(fit, int(counts[ref]), n_kept)
        out[str(name)] = CategoryHandle(
            str(name), fit, None if ref is None else str(ch_names[ref]), kept, all_m, fit.n,
            {str(ch_names[j]): int(counts[j]) for j in np.flatnonzero(counts)}, tuple(warn))
    return out


__all__ = ["CategoryHandle", "HandleFit", "answered_handle_rows", "fit_handle", "fit_handle_by_category",
           "frozen_law", "scenario_distribution"]
