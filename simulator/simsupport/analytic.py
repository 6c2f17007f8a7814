"""Exact steady-state formulas for textbook queues, used as ground truth for the simulator.

Erlang B (M/M/n/n), Erlang C (M/M/n), Erlang A (M/M/n+M, exponential patience), non-preemptive
priority M/M/n and M/G/1 (Cobham), square-root staffing and minimal-staffing searches.

Pure functions: no simulation, no I/O. Times are in whatever unit the caller uses consistently
(rates per unit, mean times in units). Large teams (thousands of servers) are handled with the
stable Erlang B recursion and log-space arithmetic, never with factorials.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import Literal, NamedTuple

import numpy as np
from scipy import optimize, special

__all__ = [
    "ErlangA", "ErlangC", "erlang_a", "erlang_b", "erlang_c", "erlang_c_metrics", "halfin_whitt_beta",
    "min_agents_erlang_a", "min_agents_erlang_b", "min_agents_erlang_c", "priority_mean_waits",
    "priority_mean_waits_mg1", "sqrt_staffing",
]  # fmt: skip

# Erlang A: the queue part of the birth-death chain is truncated once the remaining tail mass is
# below _TAIL_TOL relative to the queue mass; more than _MAX_QUEUE_STATES states is refused.
_TAIL_TOL = 1e-17
_LOG_TAIL = math.log(_TAIL_TOL)
_MAX_QUEUE_STATES = 1 << 22

ErlangAFormula = Literal["answered_and_abandoned", "answered", "offered"]


def _check_servers(value: object, name: str = "servers") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_real(
    value: object, name: str, *, low: float = 0.0, strict: bool = True, allow_inf: bool = False
) -> float:
    """Return value as float if it is a real number above `low` (or >= when not strict)."""
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    x = float(value) if ok else math.nan  # type: ignore[arg-type]
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)) or x < low or (strict and x == low):
        kind = "a number" if allow_inf else "a finite number"
        raise ValueError(f"{name} must be {kind} {'>' if strict else '>='} {low:g}, got {value!r}")
    return x


def _check_fraction(value: object, name: str) -> float:
    x = _check_real(value, name)
    if x >= 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return x


def _check_rates(values: Sequence[float], name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {values!r}")
    return [_check_real(v, f"{name}[{i}]", strict=False) for i, v in enumerate(values)]


def _check_time(t: object, name: str = "t") -> float:
    return _check_real(t, name, strict=False, allow_inf=True)


def _check_quantile_level(q: object) -> float:
    x = _check_real(q, "q", strict=False)
    if x > 1.0:
        raise ValueError(f"q must lie in [0, 1], got {q!r}")
    return x


def _erlang_b_sequence(load: float) -> Iterator[float]:
    """Yield B(1, a), B(2, a), ... via the stable recursion B(n) = a B(n-1) / (n + a B(n-1))."""
    b, n = 1.0, 0
    while True:
        n += 1
        ab = load * b
        b = ab / (n + ab)
        yield b


def _erlang_c_from_b(b: float, servers: int, load: float) -> float:
    """C = B / (1 - rho (1 - B)) for a stable queue, 1 otherwise."""
    if load >= servers:
        return 1.0
    return b / (1.0 - (load / servers) * (1.0 - b))


def _erlang_c_service_level(c: float, servers: int, load: float, mean_service: float, t: float) -> float:
    """P(W <= t) = 1 - C exp(-(n mu - lambda) t) of a stable M/M/n FIFO queue."""
    return 1.0 - c * math.exp(-(servers - load) / mean_service * t)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/n/n (Erlang loss formula), load in Erlangs."""
    n = _check_servers(servers)
    a = _check_real(load, "load", strict=False)
    return next(islice(_erlang_b_sequence(a), n - 1, None))


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting in M/M/n (Erlang C), 1.0 if load >= servers."""
    n = _check_servers(servers)
    a = _check_real(load, "load", strict=False)
    return _erlang_c_from_b(erlang_b(n, a), n, a)


@dataclass(frozen=True)
class ErlangC:
    """M/M/n FIFO queue with infinite patience (Erlang C); requires load < servers."""

    servers: int
    arrival_rate: float
    mean_service: float

    def __post_init__(self) -> None:
        n = _check_servers(self.servers)
        lam = _check_real(self.arrival_rate, "arrival_rate")
        s = _check_real(self.mean_service, "mean_service")
        if lam * s >= n:
            raise ValueError(f"unstable M/M/n queue: load arrival_rate*mean_service = {lam * s:g} Erlangs "
                             f">= servers = {n}; Erlang C needs load < servers (erlang_a allows abandonment)")
        for name, value in (("servers", n), ("arrival_rate", lam), ("mean_service", s)):
            object.__setattr__(self, name, value)

    @property
    def load(self) -> float:
        """Offered load a = lambda * E[S] in Erlangs."""
        return self.arrival_rate * self.mean_service

    @property
    def occupancy(self) -> float:
        """Fraction of time an agent is busy, rho = a / n."""
        return self.load / self.servers

    @cached_property
    def p_wait(self) -> float:
        """P(W > 0) = C(n, a)."""
        return erlang_c(self.servers, self.load)

    @property
    def p_abandon(self) -> float:
        """Nobody abandons in Erlang C."""
        return 0.0

    @property
    def mean_wait_given_wait(self) -> float:
        """E[W | W > 0] = 1 / (n mu - lambda): the conditional wait is exponential."""
        return self.mean_service / (self.servers - self.load)

    @property
    def mean_wait(self) -> float:
        """E[W] over all customers (ASA) = C / (n mu - lambda)."""
        return self.p_wait * self.mean_wait_given_wait

    @property
    def mean_queue(self) -> float:
        """Mean number waiting, Lq = lambda E[W] (Little)."""
        return self.arrival_rate * self.mean_wait

    def service_level(self, t: float) -> float:
        """P(W <= t) = 1 - C exp(-(n mu - lambda) t)."""
        t = _check_time(t)
        return _erlang_c_service_level(self.p_wait, self.servers, self.load, self.mean_service, t)

    # Everybody is served and nobody abandons: the Erlang A names mean the same here.
    mean_wait_served = mean_wait
    p_served_within = p_wait_le = service_level

    def wait_quantile(self, q: float) -> float:
        """Smallest t with P(W <= t) >= q: 0 if q <= 1 - C, else ln(C / (1 - q)) / (n mu - lambda)."""
        q = _check_quantile_level(q)
        c = self.p_wait
        if q <= 1.0 - c:
            return 0.0
        if q == 1.0:
            return math.inf
        return math.log(c / (1.0 - q)) * self.mean_wait_given_wait


def erlang_c_metrics(servers: int, arrival_rate: float, mean_service: float) -> ErlangC:
    """Erlang C model; raises ValueError if arrival_rate * mean_service >= servers."""
    return ErlangC(servers, arrival_rate, mean_service)


class _Chain(NamedTuple):
    """Stationary law of the number in system seen by arrivals (PASTA), split at n."""

    p_wait: float  # P(all n agents busy) = P(W > 0)
    p_nowait: float  # 1 - p_wait, computed separately (no cancellation)
    busy_below: float  # sum_{k<n} k pi_k
    j1: np.ndarray  # j + 1 for the kept queue lengths j (negligible q dropped)
    q: np.ndarray  # P(j already queued | all busy)
    c: np.ndarray  # c_{j+1} = n mu + (j + 1) theta: exit rate with j+1 queued at or ahead of us
    h: np.ndarray  # sum_{m=1}^{j+1} 1 / c_m
    g: np.ndarray  # sum_{m=1}^{j+1} m / c_m


def _queue_log_weights(lam: float, n_mu: float, theta: float) -> np.ndarray:
    """log(pi_{n+j} / pi_n), j = 0..J, with the neglected tail < _TAIL_TOL of the queue mass.

    Ratios lam / (n mu + i theta) decrease in i, so once the next one, r, is < 1 the tail beyond J
    is at most pi_{n+J} r / (1 - r).
    """
    size = 64
    while True:
        i = np.arange(1, size + 1, dtype=float)
        logw = np.concatenate(([0.0], np.cumsum(math.log(lam) - np.log(n_mu + i * theta))))
        r = lam / (n_mu + (size + 1) * theta)
        if r == 0.0 or (r < 1.0 and logw[-1] + math.log(r / (1 - r)) - special.logsumexp(logw) < _LOG_TAIL):
            return logw
        if size >= _MAX_QUEUE_STATES:
            raise ValueError(
                f"Erlang A queue would need more than {_MAX_QUEUE_STATES} states: mean_patience "
                f"{1 / theta if theta else math.inf:g} is too long for arrival_rate {lam:g} "
                f"against service capacity {n_mu:g}"
            )
        size *= 2


@dataclass(frozen=True)
class ErlangA:
    """M/M/n+M (Erlang A): FIFO, exponential patience with mean `mean_patience`.

    Exact via the birth-death chain on the number in system (death rate min(k,n) mu + (k-n)+ theta),
    truncated where the tail mass is negligible, and the exact phase-type wait of an arrival that
    finds j customers queued (see `p_served_within`). Stable for any load; mean_patience = inf
    gives Erlang C (and then needs load < servers).
    """

    servers: int
    arrival_rate: float
    mean_service: float
    mean_patience: float

    def __post_init__(self) -> None:
        n = _check_servers(self.servers)
        lam = _check_real(self.arrival_rate, "arrival_rate")
        s = _check_real(self.mean_service, "mean_service")
        p = _check_real(self.mean_patience, "mean_patience", allow_inf=True)
        if 1.0 / p == math.inf:
            raise ValueError(f"mean_patience must be > 0 with a finite inverse, got {p!r}")
        if math.isinf(p) and lam * s >= n:
            raise ValueError(f"mean_patience is infinite and load {lam * s:g} >= servers = {n}: unstable")
        for name, value in (("servers", n), ("arrival_rate", lam), ("mean_service", s), ("mean_patience", p)):
            object.__setattr__(self, name, value)
        _ = self._chain  # solve now so that an intractable model fails at construction

    @property
    def load(self) -> float:
        """Offered load a = lambda * E[S] in Erlangs."""
        return self.arrival_rate * self.mean_service

    @property
    def _theta(self) -> float:
        return 1.0 / self.mean_patience

    @property
    def _n_mu(self) -> float:
        return self.servers / self.mean_service

    @property
    def _gamma_limit(self) -> bool:
        """True if every rate n mu + m theta equals n mu to 1e-15: use the theta -> 0 (Erlang C) law."""
        return self._theta * self._chain.j1[-1] <= 1e-15 * self._n_mu

    @cached_property
    def _chain(self) -> _Chain:
        n, log_a = self.servers, math.log(self.arrival_rate) + math.log(self.mean_service)
        k = np.arange(n + 1, dtype=float)
        log_low = k * log_a - special.gammaln(k + 1.0)  # log(pi_k / pi_0), k = 0..n
        logw = _queue_log_weights(self.arrival_rate, self._n_mu, self._theta)
        log_queue_w = special.logsumexp(logw)
        log_queue = log_low[-1] + log_queue_w
        log_free = special.logsumexp(log_low[:-1])
        log_total = np.logaddexp(log_free, log_queue)
        busy_below = float(np.sum(k[:-1] * np.exp(log_low[:-1] - log_total)))
        q = np.exp(logw - log_queue_w)
        j1 = np.arange(1, len(q) + 1, dtype=float)
        c = self._n_mu + j1 * self._theta
        h, g = np.cumsum(1.0 / c), np.cumsum(j1 / c)
        keep = q > 1e-20 / len(q)  # dropped mass < 1e-20
        p_wait, p_nowait = float(np.exp(log_queue - log_total)), float(np.exp(log_free - log_total))
        return _Chain(p_wait, p_nowait, busy_below, *(x[keep] for x in (j1, q, c, h, g)))

    @property
    def p_wait(self) -> float:
        """P(W > 0): an arrival finds all agents busy."""
        return self._chain.p_wait

    @cached_property
    def _abandon_given_wait(self) -> float:
        # From j queued: P(abandon | j) = (j+1) theta / (n mu + (j+1) theta).
        ch = self._chain
        return float(np.sum(ch.q * ch.j1 * self._theta / ch.c))

    @property
    def p_abandon(self) -> float:
        """Fraction of arrivals that abandon (equals theta * mean_wait)."""
        return self._chain.p_wait * self._abandon_given_wait

    @property
    def p_served(self) -> float:
        """Fraction of arrivals that are served: 1 - p_abandon, computed without cancellation."""
        ch = self._chain
        return ch.p_nowait + ch.p_wait * float(np.sum(ch.q * self._n_mu / ch.c))

    @property
    def mean_wait_given_wait(self) -> float:
        """E[W | W > 0]; from j queued E[W | j] = (j+1) / (n mu + (j+1) theta)."""
        ch = self._chain
        return float(np.sum(ch.q * ch.j1 / ch.c))

    @property
    def mean_wait(self) -> float:
        """E[W] over all arrivals, abandoners' time in queue included."""
        return self._chain.p_wait * self.mean_wait_given_wait

    @property
    def mean_wait_served(self) -> float:
        """E[W | served] (ASA); E[W 1{served} | j] = n mu / c_{j+1} * sum_{m<=j+1} 1 / c_m."""
        ch = self._chain
        part = float(np.sum(ch.q * (self._n_mu / ch.c) * ch.h))
        return ch.p_wait * part / self.p_served

    @property
    def mean_wait_abandoned(self) -> float:
        """E[W | abandon] (nan with infinite patience); E[W 1{ab} | j] = theta/c_{j+1} sum m/c_m."""
        ch = self._chain
        if self._theta == 0.0:
            return math.nan
        part = float(np.sum(ch.q * (self._theta / ch.c) * ch.g))
        return part / self._abandon_given_wait

    @property
    def mean_queue(self) -> float:
        """Time-average number waiting (= arrival_rate * mean_wait by Little)."""
        ch = self._chain
        return ch.p_wait * float(np.sum(ch.q * (ch.j1 - 1.0)))

    @property
    def occupancy(self) -> float:
        """Time-average busy agents / agents."""
        ch = self._chain
        return (ch.busy_below + self.servers * ch.p_wait) / self.servers

    def p_served_within(self, t: float) -> float:
        """P(served and W <= t) over arrivals ('answered within t / offered').

        Finding j queued, the arrival moves through states 'i ahead' (i = j..0), leaving each at rate
        c = n mu + (i+1) theta, forward with prob (n mu + i theta)/c, else abandoning. Given service,
        W = sum_{m=1}^{j+1} Exp(n mu + m theta) = -ln(U)/theta with U ~ Beta(1 + n mu/theta, j+1)
        (match the Laplace transforms), so P(W <= t | served, j) = I_{1-e^{-theta t}}(j+1, 1 + n mu/theta).
        """
        t = _check_time(t)
        ch = self._chain
        if self._gamma_limit:  # sum of j+1 Exp(n mu): Gamma(j+1, n mu)
            cdf = special.gammainc(ch.j1, self._n_mu * t)
        else:
            cdf = special.betainc(ch.j1, 1.0 + self._n_mu / self._theta, -math.expm1(-self._theta * t))
        return ch.p_nowait + ch.p_wait * float(np.sum(ch.q * (self._n_mu / ch.c) * cdf))

    def p_served_within_given_served(self, t: float) -> float:
        """P(W <= t | served): answered within t / answered."""
        return self.p_served_within(t) / self.p_served

    def p_wait_le(self, t: float) -> float:
        """P(W <= t) over arrivals, leaving by abandonment within t counting as W <= t.

        Ignoring its own patience, the arrival would reach service after S = sum_{i=0}^{j}
        Exp(n mu + i theta) = -ln(U)/theta, U ~ Beta(n mu/theta, j+1); its patience is an
        independent Exp(theta), so P(W > t | j) = P(S > t) e^{-theta t}.
        """
        t = _check_time(t)
        ch = self._chain
        if self._gamma_limit:
            tail = special.gammaincc(ch.j1, self._n_mu * t) * math.exp(-self._theta * t)
        else:
            x = -math.expm1(-self._theta * t)
            tail = special.betaincc(ch.j1, self._n_mu / self._theta, x) * math.exp(-self._theta * t)
        return 1.0 - ch.p_wait * float(np.sum(ch.q * tail))

    def service_level(self, t: float) -> float:
        """Answered within t / (answered + abandoned) = p_served_within(t), all arrivals admitted."""
        return self.p_served_within(t)

    def wait_quantile(self, q: float) -> float:
        """Smallest t with p_wait_le(t) >= q (0 if q <= 1 - p_wait); root-finding on the exact CDF."""
        q = _check_quantile_level(q)
        if q <= self._chain.p_nowait:
            return 0.0
        if q == 1.0:
            return math.inf
        hi = max(self.mean_wait_given_wait, 1e-300)
        while self.p_wait_le(hi) < q:
            hi *= 2.0
        return float(optimize.brentq(lambda t: self.p_wait_le(t) - q, 0.0, hi, xtol=1e-300, rtol=1e-15))


