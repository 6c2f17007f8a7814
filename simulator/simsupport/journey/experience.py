"""Customer-experience measures: the CSAT proxy and the expected-wait predictor."""

from __future__ import annotations

from ..config.journey import CSAT

# How a journey ends (not ticket states: see engine.tickets for those).
END_RESOLVED = 0
END_DEFLECTED = 1
END_ABANDONED = 2
END_BLOCKED = 3
OUTCOMES = ("resolved", "deflected", "abandoned", "blocked")


def csat_score(spec: CSAT, outcome: int, waited: float, resolution: float, escalations: int) -> float:
    """The satisfaction proxy of one journey (see `config.journey.CSAT` for the formula)."""
    if outcome == END_DEFLECTED:
        return spec.deflected
    if outcome == END_ABANDONED:
        return spec.abandoned
    if outcome == END_BLOCKED:
        return spec.blocked
    score = (
        spec.base
        - spec.wait_penalty * waited / spec.wait_unit
        - spec.resolution_penalty * resolution / spec.resolution_unit
        - spec.escalation_penalty * escalations
    )
    return min(max(score, spec.floor), spec.base)


def predicted_wait(ahead: int, mean_handle: float, servers: float) -> float:
    """The queue-length predictor (Whitt 1999): (tickets ahead + 1) mean handle times, shared
    by the servers on duty. It knows nothing of priorities or abandonment; its error is what
    the announcement report measures."""
    if servers <= 0:
        return float("inf")
    return (ahead + 1) * mean_handle / servers
