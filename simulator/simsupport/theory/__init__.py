"""Queueing theory with exact answers: the ground truth the simulator is checked against and
the analytic start of every staffing search. Pure functions, no simulation, no I/O."""

from __future__ import annotations

from .erlang import ErlangA, ErlangC, erlang_a, erlang_b, erlang_c, erlang_c_metrics
from .priority import priority_mean_waits, priority_mean_waits_mg1
from .staffing import halfin_whitt_beta, min_agents_erlang_a, min_agents_erlang_b, min_agents_erlang_c, sqrt_staffing

__all__ = [
    "ErlangA", "ErlangC", "erlang_a", "erlang_b", "erlang_c", "erlang_c_metrics", "halfin_whitt_beta",
    "min_agents_erlang_a", "min_agents_erlang_b", "min_agents_erlang_c", "priority_mean_waits",
    "priority_mean_waits_mg1", "sqrt_staffing",
]  # fmt: skip
