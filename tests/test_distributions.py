"""Tests for distribution specs (simsupport.config.distributions) and block samplers (simsupport.engine.sampling).

Statistical checks use 200k draws with a fixed seed and tolerances of 5 standard errors:
for the mean sqrt(var / n); for the variance sqrt((mu4 - var^2) / n), the asymptotic
standard error of the sample variance, with mu4 the distribution's 4th central moment.
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from scipy import stats

from simsupport.config.distributions import (
    DISTRIBUTION_NAMES,
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Uniform,
)
from simsupport.engine.sampling import BlockSampler, exponential_sampler, make_sampler, uniform_sampler
from simsupport.units import Duration, Rate

N = 200_000
SEED = 20240611
Z = 5.0
ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)

statistical = settings(max_examples=12, deadline=None, derandomize=True)
means = st.floats(min_value=0.5, max_value=1e5)
cvs = st.floats(min_value=0.05, max_value=2.0)


def spec(**data: Any) -> Any:
    return ADAPTER.validate_python(data)


def draw_many(sampler: BlockSampler, n: int = N) -> np.ndarray:
    return np.fromiter((sampler() for _ in range(n)), dtype=float, count=n)


def check_moments(x: np.ndarray, mean: float, var: float, mu4: float) -> None:
    """Sample mean and variance within Z standard errors of the analytic values.

    Var(s^2) = (mu4 - var^2 (n-3)/(n-1)) / n exactly for the ddof=1 sample variance of
    iid draws; the usual (mu4 - var^2)/n drops the O(1/n^2) term, which is all there is
    for two-point distributions.  The 1e-12 relative floor only absorbs float rounding
    when the true spread is 0 (a constant).
    """
    n = len(x)
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt(max(mu4 - var * var * (n - 3) / (n - 1), 0.0) / n)
    sample_mean = float(x.mean())
    sample_var = float(x.var(ddof=1))
    rounding = 1e-12 * abs(mean)
    assert abs(sample_mean - mean) <= Z * se_mean + rounding, (sample_mean, mean, se_mean)
    assert abs(sample_var - var) <= Z * se_var + rounding * rounding, (sample_var, var, se_var)


def fourth_central_moment(s: Any) -> float:
    """mu4 from the distribution's kurtosis, written out independently of the specs."""
    var = s.variance()
    if isinstance(s, Exponential):
        return 9.0 * s.mean**4
    if isinstance(s, Gamma):
        return var * var * (3.0 + 6.0 * s.cv**2)  # excess kurtosis 6 / shape, shape = 1 / cv^2
    if isinstance(s, LogNormal):
        w = 1.0 + s.cv**2  # exp(sigma^2)
        return var * var * (w**4 + 2 * w**3 + 3 * w**2 - 3)
    if isinstance(s, Uniform):
        return (s.high - s.low) ** 4 / 80.0
    if isinstance(s, Empirical):
        v = np.asarray(s.values)
        return float(np.mean((v - v.mean()) ** 4))
    raise AssertionError(type(s))


# --------------------------------------------------------------------------- statistics of the samplers


@statistical
@given(mean=means)
def test_exponential_moments(mean: float) -> None:
    s = spec(dist="exponential", mean=f"{mean!r}s")
    assert s.expected() == mean and s.variance() == mean**2
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)))
    check_moments(x, s.expected(), s.variance(), fourth_central_moment(s))


@statistical
@given(mean=means, cv=cvs)
def test_lognormal_moments(mean: float, cv: float) -> None:
    s = spec(dist="lognormal", mean=f"{mean!r}s", cv=cv)
    assert s.expected() == mean and s.variance() == pytest.approx((cv * mean) ** 2, rel=1e-12)
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)))
    check_moments(x, s.expected(), s.variance(), fourth_central_moment(s))


