"""The regression check: `simsupport baseline` / `simsupport check` and simsupport.regression.

- statistics: Holm's step-down procedure against closed testing with Bonferroni local tests
  (its definition), Welch's p-value against scipy and the textbook formula, degenerate spreads;
- compare(): every verdict (same, within noise, within tolerance, regression, changed, missing,
  new, untestable), metric patterns, Holm's family including identical metrics;
- the command line: an injected +10% handle time on one category fails the check (exit 1) with
  regressions in service level / ASA / occupancy, `scenario_changed`, JSON and JUnit reports;
  seed noise alone passes at the promised family-wise false-alarm rate (binomial test);
  the rerun follows the baseline's seed, replications and horizon; missing and corrupt baselines
  and bad configs are exit 2 with one paragraph; `baseline` writes its metadata and the values
  of every replication, and an immediate `check --mode exact` passes.

Scenarios are tiny M/M/n+M desks written to tmp_path (a few hundred simulated minutes, 6-8
replications, well under a second each). Exit codes go through `simsupport.cli.main` (what the
console script runs); CliRunner on `cli` would turn a ScenarioError into exit 1.
The long false-alarm runs are marked `validation` (`pytest -m validation`).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import simsupport
from helpers_sim import exponential, mmn_dict
from simsupport.cli import main
from simsupport.experiment.replications import run_replications
from simsupport.stats import summarize
from simsupport.outputs.summary import scenario_hash
from simsupport.regression.baseline import load_for_run, read_baseline, run_metrics
from simsupport.regression.compare import (
    DEFAULT_METRICS,
    FAILING,
    CheckConfig,
    ScenarioCheck,
    Tolerance,
    compare,
    holm,
    welch_p,
)

# -- scenarios --------------------------------------------------------------------------------------------
NAME = "tiny-desk"


def tiny(seed: int = 7, **changes: Any) -> dict[str, Any]:
    """M/M/5+M, 1 call/min, two categories, 400 min, 6 replications (~0.03 s)."""
    d = mmn_dict(agents=5, rate=1.0, mean_handle=4.0, patience=5.0, horizon=400, warmup=30, replications=6,
                 interval=50, seed=seed, classes=[("a", 0.5, 0), ("b", 0.5, 0)], name=NAME)  # fmt: skip
    d.update(changes)
    return d


def busy(seed: int = 1, slow_a: bool = False) -> dict[str, Any]:
    """M/M/46+M, 10 calls/min, categories a (80%) and b (20%), 400 min, 8 replications (~0.2 s).

    Big enough that +10% handle time on category `a` is detected with certainty in practice
    (30 of 30 seeds tried while writing this test flagged it; occupancy moves by ~+6.5%).
    """
    d = mmn_dict(agents=46, rate=10.0, mean_handle=4.0, patience=10.0, horizon=400, warmup=30, replications=8,
                 seed=seed, classes=[("a", 0.8, 0), ("b", 0.2, 0)], name="busy-desk")  # fmt: skip
    if slow_a:
        d["categories"]["a"]["handle_time"] = exponential(4.4)
    return d


def write_scenario(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def metrics_of(data: dict[str, Any], **overrides: Any) -> dict[str, list[float]]:
    from helpers_sim import build

    d = copy.deepcopy(data)
    d.update(overrides)
    return run_metrics(build(d))


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the `simsupport` console script."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out, err


def one_paragraph(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err


def means(metrics: dict[str, list[float]]) -> dict[str, float]:
    out = {}
    for m, v in metrics.items():
        a = np.asarray(v, dtype=float)
        a = a[np.isfinite(a)]
        out[m] = float(a.mean()) if len(a) else math.nan
    return out


def same_number(x: float | None, y: float) -> bool:
    return (x is None and math.isnan(y)) or (x is not None and x == y)


# -- 1. Holm and Welch ------------------------------------------------------------------------------------
def holm_closed_testing(p: list[float], alpha: float) -> list[bool]:
    """Holm by its definition: closed testing with Bonferroni local tests. H_i is rejected iff
    every intersection hypothesis H_S with i in S is rejected, i.e. min_{j in S} p_j <= alpha/|S|."""
    m = len(p)
    subsets = [s for k in range(1, m + 1) for s in itertools.combinations(range(m), k)]
    rejected_s = {s: min(p[j] for j in s) <= alpha / len(s) for s in subsets}
    return [all(rejected_s[s] for s in subsets if i in s) for i in range(m)]


def test_holm_textbook_example() -> None:
    # m = 4, alpha 0.05: thresholds 0.0125, 0.01667, 0.025, 0.05 in p order
    assert holm([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]
    assert holm([0.01, 0.015, 0.06, 0.005], 0.05) == [True, True, False, True]
    assert holm([0.03, 0.03, 0.001], 0.05) == [False, False, True]  # tie above 0.05/2: neither
    assert holm([0.01, 0.015, 0.02, 0.005], 0.05) == [True, True, True, True]
    assert holm([0.02, 0.001], 0.05) == [True, True]
    assert holm([0.03, 0.03], 0.05) == [False, False]  # tie: both above 0.025
    assert holm([0.025, 0.025], 0.05) == [True, True]  # tie exactly at alpha/2: both rejected
    assert holm([], 0.05) == []
    assert holm([1.0] * 5, 0.05) == [False] * 5


# p-values from a small grid (ties and values exactly at alpha/k) or anywhere in [0, 1]
_grid = [0.0, 0.001, 0.002, 0.0025, 0.005, 0.01, 0.0125, 0.01 / 3, 0.05 / 3, 0.025, 0.05, 0.2, 1.0]
_pvals = st.lists(st.one_of(st.sampled_from(_grid), st.floats(0.0, 1.0)), min_size=1, max_size=9)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(p=_pvals, alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_equals_closed_bonferroni_testing(p: list[float], alpha: float) -> None:
    assert holm(p, alpha) == holm_closed_testing(p, alpha)


def test_holm_on_seeded_random_vectors_with_ties() -> None:
    rng = random.Random(20240601)
    checked = 0
    for _ in range(2000):
        m = rng.randint(1, 10)
        pool = [rng.choice(_grid) for _ in range(3)] + [rng.random() * 0.05 for _ in range(2)]
        p = [rng.choice(pool) for _ in range(m)]  # few distinct values: many ties
        alpha = rng.choice([0.01, 0.05])
        got = holm(p, alpha)
        assert got == holm_closed_testing(p, alpha), (p, alpha)
        # tied p-values always get the same decision
        for i, j in itertools.combinations(range(m), 2):
            if p[i] == p[j]:
                assert got[i] == got[j], (p, alpha)
        checked += 1
    assert checked == 2000


def welch_textbook(a: np.ndarray, b: np.ndarray) -> float:
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def test_welch_p_matches_scipy_and_the_formula() -> None:
    rng = np.random.default_rng(42)
    for _ in range(500):
        na, nb = rng.integers(2, 12, size=2)
        a = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 3), na)
        b = rng.normal(rng.uniform(-1, 1), rng.uniform(0.1, 3), nb)
        p = welch_p(a, b)
        assert p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12, abs=1e-300)
        assert p == pytest.approx(welch_textbook(a, b), rel=1e-8, abs=1e-300)
        assert 0.0 <= p <= 1.0
    # one sample constant, the other not: still Welch (the constant side has zero variance)
    a, b = np.array([3.0, 3.0, 3.0, 3.0]), np.array([2.0, 4.0, 3.5, 5.0, 2.5])
    assert welch_p(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "n_a", "n_b"),
    [(5.0, 6, 6), (5.0, 6, 4), (0.0, 8, 3), (0.1, 6, 6), (0.1, 6, 5), (0.7, 6, 4), (912.7555772777217, 7, 9)],
)
def test_welch_p_both_constant_and_equal_is_one(value: float, n_a: int, n_b: int) -> None:
    """Zero spread on both sides and the same value: no evidence of change, p = 1 exactly.

    Regression: values that are not exact binary fractions, with sample sizes that differ (e.g.
    a replication NaN on one side), failed: np.full(6, 0.1).var(ddof=1) is 2.3e-34, not 0, so
    the degenerate branch was skipped and scipy's t-test on rounding noise said p = 0.076
    (p = 0.0027 for 912.7555772777217 with 7 vs 9 values)."""
    a, b = np.full(n_a, value), np.full(n_b, value)
    assert welch_p(a, b) == 1.0


@pytest.mark.parametrize(("x", "y", "n_a", "n_b"), [(5.0, 6.0, 6, 6), (0.0, 1.0, 4, 7), (0.1, 0.2, 6, 6), (0.7, 0.3, 6, 4)])
def test_welch_p_both_constant_and_different_is_zero(x: float, y: float, n_a: int, n_b: int) -> None:
    assert welch_p(np.full(n_a, x), np.full(n_b, y)) == pytest.approx(0.0, abs=1e-12)


def test_compare_does_not_flag_a_constant_metric_that_lost_replications() -> None:
    """A metric with the same value in every replication, undefined (NaN) in two replications
    of the rerun, did not move: it must not be a regression (it was: see the Welch test above)."""
    v = 912.7555772777217
    rows = compare({"overall.all.x": [v] * 9}, {"overall.all.x": [v] * 7 + [math.nan] * 2}, CheckConfig(alpha=0.01))
    assert [r.verdict for r in rows] == ["within noise"], rows


# -- 2. compare() -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_runs() -> dict[str, dict[str, list[float]]]:
    return {"a": metrics_of(tiny()), "b": metrics_of(tiny()), "other_seed": metrics_of(tiny(seed=8))}


def test_identical_runs_are_all_same_and_pass(tiny_runs: dict[str, dict[str, list[float]]]) -> None:
    old, new = tiny_runs["a"], tiny_runs["b"]
    assert old == new or all(np.array_equal(old[m], new[m], equal_nan=True) for m in old)  # deterministic
    for mode in ("statistical", "exact"):
        rows = compare(old, new, CheckConfig(mode=mode))
        assert len(rows) > 40
        assert {r.verdict for r in rows} == {"same"}
        assert all(math.isnan(r.p_value) for r in rows)
        check = ScenarioCheck(NAME, "x.json", mode, 0.01, False, "0", rows)
        assert check.passed and check.failures == []
    selected = {m for m in old if CheckConfig().selects(m)}
    assert {r.metric for r in compare(old, new, CheckConfig())} == selected


def test_exact_mode_flags_any_single_replication_change(tiny_runs: dict[str, dict[str, list[float]]]) -> None:
    old = tiny_runs["a"]
    for metric in ("overall.all.occupancy", "by_channel.phone.asa_s", "by_tier.L1.wait_p90_s"):
        for k in (0, 5):
            new = copy.deepcopy(old)
            new[metric][k] = float(np.nextafter(new[metric][k], math.inf))  # one ulp in one replication
            rows = {r.metric: r for r in compare(old, new, CheckConfig(mode="exact"))}
            assert rows[metric].verdict == "changed"
            assert {r.verdict for m, r in rows.items() if m != metric} == {"same"}
            check = ScenarioCheck(NAME, "x.json", "exact", 0.01, False, "0", list(rows.values()))
            assert not check.passed and [r.metric for r in check.failures] == [metric]
            # the statistical mode sees noise, not a change
            stat = {r.metric: r for r in compare(old, new, CheckConfig())}
            assert stat[metric].verdict == "within noise" and stat[metric].p_value > 0.9


def test_exact_mode_flags_a_reseeded_run(tiny_runs: dict[str, dict[str, list[float]]]) -> None:
    rows = compare(tiny_runs["a"], tiny_runs["other_seed"], CheckConfig(mode="exact"))
    changed = {r.metric for r in rows if r.verdict == "changed"}
    assert {"overall.all.occupancy", "overall.all.asa_s", "overall.all.service_level"} <= changed
    # constant metrics (nothing blocked, no retrials, 5 agents) stay "same"
    assert {r.verdict for r in rows if r.metric in ("overall.all.block_rate", "by_tier.L1.agents_on_duty")} == {"same"}


def test_missing_metric_fails_and_new_metric_passes(tiny_runs: dict[str, dict[str, list[float]]]) -> None:
    old, new = copy.deepcopy(tiny_runs["a"]), copy.deepcopy(tiny_runs["a"])
    gone = new.pop("overall.all.asa_s")
    new["overall.all.brand_new"] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for mode in ("statistical", "exact"):
        rows = {r.metric: r for r in compare(old, new, CheckConfig(mode=mode))}
        assert rows["overall.all.asa_s"].verdict == "missing"
        assert rows["overall.all.asa_s"].old == pytest.approx(np.mean(gone)) and math.isnan(rows["overall.all.asa_s"].new)
        assert rows["overall.all.brand_new"].verdict == "new"
        assert math.isnan(rows["overall.all.brand_new"].old) and rows["overall.all.brand_new"].new == 3.5
        check = ScenarioCheck(NAME, "x.json", mode, 0.01, False, "0", list(rows.values()))
        assert [r.metric for r in check.failures] == ["overall.all.asa_s"]
    only_new = {r.metric: r.verdict for r in compare(tiny_runs["a"], new | {"overall.all.asa_s": gone}, CheckConfig())}
    assert only_new["overall.all.brand_new"] == "new"
    assert ScenarioCheck(NAME, "x", "statistical", 0.01, False, "0", compare(tiny_runs["a"], new | {"overall.all.asa_s": gone}, CheckConfig())).passed


def test_nan_metrics() -> None:
    nan = math.nan
    old = {
        "overall.all.gone_undefined": [1.0, 2.0, 3.0, 4.0],  # becomes undefined everywhere
        "overall.all.came_defined": [nan, nan, nan, nan],
        "overall.all.one_value": [nan, nan, 5.0, nan],  # fewer than 2 values on one side
        "overall.all.never_defined": [nan, nan, nan, nan],
        "overall.all.partly": [1.0, nan, 2.0, 3.0],
    }
    new = {
        "overall.all.gone_undefined": [nan, nan, nan, nan],
        "overall.all.came_defined": [1.0, 2.0, 3.0, 4.0],
        "overall.all.one_value": [1.0, 2.0, 3.0, 4.0],
        "overall.all.never_defined": [nan, nan, nan, nan],
        "overall.all.partly": [1.5, 2.5, nan, 2.0],
    }
    rows = {r.metric: r for r in compare(old, new, CheckConfig())}
    # defined before, undefined in every replication now: the metric is gone, which fails
    assert rows["overall.all.gone_undefined"].verdict == "missing"
    for m in ("overall.all.came_defined", "overall.all.one_value"):
        assert rows[m].verdict == "untestable", m
        assert math.isnan(rows[m].p_value)
    # NaN in the same replications on both sides: identical, nothing to test
    assert rows["overall.all.never_defined"].verdict == "same"
    # NaNs are dropped, the finite values tested
    assert rows["overall.all.partly"].verdict == "within noise"
    assert rows["overall.all.partly"].p_value == pytest.approx(welch_p(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 2.0])))
    assert rows["overall.all.partly"].old == 2.0 and rows["overall.all.partly"].new == 2.0
    kept = [r for m, r in rows.items() if m != "overall.all.gone_undefined"]
    assert ScenarioCheck(NAME, "x", "statistical", 0.01, False, "0", kept).passed  # untestable passes
    assert not ScenarioCheck(NAME, "x", "statistical", 0.01, False, "0", list(rows.values())).passed  # a metric gone fails
    exact = {r.metric: r.verdict for r in compare(old, new, CheckConfig(mode="exact"))}
    assert exact["overall.all.never_defined"] == "same" and exact["overall.all.gone_undefined"] == "changed"


SHIFT_OLD = [100.0, 101.0, 99.0, 100.5, 99.5, 100.0]
SHIFT_NEW = [120.0, 121.0, 119.0, 120.5, 119.5, 120.0]  # +20%, p ~ 1e-11


@pytest.mark.parametrize(
    ("tolerance", "verdict"),
    [
        ({"relative": 0.5}, "within tolerance"),
        ({"relative": 0.2}, "within tolerance"),  # |delta| = 20 = 0.2 * 100: the bound is inclusive
        ({"relative": 0.19}, "regression"),
        ({"relative": 0.05}, "regression"),
        ({"absolute": 25.0}, "within tolerance"),
        ({"absolute": 20.0}, "within tolerance"),
        ({"absolute": 10.0}, "regression"),
        (None, "regression"),
    ],
)
def test_tolerances(tolerance: dict[str, float] | None, verdict: str) -> None:
    old = {"overall.all.asa_s": SHIFT_OLD, "overall.all.occupancy": SHIFT_OLD}
    new = {"overall.all.asa_s": SHIFT_NEW, "overall.all.occupancy": SHIFT_NEW}
    tols = {"*.asa_s": tolerance} if tolerance else {}
    rows = {r.metric: r for r in compare(old, new, CheckConfig(tolerances=tols))}
    assert rows["overall.all.asa_s"].p_value < 1e-8
    assert rows["overall.all.asa_s"].verdict == verdict
    assert rows["overall.all.occupancy"].verdict == "regression"  # the pattern does not match it
    passed = ScenarioCheck(NAME, "x", "statistical", 0.01, False, "0", [rows["overall.all.asa_s"]]).passed
    assert passed == (verdict == "within tolerance")


def test_a_tolerance_does_not_turn_noise_into_a_verdict_and_first_pattern_wins() -> None:
    old = {"overall.all.asa_s": [100.0, 110.0, 90.0, 105.0], "overall.all.occupancy": SHIFT_OLD}
    new = {"overall.all.asa_s": [101.0, 109.0, 92.0, 104.0], "overall.all.occupancy": SHIFT_NEW}
    cfg = CheckConfig(tolerances={"overall.all.occupancy": {"absolute": 1.0}, "overall.*": {"relative": 0.5}})
    assert cfg.tolerance("overall.all.occupancy") == Tolerance(absolute=1.0)
    assert cfg.tolerance("overall.all.asa_s") == Tolerance(relative=0.5)
    assert cfg.tolerance("by_channel.phone.asa_s") is None
    rows = {r.metric: r.verdict for r in compare(old, new, cfg)}
    assert rows == {"overall.all.asa_s": "within noise", "overall.all.occupancy": "regression"}


def test_patterns_select_and_ignore() -> None:
    vals = [1.0, 2.0, 3.0]
    names = ["overall.all.asa_s", "overall.all.occupancy", "overall.all.journeys", "by_channel.phone.asa_s",
             "by_category.a.asa_s", "by_pool.agents.occupancy", "worst_hour.all.asa_s", "by_tier.L1.bot_handled"]  # fmt: skip
    data = {m: vals for m in names}
    default = {r.metric for r in compare(data, data, CheckConfig())}
    assert default == {"overall.all.asa_s", "overall.all.occupancy", "by_channel.phone.asa_s"}
    assert CheckConfig().metrics == list(DEFAULT_METRICS)
    cfg = CheckConfig(metrics=["*.asa_s", "by_pool.*"], ignore=["by_category.*"])
    assert {r.metric for r in compare(data, data, cfg)} == {
        "overall.all.asa_s", "by_channel.phone.asa_s", "worst_hour.all.asa_s", "by_pool.agents.occupancy"}  # fmt: skip
    # an ignored metric cannot fail, even when it is missing from the new run
    gone = {m: v for m, v in data.items() if m != "by_category.a.asa_s"}
    assert all(r.verdict == "same" for r in compare(data, gone, cfg))
    assert [r.verdict for r in compare(data, gone, CheckConfig(metrics=["by_category.*"]))] == ["missing"]
    assert compare(data, data, CheckConfig(metrics=["nothing.*"])) == []


def test_identical_metrics_count_in_holms_family() -> None:
    old_x, new_x = [10.0, 11.0, 12.0, 10.5, 11.5, 11.0], [11.5, 12.5, 13.0, 12.0, 12.5, 12.0]
    p = welch_p(np.array(old_x), np.array(new_x))
    alpha = 2 * p  # rejected alone (p <= alpha), not among 10 (p > alpha / 10)
    assert 0 < alpha < 0.5
    alone = compare({"overall.all.x": old_x}, {"overall.all.x": new_x}, CheckConfig(alpha=alpha))
    assert [(r.verdict, r.p_value) for r in alone] == [("regression", p)]
    same = {f"overall.all.same{i}": [1.0, 2.0, 3.0] for i in range(9)}
    crowd = compare({"overall.all.x": old_x} | same, {"overall.all.x": new_x} | same, CheckConfig(alpha=alpha))
    verdicts = {r.metric: r.verdict for r in crowd}
    assert verdicts.pop("overall.all.x") == "within noise"
    assert set(verdicts.values()) == {"same"}


# -- 3. an injected change is caught ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Baseline of the busy desk, then `check` of a copy with +10% mean handle time on `a`."""
    base = tmp_path_factory.mktemp("injected")
    bl = base / "baselines"
    scenario = write_scenario(base / "busy.yaml", busy())
    with pytest.raises(SystemExit) as info:
        main(["baseline", str(scenario), "--out", str(bl), "-w", "1"])
    assert info.value.code in (0, None)
    write_scenario(scenario, busy(slow_a=True))
    return {"scenario": scenario, "baselines": bl, "report": base / "report.json", "junit": base / "report.xml"}


