"""From a replication's counters to its metrics, scope by scope (see stats.collector for the
definitions)."""

from __future__ import annotations

import copy
import math

import numpy as np

from .counters import COUNTERS, C
from .histogram import HOUR, HOUR_BINS, HOUR_PER_E, PER_E, hist_quantile
from .journey import add_journey_scopes
from .result import ReplicationResult


# -- from counters to metrics ------------------------------------------------------------------
def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def metrics_from(counters: np.ndarray, hist: np.ndarray, per_e: float = PER_E) -> dict[str, float]:
    """The metrics of a scope, from its summed class counters and histogram."""
    c = {name: float(counters[i]) for i, name in enumerate(COUNTERS)}
    admitted = c["offered"] - c["blocked"]
    left = c["answered"] + c["abandoned"]
    sl = _ratio(c["sl_num"], c["sl_den"])
    waited = c["answered"] - c["at_once"] + c["abandoned"]
    return {
        "offered": c["offered"],
        "retrials": c["retrials"],
        "answered": c["answered"],
        "abandoned": c["abandoned"],
        "blocked": c["blocked"],
        "abandon_rate": _ratio(c["abandoned"], admitted),
        "block_rate": _ratio(c["blocked"], c["offered"]),
        "p_wait": _ratio(waited, left),
        "mean_wait_s": _ratio(c["wait_answered"] + c["wait_abandoned"], left),
        "asa_s": _ratio(c["wait_answered"], c["answered"]),
        "mean_wait_abandoned_s": _ratio(c["wait_abandoned"], c["abandoned"]),
        "wait_p50_s": hist_quantile(hist, 0.50, per_e),
        "wait_p90_s": hist_quantile(hist, 0.90, per_e),
        "wait_p99_s": hist_quantile(hist, 0.99, per_e),
        "service_level": sl,
        "sla_breach_rate": 1.0 - sl if not math.isnan(sl) else math.nan,
        "resolution_time_s": _ratio(c["resolution"], c["resolved"]),
    }


SCOPES = (
    "overall", "by_channel", "by_category", "by_priority", "by_language", "by_pool", "by_tier", "volatile",
    "worst_hour", "surge", "chatbot", "backlog",
)  # fmt: skip


def summarize(r: ReplicationResult) -> dict[str, dict[str, dict[str, float]]]:
    """Per scope, per key, the metrics of one replication (a copy of `r.summary` where the
    replication was summarised already and its hour-level data let go: experiment.replications)."""
    if r.summary is not None:
        return copy.deepcopy(r.summary)
    out: dict[str, dict[str, dict[str, float]]] = {}
    keys = r.class_keys
    busy, duty = r.pool_busy, r.pool_duty

    def group(index: int | None) -> dict[str, dict[str, float]]:
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            label = "all" if index is None else str(key[index])
            groups.setdefault(label, []).append(i)
        res = {}
        for label, rows in groups.items():
            res[label] = metrics_from(r.class_counters[rows].sum(axis=0), r.class_hist[rows].sum(axis=0))
        return res

    overall = group(None)["all"]
    overall["occupancy"] = _ratio(float(busy.sum()), float(duty.sum()))
    overall["mean_queue"] = float(r.channel_queue_area.sum()) / r.window
    out["overall"] = {"all": overall}
    by_channel = group(0)
    res_hist = r.resolution_hist
    if res_hist is not None:
        overall["resolution_p90_s"] = hist_quantile(res_hist.sum(axis=0), 0.9)
        overall["deflection_rate"] = 0.0
        overall["escalation_rate"] = 0.0
    for ci, name in enumerate(r.channel_names):
        if name not in by_channel:
            continue
        if res_hist is not None:
            by_channel[name]["resolution_p90_s"] = hist_quantile(res_hist[ci], 0.9)
        serving = [p for p, chans in enumerate(r.pool_channels) if name in chans]
        by_channel[name]["occupancy"] = _ratio(float(busy[serving].sum()), float(duty[serving].sum()))
        by_channel[name]["mean_queue"] = float(r.channel_queue_area[ci]) / r.window
    out["by_channel"] = by_channel
    out["by_category"] = group(1)
    out["by_priority"] = group(4)
    out["by_language"] = group(2)
    pools: dict[str, dict[str, float]] = {}
    for p, name in enumerate(r.pool_names):
        n = float(r.pool_answered[p])
        pools[name] = {
            "answered": n,
            "asa_s": _ratio(float(r.pool_wait[p]), n),
            "wait_p50_s": hist_quantile(r.pool_hist[p], 0.5),
            "wait_p90_s": hist_quantile(r.pool_hist[p], 0.9),
            "wait_p99_s": hist_quantile(r.pool_hist[p], 0.99),
            "occupancy": _ratio(float(busy[p]), float(duty[p])),
            "agents_on_duty": float(duty[p]) / r.window,
        }
    out["by_pool"] = pools
    out["by_tier"] = _by_tier(r)
    if any(r.class_volatile):
        # tickets that arrived in volatile intervals (market.response.volatile_above)
        rows = [i for i, v in enumerate(r.class_volatile) if v]
        vol = {"all": metrics_from(r.class_counters[rows].sum(axis=0), r.class_hist[rows].sum(axis=0))}
        for name in r.channel_names:
            ch_rows = [i for i in rows if keys[i][0] == name]
            vol[name] = metrics_from(r.class_counters[ch_rows].sum(axis=0), r.class_hist[ch_rows].sum(axis=0))
        out["volatile"] = vol
    if r.journey is not None:

        add_journey_scopes(r, out)
    worst = worst_hour(r)
    if worst is not None:
        out["worst_hour"] = worst
    rules = r.extra.get("surge") or []
    if rules:
        # activations inside the counted window; agent-hours from the reserve pool's duty time
        out["surge"] = {}
        for log in rules:
            entry = {"activations": float(log["activations"]), "active_hours": log["active_seconds"] / HOUR}
            if log["kind"] == "on_call" and log["name"] in r.pool_names:
                entry["agent_hours"] = float(duty[r.pool_names.index(log["name"])]) / HOUR
            out["surge"][log["name"]] = entry
    return out


