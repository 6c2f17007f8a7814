"""Arrival-side estimators against known truth: rate, profiles, elasticity, over-dispersion,
the category mix under volatility; and the replay's `align: clock` they rely on.

Counts are drawn from exactly the model the fit assumes (the replay's own volatility, the
simulator's clip, a gamma day factor), so every check is a z-test on the fit's own standard
errors with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers_sim import mmn_dict
from simsupport.config.load import scenario_from_dict
from simsupport.engine import simulate
from simsupport.errors import ScenarioError
from simsupport.fit.arrivals import CountGrid, count_grid, day_window, fit_arrivals, market_steps, market_term
from simsupport.fit.estimate import Estimate
from simsupport.fit.market import choose_elasticity, fit_mix
from simsupport.market.drive import market_path
from simsupport.rng import Streams

Z = 4.0  # |estimate - truth| < Z standard errors (a false alarm about once in 16,000 checks)


def _prices(lo: pd.Timestamp, hi: pd.Timestamp, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Minute prices from a day before lo to a day after hi, calm and volatile spells of 3 days."""
    n = int((hi - lo).total_seconds() // 60) + 2 * 1440
    epoch = lo.timestamp() - 86400 + np.arange(n) * 60.0
    vol = np.where((np.arange(n) // (1440 * 3)) % 3 == 0, 0.08, 0.03)
    return epoch, 30000 * np.exp(np.cumsum(rng.normal(0, vol * np.sqrt(60 / 86400))))


def _history(seed: int, days: int, rate: float, elasticity: float | None, cv: float, tz: str = "Asia/Shanghai"):
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2026-01-05T00:00Z")
    lo, hi = day_window(first, first + pd.Timedelta(days=days - 1), tz)
    grid = count_grid(np.array([], dtype=np.int64), None, lo, hi, tz)
    daily = 1 + 0.8 * np.sin(np.arange(96) / 96 * 2 * np.pi)
    daily /= daily.mean()
    weekly = np.array([1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75])
    weekly /= weekly.mean()
    market = None
    g = np.zeros(len(grid.counts))
    if elasticity is not None:
        epoch, price = _prices(lo, hi, rng)
        market = market_steps(grid, epoch, price)
        g, _ = market_term(market, elasticity, len(grid.counts))
    factor = rng.gamma(1 / cv**2, cv**2, len(grid.days)) if cv > 0 else np.ones(len(grid.days))
    mu = rate / 4 * daily[grid.slot] * weekly[grid.weekday] * np.exp(g) * factor[grid.day]
    y = rng.poisson(mu).astype(float)
    grid = CountGrid(grid.start, y, grid.slot, grid.weekday, grid.day, grid.width, grid.tz, grid.days)
    return grid, market, daily, weekly


def _z(e: Estimate, truth: float) -> float:
    return abs(e.value - truth) / e.se


def test_rate_profiles_elasticity_and_overdispersion_recovered() -> None:
    grid, market, daily, weekly = _history(1, 84, 120.0, 0.8, 0.12)
    fit = fit_arrivals(grid, market)
    assert fit.elasticity is not None
    assert _z(fit.elasticity, 0.8) < Z
    assert _z(fit.rate, 120.0) < Z
    assert fit.cv.lo <= 0.12 <= fit.cv.hi or _z(fit.cv, 0.12) < Z
    # the 96 daily weights: at least 85% of the 95% bands cover the truth (the bands are
    # pointwise; 96 of them at 95% cover ~91 +- 2)
    covered = np.mean((fit.daily_lo <= daily) & (daily <= fit.daily_hi))
    assert covered >= 0.85
    assert np.max(np.abs(fit.weekly - weekly)) < 0.08
    assert abs(fit.daily.mean() - 1) < 1e-9 and abs(fit.weekly.mean() - 1) < 1e-9


def test_without_market_rate_is_the_mean_and_poisson_has_no_overdispersion() -> None:
    grid, _, _, _ = _history(2, 28, 60.0, None, 0.0)
    fit = fit_arrivals(grid, None)
    assert fit.elasticity is None
    assert _z(fit.rate, 60.0) < Z
    assert fit.cv.lo == 0.0  # a Poisson history: the interval for the cv reaches 0
    assert 0.9 < fit.dispersion < 1.1


def test_elasticity_ci_covers_the_truth_at_about_95_percent() -> None:
    """Coverage over 30 independent 12-week histories with a day factor (cv 0.1): the
    likelihood's interval is honest. (With only three volatile spells in four weeks it is
    optimistic, as any asymptotic interval is; the fit warns when volatile days are few.)"""
    runs, hits = 30, 0
    for seed in range(runs):
        grid, market, _, _ = _history(100 + seed, 84, 40.0, 0.6, 0.1)
        e = fit_arrivals(grid, market).elasticity
        assert e is not None
        hits += e.lo <= 0.6 <= e.hi
    assert hits >= stats.binom.ppf(0.005, runs, 0.95)


def test_partial_and_outage_days_are_left_out_and_named() -> None:
    grid, _, _, _ = _history(3, 21, 80.0, None, 0.05)
    counts = grid.counts.copy()
    counts[grid.day == 10] = 0  # an outage
    grid = CountGrid(grid.start, counts, grid.slot, grid.weekday, grid.day, grid.width, grid.tz, grid.days)
    fit = fit_arrivals(grid, None)
    assert any("outages or partial days" in w and f"{grid.days[10]:%Y-%m-%d}" in w for w in fit.warnings)
    assert _z(fit.rate, 80.0) < Z
    assert np.isnan(fit.day_ratio[10]) or not fit.used[grid.day == 10].any()


def test_closed_hours_stay_closed() -> None:
    grid, _, _, _ = _history(4, 21, 80.0, None, 0.0)
    counts = grid.counts.copy()
    counts[grid.slot < 28] = 0  # closed before 07:00
    grid = CountGrid(grid.start, counts, grid.slot, grid.weekday, grid.day, grid.width, grid.tz, grid.days)
    fit = fit_arrivals(grid, None)
    assert np.all(fit.daily[:28] == 0) and np.all(fit.daily[28:] > 0)


def test_category_volatility_weights_recovered() -> None:
    rng = np.random.default_rng(5)
    n = 100_000
    x = rng.normal(0, 0.8, n)
    shares, weights = np.array([0.5, 0.3, 0.2]), np.array([1.0, 2.0, 0.7])
    p = shares * weights ** x[:, None]
    p /= p.sum(axis=1, keepdims=True)
    cats = np.array(["a", "b", "c"], dtype=object)[(rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)]
    mix = fit_mix(cats, x)
    assert mix is not None and mix.reference == "a"
    for k, share, w in zip("abc", shares, weights, strict=True):
        assert _z(mix.shares[k], share) < Z
        if k != "a":
            assert _z(mix.weights[k], w) < Z


def test_elasticity_pooled_unless_channels_differ() -> None:
    same = choose_elasticity({"a": Estimate.normal(0.8, 0.03, 50), "b": Estimate.normal(0.77, 0.04, 50)})
    assert not same.differ and isinstance(same.value(), float)
    differ = choose_elasticity({"a": Estimate.normal(0.8, 0.03, 50), "b": Estimate.normal(0.5, 0.04, 50)})
    assert differ.differ and differ.value() == {"a": 0.8, "b": 0.5}


@pytest.mark.parametrize("align, first_price", [("start", 100.0), ("clock", 106.0)])
def test_replay_align_clock_plays_the_recording_at_its_own_time(tmp_path, align, first_price) -> None:
    """align: clock starts the run `start - first row` into the recording; start plays row 1."""
    lines = ["timestamp,price"] + [f"2026-01-01T00:{m:02d}:00Z,{100 + m}" for m in range(40)]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = mmn_dict(agents=2, rate=1.0, mean_handle=1.0)
    data["start"] = "2026-01-01T00:06:00Z"
    data["market"] = {"model": "replay", "file": "p.csv", "align": align, "response": {"elasticity": 1.0}}
    s = scenario_from_dict(data, base_dir=tmp_path)
    path = market_path(s, Streams(1, 0), 10)
    assert path.price[0] == pytest.approx(first_price)
    assert path.price[3] == pytest.approx(first_price + 3)


def test_align_clock_refuses_a_start_outside_the_recording(tmp_path) -> None:
    (tmp_path / "p.csv").write_text("timestamp,price\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00Z,2\n", encoding="utf-8")
    data = mmn_dict(agents=2, rate=1.0, mean_handle=1.0)
    data["start"] = "2026-01-02T00:00:00Z"
    data["market"] = {"model": "replay", "file": "p.csv", "align": "clock"}
    with pytest.raises(ScenarioError, match="align: clock plays p.csv at its own timestamps"):
        scenario_from_dict(data, base_dir=tmp_path)


def test_a_channel_language_mix_drives_the_simulated_languages() -> None:
    data = mmn_dict(agents=30, rate=20.0, mean_handle=1.0, horizon=600, warmup=0, replications=1)
    data["customers"] = {"languages": {"en": 0.5, "zh": 0.5}}
    data["channels"]["phone"]["languages"] = {"en": 0.9, "zh": 0.1}
    s = scenario_from_dict(data)
    res = simulate(s, 0, record_tickets=True)
    langs = np.array(res.tickets["language"])
    share = float(np.mean(langs == "en"))
    n = len(langs)
    assert abs(share - 0.9) < Z * np.sqrt(0.09 / n)
    bad = dict(data)
    bad["channels"] = {"phone": {**data["channels"]["phone"], "languages": {"en": 0.9, "ko": 0.1}}}
    with pytest.raises(ScenarioError, match="ko"):
        scenario_from_dict(bad)
