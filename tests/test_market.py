"""The market layer: price and volatility paths, and how they drive the desk's arrivals.

Statistical checks use fixed seeds and tolerances from exact theory (chi-square for Poisson
counts given the intensity, closed-form Hawkes and mixed-Poisson moments, binomial proportions)
or from the spread of independent replications; none is widened to make a run pass.
Arrival-only scenarios use many agents, one-second handle times and no abandonment, so no
queue forms and every arrival is a first attempt.

Tests whose docstring has a "Regression:" paragraph guard a bug that has been fixed; the
paragraph says what used to go wrong.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats

from helpers_sim import build
from simsupport.config.load import scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.errors import ScenarioError
from simsupport.market.drive import Drive, mix_weights
from simsupport.market.paths import DAY, apply_shocks, garch_vol, realised_vol, regime_vol
from simsupport.stats import ReplicationResult, summarize
from simsupport.plan.rates import make_rate
from simsupport.engine import Engine as Desk, simulate
from simsupport.profiles import DAILY_PROFILES, profile_weights
from simsupport.streams import market as market_stream
from simsupport.rng import Streams

Z = 5.0  # standard errors allowed in the statistical checks (two-sided p about 6e-7)

# ------------------------------------------------------------------------------ helpers

ONE_SECOND = {"dist": "deterministic", "value": "1s"}


def scenario_dict(
    market: dict[str, Any] | None,
    *,
    channels: dict[str, Any] | None = None,
    categories: dict[str, Any] | None = None,
    horizon: str = "2d",
    warmup: str = "0min",
    interval: str = "30min",
    seed: int = 11,
    agents: int = 200,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "market-test",
        "horizon": horizon,
        "warmup": warmup,
        "interval": interval,
        "seed": seed,
        "replications": 1,
        "categories": categories or {"work": {"share": 1.0, "handle_time": ONE_SECOND}},
        "channels": channels or {"chat": {"rate": "4/min"}},
        "pools": [{"name": "agents", "agents": agents}],
    }
    if market is not None:
        data["market"] = market
    return data


def scenario(market: dict[str, Any] | None, **kw: Any) -> Scenario:
    return build(scenario_dict(market, **kw))


def tickets(r: ReplicationResult) -> dict[str, np.ndarray]:
    assert r.tickets is not None
    return {k: np.asarray(v) for k, v in r.tickets.items()}


def drive_of(s: Scenario, k: int) -> Drive:
    d = Desk(s, k).drive
    assert d is not None
    return d


def chi2_two_sided_p(x: float, df: int) -> float:
    return 2 * min(stats.chi2.sf(x, df), stats.chi2.cdf(x, df))


REGIMES = {
    "calm": {"daily_vol": 0.02, "mean_duration": "6h"},
    "storm": {"daily_vol": 0.06, "mean_duration": "3h"},
}

# ------------------------------------------------------------------------------ 1. exact arrivals


def _expected_per_step(s: Scenario, drive: Drive, channel: str, n: int) -> np.ndarray:
    """rate x daily profile (local hour) x market multiplier, per grid step, computed here."""
    spec = s.channels[channel]
    step = drive.path.step
    weights = np.asarray(profile_weights(spec.daily_profile, DAILY_PROFILES, "daily"))
    offset = s.start.astimezone(ZoneInfo(spec.timezone)).utcoffset().total_seconds()  # zones without DST
    t = np.arange(n) * step
    hour = (((t + offset) // 3600) % 24).astype(int)
    return spec.rate * weights[hour] * drive.multiplier[channel][:n] * step


ARRIVAL_MARKETS = {
    "regime": {"model": "regime", "regimes": REGIMES},
    "garch": {"model": "garch", "daily_vol": 0.02, "alpha": 0.15, "beta": 0.8},
}


@pytest.mark.parametrize("model", list(ARRIVAL_MARKETS))
def test_arrivals_match_integrated_intensity_of_each_path(model: str) -> None:
    """Counts per 30 min window are Poisson with mean = integral of that replication's intensity."""
    _check_arrivals(model, range(5))


@pytest.mark.validation
@pytest.mark.parametrize("model", list(ARRIVAL_MARKETS))
def test_arrivals_match_integrated_intensity_many_replications(model: str) -> None:
    _check_arrivals(model, range(100, 160))


