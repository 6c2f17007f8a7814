"""What a run hands over when it stops: interval snapshots taken on the way, and the
`ReplicationResult` assembled from them, the sink and the desk's last state."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..market.paths import mean_over
from ..stats.result import ReplicationResult
from .tickets import WAITING

if TYPE_CHECKING:
    from .host import Host as Engine


class Snapshots:
    """The desk's running totals at each interval edge, in arrays sized for the run: a row
    costs its numbers (a few dozen bytes), not a tuple of lists (about a kilobyte)."""

    def __init__(self, rows: int, n_channels: int, n_pools: int) -> None:
        self.n = 0
        self.t = np.zeros(rows)
        self.queue = np.zeros((rows, n_channels))
        self.busy = np.zeros((rows, n_pools))
        self.duty = np.zeros((rows, n_pools))
        self.open = np.zeros((rows, n_channels), dtype=np.int64)

    def add(self, now: float, queue: list[float], busy: list[float], duty: list[float], open_: list[int]) -> None:
        if self.n == len(self.t):  # more edges than planned (a drain): grow by half
            grow = max(len(self.t) // 2, 4)
            for name in ("t", "queue", "busy", "duty", "open"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros((grow, *a.shape[1:]), dtype=a.dtype)]))
        i = self.n
        self.t[i] = now
        self.queue[i] = queue
        self.busy[i] = busy
        self.duty[i] = duty
        self.open[i] = open_
        self.n = i + 1

    def arrays(self) -> dict[str, np.ndarray]:
        """The rows taken, as views (the engine is done with them; no copy at the run's peak)."""
        n = self.n
        return {"t": self.t[:n], "queue": self.queue[:n], "busy": self.busy[:n], "duty": self.duty[:n], "open": self.open[:n]}


def snapshot(e: Engine, now: float) -> None:
    e.snapshots.add(
        now,
        [ch.area(now) for ch in e.channels],
        [p.busy_area(now) for p in e.pools],
        [p.duty_area(now) for p in e.pools],
        [ch.waiting + ch.in_service + ch.pending for ch in e.channels],
    )


def result(e: Engine, wall: float) -> ReplicationResult:
    sink = e.sink
    plan = e.plan
    # tickets still waiting: each sits in its class queue (and perhaps a route's queue,
    # skipped); volatile twins share their class's queue, so visit each queue once
    seen: set[int] = set()
    for c in e.classes:
        if id(c.queue) in seen:
            continue
        seen.add(id(c.queue))
        for t in c.queue:
            if t.state == WAITING and t.counted:
                sink.still_waiting(t, e.env.now - t.arrival)
    sink.finish()
    snaps = e.snapshots.arrays()
    r = ReplicationResult(
        replication=e.replication,
        seed=e.s.seed,
        class_keys=[(c.channel.name, c.category, c.language, c.vip, c.priority) for c in e.classes],
        class_volatile=[c.volatile for c in e.classes],
        class_counters=sink.counters,
        class_hist=sink.hist,
        pool_names=[p.name for p in plan.pools],
        pool_tiers=[p.tier for p in plan.pools],
        pool_channels=[list(p.channels) for p in plan.pools],
        pool_answered=sink.pool_answered,
        pool_wait=sink.pool_wait,
        pool_hist=sink.pool_hist,
        pool_busy=snaps["busy"][-1] - snaps["busy"][0],
        pool_duty=snaps["duty"][-1] - snaps["duty"][0],
        channel_names=[ch.name for ch in e.channels],
        channel_queue_area=snaps["queue"][-1] - snaps["queue"][0],
        window=float(snaps["t"][-1] - snaps["t"][0]),
        intervals=interval_table(e, snaps),
        in_queue_end=e.counted_waiting,
        channel_in_queue_end=np.array([ch.counted_waiting for ch in e.channels]),
        arrivals_counted=e.arrivals_counted,
        sim_end=e.env.now,
        wall_time=wall,
        tickets_simulated=e.next_id + e.retries,
        hour_counters=sink.hour_counters,
        hour_hist=sink.hours.result(),
        first_hour=sink.h0,
        snapshots=snaps,
        tickets=e.log.rows if e.log is not None else None,
        resolution_hist=sink.resolution_hist,
        extra={"surge": [vars(log) for log in e.surge_logs]},
    )
    if e.journey is not None:
        r.journey = e.journey.totals()  # (folds the tier targets' visits too)
    if sink.targets is not None:
        r.targets = sink.targets.result()
    return r


def market_over(e: Engine, t0: np.ndarray, t1: np.ndarray, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closing price, mean volatility and mean arrival multiplier of each [t0, t1)."""
    drive = e.drive
    if drive is None:
        nan = np.full(len(t0), math.nan)
        return nan, nan.copy(), np.ones(len(t0))
    path = drive.path
    # Path.index, vectorised: the step holding the interval's last instant
    last = np.minimum(np.minimum(((t1 - 1e-9) / path.step).astype(np.int64), len(path.vol) - 1), len(path.price) - 1)
    return (
        path.price[last].astype(float),
        mean_over(path.vol, path.step, t0, t1),
        mean_over(drive.multiplier[channel], path.step, t0, t1),
    )


def interval_table(e: Engine, snaps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per reporting interval and channel (interval-major), as numpy columns: about
    130 bytes a row, built in a few array operations whatever the horizon."""
    t = snaps["t"]
    j = np.nonzero(np.diff(t) > 0)[0]  # edges j -> j + 1 of intervals with a length
    t0, t1 = t[j], t[j + 1]
    length = t1 - t0
    sink = e.sink
    k = (t0 // e.s.interval).astype(np.int64) - sink.k0
    n_ch = len(e.channels)
    m = len(j)

    def per_row(a: np.ndarray) -> np.ndarray:  # [m, n_ch] -> rows in file order
        return a.reshape(-1)

    def spread(v: np.ndarray) -> np.ndarray:  # one value per interval -> one per row
        return np.repeat(v, n_ch)

    def over_serving(area: np.ndarray) -> np.ndarray:
        """[m, n_ch]: each channel's serving pools' increments, added in pool order (as a
        Python sum would: the same floats as before)."""
        d = area[j + 1] - area[j]
        out = np.zeros((m, n_ch))
        for ci, ch in enumerate(e.channels):
            for p, pool in enumerate(e.plan.pools):
                if ch.name in pool.channels:
                    out[:, ci] += d[:, p]
        return out

    iv = {name: sink.iv[name][:, k].T for name in sink.iv}  # [m, n_ch]
    busy, on = over_serving(snaps["busy"]), over_serving(snaps["duty"])
    ans, den = iv["answered"], iv["sl_den"]
    with np.errstate(invalid="ignore", divide="ignore"):
        asa = np.where(ans > 0, iv["wait_answered"] / ans, math.nan)
        sl = np.where(den > 0, iv["sl_num"] / den, math.nan)
        occupancy = np.where(on > 0, busy / on, math.nan)
    market = [market_over(e, t0, t1, ch.name) for ch in e.channels]
    names = np.array([ch.name for ch in e.channels], dtype=object)
    return {
        "replication": np.full(m * n_ch, e.replication, dtype=np.int64),
        "interval": spread(k + sink.k0),
        "start_s": spread(t0),
        "channel": np.tile(names, m),
        "offered": per_row(iv["offered"]),
        "answered": per_row(ans),
        "abandoned": per_row(iv["abandoned"]),
        "asa_s": per_row(asa),
        "service_level": per_row(sl),
        "mean_queue": per_row((snaps["queue"][j + 1] - snaps["queue"][j]) / length[:, None]),
        "agents_on_duty": per_row(on / length[:, None]),
        "occupancy": per_row(occupancy),
        "price": per_row(np.stack([mk[0] for mk in market], axis=1)) if m else np.zeros(0),
        "volatility": per_row(np.stack([mk[1] for mk in market], axis=1)) if m else np.zeros(0),
        "arrival_multiplier": per_row(np.stack([mk[2] for mk in market], axis=1)) if m else np.zeros(0),
        "open_tickets": per_row(snaps["open"][j + 1]),
    }