def erlang_a(servers: int, arrival_rate: float, mean_service: float, mean_patience: float) -> ErlangA:
    """Erlang A (M/M/n+M) model with exponential patience of mean `mean_patience`."""
    return ErlangA(servers, arrival_rate, mean_service, mean_patience)


def _cobham(w0: float, loads: Sequence[float]) -> list[float]:
    """W_k = W0 / ((1 - s_{k-1})(1 - s_k)), s_k = cumulative load of classes 0..k."""
    waits, prev = [], 0.0
    for rho in loads:
        cur = prev + rho
        waits.append(w0 / ((1.0 - prev) * (1.0 - cur)))
        prev = cur
    return waits


def priority_mean_waits(servers: int, arrival_rates: Sequence[float], mean_service: float) -> list[float]:
    """Mean waits of non-preemptive priority M/M/n, common exponential service, class 0 highest.

    W_k = (C(n, a) / (n mu)) / ((1 - s_{k-1})(1 - s_k)), s_k = sum_{i<=k} lambda_i / (n mu).
    """
    n = _check_servers(servers)
    s = _check_real(mean_service, "mean_service")
    rates = _check_rates(arrival_rates, "arrival_rates")
    a = sum(rates) * s
    if a >= n:
        raise ValueError(f"unstable: total load {a:g} Erlangs >= servers = {n}")
    n_mu = n / s
    return _cobham(erlang_c(n, a) / n_mu, [lam / n_mu for lam in rates])


