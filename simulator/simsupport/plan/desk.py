"""Scenario -> DeskPlan: everything about one replication's desk that is decided before time 0.

A plan names the pools (reserves of surge rules included), the channels with their arrival
rates, the ticket classes a channel's arrivals fall into (channel, category, language, VIP) and,
per class, the pools that may serve it in the order agent choice tries them, the handle-time
scale of each, its routing rank and its routes (second queues opened after a wait: the fallback
language, tier overflow, the breach guard). A journey desk adds one *stage* class per tier a
ticket may visit. Queue ids are numbered here, in one fixed order, so the engine's routing index
is the same in every run.

Everything is frozen dataclasses and tuples: a plan has no SimPy, no queues and no random
draws beyond the market path (drawn from the replication's own streams). Staffing, scheduling
and fitting read plans; `engine.Engine` turns one into events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _replace
from typing import Any

import numpy as np

from .. import streams as names
from ..config.base import on_duty
from ..config.derived import (
    channel_languages,
    channel_mix,
    entry_tier,
    escalation_targets,
    handle_time_spec,
    pool_serves,
    tier_chain,
)
from ..config.schema import Pool, Scenario, Shift
from ..market.drive import Drive, build_drive
from ..market.paths import mean_over
from ..rng import Streams
from ..stats.counters import SL_CODES, SL_NONE
from .calendar import shift_specs
from .rates import PiecewiseRate, make_rate
from .reserves import reserve_pools

INF = float("inf")
MIN_DRAIN = 86400.0  # drain at least a day (backlog SLAs are measured in hours)

Key = tuple[int, ...]


@dataclass(frozen=True)
class PoolPlan:
    index: int
    name: str
    tier: str
    spec: Pool
    channels: tuple[str, ...]  # the channels it serves
    shifts: tuple[Shift, ...] | None  # None: on duty around the clock
    on_duty_24x7: int  # agents on duty around the clock (after shrinkage); 0 for reserves
    reserve: bool  # a surge rule's on-call reserve: nobody on duty until called


@dataclass(frozen=True)
class RoutePlan:
    """A second queue for a class's tickets, opened once they have waited `after`."""

    after: float
    qid: int
    pools: tuple[int, ...]  # in the order agent choice tries them
    key: Key


@dataclass(frozen=True)
class ClassPlan:
    index: int  # row in the statistics (-1 for stage classes: only entry visits are counted there)
    channel: int
    category: str
    language: str
    vip: bool
    priority: int
    key: Key  # static routing rank: smaller goes first
    qid: int
    factor: float  # channel and language factor of the handle time
    work: Any  # distribution of work content at proficiency 1
    work_stream: names.Stream
    wrap: Any  # distribution of wrap-up, or None
    scale: tuple[float, ...]  # per pool: work -> that pool's handle time (0: never serves it)
    eligible: tuple[tuple[int, float], ...]  # (pool, proficiency) in pool order
    pools: tuple[int, ...]  # eligible pools in the order agent choice tries them
    routes: tuple[RoutePlan, ...]
    tier: str = ""
    tier_k: int = 0
    deflect: float = 0.0  # probability the chatbot resolves it (journey)
    bot: bool = False  # arrives through the chatbot (journey)
    stages: tuple[tuple[str, int], ...] = ()  # journey: (tier, stage class) of its later visits


@dataclass(frozen=True)
class RetryPlan:
    prob: float
    max_retries: int
    after: Any  # distribution of the delay
    to: int  # channel the retry arrives on
    patience: Any  # distribution of the retry's patience on that channel, or None
    keep_patience: bool = False  # the retry waits as long as the attempt it follows (no new draw)


@dataclass(frozen=True)
class ChannelPlan:
    index: int
    name: str
    rate: PiecewiseRate  # background arrivals (contagion's triggered share taken off)
    const: bool  # constant rate: gaps drawn with mean 1/rate directly
    mean_rate: float
    classes: tuple[int, ...]  # entry classes with a positive share
    cum: tuple[float, ...]  # their cumulative shares
    patience: Any  # distribution, or None (never gives up)
    sla_threshold: float
    sla_code: int
    short_abandon: float
    lines: int | None
    max_waiting: int | None
    retry: RetryPlan | None
    is_backlog: bool


