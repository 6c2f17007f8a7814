"""The `simsupport fit` estimators (fit.service, fit.patience, fit.shares) against known truth.

Every sample is simulated with a fixed seed from a known law; an estimate passes when it lies
within 4 of its own standard errors of the truth (or, for shares, inside its Wilson interval),
so no tolerance is hand-tuned (and many intervals checked together must cover the truth as
often as 95% intervals do). The 1,000,000-row run is in the `validation` tier.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simsupport.fit.estimate import Estimate
from simsupport.fit.patience import (
    fit_patience,
    fit_patience_by_channel,
    scenario_patience,
)
from simsupport.fit.service import (
    fit_handle,
    fit_handle_by_category,
    scenario_distribution,
)
from simsupport.fit.shares import (
    category_shares,
    deflection,
    escalation,
    language_shares,
    retry_fit,
    retry_probability,
    retry_probability_by_channel,
    vip_share,
)

K = 4.0  # standard errors


def lognormal(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    s2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)


def gamma(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    return rng.gamma(1 / cv**2, mean * cv**2, n)


def near(e: Estimate | None, truth: float, k: float = K) -> bool:
    assert e is not None and math.isfinite(e.se) and e.se > 0
    return abs(e.value - truth) < k * e.se


def covers(e: Estimate | None, truth: float) -> bool:
    assert e is not None
    return e.lo <= truth <= e.hi


def all_match(pairs: list[tuple[Estimate | None, float]]) -> None:
    """Many proportions against their truths: each within 4 se, and the 95% Wilson intervals
    cover the truth as often as 95% intervals should (a 0.1% binomial lower bound), so the check
    holds for any seed rather than for a lucky one."""
    assert all(near(e, truth) for e, truth in pairs)
    hits = sum(covers(e, truth) for e, truth in pairs)
    assert hits >= stats.binom.ppf(0.001, len(pairs), 0.95)


# ----------------------------------------------------------------------------- 1-2 patience


def censored(patience: np.ndarray, rng: np.random.Generator, service_mean: float = 200.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Observed wait = min(patience, time an agent would take); abandoned when patience ran out first."""
    start = rng.exponential(service_mean, patience.size)
    return np.minimum(patience, start), patience < start


def test_censored_patience_recovers_exponential_mean_and_naive_mean_is_wrong() -> None:
    rng = np.random.default_rng(11)
    waits, ab = censored(rng.exponential(300.0, 4000), rng)
    fit = fit_patience(waits, ab)
    assert fit is not None and fit.dist in ("exponential", "gamma")
    assert near(fit.mean, 300.0) and covers(fit.mean, 300.0)
    assert fit.n_abandoned == int(ab.sum()) and fit.n_answered == int((~ab).sum())
    # abandoned customers' waits are min(patience, start) given patience first: mean 1/(1/300 + 1/200)
    assert near(fit.naive_mean, 120.0)
    assert fit.naive_mean is not None and fit.naive_mean.value < 300.0 * 2 / 3
    assert fit.km_gap is not None and fit.km_gap < 0.05 and fit.warnings == ()
    assert fit.km_t.size <= 400 and fit.km_s[0] == 1.0 and np.all(np.diff(fit.km_s) <= 0)
    assert np.allclose(fit.survival(np.array([0.0, 300.0])), [1.0, math.exp(-1)], atol=0.05)


def test_censored_exponential_interval_is_log_wald_on_the_abandons() -> None:
    rng = np.random.default_rng(12)
    waits, ab = censored(rng.exponential(300.0, 2000), rng)
    fit = fit_patience(waits, ab)
    assert fit is not None
    mean = waits.sum() / ab.sum()
    fit_e = fit if fit.dist == "exponential" else None
    if fit_e is not None:
        assert fit_e.mean is not None and fit_e.mean.value == pytest.approx(mean)
        assert fit_e.mean.se == pytest.approx(mean / math.sqrt(ab.sum()))


