"""summary.json: the contract that scripts, sweeps and CI checks read.

Keys: scenario, seed, replications, simsupport_version, scenario_hash, horizon_s, warmup_s,
warnings (sentences about a valid scenario that is probably not what its author meant, see
config.warnings; [] when there are none), then one object per scope (overall, by_channel,
by_category, by_priority, by_language, by_pool), each mapping a key to metric ->
{"mean": x, "ci95": half_width} over replications. Times are seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..config.schema import Scenario
from ..config.warnings import scenario_warnings
from ..experiment.statistics import aggregate
from ..stats.result import ReplicationResult
from ..stats.summary import SCOPES, summarize


def scenario_hash(scenario: Scenario) -> str:
    """Hash of the validated scenario (what the model sees, not the file's formatting). Values
    left at their defaults are left out, so a new optional setting in a later version does not
    change the hash of a scenario that does not use it."""
    text = json.dumps(scenario.model_dump(mode="json", exclude_defaults=True), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def summary_document(scenario: Scenario, results: Sequence[ReplicationResult]) -> dict[str, Any]:
    agg = aggregate([summarize(r) for r in results])
    doc: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": len(results),
        "simsupport_version": __version__,
        "scenario_hash": scenario_hash(scenario),
        "horizon_s": scenario.horizon,
        "warmup_s": scenario.warmup,
        "warnings": scenario_warnings(scenario, len(results)),
    }
    for scope in SCOPES:
        doc[scope] = agg.get(scope, {})
    doc["run"] = {
        "tickets_simulated": int(sum(r.tickets_simulated for r in results)),
        "wall_time_s": float(sum(r.wall_time for r in results)),
        "in_queue_at_end": int(sum(r.in_queue_end for r in results)),
    }
    return doc