def _by_tier(r: ReplicationResult) -> dict[str, dict[str, float]]:
    """Service starts by pools of each tier (a plain desk: every ticket is served once)."""
    out: dict[str, dict[str, float]] = {}
    for tier in dict.fromkeys(r.pool_tiers):
        rows = [p for p, t in enumerate(r.pool_tiers) if t == tier]
        n = float(r.pool_answered[rows].sum())
        hist = r.pool_hist[rows].sum(axis=0)
        out[tier] = {
            "answered": n,
            "asa_s": _ratio(float(r.pool_wait[rows].sum()), n),
            "wait_p90_s": hist_quantile(hist, 0.9),
            "occupancy": _ratio(float(r.pool_busy[rows].sum()), float(r.pool_duty[rows].sum())),
            "agents_on_duty": float(r.pool_duty[rows].sum()) / r.window,
        }
    return out


def worst_hour(r: ReplicationResult) -> dict[str, dict[str, float]] | None:
    """The worst clock hour of this replication: under `all` the hour with the lowest service
    level of the whole desk, under each channel with an SLA that channel's own worst hour (its
    lowest service level), each with its metrics and `start_s`, the hour's start.

    Hours are counted by ticket arrival like every other scope; wait quantiles come from a
    5%-resolution histogram; occupancy and mean_queue from the interval snapshots (exact when
    the reporting interval divides an hour). Ties go to the earliest hour; where every hour
    has the same level (a channel always at 100%) no hour is worse than another and `start_s`
    is NaN. The staffing targets' `worst_hour` scope (staffing.targets) takes the same hour
    for a channel's SLA.
    """
    if r.hour_counters is None or r.hour_hist is None:
        return None
    n_ch = len(r.channel_names)
    per_hour = r.hour_counters.reshape(-1, n_ch, len(COUNTERS))
    kept = r.hour_hist

    def hist(h: int) -> np.ndarray:
        """Hour row h's histograms: held for every hour that can be a worst one (stats.hours);
        an hour without them had no answered ticket."""
        block = kept.get(h)
        return block if block is not None else np.zeros((n_ch, HOUR_BINS), dtype=np.int64)

    num, den = per_hour[:, :, C["sl_num"]], per_hour[:, :, C["sl_den"]]
    h = _lowest(num.sum(axis=1), den.sum(axis=1))
    if h is None:
        return None
    out = {"all": metrics_from(per_hour[h].sum(axis=0), hist(h).sum(axis=0), HOUR_PER_E)}
    window = _snapshot_hour(r, (r.first_hour + h) * HOUR)
    if window is not None:
        span, busy, duty, queue = window
        out["all"]["occupancy"] = _ratio(float(busy.sum()), float(duty.sum()))
        out["all"]["mean_queue"] = float(queue.sum()) / span
    out["all"]["start_s"] = _start(r, h, num.sum(axis=1), den.sum(axis=1))
    for ci, name in enumerate(r.channel_names):
        hc = _lowest(num[:, ci], den[:, ci])
        if hc is None:
            continue
        block = metrics_from(per_hour[hc, ci], hist(hc)[ci], HOUR_PER_E)
        window = _snapshot_hour(r, (r.first_hour + hc) * HOUR)
        if window is not None:
            span, busy, duty, queue = window
            serving = [p for p, chans in enumerate(r.pool_channels) if name in chans]
            block["occupancy"] = _ratio(float(busy[serving].sum()), float(duty[serving].sum()))
            block["mean_queue"] = float(queue[ci]) / span
        block["start_s"] = _start(r, hc, num[:, ci], den[:, ci])
        out[name] = block
    return out


def _lowest(num: np.ndarray, den: np.ndarray) -> int | None:
    """The hour with the lowest num / den among hours with den > 0 (the earliest of equals)."""
    valid = np.nonzero(den > 0)[0]
    if len(valid) == 0:
        return None
    return int(valid[np.argmin(num[valid] / den[valid])])


def _start(r: ReplicationResult, h: int, num: np.ndarray, den: np.ndarray) -> float:
    """The start of hour row h, or NaN when every hour with a level has the same one."""
    valid = den > 0
    levels = num[valid] / den[valid]
    return (r.first_hour + h) * HOUR if levels.max() > levels.min() else math.nan


def _snapshot_hour(r: ReplicationResult, start: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
    """(span, busy, duty, queue area) between the snapshots that bound the hour from `start`."""
    snap = r.snapshots
    if snap is None:
        return None
    t = snap["t"]
    i0 = int(np.searchsorted(t, start, side="left"))
    i1 = int(np.searchsorted(t, start + HOUR, side="right")) - 1
    if not 0 <= i0 < i1 < len(t):
        return None
    return (float(t[i1] - t[i0]), snap["busy"][i1] - snap["busy"][i0], snap["duty"][i1] - snap["duty"][i0],
            snap["queue"][i1] - snap["queue"][i0])  # fmt: skip
