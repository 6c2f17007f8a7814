"""On-call reserves of surge rules, as pools: part of the desk before time 0."""

from __future__ import annotations

from typing import Any


def reserve_pools(scenario: Any) -> list[Any]:
    """Pool specs for on-call reserves: copies of their `like` pool with nobody on duty."""
    if scenario.surge is None:
        return []
    out = []
    for rule in scenario.surge.on_call:
        like = scenario.pool(rule.like)
        out.append(like.model_copy(update={"name": rule.name, "agents": 0, "shifts": "24x7", "shrinkage": 0.0}))
    return out