@statistical
@given(mean=means, cv=cvs)
def test_gamma_moments(mean: float, cv: float) -> None:
    s = spec(dist="gamma", mean=f"{mean!r}s", cv=cv)
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)))
    check_moments(x, s.expected(), s.variance(), fourth_central_moment(s))


@statistical
@given(low=st.floats(min_value=0.0, max_value=1e4), width=st.floats(min_value=1e-3, max_value=1e4))
def test_uniform_moments(low: float, width: float) -> None:
    high = low + width
    s = spec(dist="uniform", low=f"{low!r}s", high=f"{high!r}s")
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)))
    assert x.min() >= low and x.max() <= high
    check_moments(x, s.expected(), s.variance(), fourth_central_moment(s))


@statistical
@given(values=st.lists(st.floats(min_value=0.0, max_value=1e4), min_size=1, max_size=50).filter(any))
def test_empirical_moments(values: list[float]) -> None:  # all-zero samples are refused (not a time)
    s = spec(dist="empirical", samples=[f"{v!r}s" for v in values])
    assert s.values == tuple(values)
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)))
    assert set(np.unique(x)) <= set(values)
    check_moments(x, s.expected(), s.variance(), fourth_central_moment(s))


def test_deterministic_is_constant_and_uses_no_randomness() -> None:
    rng = np.random.default_rng(SEED)
    before = rng.bit_generator.state
    s = spec(dist="deterministic", value="90s")
    sampler = make_sampler(s, rng, scale=2.0)
    assert {sampler() for _ in range(10_000)} == {180.0}
    assert rng.bit_generator.state == before
    assert s.expected() == 90.0 and s.variance() == 0.0


@pytest.mark.parametrize(
    "data",
    [
        {"dist": "lognormal", "mean": "6min", "cv": 0.8},
        {"dist": "lognormal", "mean": "30s", "cv": 2.0},
        {"dist": "gamma", "mean": "6min", "cv": 1.5},
        {"dist": "gamma", "mean": "6min", "cv": 0.3},
    ],
)
def test_shape_matches_scipy(data: dict[str, Any]) -> None:
    """Mean and variance cannot tell a lognormal from a gamma; a KS test against scipy can."""
    s = spec(**data)
    m, cv = s.mean, s.cv
    if isinstance(s, LogNormal):
        sigma2 = math.log1p(cv * cv)
        dist = stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(m) - sigma2 / 2))
    else:
        dist = stats.gamma(a=1 / cv**2, scale=m * cv**2)
    assert dist.mean() == pytest.approx(s.expected(), rel=1e-9)
    assert dist.var() == pytest.approx(s.variance(), rel=1e-9)
    x = draw_many(make_sampler(s, np.random.default_rng(SEED)), 50_000)
    assert stats.kstest(x, dist.cdf).pvalue > 1e-6


def test_make_sampler_scale() -> None:
    s = spec(dist="lognormal", mean="6min", cv=0.5)
    x = draw_many(make_sampler(s, np.random.default_rng(SEED), scale=1.5))
    scaled = s.scaled(1.5)
    check_moments(x, scaled.expected(), scaled.variance(), fourth_central_moment(scaled))
    assert scaled.expected() == pytest.approx(540.0)


# --------------------------------------------------------------------------- scaled()


@given(mean=means, cv=cvs, factor=st.floats(min_value=1e-3, max_value=1e3))
def test_scaled_multiplies_mean_and_keeps_cv(mean: float, cv: float, factor: float) -> None:
    specs = [
        spec(dist="exponential", mean=f"{mean!r}s"),
        spec(dist="lognormal", mean=f"{mean!r}s", cv=cv),
        spec(dist="gamma", mean=f"{mean!r}s", cv=cv),
        spec(dist="uniform", low=f"{mean * 0.5!r}s", high=f"{mean!r}s"),
        spec(dist="deterministic", value=f"{mean!r}s"),
        spec(dist="empirical", samples=[f"{mean!r}s", f"{2 * mean!r}s", "0s"]),
    ]
    for s in specs:
        t = s.scaled(factor)
        assert type(t) is type(s)
        assert t.expected() == pytest.approx(s.expected() * factor, rel=1e-12)
        assert t.variance() == pytest.approx(s.variance() * factor**2, rel=1e-12)
        assert s.scaled(1.0) == s or isinstance(s, Empirical)