@pytest.fixture(scope="module")
def injected_check(injected: dict[str, Any]) -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
        main(["check", str(injected["scenario"]), "--baseline", str(injected["baselines"]), "-w", "1",
              "--report", str(injected["report"]), "--junit", str(injected["junit"])])  # fmt: skip
    return {"code": info.value.code, "stdout": out.getvalue(), "report": json.loads(injected["report"].read_text())}


def test_injected_handle_time_change_fails_the_check(injected_check: dict[str, Any]) -> None:
    assert injected_check["code"] == 1, injected_check["stdout"]
    doc = injected_check["report"]
    assert doc["passed"] is False
    (sc,) = doc["scenarios"]
    assert sc["scenario"] == "busy-desk" and sc["passed"] is False
    assert sc["scenario_changed"] is True  # the file changed, not the code
    assert sc["mode"] == "statistical" and sc["alpha"] == 0.01
    failing = {f["metric"]: f for f in sc["failures"]}
    assert failing and {f["verdict"] for f in failing.values()} == {"regression"}
    key = [m for m in failing if m.rsplit(".", 1)[1] in ("service_level", "asa_s", "occupancy")]
    assert "overall.all.occupancy" in key, sorted(failing)
    assert any(m.endswith((".asa_s", ".service_level")) for m in key), sorted(failing)
    # every regression points the way slower handling pushes it
    worse_up = ("occupancy", "asa_s", "mean_wait_s", "abandon_rate", "abandoned", "p_wait", "mean_queue",
                "wait_p90_s", "wait_p99_s", "sla_breach_rate", "resolution_time_s", "resolution_p90_s")  # fmt: skip
    for m, f in failing.items():
        short = m.rsplit(".", 1)[1]
        if short in worse_up:
            assert f["delta"] > 0, (m, f)
        elif short in ("service_level", "answered"):
            assert f["delta"] < 0, (m, f)
        else:
            pytest.fail(f"unexpected regression {m}: {f}")
        assert f["p_value"] < 0.01
    # occupancy rises by about the added work: +10% on 80% of it, a little less for abandonment
    assert 0.04 < failing["overall.all.occupancy"]["relative"] < 0.09


