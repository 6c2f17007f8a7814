"""The journey plug-in: bot, tiers, chat concurrency, follow-ups.

    arrival -> [bot: deflected, or handed over] -> visit at the entry tier -> service
            -> next step of its plan (more information, escalation, reopen) -> ... -> end

It fills the engine's hooks: `admit` (draw the journey's plan, then bot or human), `start`
(service with chat slots), `after_abandon` (the journey ends) and the retry's readmission; the
queueing, abandonment and retry rules stay the engine's. Each visit is a fresh `JourneyTicket`
in the queue of a *stage* class (channel, category, language, VIP, tier), so stale entries of
earlier visits never look like waiting ones. Only the first visit is reported to the core
collector (the first response); every visit goes to the journey sink by tier, and each
journey's end (deflected, resolved, abandoned, blocked) with its resolution time and CSAT.

Chat concurrency: an agent holds up to k chats; a chat takes 1/k of the agent (occupancy on
slots). Agents with room wait in `pool.open`; an agent holding chats takes only more chats
(`pool.cgroups`), an idle agent takes anything.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.events import NORMAL

from .. import streams as names
from ..config.derived import handle_time_spec
from ..config.journey import CSAT
from ..stats.journey import (
    END_ABANDONED,
    END_BLOCKED,
    END_DEFLECTED,
    END_RESOLVED,
    JourneySink,
)
from . import duty
from .agents import Agent
from .live_start import busy_at_start, start_state
from .predictor import predicted_wait
from .routing import next_ticket
from .sampling import make_sampler, uniform_sampler
from .tickets import ABANDONED, DONE, SERVING, WAITING, Ticket
from .visits import ESCALATE, REOPEN, RETURN, Journey, JourneyTicket, Plan, draw_steps, later_visit

if TYPE_CHECKING:
    from .host import Host as Engine

NAN = math.nan
INF = math.inf


class JourneyChannel:
    """A channel's journey settings and samplers at run time."""

    __slots__ = (
        "announce", "announce_u", "backlog", "bot_time", "clock_arrival", "deflect_u", "escalate_u",
        "hand_patience", "hand_work", "hop_patience", "info", "info_delay", "info_u", "mean_handle",
        "reopen", "reopen_delay", "reopen_u", "serving", "slots", "stretch", "uv", "w",
    )  # fmt: skip


def never() -> float:
    return INF


