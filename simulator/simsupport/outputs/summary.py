"""summary.json: the contract that scripts, sweeps and CI checks read.

Keys: scenario, seed, replications, simsupport_version, scenario_hash, horizon_s, warmup_s,
warnings (sentences about a valid scenario that is probably not what its author meant, see
config.warnings; [] when there are none), then one object per scope (overall, by_channel,
by_category, by_priority, by_language, by_pool), each mapping a key to metric ->
{"mean": x, "ci95": half_width} over replications. Times are seconds.

`worst_hour` (the desk's worst clock hour under `all`, each channel's own under its name) also
says WHEN: an average of the hours' starts over replications means nothing (a Tuesday 03:00 and
a Thursday 15:00 average to no hour at all), so each key carries the most common hour as a local
clock reading, `start_local` ("Tue 14:00") in `zone`, with `agreed` of `of` replications having
it, and `start_s` (seconds since time 0, the first such hour); its metrics are the means over
every replication's own worst hour. Where no hour is worse than another (a channel at 100% all
along) `start_local` and `start_s` are null and `agreed` 0.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .. import __version__
from ..config.derived import display_zone
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


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale


def clock_label(start: datetime, seconds: float, tz: str) -> str:
    """Simulation time `seconds` as a weekday and clock time in `tz`, e.g. "Tue 14:00"."""
    t = (start + timedelta(seconds=seconds)).astimezone(ZoneInfo(tz))
    return f"{WEEKDAYS[t.weekday()]} {t:%H:%M}"


def worst_hours(
    start: datetime, summaries: Sequence[dict[str, Any]], agg: dict[str, dict[str, Any]], tz: str
) -> dict[str, dict[str, Any]]:
    """The aggregated worst_hour scope with each key's most common hour (by local weekday and
    clock time; ties: the earliest) in place of the mean of `start_s`."""
    out: dict[str, dict[str, Any]] = {}
    for key, block in agg.items():
        starts = [s["worst_hour"][key]["start_s"] for s in summaries if key in s.get("worst_hour", {})]
        block = {m: v for m, v in block.items() if m != "start_s"}
        hours = [x for x in starts if math.isfinite(x)]  # NaN: every hour alike, none the worst
        block.update(start_local=None, zone=tz, agreed=0, of=len(starts), start_s=None)
        if hours:
            labels = [clock_label(start, x, tz) for x in hours]
            counts = Counter(labels)
            first = {lab: min(x for x, lb in zip(hours, labels) if lb == lab) for lab in counts}
            mode = min(counts, key=lambda lab: (-counts[lab], first[lab]))
            block.update(start_local=mode, agreed=counts[mode], start_s=first[mode])
        out[key] = block
    return out


def summary_document(scenario: Scenario, results: Sequence[ReplicationResult], tz: str | None = None) -> dict[str, Any]:
    """The summary of a run's replications; clock times in `tz` (None: display_zone(scenario))."""
    summaries = [summarize(r) for r in results]
    agg = aggregate(summaries)
    if agg.get("worst_hour"):
        agg["worst_hour"] = worst_hours(scenario.start, summaries, agg["worst_hour"], display_zone(scenario, tz))
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