def test_censored_patience_lognormal_chosen_by_aic() -> None:
    rng = np.random.default_rng(13)
    waits, ab = censored(lognormal(rng, 240.0, 1.2, 4000), rng)
    fit = fit_patience(waits, ab)
    assert fit is not None and fit.dist == "lognormal"
    assert fit.aic["lognormal"] < min(fit.aic["exponential"], fit.aic["gamma"])
    assert near(fit.mean, 240.0) and covers(fit.mean, 240.0)
    assert near(fit.cv, 1.2)
    out = scenario_patience(fit)
    assert isinstance(out, dict) and out["dist"] == "lognormal" and out["mean"] == pytest.approx(fit.mean.value)


def test_censored_mle_agrees_with_scipy_censoreddata() -> None:
    """Our own censored likelihood (needed for the Hessian) gives scipy's MLE."""
    rng = np.random.default_rng(14)
    waits, ab = censored(lognormal(rng, 240.0, 1.2, 3000), rng)
    fit = fit_patience(waits, ab)
    assert fit is not None and fit.dist == "lognormal"
    data = stats.CensoredData(uncensored=waits[ab], right=waits[~ab])
    sigma, _, scale = stats.lognorm.fit(data, floc=0)
    assert fit.params["sigma"] == pytest.approx(sigma, rel=1e-3)
    assert math.exp(fit.params["mu"]) == pytest.approx(scale, rel=1e-3)


def test_zero_waits_of_abandoned_customers_are_legal() -> None:
    rng = np.random.default_rng(15)
    waits, ab = censored(gamma(rng, 240.0, 0.6, 3000), rng)
    waits[:50], ab[:50] = 0.0, True  # left at once
    fit = fit_patience(waits, ab)
    assert fit is not None and fit.mean is not None and math.isfinite(fit.mean.value)
    assert fit.n_abandoned == int(ab.sum())


def test_nobody_abandons_means_patience_none() -> None:
    rng = np.random.default_rng(16)
    fit = fit_patience(rng.exponential(60.0, 500), np.zeros(500, dtype=bool))
    assert fit is not None and fit.dist is None and fit.mean is None
    assert scenario_patience(fit) == "none"
    assert any("nobody abandoned in 500 waits" in note for note in fit.notes)
    assert np.all(fit.survival(np.array([1.0, 1e6])) == 1.0)


def test_no_waits_gives_none_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="no waits"):
        assert fit_patience(np.array([]), np.array([], dtype=bool)) is None


def test_few_abandons_are_flagged() -> None:
    rng = np.random.default_rng(17)
    waits = rng.exponential(60.0, 300)
    ab = np.zeros(300, dtype=bool)
    ab[:8] = True
    fit = fit_patience(waits, ab)
    assert fit is not None and fit.dist == "exponential"
    assert any("only 8 abandons" in w for w in fit.warnings)


def test_patience_by_channel_uses_answered_and_abandoned_only() -> None:
    rng = np.random.default_rng(18)
    n = 6000
    channel = rng.choice(["chat", "phone"], n)
    patience = np.where(channel == "chat", rng.exponential(120.0, n), rng.exponential(400.0, n))
    waits, ab = censored(patience, rng)
    outcome = np.where(ab, "abandoned", "answered").astype(object)
    outcome[:300] = "deflected"  # no information: must be ignored even with a wait
    log = pd.DataFrame({"channel": channel, "outcome": outcome, "wait_s": waits})
    fits = fit_patience_by_channel(log)
    assert set(fits) == {"chat", "phone"}
    assert near(fits["chat"].mean, 120.0) and near(fits["phone"].mean, 400.0)
    keep = outcome != "deflected"
    assert fits["chat"].n_abandoned + fits["phone"].n_abandoned == int((ab & keep).sum())
    assert fit_patience_by_channel(log.drop(columns="outcome")) == {}


# ----------------------------------------------------------------------------- 3 handle times


