"""The market plug-in: arrivals under a price path.

It replaces the engine's arrival callback: the category mix follows volatility, tickets of
volatile intervals go to *volatile twin* classes (same queue, routing and samplers, their own
statistics row: the `volatile` scope at no cost per ticket), and with contagion each contact
may trigger more (Hawkes, by the branching representation). The rate's multiplier itself is
part of the channel's piecewise-constant rate, built with the plan.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.events import NORMAL, Timeout

from .. import streams as names
from ..market.drive import mix_weights
from .sampling import BlockSampler, exponential_sampler
from .state import ChannelState

if TYPE_CHECKING:
    from .host import Host as Engine

INF = float("inf")


class MarketPlugin:
    def __init__(self, engine: Engine) -> None:
        self.e = engine
        plan = engine.plan
        drive = plan.drive
        assert drive is not None and plan.scenario.market is not None
        self.drive = drive
        resp = plan.scenario.market.response
        self.flags = list(plan.volatile_flags)
        self.inv_interval = 1.0 / plan.interval
        classes = engine.classes
        self.twin_of: dict[int, Any] = {}
        for c in list(classes):
            twin = c.twin(len(classes))
            self.twin_of[c.index] = twin
            classes.append(twin)
        contagion = resp.contagion
        streams = engine.streams
        for ch in engine.channels:
            ch.volatile = [self.twin_of[c.index] for c in ch.classes]
            if drive.mix_shift and len(ch.classes) > 1:
                ch.shift = True
                ch.base_p = np.diff(np.asarray(ch.cum), prepend=0.0)
                ch.cat_w = np.array([plan.scenario.categories[c.category].volatility_weight for c in ch.classes])
            if contagion is not None and contagion.branching > 0 and (
                contagion.channels is None or ch.name in contagion.channels
            ):
                rng = streams(names.contagion(ch.name))
                b = contagion.branching
                ch.kids = BlockSampler(lambda n, rng=rng, b=b: rng.poisson(b, n), label=f"poisson {b}")
                ch.kid_delay = exponential_sampler(streams(names.contagion_delay(ch.name)), contagion.decay)
        self.kid_cb = self.arrive  # triggered contacts come back through a Timeout
        engine.arrive_cb = [self.arrive]

    def arrive(self, ev: Any) -> None:
        """A contact on a channel under a market. The event is the channel itself for a scheduled
        arrival, or a `Timeout` holding the channel's `Triggered` marker for a contact triggered
        by an earlier one (which schedules nothing)."""
        e = self.e
        env = e.env
        now = env._now
        if ev.__class__ is ChannelState:
            ch = ev
            nxt = ch.rate.next_arrival(now, ch.gap())
            if nxt < INF:
                ch.callbacks = e.arrive_cb
                e.schedule(ch, NORMAL, nxt - now)
        else:
            ch = ev._value.channel
        if ch.shift:
            self._shift_mix(ch, now)
        classes = ch.classes
        i = bisect_right(ch.cum, ch.pick()) if len(classes) > 1 else 0
        cls = classes[i]
        if self.flags[int(now * self.inv_interval)]:
            cls = ch.volatile[i]  # same queue and routing; counted in the `volatile` scope too
        patience = ch.patience() if ch.patience is not None else INF
        e.next_id += 1
        t = e.ticket(cls, now, cls.work(), patience, e.warmup <= now < e.end, 0, e.next_id)
        if ch.kids is not None:
            for _ in range(ch.kids()):
                Timeout(env, ch.kid_delay(), ch.triggered).callbacks.append(self.kid_cb)
        e.admit(t, now)

    def _shift_mix(self, ch: Any, now: float) -> None:
        """Recompute the class odds when the market moves to a new step."""
        drive = self.drive
        k = min(int(now // drive.path.step), len(drive.log2_ratio) - 1)
        if k == ch.mix_k:
            return
        ch.mix_k = k
        x = float(drive.log2_ratio[k])
        if x == ch.mix_x:  # volatility has not moved (calm spells): the same odds, exactly
            return
        ch.mix_x = x
        p = mix_weights(ch.base_p, ch.cat_w, x)
        ch.cum = np.cumsum(p).tolist()
        ch.cum[-1] = 1.0
