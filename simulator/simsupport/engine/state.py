"""A plan brought to life for one run: channels, classes and pools with their queues, samplers
and routing index.

The plan is frozen; these objects hold what changes while the desk runs (queue contents,
counts of waiting and busy, time integrals) and the random samplers of the replication's named
streams. Channels, agents and tickets double as their own SimPy events (see `engine.desk`), so
they carry a `callbacks` slot and `_ok = True`.
"""

from __future__ import annotations

from typing import Any

from .. import streams as names
from ..plan.desk import ClassPlan, DeskPlan
from ..rng import Streams
from .agents import PoolState
from .routing import build_groups
from .sampling import exponential_sampler, make_sampler, uniform_sampler
from .tickets import Route, Ticket, TicketClass

INF = float("inf")


class ChannelState:
    """A channel at run time: its arrival clock, queue counts and SLA constants.

    It is also the event of its next scheduled arrival (one at a time)."""

    __slots__ = (
        "base_p", "callbacks", "cat_w", "classes", "const", "counted_waiting", "cum", "gap", "in_service", "index", "jr",
        "kid_delay", "kids", "lines", "max_retries", "max_waiting", "mix_k", "mix_x", "name", "patience",
        "pending", "pick", "q_sum", "rate", "retry_delay", "retry_keep", "retry_patience", "retry_prob",
        "retry_to", "retry_u", "shift", "short_abandon", "sla_T", "sla_code", "triggered", "volatile", "waiting",
    )  # fmt: skip
    _ok = True  # as a SimPy event it never fails

    def __init__(self, index: int, name: str) -> None:
        self.index = index
        self.name = name
        self.callbacks: Any = None
        self.waiting = 0
        self.counted_waiting = 0  # counted first visits waiting (the engine's own tally, by channel)
        self.in_service = 0
        self.q_sum = 0.0  # queue-length integral minus waiting * now (see area())
        self.pending = 0  # journey: tickets waiting on the customer (more information, reopen)
        self.jr: Any = None  # journey settings of the channel (engine.journey.JourneyChannel)
        self.classes: list[TicketClass] = []
        self.cum: list[float] = []
        self.retry_prob = 0.0
        self.max_retries = 0
        self.retry_to: Any = None
        self.retry_keep = False  # a retry keeps the patience of the attempt it follows
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
    """Per-ticket rows for --tickets (kept only when asked for). `counted` tells the attempts that
    arrived in the measured window [warmup, warmup + horizon) from the warm-up's and from those of
    the drain after the horizon, which no statistic counts."""

    COLUMNS = ("id", "attempt", "channel", "category", "language", "vip", "priority", "tier", "arrival_s",
               "counted", "outcome", "wait_s", "pool", "handle_s")  # fmt: skip

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {c: [] for c in self.COLUMNS}

    def add(self, t: Ticket, outcome: str, wait: float, pool: str | None, handle: float) -> None:
        c = t.cls
        for col, value in zip(
            self.COLUMNS,
            (t.id, t.attempt, c.channel.name, c.category, c.language, c.vip, c.priority, c.tier, t.arrival,
             t.counted, outcome, wait, pool, handle),
        ):  # fmt: skip
            self.rows[col].append(value)


