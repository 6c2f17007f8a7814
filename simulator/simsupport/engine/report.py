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


def snapshot(e: Engine, now: float) -> None:
    e.snapshots.append(
        (
            now,
            [ch.area(now) for ch in e.channels],
            [p.busy_area(now) for p in e.pools],
            [p.duty_area(now) for p in e.pools],
            [ch.waiting + ch.in_service + ch.pending for ch in e.channels],
        )
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
    first, last = e.snapshots[0], e.snapshots[-1]
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
        pool_busy=np.array(last[2]) - np.array(first[2]),
        pool_duty=np.array(last[3]) - np.array(first[3]),
        channel_names=[ch.name for ch in e.channels],
        channel_queue_area=np.array(last[1]) - np.array(first[1]),
        window=last[0] - first[0],
        intervals=interval_table(e),
        in_queue_end=e.counted_waiting,
        channel_in_queue_end=np.array([ch.counted_waiting for ch in e.channels]),
        arrivals_counted=e.arrivals_counted,
        sim_end=e.env.now,
        wall_time=wall,
        tickets_simulated=e.next_id + e.retries,
        hour_counters=sink.hour_counters,
        hour_hist=sink.hour_hist,
        first_hour=sink.h0,
        snapshots={
            "t": np.array([sn[0] for sn in e.snapshots]),
            "queue": np.array([sn[1] for sn in e.snapshots]),
            "busy": np.array([sn[2] for sn in e.snapshots]),
            "duty": np.array([sn[3] for sn in e.snapshots]),
            "open": np.array([sn[4] for sn in e.snapshots]),
        },
        tickets=e.log.rows if e.log is not None else None,
        resolution_hist=sink.resolution_hist,
        extra={"surge": [vars(log) for log in e.surge_logs]},
    )
    if e.journey is not None:
        r.journey = e.journey.totals()  # (folds the tier targets' visits too)
    if sink.targets is not None:
        r.targets = sink.targets.result()
    return r


def market_over(e: Engine, t0: float, t1: float, channel: str) -> tuple[float, float, float]:
    """Closing price, mean volatility and mean arrival multiplier of [t0, t1)."""
    drive = e.drive
    if drive is None:
        return math.nan, math.nan, 1.0
    path = drive.path
    last = min(path.index(t1 - 1e-9), len(path.price) - 1)
    return (
        float(path.price[last]),
        float(mean_over(path.vol, path.step, t0, t1)),
        float(mean_over(drive.multiplier[channel], path.step, t0, t1)),
    )


def interval_table(e: Engine) -> dict[str, list[Any]]:
    """One row per reporting interval and channel."""
    cols: dict[str, list[Any]] = {k: [] for k in (
        "replication", "interval", "start_s", "channel", "offered", "answered", "abandoned",
        "asa_s", "service_level", "mean_queue", "agents_on_duty", "occupancy", "price",
        "volatility", "arrival_multiplier", "open_tickets")}  # fmt: skip
    snaps = e.snapshots
    sink = e.sink
    pool_channels = [set(p.channels) for p in e.plan.pools]
    for j in range(1, len(snaps)):
        t0, q0, b0, d0, _ = snaps[j - 1]
        t1, q1, b1, d1, open1 = snaps[j]
        length = t1 - t0
        if length <= 0:
            continue
        k = int(t0 // e.s.interval) - sink.k0
        iv = {name: sink.iv[name][:, k] for name in sink.iv}
        for ci, ch in enumerate(e.channels):
            serving = [p for p in range(len(e.pools)) if ch.name in pool_channels[p]]
            busy = sum(b1[p] - b0[p] for p in serving)
            on = sum(d1[p] - d0[p] for p in serving)
            ans = iv["answered"][ci]
            cols["replication"].append(e.replication)
            cols["interval"].append(k + sink.k0)
            cols["start_s"].append(t0)
            cols["channel"].append(ch.name)
            cols["offered"].append(iv["offered"][ci])
            cols["answered"].append(ans)
            cols["abandoned"].append(iv["abandoned"][ci])
            cols["asa_s"].append(iv["wait_answered"][ci] / ans if ans else math.nan)
            den = iv["sl_den"][ci]
            cols["service_level"].append(iv["sl_num"][ci] / den if den else math.nan)
            cols["mean_queue"].append((q1[ci] - q0[ci]) / length)
            cols["agents_on_duty"].append(on / length)
            cols["occupancy"].append(busy / on if on > 0 else math.nan)
            price, vol, mult = market_over(e, t0, t1, ch.name)
            cols["price"].append(price)
            cols["volatility"].append(vol)
            cols["arrival_multiplier"].append(mult)
            cols["open_tickets"].append(open1[ci])
    return cols
