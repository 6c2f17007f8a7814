"""The desk's events: one engine for plain and journey desks.

Customers arrive on channels; each arrival is a ticket of some class (channel, category,
language, VIP). A ticket is answered at once by an idle agent who may serve it, or waits in its
class queue until a free agent takes it, its customer gives up (abandonment, perhaps followed by
a retry), or it is refused because the queue or the phone lines are full (blocking).

Everything per ticket happens in event callbacks on plain records, never in a process per
customer. The records are their own events: a channel is the event of its next arrival, an
agent of its next moment (service end, wrap-up end, looking for work), a ticket of its patience
running out. Each is handed to `Environment.schedule` (inlined on the two hottest paths: a
heappush onto its queue, exactly what it does) with one shared callback list, which
saves creating a `Timeout` and a list per event on the hot path; rarer things (routes, retries,
triggered contacts, the journey's visits) use ordinary `Timeout`s and generators drive shifts,
snapshots and the end of the run.

Plug-ins add to the one engine without copying its rules: the market (`engine.market`) replaces
the arrival callback, the journey (`engine.journey`) what happens once a ticket is admitted and
once its service ends, surge rules (`engine.surge`) run as controller processes, and a live
start (`engine.live_start`) fills the desk at time 0. Hooks that a plug-in does not fill do
nothing. The engine reports facts to a sink (`stats.collector.Collector`) and returns a
`ReplicationResult`; it never reads files, prints or plots.
"""

from __future__ import annotations

import gc
import math
import time
from bisect import bisect_right
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, Timeout

from .. import streams as names
from ..config.schema import Scenario
from ..plan.desk import DeskPlan, build_plan
from ..rng import Streams
from ..stats.collector import Collector
from ..stats.histogram import HOUR
from ..stats.result import ReplicationResult
from ..stats.targets import target_rows
from . import duty, report
from .agents import Agent
from .journey import JourneyPlugin
from .market import MarketPlugin
from .routing import agent_chooser, compact, enqueue, next_ticket
from .sampling import uniform_sampler
from .state import DeskState, TicketLog
from .surge import start_surge
from .tickets import ABANDONED, BLOCKED, DONE, SERVING, WAITING, Route, Ticket

INF = math.inf
new_object = object.__new__


