"""The desk with the service journey: bot, tiers, chat concurrency, follow-ups, live start.

`JourneyDesk` reuses the core desk's arrivals, queues, routing, shifts, surge and snapshots, and
replaces what happens to a ticket once it is admitted:

    arrival -> [bot: deflected, or handed over] -> visit at the entry tier -> service
            -> next step of its plan (more information, escalation, reopen) -> ... -> end

Each visit is a fresh `JourneyTicket` in the queue of a *stage* class (channel, category,
language, VIP, tier), so stale entries of earlier visits never look like waiting ones. Only the
first visit is reported to the core collector (the first response); every visit goes to the
journey sink by tier, and each journey's end (deflected, resolved, abandoned, blocked) with its
resolution time and CSAT.

Chat concurrency: an agent holds up to k chats; a chat takes 1/k of the agent (occupancy on
slots). Agents with room wait in `pool.open`; an agent holding chats takes only more chats
(`pool.cgroups`), an idle agent takes anything.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

from ..config.derived import (
    entry_tier,
    escalation_targets,
    handle_time_spec,
    tier_chain,
)
from ..config.distributions import Exponential
from ..config.journey import CSAT
from ..config.schema import Scenario
from ..stats.result import ReplicationResult
from ..model.agents import Agent
from ..model.desk import INF, Desk
from ..model.routing import enqueue, next_ticket
from ..model.sampling import make_sampler, uniform_sampler
from ..model.tickets import ABANDONED, DONE, SERVING, WAITING, Ticket, TicketClass
from .experience import END_ABANDONED, END_BLOCKED, END_DEFLECTED, END_RESOLVED, csat_score, predicted_wait
from .plan import ESCALATE, REOPEN, RETURN, Journey, JourneyTicket, Plan, draw_steps
from ..stats.journey import JourneySink

NAN = math.nan


class JourneyChannel:
    """A channel's journey settings and samplers at run time."""

    __slots__ = (
        "announce",
        "announce_u",
        "backlog",
        "bot_time",
        "clock_arrival",
        "deflect_u",
        "escalate_u",
        "hand_patience",
        "hand_work",
        "hop_patience",
        "info",
        "info_delay",
        "info_u",
        "mean_handle",
        "reopen",
        "reopen_delay",
        "reopen_u",
        "serving",
        "slots",
        "stretch",
        "uv",
        "w",
    )  # fmt: skip


def _never() -> float:
    return INF


