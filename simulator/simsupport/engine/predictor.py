"""The expected wait announced to a customer joining the queue."""

from __future__ import annotations


def predicted_wait(ahead: int, mean_handle: float, servers: float) -> float:
    """The queue-length predictor (Whitt 1999): (tickets ahead + 1) mean handle times, shared
    by the servers on duty. It knows nothing of priorities or abandonment; its error is what
    the announcement report measures."""
    if servers <= 0:
        return float("inf")
    return (ahead + 1) * mean_handle / servers