@pytest.mark.parametrize("factor", [0, -1, math.inf, math.nan, True])
def test_scaled_rejects_bad_factors(factor: float) -> None:
    with pytest.raises(ValueError, match="scale factor"):
        spec(dist="exponential", mean="1min").scaled(factor)
    with pytest.raises(ValueError, match="scale factor"):
        make_sampler(spec(dist="exponential", mean="1min"), np.random.default_rng(0), scale=factor)


# --------------------------------------------------------------------------- samplers


def test_same_seed_and_block_give_same_sequence() -> None:
    s = spec(dist="gamma", mean="5min", cv=0.7)
    for block in (1, 7, 2048):
        a = make_sampler(s, np.random.default_rng(3), block=block)
        b = make_sampler(s, np.random.default_rng(3), block=block)
        assert [a() for _ in range(5000)] == [b() for _ in range(5000)]


def test_sampler_values_follow_draw_order() -> None:
    rng = np.random.default_rng(11)
    expected = np.random.default_rng(11).random(10).tolist()
    u = uniform_sampler(rng, block=4)
    assert [u() for _ in range(10)] == expected
    assert all(isinstance(u(), float) for _ in range(10))


def test_helper_samplers() -> None:
    u = draw_many(uniform_sampler(np.random.default_rng(SEED)))
    assert u.min() >= 0 and u.max() < 1
    check_moments(u, 0.5, 1 / 12, 1 / 80)
    e = draw_many(exponential_sampler(np.random.default_rng(SEED), 42.0))
    check_moments(e, 42.0, 42.0**2, 9 * 42.0**4)
    with pytest.raises(ValueError, match="mean"):
        exponential_sampler(np.random.default_rng(0), 0.0)


@pytest.mark.parametrize("block", [0, -3, 2.5, True])
def test_block_must_be_positive_int(block: Any) -> None:
    with pytest.raises(ValueError, match="block"):
        make_sampler(spec(dist="exponential", mean="1min"), np.random.default_rng(0), block=block)


def test_sampler_repr_and_pickling() -> None:
    sampler = make_sampler(spec(dist="exponential", mean="1min"), np.random.default_rng(0))
    assert "exponential" in repr(sampler)
    assert isinstance(sampler, BlockSampler) and sampler.block == 2048
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(sampler)


# --------------------------------------------------------------------------- Empirical from CSV


def load(tmp_path: Path, content: str | bytes, name: str = "times.csv", **fields: Any) -> Any:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return ADAPTER.validate_python({"dist": "empirical", "file": name, **fields}, context={"base_dir": tmp_path})


def test_csv_with_header(tmp_path: Path) -> None:
    s = load(tmp_path, "handle_time\n30\n45\n60\n")
    assert s.values == (30.0, 45.0, 60.0)
    assert s.expected() == 45.0
    assert s.variance() == pytest.approx(150.0)


def test_csv_without_header_and_blank_lines(tmp_path: Path) -> None:
    assert load(tmp_path, "30\n\n45.5\n  \n60\n").values == (30.0, 45.5, 60.0)


def test_csv_unit_minutes(tmp_path: Path) -> None:
    assert load(tmp_path, "x\n1\n2.5\n", unit="min").values == (60.0, 150.0)
    assert load(tmp_path, "0.5\n", unit="h").values == (1800.0,)


def test_csv_named_column(tmp_path: Path) -> None:
    s = load(tmp_path, "id,handle_s,lang\n1,30,de\n2,45,fr\n", column="handle_s")
    assert s.values == (30.0, 45.0)