@dataclass(frozen=True)
class OverflowPlan:
    """A surge overflow rule: `pool` serves more classes while it is active."""

    pool: int
    classes: tuple[tuple[int, tuple[tuple[int, float], ...], tuple[int, float]], ...]  # class, normal, gained
    queues: tuple[tuple[Key, int], ...]


@dataclass(frozen=True)
class DeskPlan:
    scenario: Scenario
    replication: int
    pools: tuple[PoolPlan, ...]
    channels: tuple[ChannelPlan, ...]
    classes: tuple[ClassPlan, ...]  # entry classes, one statistics row each
    stage_classes: tuple[ClassPlan, ...]  # journey: later visits, by tier
    n_queues: int
    pool_queues: tuple[tuple[tuple[Key, int], ...], ...]  # per pool: (rank, queue id) it serves
    queue_channel: tuple[int, ...]  # channel of each queue id
    overflow: tuple[OverflowPlan, ...]
    tiers: tuple[str, ...]  # entry tier first, then up the escalation rules, then the rest
    tiered: bool
    drive: Drive | None  # the market's path and multipliers for this replication
    volatile_flags: tuple[bool, ...] = field(default=())  # per reporting interval, from time 0
    warmup: float = 0.0
    end: float = 0.0
    interval: float = 3600.0
    drain: float = MIN_DRAIN  # how long after the horizon an unsettled desk may drain

    @property
    def journey(self) -> bool:
        return self.scenario.has_journey

    def pool_index(self, name: str) -> int:
        return next(p.index for p in self.pools if p.name == name)

    def channel_index(self, name: str) -> int:
        return next(c.index for c in self.channels if c.name == name)

    def preference(self, pairs: list[tuple[int, float]]) -> tuple[int, ...]:
        """Pools (with proficiency) in the order agent choice tries them."""
        s = self.scenario
        return pool_preference(s.routing.agent_choice, pairs, s.routing.pool_order or [p.name for p in s.pools],
                               [p.name for p in self.pools])  # fmt: skip


def pool_preference(mode: str, pairs: list[tuple[int, float]], order: list[str], names_: list[str]) -> tuple[int, ...]:
    if mode == "most_skilled":
        return tuple(p for p, _ in sorted(pairs, key=lambda pp: (-pp[1], pp[0])))
    if mode == "pool_order":
        rank = {name: i for i, name in enumerate(order)}
        return tuple(p for p, _ in sorted(pairs, key=lambda pp: (rank.get(names_[pp[0]], len(rank)), pp[0])))
    return tuple(p for p, _ in pairs)


def routing_key(order: Any, priority: int, vip: bool, live: bool = True) -> Key:
    """Static rank of a ticket class for `routing.order` (smaller goes first)."""
    key: list[int] = []
    for item in order:
        if item == "live":
            key.append(0 if live else 1)
        elif item == "priority":
            key.append(priority)
        elif item == "vip":
            key.append(0 if vip else 1)
        elif item == "longest_waiting":
            break
    return tuple(key)


def background_share(s: Scenario, channel: str) -> float:
    """Share of a channel's rate that arrives on its own, the rest being triggered.

    With contagion (branching b) each contact triggers b more on average, so a background
    rate of rate * (1 - b) keeps the long-run average at `rate`: the channel's rate means
    the same with or without contagion, and contagion changes only how bursty it is.
    """
    m = s.market
    c = m.response.contagion if m is not None else None
    if c is None or (c.channels is not None and channel not in c.channels):
        return 1.0
    return 1.0 - c.branching


