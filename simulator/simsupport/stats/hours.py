"""Hourly wait histograms for the worst-hour scope, kept only while they can matter.

The worst hour of a replication (the lowest service level, `summary.worst_hour`) reports wait
quantiles of one hour per scope (the whole desk, each channel), but which hour is known only
at the end. A histogram for every hour and channel is 3.7 kB (462 bins): 160 MB a simulated
year on five channels. So an hour's histogram lives while facts can still reach it, and once
the hour is settled it stays only if it is the worst so far of some scope. Memory is then
flat in the horizon: the open hours and at most one hour a scope.

An hour is settled when it has passed and every counted ticket that arrived in it has
reported its outcome: the model promises one fact for each counted arrival (into `p_buf`, with
the arrival time that its fact will carry, as soon as that time is known) and the hour
counters' `offered` counts the facts. The choice among settled hours uses the very numbers
and tie rule of `summary.worst_hour`, which still picks the hour from the full hour counters;
a settled hour's histogram that was dropped and then reached by a fact would be `lost`, which
the tests hold at zero.
"""

from __future__ import annotations

import numpy as np

from .histogram import HOUR, HOUR_BINS


class HourHistograms:
    def __init__(self, n_channels: int, n_hours: int, h0: int, sl_num: int, sl_den: int, offered: int) -> None:
        self.n_ch = n_channels
        self.n_hours = n_hours
        self.h0 = h0
        self.cols = (sl_num, sl_den, offered)  # hour counter columns
        self.live: dict[int, np.ndarray] = {}  # hour row -> [n_ch, HOUR_BINS]: hours not settled
        self.kept: dict[int, np.ndarray] = {}  # settled hours some scope holds as its worst
        self.best: list[tuple[float, int] | None] = [None] * (n_channels + 1)  # scope 0: the desk
        self.dropped = np.zeros(n_hours, dtype=bool)  # settled hours whose histogram is gone
        self.lost: set[int] = set()  # dropped hours a fact reached afterwards (must stay empty)
        self.promised = np.zeros(n_hours)
        self.p_buf: list[float] = []  # arrival times of promised facts, folded at `settle`
        self.passed = 0  # hour rows below this have ended (settled or pending)
        self.pending = np.zeros(0, dtype=np.int64)  # ended hours not settled yet

    def add(self, hours: np.ndarray, bins: np.ndarray) -> None:
        """Count answered waits: `hours` are hour-and-channel cells (hour * n_ch + channel)."""
        h = hours // self.n_ch
        cell = (hours - h * self.n_ch) * HOUR_BINS + bins
        for u in np.unique(h).tolist():
            block = self._block(u)
            if block is not None:
                np.add.at(block.reshape(-1), cell[h == u], 1)

    def _block(self, h: int) -> np.ndarray | None:
        block = self.live.get(h)
        if block is None:
            block = self.kept.get(h)
        if block is None:
            if self.dropped[h]:  # settled too early: the promise count was off
                self.lost.add(h)
                return None
            block = self.live[h] = np.zeros((self.n_ch, HOUR_BINS), dtype=np.int64)
        return block

    def settle(self, now: float, hour_counters: np.ndarray) -> None:
        """Settle the hours that have ended and heard from every ticket that arrived in them
        (call with every fact folded)."""
        if self.p_buf:
            arrivals = np.fromiter(self.p_buf, dtype=float, count=len(self.p_buf))
            rows = np.clip((arrivals // HOUR).astype(np.int64) - self.h0, 0, self.n_hours - 1)
            lo = int(rows.min())
            part = np.bincount(rows - lo)  # (the hours they span, not the horizon)
            self.promised[lo : lo + len(part)] += part
            self.p_buf.clear()
        ended = min(int(now // HOUR) - self.h0, self.n_hours)
        pending = self.pending
        if ended > self.passed:
            pending = np.concatenate([pending, np.arange(self.passed, ended, dtype=np.int64)])
            self.passed = ended
        if not len(pending):
            return
        # (in numpy: an overloaded backlog leaves every hour pending, checked on every hour)
        per_hour = hour_counters.reshape(-1, self.n_ch, hour_counters.shape[1])
        num, den, offered = self.cols
        done = per_hour[pending, :, offered].sum(axis=1) == self.promised[pending]
        self.pending = pending[~done]
        for h in pending[done].tolist():
            block = self.live.pop(h, None)
            levels = [(per_hour[h, :, num].sum(), per_hour[h, :, den].sum())]
            levels += [(per_hour[h, ci, num], per_hour[h, ci, den]) for ci in range(self.n_ch)]
            held = False
            for scope, (n, d) in enumerate(levels):
                if d > 0 and self._worse(n / d, h, self.best[scope]):
                    old = self.best[scope]
                    self.best[scope] = (n / d, h)
                    if old is not None:
                        self._release(old[1])
                    held = True
            if held:
                self.kept[h] = block if block is not None else np.zeros((self.n_ch, HOUR_BINS), dtype=np.int64)
            else:
                self.dropped[h] = True

    @staticmethod
    def _worse(level: float, h: int, best: tuple[float, int] | None) -> bool:
        """Lower level, or the same level earlier (summary.worst_hour's tie rule)."""
        return best is None or level < best[0] or (level == best[0] and h < best[1])

    def _release(self, h: int) -> None:
        if any(b is not None and b[1] == h for b in self.best):
            return
        if self.kept.pop(h, None) is not None:
            self.dropped[h] = True

    def result(self) -> dict[int, np.ndarray]:
        """What a ReplicationResult carries: the histograms still held, by hour row (an hour
        not among them had no answered ticket, unless `dropped` says it was let go)."""
        return {**self.kept, **self.live}
