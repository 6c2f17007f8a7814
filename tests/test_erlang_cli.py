"""`simsupport erlang`: targets as 0.8 or 80%, unstable queues explained, what a staffing achieves,
the blame on the right option, and huge loads answered at once (Erlang B and C in constant time per
agent count, the fewest agents found about the square-root rule).
"""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
from click.testing import CliRunner
from simsupport import theory
from simsupport.cli import main
from simsupport.cli.erlang import erlang
from simsupport.theory import erlang as erlang_module
from simsupport.theory import staffing as staffing_module
from simsupport.theory.erlang import erlang_b_sequence
from simsupport.theory.poisson import erlang_b_large, log_cdf, log_pmf
from simsupport.units import format_duration


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(erlang, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return 0 if info.value.code is None else int(info.value.code)


def row(output: str, label: str) -> str:
    for line in output.splitlines():
        if label in line:
            cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
            return cells[-1]
    raise AssertionError(f"no row {label!r} in:\n{output}")


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# -- the target --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["80%", "0.8", "80.0%"])
def test_target_as_share_or_percent(target: str) -> None:
    code, out, _ = run("staff", "--rate", "100/h", "--aht", "6min", "--target", target)
    assert code == 0, out
    assert row(out, "agents needed") == str(theory.min_agents_erlang_c(100 / 3600, 360.0, 20.0, 0.8))
    assert "agents for 80.0% within 20s" in out


@pytest.mark.parametrize(("target", "words"), [("80", "did you mean 80%?"), ("100%", "between 0 and 1"),
                                              ("0%", "between 0 and 1"), ("most", "is not a share")])  # fmt: skip
def test_a_bad_target_is_named(target: str, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["erlang", "staff", "--rate", "100/h", "--aht", "6min", "--target", target]) == 2
    err = capsys.readouterr().err
    assert "'--target'" in err and words in err and "Traceback" not in err


# -- unstable queues and zero times --------------------------------------------------------------------------------


def test_an_unstable_queue_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["erlang", "c", "-n", "12", "--rate", "123/h", "--aht", "6min"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "'--agents'" in err
    assert "12.3 erlangs of load need at least 13 agents" in err
    assert "-n 13" in err and "--patience" in err
    # 13 agents are enough for Erlang C, and 12 with patience are fine (Erlang A)
    assert exit_code(["erlang", "c", "-n", "13", "--rate", "123/h", "--aht", "6min"]) == 0
    assert exit_code(["erlang", "c", "-n", "12", "--rate", "123/h", "--aht", "6min", "--patience", "3min"]) == 0


@pytest.mark.parametrize(
    ("option", "argv"),
    [
        ("--aht", ["c", "-n", "10", "--rate", "1/min", "--aht", "0s"]),
        ("--aht", ["c", "-n", "10", "--rate", "1/min", "--aht", "-5s"]),
        ("--aht", ["staff", "--rate", "1/min", "--aht", "0min"]),
        ("--aht", ["b", "-n", "10", "--rate", "1/min", "--aht", "0s"]),
        ("--rate", ["c", "-n", "10", "--rate", "0/h", "--aht", "6min"]),
        ("--patience", ["c", "-n", "10", "--rate", "1/min", "--aht", "6min", "--patience", "0s"]),
    ],
)
def test_zero_or_negative_times_blame_their_option(option: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["erlang", *argv]) == 2
    err = capsys.readouterr().err
    assert f"Invalid value for {option}" in err, err
    assert "--agents" not in err and "Traceback" not in err


# -- what a staffing achieves ---------------------------------------------------------------------------------------


def test_staff_prints_service_level_asa_and_occupancy() -> None:
    code, out, _ = run("staff", "--rate", "100/h", "--aht", "6min", "--within", "20s", "--target", "80%")
    assert code == 0
    n = int(row(out, "agents needed"))
    m = theory.erlang_c_metrics(n, 100 / 3600, 360.0)
    assert row(out, "service level (20s)") == pct(m.service_level(20.0))
    assert m.service_level(20.0) >= 0.8 > theory.erlang_c_metrics(n - 1, 100 / 3600, 360.0).service_level(20.0)
    assert row(out, "ASA") == format_duration(m.mean_wait)
    assert row(out, "occupancy") == pct(m.occupancy)
    assert row(out, "P(wait)") == pct(m.p_wait)


def test_staff_with_patience_prints_erlang_a() -> None:
    code, out, _ = run("staff", "--rate", "100/h", "--aht", "6min", "--patience", "3min", "--target", "0.9")
    assert code == 0
    n = int(row(out, "agents needed"))
    assert n == theory.min_agents_erlang_a(100 / 3600, 360.0, 180.0, 20.0, 0.9)
    a = theory.erlang_a(n, 100 / 3600, 360.0, 180.0)
    assert row(out, "service level (20s)") == pct(a.service_level(20.0))
    assert row(out, "P(abandon)") == pct(a.p_abandon)
    assert row(out, "occupancy") == pct(a.occupancy)
    assert row(out, "ASA (answered)") == format_duration(a.mean_wait_served)


# -- huge loads ------------------------------------------------------------------------------------------------


def test_a_huge_rate_is_answered_at_once() -> None:
    start = time.perf_counter()
    code, out, _ = run("staff", "--rate", "1e12/h", "--aht", "6min", "--target", "80%")
    assert code == 0, out
    assert time.perf_counter() - start < 5.0
    n = int(row(out, "agents needed").replace(",", ""))
    lam, a = 1e12 / 3600, 1e11
    assert a < n < a + 5 * math.sqrt(a)  # about the square-root rule
    sl = theory.erlang_c_metrics(n, lam, 360.0).service_level(20.0)
    assert sl >= 0.8 > theory.erlang_c_metrics(n - 1, lam, 360.0).service_level(20.0)


def test_erlang_a_refuses_beyond_its_size_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    assert exit_code(["erlang", "staff", "--rate", "1e12/h", "--aht", "6min", "--patience", "3min"]) == 2
    assert time.perf_counter() - start < 5.0
    err = " ".join(capsys.readouterr().err.split())
    assert "'--patience'" in err and "leave --patience out" in err and "square-root rule" in err


def test_search_time_does_not_grow_with_the_load() -> None:
    for load in (1e4, 1e6, 1e8, 1e10, 1e11):
        start = time.perf_counter()
        n = theory.min_agents_erlang_c(load / 360, 360.0, 20.0, 0.8)
        assert time.perf_counter() - start < 0.5, load
        assert load < n < load + 5 * math.sqrt(load)


@pytest.mark.parametrize("load", [5_000.5, 7_777.0, 12_000.0, 25_000.0])
@pytest.mark.parametrize(("threshold", "target"), [(20.0, 0.8), (60.0, 0.95), (5.0, 0.5)])
def test_the_local_search_finds_what_enumeration_finds(
    load: float, threshold: float, target: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    lam = load / 360
    fast = theory.min_agents_erlang_c(lam, 360.0, threshold, target)
    fast_a = theory.min_agents_erlang_a(lam, 360.0, 240.0, threshold, target) if load < 15_000 else None
    monkeypatch.setattr(staffing_module, "LARGE_LOAD", math.inf)
    assert fast == theory.min_agents_erlang_c(lam, 360.0, threshold, target)
    if fast_a is not None:
        assert fast_a == theory.min_agents_erlang_a(lam, 360.0, 240.0, threshold, target)


# -- the Poisson law behind it ---------------------------------------------------------------------------------


def _b_by_recursion(n: int, a: float) -> float:
    for k, b in enumerate(erlang_b_sequence(a), start=1):
        if k == n:
            return b
    raise AssertionError


@pytest.mark.parametrize(("n", "a"), [(10, 9.0), (100, 90.0), (1000, 1100.0), (5000, 4000.0), (20000, 20500.0),
                                      (20000, 30000.0), (20000, 1e6), (50, 1e4), (3, 0.001), (12000, 11000.0)])  # fmt: skip
def test_erlang_b_in_constant_time_matches_the_recursion(n: int, a: float) -> None:
    assert erlang_b_large(n, a) == pytest.approx(_b_by_recursion(n, a), rel=1e-10)


def test_log_pmf_and_cdf_against_scipy() -> None:
    """scipy sums k log a - log k! - a, three terms of size n log n: its rounding, a few ulps of
    each, is the tolerance (Loader's form has no such cancellation)."""
    stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    for n, a in [(0, 3.0), (7, 3.0), (500, 480.5), (10**6, 10**6 + 2000.0), (900, 1000.0), (10, 1000.0)]:
        size = abs(n * math.log(a)) + math.lgamma(n + 1) + a
        assert log_pmf(n, a) == pytest.approx(stats.poisson.logpmf(n, a), rel=0, abs=8 * 2.2e-16 * size)
        # the cdf as a sum of the pmf (scipy's own logcdf underflows to -inf far below the mean)
        ref = special.logsumexp(stats.poisson.logpmf(np.arange(n + 1), a)) if n <= 1000 else stats.poisson.logcdf(n, a)
        assert log_cdf(n, a) == pytest.approx(ref, rel=1e-9, abs=8 * 2.2e-16 * size)


def test_erlang_a_above_large_n_matches_the_state_array(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [(10_001, 10_000 / 360, 180.0), (20_000, 21_000 / 360, 180.0), (15_000, 14_000 / 360, 100.0)]
    big = [theory.erlang_a(n, lam, 360.0, p) for n, lam, p in cases]
    monkeypatch.setattr(erlang_module, "LARGE_N", 10**9)
    for (n, lam, p), x in zip(cases, big):
        y = theory.erlang_a(n, lam, 360.0, p)
        for attr in ("p_wait", "p_abandon", "occupancy", "mean_wait_served"):
            assert getattr(x, attr) == pytest.approx(getattr(y, attr), rel=1e-9, abs=1e-300), attr
        assert x.service_level(20.0) == pytest.approx(y.service_level(20.0), rel=1e-9)