class _Builder:
    """Mutable scaffolding while a plan is assembled (the plan itself is frozen)."""

    def __init__(self, s: Scenario, replication: int) -> None:
        self.s = s
        self.specs = list(s.pools) + reserve_pools(s)
        self.pool_names = [p.name for p in self.specs]
        self.n_queues = 0
        self.queue_channel: list[int] = []
        self.pool_queues: list[list[tuple[Key, int]]] = [[] for _ in self.specs]
        self.order = s.routing.pool_order or [p.name for p in s.pools]
        self.work_streams: set[str] = set()
        self.tiered = s.has_journey and (
            s.escalation is not None or bool(s.routing.direct) or s.routing.entry_tier is not None
        )
        self.entry = entry_tier(s)

    def new_queue(self, channel: int) -> int:
        qid = self.n_queues
        self.n_queues += 1
        self.queue_channel.append(channel)
        return qid

    def prefer(self, pairs: list[tuple[int, float]]) -> tuple[int, ...]:
        return pool_preference(self.s.routing.agent_choice, pairs, self.order, self.pool_names)

    def eligible(self, ch: str, cat: str, lang: str, vip: bool, factor: float, scale: list[float],
                 allowed: set[int] | None) -> list[tuple[int, float]]:  # fmt: skip
        """Pools (with proficiency) that may serve such tickets in language `lang`; sets their
        handle-time scale."""
        out = []
        for i, pspec in enumerate(self.specs):
            if allowed is not None and i not in allowed:
                continue
            prof = pool_serves(self.s, pspec, ch, cat, lang, vip)
            if prof is not None:
                out.append((i, prof))
                scale[i] = factor / prof
        return out

    def route(self, channel: int, after: float, pairs: list[tuple[int, float]], key: Key) -> RoutePlan:
        r = RoutePlan(after, self.new_queue(channel), self.prefer(pairs), key)
        for i, _ in pairs:
            self.pool_queues[i].append((key, r.qid))
        return r

    def make_class(self, channel: int, ch: str, cat_name: str, lang: str, vip: bool, index: int,
                   allowed: set[int] | None, suffix: str, **extra: Any) -> tuple[ClassPlan, list[Any], list[float]]:  # fmt: skip
        """A class with its queue, work stream, eligible pools (within `allowed`) and its
        language-fallback route; `suffix` tells a stage's work stream apart from the entry's."""
        s = self.s
        cat = s.categories[cat_name]
        key = routing_key(s.routing.order, cat.priority, vip, not s.channels[ch].is_backlog)
        qid = self.new_queue(channel)
        dist, factor = handle_time_spec(cat, ch, lang)
        if dist is cat.handle_time:
            name = cat_name
        elif cat.by_language.get(lang) is dist:
            name = f"{cat_name}/language={lang}"
        else:
            name = f"{cat_name}/channel={ch}"
        scale = [0.0] * len(self.specs)
        eligible = self.eligible(ch, cat_name, lang, vip, factor, scale, allowed)
        for i, _ in eligible:
            self.pool_queues[i].append((key, qid))
        routes = []
        fallback = s.routing.language_fallback
        if fallback is not None and lang != fallback.to:
            pools = [p for p, _ in eligible]
            more = [(i, prof) for i, prof in self.eligible(ch, cat_name, fallback.to, vip, factor, scale, allowed)
                    if i not in pools]  # fmt: skip
            if more:
                routes.append(self.route(channel, fallback.after, more, key))
        c = ClassPlan(
            index=index, channel=channel, category=cat_name, language=lang, vip=vip, priority=cat.priority,
            key=key, qid=qid, factor=factor, work=dist, work_stream=names.work(name + suffix),
            wrap=cat.wrap_up, scale=tuple(scale), eligible=tuple(eligible), pools=self.prefer(eligible),
            routes=tuple(routes), **extra,
        )  # fmt: skip
        return c, eligible, scale

    def entry_pools(self, category: str, vip: bool) -> set[int] | None:
        """Pools new tickets of a category may go to (None: every pool that can serve them)."""
        if not self.tiered:
            return None
        tier = self.s.routing.direct.get(category, self.entry)
        return {i for i, p in enumerate(self.specs) if p.tier == tier or (vip and p.serves == "vip")}

    def tier_pools(self, tier: str) -> set[int] | None:
        if not self.tiered:
            return None
        return {i for i, p in enumerate(self.specs) if p.tier == tier}


def tiers_of(s: Scenario) -> list[str]:
    """The tiers, entry first, then up the escalation rules, then the rest."""
    entry = entry_tier(s)
    tiers = [entry]
    for t in escalation_targets(s):
        if t not in tiers:
            tiers.append(t)
    for cat in s.categories:
        for t in tier_chain(s, cat, s.routing.direct.get(cat, entry)):
            if t not in tiers:
                tiers.append(t)
    for p in s.pools:
        if p.tier not in tiers:
            tiers.append(p.tier)
    return tiers