class DeskState:
    """Runtime channels, classes (entry and stage), pools and the routing index of a plan."""

    def __init__(self, plan: DeskPlan, streams: Streams, widen: Any) -> None:
        self.pools = [PoolState(p.index, p.spec) for p in plan.pools]
        self.channels: list[ChannelState] = []
        self._work: dict[str, Any] = {}
        self._wrap: dict[str, Any] = {}
        self.streams = streams
        for cp in plan.channels:
            ch = ChannelState(cp.index, cp.name)
            ch.rate = cp.rate
            # constant rate: gaps are exponential with mean 1/rate; otherwise unit exponential
            # amounts of cumulative intensity, turned into times by the rate's segments
            ch.const = cp.const
            ch.gap = exponential_sampler(streams(names.arrivals(cp.name)), 1.0 / cp.mean_rate if cp.const else 1.0)
            ch.pick = uniform_sampler(streams(names.ticket_class(cp.name)))
            ch.patience = None if cp.patience is None else make_sampler(cp.patience, streams(names.patience(cp.name)))
            ch.max_waiting = cp.max_waiting
            ch.lines = cp.lines
            ch.sla_T, ch.sla_code, ch.short_abandon = cp.sla_threshold, cp.sla_code, cp.short_abandon
            self.channels.append(ch)
        self.channel_by_name = {ch.name: ch for ch in self.channels}
        for cp, ch in zip(plan.channels, self.channels):
            r = cp.retry
            if r is None:
                continue
            target = self.channels[r.to]
            ch.retry_prob = r.prob
            ch.max_retries = r.max_retries
            ch.retry_u = uniform_sampler(streams(names.retry(ch.name)))
            ch.retry_delay = make_sampler(r.after, streams(names.retry_delay(ch.name)))
            ch.retry_to = target
            ch.retry_keep = r.keep_patience
            # the source channel holds the sampler of the target channel's patience
            ch.retry_patience = (
                None if r.patience is None else make_sampler(r.patience, streams(names.retry_patience(target.name)))
            )
        self.classes = [self._class(c, widen) for c in plan.classes]
        self.stage_classes = [self._class(c, widen) for c in plan.stage_classes]
        for c, cp in zip(self.classes, plan.classes):
            c.stages = {tier: self.stage_classes[k] for tier, k in cp.stages} if cp.stages else None
        for c, cp in zip(self.stage_classes, plan.stage_classes):
            c.stages = {tier: self.stage_classes[k] for tier, k in cp.stages}
        for cp, ch in zip(plan.channels, self.channels):
            ch.classes = [self.classes[i] for i in cp.classes]
            ch.cum = list(cp.cum)
        queues = [list(q) for q in plan.pool_queues]
        overflow = [list(o.queues) for o in plan.overflow]
        extra = self.extra_queue_sets(plan, queues)
        groups, self.listeners = build_groups([*queues, *overflow, *extra], plan.n_queues)
        n = len(self.pools)
        for ps in self.pools:
            ps.groups = groups[ps.index]
        self.normal_groups = [ps.groups for ps in self.pools]
        self.overflow_groups = groups[n : n + len(overflow)]
        self.overflow_active: set[int] = set()
        if extra:
            for ps in self.pools:
                ps.cgroups = groups[n + len(overflow) + ps.index]

    def extra_queue_sets(self, plan: DeskPlan, queues: list[list[Any]]) -> list[list[Any]]:
        """Per pool, the queues of concurrent channels (what an agent holding chats may add)."""
        if not plan.journey:
            return []
        s = plan.scenario
        slots = [s.channels[cp.name].slots for cp in plan.channels]
        concurrent = {qid for qid, ci in enumerate(plan.queue_channel) if slots[ci] > 1}
        return [[(k, q) for k, q in pq if q in concurrent] for pq in queues]

    def _class(self, cp: ClassPlan, widen: Any) -> TicketClass:
        ch = self.channels[cp.channel]
        c = TicketClass(cp.index, ch, cp.category, cp.language, cp.vip, cp.priority, cp.key)
        c.qid = cp.qid
        c.sla_threshold = ch.sla_T
        c.factor = cp.factor
        work = self._work.get(cp.work_stream)
        if work is None:
            work = self._work[cp.work_stream] = make_sampler(cp.work, self.streams(cp.work_stream))
        c.work = work
        if cp.wrap is not None:
            wrap = self._wrap.get(cp.category)
            if wrap is None:
                wrap = self._wrap[cp.category] = make_sampler(cp.wrap, self.streams(names.wrap_up(cp.category)))
            c.wrap = wrap
        c.scale = list(cp.scale)
        c.pools = [self.pools[i] for i in cp.pools]
        for rp in cp.routes:
            r = Route(rp.after, rp.qid, [self.pools[i] for i in rp.pools], rp.key)
            r.callback = lambda ev, r=r: widen(r, ev)
            c.routes.append(r)
        c.tier, c.tier_k = cp.tier, cp.tier_k
        c.bot = True if cp.bot else None
        c.deflect = cp.deflect
        return c