@pytest.mark.parametrize(
    ("family", "draw", "mean", "cv"),
    [("lognormal", lognormal, 540.0, 0.8), ("gamma", gamma, 420.0, 0.7), ("exponential", None, 360.0, 1.0)],
)
def test_handle_family_and_parameters(family: str, draw: object, mean: float, cv: float) -> None:
    rng = np.random.default_rng(21)
    x = rng.exponential(mean, 5000) if draw is None else draw(rng, mean, cv, 5000)  # type: ignore[operator]
    fit = fit_handle(x)
    assert fit.dist == family and fit.n == 5000
    assert near(fit.mean, mean) and covers(fit.mean, mean)
    if family == "exponential":
        assert fit.cv is None
        assert set(scenario_distribution(fit)) == {"dist", "mean"}
    else:
        assert near(fit.cv, cv)
        assert scenario_distribution(fit) == {"dist": family, "mean": fit.mean.value, "cv": fit.cv.value}
    assert set(fit.aic) == {"exponential", "lognormal", "gamma"}
    assert fit.ks_p is not None and fit.ks_p > 0.01 and fit.warnings == ()


def test_handle_mean_interval_covers_95_percent() -> None:
    reps, n, truth = 200, 200, 360.0
    rng = np.random.default_rng(22)
    hits = 0
    for _ in range(reps):
        fit = fit_handle(rng.exponential(truth, n))
        assert fit.mean is not None
        # coverage of the exponential's exact interval, whichever family AIC picked this time
        total = fit.mean.value * n
        lo, hi = 2 * total / stats.chi2.ppf(0.975, 2 * n), 2 * total / stats.chi2.ppf(0.025, 2 * n)
        if fit.dist == "exponential":
            assert (fit.mean.lo, fit.mean.hi) == pytest.approx((lo, hi))
        hits += lo <= truth <= hi
    lo_ok = stats.binom.ppf(0.001, reps, 0.95)
    hi_ok = stats.binom.isf(0.001, reps, 0.95)
    assert lo_ok <= hits <= hi_ok


def test_handle_edge_cases() -> None:
    fit = fit_handle(np.array([5.0, np.nan, 0.0]))
    assert fit.dist is None and fit.mean is None
    assert any("only 1 positive handle time" in w for w in fit.warnings)
    with pytest.raises(ValueError, match="no handle-time"):
        scenario_distribution(fit)
    rng = np.random.default_rng(23)
    fit = fit_handle(np.r_[rng.exponential(300.0, 12), 0.0, np.nan])
    assert fit.n == 12 and any("only 12 handle times" in w for w in fit.warnings)
    assert any("excluded 2 handle times" in w for w in fit.warnings)
    assert fit_handle(np.full(20, 60.0)).dist == "exponential"


def test_poor_fit_is_flagged_and_ks_uses_a_subsample() -> None:
    rng = np.random.default_rng(24)
    x = np.r_[rng.normal(100.0, 5.0, 10000), rng.normal(900.0, 5.0, 10000)]  # bimodal
    fit = fit_handle(x)
    assert fit.ks_n == 5000 and fit.ks_p is not None and fit.ks_p < 0.01
    assert any(w.startswith("poor fit: KS p=") for w in fit.warnings)


# ----------------------------------------------------------------------------- 4 channel multipliers


def test_channel_multiplier_kept_when_real_and_dropped_at_one() -> None:
    rng = np.random.default_rng(31)
    n = 20_000  # phone's multiplier se ~ 0.01: a 5% effect is 5 se away
    channel = rng.choice(["chat", "email", "phone"], n, p=[0.5, 0.25, 0.25])
    factor = np.select([channel == "email"], [1.3], 1.0)
    handle = lognormal(rng, 300.0, 0.8, n) * factor
    log = pd.DataFrame({"channel": channel, "category": "billing", "outcome": "answered", "handle_s": handle})
    fits = fit_handle_by_category(log)
    b = fits["billing"]
    assert b.reference_channel == "chat"
    assert set(b.by_channel) == {"email"} and near(b.by_channel["email"], 1.3)
    assert set(b.multipliers_all) == {"chat", "email", "phone"} and b.multipliers_all["chat"].value == 1.0
    assert near(b.multipliers_all["phone"], 1.0)
    # the base law is the reference channel's: email times were divided by their multiplier
    assert b.fit.dist == "lognormal" and near(b.fit.mean, 300.0) and near(b.fit.cv, 0.8)