def build_plan(s: Scenario, replication: int = 0) -> DeskPlan:
    """The desk of replication `replication` of a scenario (only the market path depends on it)."""
    b = _Builder(s, replication)
    drive = build_drive(s, Streams(s.seed, replication), s.end + max(s.horizon, MIN_DRAIN) + 3600.0)
    pools = tuple(
        PoolPlan(
            index=i, name=p.name, tier=p.tier, spec=p,
            channels=tuple(p.channels) if p.channels is not None else tuple(s.channels),
            shifts=None if shift_specs(p) is None else tuple(shift_specs(p) or ()),
            on_duty_24x7=on_duty(p.agents or 0, p.shrinkage) if i < len(s.pools) else 0,
            reserve=i >= len(s.pools),
        )  # fmt: skip
        for i, p in enumerate(b.specs)
    )
    tiers = tiers_of(s)
    tier_k = {t: k for k, t in enumerate(tiers)}
    vip_share = s.customers.vip_share
    vips = [(False, 1.0 - vip_share), (True, vip_share)] if vip_share > 0 else [(False, 1.0)]
    surge = s.surge
    overflow_specs = [
        (b.pool_names.index(o.pool),
         s.pool(o.pool).model_copy(update={"channels": sorted({*(s.pool(o.pool).channels or s.channels), *o.channels})}))
        for o in (surge.overflow if surge is not None else [])
    ]  # fmt: skip
    overflow_classes: list[list[Any]] = [[] for _ in overflow_specs]
    overflow_queues: list[list[tuple[Key, int]]] = [[] for _ in overflow_specs]
    classes: list[ClassPlan] = []
    channel_classes: list[tuple[list[int], list[float]]] = []
    bot = s.chatbot if s.has_journey else None
    for ci, name in enumerate(s.channels):
        mix = channel_mix(s, s.channels[name])
        langs = channel_languages(s, s.channels[name])
        members: list[int] = []
        cum: list[float] = []
        for cat_name in s.categories:
            for lang, lshare in langs.items():
                for vip, vshare in vips:
                    extra: dict[str, Any] = {}
                    if s.has_journey:
                        tier = s.routing.direct.get(cat_name, b.entry) if b.tiered else b.entry
                        extra = {"tier": tier, "tier_k": tier_k[tier]}
                        if bot is not None and name in bot.channels:
                            extra.update(bot=True, deflect=bot.deflection.p_on(name, cat_name))
                    c, eligible, scale = b.make_class(
                        ci, name, cat_name, lang, vip, len(classes), b.entry_pools(cat_name, vip), "", **extra
                    )
                    for r, (pi, pspec) in enumerate(overflow_specs):
                        prof = pool_serves(s, pspec, name, cat_name, lang, vip)
                        if prof is not None and pi not in c.pools:
                            scale[pi] = c.factor / prof
                            overflow_classes[r].append((c.index, tuple(eligible), (pi, prof)))
                            overflow_queues[r].append((c.key, c.qid))
                    classes.append(_replace(c, scale=tuple(scale)))
                    p = mix.get(cat_name, 0.0) * lshare * vshare
                    if p > 0:
                        members.append(c.index)
                        cum.append(p)
        total = sum(cum)
        acc = 0.0
        for i, p in enumerate(cum):
            acc += p / total
            cum[i] = acc
        if cum:
            cum[-1] = 1.0
        channel_classes.append((members, cum))
    stage_classes: list[ClassPlan] = []
    if s.has_journey:
        classes, stage_classes = _journey_classes(s, b, classes, tier_k)
    channels = tuple(_channel_plan(s, ci, name, drive, *channel_classes[ci]) for ci, name in enumerate(s.channels))
    overflow = tuple(
        OverflowPlan(pi, tuple(overflow_classes[r]), tuple(overflow_queues[r]))
        for r, (pi, _) in enumerate(overflow_specs)
    )
    return DeskPlan(
        scenario=s, replication=replication, pools=pools, channels=channels, classes=tuple(classes),
        stage_classes=tuple(stage_classes), n_queues=b.n_queues, pool_queues=tuple(tuple(q) for q in b.pool_queues),
        queue_channel=tuple(b.queue_channel), overflow=overflow, tiers=tuple(tiers), tiered=b.tiered, drive=drive,
        volatile_flags=_volatile_flags(s, drive), warmup=s.warmup, end=s.end, interval=s.interval,
        drain=max(s.horizon, MIN_DRAIN),
    )  # fmt: skip


