"""Tests of simsupport.theory: exact reference values, textbook identities, properties."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ruamel.yaml import YAML
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from simsupport.theory import (
    ErlangA,
    ErlangC,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    halfin_whitt_beta,
    min_agents_erlang_a,
    min_agents_erlang_b,
    min_agents_erlang_c,
    priority_mean_waits,
    priority_mean_waits_mg1,
    sqrt_staffing,
)

REFERENCE = Path(__file__).parent / "data" / "reference-cases.yaml"
CASES: list[dict[str, Any]] = YAML(typ="safe").load(REFERENCE.read_text(encoding="utf-8"))["cases"]
REL = 1e-7  # reference values are exact (12 significant digits)


# ----------------------------------------------------------------------------- reference cases

_PLAIN = {
    "p_wait", "p_abandon", "mean_wait", "mean_wait_served", "mean_wait_abandoned",
    "mean_wait_given_wait", "mean_queue", "occupancy",
}  # fmt: skip
_SL = re.compile(r"^(p_served_within|p_wait_le)_([0-9.]+)(_given_served)?$")
_QUANTILE = re.compile(r"^wait_p([0-9]+)$")
_CLASS = re.compile(r"^class([0-9]+)_(mean_wait|p_wait)$")


def _single_class_value(model: ErlangC | ErlangA, key: str) -> float:
    if key in _PLAIN:
        return float(getattr(model, key))
    if m := _QUANTILE.match(key):
        return model.wait_quantile(int(m.group(1)) / 100)
    if m := _SL.match(key):
        t = float(m.group(2))
        value = getattr(model, m.group(1))(t)
        return value / (1.0 - model.p_abandon) if m.group(3) else value
    raise KeyError(key)


def _priority_value(case: dict[str, Any], key: str) -> float:
    inp = case["inputs"]
    classes = sorted(inp["classes"], key=lambda c: c["priority"])
    handle = {c["mean_handle_time"] for c in classes}
    assert len(handle) == 1, "reference priority cases use a common handle time"
    n, s, rates = inp["agents"], handle.pop(), [c["arrival_rate"] for c in classes]
    waits = priority_mean_waits(n, rates, s)
    if n == 1:  # Cobham's M/G/1 with exponential service must give the same waits
        mg1 = priority_mean_waits_mg1(rates, [s] * len(rates), [2 * s * s] * len(rates))
        assert mg1 == pytest.approx(waits, rel=1e-12)
    fifo = erlang_c_metrics(n, sum(rates), s)
    if m := _CLASS.match(key):
        k = int(m.group(1))
        return waits[k] if m.group(2) == "mean_wait" else fifo.p_wait  # PASTA: every class sees C
    if key == "mean_wait":  # overall mean as measured: arrival-weighted class waits
        return sum(r * w for r, w in zip(rates, waits)) / sum(rates)
    return _single_class_value(fifo, key)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_case(case: dict[str, Any]) -> None:
    inp, exact = case["inputs"], case["exact"]
    if case["model"] == "erlang_c":
        model: ErlangC | ErlangA = erlang_c_metrics(inp["agents"], inp["arrival_rate"], inp["mean_handle_time"])
        value = lambda key: _single_class_value(model, key)  # noqa: E731
    elif case["model"] == "erlang_a":
        model = erlang_a(inp["agents"], inp["arrival_rate"], inp["mean_handle_time"], inp["mean_patience"])
        value = lambda key: _single_class_value(model, key)  # noqa: E731
    elif case["model"] == "priority_np":
        value = lambda key: _priority_value(case, key)  # noqa: E731
    else:
        pytest.skip(f"model {case['model']!r} has no analytic counterpart")
    bad = []
    for key, want in exact.items():
        got = value(key)
        if got != pytest.approx(want, rel=REL):
            bad.append(f"{key}: got {got!r}, exact {want!r}, rel err {abs(got - want) / abs(want):.2e}")
    assert not bad, "\n".join(bad)


def test_reference_cases_cover_all_models() -> None:
    assert {c["model"] for c in CASES} >= {"erlang_c", "erlang_a", "priority_np"}


# ----------------------------------------------------------------------------- Erlang B / C


def _b_direct(n: int, a: Fraction) -> Fraction:
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def _c_direct(n: int, a: Fraction) -> Fraction:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_b_textbook() -> None:
    assert erlang_b(1, 1.0) == 0.5
    assert erlang_b(10, 5.0) == pytest.approx(0.0183846, abs=5e-8)
    assert erlang_b(3, 0.0) == 0.0


@pytest.mark.parametrize(("n", "a"), [(1, "1/2"), (2, "3/2"), (10, "5"), (7, "9.5"), (30, "24.25")])
def test_erlang_b_c_against_direct_summation(n: int, a: str) -> None:
    load = Fraction(a)
    assert erlang_b(n, float(load)) == pytest.approx(float(_b_direct(n, load)), rel=1e-13)
    if load < n:
        assert erlang_c(n, float(load)) == pytest.approx(float(_c_direct(n, load)), rel=1e-13)


@given(st.integers(1, 300), st.floats(0.01, 0.999))
def test_erlang_c_from_b_relation(n: int, rho: float) -> None:
    a = n * rho
    b = erlang_b(n, a)
    assert erlang_c(n, a) == pytest.approx(b / (1 - rho * (1 - b)), rel=1e-12)


def test_erlang_c_unstable_is_one() -> None:
    assert erlang_c(4, 4.0) == 1.0
    assert erlang_c(4, 7.5) == 1.0
    with pytest.raises(ValueError, match="unstable"):
        erlang_c_metrics(4, 2.0, 2.0)


@given(st.floats(0.01, 0.99), st.floats(0.1, 10.0), st.floats(0.0, 50.0))
def test_mm1(rho: float, mean_service: float, t: float) -> None:
    lam, mu = rho / mean_service, 1 / mean_service
    m = erlang_c_metrics(1, lam, mean_service)
    assert m.p_wait == pytest.approx(rho, rel=1e-12)
    assert m.mean_wait == pytest.approx(rho / (mu - lam), rel=1e-12)
    assert m.mean_wait_given_wait == pytest.approx(1 / (mu - lam), rel=1e-12)
    assert m.mean_queue == pytest.approx(rho**2 / (1 - rho), rel=1e-12)
    assert m.occupancy == pytest.approx(rho, rel=1e-12)
    assert m.service_level(t) == pytest.approx(1 - rho * math.exp(-(mu - lam) * t), rel=1e-12)
    q = 1 - rho / 4
    assert m.wait_quantile(q) == pytest.approx(math.log(4) / (mu - lam), rel=1e-12)
    assert m.service_level(m.wait_quantile(q)) == pytest.approx(q, rel=1e-12)
    assert m.wait_quantile(0.999 * (1 - rho)) == 0.0


@settings(max_examples=60)
@given(st.integers(1, 5000), st.floats(0.0, 10000.0))
def test_erlang_bc_bounded_monotone_large(n: int, a: float) -> None:
    b0, b1 = erlang_b(n, a), erlang_b(n + 1, a)
    c0, c1 = erlang_c(n, a), erlang_c(n + 1, a)
    for v in (b0, b1, c0, c1):
        assert math.isfinite(v) and 0.0 <= v <= 1.0
    assert b1 <= b0 and c1 <= c0 and b0 <= c0


# ----------------------------------------------------------------------------- Erlang A


def test_erlang_a_long_patience_tends_to_erlang_c() -> None:
    c = erlang_c_metrics(20, 3.0, 6.0)
    for patience, rel in ((1e9, 1e-6), (1e300, 1e-12), (math.inf, 1e-12)):  # the gap is O(1/patience)
        a = erlang_a(20, 3.0, 6.0, patience)
        for name in ("p_wait", "mean_wait", "mean_wait_served", "mean_wait_given_wait", "mean_queue", "occupancy"):
            assert getattr(a, name) == pytest.approx(getattr(c, name), rel=rel), name
        for t in (0.0, 0.5, 3.0):
            assert a.p_served_within(t) == pytest.approx(c.service_level(t), rel=rel)
            assert a.p_wait_le(t) == pytest.approx(c.service_level(t), rel=rel)
        assert a.wait_quantile(0.9) == pytest.approx(c.wait_quantile(0.9), rel=rel)
        assert a.p_abandon == pytest.approx(0.0, abs=rel)


def _erlang_a_by_matrices(n: int, lam: float, s: float, patience: float, t: float, states: int) -> dict[str, float]:
    """Brute force from the model definition: truncated chain + per-position absorbing CTMCs."""
    mu, theta = 1 / s, 1 / patience
    death = [min(k, n) * mu + max(k - n, 0) * theta for k in range(1, states)]
    pi = np.cumprod([1.0] + [lam / d for d in death])
    pi /= pi.sum()
    out = dict.fromkeys(("p_abandon", "ew", "ew_served", "served_within", "le"), 0.0)
    for j in range(states - n):  # j queued ahead; transient states i = j..0 ahead, then served/abandoned
        gen = np.zeros((j + 1, j + 1))
        exit_served = np.zeros(j + 1)
        for i in range(j + 1):
            gen[i, i] = -(n * mu + (j - i) * theta + theta)  # row i <-> j - i ahead
            if i < j:
                gen[i, i + 1] = n * mu + (j - i) * theta
        exit_served[j] = n * mu
        inv = np.linalg.inv(-gen)
        p_served = (inv @ exit_served)[0]
        w = pi[n + j]
        out["p_abandon"] += w * (1 - p_served)
        out["ew"] += w * inv.sum(axis=1)[0]
        out["ew_served"] += w * (inv @ inv @ exit_served)[0]
        e_t = linalg.expm(gen * t)
        out["served_within"] += w * (p_served - (e_t @ inv @ exit_served)[0])
        out["le"] += w * (1 - e_t.sum(axis=1)[0])
    out["served_within"] += pi[:n].sum()
    out["le"] += pi[:n].sum()
    return out


@pytest.mark.parametrize(("n", "lam", "s", "patience", "t"), [(2, 0.5, 3.0, 4.0, 1.5), (3, 1.4, 2.0, 1.0, 0.7)])
def test_erlang_a_against_brute_force(n: int, lam: float, s: float, patience: float, t: float) -> None:
    ref = _erlang_a_by_matrices(n, lam, s, patience, t, states=n + 80)
    m = erlang_a(n, lam, s, patience)
    assert m.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-10)
    assert m.mean_wait == pytest.approx(ref["ew"], rel=1e-10)
    assert m.mean_wait_served * m.p_served == pytest.approx(ref["ew_served"], rel=1e-10)
    assert m.p_served_within(t) == pytest.approx(ref["served_within"], rel=1e-10)
    assert m.p_wait_le(t) == pytest.approx(ref["le"], rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 60), st.floats(0.2, 1.6), st.floats(0.1, 10.0), st.floats(0.05, 100.0), st.floats(0.0, 5.0)
)
def test_erlang_a_identities(n: int, rho: float, s: float, patience: float, t_rel: float) -> None:
    lam, t = n * rho / s, t_rel * s
    m = erlang_a(n, lam, s, patience)
    assert m.p_abandon == pytest.approx(m.mean_wait / patience, rel=1e-10)  # abandonment rate = theta * Lq
    assert m.mean_queue == pytest.approx(lam * m.mean_wait, rel=1e-10)  # Little
    assert m.occupancy == pytest.approx(lam * s * (1 - m.p_abandon) / n, rel=1e-10)  # flow balance
    assert m.p_served + m.p_abandon == pytest.approx(1.0, rel=1e-12)
    split = m.p_served * m.mean_wait_served + m.p_abandon * m.mean_wait_abandoned
    assert split == pytest.approx(m.mean_wait, rel=1e-10)
    assert m.p_served_within(0.0) == pytest.approx(1 - m.p_wait, abs=1e-14)  # 1 - p_wait: absolute accuracy only
    assert m.p_served_within(math.inf) == pytest.approx(m.p_served, rel=1e-12)
    assert m.p_wait_le(math.inf) == pytest.approx(1.0, rel=1e-12)
    assert m.p_served_within(t) <= m.p_wait_le(t) + 1e-12
    assert m.service_level(t) == m.p_served_within(t)
    for q in (0.5, 0.9, 0.99):
        w = m.wait_quantile(q)
        assert w == 0.0 or m.p_wait_le(w) == pytest.approx(q, rel=1e-9)


def test_erlang_a_stable_for_any_load_and_large_teams() -> None:
    m = erlang_a(20, 30.0, 6.0, 2.0)  # rho = 9
    assert 0.0 < m.p_abandon < 1.0 and m.occupancy == pytest.approx(1.0, rel=1e-6)
    big = erlang_a(5000, 5100.0, 1.0, 2.0)
    assert all(math.isfinite(v) for v in (big.p_wait, big.mean_wait, big.p_served_within(0.1)))
    assert 0.9 < big.p_wait < 1.0
    with pytest.raises(ValueError, match="unstable"):
        erlang_a(2, 3.0, 1.0, math.inf)


# ----------------------------------------------------------------------------- priority


def test_priority_one_class_is_erlang_c() -> None:
    (w,) = priority_mean_waits(7, [1.1], 5.0)
    assert w == pytest.approx(erlang_c_metrics(7, 1.1, 5.0).mean_wait, rel=1e-13)


@given(st.integers(1, 50), st.lists(st.floats(0.05, 1.0), min_size=1, max_size=5), st.floats(0.05, 0.98))
def test_priority_conservation(n: int, shares: list[float], rho: float) -> None:
    s = 2.0
    rates = [x / sum(shares) * n * rho / s for x in shares]
    waits = priority_mean_waits(n, rates, s)
    fifo = erlang_c_metrics(n, sum(rates), s).mean_wait
    assert sum(r * w for r, w in zip(rates, waits)) / sum(rates) == pytest.approx(fifo, rel=1e-10)
    assert waits == sorted(waits)


def test_priority_mg1() -> None:
    (w,) = priority_mean_waits_mg1([0.2], [3.0], [12.0])  # Pollaczek-Khinchine
    assert w == pytest.approx(0.2 * 12.0 / 2 / (1 - 0.6), rel=1e-13)
    rates, means, m2 = [0.1, 0.05, 0.2], [1.0, 4.0, 0.5], [1.0, 40.0, 0.5]
    waits = priority_mean_waits_mg1(rates, means, m2)
    rho = [lam * m for lam, m in zip(rates, means)]
    w0 = sum(lam * x for lam, x in zip(rates, m2)) / 2
    assert sum(r * w for r, w in zip(rho, waits)) == pytest.approx(sum(rho) * w0 / (1 - sum(rho)), rel=1e-12)
    assert waits[0] == pytest.approx(w0 / (1 - 0.1), rel=1e-13)


# ----------------------------------------------------------------------------- staffing


def test_sqrt_staffing_and_beta() -> None:
    assert sqrt_staffing(100.0, 1.0) == 110
    assert sqrt_staffing(100.0, 0.5) == 105
    assert sqrt_staffing(100.0, 0.51) == 106
    assert sqrt_staffing(4.0, 0.0) == 4
    assert sqrt_staffing(4.0, -5.0) == 1
    assert halfin_whitt_beta(110, 100.0) == pytest.approx(1.0)
    assert halfin_whitt_beta(20, 21.6) == pytest.approx(-0.34426518632954844, rel=1e-14)


@given(st.floats(0.01, 2000.0), st.floats(1e-4, 0.5))
def test_min_agents_erlang_b_minimal(a: float, max_blocking: float) -> None:
    n = min_agents_erlang_b(a, max_blocking)
    assert erlang_b(n, a) <= max_blocking
    assert n == 1 or erlang_b(n - 1, a) > max_blocking


@given(st.floats(0.01, 50.0), st.floats(0.1, 20.0), st.floats(0.0, 3.0), st.floats(0.05, 0.99))
def test_min_agents_erlang_c_minimal(lam: float, s: float, t_rel: float, target: float) -> None:
    t = t_rel * s
    n = min_agents_erlang_c(lam, s, t, target)
    assert ErlangC(n, lam, s).service_level(t) >= target
    assert n - 1 <= lam * s or ErlangC(n - 1, lam, s).service_level(t) < target


def test_min_agents_erlang_c_textbook() -> None:
    # 100 calls/h, 3 min handle time (5 Erlangs), 80% answered within 20 s: 8 agents
    assert min_agents_erlang_c(100 / 60, 3.0, 20 / 60, 0.8) == 8


_FORMULAS = {
    "answered_and_abandoned": ErlangA.p_served_within,
    "answered": ErlangA.p_served_within_given_served,
    "offered": ErlangA.p_wait_le,
}


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.05, 20.0), st.floats(0.2, 10.0), st.floats(0.05, 50.0), st.floats(0.0, 2.0),
    st.floats(0.05, 0.99), st.sampled_from(sorted(_FORMULAS)),
)  # fmt: skip
def test_min_agents_erlang_a_minimal(
    lam: float, s: float, patience: float, t_rel: float, target: float, formula: str
) -> None:
    t = t_rel * s
    n = min_agents_erlang_a(lam, s, patience, t, target, formula=formula)  # type: ignore[arg-type]
    sl = _FORMULAS[formula]
    assert sl(ErlangA(n, lam, s, patience), t) >= target
    assert n == 1 or sl(ErlangA(n - 1, lam, s, patience), t) < target


def test_min_agents_erlang_a_formulas_ordered() -> None:
    args = (3.6, 6.0, 1.0, 0.5, 0.8)
    n = {f: min_agents_erlang_a(*args, formula=f) for f in _FORMULAS}  # type: ignore[arg-type]
    assert n["offered"] <= n["answered_and_abandoned"] and n["answered"] <= n["answered_and_abandoned"]
    assert min_agents_erlang_a(3.0, 6.0, math.inf, 0.5, 0.8) == min_agents_erlang_c(3.0, 6.0, 0.5, 0.8)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: erlang_b(0, 1.0), "servers"),
        (lambda: erlang_b(2.5, 1.0), "servers"),  # type: ignore[arg-type]
        (lambda: erlang_b(True, 1.0), "servers"),
        (lambda: erlang_c(3, -1.0), "load"),
        (lambda: erlang_c(3, math.nan), "load"),
        (lambda: erlang_c_metrics(3, 0.0, 1.0), "arrival_rate"),
        (lambda: erlang_c_metrics(3, 1.0, -2.0), "mean_service"),
        (lambda: erlang_a(3, 1.0, 1.0, 0.0), "mean_patience"),
        (lambda: erlang_a(3, 1.0, 1.0, 5e-324), "mean_patience"),
        (lambda: erlang_a(1, 2.0, 1.0, 1e9), "mean_patience 1e\\+09 is too long"),
        (lambda: erlang_a(3, 1.0, 1.0, 1.0).p_wait_le(-1.0), "t"),
        (lambda: erlang_c_metrics(3, 1.0, 1.0).wait_quantile(1.5), "q"),
        (lambda: priority_mean_waits(1, [], 1.0), "arrival_rates"),
        (lambda: priority_mean_waits(1, [0.5, -0.1], 1.0), r"arrival_rates\[1\]"),
        (lambda: priority_mean_waits(1, [0.5, 0.6], 1.0), "unstable"),
        (lambda: priority_mean_waits_mg1([0.1], [1.0], [0.5]), r"second_moments\[0\]"),
        (lambda: priority_mean_waits_mg1([0.1], [1.0, 2.0], [2.0]), "equal lengths"),
        (lambda: sqrt_staffing(0.0, 1.0), "load"),
        (lambda: min_agents_erlang_b(5.0, 1.0), "max_blocking"),
        (lambda: min_agents_erlang_c(1.0, 1.0, -1.0, 0.8), "threshold"),
        (lambda: min_agents_erlang_c(1.0, 1.0, 1.0, 0.0), "target"),
        (lambda: min_agents_erlang_a(1.0, 1.0, 1.0, 1.0, 0.8, formula="bogus"), "formula"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_naming_the_value(call: Any, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        call()