def priority_mean_waits_mg1(
    arrival_rates: Sequence[float], mean_services: Sequence[float], second_moments: Sequence[float]
) -> list[float]:
    """Cobham's non-preemptive priority M/G/1: W_k = W0 / ((1-s_{k-1})(1-s_k)), W0 = sum lam E[S^2]/2."""
    rates = _check_rates(arrival_rates, "arrival_rates")
    if not (len(mean_services) == len(second_moments) == len(rates)):
        lengths = f"{len(rates)}, {len(mean_services)}, {len(second_moments)}"
        raise ValueError(f"arrival_rates, mean_services, second_moments need equal lengths, got {lengths}")
    means = [_check_real(m, f"mean_services[{i}]") for i, m in enumerate(mean_services)]
    m2s = [_check_real(m, f"second_moments[{i}]") for i, m in enumerate(second_moments)]
    for i, (m, m2) in enumerate(zip(means, m2s)):
        if m2 < m * m * (1.0 - 1e-12):
            raise ValueError(f"second_moments[{i}] = {m2!r} < mean_services[{i}]**2 = {m * m!r}")
    loads = [lam * m for lam, m in zip(rates, means)]
    if sum(loads) >= 1.0:
        raise ValueError(f"unstable: total utilisation {sum(loads):g} >= 1")
    return _cobham(sum(lam * m2 for lam, m2 in zip(rates, m2s)) / 2.0, loads)