def test_injected_change_junit(injected: dict[str, Any], injected_check: dict[str, Any]) -> None:
    text = injected["junit"].read_text(encoding="utf-8")
    assert text.startswith("<?xml")
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    sc = injected_check["report"]["scenarios"][0]
    cases = suite.findall("testcase")
    assert suite.get("name") == "busy-desk"
    assert int(suite.get("tests")) == len(cases) == sc["compared"] == len(sc["metrics"])
    assert int(suite.get("failures")) == len(sc["failures"]) > 0 and suite.get("errors") == "0"
    props = {p.get("name"): p.get("value") for p in suite.find("properties").findall("property")}
    assert props["mode"] == "statistical" and float(props["alpha"]) == 0.01 and props["scenario_changed"] == "True"
    assert props["baseline"].endswith("busy-desk.json")
    assert props["baseline_version"] == simsupport.__version__
    failed = {}
    for case in cases:
        assert case.get("classname") == "simsupport.busy-desk"
        fails = case.findall("failure")
        assert len(fails) <= 1 and not case.findall("error")
        if fails:
            failed[case.get("name")] = fails[0]
    assert set(failed) == {f["metric"] for f in sc["failures"]}
    for el in failed.values():
        assert el.get("type") == "regression"
        assert el.get("message").startswith("regression: ") and "p = " in el.get("message")
        assert "the scenario file changed since the baseline" in el.get("message")
        assert el.text == el.get("message")


