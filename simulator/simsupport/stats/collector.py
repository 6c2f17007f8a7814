"""Streaming statistics of one replication.

The model reports facts (offered, blocked, answered, abandoned) about tickets that arrived in
the counted window [warm-up, warm-up + horizon); this module accumulates them per ticket class
and per reporting interval (and clock hour), and nothing per ticket: memory grows only with the
periods reported, a few hundred bytes each, never with the tickets. Waiting-time quantiles come from a log-spaced histogram (1% relative resolution),
filled in numpy blocks. Scopes (by channel, category, language, priority, pool) are sums of
class rows, computed once at the end.

Definitions (all times in seconds; "admitted" = offered - blocked):
- p_wait: share of admitted tickets not answered at once;
- mean_wait_s: over admitted tickets that left the queue, abandoners' time in queue included;
- asa_s: mean wait of answered tickets; wait_pXX_s: quantiles of answered waits;
- service_level: per the channel's SLA formula (see config.contact.SLA);
- occupancy: busy agent time / on-duty agent time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .counters import COUNTERS, INTERVAL_COUNTERS, SL_ANS_ABD, SL_OFFERED, C
from .histogram import (
    FINE_PER_COARSE,
    FLUSH,
    HOUR,
    HOUR_BINS,
    N_BINS,
    floats,
    ints,
    wait_bins,
)
from .hours import HourHistograms
from .targets import TargetRows, TargetTally


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
        targets: TargetRows | None = None,
    ) -> None:
        n = len(classes)
        self.n_classes = n
        self.n_pools = n_pools
        self.n_channels = len(channels)
        self.class_channel = np.array([c.channel.index for c in classes], dtype=np.int64)
        self.sl_T = np.array([c.channel.sla_T for c in classes], dtype=float)
        self.sl_code = np.array([c.channel.sla_code for c in classes], dtype=np.int64)
        self.short = np.array([c.channel.short_abandon for c in classes], dtype=float)
        self.all_sla = bool((self.sl_code >= 0).all())  # then sl_den counts every answered ticket
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
        # (the coarse wait histograms only while an hour may still be the worst: stats.hours)
        self.hours = HourHistograms(self.n_channels, self.n_hours, self.h0, C["sl_num"], C["sl_den"], C["offered"])
        # Fact buffers: answered (class, arrival, wait, pool) and abandoned (class, arrival,
        # wait). Offered is not a fact of its own: every counted ticket ends answered,
        # abandoned, blocked or still waiting, so offered is their sum (`still_waiting` adds
        # the last at the end). The model counts arrivals independently, which is what the
        # conservation test compares against.
        # answered facts in one flat list, five numbers each (class, arrival, wait, pool, handle;
        # handle nan: the journey reports resolution itself): one in-place extend per fact is
        # cheaper than five appends, and np.fromiter converts it at ~16 ns a value (a list of
        # tuples would cost ~230 ns a row)
        self.a_buf: list[float] = []
        self.a_full = 5 * FLUSH  # a_buf's length at which it is folded
        self.x_cls: list[int] = []
        self.x_arr: list[float] = []
        self.x_wait: list[float] = []
        # blocked facts (class, arrival), folded in blocks like the others (whole-number
        # counts: the same totals as counting one by one); tickets still waiting at the end
        # (class, arrival, waited), for the targets
        self.b_buf: list[float] = []
        self.w_buf: list[float] = []
        # staffing targets (stats.targets): tallied from the same facts, in the same flushes
        self.targets = (
            TargetTally(targets, self.h0, self.n_hours, self.k0, self.n_intervals, interval) if targets is not None else None
        )

    # -- facts from the model (hot path) ---------------------------------------------------
    def retrial(self, t: Any) -> None:
        self.counters[t.cls.index, C["retrials"]] += 1
        self.hour_counters[self._hour_cell(t), C["retrials"]] += 1

    def blocked(self, t: Any) -> None:
        buf = self.b_buf
        buf += (t.cls.index, t.arrival)
        if len(buf) >= 2 * FLUSH:
            self._flush_blocked()

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
        if self.targets is not None:
            self.w_buf += (i, t.arrival, waited)

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
        # one flat buffer, five values a fact: one call instead of five appends (the plain
        # engine's service start does the same inline: engine.desk.Engine._start)
        buf = self.a_buf
        buf += (t.cls.index, t.arrival, wait, pool, handle)
        if len(buf) >= self.a_full:
            self._flush_answered()

    def flush_answered(self) -> None:
        """Fold the answered facts now (for a caller that fills `a_buf` itself)."""
        self._flush_answered()

    def abandoned(self, t: Any, wait: float) -> None:
        self.x_cls.append(t.cls.index)
        self.x_arr.append(t.arrival)
        self.x_wait.append(wait)
        if len(self.x_cls) >= FLUSH:
            self._flush_abandoned()

    # -- folding buffers into counters -----------------------------------------------------
    # Each flush adds its facts to the few hours and intervals they fall in: bincounts over
    # the span the facts cover (a slice of the hour and interval arrays), not the whole
    # horizon, so a flush costs its facts whatever the horizon (and flushing on the hour,
    # for stats.hours, stays cheap).
    def _interval_index(self, cls: np.ndarray, arrival: np.ndarray) -> tuple[np.ndarray, int, int]:
        """(cell within the span, first interval, span): cells channel-major over the span."""
        k = np.clip((arrival / self.interval).astype(np.int64) - self.k0, 0, self.n_intervals - 1)
        lo = int(k.min())
        span = int(k.max()) - lo + 1
        return self.class_channel[cls] * span + (k - lo), lo, span

    def _hours(self, cls: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        h = np.clip((arrival // HOUR).astype(np.int64) - self.h0, 0, self.n_hours - 1)
        return h * self.n_channels + self.class_channel[cls]

    @staticmethod
    def _local(rows: np.ndarray, weights: np.ndarray | None) -> tuple[int, np.ndarray]:
        lo = int(rows.min())
        return lo, np.bincount(rows - lo, weights=weights)

    def _add(self, column: str, cls: np.ndarray, hours: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add to a counter column, by class and by hour and channel."""
        self._add_counts(column, self._counts(cls, hours, weights))

    def _counts(self, cls: np.ndarray, hours: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, tuple[int, np.ndarray]]:
        """Bincounts by class and by hour and channel, to add to one or more columns."""
        return np.bincount(cls, weights=weights, minlength=self.n_classes), self._local(hours, weights)

    def _add_counts(self, column: str, counts: tuple[np.ndarray, tuple[int, np.ndarray]]) -> None:
        j = C[column]
        self.counters[:, j] += counts[0]
        lo, part = counts[1]
        self.hour_counters[lo : lo + len(part), j] += part

    def _iv_counts(self, cells: tuple[np.ndarray, int, int], weights: np.ndarray | None = None) -> np.ndarray:
        cell, _, span = cells
        return np.bincount(cell, weights=weights, minlength=self.n_channels * span).reshape(self.n_channels, span)

    def _add_iv(self, column: str, cells: tuple[np.ndarray, int, int], weights: np.ndarray | None = None,
                counts: np.ndarray | None = None) -> None:  # fmt: skip
        _, lo, span = cells
        self.iv[column][:, lo : lo + span] += self._iv_counts(cells, weights) if counts is None else counts

    def _flush_answered(self) -> None:
        if not self.a_buf:
            return
        facts = floats(self.a_buf).reshape(-1, 5)
        cls = facts[:, 0].astype(np.int64)
        arrival = facts[:, 1]
        wait = facts[:, 2]
        pool = facts[:, 3].astype(np.int64)
        resolution = wait + facts[:, 4]
        cell = self._interval_index(cls, arrival)
        hours = self._hours(cls, arrival)
        met = wait <= self.sl_T[cls]
        # counts (answered, offered; sl_den where every class has an SLA) are bincounted once
        # and added to each column: whole numbers, the very sums of per-column bincounts
        counts = self._counts(cls, hours)
        iv_counts = self._iv_counts(cell)
        if self.all_sla:
            sla = counts
            iv_sla = iv_counts
        else:
            has_sla = (self.sl_code[cls] >= 0).astype(float)
            met &= has_sla > 0
            sla = self._counts(cls, hours, has_sla)
            iv_sla = self._iv_counts(cell, has_sla)
        met_w = met.astype(float)
        self._add_counts("answered", counts)
        self._add_counts("offered", counts)
        self._add_counts("at_once", self._counts(cls, hours, (wait == 0).astype(float)))
        self._add("wait_answered", cls, hours, wait)
        self._add("sl_num", cls, hours, met_w)
        self._add_counts("sl_den", sla)
        for name in ("offered", "answered"):
            self._add_iv(name, cell, counts=iv_counts)
        self._add_iv("wait_answered", cell, wait)
        self._add_iv("sl_num", cell, met_w)
        self._add_iv("sl_den", cell, counts=iv_sla)
        if self.targets is not None:
            self.targets.add_answered(cls, arrival, wait, pool)
        bins = wait_bins(wait)
        # add.at on flat views: 5x faster than with a (row, column) index
        np.add.at(self.hist.reshape(-1), cls * N_BINS + bins, 1)
        # coarse bins from the fine ones: floor(20x) = floor(floor(100x) / 5), no second log pass
        coarse = np.where(bins > 0, np.minimum((bins - 1) // FINE_PER_COARSE + 1, HOUR_BINS - 1), 0)
        self.hours.add(hours, coarse)
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
        self.a_buf.clear()

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
        if self.targets is not None:
            self.targets.add_abandoned(cls, arrival, wait)
        for buf in (self.x_cls, self.x_arr, self.x_wait):
            buf.clear()

    def _flush_blocked(self) -> None:
        if not self.b_buf:
            return
        facts = floats(self.b_buf).reshape(-1, 2)
        cls = facts[:, 0].astype(np.int64)
        arrival = facts[:, 1]
        hours = self._hours(cls, arrival)
        self._add("offered", cls, hours)
        self._add("blocked", cls, hours)
        self._add_iv("offered", self._interval_index(cls, arrival))
        if self.targets is not None:
            self.targets.add_blocked(cls, arrival)
        self.b_buf.clear()

    def settle(self, now: float) -> None:
        """Fold every buffer and let the hours that can no longer change go (stats.hours):
        called on the hour, so that the buffers and the open hours stay small."""
        self._flush_answered()
        self._flush_abandoned()
        self._flush_blocked()
        self.hours.settle(now, self.hour_counters)

    def finish(self) -> None:
        """Fold whatever is still buffered (call once, when the run stops)."""
        self._flush_answered()
        self._flush_abandoned()
        self._flush_blocked()
        if self.targets is not None and self.w_buf:
            facts = floats(self.w_buf).reshape(-1, 3)
            self.targets.add_waiting(facts[:, 0].astype(np.int64), facts[:, 1], facts[:, 2])
            self.w_buf.clear()