class JourneyDesk(Desk):
    def __init__(self, scenario: Scenario, replication: int, *, record_tickets: bool = False) -> None:
        s = scenario
        self.tiered = s.escalation is not None or bool(s.routing.direct) or s.routing.entry_tier is not None
        self.entry = entry_tier(s)
        tiers = [self.entry]  # entry first, then up the escalation rules, then the rest
        for t in escalation_targets(s):
            if t not in tiers:
                tiers.append(t)
        for cat in s.categories:
            for t in tier_chain(s, cat, s.routing.direct.get(cat, self.entry)):
                if t not in tiers:
                    tiers.append(t)
        for p in s.pools:
            if p.tier not in tiers:
                tiers.append(p.tier)
        self.tiers = tiers
        self.tier_k = {t: k for k, t in enumerate(tiers)}
        self.escalation = dict(s.escalation) if s.escalation else None
        self.stage_classes: list[TicketClass] = []
        self.open = 0  # counted journeys not yet ended
        self.journeys_counted = 0
        super().__init__(scenario, replication, record_tickets=record_tickets)
        for ps in self.pools:
            ps.cgroups = self.extra_groups[ps.index]
        self.on_bot = self._bot_done
        self.on_done = self._done
        self.on_back = self._back
        self.csat = s.experience.csat if s.experience is not None else CSAT()
        self.jsink = JourneySink(
            tiers, len(self.pools), len(self.classes), len(self.channels), [c.channel.index for c in self.classes]
        )
        self._initial_busy = self._busy_at_start()

    # -- construction ---------------------------------------------------------------------
    def _entry_pools(self, category: str, vip: bool) -> set[int] | None:
        if not self.tiered:
            return None
        tier = self.s.routing.direct.get(category, self.entry)
        return {
            i for i, p in enumerate(self.pool_specs) if p.tier == tier or (vip and p.serves == "vip")
        }

    def _tier_pools(self, tier: str) -> set[int] | None:
        if not self.tiered:
            return None
        return {i for i, p in enumerate(self.pool_specs) if p.tier == tier}

    def _more_classes(self) -> None:
        s = self.s
        for ch in self.channels:
            ch.jr = self._channel_settings(ch)
        bot = s.chatbot
        guard = s.routing.breach_guard
        entry = list(self.classes)
        for c in entry:
            spec = s.channels[c.channel.name]
            c.tier = s.routing.direct.get(c.category, self.entry) if self.tiered else self.entry
            c.tier_k = self.tier_k[c.tier]
            if bot is not None and c.channel.name in bot.channels:
                c.bot = bot
                c.deflect = bot.deflection.p_on(c.channel.name, c.category)
            stages: dict[str, TicketClass] = {}
            for tier in tier_chain(s, c.category, c.tier):
                sc, _ = self._make_class(
                    c.channel, c.category, c.language, c.vip, -1, self._tier_pools(tier), f"/tier={tier}"
                )
                sc.tier, sc.tier_k = tier, self.tier_k[tier]
                stages[tier] = sc
                self.stage_classes.append(sc)
            for sc in stages.values():
                sc.stages = stages
            c.stages = stages
            if guard is not None and spec.is_backlog and spec.sla is not None:
                pools = self._eligible(c, c.language, self._entry_pools(c.category, c.vip))
                if pools:
                    self._add_route(c, max(spec.sla.threshold - guard, 0.0), pools, (-1, *c.key))
        for rule in s.routing.tier_overflow:
            for c in [*entry, *self.stage_classes]:
                if c.tier != rule.from_:
                    continue
                pools = self._eligible(c, c.language, self._tier_pools(rule.to))
                if pools:
                    self._add_route(c, rule.after, pools, c.key)
        for ch in self.channels:  # the predictor's mean handle time and servers
            jr = ch.jr
            total = weight = 0.0
            serving: dict[int, Any] = {}
            prev = 0.0
            for c, cum in zip(ch.classes, ch.cum):
                p, prev = cum - prev, cum
                if c.pools:
                    dist, _ = handle_time_spec(s.categories[c.category], ch.name, c.language)
                    total += p * dist.expected() * c.scale[c.pools[0].index]
                    weight += p
                for ps in c.pools:
                    serving[ps.index] = ps
            jr.mean_handle = total / weight if weight else 0.0
            jr.serving = list(serving.values())

    def _channel_settings(self, ch: Any) -> JourneyChannel:
        s = self.s
        spec = s.channels[ch.name]
        st = self.streams
        jr = JourneyChannel()
        jr.slots = spec.slots
        jr.w = 1.0 / spec.slots
        jr.stretch = [spec.chats.factor(m) for m in range(1, spec.slots + 1)]
        bot = s.chatbot
        on_bot = bot is not None and ch.name in bot.channels
        jr.bot_time = make_sampler(bot.handle_time, st(f"bot/{ch.name}")) if on_bot else _never  # type: ignore[union-attr,arg-type]
        jr.deflect_u = uniform_sampler(st(f"deflect/{ch.name}"))
        jr.uv = bot.under_volatility if bot is not None else 0.0
        jr.clock_arrival = bot is not None and bot.sla_clock == "arrival"
        jr.hand_patience = bot.handover.patience if on_bot else 1.0  # type: ignore[union-attr]
        jr.hand_work = bot.handover.handle_time if on_bot else 1.0  # type: ignore[union-attr]
        jr.info = spec.needs_info
        jr.info_u = uniform_sampler(st(f"needs_info/{ch.name}"))
        jr.info_delay = make_sampler(spec.needs_info.after, st(f"needs_info_delay/{ch.name}")) if spec.needs_info else _never
        jr.reopen = spec.reopen
        jr.reopen_u = uniform_sampler(st(f"reopen/{ch.name}"))
        jr.reopen_delay = make_sampler(spec.reopen.after, st(f"reopen_delay/{ch.name}")) if spec.reopen else _never
        jr.escalate_u = uniform_sampler(st(f"escalate/{ch.name}"))
        jr.hop_patience = (
            _never if spec.patience == "none" else make_sampler(spec.patience, st(f"patience/{ch.name}/later"))
        )
        jr.announce = spec.announce
        jr.announce_u = uniform_sampler(st(f"announce/{ch.name}"))
        jr.backlog = spec.is_backlog
        return jr

    def _extra_queue_sets(self) -> list[list[tuple[tuple[int, ...], int]]]:
        """Per pool, the queues of concurrent channels: what an agent holding chats may add."""
        concurrent = {qid for qid, ch in enumerate(self._qid_channel) if ch.jr.slots > 1}
        return [[(k, q) for k, q in queues if q in concurrent] for queues in self._pool_queues]

    # -- arrival, bot, visits -------------------------------------------------------------
    def _admit(self, t: Ticket, now: float) -> None:
        """A new customer contact: draw its journey's plan, then bot or human."""
        cls = t.cls
        jr = cls.channel.jr
        deflect = False
        bot_time = 0.0
        if cls.bot is not None:
            bot_time = jr.bot_time()
            p = cls.deflect + jr.uv if cls.volatile else cls.deflect
            deflect = jr.deflect_u() < p
        steps = draw_steps(cls, jr, self.escalation) if not deflect else []
        balk_u = jr.announce_u() if jr.announce is not None else 1.0
        self._enter(t, Plan(bot_time, deflect, steps, balk_u), now)

    def _readmit(self, old: Ticket, t: Ticket, now: float) -> None:
        """A retry: the same customer with the same needs, never deflected by the bot again."""
        plan = old.j.plan  # type: ignore[attr-defined]
        t.work = old.j.work0  # type: ignore[attr-defined]  # before any handover factor
        if t.cls.channel is not old.cls.channel:  # its later visits on the channel it retried on
            stages = t.cls.stages
            steps = [(k, stages.get(sc.tier, sc), d, w, p) for k, sc, d, w, p in plan.steps]
            plan = Plan(plan.bot_time, False, steps, plan.balk_u)
        elif plan.deflect:
            plan = Plan(plan.bot_time, False, plan.steps, plan.balk_u)
        self._enter(t, plan, now)

    def _enter(self, t: Ticket, plan: Plan, now: float) -> None:
        cls = t.cls
        j = Journey(cls, t.arrival, plan, t.counted)
        j.work0 = t.work
        if t.counted:
            self.journeys_counted += 1
            self.open += 1
        jt = JourneyTicket(cls, t.arrival, t.work, t.patience, j, t.attempt, t.id, True)
        if cls.bot is not None:
            Timeout(self.env, plan.bot_time, jt).callbacks.append(self.on_bot)
        else:
            self._visit(jt, now)

    def _bot_done(self, ev: simpy.Event) -> None:
        t: JourneyTicket = ev._value
        now = self.env._now
        cls = t.cls
        jr = cls.channel.jr
        j = t.j
        deflected = j.plan.deflect
        if t.counted:
            work = t.work * cls.factor
            self.jsink.bot(cls.channel.index, deflected, work, work * jr.hand_work)
        if deflected:
            if self.log is not None:
                self.log.add(t, "deflected", 0.0, None, 0.0)
            self._end(j, END_DEFLECTED)
            return
        t.patience *= jr.hand_patience
        t.work *= jr.hand_work
        if not jr.clock_arrival:
            t.arrival = now
        self._visit(t, now)

    def _visit(self, t: JourneyTicket, now: float) -> None:
        """A ticket wants a human at its class's tier: an idle agent (or one with a free chat
        slot) takes it, or it waits."""
        cls = t.cls
        ch = cls.channel
        jr = ch.jr
        if t.entry:
            if t.counted:
                self.arrivals_counted += 1
            if ch.lines is not None and ch.waiting + ch.in_service >= ch.lines:
                self._block(t)
                self._end(t.j, END_BLOCKED)
                return
        pools = cls.pools
        agent = self.choose_agent(pools) if pools else None
        if agent is None and jr.slots > 1:
            for ps in pools:
                if ps.open:
                    agent = next(iter(ps.open))
                    break
        if agent is None and t.entry and ch.max_waiting is not None and ch.waiting >= ch.max_waiting:
            self._block(t)  # refused: not a visit to any tier
            self._end(t.j, END_BLOCKED)
            return
        if t.counted:
            self.jsink.visit(cls.tier_k)
        if agent is not None:
            self._start(t, agent, now, now - t.arrival)
            return
        if t.entry and jr.announce is not None and self._balks(t, ch, jr, now):
            return
        enqueue(t, cls.queue, cls.qid, self.listeners)
        ch.q_sum -= now
        ch.waiting += 1
        if t.counted and t.entry:  # first responses still owed (the core's in_queue_end)
            self.counted_waiting += 1
        if t.patience < INF:
            Timeout(self.env, t.patience, t).callbacks.append(self.on_abandon)
        for r in cls.routes:
            Timeout(self.env, max(t.arrival + r.after - now, 0.0), t).callbacks.append(r.callback)

    def _balks(self, t: JourneyTicket, ch: Any, jr: JourneyChannel, now: float) -> bool:
        """Announce the predicted wait; a customer told a long one may leave at once."""
        servers = sum(ps.duty for ps in jr.serving) * jr.slots
        pred = predicted_wait(ch.waiting, jr.mean_handle, servers)
        balk = pred > jr.announce.balk_above and t.j.plan.balk_u < jr.announce.balk_prob
        if t.counted:
            self.jsink.announced(ch.index, balk)
        if not balk:
            t.predicted = pred
            t.queued = now
            return False
        t.state = ABANDONED
        wait = now - t.arrival
        if t.counted:
            self.sink.abandoned(t, wait)
            self.jsink.abandoned(t.cls.tier_k, wait)
        if self.log is not None:
            self.log.add(t, "balked", wait, None, 0.0)
        self._end(t.j, END_ABANDONED)
        return True

    # -- service ----------------------------------------------------------------------------
    def _start(self, t: Ticket, agent: Agent, now: float, wait: float) -> None:  # type: ignore[override]
        t.state = SERVING
        t.agent = agent
        cls = t.cls
        ch = cls.channel
        jr = ch.jr
        pool = agent.pool
        ch.in_service += 1
        w = jr.w
        pool.busy_sum -= now * w
        pool.busy += w
        agent.load += 1
        handle = t.work * cls.scale[pool.index]
        if jr.slots > 1:
            if agent.load == 1:
                agent.cap = jr.slots
            handle *= jr.stretch[min(agent.load, jr.slots) - 1]
            if cls.wrap is not None:  # a chat's wrap-up holds its slot
                handle += cls.wrap()
            if agent.load < agent.cap and not agent.leaving:
                pool.open[agent] = None
            else:
                pool.open.pop(agent, None)
        j = t.j
        j.waited += wait
        j.handled = True
        if t.counted:
            if t.entry:
                self.answered(t, wait, pool.index, NAN)  # the first response
            self.jsink.answered(cls.tier_k, pool.index, wait)
            if t.predicted >= 0:
                self.jsink.prediction(ch.index, t.predicted, now - t.queued)
        if self.log is not None:
            self.log.add(t, "answered", wait, pool.name, handle)
        Timeout(self.env, handle, t).callbacks.append(self.on_done)

    def _done(self, ev: simpy.Event) -> None:
        """A visit's service ends: the ticket moves on, the agent's slot frees."""
        t: JourneyTicket = ev._value
        now = self.env._now
        agent: Agent = t.agent
        t.agent = None
        t.state = DONE
        cls = t.cls
        jr = cls.channel.jr
        pool = agent.pool
        cls.channel.in_service -= 1
        agent.load -= 1
        self._next_step(t, now)
        if jr.slots == 1 and cls.wrap is not None:  # wrap-up ends in the core's agent callback
            Timeout(self.env, cls.wrap(), agent).callbacks.append(self.on_free)
            return
        w = jr.w
        pool.busy_sum += now * w
        pool.busy -= w
        if agent.load == 0:
            pool.open.pop(agent, None)
            if agent.leaving:
                self._go_off(agent, now)
                return
            groups = pool.groups
        else:
            if agent.leaving:
                return
            groups = pool.cgroups  # holding chats: only more chats
        nxt = next_ticket(groups) if any(groups) else None
        if nxt is not None:
            self._dequeue(nxt, now)
            self._start(nxt, agent, now, now - nxt.arrival)
        elif agent.load == 0:
            agent.idle_since = now
            pool.idle.append(agent)
        else:
            pool.open[agent] = None

    def _next_step(self, t: JourneyTicket, now: float) -> None:
        j = t.j
        steps = j.plan.steps
        if j.pos >= len(steps):
            if j.resolved_at < 0:
                j.resolved_at = now
            self._end(j, END_RESOLVED)
            return
        kind, sc, delay, work, patience = steps[j.pos]
        j.pos += 1
        if kind == ESCALATE:
            j.escalations += 1
            if j.counted:
                self.jsink.escalated(t.cls.tier_k)
        elif kind == RETURN:
            j.info = True
        elif kind == REOPEN:
            # the journey ends resolved here; the reopen comes back as a visit of its own (counted
            # at its tier), so a reopen days later does not hold the run open
            j.reopened = True
            if j.resolved_at < 0:
                j.resolved_at = now
            self._end(j, END_RESOLVED)
        nt = JourneyTicket(sc, now + delay, work, patience, j, t.attempt, t.id, False)
        if delay > 0:
            sc.channel.pending += 1
            Timeout(self.env, delay, nt).callbacks.append(self.on_back)
        else:
            self._visit(nt, now)

    def _back(self, ev: simpy.Event) -> None:
        """The customer is back (with the information asked for, or reopening)."""
        t: JourneyTicket = ev._value
        t.cls.channel.pending -= 1
        self._visit(t, self.env._now)

    def _abandon(self, ev: simpy.Event) -> None:
        t: JourneyTicket = ev._value
        if t.state != WAITING:
            return
        now = self.env._now
        t.state = ABANDONED
        self._dequeue(t, now)
        wait = now - t.arrival
        t.j.waited += wait
        if t.counted:
            if t.entry:
                self.sink.abandoned(t, wait)
            self.jsink.abandoned(t.cls.tier_k, wait)
        if self.log is not None:
            self.log.add(t, "abandoned", wait, None, 0.0)
        self._end(t.j, END_ABANDONED)
        ch = t.cls.channel
        if t.entry and ch.retry_prob > 0 and t.attempt < ch.max_retries and ch.retry_u() < ch.retry_prob:
            Timeout(self.env, ch.retry_delay(), t).callbacks.append(self.on_retry)

    def _dequeue(self, t: Ticket, now: float) -> None:
        ch = t.cls.channel
        ch.q_sum += now
        ch.waiting -= 1
        if t.counted and t.entry:  # type: ignore[attr-defined]
            self.counted_waiting -= 1

    def _end(self, j: Journey, outcome: int) -> None:
        if j.ended:
            return
        j.ended = True
        if not j.counted:
            return
        self.open -= 1
        resolution = j.resolved_at - j.origin if j.resolved_at >= 0 else NAN
        score = csat_score(self.csat, outcome, j.waited, 0.0 if math.isnan(resolution) else resolution, j.escalations)
        self.jsink.ended(j, outcome, resolution, score, score >= self.csat.satisfied_at)
        if self.draining and self.open == 0 and not self.stop.triggered:
            self.stop.succeed()

    def _settled(self) -> bool:
        return self.open == 0

    # -- live start ---------------------------------------------------------------------------
    def _make_free(self, agent: Agent, now: float) -> None:
        remaining = self._initial_busy.get(agent.pool.index)
        if remaining and now == 0.0:  # busy with work from before the start
            draw = remaining.pop()
            pool = agent.pool
            pool.busy_sum -= now
            pool.busy += 1
            Timeout(self.env, draw(), agent).callbacks.append(self.on_free)
            return
        super()._make_free(agent, now)

    def _busy_at_start(self) -> dict[int, list[Any]]:
        """Per pool, a remaining-time sampler for each agent busy at time 0 (live start)."""
        out: dict[int, list[Any]] = {}
        init = self.s.initial
        names = [p.name for p in self.pool_specs]
        for i, b in enumerate(init.busy if init is not None else []):
            ps = self.pools[names.index(b.pool)]
            dist = b.remaining or _pool_mean_handle(self, ps.index)
            draw = make_sampler(dist, self.streams(f"initial/busy/{i}"))
            out.setdefault(ps.index, []).extend([draw] * b.agents)
        return out

    def _start_state(self) -> None:
        init = self.s.initial
        if init is None:
            return
        s = self.s
        counted = self.warmup == 0
        for i, w in enumerate(init.waiting):
            ch = self.channel_by_name[w.channel]
            candidates, weights = [], []
            prev = 0.0
            for c, cum in zip(ch.classes, ch.cum):
                p, prev = cum - prev, cum
                if (w.category in (None, c.category) and w.language in (None, c.language) and w.vip in (None, c.vip)):
                    candidates.append(c)
                    weights.append(p)
            if not candidates:  # attributes the channel's mix never produces: take them as given
                candidates = [
                    c for (chn, cat, lang, vip), c in self.class_by_key.items()
                    if chn == w.channel and w.category in (None, cat) and w.language in (None, lang) and w.vip in (None, vip)
                ]  # fmt: skip
                weights = [1.0] * len(candidates)
            total = sum(weights)
            pick = uniform_sampler(self.streams(f"initial/class/{i}"))
            age = make_sampler(w.age, self.streams(f"initial/age/{i}"))
            spec = s.channels[w.channel]
            patience = None if spec.patience == "none" else make_sampler(spec.patience, self.streams(f"initial/patience/{i}"))
            for _ in range(w.count):
                u = pick() * total
                k = 0
                while k < len(candidates) - 1 and u >= weights[k]:
                    u -= weights[k]
                    k += 1
                cls = candidates[k]
                a = age()
                left = INF
                if patience is not None:  # patience given that it has lasted `a` already
                    left = 0.0
                    for _ in range(1000):
                        p = patience()
                        if p > a:
                            left = p - a
                            break
                self.next_id += 1
                t = Ticket(cls, -a, cls.work(), left, counted, 0, self.next_id)
                balk_u = ch.jr.announce_u() if ch.jr.announce is not None else 1.0
                plan = Plan(0.0, False, draw_steps(cls, ch.jr, self.escalation), balk_u)
                j = Journey(cls, -a, plan, counted)
                if counted:
                    self.journeys_counted += 1
                    self.open += 1
                self._visit(JourneyTicket(cls, -a, t.work, left, j, 0, t.id, True), 0.0)

    # -- the end --------------------------------------------------------------------------------
    def _result(self, wall: float) -> ReplicationResult:
        r = super()._result(wall)
        waiting = [0] * len(self.tiers)
        for c in [*self.classes, *self.stage_classes]:
            if c.volatile:
                continue  # twins share their class's queue
            for t in c.queue:
                if t.state == WAITING and t.counted:
                    waiting[c.tier_k] += 1
        r.journey = self.jsink.totals(
            tier_waiting_end=np.array(waiting, dtype=float),
            journeys_counted=self.journeys_counted,
            open_at_end=self.open,
            has_bot=[c.jr.bot_time is not _never for c in self.channels],
            announces=[c.jr.announce is not None for c in self.channels],
            backlog=[c.jr.backlog for c in self.channels],
        )
        return r


def _pool_mean_handle(desk: JourneyDesk, pool: int) -> Any:
    """Exponential remaining time with the mean handle time of what a pool serves."""
    total = weight = 0.0
    for ch in desk.channels:
        prev = 0.0
        rate = desk.s.channels[ch.name].rate
        for c, cum in zip(ch.classes, ch.cum):
            p, prev = (cum - prev) * rate, cum
            if c.scale[pool] > 0 and desk.pools[pool] in c.pools:
                dist, _ = handle_time_spec(desk.s.categories[c.category], ch.name, c.language)
                total += p * dist.expected() * c.scale[pool]
                weight += p
    mean = total / weight if weight else 300.0
    return Exponential.model_construct(dist="exponential", mean=mean)



__all__ = ["JourneyDesk"]