# -- 8. the JSON report agrees with itself and with the console ---------------------------------------------
def test_json_report_structure_matches_console(injected_check: dict[str, Any]) -> None:
    doc = injected_check["report"]
    assert set(doc) == {"passed", "scenarios"}
    (sc,) = doc["scenarios"]
    assert set(sc) >= {"scenario", "baseline", "baseline_version", "mode", "alpha", "scenario_changed", "passed",
                       "compared", "failures", "metrics"}  # fmt: skip
    assert sc["compared"] == len(sc["metrics"]) > 40
    assert sc["failures"] == [r for r in sc["metrics"] if r["verdict"] in FAILING]
    assert sc["passed"] == (not sc["failures"]) and doc["passed"] == sc["passed"]
    for r in sc["metrics"]:
        assert set(r) == {"metric", "old", "new", "delta", "relative", "p_value", "verdict"}
        if r["old"] is not None and r["new"] is not None:
            assert r["delta"] == pytest.approx(r["new"] - r["old"], rel=1e-12, abs=1e-12)
        if r["verdict"] in ("regression", "within noise", "within tolerance"):
            assert 0.0 <= r["p_value"] <= 1.0
        if r["verdict"] == "same":
            assert r["p_value"] is None and r["delta"] == 0.0
    # console: the summary line and one table row per moved metric (up to 30), same verdict
    out = injected_check["stdout"]
    moved = [r for r in sc["metrics"] if r["verdict"] != "same"]
    assert f"busy-desk: {len(sc['failures'])} regression(s); {sc['compared']} metrics compared (statistical, alpha 0.01), {len(moved)} moved (the scenario file changed since the baseline)" in out
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 6 and cells[0] not in ("metric", ""):
            rows[cells[0]] = cells
    assert len(rows) == min(len(moved), 30)
    for f in sc["failures"]:  # failures sort first: all of them are shown
        assert rows[f["metric"]][5] == f["verdict"]
        assert float(rows[f["metric"]][4]) == pytest.approx(f["p_value"], rel=0.06)
        assert float(rows[f["metric"]][2]) == pytest.approx(f["new"], rel=1e-4)
    by_name = {r["metric"]: r for r in sc["metrics"]}
    for name, cells in rows.items():
        if not name.startswith("..."):
            assert by_name[name]["verdict"] == cells[5]