def test_csv_byte_order_mark(tmp_path: Path) -> None:
    s = load(tmp_path, "\ufeffhandle_s\n12\n".encode("utf-8"), column="handle_s")
    assert s.values == (12.0,)


def test_csv_errors_name_file_and_row(tmp_path: Path) -> None:
    rows = "seconds\n" + "".join(f"{i}\n" for i in range(1, 13)) + "abc\n"
    with pytest.raises(ValidationError, match=r"service_times\.csv row 14: 'abc' is not a number"):
        load(tmp_path, rows, name="service_times.csv")
    with pytest.raises(ValidationError, match=r"times\.csv row 5: 'x' is not a number"):
        load(tmp_path, "s\n1\n\n2\nx\n")  # blank lines still count: rows are the editor's line numbers
    with pytest.raises(ValidationError, match=r"times\.csv row 3: -4 is negative"):
        load(tmp_path, "1\n2\n-4\n")
    with pytest.raises(ValidationError, match=r"row 2: 'nan' is not a finite number"):
        load(tmp_path, "s\nnan\n")
    with pytest.raises(ValidationError, match=r"row 3: empty value"):
        load(tmp_path, "a,b\n1,2\n,3\n", column="a")


def test_csv_column_problems(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"3 columns .*'id', 'handle_s', 'lang'.*column"):
        load(tmp_path, "id,handle_s,lang\n1,30,de\n")
    with pytest.raises(ValidationError, match=r"no column 'handle'; the header names 'id', 'handle_s'"):
        load(tmp_path, "id,handle_s\n1,30\n", column="handle")
    with pytest.raises(ValidationError, match=r"no column 'handle'; the header names none"):
        load(tmp_path, "30\n40\n", column="handle")


def test_csv_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python({"dist": "empirical", "file": "x.csv"}, context={"base_dir": tmp_path})
    assert f"file 'x.csv' not found (looked in {tmp_path.resolve()})" in str(info.value)
    with pytest.raises(ValidationError, match="no samples"):
        load(tmp_path, "")
    with pytest.raises(ValidationError, match="no samples"):
        load(tmp_path, "handle_time\n")
    with pytest.raises(ValidationError, match="not UTF-8"):
        load(tmp_path, b"\xff\xfe\x00\x01garbage")


def test_csv_relative_to_base_dir_or_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("10\n20\n")
    s = ADAPTER.validate_python({"dist": "empirical", "file": "data/t.csv"}, context={"base_dir": tmp_path})
    assert s.values == (10.0, 20.0)
    monkeypatch.chdir(tmp_path)
    assert ADAPTER.validate_python({"dist": "empirical", "file": "data/t.csv"}).values == (10.0, 20.0)


def test_csv_scaled_becomes_inline_samples(tmp_path: Path) -> None:
    s = load(tmp_path, "10\n20\n")
    t = s.scaled(3.0)
    assert t.file is None and t.samples == (30.0, 60.0) and t.values == (30.0, 60.0)
    assert t.expected() == 45.0


def test_empirical_inline_samples_and_rules() -> None:
    s = spec(dist="empirical", samples=["30s", "1min", 0])
    assert s.values == (30.0, 60.0, 0.0)
    hash(s)  # frozen specs are hashable (samples are stored as a tuple)
    for data, fragment in [
        ({}, "exactly one of file"),
        ({"file": "a.csv", "samples": ["1s"]}, "exactly one of file"),
        ({"samples": []}, "samples is empty"),
        ({"samples": ["1s"], "unit": "min"}, "apply only to file"),
        ({"samples": ["1s"], "column": "x"}, "apply only to file"),
        ({"samples": [30]}, "not a duration without a unit"),
        ({"samples": ["-1s"]}, "negative"),
        ({"file": "a.csv", "unit": "d"}, "'s', 'min' or 'h'"),
    ]:
        with pytest.raises(ValidationError) as info:
            spec(dist="empirical", **data)
        assert fragment in str(info.value), (data, str(info.value))