class JourneyPlugin:
    def __init__(self, engine: Engine) -> None:
        self.e = engine
        plan = engine.plan
        s = plan.scenario
        self.s = s
        self.tiers = list(plan.tiers)
        self.escalation = dict(s.escalation) if s.escalation else None
        self.stage_classes = engine.state.stage_classes
        self.open = 0  # counted journeys not yet ended
        self.csat = s.experience.csat if s.experience is not None else CSAT()
        self.journeys_counted = 0
        self.channel_counted = [0] * len(engine.channels)  # by entry channel: counted journeys started
        self.channel_open = [0] * len(engine.channels)  # and still open
        for ch in engine.channels:
            ch.jr = self._channel_settings(ch)
        self._predictor_settings()
        self.bot_cb = [self._bot_done]
        self.done_cb = [self._done]
        self.back_cb = [self._back]
        for c in engine.classes:  # entry classes and their volatile twins
            c.may_step = self._may_step(c)
        self.sink = JourneySink(
            self.tiers, len(engine.pools), len(engine.classes), len(engine.channels),
            [c.channel.index for c in engine.classes], self.csat, engine.sink.targets,
        )  # fmt: skip
        engine.ticket = JourneyTicket  # every first visit is made as a visit
        engine.admit = self.admit
        engine.start = self.start
        engine.after_abandon = self._abandoned
        engine.busy_at_start = busy_at_start(engine)

    def _may_step(self, c: Any) -> bool:
        """Can a journey of entry class `c` have later steps? (If not, `draw_steps` would draw
        nothing and return none, so it is skipped.)"""
        jr = c.channel.jr
        if jr.info is not None or jr.reopen is not None:
            return True
        rule = self.escalation.get(c.tier) if self.escalation is not None else None
        return rule is not None and rule.p(c.category) > 0

    def _channel_settings(self, ch: Any) -> JourneyChannel:
        s = self.s
        spec = s.channels[ch.name]
        st = self.e.streams
        jr = JourneyChannel()
        jr.slots = spec.slots
        jr.w = 1.0 / spec.slots
        jr.stretch = [spec.chats.factor(m) for m in range(1, spec.slots + 1)]
        bot = s.chatbot
        on_bot = bot is not None and ch.name in bot.channels
        jr.bot_time = make_sampler(bot.handle_time, st(names.bot_time(ch.name))) if on_bot else never  # type: ignore[union-attr,arg-type]
        jr.deflect_u = uniform_sampler(st(names.deflect(ch.name)))
        jr.uv = bot.under_volatility if bot is not None else 0.0
        jr.clock_arrival = bot is not None and bot.sla_clock == "arrival"
        jr.hand_patience = bot.handover.patience if on_bot else 1.0  # type: ignore[union-attr]
        jr.hand_work = bot.handover.handle_time if on_bot else 1.0  # type: ignore[union-attr]
        jr.info = spec.needs_info
        jr.info_u = uniform_sampler(st(names.needs_info(ch.name)))
        jr.info_delay = make_sampler(spec.needs_info.after, st(names.needs_info_delay(ch.name))) if spec.needs_info else never
        jr.reopen = spec.reopen
        jr.reopen_u = uniform_sampler(st(names.reopen(ch.name)))
        jr.reopen_delay = make_sampler(spec.reopen.after, st(names.reopen_delay(ch.name))) if spec.reopen else never
        jr.escalate_u = uniform_sampler(st(names.escalate(ch.name)))
        jr.hop_patience = never if spec.patience == "none" else make_sampler(spec.patience, st(names.later_patience(ch.name)))
        jr.announce = spec.announce
        jr.announce_u = uniform_sampler(st(names.announce(ch.name)))
        jr.backlog = spec.is_backlog
        return jr

    def _predictor_settings(self) -> None:
        """The wait predictor's mean handle time and servers, per channel."""
        s = self.s
        for ch in self.e.channels:
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

    # -- arrival, bot, visits -------------------------------------------------------------
    def admit(self, t: Ticket, now: float) -> None:
        """A new customer contact: draw its journey's plan, then bot or human."""
        cls = t.cls
        jr = cls.channel.jr
        deflect = False
        bot_time = 0.0
        if cls.bot is not None:
            bot_time = jr.bot_time()
            p = cls.deflect + jr.uv if cls.volatile else cls.deflect
            deflect = jr.deflect_u() < p
        steps = draw_steps(cls, jr, self.escalation) if cls.may_step and not deflect else []
        balk_u = jr.announce_u() if jr.announce is not None else 1.0
        self.enter(t, Plan(bot_time, deflect, steps, balk_u), now)

    def readmit(self, old: Any, t: Ticket, now: float) -> None:
        """A retry: the same customer with the same needs, never deflected by the bot again."""
        plan = old.j.plan
        t.work = old.j.work0  # before any handover factor
        if old.cls.channel.retry_keep and t.cls.bot is not None:
            # a kept patience is the one it waited with; the bot's handover factor will apply again
            t.patience /= t.cls.channel.jr.hand_patience
        if t.cls.channel is not old.cls.channel:  # its later visits on the channel it retried on
            stages = t.cls.stages
            steps = [(k, stages.get(sc.tier, sc), d, w, p) for k, sc, d, w, p in plan.steps]
            plan = Plan(plan.bot_time, False, steps, plan.balk_u)
        elif plan.deflect:
            plan = Plan(plan.bot_time, False, plan.steps, plan.balk_u)
        self.enter(t, plan, now)

    def enter(self, jt: Any, plan: Plan, now: float) -> None:
        """A journey starts with its first visit `jt` (made by the engine as a JourneyTicket)."""
        cls = jt.cls
        j = Journey(cls, jt.arrival, plan, jt.counted)
        j.work0 = jt.work
        jt.j = j
        if jt.counted:
            self.counted(cls.channel.index)
            if cls.bot is not None and cls.channel.jr.clock_arrival and not plan.deflect:
                self.e.promise(jt.arrival)  # the visit will carry this arrival time
        if cls.bot is not None:
            j.visit = jt
            j.callbacks = self.bot_cb
            self.e.schedule(j, NORMAL, plan.bot_time)
        else:
            self.visit(jt, now)

    def _bot_done(self, j: Journey) -> None:
        t: JourneyTicket = j.visit
        j.visit = None  # no cycle journey <-> visit left for the garbage collector
        now = self.e.env._now
        cls = t.cls
        jr = cls.channel.jr
        deflected = j.plan.deflect
        if t.counted:
            work = t.work * cls.factor
            self.sink.bot(cls.channel.index, deflected, work, work * jr.hand_work)
        if deflected:
            if self.e.log is not None:
                self.e.log.add(t, "deflected", 0.0, None, 0.0)
            self.end(j, END_DEFLECTED)
            return
        t.patience *= jr.hand_patience
        t.work *= jr.hand_work
        if not jr.clock_arrival:
            t.arrival = now
        self.visit(t, now)

    def visit(self, t: JourneyTicket, now: float) -> None:
        """A ticket wants a human at its class's tier: an idle agent (or one with a free chat
        slot) takes it, or it waits."""
        e = self.e
        cls = t.cls
        ch = cls.channel
        jr = ch.jr
        if t.entry:
            if t.counted:
                e.arrivals_counted += 1
                if not (jr.clock_arrival and cls.bot is not None):  # (else promised on entering)
                    e.promise(t.arrival)
            if ch.lines is not None and ch.waiting + ch.in_service >= ch.lines:
                e.block(t)
                self.end(t.j, END_BLOCKED)
                return
        pools = cls.pools
        agent = e.choose_agent(pools) if pools else None
        if agent is None and jr.slots > 1:
            for ps in pools:
                if ps.open:
                    agent = next(iter(ps.open))
                    break
        if agent is None and t.entry and ch.max_waiting is not None and ch.waiting >= ch.max_waiting:
            e.block(t)  # refused: not a visit to any tier
            self.end(t.j, END_BLOCKED)
            return
        if t.counted:
            self.sink.visit(cls.tier_k)
        if agent is not None:
            self.start(t, agent, now, now - t.arrival)
            return
        if t.entry and jr.announce is not None and self._balks(t, ch, jr, now):
            return
        e.queue(t, cls, ch, now)

    def _balks(self, t: JourneyTicket, ch: Any, jr: JourneyChannel, now: float) -> bool:
        """Announce the predicted wait; a customer told a long one may leave at once."""
        servers = sum(ps.duty for ps in jr.serving) * jr.slots
        pred = predicted_wait(ch.waiting, jr.mean_handle, servers)
        balk = pred > jr.announce.balk_above and t.j.plan.balk_u < jr.announce.balk_prob
        if t.counted:
            self.sink.announced(ch.index, balk)
        if not balk:
            t.predicted = pred
            t.queued = now
            return False
        t.state = ABANDONED
        wait = now - t.arrival
        if t.counted:
            self.e.sink.abandoned(t, wait)
            self.sink.abandoned(t.cls.tier_k, wait, t.arrival)
        if self.e.log is not None:
            self.e.log.add(t, "balked", wait, None, 0.0)
        self.end(t.j, END_ABANDONED)
        return True

    # -- service ----------------------------------------------------------------------------
    def start(self, t: Any, agent: Agent, now: float, wait: float) -> None:
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
                self.e.answered(t, wait, pool.index, NAN)  # the first response
            self.sink.answered(cls.tier_k, pool.index, wait, t.arrival)
            if t.predicted >= 0:
                self.sink.prediction(ch.index, t.predicted, now - t.queued)
        if self.e.log is not None:
            self.e.log.add(t, "answered", wait, pool.name, handle)
        j.visit = t
        j.callbacks = self.done_cb
        self.e.schedule(j, NORMAL, handle)

    def _done(self, j: Journey) -> None:
        """A visit's service ends: the ticket moves on, the agent's slot frees."""
        e = self.e
        t: JourneyTicket = j.visit
        j.visit = None
        now = e.env._now
        agent: Agent = t.agent
        t.agent = None
        t.state = DONE
        cls = t.cls
        jr = cls.channel.jr
        pool = agent.pool
        cls.channel.in_service -= 1
        agent.load -= 1
        self._next_step(t, now)
        if jr.slots == 1 and cls.wrap is not None:  # wrap-up ends in the engine's agent callback
            agent.callbacks = e.free_cb
            e.schedule(agent, NORMAL, cls.wrap())
            return
        w = jr.w
        pool.busy_sum += now * w
        pool.busy -= w
        if agent.load == 0:
            pool.open.pop(agent, None)
            if agent.leaving:
                duty.go_off(e, agent, now)
                return
            groups = pool.groups
        else:
            if agent.leaving:
                return
            groups = pool.cgroups  # holding chats: only more chats
        nxt = next_ticket(groups) if any(groups) else None
        if nxt is not None:
            e.dequeue(nxt, now)
            self.start(nxt, agent, now, now - nxt.arrival)
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
            self.end(j, END_RESOLVED)
            return
        kind, sc, delay, work, patience = steps[j.pos]
        j.pos += 1
        if kind == ESCALATE:
            j.escalations += 1
            if j.counted:
                self.sink.escalated(t.cls.tier_k)
        elif kind == RETURN:
            j.info = True
        elif kind == REOPEN:
            # the journey ends resolved here; the reopen comes back as a visit of its own (counted
            # at its tier), so a reopen days later does not hold the run open
            j.reopened = True
            if j.resolved_at < 0:
                j.resolved_at = now
            self.end(j, END_RESOLVED)
        nt = later_visit(sc, now + delay, work, patience, j, t)
        if delay > 0:
            sc.channel.pending += 1
            j.visit = nt
            j.callbacks = self.back_cb
            self.e.schedule(j, NORMAL, delay)
        else:
            self.visit(nt, now)

    def _back(self, j: Journey) -> None:
        """The customer is back (with the information asked for, or reopening)."""
        t: JourneyTicket = j.visit
        j.visit = None
        t.cls.channel.pending -= 1
        self.visit(t, self.e.env._now)

    def _abandoned(self, t: Any, wait: float) -> None:
        """The engine's abandonment, seen from the journey: its wait counts and it ends."""
        t.j.waited += wait
        if t.counted:
            self.sink.abandoned(t.cls.tier_k, wait, t.arrival)
        self.end(t.j, END_ABANDONED)

    def end(self, j: Journey, outcome: int) -> None:
        if j.ended:
            return
        j.ended = True
        if not j.counted:
            return
        self.open -= 1
        self.channel_open[j.base.channel.index] -= 1
        self.sink.ended(j, outcome, j.resolved_at - j.origin if j.resolved_at >= 0 else NAN)
        e = self.e
        if e.draining and self.open == 0 and not e.stop.triggered:
            e.stop.succeed()

    def counted(self, channel: int) -> None:
        """A counted journey starts (the model's own tallies, apart from the sink)."""
        self.journeys_counted += 1
        self.open += 1
        self.channel_counted[channel] += 1
        self.channel_open[channel] += 1

    def start_state(self) -> None:
        start_state(self.e, self)

    # -- the end --------------------------------------------------------------------------------
    def totals(self) -> Any:
        waiting = [0] * len(self.tiers)
        now = self.e.env.now
        for c in [*self.e.classes, *self.stage_classes]:
            if c.volatile:
                continue  # twins share their class's queue
            for t in c.queue:
                if t.state == WAITING and t.counted:
                    waiting[c.tier_k] += 1
                    self.sink.still_waiting(c.tier_k, t.arrival, now - t.arrival)
        return self.sink.totals(
            tier_waiting_end=np.array(waiting, dtype=float),
            journeys_counted=self.journeys_counted,
            open_at_end=self.open,
            has_bot=[c.jr.bot_time is not never for c in self.e.channels],
            announces=[c.jr.announce is not None for c in self.e.channels],
            backlog=[c.jr.backlog for c in self.e.channels],
            channel_journeys_counted=np.array(self.channel_counted),
            channel_open_at_end=np.array(self.channel_open),
        )
