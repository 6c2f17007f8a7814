"""Exact steady-state formulas for textbook queues, used as ground truth for the simulator.

Erlang B (M/M/n/n), Erlang C (M/M/n) and Erlang A (M/M/n+M, exponential patience); priority
queues are in `theory.priority`, staffing rules in `theory.staffing`.

Pure functions: no simulation, no I/O. Times are in whatever unit the caller uses consistently
(rates per unit, mean times in units). Large teams (thousands of servers) are handled with the
stable Erlang B recursion and log-space arithmetic, never with factorials.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import Literal, NamedTuple

import numpy as np
from scipy import optimize, special

from .arguments import check_quantile_level, check_real, check_servers, check_time
from .poisson import erlang_b_large, log_cdf, log_pmf

__all__ = ["ErlangA", "ErlangAFormula", "ErlangC", "erlang_a", "erlang_b", "erlang_c", "erlang_c_metrics"]

# Erlang A: the queue part of the birth-death chain is truncated once the remaining tail mass is
# below _TAIL_TOL relative to the queue mass; more than _MAX_QUEUE_STATES states is refused.
_TAIL_TOL = 1e-17
_LOG_TAIL = math.log(_TAIL_TOL)
_MAX_QUEUE_STATES = 1 << 22

ErlangAFormula = Literal["answered_and_abandoned", "answered", "offered"]
# Above this many servers Erlang B and the free states of Erlang A come from the Poisson law in
# constant time (theory.poisson) instead of n recursion steps or an array of n states.
LARGE_N = 10_000



def erlang_b_sequence(load: float) -> Iterator[float]:
    """Yield B(1, a), B(2, a), ... via the stable recursion B(n) = a B(n-1) / (n + a B(n-1))."""
    b, n = 1.0, 0
    while True:
        n += 1
        ab = load * b
        b = ab / (n + ab)
        yield b


def erlang_c_from_b(b: float, servers: int, load: float) -> float:
    """C = B / (1 - rho (1 - B)) for a stable queue, 1 otherwise."""
    if load >= servers:
        return 1.0
    return b / (1.0 - (load / servers) * (1.0 - b))


def erlang_c_service_level(c: float, servers: int, load: float, mean_service: float, t: float) -> float:
    """P(W <= t) = 1 - C exp(-(n mu - lambda) t) of a stable M/M/n FIFO queue."""
    return 1.0 - c * math.exp(-(servers - load) / mean_service * t)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/n/n (Erlang loss formula), load in Erlangs."""
    n = check_servers(servers)
    a = check_real(load, "load", strict=False)
    if n > LARGE_N and a > 0:
        return erlang_b_large(n, a)
    return next(islice(erlang_b_sequence(a), n - 1, None))


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting in M/M/n (Erlang C), 1.0 if load >= servers."""
    n = check_servers(servers)
    a = check_real(load, "load", strict=False)
    return erlang_c_from_b(erlang_b(n, a), n, a)


@dataclass(frozen=True)
class ErlangC:
    """M/M/n FIFO queue with infinite patience (Erlang C); requires load < servers."""

    servers: int
    arrival_rate: float
    mean_service: float

    def __post_init__(self) -> None:
        n = check_servers(self.servers)
        lam = check_real(self.arrival_rate, "arrival_rate")
        s = check_real(self.mean_service, "mean_service")
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
        t = check_time(t)
        return erlang_c_service_level(self.p_wait, self.servers, self.load, self.mean_service, t)

    # Everybody is served and nobody abandons: the Erlang A names mean the same here.
    mean_wait_served = mean_wait
    p_served_within = p_wait_le = service_level

    def wait_quantile(self, q: float) -> float:
        """Smallest t with P(W <= t) >= q: 0 if q <= 1 - C, else ln(C / (1 - q)) / (n mu - lambda)."""
        q = check_quantile_level(q)
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
        n = check_servers(self.servers)
        lam = check_real(self.arrival_rate, "arrival_rate")
        s = check_real(self.mean_service, "mean_service")
        p = check_real(self.mean_patience, "mean_patience", allow_inf=True)
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
        logw = _queue_log_weights(self.arrival_rate, self._n_mu, self._theta)
        log_queue_w = special.logsumexp(logw)
        if n > LARGE_N:  # pi_k = P(N = k), N ~ Poisson(a), below n: no array of n states
            a = self.load
            log_queue = log_pmf(n, a) + log_queue_w
            log_free = log_cdf(n - 1, a)
            log_total = np.logaddexp(log_free, log_queue)
            busy_below = a * math.exp(log_cdf(n - 2, a) - log_total)  # sum_{k<n} k pi_k = a P(N <= n-2)
        else:
            k = np.arange(n + 1, dtype=float)
            log_low = k * log_a - special.gammaln(k + 1.0)  # log(pi_k / pi_0), k = 0..n
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
        t = check_time(t)
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
        t = check_time(t)
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
        q = check_quantile_level(q)
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