def _journey_classes(
    s: Scenario, b: _Builder, entry: list[ClassPlan], tier_k: dict[str, int]
) -> tuple[list[ClassPlan], list[ClassPlan]]:
    """Stage classes (one per tier a ticket may visit), breach-guard and tier-overflow routes."""
    guard = s.routing.breach_guard
    names_ = list(s.channels)
    stage_classes: list[ClassPlan] = []
    out: list[ClassPlan] = []
    for c in entry:
        ch = names_[c.channel]
        spec = s.channels[ch]
        stages: list[tuple[str, int]] = []
        for tier in tier_chain(s, c.category, c.tier):
            sc, _, _ = b.make_class(
                c.channel, ch, c.category, c.language, c.vip, -1, b.tier_pools(tier), f"/tier={tier}",
                tier=tier, tier_k=tier_k[tier],
            )  # fmt: skip
            stages.append((tier, len(stage_classes)))
            stage_classes.append(sc)
        routes = list(c.routes)
        scale = list(c.scale)
        if guard is not None and spec.is_backlog and spec.sla is not None:
            pairs = b.eligible(ch, c.category, c.language, c.vip, c.factor, scale, b.entry_pools(c.category, c.vip))
            if pairs:
                routes.append(b.route(c.channel, max(spec.sla.threshold - guard, 0.0), pairs, (-1, *c.key)))
        out.append(_replace(c, stages=tuple(stages), routes=tuple(routes), scale=tuple(scale)))
    for rule in s.routing.tier_overflow:
        for group in (out, stage_classes):  # entry classes first, as queue ids are numbered
            for k, c in enumerate(group):
                if c.tier != rule.from_:
                    continue
                scale = list(c.scale)
                pairs = b.eligible(names_[c.channel], c.category, c.language, c.vip, c.factor, scale, b.tier_pools(rule.to))
                if pairs:
                    r = b.route(c.channel, rule.after, pairs, c.key)
                    group[k] = _replace(c, routes=(*c.routes, r), scale=tuple(scale))
                else:
                    group[k] = _replace(c, scale=tuple(scale))
    # each stage knows its siblings (a retry on another channel looks its stages up by tier)
    siblings = {k: c.stages for c in out for _, k in c.stages}
    stage_classes = [_replace(sc, stages=siblings[k]) for k, sc in enumerate(stage_classes)]
    return out, stage_classes


def _channel_plan(s: Scenario, ci: int, name: str, drive: Drive | None, members: list[int], cum: list[float]) -> ChannelPlan:
    spec = s.channels[name]
    rate = make_rate(
        spec.rate * background_share(s, name), spec.daily_profile, spec.weekly_profile, spec.timezone, s.start,
        drive.multiplier[name] if drive is not None else None, drive.path.step if drive is not None else 60.0,
    )  # fmt: skip
    retry = None
    if spec.retry is not None:
        r = spec.retry
        target = r.channel or name
        tspec = s.channels[target]
        retry = RetryPlan(r.prob, r.max_retries or 1 << 30, r.after, list(s.channels).index(target),
                          None if tspec.patience == "none" else tspec.patience, r.keep_patience)  # fmt: skip
    if spec.sla is None:
        sla_T, code, short = INF, SL_NONE, 0.0
    else:
        sla_T, code, short = spec.sla.threshold, SL_CODES[spec.sla.formula], spec.sla.short_abandon
    return ChannelPlan(
        index=ci, name=name, rate=rate, const=rate.constant and spec.rate > 0, mean_rate=spec.rate,
        classes=tuple(members), cum=tuple(cum), patience=None if spec.patience == "none" else spec.patience,
        sla_threshold=sla_T, sla_code=code, short_abandon=short, lines=spec.lines, max_waiting=spec.max_waiting,
        retry=retry, is_backlog=spec.is_backlog,
    )  # fmt: skip


def _volatile_flags(s: Scenario, drive: Drive | None) -> tuple[bool, ...]:
    """Per reporting interval: is its mean volatility volatile_above x the calm level?"""
    if drive is None or s.market is None:
        return ()
    path = drive.path
    n_iv = int(len(path.vol) * path.step // s.interval) + 1
    edges = np.arange(n_iv + 1) * s.interval
    means = mean_over(path.vol, path.step, edges[:-1], edges[1:])
    flags = (means >= s.market.response.volatile_above * path.reference_vol).tolist()
    return tuple(flags + [flags[-1]] * 2)