# -- 4. seed noise alone is not caught --------------------------------------------------------------------
def false_alarms(pairs: int, alpha: float, runs: list[dict[str, list[float]]]) -> tuple[int, int]:
    fams = 0
    for i in range(pairs):
        rows = compare(runs[2 * i], runs[2 * i + 1], CheckConfig(alpha=alpha))
        fams += any(r.verdict == "regression" for r in rows)
    return fams, pairs


def seed_noise(pairs: int, scenario: Any, first_seed: int) -> dict[float, tuple[int, int]]:
    """Independent pairs (seed 2i as baseline, 2i+1 as rerun): families with any regression."""
    runs = [metrics_of(scenario(seed=first_seed + s)) for s in range(2 * pairs)]
    result = {}
    for alpha in (0.05, 0.01):
        fams, n = false_alarms(pairs, alpha, runs)
        result[alpha] = (fams, n)
        tail = stats.binomtest(fams, n, alpha, alternative="greater").pvalue
        print(f"\nfalse alarms at alpha {alpha}: {fams}/{n} = {fams / n:.4f} (P(X >= {fams}) = {tail:.3g})")
        assert tail > 1e-3, (alpha, fams, n)
    return result


def test_seed_noise_alone_passes_at_the_promised_rate() -> None:
    result = seed_noise(40, tiny, first_seed=1000)
    assert result[0.01][0] <= result[0.05][0]  # a stricter alpha never alarms more


