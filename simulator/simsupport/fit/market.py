"""How contacts follow the market: one elasticity or one per channel, and how the category mix
shifts with volatility (`volatility_weight`), on the replay's own volatility definitions.

The simulator draws a contact's category with probability share_k * weight_k ** log2(vol/calm),
renormalised: a multinomial logit in x = log2(vol/calm) with intercepts log share_k and slopes
log weight_k. It is fitted from every contact's category and the volatility at its arrival
(contacts are grouped on x rounded to 0.01, far finer than the estimates' uncertainty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..market.drive import recorded_volatility
from .estimate import Z95, Estimate

HETEROGENEITY_P = 0.01  # channels get their own elasticity below this p-value


def log2_ratio_at(epoch: np.ndarray, price_epoch: np.ndarray, prices: np.ndarray, step: float = 60.0,
                  window: float = 3600.0) -> np.ndarray:
    """log2(vol / calm) at each time, as the replay computes it (NaN outside the recording)."""
    times = np.asarray(price_epoch, dtype=float) - float(price_epoch[0])
    _, vol, calm = recorded_volatility(times, np.asarray(prices, dtype=float), step, window)
    k = np.floor((np.asarray(epoch, dtype=float) - float(price_epoch[0])) / step).astype(np.int64)
    out = np.full(len(k), np.nan)
    ok = (k >= 0) & (k < len(vol))
    out[ok] = np.log2(np.maximum(vol[k[ok]] / calm, 1e-12))
    return out


@dataclass(frozen=True)
class ElasticityChoice:
    """What the scenario says: one number, or one per channel when they differ."""

    pooled: Estimate
    per_channel: dict[str, Estimate]
    differ: bool
    p_value: float

    def value(self) -> float | dict[str, float]:
        if self.differ:
            return {ch: round(e.value, 3) for ch, e in self.per_channel.items()}
        return round(self.pooled.value, 3)


def choose_elasticity(per_channel: dict[str, Estimate]) -> ElasticityChoice:
    """Inverse-variance pooled elasticity, kept per channel only where a chi-square test of
    homogeneity rejects one common value (p < 0.01)."""
    usable = {c: e for c, e in per_channel.items() if math.isfinite(e.se) and e.se > 0}
    if not usable:
        first = next(iter(per_channel.values()))
        return ElasticityChoice(first, per_channel, False, math.nan)
    w = np.array([1 / e.se**2 for e in usable.values()])
    v = np.array([e.value for e in usable.values()])
    mean = float((w * v).sum() / w.sum())
    se = float(1 / math.sqrt(w.sum()))
    q = float((w * (v - mean) ** 2).sum())
    p = float(stats.chi2.sf(q, len(v) - 1)) if len(v) > 1 else 1.0
    n = max(e.n for e in usable.values())
    pooled = Estimate.normal(mean, se, n, "days")
    return ElasticityChoice(pooled, per_channel, p < HETEROGENEITY_P, p)


@dataclass(frozen=True)
class MixFit:
    """Category shares at calm volatility and their volatility weights (reference weight 1)."""

    shares: dict[str, Estimate]
    weights: dict[str, Estimate]
    reference: str
    n: int


def fit_mix(categories: np.ndarray, x: np.ndarray, iters: int = 50) -> MixFit | None:
    """Multinomial logit of category on x = log2(vol/calm) by Newton's method."""
    ok = np.isfinite(x) & (categories != None)  # noqa: E711 (object arrays)
    cats, code = np.unique(categories[ok].astype(str), return_inverse=True)
    k = len(cats)
    if k < 2 or ok.sum() < 10:
        return None
    xr = np.round(x[ok], 2)
    ux, xi = np.unique(xr, return_inverse=True)
    n_jk = np.zeros((len(ux), k))
    np.add.at(n_jk, (xi, code), 1.0)
    n_j = n_jk.sum(axis=1)
    ref = int(np.argmax(n_jk.sum(axis=0)))
    free = [c for c in range(k) if c != ref]
    m = len(free)
    theta = np.zeros(2 * m)  # alpha (m) then beta (m)
    tot = n_jk.sum(axis=0)
    theta[:m] = np.log(np.maximum(tot[free], 0.5) / tot[ref])

    def probs(theta: np.ndarray) -> np.ndarray:
        eta = np.zeros((len(ux), k))
        eta[:, free] = theta[:m][None, :] + theta[m:][None, :] * ux[:, None]
        eta -= eta.max(axis=1, keepdims=True)
        p = np.exp(eta)
        return p / p.sum(axis=1, keepdims=True)

    def info(p: np.ndarray) -> np.ndarray:
        pf = p[:, free]
        cov = -np.einsum("ja,jb->jab", pf, pf)
        idx = np.arange(m)
        cov[:, idx, idx] += pf
        cov *= n_j[:, None, None]
        h = np.zeros((2 * m, 2 * m))
        h[:m, :m] = cov.sum(axis=0)
        h[:m, m:] = h[m:, :m] = np.einsum("jab,j->ab", cov, ux)
        h[m:, m:] = np.einsum("jab,j->ab", cov, ux * ux)
        return h

    for _ in range(iters):
        p = probs(theta)
        resid = n_jk[:, free] - n_j[:, None] * p[:, free]
        grad = np.concatenate([resid.sum(axis=0), (resid * ux[:, None]).sum(axis=0)])
        step = np.linalg.solve(info(p) + 1e-9 * np.eye(2 * m), grad)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    cov = np.linalg.pinv(info(probs(theta)))
    n = int(ok.sum())
    alpha = np.zeros(k)
    alpha[free] = theta[:m]
    calm = np.exp(alpha - alpha.max())
    calm /= calm.sum()
    # shares at calm: p = softmax(alpha); d p_c / d alpha_f = p_c (1[c=f] - p_f)
    jac = np.zeros((k, m))
    for c in range(k):
        for j, f in enumerate(free):
            jac[c, j] = calm[c] * ((1.0 if c == f else 0.0) - calm[f])
    share_se = np.sqrt(np.maximum(np.einsum("ca,ab,cb->c", jac, cov[:m, :m], jac), 0.0))
    shares = {str(cats[c]): Estimate.normal(float(calm[c]), float(share_se[c]), n, "contacts", 0.0, 1.0) for c in range(k)}
    weights = {str(cats[ref]): Estimate(1.0, 1.0, 1.0, n, 0.0, "contacts")}
    for j, f in enumerate(free):
        b, se = float(theta[m + j]), math.sqrt(max(float(cov[m + j, m + j]), 0.0))
        weights[str(cats[f])] = Estimate(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), n, math.exp(b) * se,
                                         "contacts")
    return MixFit(shares, weights, str(cats[ref]), n)
