"""Shared scenario builders and small utilities for the simulator tests.

Everything here builds plain scenario dicts (the same shape a YAML file has) and turns them
into frozen `Scenario`s through the public loader, so the tests go through validation exactly
as users do. Durations are written in minutes or seconds with explicit units.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simsupport.config.load import scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.experiment.statistics import mean_ci95
from simsupport.stats import ReplicationResult, summarize


def minutes(x: float) -> str:
    """A duration in minutes as unit-carrying text (full float precision)."""
    return f"{float(x)!r}min"


def per_minute(x: float) -> str:
    """A rate per minute as unit-carrying text (full float precision)."""
    return f"{float(x)!r}/min"


def exponential(mean_min: float) -> dict[str, str]:
    return {"dist": "exponential", "mean": minutes(mean_min)}


def deterministic(value_min: float) -> dict[str, str]:
    return {"dist": "deterministic", "value": minutes(value_min)}


def mmn_dict(
    *,
    agents: int,
    rate: float,
    mean_handle: float,
    patience: float | None = None,
    horizon: float = 2000.0,
    warmup: float = 100.0,
    interval: float | None = None,
    seed: int = 1,
    replications: int = 10,
    sla_T: float | None = 1.0,
    formula: str = "answered_and_abandoned",
    classes: Sequence[tuple[str, float, int]] | None = None,
    max_waiting: int | None = None,
    lines: int | None = None,
    name: str = "mmn",
) -> dict[str, Any]:
    """One channel ("phone"), one pool ("agents"): M/M/n, M/M/n+M, M/M/n/n, priority M/M/n.

    Times in minutes, `rate` per minute. `classes` is a list of (name, share, priority)
    categories sharing the exponential handle time; default one category "work".
    `interval` defaults to the horizon (one reporting interval: cheap snapshots).
    """
    cats = classes or [("work", 1.0, 0)]
    channel: dict[str, Any] = {
        "rate": per_minute(rate),
        "patience": "none" if patience is None else exponential(patience),
    }
    if sla_T is not None:
        channel["sla"] = {"answer_within": minutes(sla_T), "target": 0.8, "formula": formula}
    if max_waiting is not None:
        channel["max_waiting"] = max_waiting
    if lines is not None:
        channel["lines"] = lines
    return {
        "name": name,
        "horizon": minutes(horizon),
        "warmup": minutes(warmup),
        "interval": minutes(horizon if interval is None else interval),
        "replications": replications,
        "seed": seed,
        "categories": {
            cname: {"share": share, "priority": prio, "handle_time": exponential(mean_handle)}
            for cname, share, prio in cats
        },
        "channels": {"phone": channel},
        "pools": [{"name": "agents", "agents": agents}],
    }


def build(data: Mapping[str, Any]) -> Scenario:
    return scenario_from_dict(copy.deepcopy(dict(data)))


def with_changes(data: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(dict(data))
    out.update(copy.deepcopy(changes))
    return out


def ci(values: Iterable[float]) -> tuple[float, float]:
    """(mean, 95% t half-width) of replication values."""
    return mean_ci95(list(values))


def finite(x: float) -> bool:
    return x is not None and not math.isnan(x)


def ticket_rows(tickets: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The column dict of a ticket log as a list of row dicts."""
    cols = list(tickets)
    n = len(tickets[cols[0]]) if cols else 0
    return [{c: tickets[c][i] for c in cols} for i in range(n)]


OUTCOMES = ("answered", "abandoned", "blocked")


def assert_conserved(r: ReplicationResult) -> tuple[dict[str, Any], dict[str, int]]:
    """Every counted ticket is accounted for exactly once, as whole numbers: (summary, tickets
    still waiting at the end by channel).

    Overall: offered == answered + abandoned + blocked + in_queue_end, and offered equals the
    engine's own tally of counted arrivals. Per channel: what offered leaves after the outcomes
    is a whole number >= 0, the channel's tickets still waiting; these sum to in_queue_end, so
    with in_queue_end == 0 (or waiting on one channel only) each channel's identity is exact.
    (Checking it channel by channel in general needs the engine's waiting count per channel:
    see test_model.test_conservation_per_channel_with_waiting_at_end.)
    """
    s = summarize(r)
    o = s["overall"]["all"]
    for key in ("offered", *OUTCOMES):
        assert float(o[key]).is_integer(), (key, o[key])
    assert o["offered"] == r.arrivals_counted, (o["offered"], r.arrivals_counted)
    assert o["offered"] == o["answered"] + o["abandoned"] + o["blocked"] + r.in_queue_end, (
        f"offered {o['offered']:.0f} != answered {o['answered']:.0f} + abandoned {o['abandoned']:.0f} "
        f"+ blocked {o['blocked']:.0f} + in_queue_end {r.in_queue_end}"
    )
    waiting: dict[str, int] = {}
    for name, v in s["by_channel"].items():
        for key in ("offered", *OUTCOMES):
            assert float(v[key]).is_integer(), (name, key, v[key])
        left = v["offered"] - v["answered"] - v["abandoned"] - v["blocked"]
        assert left >= 0, f"{name}: offered {v['offered']:.0f} < its outcomes ({left:.0f} left)"
        waiting[name] = int(left)
    assert sum(waiting.values()) == r.in_queue_end, (waiting, r.in_queue_end)
    for key in ("offered", *OUTCOMES):
        assert sum(v[key] for v in s["by_channel"].values()) == o[key], key
    return s, waiting