@pytest.mark.validation
def test_seed_noise_alone_passes_at_the_promised_rate_many_pairs() -> None:
    result = seed_noise(1000, tiny, first_seed=50_000)
    assert result[0.01][0] <= result[0.05][0]


@pytest.mark.validation
def test_seed_noise_alone_passes_at_the_promised_rate_busy_desk() -> None:
    result = seed_noise(150, lambda seed: busy(seed=seed), first_seed=90_000)
    assert result[0.01][0] <= result[0.05][0]


# -- 5. the rerun follows the baseline's seed, replications and horizon ----------------------------------
@pytest.fixture
def desk(tmp_path: Path) -> dict[str, Path]:
    return {"scenario": write_scenario(tmp_path / "desk.yaml", tiny()), "bl": tmp_path / "bl", "tmp": tmp_path}


def edit_baseline(path: Path, **changes: Any) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc), encoding="utf-8")


def report_means(report: Path) -> dict[str, float | None]:
    (sc,) = json.loads(report.read_text())["scenarios"]
    return {r["metric"]: r["new"] for r in sc["metrics"]}


def test_check_uses_the_stored_horizon_and_replications(desk: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    scenario, bl, report = desk["scenario"], desk["bl"], desk["tmp"] / "r.json"
    code, out, _ = cli(["baseline", str(scenario), "--out", str(bl), "--horizon", "250min", "-r", "3", "-w", "1"], capsys)
    assert code == 0 and "3 replications (seed 7, horizon 250min)" in out
    doc = json.loads((bl / f"{NAME}.json").read_text())
    assert doc["horizon"] == "250min" and doc["replications"] == 3 and doc["seed"] == 7
    assert all(len(v) == 3 for v in doc["metrics"].values())
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 0, out
    (sc,) = json.loads(report.read_text())["scenarios"]
    assert {r["verdict"] for r in sc["metrics"]} == {"same"} and sc["scenario_changed"] is False
    expected = means(run_metrics(load_for_run(scenario, horizon="250min", replications=3)))
    own = means(run_metrics(load_for_run(scenario)))  # the file's 400 min x 6 would differ
    got = report_means(report)
    assert all(same_number(got[m], expected[m]) for m in got)
    assert got["overall.all.offered"] != own["overall.all.offered"]

    # fewer replications in the baseline (values truncated to match): the rerun runs 2
    edit_baseline(bl / f"{NAME}.json", replications=2, metrics={m: v[:2] for m, v in doc["metrics"].items()})
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 0, out
    expected2 = means(run_metrics(load_for_run(scenario, horizon="250min", replications=2)))
    assert all(same_number(report_means(report)[m], expected2[m]) for m in got)

    # another horizon in the baseline: the rerun runs 300 min (and no longer matches the values)
    edit_baseline(bl / f"{NAME}.json", horizon="300min")
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 1 and "changed" in out
    expected3 = means(run_metrics(load_for_run(scenario, horizon="300min", replications=2)))
    assert all(same_number(report_means(report)[m], expected3[m]) for m in got)


def test_check_uses_the_stored_seed(desk: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A baseline whose seed is edited: the rerun draws other random numbers, as a code change
    that reorders random draws would. Exact mode sees it; the statistical mode sees only noise."""
    scenario, bl, report = desk["scenario"], desk["bl"], desk["tmp"] / "r.json"
    assert cli(["baseline", str(scenario), "--out", str(bl), "-w", "1"], capsys)[0] == 0
    edit_baseline(bl / f"{NAME}.json", seed=8)
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 1
    (sc,) = json.loads(report.read_text())["scenarios"]
    assert {f["verdict"] for f in sc["failures"]} == {"changed"} and len(sc["failures"]) > 20
    expected = means(metrics_of(tiny(seed=8)))
    got = report_means(report)
    assert all(same_number(got[m], expected[m]) for m in got)
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "-w", "1", "--report", str(report)], capsys)
    assert code == 0, out
    (sc,) = json.loads(report.read_text())["scenarios"]
    assert sc["passed"] and "within noise" in {r["verdict"] for r in sc["metrics"]}


def test_seed_and_replications_in_the_file_do_not_matter_after_the_baseline(
    desk: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The file's seed and replications changed since the baseline: the rerun still uses the
    stored ones, so exact mode passes and the scenario the model sees did not change."""
    scenario, bl, report = desk["scenario"], desk["bl"], desk["tmp"] / "r.json"
    assert cli(["baseline", str(scenario), "--out", str(bl), "-w", "1"], capsys)[0] == 0
    write_scenario(scenario, tiny(seed=99, replications=9))
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 0, out
    (sc,) = json.loads(report.read_text())["scenarios"]
    assert {r["verdict"] for r in sc["metrics"]} == {"same"} and sc["scenario_changed"] is False
    # a real change to the file is told apart from a code change
    write_scenario(scenario, tiny(pools=[{"name": "agents", "agents": 6}]))
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "-w", "1", "--report", str(report)], capsys)
    (sc,) = json.loads(report.read_text())["scenarios"]
    assert sc["scenario_changed"] is True and "the scenario file changed since the baseline" in out
    assert code == 1 and "overall.all.occupancy" in {f["metric"] for f in sc["failures"]}


