"""Non-preemptive priority queues: M/M/n with a common service rate, and M/G/1 (Cobham)."""

from __future__ import annotations

from collections.abc import Sequence

from .arguments import check_rates, check_real, check_servers
from .erlang import erlang_c


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
    n = check_servers(servers)
    s = check_real(mean_service, "mean_service")
    rates = check_rates(arrival_rates, "arrival_rates")
    a = sum(rates) * s
    if a >= n:
        raise ValueError(f"unstable: total load {a:g} Erlangs >= servers = {n}")
    n_mu = n / s
    return _cobham(erlang_c(n, a) / n_mu, [lam / n_mu for lam in rates])


def priority_mean_waits_mg1(
    arrival_rates: Sequence[float], mean_services: Sequence[float], second_moments: Sequence[float]
) -> list[float]:
    """Cobham's non-preemptive priority M/G/1: W_k = W0 / ((1-s_{k-1})(1-s_k)), W0 = sum lam E[S^2]/2."""
    rates = check_rates(arrival_rates, "arrival_rates")
    if not (len(mean_services) == len(second_moments) == len(rates)):
        lengths = f"{len(rates)}, {len(mean_services)}, {len(second_moments)}"
        raise ValueError(f"arrival_rates, mean_services, second_moments need equal lengths, got {lengths}")
    means = [check_real(m, f"mean_services[{i}]") for i, m in enumerate(mean_services)]
    m2s = [check_real(m, f"second_moments[{i}]") for i, m in enumerate(second_moments)]
    for i, (m, m2) in enumerate(zip(means, m2s)):
        if m2 < m * m * (1.0 - 1e-12):
            raise ValueError(f"second_moments[{i}] = {m2!r} < mean_services[{i}]**2 = {m * m!r}")
    loads = [lam * m for lam, m in zip(rates, means)]
    if sum(loads) >= 1.0:
        raise ValueError(f"unstable: total utilisation {sum(loads):g} >= 1")
    return _cobham(sum(lam * m2 for lam, m2 in zip(rates, m2s)) / 2.0, loads)