def test_handle_categories_general_and_missing() -> None:
    rng = np.random.default_rng(32)
    n = 2000
    cat = rng.choice(np.array(["a", "b", None], dtype=object), n, p=[0.45, 0.45, 0.1])
    handle = np.where(cat == "a", rng.exponential(200.0, n), rng.exponential(500.0, n))
    outcome = np.where(rng.random(n) < 0.9, "answered", "abandoned")
    log = pd.DataFrame({"channel": "chat", "category": cat, "outcome": outcome,
                        "handle_s": np.where(outcome == "answered", handle, np.nan)})
    fits = fit_handle_by_category(log)
    assert set(fits) == {"a", "b", "general"}
    assert any("without a category" in w for w in fits["general"].warnings)
    assert near(fits["a"].fit.mean, 200.0) and near(fits["b"].fit.mean, 500.0)
    only = fit_handle_by_category(log.drop(columns="category"))
    assert set(only) == {"general"} and only["general"].n == int((outcome == "answered").sum())


# ----------------------------------------------------------------------------- 5 shares and probabilities


TRUTH = {
    "channels": [0.62, 0.35, 0.03],  # chat, email, phone
    # phone's mix is different; chat and email differ from the overall mix by 0.9 points (< 2)
    "mix": {"chat": [0.5, 0.3, 0.2], "email": [0.5, 0.3, 0.2], "phone": [0.2, 0.3, 0.5]},
    "deflect": {"billing": 0.30, "tech": 0.10, "account": 0.20},  # on chat only
    "escalate": {"billing": 0.05, "tech": 0.25, "account": 0.10},
    "tiers": {"t2": 0.7, "t3": 0.3},
    "retry": 0.35,
    "vip": 0.08,
}
CATS = ["billing", "tech", "account"]


def synthetic_log(n: int, seed: int) -> pd.DataFrame:
    """First contacts from a known truth, plus retry generations until nobody retries."""
    rng = np.random.default_rng(seed)
    channels = np.array(["chat", "email", "phone"])
    ch = rng.choice(3, n, p=TRUTH["channels"])
    cat = np.empty(n, dtype=np.int64)
    for i, name in enumerate(channels):
        sel = ch == i
        cat[sel] = rng.choice(3, int(sel.sum()), p=TRUTH["mix"][name])
    frames = []
    retry = np.zeros(n, dtype=bool)
    while ch.size:
        m = ch.size
        cats = np.array(CATS)[cat]
        p_defl = np.where(ch == 0, np.array([TRUTH["deflect"][c] for c in CATS])[cat], 0.0)
        deflected = rng.random(m) < p_defl
        blocked = ~deflected & (rng.random(m) < 0.02)
        patience = rng.exponential(np.array([180.0, 3000.0, 300.0])[ch])
        start = rng.exponential(120.0, m)
        queued = ~deflected & ~blocked
        abandoned = queued & (patience < start)
        answered = queued & ~abandoned
        outcome = np.select([deflected, blocked, abandoned], ["deflected", "blocked", "abandoned"], "answered")
        wait = np.where(queued, np.minimum(patience, start), np.nan)
        mult = np.array([1.0, 1.3, 1.0])[ch]
        handle = np.where(answered, lognormal(rng, 400.0, 0.8, m) * mult, np.nan)
        escalated = answered & (rng.random(m) < np.array([TRUTH["escalate"][c] for c in CATS])[cat])
        to = np.where(escalated, np.where(rng.random(m) < TRUTH["tiers"]["t2"], "t2", "t3"), None)
        frames.append(pd.DataFrame({
            "created_at": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.random(m) * 28 * 86400, "s"),
            "channel": channels[ch], "category": cats, "language": rng.choice(["en", "de"], m, p=[0.7, 0.3]),
            "vip": rng.random(m) < TRUTH["vip"], "outcome": outcome, "wait_s": wait, "handle_s": handle,
            "escalated": escalated, "escalated_to": to, "retry": retry}))
        again = abandoned & (rng.random(m) < TRUTH["retry"])  # the model retries abandons only
        ch, cat = ch[again], cat[again]
        retry = np.ones(ch.size, dtype=bool)
    out = pd.concat(frames, ignore_index=True)
    for name in ("channel", "category", "language", "outcome"):  # as the reader gives them: str or None
        out[name] = pd.Series(out[name].to_numpy(dtype=object), dtype=object)
    return out


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return synthetic_log(60_000, 41)