# -- 6. missing and corrupt baselines, bad configs -------------------------------------------------------
def test_missing_baseline(desk: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["check", str(desk["scenario"]), "--baseline", str(desk["bl"]), "-w", "1"], capsys)
    assert code == 2
    one_paragraph(err)
    expected = desk["bl"] / f"{NAME}.json"
    assert str(expected) in err
    assert f"simsupport baseline SCENARIO --out {desk['bl']}" in err


def _corrupt_cases() -> list[Any]:
    def drop(key: str) -> Any:
        return lambda d: d.pop(key)

    def metric(fn: Any) -> Any:
        def edit(d: dict[str, Any]) -> None:
            fn(d["metrics"]["overall.all.occupancy"])

        return edit

    return [
        pytest.param(None, "{ this is not json", ("not readable JSON",), id="not-json"),
        pytest.param(None, "", ("not readable JSON",), id="empty-file"),
        pytest.param(None, "[1, 2, 3]", ("corrupt", "scenario"), id="json-list"),
        *[pytest.param(drop(k), None, ("corrupt", f"`{k}`"), id=f"no-{k}")
          for k in ("scenario", "scenario_hash", "seed", "replications", "metrics")],
        pytest.param(lambda d: d.update(replications="6"), None, ("corrupt", "`replications`"), id="replications-str"),
        pytest.param(lambda d: d.update(metrics=[1, 2]), None, ("corrupt", "`metrics`"), id="metrics-list"),
        pytest.param(metric(lambda v: v.pop()), None, ("corrupt", "overall.all.occupancy", "6 numbers"), id="too-few"),
        pytest.param(metric(lambda v: v.append(0.5)), None, ("corrupt", "overall.all.occupancy", "6 numbers"), id="too-many"),
        pytest.param(metric(lambda v: v.__setitem__(2, "0.7")), None, ("corrupt", "overall.all.occupancy"), id="string-value"),
        pytest.param(metric(lambda v: v.__setitem__(2, True)), None, ("corrupt", "overall.all.occupancy"), id="bool-value"),
        pytest.param(lambda d: d["metrics"].update({"overall.all.occupancy": 0.7}), None,
                     ("corrupt", "overall.all.occupancy"), id="scalar-not-list"),
        pytest.param(lambda d: d.update(format=2), None, ("format 2",), id="newer-format"),
        pytest.param(lambda d: d.update(format="1"), None, ("format",), id="format-str"),
        pytest.param(lambda d: d.update(metrics={}), None, ("metrics",), id="empty-metrics"),
    ]


@pytest.fixture(scope="module")
def good_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("good")
    scenario = write_scenario(base / "desk.yaml", tiny())
    with pytest.raises(SystemExit):
        main(["baseline", str(scenario), "--out", str(base / "bl"), "-w", "1"])
    return {"scenario": scenario, "doc": json.loads((base / "bl" / f"{NAME}.json").read_text())}


