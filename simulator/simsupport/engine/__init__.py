"""Running a desk: the events of one replication, and nothing else.

`desk.Engine` runs a `plan.desk.DeskPlan`; `market`, `journey` and `surge` plug into it,
`duty` brings agents on and off, `report` hands the result over. `simulate(scenario, k)` is the
whole of it for callers that do not need the parts.
"""

from __future__ import annotations

from .desk import Engine, simulate

__all__ = ["Engine", "simulate"]