def test_category_mix_flags_only_the_channel_that_differs(log: pd.DataFrame) -> None:
    weights = np.array(TRUTH["channels"])
    mixes = np.array(list(TRUTH["mix"].values()))
    gap = np.abs(mixes - weights @ mixes).max(axis=1)
    assert gap[0] == gap[1] < 0.01 and gap[2] > 0.2  # the design: only phone differs by more than 2 points
    fit = category_shares(log)
    assert fit.channel_differs == {"chat": False, "email": False, "phone": True}
    all_match([(fit.by_channel[ch][c], p) for ch, shares in TRUTH["mix"].items()
               for c, p in zip(CATS, shares, strict=True)])
    assert sum(e.value for e in fit.overall.values()) == pytest.approx(1.0)
    assert fit.n == int((~log["retry"]).sum()) and fit.n_missing == 0


def test_shares_exclude_missing_and_retries(log: pd.DataFrame) -> None:
    lang = log["language"].astype(object).copy()
    lang.iloc[:100] = None
    fit = language_shares(log.assign(language=lang))
    assert fit is not None and fit.n_missing == int((~log["retry"].iloc[:100]).sum())
    assert near(fit.overall["en"], 0.7) and not any(fit.channel_differs.values())
    assert language_shares(log.drop(columns="language")) is None
    assert set(category_shares(log.drop(columns="category")).overall) == {"general"}
    assert near(vip_share(log), TRUTH["vip"])


def test_deflection_escalation_and_retry_match_truth(log: pd.DataFrame) -> None:
    d = deflection(log)
    assert d is not None and d.channels == ("chat",) and set(d.by_channel) == {"chat"}
    e = escalation(log)
    assert e is not None and e.category_differs["tech"]
    r = retry_probability(log)
    assert r is not None and any("approximation" in w for w in r.warnings)
    by_ch = retry_probability_by_channel(log)
    assert set(by_ch) == {"chat", "email", "phone"}
    all_match([(d.by_category[c], p) for c, p in TRUTH["deflect"].items()]
              + [(e.by_category[c], p) for c, p in TRUTH["escalate"].items()]
              + [(e.destinations[t], p) for t, p in TRUTH["tiers"].items()]
              + [(r, TRUTH["retry"])] + [(est, TRUTH["retry"]) for est in by_ch.values()])
    assert retry_probability(log.drop(columns="retry")) is None
    assert deflection(log[log["outcome"] != "deflected"]) is None


# ----------------------------------------------------------------------------- 6 a big log


@pytest.mark.validation
def test_all_estimators_on_a_million_rows() -> None:
    big = synthetic_log(1_000_000, 42)
    assert len(big) >= 1_000_000
    handle = fit_handle_by_category(big)
    factor = {"chat": 1.0, "email": 1.3, "phone": 1.0}
    for h in handle.values():  # the reference is the channel with most answered tickets of the category
        assert h.reference_channel is not None
        ref = factor[h.reference_channel]
        assert near(h.fit.mean, 400.0 * ref) and near(h.fit.cv, 0.8)
        assert set(h.by_channel) == {ch for ch, f in factor.items() if f != ref}
        assert all(near(m, factor[ch] / ref) for ch, m in h.by_channel.items())
    patience = fit_patience_by_channel(big)
    assert near(patience["chat"].mean, 180.0) and near(patience["phone"].mean, 300.0)
    assert category_shares(big).channel_differs["phone"]
    assert language_shares(big) is not None and vip_share(big) is not None
    assert deflection(big) is not None and escalation(big) is not None
    fit = retry_fit(big)
    assert fit is not None and near(fit.overall, TRUTH["retry"])
