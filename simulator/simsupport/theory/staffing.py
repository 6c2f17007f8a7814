"""Staffing rules: square-root staffing and the fewest agents meeting a service-level target."""

from __future__ import annotations

import math
from collections.abc import Callable

from .arguments import check_fraction, check_real, check_servers
from .erlang import (
    ErlangA,
    ErlangAFormula,
    erlang_b_sequence,
    erlang_c,
    erlang_c_from_b,
    erlang_c_service_level,
)

LARGE_LOAD = 5_000.0  # Erlangs: above it the fewest agents are searched about the square-root rule


def sqrt_staffing(load: float, beta: float) -> int:
    """Square-root staffing ceil(a + beta sqrt(a)), at least 1 (ignores 1e-12 relative rounding)."""
    a = check_real(load, "load")
    b = check_real(beta, "beta", low=-math.inf)
    x = a + b * math.sqrt(a)
    return max(1, math.ceil(x - 1e-12 * max(1.0, abs(x))))


def halfin_whitt_beta(servers: int, load: float) -> float:
    """Quality-of-service index beta = (n - a) / sqrt(a)."""
    n = check_servers(servers)
    a = check_real(load, "load")
    return (n - a) / math.sqrt(a)


def min_agents_erlang_b(load: float, max_blocking: float) -> int:
    """Smallest n with Erlang B blocking B(n, load) <= max_blocking."""
    a = check_real(load, "load")
    target = check_fraction(max_blocking, "max_blocking")
    for n, b in enumerate(erlang_b_sequence(a), start=1):
        if b <= target:
            return n
    raise AssertionError("unreachable")  # pragma: no cover


def min_agents_erlang_c(arrival_rate: float, mean_service: float, threshold: float, target: float) -> int:
    """Smallest stable n (n > load) with Erlang C service level P(W <= threshold) >= target."""
    lam = check_real(arrival_rate, "arrival_rate")
    s = check_real(mean_service, "mean_service")
    t = check_real(threshold, "threshold", strict=False)
    goal = check_fraction(target, "target")
    a = lam * s
    if a > LARGE_LOAD:  # n > a steps would take as long as the load is large: search about sqrt staffing

        def stable_meets(n: int) -> bool:
            return n > a and erlang_c_service_level(erlang_c(n, a), n, a, s, t) >= goal

        return _smallest(stable_meets, a)
    for n, b in enumerate(erlang_b_sequence(a), start=1):
        if n > a and erlang_c_service_level(erlang_c_from_b(b, n, a), n, a, s, t) >= goal:
            return n
    raise AssertionError("unreachable")  # pragma: no cover


def _smallest(meets: Callable[[int], bool], load: float) -> int:
    """Smallest n >= 1 with meets(n), for meets increasing in n, in O(log) calls whatever the load:
    from the square-root rule's n = a + sqrt(a), steps of sqrt(a) doubling until the answer is
    bracketed, then bisection."""
    step = max(1, math.ceil(math.sqrt(load)))
    n = sqrt_staffing(load, 1.0)
    if meets(n):
        hi, lo = n, n - step
        while lo >= 1 and meets(lo):
            hi, step = lo, 2 * step
            lo = hi - step
        lo = max(lo, 0)  # meets(0) is false: no agents answer nobody
    else:
        lo, hi = n, n + step
        while not meets(hi):
            lo, step = hi, 2 * step
            hi = lo + step
    return _bisect(meets, lo, hi)


def _bisect(meets: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest n in (lo, hi] that meets, given meets(hi) and not meets(lo) (monotone)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


_ERLANG_A_FORMULAS: dict[str, Callable[[ErlangA, float], float]] = {
    "answered_and_abandoned": ErlangA.p_served_within,
    "answered": ErlangA.p_served_within_given_served,
    "offered": ErlangA.p_wait_le,
}


def min_agents_erlang_a(
    arrival_rate: float, mean_service: float, mean_patience: float, threshold: float, target: float,
    formula: ErlangAFormula = "answered_and_abandoned",
) -> int:  # fmt: skip
    """Smallest n whose Erlang A service level at `threshold` is >= target.

    formula: "answered_and_abandoned" = answered within T / (answered + abandoned);
    "answered" = answered within T / answered; "offered" = P(W <= T), abandoning within T counts.
    Service levels increase with n: gallop up from the load, then bisect.
    """
    lam = check_real(arrival_rate, "arrival_rate")
    s = check_real(mean_service, "mean_service")
    p = check_real(mean_patience, "mean_patience", allow_inf=True)
    t = check_real(threshold, "threshold", strict=False)
    goal = check_fraction(target, "target")
    if formula not in _ERLANG_A_FORMULAS:
        raise ValueError(f"formula must be one of {sorted(_ERLANG_A_FORMULAS)}, got {formula!r}")
    if math.isinf(p):  # nobody abandons: all three formulas are the Erlang C service level
        return min_agents_erlang_c(lam, s, t, goal)
    metric = _ERLANG_A_FORMULAS[formula]

    def meets(n: int) -> bool:
        return metric(ErlangA(n, lam, s, p), t) >= goal

    if lam * s > LARGE_LOAD:
        return _smallest(meets, lam * s)
    if meets(1):
        return 1
    lo, hi = 1, max(2, math.ceil(lam * s))
    while not meets(hi):
        lo, hi = hi, 2 * hi
    return _bisect(meets, lo, hi)