class Engine:
    """One replication of a desk plan, ready to run."""

    def __init__(self, plan: DeskPlan | Scenario, replication: int = 0, *, record_tickets: bool = False) -> None:
        if isinstance(plan, Scenario):
            plan = build_plan(plan, replication)
        self.plan = plan
        s = plan.scenario
        self.s = s
        self.replication = plan.replication
        self.env = simpy.Environment()
        self.schedule = self.env.schedule
        # the two hottest schedule calls push onto SimPy's queue directly, exactly as
        # Environment.schedule does (tests/test_structure.py holds SimPy to that): 8% faster
        self.heap = self.env._queue
        self.eid = self.env._eid
        self.streams = Streams(s.seed, plan.replication)
        self.warmup = plan.warmup
        self.end = plan.end
        self.drive = plan.drive
        self.counted_waiting = 0
        self.arrivals_counted = 0  # independent of the sink, for conservation checks
        self.draining = False
        self.stop = self.env.event()
        self.next_id = 0
        self.retries = 0
        self.log = TicketLog() if record_tickets else None
        self.agent_ids = 0
        # shared callback lists of the self-scheduling records (step() never mutates them)
        self.free_cb = [self._free]
        self.abandon_cb = [self._abandon]
        self.on_retry = self._retry
        st = DeskState(plan, self.streams, self._widen)
        self.state = st
        self.pools = st.pools
        self.channels = st.channels
        self.channel_by_name = st.channel_by_name
        self.classes = st.classes
        self.listeners = st.listeners
        self.choose_agent = agent_chooser(s.routing.agent_choice, uniform_sampler(self.streams(names.routing())))
        self.arrive_cb = [self._arrive]
        self.class_by_key = {(c.channel.name, c.category, c.language, c.vip): c for c in self.classes}
        # plug-ins: each replaces a callback or fills a hook; absent, they cost nothing
        self.market: Any = None
        self.journey: Any = None
        self.ticket = Ticket  # the record a new contact is (the journey's visits carry more)
        self.admit = self._admit  # what happens to a new ticket (the journey draws its plan first)
        self.start = self._start  # service start (the journey's knows concurrency and visits)
        self.after_abandon: Any = None  # hook(ticket, wait): the journey ends with the abandonment
        self.busy_at_start: dict[int, list[Any]] = {}  # pool -> remaining-time samplers (live start)
        if plan.drive is not None:
            self.market = MarketPlugin(self)
        self.sink = Collector(self.classes, len(self.pools), self.channels, self.warmup, self.end, s.interval,
                              targets=target_rows(plan, self.classes))  # fmt: skip
        self.answered = self.sink.answered  # bound once: the hot path's one fact per ticket
        self.a_buf, self.a_full = self.sink.a_buf, self.sink.a_full  # what _start does inline
        self.promise = self.sink.hours.p_buf.append  # one fact owed per counted arrival (stats.hours)
        if plan.journey:
            self.journey = JourneyPlugin(self)
        self.snapshots = report.Snapshots(self.sink.n_intervals + 2, len(self.channels), len(self.pools))
        self.surge_logs: list[Any] = []
        self.extend_logs: list[Any] = []
        self.extend: Any = None  # hook(pool, now) -> seconds a shift ending now stays on (surge)

    # -- the hot path ---------------------------------------------------------------------
    def _arrive(self, ch: Any) -> None:
        """A customer contact on a channel the market does not touch: draw who and what,
        admit it, and schedule the next one. The plainest path, since most tickets take it."""
        now = self.env._now
        ch.callbacks = self.arrive_cb
        if ch.const:
            heappush(self.heap, (now + ch.gap(), NORMAL, next(self.eid), ch))  # = env.schedule, inlined
        else:
            nxt = ch.rate.next_arrival(now, ch.gap())
            if nxt < INF:
                self.schedule(ch, NORMAL, nxt - now)
        classes = ch.classes
        cls = classes[bisect_right(ch.cum, ch.pick())] if len(classes) > 1 else classes[0]
        patience = ch.patience() if ch.patience is not None else INF
        self.next_id += 1
        if self.ticket is not Ticket:  # a plug-in's record (the journey's visits)
            self.admit(self.ticket(cls, now, cls.work(), patience, self.warmup <= now < self.end, 0, self.next_id), now)
            return
        # the fields of Ticket.__init__, assigned here: calling a class with an __init__ costs
        # more than the eight assignments (0.13 us a ticket, 4% of a plain run)
        t = new_object(Ticket)
        t.cls = cls
        t.arrival = now
        t.work = cls.work()
        t.patience = patience
        t.state = WAITING
        t.counted = self.warmup <= now < self.end
        t.attempt = 0
        t.id = self.next_id
        self.admit(t, now)

    def _admit(self, t: Ticket, now: float) -> None:
        cls = t.cls
        ch = cls.channel
        if t.counted:
            self.arrivals_counted += 1
            self.promise(t.arrival)
        if ch.lines is not None and ch.waiting + ch.in_service >= ch.lines:
            self.block(t)
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
            self.block(t)
            return
        self.queue(t, cls, ch, now)

    def queue(self, t: Ticket, cls: Any, ch: Any, now: float) -> None:
        """The ticket waits: into its class queue, with its patience and its routes running."""
        enqueue(t, cls.queue, cls.qid, self.listeners)
        ch.q_sum -= now
        ch.waiting += 1
        if t.counted and t.entry:  # first responses still owed
            self.counted_waiting += 1
            ch.counted_waiting += 1
        if t.patience < INF:
            t.callbacks = self.abandon_cb
            self.schedule(t, NORMAL, t.patience)
        if cls.routes:
            for r in cls.routes:
                # a journey's visit may have arrived earlier (its clock runs from the bot's start)
                delay = max(t.arrival + r.after - now, 0.0) if self.journey is not None else r.after
                Timeout(self.env, delay, t).callbacks.append(r.callback)

    def block(self, t: Ticket) -> None:
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
        if t.counted:  # = self.answered(t, wait, pool.index, handle), inlined: one call less a ticket
            buf = self.a_buf
            buf += (cls.index, t.arrival, wait, pool.index, handle)
            if len(buf) >= self.a_full:
                self.sink.flush_answered()
        if self.log is not None:
            self.log.add(t, "answered", wait, pool.name, handle)
        agent.callbacks = self.free_cb
        heappush(self.heap, (now + handle, NORMAL, next(self.eid), agent))  # = env.schedule, inlined

    def _free(self, agent: Agent) -> None:
        """An agent's event: service ends, wrap-up ends, or the agent has just come on duty.

        Service end frees the line and, unless wrap-up follows (which comes back here), the
        agent; a free agent takes the next waiting ticket it may serve or joins the idle FIFO.
        One callback for all three keeps the per-ticket path to one call.
        """
        now = self.env._now
        t = agent.ticket
        if t is not None:  # service ends
            agent.ticket = None
            t.state = DONE
            cls = t.cls
            cls.channel.in_service -= 1
            if cls.wrap is not None:
                agent.callbacks = self.free_cb
                self.schedule(agent, NORMAL, cls.wrap())
                return
        pool = agent.pool
        pool.busy_sum += now
        pool.busy -= 1
        if agent.leaving:
            duty.go_off(self, agent, now)
            return
        # any() over the groups' dicts (in C) skips the scan when nothing waits for this pool
        groups = pool.groups
        nxt = next_ticket(groups) if any(groups) else None
        if nxt is not None:
            self.dequeue(nxt, now)
            self.start(nxt, agent, now, now - nxt.arrival)
        else:
            agent.idle_since = now
            pool.idle.append(agent)

    def make_free(self, agent: Agent, now: float) -> None:
        """Let an agent look for work now (on coming on duty, or when it may serve more):
        counted busy for an instant, then freed by its own zero-delay event. An agent busy with
        work from before a live start is freed when that work ends instead."""
        pool = agent.pool
        pool.busy_sum -= now
        pool.busy += 1
        agent.callbacks = self.free_cb
        remaining = self.busy_at_start.get(pool.index)
        if remaining and now == 0.0:
            self.schedule(agent, NORMAL, remaining.pop()())
        else:
            self.schedule(agent, NORMAL, 0.0)

    def dequeue(self, t: Ticket, now: float) -> None:
        """Bookkeeping when a ticket leaves the queue (answered or abandoned)."""
        ch = t.cls.channel
        ch.q_sum += now
        ch.waiting -= 1
        if t.counted and t.entry:
            self.counted_waiting -= 1
            ch.counted_waiting -= 1
            if self.draining and self.counted_waiting == 0 and self.journey is None:
                self.stop.succeed()

    def _abandon(self, t: Ticket) -> None:
        """Patience ran out. The one abandonment rule: a ticket still waiting leaves the queue,
        a first visit counts as abandoned, and the customer may retry later."""
        if t.state != WAITING:
            return
        now = self.env._now
        t.state = ABANDONED
        self.dequeue(t, now)
        wait = now - t.arrival
        if t.counted and t.entry:
            self.sink.abandoned(t, wait)
        if self.after_abandon is not None:
            self.after_abandon(t, wait)
        if self.log is not None:
            self.log.add(t, "abandoned", wait, None, 0.0)
        ch = t.cls.channel
        if t.entry and ch.retry_prob > 0 and t.attempt < ch.max_retries and ch.retry_u() < ch.retry_prob:
            Timeout(self.env, ch.retry_delay(), t).callbacks.append(self.on_retry)

    def _retry(self, ev: simpy.Event) -> None:
        old: Ticket = ev._value
        now = self.env._now
        src = old.cls
        target = src.channel.retry_to
        cls = self.class_by_key[(target.name, src.category, src.language, src.vip)]
        if self.market is not None and target.volatile and self.market.flags[int(now * self.market.inv_interval)]:
            cls = self.market.twin_of[cls.index]  # a retry is counted by its own arrival time
        retry_patience = src.channel.retry_patience
        if src.channel.retry_keep:  # the same customer, as impatient as before: no new draw
            patience = old.patience
        else:
            patience = retry_patience() if retry_patience is not None else INF
        self.retries += 1  # a retry keeps its customer's id
        t = self.ticket(cls, now, old.work, patience, self.warmup <= now < self.end, old.attempt + 1, old.id)
        if t.counted:
            self.sink.retrial(t)
        if self.journey is not None:
            self.journey.readmit(old, t, now)
        else:
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
            self.dequeue(t, now)
            self.start(t, agent, now, now - t.arrival)
        else:
            enqueue(t, route.queue, route.qid, self.listeners)

    # -- the run --------------------------------------------------------------------------
    def _clock(self) -> Any:
        env = self.env
        step = self.s.interval
        k = int(self.warmup // step) + 1
        yield env.timeout(self.warmup)
        report.snapshot(self, env.now)
        while True:
            t = min(k * step, self.end)
            yield env.timeout(t - env.now)
            report.snapshot(self, env.now)
            if t >= self.end:
                break
            k += 1
        if self.settled():
            self.stop.succeed()
        else:
            self.draining = True
            # an overloaded desk may never empty its queues: stop after max(horizon, a day)
            yield env.timeout(self.plan.drain)
            if not self.stop.triggered:
                self.stop.succeed()

    def _hourly(self) -> Any:
        """On the hour, the queues drop the tickets that left them (routing.compact) and the
        statistics let go of the hours that can no longer change: nothing grows with the horizon
        but the periods reported."""
        env = self.env
        queues = list({id(q): q for c in (*self.classes, *self.state.stage_classes)
                       for q in (c.queue, *(r.queue for r in c.routes))}.values())  # fmt: skip
        sizes = [0] * len(queues)
        while not self.stop.triggered:
            yield env.timeout((math.floor(env.now / HOUR) + 1) * HOUR - env.now)
            compact(queues, sizes)
            self.sink.settle(env.now)

    def settled(self) -> bool:
        """Has every counted ticket (journey) left the system? Then the run may stop at the horizon."""
        return self.journey.open == 0 if self.journey is not None else self.counted_waiting == 0

    def run(self) -> ReplicationResult:
        wall = time.perf_counter()
        env = self.env
        for ch in self.channels:
            first = ch.gap() if ch.const else ch.rate.next_arrival(0.0, ch.gap())
            if first < INF and ch.classes:
                ch.callbacks = self.arrive_cb
                self.schedule(ch, NORMAL, first)
        duty.start_shifts(self)
        env.process(self._clock())
        env.process(self._hourly())
        self.surge_logs = start_surge(self)
        if self.journey is not None:
            self.journey.start_state()
        self._run_until_stopped()
        return report.result(self, time.perf_counter() - wall)

    def _run_until_stopped(self) -> None:
        """`env.run(until=self.stop)` with `Environment.step` inlined: the same events in the
        same order and the same failure rule, without a method call and a try block per event.
        The desk's own records (a channel's next arrival, an agent's next moment: nine events
        in ten) carry the shared one-callback lists and never fail, so they are dispatched at
        once; everything else goes SimPy's way. The objects built so far outlive the run, so
        the cyclic garbage collector's full passes skip them (frozen): 4% of a plain run."""
        env = self.env
        heap = env._queue
        # the shared lists, dispatched at once while they hold one callback (else a fresh list
        # that no event carries stands in, and they go SimPy's way)
        shared = [cb if len(cb) == 1 else [] for cb in (self.arrive_cb, self.free_cb, self.abandon_cb)]
        arrive_cb, free_cb, abandon_cb = shared
        arrive, free, abandon = (cb[0] if cb else None for cb in shared)
        self.stop.callbacks.append(StopSimulation.callback)
        frozen = gc.get_freeze_count() == 0
        if frozen:
            gc.freeze()
        try:
            while heap:
                env._now, _, _, event = heappop(heap)
                callbacks, event.callbacks = event.callbacks, None
                if callbacks is free_cb:
                    free(event)
                elif callbacks is arrive_cb:
                    arrive(event)
                elif callbacks is abandon_cb:
                    abandon(event)
                else:
                    for callback in callbacks:
                        callback(event)
                    if not event._ok and not hasattr(event, "_defused"):
                        exc = type(event._value)(*event._value.args)  # as SimPy raises a failed event
                        exc.__cause__ = event._value
                        raise exc
        except StopSimulation:
            return
        finally:
            if frozen:
                gc.unfreeze()
        raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {self.stop}')


def simulate(scenario: Scenario, replication: int, *, record_tickets: bool = False) -> ReplicationResult:
    """Run one replication of a scenario."""
    return Engine(build_plan(scenario, replication), record_tickets=record_tickets).run()
