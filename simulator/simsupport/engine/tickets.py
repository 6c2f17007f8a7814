"""Tickets and ticket classes.

A ticket is one attempt by a customer to get help on one channel: a plain record that event
callbacks move along (waiting -> in service -> done, or abandoned/blocked). It is never a SimPy
process: a process per customer costs 4x in throughput (see ARCHITECTURE.md, "The hot path").

A ticket class is everything routing needs to know about a ticket and that is the same for
many tickets: channel, category, language, VIP flag. Classes own the waiting queues, so a free
agent looks only at the heads of the queues it may serve, never at every waiting ticket.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agents import PoolState

# Ticket states (ints compare fastest on the hot path).
WAITING = 0
SERVING = 1
DONE = 2
ABANDONED = 3
BLOCKED = 4



class Ticket:
    """One attempt: who, what, when, and how much work it is."""

    __slots__ = ("cls", "arrival", "work", "patience", "state", "counted", "attempt", "id", "callbacks")  # noqa: RUF023
    _ok = True  # the ticket is the SimPy event of its own patience running out
    entry = True  # a first visit (journey visits after the first set their own)

    def __init__(
        self, cls: TicketClass, arrival: float, work: float, patience: float, counted: bool, attempt: int, id: int
    ) -> None:
        self.cls = cls
        self.arrival = arrival
        self.work = work  # handle time at proficiency 1.0, seconds
        self.patience = patience  # seconds the customer will wait (inf: never gives up)
        self.state = WAITING
        self.counted = counted  # arrived inside the statistics window
        self.attempt = attempt  # 0 for a first contact, k for the k-th retry
        self.id = id
        # no `callbacks` here: set only when the ticket queues with a finite patience


class Route:
    """A second way into service for a waiting ticket, opened once it has waited `after`:
    its own queue (`qid` in the routing index), seen by `pools` at routing rank `key`."""

    __slots__ = ("after", "callback", "key", "pools", "qid", "queue")

    def __init__(self, after: float, qid: int, pools: list[PoolState], key: tuple[int, ...]) -> None:
        self.after = after
        self.queue: deque[Ticket] = deque()
        self.qid = qid
        self.pools = pools
        self.key = key
        self.callback: Any = None


class TicketClass:
    """Tickets that routing cannot tell apart, and the queue they wait in.

    `pools` are the pools that may answer them, in the order agent choice tries them;
    `scale[pool.index]` turns a ticket's work into that pool's handle time (channel and
    language factors divided by the pool's proficiency). `routes` open more queues to a
    ticket once it has waited long enough (the fallback language, tier overflow).
    """

    __slots__ = (
        "bot",
        "category",
        "channel",
        "deflect",
        "factor",
        "index",
        "key",
        "language",
        "may_step",
        "pools",
        "priority",
        "qid",
        "queue",
        "routes",
        "scale",
        "sla_threshold",
        "stages",
        "tier",
        "tier_k",
        "vip",
        "volatile",
        "work",
        "wrap",
    )

    def __init__(
        self,
        index: int,
        channel: Any,
        category: str,
        language: str,
        vip: bool,
        priority: int,
        key: tuple[int, ...],
    ) -> None:
        self.index = index
        self.channel = channel  # the ChannelState
        self.category = category
        self.language = language
        self.vip = vip
        self.priority = priority
        self.key = key  # static routing key: smaller is served first
        self.queue: deque[Ticket] = deque()
        self.qid = -1  # id of `queue` in the desk's routing index
        self.pools: list[PoolState] = []
        self.scale: list[float] = []
        self.work: Any = None  # sampler of work content
        self.wrap: Any = None  # sampler of wrap-up time, or None
        self.routes: list[Route] = []  # second ways into service, opened after a wait
        self.sla_threshold = float("inf")
        self.volatile = False  # a twin that counts tickets arriving in volatile intervals
        self.factor = 1.0  # channel and language factor of the handle time
        self.tier = ""  # the tier it queues for (journey)
        self.tier_k = 0  # index of that tier (journey)
        self.stages: Any = None  # journey: the classes of its later visits, by tier
        self.bot: Any = None  # journey: the channel's chatbot, if any
        self.deflect = 0.0  # journey: probability that the bot resolves such a ticket
        self.may_step = True  # journey: may its plan hold later steps (else no draws are needed)

    def twin(self, index: int) -> TicketClass:
        """The same class for tickets that arrive while the market is volatile.

        It shares the queue, pools and samplers, so routing cannot tell the two apart; only
        its statistics index differs, which gives the `volatile` scope at no cost per ticket.
        """
        t = TicketClass.__new__(TicketClass)
        for name in TicketClass.__slots__:
            setattr(t, name, getattr(self, name))
        t.index = index
        t.volatile = True
        return t
