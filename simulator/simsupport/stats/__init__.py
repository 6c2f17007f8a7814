"""Statistics of replications: collectors fed by the engine, results, summaries by scope.

`collector` keeps the customer-facing facts of each ticket, `journey` what the service journey
adds, `histogram` the log-spaced wait histograms both share, `result` the plain-array record of
one replication and `summary` the metrics per scope computed from it.
"""

from __future__ import annotations

from .counters import COUNTERS
from .histogram import PER_E
from .result import ReplicationResult
from .summary import summarize

__all__ = ["COUNTERS", "PER_E", "ReplicationResult", "summarize"]
