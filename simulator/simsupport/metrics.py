"""Streaming statistics of one replication.

The model reports facts (offered, blocked, answered, abandoned) about tickets that arrived in
the counted window [warm-up, warm-up + horizon); this module accumulates them per ticket class
and per reporting interval, and nothing per ticket, so memory stays flat however long the
horizon. Waiting-time quantiles come from a log-spaced histogram (1% relative resolution),
filled in numpy blocks. Scopes (by channel, category, language, priority, pool) are sums of
class rows, computed once at the end.

Definitions (all times in seconds; "admitted" = offered - blocked):
- p_wait: share of admitted tickets not answered at once;
- mean_wait_s: over admitted tickets that left the queue, abandoners' time in queue included;
- asa_s: mean wait of answered tickets; wait_pXX_s: quantiles of answered waits;
- service_level: per the channel's SLA formula (see config.schema.SLA);
- occupancy: busy agent time / on-duty agent time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Waiting-time histogram: bin 0 holds waits of exactly 0; bin k >= 1 holds
# [W0 * e^((k-1)/PER_E), W0 * e^(k/PER_E)); waits below W0 go to bin 1.
W0 = 0.01
PER_E = 100.0
N_BINS = 2300  # up to W0 * e^23, about 3 years
FLUSH = 4096

# Counter columns of a class row.
COUNTERS = (
    "offered",
    "retrials",
    "blocked",
    "answered",
    "abandoned",
    "at_once",
    "wait_answered",
    "wait_abandoned",
    "sl_num",
    "sl_den",
    "short_abandoned",
    "resolved",
    "resolution",
)
C = {name: i for i, name in enumerate(COUNTERS)}

# SLA formula codes, fixed per channel.
SL_NONE, SL_ANS_ABD, SL_ANS, SL_OFFERED = -1, 0, 1, 2
SL_CODES = {"answered_and_abandoned": SL_ANS_ABD, "answered": SL_ANS, "offered": SL_OFFERED}

INTERVAL_COUNTERS = ("offered", "answered", "abandoned", "wait_answered", "sl_num", "sl_den")


# The worst-hour scope keeps one coarser histogram per hour and channel (5% resolution).
HOUR = 3600.0
HOUR_PER_E = 20.0
HOUR_BINS = 23 * 20 + 2
FINE_PER_COARSE = int(PER_E // HOUR_PER_E)


def floats(buf: list[float]) -> np.ndarray:
    """A fact buffer as an array: fromiter takes 16 ns a value where np.array takes 25."""
    return np.fromiter(buf, dtype=float, count=len(buf))


def ints(buf: list[int]) -> np.ndarray:
    return np.fromiter(buf, dtype=np.int64, count=len(buf))


def wait_bins(waits: np.ndarray, per_e: float = PER_E, n_bins: int = N_BINS) -> np.ndarray:
    """Histogram bin of each wait (vectorised)."""
    out = np.zeros(len(waits), dtype=np.int64)
    pos = waits > 0
    k = np.floor(np.log(np.maximum(waits[pos], W0) / W0) * per_e).astype(np.int64) + 1
    out[pos] = np.minimum(k, n_bins - 1)
    return out


def hist_quantile(hist: np.ndarray, q: float, per_e: float = PER_E) -> float:
    """Quantile from a wait histogram (log-linear interpolation inside the bin)."""
    total = hist.sum()
    if total == 0:
        return math.nan
    target = q * total
    cum = np.cumsum(hist)
    k = int(np.searchsorted(cum, target, side="left"))
    if k == 0:
        return 0.0
    below = cum[k - 1]
    frac = (target - below) / hist[k] if hist[k] else 0.0
    lo = 0.0 if k == 1 else (k - 1) / per_e
    hi = k / per_e
    if k == 1:
        return W0 * frac
    return W0 * math.exp(lo + frac * (hi - lo))


@dataclass
class ReplicationResult:
    """Everything one replication measured, as plain arrays (picklable, no pandas)."""

    replication: int
    seed: int
    class_keys: list[tuple[str, str, str, bool, int]]  # channel, category, language, vip, priority
    class_volatile: list[bool]  # class counts tickets that arrived in volatile intervals
    class_counters: np.ndarray  # [n_classes, len(COUNTERS)]
    class_hist: np.ndarray  # [n_classes, N_BINS]
    pool_names: list[str]
    pool_tiers: list[str]
    pool_channels: list[list[str]]
    pool_answered: np.ndarray  # [n_pools]
    pool_wait: np.ndarray  # [n_pools] sum of answered waits
    pool_hist: np.ndarray  # [n_pools, N_BINS]
    pool_busy: np.ndarray  # [n_pools] busy agent-seconds in the window
    pool_duty: np.ndarray  # [n_pools] on-duty agent-seconds in the window
    channel_names: list[str]
    channel_queue_area: np.ndarray  # [n_channels] integral of waiting tickets over the window
    window: float  # length of the counted window, seconds
    intervals: dict[str, list[Any]]  # tidy columns, one row per interval and channel
    in_queue_end: int  # counted tickets still waiting when the run stopped
    arrivals_counted: int  # counted arrivals, tallied by the model apart from the sink
    sim_end: float
    wall_time: float
    tickets_simulated: int
    hour_counters: np.ndarray | None = None  # [n_hours * n_channels, len(COUNTERS)], hour-major
    hour_hist: np.ndarray | None = None  # [n_hours * n_channels, HOUR_BINS]
    first_hour: int = 0  # clock hour (since simulation time 0) of hour row 0
    snapshots: dict[str, np.ndarray] | None = None  # t, queue area, busy and duty areas at interval edges
    tickets: dict[str, list[Any]] | None = None
    resolution_hist: np.ndarray | None = None  # [n_channels, N_BINS] resolution times (single-visit desks)
    journey: Any = None  # journey.sink.JourneyTotals when the scenario has a service journey
    extra: dict[str, Any] = field(default_factory=dict)


class Collector:
    """The default sink: buffers facts in flat lists, folds them into counters in numpy blocks.

    Appending a few numbers per ticket is the cheapest thing Python can do on the hot path; the
    arithmetic (class and interval counters, SLA counts, histograms) happens vectorised every
    FLUSH facts, so memory stays bounded and the per-ticket cost small.
    """

    def __init__(
        self,
        classes: list[Any],
        n_pools: int,
        channels: list[Any],
        warmup: float,
        end: float,
        interval: float,
    ) -> None:
        n = len(classes)
        self.n_classes = n
        self.n_pools = n_pools
        self.n_channels = len(channels)
        self.class_channel = np.array([c.channel.index for c in classes], dtype=np.int64)
        self.sl_T = np.array([c.channel.sla_T for c in classes], dtype=float)
        self.sl_code = np.array([c.channel.sla_code for c in classes], dtype=np.int64)
        self.short = np.array([c.channel.short_abandon for c in classes], dtype=float)
        self.counters = np.zeros((n, len(COUNTERS)))
        self.hist = np.zeros((n, N_BINS), dtype=np.int64)
        self.pool_answered = np.zeros(n_pools)
        self.pool_wait = np.zeros(n_pools)
        self.pool_hist = np.zeros((n_pools, N_BINS), dtype=np.int64)
        # resolution (answer + handle time) of single-visit tickets, per channel
        self.resolution_hist = np.zeros((self.n_channels, N_BINS), dtype=np.int64)
        self.interval = interval
        self.k0 = int(warmup // interval)
        self.n_intervals = int(math.ceil(end / interval)) - self.k0
        self.iv = {name: np.zeros((self.n_channels, self.n_intervals)) for name in INTERVAL_COUNTERS}
        # per clock hour and channel: counters and a coarse histogram, for the worst_hour scope
        self.h0 = int(warmup // HOUR)
        self.n_hours = int(math.ceil(end / HOUR)) - self.h0
        self.hour_counters = np.zeros((self.n_hours * self.n_channels, len(COUNTERS)))
        self.hour_hist = np.zeros((self.n_hours * self.n_channels, HOUR_BINS), dtype=np.int64)
        # Fact buffers: answered (class, arrival, wait, pool) and abandoned (class, arrival,
        # wait). Offered is not a fact of its own: every counted ticket ends answered,
        # abandoned, blocked or still waiting, so offered is their sum (`still_waiting` adds
        # the last at the end). The model counts arrivals independently, which is what the
        # conservation test compares against.
        # four parallel lists: list.append is the cheapest thing on the hot path, and
        # np.array(list of floats) converts at ~25 ns a value (tuples would cost ~230 ns a row)
        self.a_cls: list[int] = []
        self.a_arr: list[float] = []
        self.a_wait: list[float] = []
        self.a_pool: list[int] = []
        self.a_handle: list[float] = []  # resolution = wait + handle (nan: the journey reports it)
        self.x_cls: list[int] = []
        self.x_arr: list[float] = []
        self.x_wait: list[float] = []

    # -- facts from the model (hot path) ---------------------------------------------------
    def retrial(self, t: Any) -> None:
        self.counters[t.cls.index, C["retrials"]] += 1
        self.hour_counters[self._hour_cell(t), C["retrials"]] += 1

    def blocked(self, t: Any) -> None:
        self._count_offered(t)
        self.counters[t.cls.index, C["blocked"]] += 1
        self.hour_counters[self._hour_cell(t), C["blocked"]] += 1

    def still_waiting(self, t: Any, waited: float) -> None:
        """A counted ticket still in the queue when the run stopped (the drain hit its limit).

        It has waited `waited` so far: past the SLA threshold it is a certain breach and
        counts in the service level's denominator; below it, its outcome is unknown and it
        is left out.
        """
        self._count_offered(t)
        i = t.cls.index
        if self.sl_code[i] >= 0 and waited > self.sl_T[i]:
            self.counters[i, C["sl_den"]] += 1
            self.hour_counters[self._hour_cell(t), C["sl_den"]] += 1
            k = min(max(int(t.arrival / self.interval) - self.k0, 0), self.n_intervals - 1)
            self.iv["sl_den"][t.cls.channel.index, k] += 1

    def _hour_cell(self, t: Any) -> int:
        # a live start's tickets arrived before time 0 (they count in the first hour); with the
        # chatbot's SLA clock at handover a ticket may reach a human after the window
        h = min(max(int(t.arrival // HOUR) - self.h0, 0), self.n_hours - 1)
        return h * self.n_channels + t.cls.channel.index

    def _count_offered(self, t: Any) -> None:
        i = t.cls.index
        self.counters[i, C["offered"]] += 1
        self.hour_counters[self._hour_cell(t), C["offered"]] += 1
        k = min(max(int(t.arrival / self.interval) - self.k0, 0), self.n_intervals - 1)
        self.iv["offered"][t.cls.channel.index, k] += 1

    def answered(self, t: Any, wait: float, pool: int, handle: float) -> None:
        self.a_cls.append(t.cls.index)
        self.a_arr.append(t.arrival)
        self.a_wait.append(wait)
        self.a_pool.append(pool)
        self.a_handle.append(handle)
        if len(self.a_wait) >= FLUSH:
            self._flush_answered()

    def abandoned(self, t: Any, wait: float) -> None:
        self.x_cls.append(t.cls.index)
        self.x_arr.append(t.arrival)
        self.x_wait.append(wait)
        if len(self.x_cls) >= FLUSH:
            self._flush_abandoned()

    # -- folding buffers into counters -----------------------------------------------------
    def _interval_index(self, cls: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        k = np.clip((arrival / self.interval).astype(np.int64) - self.k0, 0, self.n_intervals - 1)
        return self.class_channel[cls] * self.n_intervals + k

    def _hours(self, cls: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        h = np.clip((arrival // HOUR).astype(np.int64) - self.h0, 0, self.n_hours - 1)
        return h * self.n_channels + self.class_channel[cls]

    def _add(self, column: str, cls: np.ndarray, hours: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add to a counter column, by class and by hour and channel."""
        j = C[column]
        self.counters[:, j] += np.bincount(cls, weights=weights, minlength=self.n_classes)
        self.hour_counters[:, j] += np.bincount(hours, weights=weights, minlength=len(self.hour_counters))

    def _add_iv(self, column: str, cell: np.ndarray, weights: np.ndarray | None = None) -> None:
        flat = self.iv[column].reshape(-1)
        flat += np.bincount(cell, weights=weights, minlength=flat.size)

    def _flush_answered(self) -> None:
        if not self.a_wait:
            return
        cls = ints(self.a_cls)
        arrival = floats(self.a_arr)
        wait = floats(self.a_wait)
        pool = ints(self.a_pool)
        resolution = wait + floats(self.a_handle)
        cell = self._interval_index(cls, arrival)
        hours = self._hours(cls, arrival)
        has_sla = (self.sl_code[cls] >= 0).astype(float)
        met = (wait <= self.sl_T[cls]).astype(float) * has_sla
        self._add("answered", cls, hours)
        self._add("offered", cls, hours)
        self._add_iv("offered", cell)
        self._add("at_once", cls, hours, (wait == 0).astype(float))
        self._add("wait_answered", cls, hours, wait)
        self._add("sl_num", cls, hours, met)
        self._add("sl_den", cls, hours, has_sla)
        self._add_iv("answered", cell)
        self._add_iv("wait_answered", cell, wait)
        self._add_iv("sl_num", cell, met)
        self._add_iv("sl_den", cell, has_sla)
        bins = wait_bins(wait)
        # add.at on flat views: 5x faster than with a (row, column) index
        np.add.at(self.hist.reshape(-1), cls * N_BINS + bins, 1)
        # coarse bins from the fine ones: floor(20x) = floor(floor(100x) / 5), no second log pass
        coarse = np.where(bins > 0, np.minimum((bins - 1) // FINE_PER_COARSE + 1, HOUR_BINS - 1), 0)
        np.add.at(self.hour_hist.reshape(-1), hours * HOUR_BINS + coarse, 1)
        self.pool_answered += np.bincount(pool, minlength=self.n_pools)
        self.pool_wait += np.bincount(pool, weights=wait, minlength=self.n_pools)
        np.add.at(self.pool_hist.reshape(-1), pool * N_BINS + bins, 1)
        known = ~np.isnan(resolution)
        if known.any():
            r_cls, resolution = cls[known], resolution[known]
            self.counters[:, C["resolved"]] += np.bincount(r_cls, minlength=self.n_classes)
            self.counters[:, C["resolution"]] += np.bincount(r_cls, weights=resolution, minlength=self.n_classes)
            cells = self.class_channel[r_cls] * N_BINS + wait_bins(resolution)
            np.add.at(self.resolution_hist.reshape(-1), cells, 1)
        for buf in (self.a_cls, self.a_arr, self.a_wait, self.a_pool, self.a_handle):
            buf.clear()

    def _flush_abandoned(self) -> None:
        if not self.x_cls:
            return
        cls = ints(self.x_cls)
        wait = floats(self.x_wait)
        arrival = floats(self.x_arr)
        cell = self._interval_index(cls, arrival)
        hours = self._hours(cls, arrival)
        code = self.sl_code[cls]
        short = wait < self.short[cls]
        long_ = ~short
        den = (long_ & ((code == SL_ANS_ABD) | (code == SL_OFFERED))).astype(float)
        num = (long_ & (code == SL_OFFERED) & (wait <= self.sl_T[cls])).astype(float)
        self._add("abandoned", cls, hours)
        self._add("offered", cls, hours)
        self._add_iv("offered", cell)
        self._add("wait_abandoned", cls, hours, wait)
        self._add("short_abandoned", cls, hours, short.astype(float))
        self._add("sl_num", cls, hours, num)
        self._add("sl_den", cls, hours, den)
        self._add_iv("abandoned", cell)
        self._add_iv("sl_num", cell, num)
        self._add_iv("sl_den", cell, den)
        for buf in (self.x_cls, self.x_arr, self.x_wait):
            buf.clear()

    def finish(self) -> None:
        """Fold whatever is still buffered (call once, when the run stops)."""
        self._flush_answered()
        self._flush_abandoned()


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
    """Per scope, per key, the metrics of one replication."""
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
        from .journey.sink import add_journey_scopes

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
    """The clock hour with the lowest overall service level, with the metrics of `overall`.

    Hours are counted by ticket arrival like every other scope; wait quantiles come from a
    5%-resolution histogram; occupancy and mean_queue from the interval snapshots (exact when
    the reporting interval divides an hour). `start_s` says which hour it was.
    """
    if r.hour_counters is None or r.hour_hist is None:
        return None
    n_ch = len(r.channel_names)
    per_hour = r.hour_counters.reshape(-1, n_ch, len(COUNTERS))
    num = per_hour[:, :, C["sl_num"]].sum(axis=1)
    den = per_hour[:, :, C["sl_den"]].sum(axis=1)
    valid = np.nonzero(den > 0)[0]
    if len(valid) == 0:
        return None
    h = int(valid[np.argmin(num[valid] / den[valid])])
    hist = r.hour_hist.reshape(-1, n_ch, HOUR_BINS)[h]
    start = (r.first_hour + h) * HOUR
    out = {"all": metrics_from(per_hour[h].sum(axis=0), hist.sum(axis=0), HOUR_PER_E)}
    for ci, name in enumerate(r.channel_names):
        out[name] = metrics_from(per_hour[h, ci], hist[ci], HOUR_PER_E)
    snap = r.snapshots
    if snap is not None:
        t = snap["t"]
        i0 = int(np.searchsorted(t, start, side="left"))
        i1 = int(np.searchsorted(t, start + HOUR, side="right")) - 1
        if 0 <= i0 < i1 < len(t):
            span = t[i1] - t[i0]
            busy = snap["busy"][i1] - snap["busy"][i0]
            duty = snap["duty"][i1] - snap["duty"][i0]
            queue = snap["queue"][i1] - snap["queue"][i0]
            out["all"]["occupancy"] = _ratio(float(busy.sum()), float(duty.sum()))
            out["all"]["mean_queue"] = float(queue.sum()) / span
            for ci, name in enumerate(r.channel_names):
                serving = [p for p, chans in enumerate(r.pool_channels) if name in chans]
                out[name]["occupancy"] = _ratio(float(busy[serving].sum()), float(duty[serving].sum()))
                out[name]["mean_queue"] = float(queue[ci]) / span
    out["all"]["start_s"] = start
    return out