@pytest.mark.parametrize(("edit", "raw", "words"), _corrupt_cases())
def test_corrupt_baseline_is_exit_2(
    edit: Any, raw: str | None, words: tuple[str, ...], good_baseline: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Bugs: `"format": "1"` crashes (TypeError, exit 1 "internal error"); `"metrics": {}` is
    accepted and the check passes having compared nothing (every metric "new")."""
    path = tmp_path / "bl" / f"{NAME}.json"
    path.parent.mkdir()
    if raw is None:
        doc = copy.deepcopy(good_baseline["doc"])
        edit(doc)
        raw = json.dumps(doc)
    path.write_text(raw, encoding="utf-8")
    code, out, err = cli(["check", str(good_baseline["scenario"]), "--baseline", str(path.parent), "-w", "1"], capsys)
    assert code == 2, (out, err)
    one_paragraph(err)
    assert str(path) in err
    for w in words:
        assert w in err, (w, err)


def test_read_baseline_roundtrip_and_nulls(good_baseline: dict[str, Any], tmp_path: Path) -> None:
    doc = copy.deepcopy(good_baseline["doc"])
    doc["metrics"]["overall.all.occupancy"][1] = None
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    b = read_baseline(path)
    assert b.scenario == NAME and b.seed == 7 and b.replications == 6 and b.horizon is None and b.path == path
    assert math.isnan(b.metrics["overall.all.occupancy"][1])
    assert b.metrics["overall.all.asa_s"] == doc["metrics"]["overall.all.asa_s"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mode: exact\nthreshold: 3\n", ("threshold",)),
        ("tolerances:\n  '*.asa_s': {relative: 0.1, absolute: 2.0}\n", ("tolerances", "relative", "absolute")),
        ("tolerances:\n  '*.asa_s': {}\n", ("tolerances", "relative", "absolute")),
        ("tolerances:\n  '*.asa_s': {relative: -0.1}\n", ("relative",)),
        ("alpha: 0.7\n", ("alpha",)),
        ("mode: fuzzy\n", ("mode",)),
        ("metrics: overall.all.*\n", ("metrics",)),
        ("mode: [\n", ("YAML",)),
        ("metrics: ['nosuch.*']\n", ("metrics", "nothing would be compared")),
    ],
    ids=["unknown-key", "both-tolerances", "no-tolerance", "negative", "alpha", "mode", "metrics-str", "bad-yaml",
         "matches-nothing"],
)
def test_bad_config_is_exit_2(text: str, words: tuple[str, ...], good_baseline: dict[str, Any], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bl = tmp_path / "bl"
    bl.mkdir()
    (bl / f"{NAME}.json").write_text(json.dumps(good_baseline["doc"]))
    cfg = tmp_path / "check.yaml"
    cfg.write_text(text)
    code, out, err = cli(["check", str(good_baseline["scenario"]), "--baseline", str(bl), "--config", str(cfg), "-w", "1"], capsys)
    assert code == 2, (out, err)
    one_paragraph(err)
    assert str(cfg) in err
    for w in words:
        assert w in err, (w, err)


def test_config_file_and_command_line(good_baseline: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bl = tmp_path / "bl"
    bl.mkdir()
    doc = copy.deepcopy(good_baseline["doc"])
    doc["metrics"]["overall.all.occupancy"][0] += 1e-9  # a change only exact mode sees
    (bl / f"{NAME}.json").write_text(json.dumps(doc))
    cfg = tmp_path / "check.yaml"
    cfg.write_text("mode: exact\nalpha: 0.05\nmetrics: ['overall.all.*']\n")
    argv = ["check", str(good_baseline["scenario"]), "--baseline", str(bl), "-w", "1", "--config", str(cfg)]
    code, out, _ = cli(argv, capsys)
    assert code == 1 and "(exact, alpha 0.05)" in out and "overall.all.occupancy" in out
    assert "by_channel" not in out
    code, out, _ = cli([*argv, "--mode", "statistical", "--alpha", "0.02"], capsys)
    assert code == 0 and "(statistical, alpha 0.02)" in out


@pytest.mark.parametrize("text", ["", "# all defaults\n"], ids=["empty", "comment-only"])
def test_config_with_no_keys_means_defaults(text: str, good_baseline: dict[str, Any], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Every key of the check config is optional, so an empty or comment-only config file
    means the defaults.

    Regression: the YAML reader refused an empty file before the CLI could take it as no keys:
    exit 2 with "the file is empty; a scenario is a YAML mapping"."""
    bl = tmp_path / "bl"
    bl.mkdir()
    (bl / f"{NAME}.json").write_text(json.dumps(good_baseline["doc"]))
    cfg = tmp_path / "check.yaml"
    cfg.write_text(text)
    code, out, err = cli(["check", str(good_baseline["scenario"]), "--baseline", str(bl), "--config", str(cfg), "-w", "1"], capsys)
    assert code == 0, err
    assert "pass; 47 metrics compared (statistical, alpha 0.01)" in out


# -- 7. `baseline` writes metadata and every replication; an immediate check passes -----------------------
def test_baseline_file_contents(desk: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    scenario, bl = desk["scenario"], desk["bl"]
    before = datetime.now(timezone.utc).replace(microsecond=0)
    code, out, _ = cli(["baseline", str(scenario), "--out", str(bl), "-w", "2"], capsys)
    after = datetime.now(timezone.utc)
    assert code == 0
    path = bl / f"{NAME}.json"
    assert f"{NAME}: " in out and "x 6 replications (seed 7)" in out and str(path) in out
    doc = json.loads(path.read_text())
    assert doc["format"] == 1 and doc["scenario"] == NAME
    assert doc["simsupport_version"] == simsupport.__version__
    assert doc["seed"] == 7 and doc["replications"] == 6 and doc["horizon"] is None
    created = datetime.fromisoformat(doc["created"])
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert before <= created <= after
    s = load_for_run(scenario)
    assert doc["scenario_hash"] == scenario_hash(s)
    # the values of every replication, as summarize() gives them (NaN stored as null)
    results = run_replications(s, s.replications)
    flat = [{f"{scope}.{key}.{m}": v for scope, keys in summarize(r).items() for key, ms in keys.items()
             for m, v in ms.items()} for r in results]  # fmt: skip
    assert set(doc["metrics"]) == set().union(*flat)
    for name, values in doc["metrics"].items():
        assert len(values) == 6
        for k, v in enumerate(values):
            want = flat[k].get(name, math.nan)
            assert (v is None and math.isnan(want)) or v == want, (name, k, v, want)
    assert any(None in v for v in doc["metrics"].values())  # the tiny desk has undefined metrics
    # an immediate check passes, exactly, whatever the number of workers
    report = desk["tmp"] / "r.json"
    code, out, _ = cli(["check", str(scenario), "--baseline", str(bl), "--mode", "exact", "-w", "1", "--report", str(report)], capsys)
    assert code == 0 and f"{NAME}: pass; 47 metrics compared (exact, alpha 0.01), 0 moved" in out
    rep = json.loads(report.read_text())
    assert rep["passed"] is True
    (sc,) = rep["scenarios"]
    assert sc["failures"] == [] and sc["scenario_changed"] is False and sc["baseline_version"] == simsupport.__version__
    assert {r["verdict"] for r in sc["metrics"]} == {"same"} and sc["compared"] == 47


def test_baseline_bad_input_is_exit_2(desk: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(["baseline", str(desk["tmp"] / "nope.yaml"), "--out", str(desk["bl"])], capsys)
    assert code == 2 and "nope.yaml" in err
    one_paragraph(err)
    code, _, err = cli(["baseline", str(desk["scenario"]), "--out", str(desk["bl"]), "--horizon", "5 parsecs"], capsys)
    assert code == 2 and "parsecs" in err
    one_paragraph(err)
    code, _, err = cli(["baseline", str(desk["scenario"]), "--out", str(desk["bl"]), "-r", "1"], capsys)
    assert code == 2
    assert not (desk["bl"] / f"{NAME}.json").exists()
