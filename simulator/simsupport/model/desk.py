"""The support desk as a SimPy model: one Environment per replication.

Customers arrive on channels; each arrival is a ticket of some class (channel, category,
language, VIP). A ticket is answered at once by an idle agent who may serve it, or waits in its
class queue until a free agent takes it, its customer gives up (abandonment, perhaps followed by
a retry), or it is refused because the queue or the phone lines are full (blocking).

Everything per ticket happens in `Timeout` callbacks on plain records: arrival, patience
expiry, language fallback and service completion. Generators drive only the rare things:
shifts, interval snapshots and the end of the run. Random numbers come from named streams
(`rng.Streams`) drawn in blocks, each ticket's attributes, work and patience drawn when it
arrives, so that staffing changes do not move any customer's numbers.

The model reports facts to a sink (`metrics.Collector` by default) and returns a
`ReplicationResult`; it never reads files, prints or plots.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from functools import partial
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

from ..config.base import on_duty
from ..config.derived import channel_mix, handle_time_spec, pool_serves
from ..config.schema import Scenario
from ..market.drive import build_drive, mix_weights
from ..market.paths import mean_over
from ..stats.collector import Collector
from ..stats.counters import SL_CODES, SL_NONE
from ..stats.result import ReplicationResult
from ..rng import Streams
from .agents import Agent, PoolState, ShiftBlock, shift_blocks, shift_specs
from .arrivals import make_rate
from .routing import (
    agent_chooser,
    build_groups,
    enqueue,
    next_ticket,
    pool_preference,
    routing_key,
)
from .sampling import BlockSampler, exponential_sampler, make_sampler, uniform_sampler
from .surge import extension, reserve_pools, start_surge
from .tickets import (
    ABANDONED,
    BLOCKED,
    DONE,
    SERVING,
    WAITING,
    Route,
    Ticket,
    TicketClass,
)

INF = math.inf
MIN_DRAIN = 86400.0  # drain at least a day (backlog SLAs are measured in hours)


class ChannelState:
    """A channel at run time: its arrival clock, queue counts and SLA constants."""

    __slots__ = (
        "base_p",
        "cat_w",
        "classes",
        "const",
        "cum",
        "gap",
        "in_service",
        "index",
        "jr",
        "kid_delay",
        "kids",
        "lines",
        "max_retries",
        "max_waiting",
        "mix_k",
        "mix_x",
        "name",
        "patience",
        "pending",
        "pick",
        "q_sum",
        "rate",
        "retry_delay",
        "retry_patience",
        "retry_prob",
        "retry_to",
        "retry_u",
        "shift",
        "short_abandon",
        "sla_T",
        "sla_code",
        "triggered",
        "volatile",
        "waiting",
    )  # fmt: skip

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name
        self.waiting = 0
        self.in_service = 0
        self.q_sum = 0.0  # queue-length integral minus waiting * now (see area())
        self.pending = 0  # journey: tickets waiting on the customer (more information, reopen)
        self.jr: Any = None  # journey settings of the channel (journey.desk.JourneyChannel)
        self.classes: list[TicketClass] = []
        self.cum: list[float] = []
        self.retry_prob = 0.0
        self.max_retries = 0
        self.shift = False  # category mix follows volatility
        self.mix_k = -1
        self.mix_x = 0.0  # log2 volatility ratio the current odds were computed for (0: as written)
        self.volatile: list[TicketClass] = []  # twins of `classes` for volatile intervals
        self.kids: Any = None  # Hawkes: sampler of the number of contacts one contact triggers
        self.triggered = Triggered(self)

    def area(self, now: float) -> float:
        """Integral of the number waiting over [0, now].

        Kept as q_sum = sum of (leave times) - sum of (join times) of tickets that queued, so
        each join or leave costs one addition: area(now) = q_sum + waiting * now.
        """
        return self.q_sum + self.waiting * now


class Triggered:
    """Marks an arrival event as a contact triggered by another (not a scheduled arrival)."""

    __slots__ = ("channel",)

    def __init__(self, channel: ChannelState) -> None:
        self.channel = channel


class TicketLog:
    """Per-ticket rows for --tickets (kept only when asked for)."""

    COLUMNS = ("id", "attempt", "channel", "category", "language", "vip", "priority", "tier", "arrival_s",
               "outcome", "wait_s", "pool", "handle_s")  # fmt: skip

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {c: [] for c in self.COLUMNS}

    def add(self, t: Ticket, outcome: str, wait: float, pool: str | None, handle: float) -> None:
        c = t.cls
        for col, value in zip(
            self.COLUMNS,
            (t.id, t.attempt, c.channel.name, c.category, c.language, c.vip, c.priority, c.tier, t.arrival,
             outcome, wait, pool, handle),
        ):
            self.rows[col].append(value)


class Desk:
    """One replication of a scenario, ready to run."""

    def __init__(self, scenario: Scenario, replication: int, *, record_tickets: bool = False) -> None:
        self.s = scenario
        self.replication = replication
        self.env = simpy.Environment()
        self.streams = Streams(scenario.seed, replication)
        self.warmup = scenario.warmup
        self.end = scenario.end
        self.counted_waiting = 0
        self.arrivals_counted = 0  # independent of the sink, for conservation checks
        self.draining = False
        self.stop = self.env.event()
        self.next_id = 0
        self.retries = 0
        self.log = TicketLog() if record_tickets else None
        self._agent_ids = 0
        # bound callbacks made once: creating a bound method per event costs measurably
        self.on_arrive = self._arrive
        self.on_arrive_market = self._arrive_market
        self.on_abandon = self._abandon
        self.on_free = self._free
        self.on_retry = self._retry
        self.drive = build_drive(scenario, self.streams, self.end + max(scenario.horizon, MIN_DRAIN) + 3600.0)
        self._build_pools()
        self._build_channels()
        self._build_classes()
        self.sink = Collector(
            self.classes, len(self.pools), self.channels, self.warmup, self.end, scenario.interval
        )
        self.snapshots: list[tuple[float, list[float], list[float], list[float], list[int]]] = []
        self.answered = self.sink.answered  # bound once: the hot path's one fact per ticket

    # -- construction ---------------------------------------------------------------------
    def _build_pools(self) -> None:
        self.pool_specs = list(self.s.pools) + reserve_pools(self.s)
        self.pools = [PoolState(i, p) for i, p in enumerate(self.pool_specs)]
        self.choose_agent = agent_chooser(self.s.routing.agent_choice, uniform_sampler(self.streams("routing")))

    def _build_channels(self) -> None:
        s = self.s
        self.channels: list[ChannelState] = []
        self.channel_by_name: dict[str, ChannelState] = {}
        for i, (name, spec) in enumerate(s.channels.items()):
            ch = ChannelState(i, name)
            drive = self.drive
            ch.rate = make_rate(
                spec.rate * self._background_share(name), spec.daily_profile, spec.weekly_profile,
                spec.timezone, s.start,
                drive.multiplier[name] if drive is not None else None,
                drive.path.step if drive is not None else 60.0,
            )  # fmt: skip
            # constant rate: gaps are exponential with mean 1/rate; otherwise unit exponential
            # amounts of cumulative intensity, turned into times by the rate's segments
            ch.const = ch.rate.constant and spec.rate > 0
            mean_gap = 1.0 / spec.rate if ch.const else 1.0
            ch.gap = exponential_sampler(self.streams(f"arrivals/{name}"), mean_gap)
            ch.pick = uniform_sampler(self.streams(f"class/{name}"))
            ch.patience = (
                None if spec.patience == "none" else make_sampler(spec.patience, self.streams(f"patience/{name}"))
            )
            ch.max_waiting = spec.max_waiting
            ch.lines = spec.lines
            if spec.sla is None:
                ch.sla_T, ch.sla_code, ch.short_abandon = INF, SL_NONE, 0.0
            else:
                ch.sla_T = spec.sla.threshold
                ch.sla_code = SL_CODES[spec.sla.formula]
                ch.short_abandon = spec.sla.short_abandon
            self.channels.append(ch)
            self.channel_by_name[name] = ch
        for ch, spec in zip(self.channels, s.channels.values()):
            r = spec.retry
            if r is None:
                continue
            target = self.channel_by_name[r.channel or ch.name]
            tspec = s.channels[target.name]
            ch.retry_prob = r.prob
            ch.max_retries = r.max_retries or 1 << 30
            ch.retry_u = uniform_sampler(self.streams(f"retry/{ch.name}"))
            ch.retry_delay = make_sampler(r.after, self.streams(f"retry_delay/{ch.name}"))
            ch.retry_to = target
            ch.retry_patience = (
                None
                if tspec.patience == "none"
                else make_sampler(tspec.patience, self.streams(f"retry_patience/{target.name}"))
            )

    def _background_share(self, channel: str) -> float:
        """Share of a channel's rate that arrives on its own, the rest being triggered.

        With contagion (branching b) each contact triggers b more on average, so a background
        rate of rate * (1 - b) keeps the long-run average at `rate`: the channel's rate means
        the same with or without contagion, and contagion changes only how bursty it is.
        """
        m = self.s.market
        c = m.response.contagion if m is not None else None
        if c is None or (c.channels is not None and channel not in c.channels):
            return 1.0
        return 1.0 - c.branching

    def _build_classes(self) -> None:
        s = self.s
        vip_share = s.customers.vip_share
        vips = [(False, 1.0 - vip_share), (True, vip_share)] if vip_share > 0 else [(False, 1.0)]
        self.classes: list[TicketClass] = []
        self.class_by_key: dict[tuple[str, str, str, bool], TicketClass] = {}
        self._work_samplers: dict[str, Any] = {}
        self._wrap_samplers: dict[str, Any] = {}
        self._n_queues = 0
        self._qid_channel: list[ChannelState] = []  # the channel of each queue id
        self._pool_queues: list[list[tuple[tuple[int, ...], int]]] = [[] for _ in self.pools]
        # overflow rules: the pool, as it would be with the extra channels, and what it gains
        surge = s.surge
        self.overflow_specs = [
            (self.pools[[p.name for p in self.pool_specs].index(o.pool)],
             s.pool(o.pool).model_copy(update={"channels": sorted({*(s.pool(o.pool).channels or s.channels), *o.channels})}))
            for o in (surge.overflow if surge is not None else [])
        ]  # fmt: skip
        self.overflow_classes: list[list[tuple[TicketClass, list[Any], Any]]] = [[] for _ in self.overflow_specs]
        self.overflow_active: set[int] = set()
        overflow_queues: list[list[tuple[tuple[int, ...], int]]] = [[] for _ in self.overflow_specs]
        for ch in self.channels:
            mix = channel_mix(s, s.channels[ch.name])
            for cat_name in s.categories:
                for lang, lshare in s.customers.languages.items():
                    for vip, vshare in vips:
                        c, eligible = self._make_class(
                            ch, cat_name, lang, vip, len(self.classes), self._entry_pools(cat_name, vip), ""
                        )
                        for r, (ps, pspec) in enumerate(self.overflow_specs):
                            prof = pool_serves(s, pspec, ch.name, cat_name, lang, vip)
                            if prof is not None and ps not in c.pools:
                                c.scale[ps.index] = c.factor / prof
                                self.overflow_classes[r].append((c, list(eligible), (ps, prof)))
                                overflow_queues[r].append((c.key, c.qid))
                        self.classes.append(c)
                        self.class_by_key[(ch.name, cat_name, lang, vip)] = c
                        p = mix.get(cat_name, 0.0) * lshare * vshare
                        if p > 0:
                            ch.classes.append(c)
                            ch.cum.append(p)
            total = sum(ch.cum)
            acc = 0.0
            for i, p in enumerate(ch.cum):
                acc += p / total
                ch.cum[i] = acc
            if ch.cum:
                ch.cum[-1] = 1.0
        self._more_classes()
        n_pools = len(self.pools)
        extra = self._extra_queue_sets()
        groups, self.listeners = build_groups([*self._pool_queues, *overflow_queues, *extra], self._n_queues)
        for ps in self.pools:
            ps.groups = groups[ps.index]
        self.normal_groups = [ps.groups for ps in self.pools]
        self.overflow_groups = groups[n_pools : n_pools + len(overflow_queues)]
        self.extra_groups = groups[n_pools + len(overflow_queues) :]
        if self.drive is not None:
            self._build_market()

    def _entry_pools(self, category: str, vip: bool) -> set[int] | None:
        """Indices of the pools new tickets of a category may go to (None: every pool that can
        serve them). The journey model narrows this to the entry tier."""
        return None

    def _more_classes(self) -> None:
        """Hook for classes beyond the entry classes (the journey's escalation stages)."""

    def _extra_queue_sets(self) -> list[list[tuple[tuple[int, ...], int]]]:
        """Hook for more routing groups (the journey's concurrent-chat groups)."""
        return []

    def _new_queue(self, ch: ChannelState) -> int:
        qid = self._n_queues
        self._n_queues += 1
        self._qid_channel.append(ch)
        return qid

    def _make_class(
        self, ch: ChannelState, cat_name: str, lang: str, vip: bool, index: int, allowed: set[int] | None, stream: str
    ) -> tuple[TicketClass, list[tuple[PoolState, float]]]:
        """A ticket class with its queue, work sampler, eligible pools (restricted to `allowed`)
        and language-fallback route; `stream` tells its work stream apart from the entry's."""
        s = self.s
        cat = s.categories[cat_name]
        mode = s.routing.agent_choice
        pool_order = s.routing.pool_order or [p.name for p in s.pools]
        key = routing_key(s.routing.order, cat.priority, vip, not s.channels[ch.name].is_backlog)
        c = TicketClass(index, ch, cat_name, lang, vip, cat.priority, key)
        c.qid = self._new_queue(ch)
        c.sla_threshold = ch.sla_T
        dist, factor = handle_time_spec(cat, ch.name, lang)
        c.factor = factor
        if dist is cat.handle_time:
            name = f"work/{cat_name}"
        elif cat.by_language.get(lang) is dist:
            name = f"work/{cat_name}/language={lang}"
        else:
            name = f"work/{cat_name}/channel={ch.name}"
        name += stream
        if name not in self._work_samplers:
            self._work_samplers[name] = make_sampler(dist, self.streams(name))
        c.work = self._work_samplers[name]
        if cat.wrap_up is not None:
            if cat_name not in self._wrap_samplers:
                self._wrap_samplers[cat_name] = make_sampler(cat.wrap_up, self.streams(f"wrapup/{cat_name}"))
            c.wrap = self._wrap_samplers[cat_name]
        c.scale = [0.0] * len(self.pools)
        eligible = self._eligible(c, lang, allowed)
        for ps, _ in eligible:
            self._pool_queues[ps.index].append((key, c.qid))
        c.pools = pool_preference(mode, eligible, pool_order)
        fallback = s.routing.language_fallback
        if fallback is not None and lang != fallback.to:
            extra = [(ps, prof) for ps, prof in self._eligible(c, fallback.to, allowed) if ps not in c.pools]
            if extra:
                self._add_route(c, fallback.after, extra, key)
        return c, eligible

    def _eligible(
        self, c: TicketClass, lang: str, allowed: set[int] | None
    ) -> list[tuple[PoolState, float]]:
        """Pools (with proficiency) that may serve class `c` in language `lang`; sets their
        handle-time scale on the class."""
        out = []
        for ps, pspec in zip(self.pools, self.pool_specs):
            if allowed is not None and ps.index not in allowed:
                continue
            prof = pool_serves(self.s, pspec, c.channel.name, c.category, lang, c.vip)
            if prof is not None:
                out.append((ps, prof))
                c.scale[ps.index] = c.factor / prof
        return out

    def _add_route(
        self, c: TicketClass, after: float, pools: list[tuple[PoolState, float]], key: tuple[int, ...]
    ) -> Route:
        """Open a second queue to class `c`'s tickets once they have waited `after`."""
        s = self.s
        order = s.routing.pool_order or [p.name for p in s.pools]
        r = Route(after, self._new_queue(c.channel), pool_preference(s.routing.agent_choice, pools, order), key)
        r.callback = partial(self._widen, r)
        for ps, _ in pools:
            self._pool_queues[ps.index].append((key, r.qid))
        c.routes.append(r)
        return r

    def _build_market(self) -> None:
        """Volatile twins, the category mix shift and contagion, from the market drive."""
        drive = self.drive
        assert drive is not None and self.s.market is not None
        resp = self.s.market.response
        # an interval is volatile when its mean volatility is volatile_above x the calm level
        path = drive.path
        interval = self.s.interval
        n_iv = int(len(path.vol) * path.step // interval) + 1
        edges = np.arange(n_iv + 1) * interval
        means = mean_over(path.vol, path.step, edges[:-1], edges[1:])
        self.volatile_flags = (means >= resp.volatile_above * path.reference_vol).tolist()
        self.volatile_flags += [self.volatile_flags[-1]] * 2
        self.inv_interval = 1.0 / self.s.interval
        base = list(self.classes)
        self.twin_of = twin_of = {}
        for c in base:
            twin = c.twin(len(self.classes))
            twin_of[c.index] = twin
            self.classes.append(twin)
        contagion = resp.contagion
        for ch in self.channels:
            ch.volatile = [twin_of[c.index] for c in ch.classes]
            if drive.mix_shift and len(ch.classes) > 1:
                ch.shift = True
                cum = np.asarray(ch.cum)
                ch.base_p = np.diff(cum, prepend=0.0)
                ch.cat_w = np.array([self.s.categories[c.category].volatility_weight for c in ch.classes])
            if contagion is not None and contagion.branching > 0 and (
                contagion.channels is None or ch.name in contagion.channels
            ):
                rng = self.streams(f"contagion/{ch.name}")
                b = contagion.branching
                ch.kids = BlockSampler(lambda n, rng=rng, b=b: rng.poisson(b, n), label=f"poisson {b}")
                ch.kid_delay = exponential_sampler(self.streams(f"contagion_delay/{ch.name}"), contagion.decay)

    # -- the hot path ---------------------------------------------------------------------
    def _arrive(self, ev: simpy.Event) -> None:
        """A customer contact on a channel the market does not touch: draw who and what,
        admit it, and schedule the next one. The plainest path, since most tickets take it."""
        ch = ev._value
        env = self.env
        now = env._now
        if ch.const:
            Timeout(env, ch.gap(), ch).callbacks.append(self.on_arrive)
        else:
            nxt = ch.rate.next_arrival(now, ch.gap())
            if nxt < INF:
                Timeout(env, nxt - now, ch).callbacks.append(self.on_arrive)
        classes = ch.classes
        cls = classes[bisect_right(ch.cum, ch.pick())] if len(classes) > 1 else classes[0]
        patience = ch.patience() if ch.patience is not None else INF
        self.next_id += 1
        self._admit(Ticket(cls, now, cls.work(), patience, self.warmup <= now < self.end, 0, self.next_id), now)

    def _arrive_market(self, ev: simpy.Event) -> None:
        """The same for a channel under a market: the category mix follows volatility, tickets
        of volatile intervals go to the volatile twin classes, and contacts trigger contacts.

        The event's value is the channel for a scheduled arrival, or the channel's `Triggered`
        marker for a contact triggered by an earlier one (which schedules nothing).
        """
        ch = ev._value
        env = self.env
        now = env._now
        if ch.__class__ is Triggered:
            ch = ch.channel
        else:
            nxt = ch.rate.next_arrival(now, ch.gap())
            if nxt < INF:
                Timeout(env, nxt - now, ch).callbacks.append(self.on_arrive_market)
        if ch.shift:
            self._shift_mix(ch, now)
        classes = ch.classes
        i = bisect_right(ch.cum, ch.pick()) if len(classes) > 1 else 0
        cls = classes[i]
        if self.volatile_flags[int(now * self.inv_interval)]:
            cls = ch.volatile[i]  # same queue and routing; counted in the `volatile` scope too
        patience = ch.patience() if ch.patience is not None else INF
        self.next_id += 1
        t = Ticket(cls, now, cls.work(), patience, self.warmup <= now < self.end, 0, self.next_id)
        if ch.kids is not None:
            for _ in range(ch.kids()):
                Timeout(env, ch.kid_delay(), ch.triggered).callbacks.append(self.on_arrive_market)
        self._admit(t, now)

    def _shift_mix(self, ch: ChannelState, now: float) -> None:
        """Recompute the class odds when the market moves to a new step."""
        drive = self.drive
        assert drive is not None
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

    def _admit(self, t: Ticket, now: float) -> None:
        cls = t.cls
        ch = cls.channel
        if t.counted:
            self.arrivals_counted += 1
        if ch.lines is not None and ch.waiting + ch.in_service >= ch.lines:
            self._block(t)
            return
        pools = cls.pools
        if len(pools) == 1:  # the common case, without a call
            idle = pools[0].idle
            agent = idle.popleft() if idle else None
        else:
            agent = self.choose_agent(pools) if pools else None
        if agent is not None:
            self._start(t, agent, now, 0.0)
            return
        if ch.max_waiting is not None and ch.waiting >= ch.max_waiting:
            self._block(t)
            return
        enqueue(t, cls.queue, cls.qid, self.listeners)
        ch.q_sum -= now
        ch.waiting += 1
        if t.counted:
            self.counted_waiting += 1
        if t.patience < INF:
            Timeout(self.env, t.patience, t).callbacks.append(self.on_abandon)
        if cls.routes:
            for r in cls.routes:
                Timeout(self.env, r.after, t).callbacks.append(r.callback)

    def _block(self, t: Ticket) -> None:
        t.state = BLOCKED
        if t.counted:
            self.sink.blocked(t)
        if self.log is not None:
            self.log.add(t, "blocked", 0.0, None, 0.0)

    def _start(self, t: Ticket, agent: Agent, now: float, wait: float) -> None:
        t.state = SERVING
        agent.ticket = t
        cls = t.cls
        pool = agent.pool
        cls.channel.in_service += 1
        pool.busy_sum -= now
        pool.busy += 1
        handle = t.work * cls.scale[pool.index]
        if t.counted:
            self.answered(t, wait, pool.index, handle)
        if self.log is not None:
            self.log.add(t, "answered", wait, pool.name, handle)
        Timeout(self.env, handle, agent).callbacks.append(self.on_free)

    def _free(self, ev: simpy.Event) -> None:
        """An agent's event: service ends, wrap-up ends, or the agent has just come on duty.

        Service end frees the line and, unless wrap-up follows (which comes back here), the
        agent; a free agent takes the next waiting ticket it may serve or joins the idle FIFO.
        One callback for all three keeps the per-ticket path to one call.
        """
        agent: Agent = ev._value
        now = self.env._now
        t = agent.ticket
        if t is not None:  # service ends
            agent.ticket = None
            t.state = DONE
            cls = t.cls
            cls.channel.in_service -= 1
            if cls.wrap is not None:
                Timeout(self.env, cls.wrap(), agent).callbacks.append(self.on_free)
                return
        pool = agent.pool
        pool.busy_sum += now
        pool.busy -= 1
        if agent.leaving:
            self._go_off(agent, now)
            return
        # any() over the groups' dicts (in C) skips the scan when nothing waits for this pool
        groups = pool.groups
        nxt = next_ticket(groups) if any(groups) else None
        if nxt is not None:
            self._dequeue(nxt, now)
            self._start(nxt, agent, now, now - nxt.arrival)
        else:
            agent.idle_since = now
            pool.idle.append(agent)

    def _make_free(self, agent: Agent, now: float) -> None:
        """Let an agent look for work now (on coming on duty, or when it may serve more):
        counted busy for an instant, then freed by its own zero-delay event."""
        pool = agent.pool
        pool.busy_sum -= now
        pool.busy += 1
        Timeout(self.env, 0.0, agent).callbacks.append(self.on_free)

    def _dequeue(self, t: Ticket, now: float) -> None:
        """Bookkeeping when a ticket leaves the queue (answered or abandoned)."""
        ch = t.cls.channel
        ch.q_sum += now
        ch.waiting -= 1
        if t.counted:
            self.counted_waiting -= 1
            if self.draining and self.counted_waiting == 0:
                self.stop.succeed()

    def _abandon(self, ev: simpy.Event) -> None:
        t: Ticket = ev._value
        if t.state != WAITING:
            return
        now = self.env._now
        t.state = ABANDONED
        self._dequeue(t, now)
        wait = now - t.arrival
        if t.counted:
            self.sink.abandoned(t, wait)
        if self.log is not None:
            self.log.add(t, "abandoned", wait, None, 0.0)
        ch = t.cls.channel
        if ch.retry_prob > 0 and t.attempt < ch.max_retries and ch.retry_u() < ch.retry_prob:
            Timeout(self.env, ch.retry_delay(), t).callbacks.append(self.on_retry)

    def _retry(self, ev: simpy.Event) -> None:
        old: Ticket = ev._value
        now = self.env._now
        src = old.cls
        target = src.channel.retry_to
        cls = self.class_by_key[(target.name, src.category, src.language, src.vip)]
        if target.volatile and self.volatile_flags[int(now * self.inv_interval)]:
            cls = self.twin_of[cls.index]  # a retry is counted by its own arrival time
        # the source channel holds the sampler of the target channel's patience
        retry_patience = src.channel.retry_patience
        patience = retry_patience() if retry_patience is not None else INF
        self.retries += 1  # a retry keeps its customer's id
        t = Ticket(cls, now, old.work, patience, self.warmup <= now < self.end, old.attempt + 1, old.id)
        if t.counted:
            self.sink.retrial(t)
        self._readmit(old, t, now)

    def _readmit(self, old: Ticket, t: Ticket, now: float) -> None:
        """Admit a retry (the journey model carries the customer's plan over)."""
        self._admit(t, now)

    def _widen(self, route: Route, ev: simpy.Event) -> None:
        """The ticket has waited long enough for a second route (the fallback language, a
        higher tier, the breach guard): more agents, or a better rank, may take it now."""
        t: Ticket = ev._value
        if t.state != WAITING:
            return
        now = self.env._now
        agent = self.choose_agent(route.pools)
        if agent is not None:
            self._dequeue(t, now)
            self._start(t, agent, now, now - t.arrival)
        else:
            enqueue(t, route.queue, route.qid, self.listeners)

    # -- agents and shifts ----------------------------------------------------------------
    def _go_on(self, pool: PoolState, n: int, now: float) -> list[Agent]:
        agents = []
        for _ in range(n):
            self._agent_ids += 1
            a = Agent(pool, self._agent_ids)
            a.on_duty = True
            pool.duty_sum -= now
            pool.duty += 1
            agents.append(a)
            self._make_free(a, now)
        return agents

    def _go_off(self, agent: Agent, now: float) -> None:
        pool = agent.pool
        pool.duty_sum += now
        pool.duty -= 1
        agent.on_duty = False

    def _end_shift(self, agents: list[Agent], now: float) -> None:
        for a in agents:
            if not a.on_duty:
                continue
            if a in a.pool.idle:
                a.pool.idle.remove(a)
                self._go_off(a, now)
            else:
                a.leaving = True
                a.pool.open.pop(a, None)  # holding chats: take no more

    def _overflow(self, rule: int, active: bool, now: float) -> None:
        """Switch an overflow rule; each class's pools and each pool's queues are recomputed
        from every rule active now, so rules on the same channel or pool add up."""
        if active:
            self.overflow_active.add(rule)
        else:
            self.overflow_active.discard(rule)
        on = sorted(self.overflow_active)
        mode = self.s.routing.agent_choice
        order = self.s.routing.pool_order or [p.name for p in self.s.pools]
        touched: dict[int, tuple[TicketClass, list[Any]]] = {}
        for r, entries in enumerate(self.overflow_classes):
            for c, normal, gained in entries:
                touched.setdefault(c.index, (c, list(normal)))
                if r in self.overflow_active:
                    touched[c.index][1].append(gained)
        for c, pairs in touched.values():
            c.pools[:] = pool_preference(mode, pairs, order)  # in place: volatile twins share the list
        for ps in {self.overflow_specs[r][0] for r in range(len(self.overflow_specs))}:
            extra = [g for r in on if self.overflow_specs[r][0] is ps for g in self.overflow_groups[r]]
            ps.groups = [*self.normal_groups[ps.index], *extra]
        if active:  # idle agents of the pool look at the queues they may now take
            pool = self.overflow_specs[rule][0]
            for agent in list(pool.idle):
                pool.idle.remove(agent)
                self._make_free(agent, now)

    def _shift_process(self, pool: PoolState, blocks: Any) -> Any:
        """Bring each block of a shift on duty; each block's end runs as its own process, so
        an extended end may overlap the next block."""
        env = self.env
        for block in blocks:
            block: ShiftBlock
            yield env.timeout(block.on - env.now)
            agents = self._go_on(pool, block.agents, env.now)
            env.process(self._shift_end(pool, agents, block.off))

    def _shift_end(self, pool: PoolState, agents: list[Agent], off: float) -> Any:
        env = self.env
        yield env.timeout(off - env.now)
        extra = extension(self, pool.name, env.now)
        if extra > 0:  # a surge rule keeps this shift on a while longer
            yield env.timeout(extra)
        self._end_shift(agents, env.now)

    # -- snapshots and the end ------------------------------------------------------------
    def _snapshot(self, now: float) -> None:
        self.snapshots.append(
            (
                now,
                [ch.area(now) for ch in self.channels],
                [p.busy_area(now) for p in self.pools],
                [p.duty_area(now) for p in self.pools],
                [ch.waiting + ch.in_service + ch.pending for ch in self.channels],
            )
        )

    def _clock(self) -> Any:
        env = self.env
        step = self.s.interval
        k = int(self.warmup // step) + 1
        yield env.timeout(self.warmup)
        self._snapshot(env.now)
        while True:
            t = min(k * step, self.end)
            yield env.timeout(t - env.now)
            self._snapshot(env.now)
            if t >= self.end:
                break
            k += 1
        if self._settled():
            self.stop.succeed()
        else:
            self.draining = True
            # an overloaded desk may never empty its queues: stop after max(horizon, a day)
            yield env.timeout(max(self.s.horizon, MIN_DRAIN))
            if not self.stop.triggered:
                self.stop.succeed()

    def _start_state(self) -> None:
        """Hook: put the desk in its state at time 0 (the journey's live start)."""

    def _settled(self) -> bool:
        """Has every counted ticket left the system? (Then the run may stop at the horizon.)"""
        return self.counted_waiting == 0

    def run(self) -> ReplicationResult:
        wall = time.perf_counter()
        env = self.env
        for ch in self.channels:
            first = ch.gap() if ch.const else ch.rate.next_arrival(0.0, ch.gap())
            if first < INF and ch.classes:
                Timeout(env, first, ch).callbacks.append(self.on_arrive if self.drive is None else self.on_arrive_market)
        for ps, spec in zip(self.pools, self.s.pools):  # reserve pools start with nobody on duty
            shifts = shift_specs(spec)
            if shifts is None:
                self._go_on(ps, on_duty(spec.agents or 0, spec.shrinkage), 0.0)
            else:
                for sh in shifts:
                    env.process(self._shift_process(ps, shift_blocks(sh, spec, self.s.start)))
        env.process(self._clock())
        self.surge_logs = start_surge(self)
        self._start_state()
        env.run(until=self.stop)
        return self._result(time.perf_counter() - wall)

    def _result(self, wall: float) -> ReplicationResult:
        sink = self.sink
        # tickets still waiting: each sits in its class queue (and perhaps a fallback queue,
        # skipped); volatile twins share their class's queue, so visit each queue once
        seen: set[int] = set()
        for c in self.classes:
            if id(c.queue) in seen:
                continue
            seen.add(id(c.queue))
            for t in c.queue:
                if t.state == WAITING and t.counted:
                    sink.still_waiting(t, self.env.now - t.arrival)
        sink.finish()
        first, last = self.snapshots[0], self.snapshots[-1]
        window = last[0] - first[0]
        return ReplicationResult(
            replication=self.replication,
            seed=self.s.seed,
            class_keys=[(c.channel.name, c.category, c.language, c.vip, c.priority) for c in self.classes],
            class_volatile=[c.volatile for c in self.classes],
            class_counters=sink.counters,
            class_hist=sink.hist,
            pool_names=[p.name for p in self.pool_specs],
            pool_tiers=[p.tier for p in self.pool_specs],
            pool_channels=[
                list(p.channels) if p.channels is not None else list(self.s.channels) for p in self.pool_specs
            ],
            pool_answered=sink.pool_answered,
            pool_wait=sink.pool_wait,
            pool_hist=sink.pool_hist,
            pool_busy=np.array(last[2]) - np.array(first[2]),
            pool_duty=np.array(last[3]) - np.array(first[3]),
            channel_names=[ch.name for ch in self.channels],
            channel_queue_area=np.array(last[1]) - np.array(first[1]),
            window=window,
            intervals=self._interval_table(),
            in_queue_end=self.counted_waiting,
            arrivals_counted=self.arrivals_counted,
            sim_end=self.env.now,
            wall_time=wall,
            tickets_simulated=self.next_id + self.retries,
            hour_counters=sink.hour_counters,
            hour_hist=sink.hour_hist,
            first_hour=sink.h0,
            snapshots={
                "t": np.array([sn[0] for sn in self.snapshots]),
                "queue": np.array([sn[1] for sn in self.snapshots]),
                "busy": np.array([sn[2] for sn in self.snapshots]),
                "duty": np.array([sn[3] for sn in self.snapshots]),
                "open": np.array([sn[4] for sn in self.snapshots]),
            },
            tickets=self.log.rows if self.log is not None else None,
            resolution_hist=sink.resolution_hist,
            extra={"surge": [vars(log) for log in self.surge_logs]},
        )

    def _market_over(self, t0: float, t1: float, channel: str) -> tuple[float, float, float]:
        """Closing price, mean volatility and mean arrival multiplier of [t0, t1)."""
        drive = self.drive
        if drive is None:
            return math.nan, math.nan, 1.0
        path = drive.path
        last = min(path.index(t1 - 1e-9), len(path.price) - 1)
        return (
            float(path.price[last]),
            float(mean_over(path.vol, path.step, t0, t1)),
            float(mean_over(drive.multiplier[channel], path.step, t0, t1)),
        )

    def _interval_table(self) -> dict[str, list[Any]]:
        """One row per reporting interval and channel."""
        cols: dict[str, list[Any]] = {k: [] for k in (
            "replication", "interval", "start_s", "channel", "offered", "answered", "abandoned",
            "asa_s", "service_level", "mean_queue", "agents_on_duty", "occupancy", "price",
            "volatility", "arrival_multiplier", "open_tickets")}  # fmt: skip
        snaps = self.snapshots
        sink = self.sink
        pool_channels = [
            set(p.channels) if p.channels is not None else set(self.s.channels) for p in self.pool_specs
        ]
        for j in range(1, len(snaps)):
            t0, q0, b0, d0, _ = snaps[j - 1]
            t1, q1, b1, d1, open1 = snaps[j]
            length = t1 - t0
            if length <= 0:
                continue
            k = int(t0 // self.s.interval) - sink.k0
            iv = {name: sink.iv[name][:, k] for name in sink.iv}
            for ci, ch in enumerate(self.channels):
                serving = [p for p in range(len(self.pools)) if ch.name in pool_channels[p]]
                busy = sum(b1[p] - b0[p] for p in serving)
                duty = sum(d1[p] - d0[p] for p in serving)
                ans = iv["answered"][ci]
                cols["replication"].append(self.replication)
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
                cols["agents_on_duty"].append(duty / length)
                cols["occupancy"].append(busy / duty if duty > 0 else math.nan)
                price, vol, mult = self._market_over(t0, t1, ch.name)
                cols["price"].append(price)
                cols["volatility"].append(vol)
                cols["arrival_multiplier"].append(mult)
                cols["open_tickets"].append(open1[ci])
        return cols


def simulate(scenario: Scenario, replication: int, *, record_tickets: bool = False) -> ReplicationResult:
    """Run one replication of a scenario (with the journey model only if it asks for one:
    the plain path stays the fast one)."""
    if scenario.has_journey:
        from ..journey.desk import JourneyDesk

        return JourneyDesk(scenario, replication, record_tickets=record_tickets).run()
    return Desk(scenario, replication, record_tickets=record_tickets).run()