# --------------------------------------------------------------------------- pydantic behaviour


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"dist": "exponential", "mean": "6min", "cv": 1.0}, "Extra inputs are not permitted"),
        ({"dist": "exponential", "mean": "6min", "mena": "1s"}, "Extra inputs are not permitted"),
        ({"dist": "exponential", "mean": 360}, "not a duration without a unit"),
        ({"dist": "exponential", "mean": "0s"}, "must be more than 0"),
        ({"dist": "lognormal", "mean": "6min", "cv": 0}, "greater than 0"),
        ({"dist": "lognormal", "mean": "6min", "cv": True}, "not a number"),
        ({"dist": "gamma", "mean": "6min", "cv": math.inf}, "finite number"),
        ({"dist": "gamma", "mean": "6min"}, "Field required"),
        ({"dist": "uniform", "low": "5min", "high": "2min"}, "low (5min) must be below high (2min)"),
        ({"dist": "uniform", "low": "2min", "high": "2min"}, "must be below high"),
        ({"dist": "deterministic", "value": "-1s"}, "negative"),
    ],
)
def test_spec_validation_errors(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**data)
    assert fragment in str(info.value)


@pytest.mark.parametrize("data", [{"dist": "weibull", "mean": "1min"}, {"dist": "Exponential", "mean": "1min"}])
def test_unknown_dist_lists_allowed_names(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        spec(**data)
    message = str(info.value)
    assert repr(data["dist"]) in message
    for name in DISTRIBUTION_NAMES:
        assert repr(name) in message


@pytest.mark.parametrize("data", [{"mean": "6min"}, "6min", 360])
def test_missing_dist_or_not_a_mapping_lists_allowed_names(data: Any) -> None:
    with pytest.raises(ValidationError) as info:
        ADAPTER.validate_python(data)
    for name in DISTRIBUTION_NAMES:
        assert name in str(info.value)


def test_distribution_names_match_union() -> None:
    schema = ADAPTER.json_schema()
    assert set(schema["discriminator"]["mapping"]) == set(DISTRIBUTION_NAMES)


def test_specs_are_frozen_and_hashable() -> None:
    s = spec(dist="lognormal", mean="6min", cv=0.8)
    with pytest.raises(ValidationError):
        s.mean = 1.0  # type: ignore[misc]
    assert hash(s) == hash(spec(dist="lognormal", mean="360s", cv=0.8))


class _Queue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    handle_time: Distribution
    patience: Distribution | None = None
    sla: Duration = 0.0
    arrivals: Rate = 0.0


def test_json_schema_of_model_with_distribution() -> None:
    schema = _Queue.model_json_schema()
    text = json.dumps(schema)
    for name in ("Exponential", "LogNormal", "Gamma", "Uniform", "Deterministic", "Empirical"):
        assert name in schema["$defs"]
    assert '"propertyName": "dist"' in text
    assert "prefixItems" not in text
    json.loads(text)


def test_model_with_distribution_round_trips_through_json(tmp_path: Path) -> None:
    q = _Queue.model_validate(
        {"handle_time": {"dist": "gamma", "mean": "6min", "cv": 0.7}, "sla": "20s", "arrivals": "1400/h",
         "patience": {"dist": "empirical", "samples": ["30s", "2min"]}}
    )
    assert isinstance(q.handle_time, Gamma) and q.handle_time.mean == 360.0
    again = _Queue.model_validate_json(q.model_dump_json())
    assert again == q
    assert isinstance(again.patience, Empirical) and again.patience.values == (30.0, 120.0)


def test_deterministic_and_uniform_specs_direct() -> None:
    assert Deterministic(dist="deterministic", value="2min").expected() == 120.0
    u = Uniform(dist="uniform", low=0, high="1min")
    assert u.expected() == 30.0 and u.variance() == pytest.approx(300.0)