def sqrt_staffing(load: float, beta: float) -> int:
    """Square-root staffing ceil(a + beta sqrt(a)), at least 1 (ignores 1e-12 relative rounding)."""
    a = _check_real(load, "load")
    b = _check_real(beta, "beta", low=-math.inf)
    x = a + b * math.sqrt(a)
    return max(1, math.ceil(x - 1e-12 * max(1.0, abs(x))))


def halfin_whitt_beta(servers: int, load: float) -> float:
    """Quality-of-service index beta = (n - a) / sqrt(a)."""
    n = _check_servers(servers)
    a = _check_real(load, "load")
    return (n - a) / math.sqrt(a)


def min_agents_erlang_b(load: float, max_blocking: float) -> int:
    """Smallest n with Erlang B blocking B(n, load) <= max_blocking."""
    a = _check_real(load, "load")
    target = _check_fraction(max_blocking, "max_blocking")
    for n, b in enumerate(_erlang_b_sequence(a), start=1):
        if b <= target:
            return n
    raise AssertionError("unreachable")  # pragma: no cover


def min_agents_erlang_c(arrival_rate: float, mean_service: float, threshold: float, target: float) -> int:
    """Smallest stable n (n > load) with Erlang C service level P(W <= threshold) >= target."""
    lam = _check_real(arrival_rate, "arrival_rate")
    s = _check_real(mean_service, "mean_service")
    t = _check_real(threshold, "threshold", strict=False)
    goal = _check_fraction(target, "target")
    a = lam * s
    for n, b in enumerate(_erlang_b_sequence(a), start=1):
        if n > a and _erlang_c_service_level(_erlang_c_from_b(b, n, a), n, a, s, t) >= goal:
            return n
    raise AssertionError("unreachable")  # pragma: no cover


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
    lam = _check_real(arrival_rate, "arrival_rate")
    s = _check_real(mean_service, "mean_service")
    p = _check_real(mean_patience, "mean_patience", allow_inf=True)
    t = _check_real(threshold, "threshold", strict=False)
    goal = _check_fraction(target, "target")
    if formula not in _ERLANG_A_FORMULAS:
        raise ValueError(f"formula must be one of {sorted(_ERLANG_A_FORMULAS)}, got {formula!r}")
    if math.isinf(p):  # nobody abandons: all three formulas are the Erlang C service level
        return min_agents_erlang_c(lam, s, t, goal)
    metric = _ERLANG_A_FORMULAS[formula]

    def meets(n: int) -> bool:
        return metric(ErlangA(n, lam, s, p), t) >= goal

    if meets(1):
        return 1
    lo, hi = 1, max(2, math.ceil(lam * s))
    while not meets(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi
