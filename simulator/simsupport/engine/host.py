"""What a plug-in (market, journey, surge, duty, live start, report) may use of the engine.

The plug-ins take the engine as a parameter typed by this protocol, so none of them imports
`engine.desk` (which imports them): the dependency runs one way, and this page is the whole
surface a new plug-in (breaks, rosters) can rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import simpy

from ..config.schema import Scenario
from ..plan.desk import DeskPlan
from ..rng import Streams
from ..stats.collector import Collector
from .agents import Agent, PoolState
from .state import ChannelState, DeskState, TicketLog
from .tickets import Ticket, TicketClass


class Host(Protocol):
    # what was built
    plan: DeskPlan
    s: Scenario
    state: DeskState
    streams: Streams
    env: simpy.Environment
    schedule: Callable[..., None]  # env.schedule: (event, priority, delay)
    channels: list[ChannelState]
    channel_by_name: dict[str, ChannelState]
    class_by_key: dict[tuple[str, str, str, bool], TicketClass]
    classes: list[TicketClass]
    pools: list[PoolState]
    drive: Any
    replication: int
    warmup: float
    end: float
    # where facts go
    sink: Collector
    answered: Callable[[Ticket, float, int, float], None]
    promise: Callable[[float], None]  # a counted arrival's time: its fact will come (stats.hours)
    log: TicketLog | None
    snapshots: Any  # engine.report.Snapshots
    # run-time counts
    next_id: int
    retries: int
    agent_ids: int
    arrivals_counted: int
    counted_waiting: int
    draining: bool
    stop: simpy.Event
    # callbacks a plug-in may replace, and hooks it may fill
    arrive_cb: list[Callable[[Any], None]]
    free_cb: list[Callable[[Any], None]]
    ticket: type[Ticket]
    admit: Callable[[Ticket, float], None]
    start: Callable[[Ticket, Agent, float, float], None]
    after_abandon: Callable[[Ticket, float], None] | None
    extend: Callable[[str, float], float] | None
    busy_at_start: dict[int, list[Any]]
    market: Any
    journey: Any
    surge_logs: list[Any]
    extend_logs: list[Any]

    # the shared rules
    def choose_agent(self, pools: Any) -> Agent | None: ...
    def queue(self, t: Ticket, cls: Any, ch: Any, now: float) -> None: ...
    def block(self, t: Ticket) -> None: ...
    def dequeue(self, t: Ticket, now: float) -> None: ...
    def make_free(self, agent: Agent, now: float) -> None: ...