def _check_arrivals(model: str, replications: range) -> None:
    market = {
        **ARRIVAL_MARKETS[model],
        "shocks": [{"at": "20h", "move": -0.15, "decay": "2h"}],
        "response": {"elasticity": {"chat": 2.0, "default": 0.5}, "max_multiplier": 8},
    }
    channels = {
        # Tokyo has no daylight saving: local hours are UTC + 9 all year
        "chat": {"rate": "4/min", "daily_profile": "business_hours", "timezone": "Asia/Tokyo"},
        "phone": {"rate": "2/min"},
    }
    s = scenario(market, channels=channels, horizon="2d", interval="30min")
    window = 1800.0
    n_win = int(s.end // window)
    chi2 = chi2_flat = 0.0
    df = 0
    # per market step (one minute) too: there E[(o-e)^2/e] = 1 and Var = 2 + 1/e exactly
    fine_chi2 = fine_df = fine_var = 0.0
    clipped = False
    for k in replications:
        desk = Desk(s, k, record_tickets=True)
        drive = desk.drive
        assert drive is not None and drive.path.step == 60.0
        r = desk.run()
        log = tickets(r)
        assert (log["attempt"] == 0).all()
        clipped |= bool((drive.multiplier["chat"] == 8.0).any())
        per = int(window // drive.path.step)
        for name, spec in s.channels.items():
            exp_step = _expected_per_step(s, drive, name, n_win * per)
            expected = exp_step.reshape(n_win, per).sum(axis=1)
            # the model's own integral of its rate gives the same numbers
            rate = make_rate(spec.rate, spec.daily_profile, spec.weekly_profile, spec.timezone, s.start,
                             drive.multiplier[name], drive.path.step)  # fmt: skip
            own = np.array([rate.integral(j * window, (j + 1) * window) for j in range(n_win)])
            np.testing.assert_allclose(own, expected, rtol=1e-9)
            arr = log["arrival_s"][log["channel"] == name]
            observed = np.bincount((arr // window).astype(int), minlength=n_win)[:n_win]
            chi2 += float(((observed - expected) ** 2 / expected).sum())
            fine = np.bincount((arr // 60.0).astype(int), minlength=len(exp_step))[: len(exp_step)]
            fine_chi2 += float(((fine - exp_step) ** 2 / exp_step).sum())
            fine_df += len(exp_step)
            fine_var += float((2 + 1 / exp_step).sum())
            df += n_win
            flat = np.full(n_win, observed.sum() / n_win)  # a constant intensity
            chi2_flat += float(((observed - flat) ** 2 / flat).sum())
    assert clipped, "the shock should push chat's multiplier to max_multiplier"
    p = chi2_two_sided_p(chi2, df)
    assert p > 1e-6, f"chi2 {chi2:.1f} on {df} windows (p={p:.2g}): counts do not follow the intensity"
    z = (fine_chi2 - fine_df) / math.sqrt(fine_var)
    assert abs(z) < Z, f"per-minute chi2 {fine_chi2:.0f} on {fine_df:.0f} cells: z = {z:.1f}"
    # the same counts are far from a constant intensity: the check has power
    assert stats.chi2.sf(chi2_flat, df) < 1e-12


def test_multiplier_is_clipped_power_of_volatility_ratio_times_day_factor() -> None:
    market = {
        "model": "regime",
        "regimes": REGIMES,
        "shocks": [{"at": "5h", "move": 0.3, "decay": "1h"}],
        "response": {
            "elasticity": {"chat": 2.0, "default": 0.5},
            "reference_vol": 0.03,  # the calm regime is below it: multipliers below 1 too
            "max_multiplier": 1.6,
            "overdispersion": {"cv": 0.3},
        },
    }
    channels = {"chat": {"rate": "1/min"}, "phone": {"rate": "1/min"}, "email": {"rate": "1/min"}}
    s = scenario(market, channels=channels, horizon="3d")
    d = drive_of(s, 0)
    ratio = d.path.vol / 0.03
    assert d.path.reference_vol == 0.03
    day = d.day_factor[(np.arange(len(ratio)) * d.path.step // DAY).astype(int)]
    for name, e in (("chat", 2.0), ("phone", 0.5), ("email", 0.5)):
        want = np.clip(ratio**e, 1 / 1.6, 1.6) * day
        np.testing.assert_allclose(d.multiplier[name], want, rtol=1e-12)
    np.testing.assert_allclose(d.log2_ratio, np.log2(ratio), rtol=1e-12, atol=1e-12)
    assert (np.clip(ratio**2, 1 / 1.6, 1.6) == 1.6).any() and (np.clip(ratio**2, 1 / 1.6, 1.6) == 1 / 1.6).any()


def test_elasticity_dict_without_default_means_one_and_reference_defaults_to_first_regime() -> None:
    market = {"model": "regime", "regimes": REGIMES, "response": {"elasticity": {"chat": 3.0}}}
    s = scenario(market, channels={"chat": {"rate": "1/min"}, "phone": {"rate": "1/min"}}, horizon="1d")
    d = drive_of(s, 2)
    assert d.path.reference_vol == 0.02
    ratio = d.path.vol / 0.02
    np.testing.assert_allclose(d.multiplier["phone"], np.clip(ratio, 1 / 50, 50), rtol=1e-12)
    np.testing.assert_allclose(d.multiplier["chat"], np.clip(ratio**3, 1 / 50, 50), rtol=1e-12)
    market["initial"] = "storm"  # starting in a storm does not make the storm the calm level
    d = drive_of(scenario(market, horizon="1d"), 2)
    assert d.path.reference_vol == 0.02
    assert d.path.vol[0] == 0.06


# ------------------------------------------------------------------------------ 2. Hawkes contagion


def hawkes_dispersion(b: float, decay: float, T: float) -> float:
    """Var N(T) / E N(T) for a stationary Hawkes process with kernel (b/decay) e^(-t/decay).

    The complete covariance density is L delta(u) + L c e^(-a|u|), a = (1-b)/decay,
    c = b(2-b) / (2 decay (1-b)) (from the Bartlett spectrum L |1 - H(w)|^-2, H(w) = b/(1+iw decay)).
    Integrating over [0,T]^2: Var = L T [1 + b(2-b)/(1-b)^2 (1 - (1 - e^(-aT))/(aT))],
    which tends to L T / (1-b)^2 for T >> decay.
    """
    a = (1 - b) / decay
    return 1 + b * (2 - b) / (1 - b) ** 2 * (1 - (1 - math.exp(-a * T)) / (a * T))


def hawkes_window_correlation(b: float, decay: float, T: float, lag: int) -> float:
    """Correlation of counts in windows `lag` apart (lag >= 1), from the same covariance density."""
    a = (1 - b) / decay
    c = b * (2 - b) / (2 * decay * (1 - b))
    cov = c * math.exp(-a * (lag - 1) * T) * (1 - math.exp(-a * T)) ** 2 / a**2
    return cov / (T * hawkes_dispersion(b, decay, T))


def borel_moment(b: float, power: int) -> float:
    """E[S^power] of a Poisson(b) branching process's total size S (Borel distribution)."""
    n = np.arange(1, 4000, dtype=float)
    log_p = -b * n + (n - 1) * np.log(b * n) - np.array([math.lgamma(x + 1) for x in n])
    return float((np.exp(log_p) * n**power).sum())


def dispersion_se(b: float, decay: float, T: float, rate: float, n: int) -> float:
    """Standard error of the estimated index of dispersion from n windows of length T.

    The variance estimator's sampling variance is 2 sigma^4 (1 + 2 sum rho_j^2) / n for the
    Gaussian part, plus k4 / n for the fourth cumulant: immigrants are Poisson, so
    k4 = mu * integral of E[M_s^4] ds (M_s: points in the window of a cluster started at s)
    <= mu T E[S^4] (S: the cluster's Borel size), a conservative bound. `rate` is the long-run
    rate L = mu / (1-b).
    """
    rho2 = sum(hawkes_window_correlation(b, decay, T, j) ** 2 for j in range(1, 50)) if b > 0 else 0.0
    sigma2 = hawkes_dispersion(b, decay, T) * rate * T
    kappa4 = rate * (1 - b) * T * (borel_moment(b, 4) if b > 0 else 1.0)
    return math.sqrt((2 * sigma2**2 * (1 + 2 * rho2) + kappa4) / n) / (rate * T)


def test_hawkes_rate_and_dispersion_match_closed_form() -> None:
    b, decay, rate = 0.5, 180.0, 10 / 60  # decay 3 min; rate per second
    market = {"model": "none", "response": {"contagion": {"branching": b, "decay": "3min"}}}
    s = scenario(market, channels={"chat": {"rate": "10/min"}}, horizon="150h", warmup="2h", interval="5min")
    counts = []
    for k in range(6):
        r = simulate(s, k)
        c = np.asarray(r.intervals["offered"], dtype=float)
        assert len(c) == 1800
        counts.append(c)
    counts_arr = np.array(counts)  # [replication, 5 min window]
    total_time = counts_arr.size * 300.0

    # long-run rate: the channel's `rate` is the long-run average (background rate * (1-b),
    # see Contagion); Var N(t) -> L t / (1-b)^2 gives its standard error
    lam_hat = counts_arr.sum() / total_time
    se = math.sqrt(rate / (1 - b) ** 2 / total_time)
    assert abs(lam_hat - rate) < Z * se, (lam_hat * 60, rate * 60, se * 60)

    for T, per in ((300.0, 1), (900.0, 3), (7200.0, 24)):
        w = counts_arr.reshape(counts_arr.shape[0], -1, per).sum(axis=2)
        var_hat = float(np.mean([x.var(ddof=1) for x in w]))
        index = var_hat / float(w.mean())
        want = hawkes_dispersion(b, decay, T)
        se_index = dispersion_se(b, decay, T, rate, w.size)
        assert abs(index - want) < Z * se_index, f"T={T:g}s: index {index:.3f}, closed form {want:.3f} +- {se_index:.3f}"
    # the finite-window formula matters at 5 and 15 min (2.0 and 2.9 against the limit 4)
    assert hawkes_dispersion(b, decay, 300.0) < 2.0 < hawkes_dispersion(b, decay, 900.0) < 3.0
    assert 3.8 < hawkes_dispersion(b, decay, 7200.0) < 4.0 == 1 / (1 - b) ** 2


def test_contagion_only_on_listed_channels() -> None:
    b, decay, rate = 0.6, 300.0, 3 / 60
    market = {"model": "none", "response": {"contagion": {"branching": b, "decay": "5min", "channels": ["chat"]}}}
    s = scenario(market, channels={"chat": {"rate": "3/min"}, "email": {"rate": "3/min"}}, horizon="300h", interval="1h")
    iv = simulate(s, 0).intervals
    ch = np.asarray(iv["channel"])
    off = np.asarray(iv["offered"], dtype=float)
    for name, bb in (("chat", b), ("email", 0.0)):  # email stays Poisson
        x = off[ch == name]
        want = hawkes_dispersion(bb, decay, 3600.0) if bb > 0 else 1.0
        se = dispersion_se(bb, decay, 3600.0, rate, len(x))
        assert abs(x.var(ddof=1) / x.mean() - want) < Z * se, (name, x.var(ddof=1) / x.mean(), want, se)
        # Var of the whole count: L t / (1-b)^2 for t >> decay
        assert abs(x.mean() - rate * 3600) < Z * math.sqrt(rate * 3600 / (1 - bb) ** 2 / len(x)), name
    assert hawkes_dispersion(b, decay, 3600.0) > 5


def _hawkes_expected_per_step(nu: np.ndarray, h: float, b: float, decay: float) -> np.ndarray:
    """Expected counts per step of a Hawkes process with background nu (constant per step, from
    an empty past) and kernel (b/decay) e^(-t/decay): E[lambda] = nu + R * nu with the resolvent
    R(u) = (b/decay) e^(-a u), a = (1-b)/decay, integrated exactly step by step."""
    a = (1 - b) / decay
    e = math.exp(-a * h)
    y = 0.0  # integral of e^(-a(t-s)) nu(s) ds up to the start of the step
    out = np.empty(len(nu))
    for k, v in enumerate(nu):
        out[k] = v * h + (b / decay) * (y * (1 - e) / a + v * (h - (1 - e) / a) / a)
        y = e * y + v * (1 - e) / a
    return out


def test_contagion_on_top_of_market_driven_background() -> None:
    """Background rate * (1-b) * multiplier, plus the triggered contacts: expected counts per
    30 min from the Hawkes renewal equation."""
    b, decay = 0.5, 60.0
    market = {
        "model": "regime",
        "regimes": REGIMES,
        "shocks": [{"at": "20h", "move": -0.15, "decay": "2h"}],
        "response": {"elasticity": 1.5, "contagion": {"branching": b, "decay": "1min"}},
    }
    s = scenario(market, channels={"chat": {"rate": "4/min"}}, horizon="2d", interval="30min")
    total_obs = total_exp = chi2 = 0.0
    n_win = 0
    for k in range(4):
        desk = Desk(s, k)
        d = desk.drive
        assert d is not None
        observed = np.asarray(desk.run().intervals["offered"], dtype=float)
        nu = s.channels["chat"].rate * (1 - b) * d.multiplier["chat"][: len(observed) * 30]
        expected = _hawkes_expected_per_step(nu, 60.0, b, decay).reshape(-1, 30).sum(axis=1)
        total_obs += observed.sum()
        total_exp += expected.sum()
        # windows of 30 decays: Var ~ E * I(T) (exact for a constant background)
        chi2 += float(((observed - expected) ** 2 / (expected * hawkes_dispersion(b, decay, 1800.0))).sum())
        n_win += len(observed)
    # the variance of a long total is E / (1-b)^2
    assert abs(total_obs - total_exp) < Z * math.sqrt(total_exp) / (1 - b), (total_obs, total_exp)
    assert chi2_two_sided_p(chi2, n_win) > 1e-6, (chi2, n_win)


@pytest.mark.parametrize("branching", [1.0, 1.5, -0.1])
def test_branching_outside_zero_to_one_is_refused(branching: float) -> None:
    market = {"model": "none", "response": {"contagion": {"branching": branching, "decay": "1min"}}}
    with pytest.raises(ScenarioError) as err:
        scenario(market)
    assert err.value.field == "market.response.contagion.branching"
    assert "at least 0 and below 1" in err.value.message and "never die out" in err.value.message


@pytest.mark.parametrize(
    "response",
    [
        {"contagion": {"branching": 0.5, "decay": "1min", "channels": ["chta"]}},
        {"elasticity": {"chta": 2.0, "default": 1.0}},
    ],
    ids=["contagion.channels", "elasticity"],
)
def test_market_names_only_known_channels(response: dict[str, Any]) -> None:
    """A misspelt channel would silently get no contagion / the default elasticity.

    Regression: the loader checked every other channel reference (pools.channels,
    categories.by_channel, retry.channel) but not market.response.contagion.channels nor the
    keys of market.response.elasticity (other than "default").
    """
    with pytest.raises(ScenarioError) as err:
        scenario({"model": "none", "response": response}, channels={"chat": {"rate": "1/min"}})
    assert "unknown channel 'chta'" in err.value.message
    assert err.value.field is not None and err.value.field.startswith("market.response")


# ------------------------------------------------------------------------------ 3. category mix


def test_mix_weights_by_hand() -> None:
    half = np.array([0.5, 0.5])
    w = np.array([3.0, 1.0])
    np.testing.assert_allclose(mix_weights(half, w, 0.0), [0.5, 0.5])
    np.testing.assert_allclose(mix_weights(half, w, 1.0), [0.75, 0.25])
    np.testing.assert_allclose(mix_weights(half, w, 2.0), [0.9, 0.1])
    np.testing.assert_allclose(mix_weights(half, w, -1.0), [0.25, 0.75])
    three = mix_weights(np.array([0.2, 0.3, 0.5]), np.array([2.0, 1.0, 0.5]), 1.0)
    np.testing.assert_allclose(three, np.array([0.4, 0.3, 0.25]) / 0.95)
    np.testing.assert_allclose(mix_weights(np.array([0.2, 0.3, 0.5]), np.array([2.0, 1.0, 0.5]), 0.0), [0.2, 0.3, 0.5])


def test_category_mix_follows_volatility_ratio() -> None:
    """Regimes at 0.5x, 1x and 4x the reference: P(trade) = 0.25, 0.5, 0.9 (shares 0.5/0.5, weights 3/1)."""
    market = {
        "model": "regime",
        "regimes": {
            "calm": {"daily_vol": 0.02, "mean_duration": "2h"},
            "quiet": {"daily_vol": 0.01, "mean_duration": "2h"},
            "wild": {"daily_vol": 0.08, "mean_duration": "2h"},
        },
        "response": {"reference_vol": 0.02, "elasticity": 0.0},
    }
    categories = {
        "trade": {"share": 0.5, "volatility_weight": 3, "handle_time": ONE_SECOND},
        "account": {"share": 0.5, "handle_time": ONE_SECOND},
    }
    channels = {"chat": {"rate": "5/min"}, "email": {"rate": "5/min", "categories": {"trade": 0.2, "account": 0.8}}}
    s = scenario(market, categories=categories, channels=channels, horizon="3d", interval="1h")
    hand = {  # (channel, log2 ratio) -> P(trade)
        ("chat", -1.0): 0.25, ("chat", 0.0): 0.5, ("chat", 2.0): 0.9,
        ("email", -1.0): 0.2 / 3 / (0.2 / 3 + 0.8), ("email", 0.0): 0.2, ("email", 2.0): 0.2 * 9 / (0.2 * 9 + 0.8),
    }  # fmt: skip
    obs: dict[tuple[str, float], list[int]] = {key: [0, 0] for key in hand}
    for k in range(2):
        desk = Desk(s, k, record_tickets=True)
        d = desk.drive
        assert d is not None
        log = tickets(desk.run())
        step_of = np.minimum((log["arrival_s"] // d.path.step).astype(int), len(d.log2_ratio) - 1)
        l2 = d.log2_ratio[step_of]
        for (name, level), cell in obs.items():
            sel = (log["channel"] == name) & np.isclose(l2, level)
            cell[0] += int((log["category"][sel] == "trade").sum())
            cell[1] += int(sel.sum())
    for key, p in hand.items():
        hits, n = obs[key]
        assert n > 1500, (key, n)
        se = math.sqrt(p * (1 - p) / n)
        assert abs(hits / n - p) < Z * se, f"{key}: {hits}/{n} = {hits / n:.4f}, want {p:.4f} +- {se:.4f}"


# ------------------------------------------------------------------------------ 4. overdispersion


def test_day_factors_have_mean_one_and_the_given_cv() -> None:
    cv = 0.4
    s = scenario({"model": "none", "step": "1h", "response": {"overdispersion": {"cv": cv}}}, horizon="1000d", interval="1d")
    f = np.concatenate([drive_of(s, k).day_factor for k in range(3)])
    n = len(f)
    shape = 1 / cv**2  # gamma, mean 1: variance cv^2, excess kurtosis 6 / shape
    assert abs(f.mean() - 1) < Z * cv / math.sqrt(n)
    var_se = cv**2 * math.sqrt(2 / (n - 1) + 6 / shape / n)
    assert abs(f.var(ddof=1) - cv**2) < Z * var_se
    assert (f > 0).all()


def test_daily_counts_are_mixed_poisson() -> None:
    cv, per_day = 0.5, 72.0
    market = {"model": "none", "step": "1h", "response": {"overdispersion": {"cv": cv}}}
    s = scenario(market, channels={"chat": {"rate": "3/h"}}, horizon="800d", interval="1d")
    counts, factors = [], []
    for k in range(2):
        desk = Desk(s, k)
        d = desk.drive
        assert d is not None
        r = desk.run()
        c = np.asarray(r.intervals["offered"], dtype=float)
        counts.append(c)
        factors.append(d.day_factor[: len(c)])
    c = np.concatenate(counts)
    f = np.concatenate(factors)
    n = len(c)
    # given the day factors the counts are Poisson(F_d * rate * day): exact chi-square
    expected = f * per_day
    chi2 = float(((c - expected) ** 2 / expected).sum())
    assert chi2_two_sided_p(chi2, n) > 1e-6, (chi2, n)
    # unconditionally negative binomial: variance m + cv^2 m^2, standard error of the sample
    # variance from its cumulants (q = cv^2 m): k2 = m(1+q), k4 = m(1+q)(1+6q(1+q))
    m = per_day
    q = cv**2 * m
    k2 = m * (1 + q)
    k4 = m * (1 + q) * (1 + 6 * q * (1 + q))
    mu4 = k4 + 3 * k2**2
    var_se = math.sqrt((mu4 - k2**2 * (n - 3) / (n - 1)) / n)
    assert abs(c.var(ddof=1) - (m + cv**2 * m**2)) < Z * var_se, (c.var(ddof=1), m + cv**2 * m**2, var_se)
    assert abs(c.mean() - m) < Z * math.sqrt(k2 / n)


# ------------------------------------------------------------------------------ 5. common random numbers


CRN_MARKET = {
    "model": "regime",
    "regimes": REGIMES,
    "shocks": [{"at": "10h", "move": -0.1, "decay": "1h"}],
    "response": {"overdispersion": {"cv": 0.3}, "contagion": {"branching": 0.3, "decay": "2min"}},
}


def _same_drive(a: Drive, b: Drive) -> bool:
    return (
        np.array_equal(a.path.vol, b.path.vol)
        and np.array_equal(a.path.price, b.path.price)
        and np.array_equal(a.day_factor, b.day_factor)
        and a.multiplier.keys() == b.multiplier.keys()
        and all(np.array_equal(a.multiplier[c], b.multiplier[c]) for c in a.multiplier)
    )


@pytest.mark.parametrize(
    "market",
    [CRN_MARKET, {"model": "garch", "daily_vol": 0.03, "response": {"overdispersion": {"cv": 0.2}}}],
    ids=["regime", "garch"],
)
def test_drive_is_common_across_staffing_and_differs_across_replications(market: dict[str, Any]) -> None:
    base = scenario_dict(market, channels={"chat": {"rate": "2/min"}, "phone": {"rate": "1/min"}}, horizon="1d")
    other = copy.deepcopy(base)
    other["pools"] = [{"name": "agents", "agents": 20}, {"name": "extra", "agents": 7, "channels": ["phone"]}]
    s1, s2 = build(base), build(other)
    for k in (0, 3):
        assert _same_drive(drive_of(s1, k), drive_of(s2, k))
    assert not np.array_equal(drive_of(s1, 0).path.vol, drive_of(s1, 1).path.vol)
    assert not np.array_equal(drive_of(s1, 0).path.price, drive_of(s1, 1).path.price)
    assert not np.array_equal(drive_of(s1, 0).day_factor, drive_of(s1, 1).day_factor)


def test_arrivals_are_common_across_staffing() -> None:
    base = scenario_dict(CRN_MARKET, channels={"chat": {"rate": "2/min"}}, horizon="12h")
    small = copy.deepcopy(base)
    small["pools"] = [{"name": "agents", "agents": 3}]
    a = tickets(simulate(build(base), 1, record_tickets=True))
    b = tickets(simulate(build(small), 1, record_tickets=True))
    order_a, order_b = np.argsort(a["id"]), np.argsort(b["id"])
    for col in ("arrival_s", "channel", "category"):
        assert np.array_equal(a[col][order_a], b[col][order_b]), col


# ------------------------------------------------------------------------------ 6. path models


def test_garch_recursion_and_long_run_variance() -> None:
    daily, alpha, beta, step = 0.03, 0.08, 0.90, 300.0
    per_step = daily**2 * step / DAY
    means = []
    for k in range(16):
        vol, ret = garch_vol(40_000, step, daily, alpha, beta, Streams(5, k)(market_stream("garch")))
        var = vol**2 * step / DAY
        # the recursion itself: s_k^2 = w + a r_{k-1}^2 + b s_{k-1}^2
        np.testing.assert_allclose(var[1:], per_step * (1 - alpha - beta) + alpha * ret[:-1] ** 2 + beta * var[:-1], rtol=1e-10)
        means.append(float((vol**2).mean()))
    m, sd = np.mean(means), np.std(means, ddof=1)
    half = stats.t.ppf(1 - 3e-7, len(means) - 1) * sd / math.sqrt(len(means))
    assert abs(m - daily**2) < half, (m, daily**2, half)
    assert half < 0.1 * daily**2  # the check is informative


def test_garch_drive_uses_daily_vol_as_reference() -> None:
    s = scenario({"model": "garch", "daily_vol": 0.04, "alpha": 0.1, "beta": 0.85, "step": "5min"}, horizon="1d")
    d = drive_of(s, 0)
    assert d.path.reference_vol == 0.04
    assert np.isfinite(d.path.vol).all() and (d.path.vol > 0).all()
    np.testing.assert_allclose(d.multiplier["chat"], np.clip(d.path.vol / 0.04, 1 / 50, 50), rtol=1e-12)


@pytest.mark.parametrize(("alpha", "beta"), [(0.1, 0.9), (0.3, 0.75)])
def test_garch_nonstationary_is_refused(alpha: float, beta: float) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario({"model": "garch", "daily_vol": 0.03, "alpha": alpha, "beta": beta})
    assert "alpha + beta must be below 1" in err.value.message
    assert err.value.field is not None and err.value.field.startswith("market")


def test_regime_time_shares_follow_mean_durations() -> None:
    """Two alternating regimes, means 2h and 6h: a two-state Markov chain, P(A) = 0.25."""
    step, n = 60.0, 60 * 24 * 60  # 60 days of minutes
    lam, mu = 1 / 2.0, 1 / 6.0  # per hour: leaving A, leaving B
    T = n * step / 3600
    trans = np.array([[0.0, 1.0], [1.0, 0.0]])
    fractions = []
    for k in range(12):
        vol, state = regime_vol(n, step, [0.01, 0.05], [7200.0, 21600.0], trans, 0, Streams(9, k)(market_stream("regime")))
        assert set(np.unique(vol)) == {0.01, 0.05}
        assert np.array_equal(vol == 0.01, state == 0)
        fractions.append(float((state == 0).mean()))
    pi_a, s_rate = mu / (lam + mu), lam + mu
    # started in A: E[fraction] = pi_A + pi_B (1 - e^(-sT)) / (sT); Var of the time in A ~ 2 lam mu / s^3 T
    want = pi_a + (1 - pi_a) * (1 - math.exp(-s_rate * T)) / (s_rate * T)
    se = math.sqrt(2 * lam * mu / s_rate**3 * T) / T / math.sqrt(len(fractions))
    assert abs(np.mean(fractions) - want) < Z * se, (np.mean(fractions), want, se)


def test_regime_next_weights_pick_the_following_regime() -> None:
    market = {
        "model": "regime",
        "regimes": {
            "a": {"daily_vol": 0.01, "mean_duration": "3h", "next": {"b": 3, "c": 1}},
            "b": {"daily_vol": 0.02, "mean_duration": "3h", "next": {"a": 1}},
            "c": {"daily_vol": 0.04, "mean_duration": "3h", "next": {"a": 1}},
        },
    }
    s = scenario(market, horizon="100d", interval="1d")
    to_b = to_c = b_to_c = 0
    for k in range(2):
        v = drive_of(s, k).path.vol
        change = np.nonzero(np.diff(v))[0]
        frm, to = v[change], v[change + 1]
        to_b += int(((frm == 0.01) & (to == 0.02)).sum())
        to_c += int(((frm == 0.01) & (to == 0.04)).sum())
        b_to_c += int((((frm == 0.02) & (to == 0.04)) | ((frm == 0.04) & (to == 0.02))).sum())
    n = to_b + to_c
    assert n > 500
    # b and c only go back to a; on the 1 min grid a stay in a with no grid point inside it
    # (probability about step / (2 mean) = 1/360) shows as b <-> c: about 2 expected here
    assert b_to_c <= 10
    assert abs(to_b / n - 0.75) < Z * math.sqrt(0.75 * 0.25 / n)


def test_regime_next_weights_all_zero_are_refused() -> None:
    """A regime whose `next` weights are all zero (`next: {b: 0}`) is a ScenarioError at
    market.regimes.a.

    Regression: it passed validation (weights only had to be >= 0), and the market path then
    divided the row by its zero sum: numpy's choice raised "Probabilities contain NaN" (a
    ValueError, not a ScenarioError) when the desk was built."""
    market = {
        "model": "regime",
        "regimes": {
            "a": {"daily_vol": 0.01, "mean_duration": "1h", "next": {"b": 0}},
            "b": {"daily_vol": 0.02, "mean_duration": "1h"},
        },
    }
    with pytest.raises(ScenarioError) as err:
        drive_of(scenario(market, horizon="1d"), 0)
    assert err.value.field is not None and err.value.field.startswith("market.regimes.a")


def test_shock_jumps_log_price_and_adds_decaying_volatility() -> None:
    at, move, decay = 7 * 3600 + 90.0, -0.18, 5400.0  # between two grid points
    plain = {"model": "regime", "regimes": REGIMES}
    shocked = dict(plain, shocks=[{"at": "07:01:30", "move": move, "decay": "90min"}])
    a = drive_of(scenario(plain, horizon="1d"), 4).path
    b = drive_of(scenario(shocked, horizon="1d"), 4).path
    t = np.arange(len(a)) * a.step
    after = t >= at
    assert after.argmax() == 7 * 60 + 2  # the first grid point at or after the shock
    np.testing.assert_allclose(np.log(b.price) - np.log(a.price), np.where(after, move, 0.0), atol=1e-12)
    excess = b.vol - a.vol
    np.testing.assert_allclose(excess[after], abs(move) * np.exp(-(t[after] - at) / decay), rtol=1e-12, atol=1e-15)
    assert (excess[~after] == 0).all()
    # one time constant later the excess is 1/e of the jump
    k = int(math.ceil((at + decay) / a.step))
    assert excess[k] == pytest.approx(abs(move) * math.exp(-(k * a.step - at) / decay))
    assert b.reference_vol == a.reference_vol == 0.02


def test_apply_shocks_adds_up() -> None:
    log_p, vol = np.zeros(10), np.full(10, 0.02)
    apply_shocks(log_p, vol, 60.0, [(120.0, 0.1, 60.0), (300.0, -0.05, 120.0)])
    np.testing.assert_allclose(log_p, [0, 0, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05])
    t = np.arange(10) * 60.0
    want = 0.02 + np.where(t >= 120, 0.1 * np.exp(-(t - 120) / 60), 0) + np.where(t >= 300, 0.05 * np.exp(-(t - 300) / 120), 0)
    np.testing.assert_allclose(vol, want)


def test_no_market_model_is_flat_at_reference() -> None:
    d = drive_of(scenario({"model": "none", "start_price": 100, "response": {"reference_vol": 0.05}}, horizon="1d"), 0)
    assert (d.path.vol == 0.05).all()
    np.testing.assert_allclose(d.path.price, 100.0, rtol=1e-14)
    assert (d.multiplier["chat"] == 1).all() and (d.day_factor == 1).all()


# ------------------------------------------------------------------------------ 7. replay


def _write_prices(path: Path, seed: int = 3, rows: int = 3 * 24 * 60) -> tuple[np.ndarray, np.ndarray]:
    """Irregular timestamps (30 to 90 s apart) and a random-walk price; returns (seconds, price)."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(30, 91, rows - 1)
    times = np.concatenate([[0], np.cumsum(gaps)]).astype(float)
    price = 65000 * np.exp(np.cumsum(rng.normal(0, 0.002, rows)))
    base = np.datetime64("2024-03-12T02:15:00")
    lines = ["timestamp,price"] + [
        f"{np.datetime_as_string(base + np.timedelta64(int(t), 's'))}Z,{float(p)!r}" for t, p in zip(times, price)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return times, price


def replay_scenario(tmp_path: Path, market: dict[str, Any], **kw: Any) -> Scenario:
    return scenario_from_dict(scenario_dict({"model": "replay", **market}, **kw), base_dir=tmp_path)


def _grid_prices(times: np.ndarray, price: np.ndarray, step: float) -> np.ndarray:
    grid = np.arange(int(times[-1] // step) + 1) * step
    out = np.empty(len(grid))
    j = 0
    for i, g in enumerate(grid):  # forward fill, written plainly
        while j + 1 < len(times) and times[j + 1] <= g:
            j += 1
        out[i] = price[j]
    return out


def test_replay_follows_the_recorded_prices_and_realised_vol(tmp_path: Path) -> None:
    times, price = _write_prices(tmp_path / "btc.csv")
    s = replay_scenario(tmp_path, {"file": "btc.csv", "window": "30min", "start_price": float(price[0])}, horizon="2d")
    assert s.market.series[0] == tuple(times) and s.market.series[1] == tuple(price)
    p = drive_of(s, 0).path
    grid = _grid_prices(times, price, 60.0)
    m = len(grid)
    np.testing.assert_allclose(p.price[:m], grid, rtol=1e-9)
    # realised vol over the last 30 grid returns, as a daily standard deviation
    r = np.diff(np.log(grid))
    w = 30
    for k in (w, w + 1, 500, m - 1):
        want = math.sqrt((r[k - w : k] ** 2).sum() / (w * 60.0) * DAY)
        assert p.vol[k] == pytest.approx(want, rel=1e-9)
    # past the recording the price is flat and the volatility held
    assert (p.price[m:] == p.price[m - 1]).all() and (p.vol[m:] == p.vol[m - 1]).all()


@pytest.mark.parametrize(
    ("horizon", "shocks"),
    [("1d", []), ("3d", []), ("10d", []), ("1d", [{"at": "1h", "move": 0.5, "decay": "12h"}])],
    ids=["1d", "3d", "10d", "1d+shock"],
)
def test_replay_reference_is_the_median_of_the_recording(tmp_path: Path, horizon: str, shocks: list[Any]) -> None:
    """The default calm level is a property of the file: the median realised volatility of the
    recording, whatever the horizon and whatever shocks are added on top.

    Regression: the calm level was taken from the simulated path, after the recording was cut
    to the horizon or padded with its last volatility (held past the end) and after the shocks:
    with a 3-day file and a 3-day horizon more than half the grid was padding, so the "median"
    was the file's last volatility; a shock raised it (from 0.077 to 0.143 on a 1-day
    horizon), which cancelled much of the shock's own effect.
    """
    times, price = _write_prices(tmp_path / "btc.csv")
    grid = _grid_prices(times, price, 60.0)
    want = float(np.median(realised_vol(np.log(grid), 60.0, 3600.0)))
    s = replay_scenario(tmp_path, {"file": "btc.csv", "shocks": shocks}, horizon=horizon)
    assert drive_of(s, 0).path.reference_vol == pytest.approx(want, rel=1e-9)


def test_replay_price_is_the_recorded_price(tmp_path: Path) -> None:
    """Without start_price the path shows the recorded prices, not a series rescaled to 30000.

    Regression: the path's log price was log(start_price) + cumsum(returns) for every model,
    so a replay's prices (and the interval table's `price`) became 30000 * p / p0 unless
    start_price was set to the file's first price.
    """
    times, price = _write_prices(tmp_path / "btc.csv", rows=200)
    p = drive_of(replay_scenario(tmp_path, {"file": "btc.csv"}, horizon="2h"), 0).path
    grid = _grid_prices(times, price, 60.0)
    np.testing.assert_allclose(p.price[: len(grid)], grid, rtol=1e-9)


def test_replay_naive_timestamps_in_a_zone_with_daylight_saving(tmp_path: Path) -> None:
    """Berlin, 31 March 2024: 01:30 CET is followed half an hour later by 03:00 CEST.

    Regression: the price reader attached the same ZoneInfo to naive stamps and subtracted
    aware datetimes sharing a tzinfo, which Python does as wall-clock arithmetic (offsets
    ignored): the 30 min step was read as 1 h 30 min, refused as a gap > max_gap, and with a
    larger max_gap every later time was an hour late (times must be in UTC when subtracted).
    """
    stamps = ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00"]
    (tmp_path / "berlin.csv").write_text(
        "".join(f"2024-03-31T{h}:00,{100 + i}\n" for i, h in enumerate(stamps)), encoding="utf-8"
    )
    s = replay_scenario(tmp_path, {"file": "berlin.csv", "timezone": "Europe/Berlin"})
    assert s.market.series[0] == tuple(1800.0 * i for i in range(7))


def test_replay_recording_shorter_than_the_window(tmp_path: Path) -> None:
    """A 5-minute file with the default 1 h window: a clear error or a usable path, not a crash.

    Regression: the realised volatility computed sq - concatenate([zeros(w), sq[:-w]]), whose
    shapes differ when the recorded grid has fewer than w = window/step returns: a numpy
    ValueError (not a ScenarioError) when the desk was built.
    """
    (tmp_path / "short.csv").write_text(
        "2024-01-01T00:00:00Z,100\n2024-01-01T00:02:00Z,101\n2024-01-01T00:05:00Z,100.5\n", encoding="utf-8"
    )
    try:
        s = replay_scenario(tmp_path, {"file": "short.csv"}, horizon="1h")
    except ScenarioError as exc:
        assert "short.csv" in str(exc)
        return
    d = drive_of(s, 0)
    assert np.isfinite(d.path.vol).all()


BAD_FILES = {
    "timestamp": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,101\n2024-13-01T00:02:00Z,102\n", 3, "not a timestamp"),
    "price": ("timestamp,price\n2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,abc\n", 3, "not a number"),
    "negative": ("2024-01-01T00:00:00Z,100\n\n2024-01-01T00:01:00Z,-5\n", 3, "positive"),
    "zero": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,0\n", 2, "positive"),
    "nan": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,nan\n", 2, "positive"),
    "unsorted": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:02:00Z,101\n2024-01-01T00:01:00Z,102\n", 3, "sorted"),
    "duplicate": ("h,p\n2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,101\n2024-01-01T00:01:00Z,102\n", 4, "no repeats"),
    "gap": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z,101\n2024-01-01T03:01:00Z,102\n", 3, "longer than max_gap"),
    "naive": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00,101\n", 2, "no time zone"),
    "one column": ("2024-01-01T00:00:00Z,100\n2024-01-01T00:01:00Z\n", 2, "expected two cells, timestamp,price"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_replay_errors_name_the_file_and_row(tmp_path: Path, case: str) -> None:
    text, row, words = BAD_FILES[case]
    (tmp_path / "prices.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        replay_scenario(tmp_path, {"file": "prices.csv"})
    msg = str(err.value)
    assert f"prices.csv row {row}:" in msg, msg
    assert words in msg, msg


def test_replay_naive_timestamps_with_a_timezone_load(tmp_path: Path) -> None:
    (tmp_path / "tokyo.csv").write_text("2024-01-01T09:00:00,100\n2024-01-01T09:01:00,101\n", encoding="utf-8")
    s = replay_scenario(tmp_path, {"file": "tokyo.csv", "timezone": "Asia/Tokyo"})
    assert s.market.series == ((0.0, 60.0), (100.0, 101.0))


@pytest.mark.parametrize(
    ("text", "words"),
    [(None, "not found"), ("2024-01-01T00:00:00Z,100\n", "fewer than two prices"), (b"\xff\xfe\x00", "not UTF-8")],
)
def test_replay_file_level_errors(tmp_path: Path, text: Any, words: str) -> None:
    if isinstance(text, str):
        (tmp_path / "p.csv").write_text(text, encoding="utf-8")
    elif isinstance(text, bytes):
        (tmp_path / "p.csv").write_bytes(text)
    with pytest.raises(ScenarioError) as err:
        replay_scenario(tmp_path, {"file": "p.csv"})
    assert "'p.csv'" in str(err.value) and words in str(err.value)


def test_replay_bootstrap_differs_by_replication_and_plain_replay_does_not(tmp_path: Path) -> None:
    times, price = _write_prices(tmp_path / "btc.csv")
    grid = _grid_prices(times, price, 60.0)
    recorded = np.diff(np.log(grid), prepend=np.log(grid[0]))
    plain = replay_scenario(tmp_path, {"file": "btc.csv"}, horizon="2d")
    boot = replay_scenario(tmp_path, {"file": "btc.csv", "bootstrap": {"block": "1h"}}, horizon="2d")
    assert np.array_equal(drive_of(plain, 0).path.price, drive_of(plain, 1).path.price)
    assert np.array_equal(drive_of(plain, 0).path.vol, drive_of(plain, 1).path.vol)
    b0, b1 = drive_of(boot, 0).path, drive_of(boot, 1).path
    assert not np.array_equal(b0.price, b1.price)
    assert np.array_equal(b0.price, drive_of(boot, 0).path.price)  # reproducible
    # every hour of a bootstrapped path is one contiguous hour of recorded returns
    ret = np.diff(np.log(b0.price), prepend=math.log(price[0]))  # a replay starts at its first recorded price
    windows = np.lib.stride_tricks.sliding_window_view(recorded, 60)
    for j in range(0, len(b0.price) // 60 - 1, 7):
        block = ret[j * 60 : (j + 1) * 60]
        assert np.isclose(windows, block, rtol=0, atol=1e-12).all(axis=1).any(), f"hour {j}"


# ------------------------------------------------------------------------------ 8. volatile scope


def _volatile_market(step: str = "1min") -> dict[str, Any]:
    return {
        "model": "regime",
        "step": step,
        "regimes": {"calm": {"daily_vol": 0.02, "mean_duration": "4h"}, "storm": {"daily_vol": 0.031, "mean_duration": "2h"}},
        "shocks": [{"at": "30h", "move": 0.08, "decay": "2h"}],
        "response": {"volatile_above": 1.3, "elasticity": {"chat": 1.0, "email": 0.0}},
    }


def _check_volatile_scope(s: Scenario, k: int, retries: bool = False) -> int:
    desk = Desk(s, k, record_tickets=True)
    d = desk.drive
    assert d is not None
    r = desk.run()
    assert r.in_queue_end == 0  # every counted attempt is in the ticket log
    log = tickets(r)
    if retries:
        assert (log["attempt"] > 0).sum() > 1000
    else:
        assert (log["attempt"] == 0).all()
    step, interval = d.path.step, s.interval
    thr = s.market.response.volatile_above * d.path.reference_vol
    n_iv = int(math.ceil(s.end / interval))
    # time-weighted mean volatility of each reporting interval [j I, (j+1) I)
    edges = np.arange(n_iv + 1) * interval
    fine = np.repeat(d.path.vol, int(step)) if step <= 3600 else None
    assert fine is not None
    means = np.array([fine[int(edges[j]) : int(edges[j + 1])].mean() for j in range(n_iv)])
    assert np.min(np.abs(means - thr)) > 1e-9  # no interval sits on the threshold
    volatile = means >= thr
    counted = (log["arrival_s"] >= s.warmup) & (log["arrival_s"] < s.end)
    in_vol = counted & volatile[(log["arrival_s"] // interval).astype(int).clip(0, n_iv - 1)]
    summary = summarize(r)
    assert "volatile" in summary
    assert summary["volatile"]["all"]["offered"] == int(in_vol.sum())
    for name in s.channels:
        assert summary["volatile"][name]["offered"] == int((in_vol & (log["channel"] == name)).sum()), name
        assert summary["by_channel"][name]["offered"] == int((counted & (log["channel"] == name)).sum())
    return int(volatile.sum())


def test_volatile_scope_counts_tickets_in_volatile_intervals() -> None:
    s = scenario(_volatile_market(), channels={"chat": {"rate": "2/min"}, "email": {"rate": "1/min"}},
                 horizon="2d", warmup="2h", interval="15min")  # fmt: skip
    n_volatile = [_check_volatile_scope(s, k) for k in range(2)]
    assert all(0 < n < 2 * 96 for n in n_volatile), n_volatile


def test_volatile_scope_when_the_step_does_not_divide_the_interval() -> None:
    """A 10 min market step with 15 min reporting intervals: volatility still judged per interval.

    Regression: the volatility was averaged over blocks of round(interval / step) = 2 steps
    (20 min) but the flags were indexed by int(t / interval) (15 min), so interval j was judged
    on [20j, 20j + 20) min: the flags drifted away from the intervals (here, after a shock at
    30 h, the scope counted the tickets of 22:30-29:30 instead of 30:00-39:15).
    """
    market = {
        "model": "none",
        "step": "10min",
        "shocks": [{"at": "30h", "move": 0.5, "decay": "2h"}],
        "response": {"reference_vol": 0.02, "elasticity": 0.0},
    }
    s = scenario(market, channels={"chat": {"rate": "2/min"}}, horizon="2d", interval="15min")
    assert _check_volatile_scope(s, 0) > 0


def test_volatile_scope_classifies_retries_by_their_own_arrival() -> None:
    """Retries are attempts that arrive too: each counts in the scope of its own interval.

    Regression: a same-channel retry reused the abandoned attempt's class, so it kept the
    volatile flag of the first attempt's interval, and a retry to another channel always took
    the calm class, so one arriving in a volatile interval was never in the scope.
    """
    channels = {
        "chat": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "1min"},
                 "retry": {"prob": 0.8, "after": "20min"}},
        "email": {"rate": "1/min", "patience": {"dist": "exponential", "mean": "2min"},
                  "retry": {"prob": 0.8, "after": "30min", "channel": "chat"}},
    }  # fmt: skip
    categories = {"work": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "2min"}}}
    s = scenario(_volatile_market(), channels=channels, categories=categories, horizon="2d", warmup="2h",
                 interval="15min", agents=5)  # fmt: skip
    _check_volatile_scope(s, 0, retries=True)


def test_interval_table_has_market_columns() -> None:
    s = scenario(_volatile_market(), channels={"chat": {"rate": "2/min"}, "email": {"rate": "1/min"}},
                 horizon="1d", warmup="1h", interval="15min")  # fmt: skip
    desk = Desk(s, 0)
    d = desk.drive
    assert d is not None
    iv = desk.run().intervals
    for col in ("price", "volatility", "arrival_multiplier"):
        assert col in iv and len(iv[col]) == len(iv["start_s"])
    for start, ch, price, vol, mult in zip(iv["start_s"], iv["channel"], iv["price"], iv["volatility"], iv["arrival_multiplier"]):
        k0 = int(start // 60)
        assert price == d.path.price[k0 + 14]
        assert vol == pytest.approx(d.path.vol[k0 : k0 + 15].mean(), rel=1e-12)
        assert mult == pytest.approx(d.multiplier[ch][k0 : k0 + 15].mean(), rel=1e-12)
    assert np.ptp(np.asarray(iv["arrival_multiplier"])[np.asarray(iv["channel"]) == "chat"]) > 0.3


def test_no_market_no_volatile_scope_and_nan_market_columns() -> None:
    r = simulate(scenario(None, horizon="2h", interval="30min"), 0)
    assert "volatile" not in summarize(r)
    assert all(math.isnan(x) for x in [*r.intervals["price"], *r.intervals["volatility"]])
    assert list(r.intervals["arrival_multiplier"]) == [1.0] * len(r.intervals["start_s"])
    assert not any(r.class_volatile)
