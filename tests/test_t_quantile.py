"""The Student t quantile of `experiment.statistics` (every 95% interval's), against scipy.

It replaces `scipy.stats.t.ppf`, whose import alone was a third of a short `simsupport run`, so it
must agree with it to rounding: relative error below 1e-10 for df 1..200, large df (where the
quantile nears the normal one) and fractional df, in both tails and near the middle.
"""

from __future__ import annotations

import math

import pytest
from simsupport.experiment.statistics import mean_ci95, t_quantile

stats = pytest.importorskip("scipy.stats")

PROBABILITIES = (0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999, 1 - 1e-8, 1 - 1e-12, 0.025, 0.001, 1e-10)
LARGE_DF = (250, 500, 1000, 5000, 9999, 10_000, 10_001, 50_000, 10**6, 10**9)
FRACTIONAL_DF = (0.1, 0.5, 1.5, 2.5, 7.25, 30.5)


def _relative_error(p: float, df: float) -> float:
    expected = float(stats.t.ppf(p, df))
    return abs(t_quantile(p, df) - expected) / abs(expected)


@pytest.mark.parametrize("p", PROBABILITIES)
def test_agrees_with_scipy_for_df_1_to_200(p: float) -> None:
    worst = max(range(1, 201), key=lambda df: _relative_error(p, df))
    assert _relative_error(p, worst) < 1e-10, (p, worst, t_quantile(p, worst), stats.t.ppf(p, worst))


@pytest.mark.parametrize("df", LARGE_DF + FRACTIONAL_DF)
def test_agrees_with_scipy_for_large_and_fractional_df(df: float) -> None:
    for p in PROBABILITIES:
        assert _relative_error(p, df) < 1e-10, (p, df, t_quantile(p, df), stats.t.ppf(p, df))


def test_the_95_percent_quantiles_everyone_knows() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(12.706204736174694, rel=1e-13)  # tan(0.475 pi)
    assert t_quantile(0.975, 1) == pytest.approx(math.tan(0.475 * math.pi), rel=1e-13)
    assert t_quantile(0.975, 2) == pytest.approx(4.302652729749464, rel=1e-13)  # sqrt(2 / (4 p q) - 2)
    assert t_quantile(0.975, 2) == pytest.approx(math.sqrt(2 / (4 * 0.975 * 0.025) - 2), rel=1e-13)
    assert t_quantile(0.975, 9) == pytest.approx(2.262157162798205, rel=1e-13)
    assert t_quantile(0.975, 10**8) == pytest.approx(1.959963984540054, rel=1e-7)  # the normal 1.96


def test_symmetry_and_edges() -> None:
    for df in (1, 3, 30, 10**5):
        assert t_quantile(0.5, df) == 0.0
        assert t_quantile(0.025, df) == pytest.approx(-t_quantile(0.975, df), rel=1e-14)  # 1 - 0.975 != 0.025
        assert t_quantile(0.25, df) == -t_quantile(0.75, df)  # exact halves
        assert t_quantile(1.0, df) == math.inf and t_quantile(0.0, df) == -math.inf
    assert math.isnan(t_quantile(0.975, 0)) and math.isnan(t_quantile(1.5, 3)) and math.isnan(t_quantile(math.nan, 3))
    # monotone in p and decreasing in df
    qs = [t_quantile(p, 4) for p in (0.51, 0.6, 0.9, 0.99, 0.999999)]
    assert qs == sorted(qs)
    assert all(t_quantile(0.975, df) > t_quantile(0.975, df + 1) for df in range(1, 60))


def test_mean_ci95_is_the_t_interval() -> None:
    values = [1.0, 2.0, 4.0, 7.0]
    mean, half = mean_ci95(values)
    sd = math.sqrt(sum((v - 3.5) ** 2 for v in values) / 3)
    assert mean == 3.5
    assert half == pytest.approx(float(stats.t.ppf(0.975, 3)) * sd / 2, rel=1e-12)
    assert math.isnan(mean_ci95([1.0])[1]) and math.isnan(mean_ci95([])[0])
