"""Agents and pools at run time.

A pool is a team of interchangeable agents (same languages, skills, channels). Its agents come
on duty in the blocks of its shift calendar (plan.calendar). When a shift ends an idle agent leaves at once and a busy one
finishes the ticket in hand first. Idle agents wait in a FIFO, so its head is the agent idle
longest.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..config.schema import Pool


class Agent:
    """An agent; also the SimPy event of its own next moment (service end, wrap-up end, or the
    instant it looks for work), of which it has at most one pending."""

    __slots__ = ("back_after", "callbacks", "cap", "id", "idle_since", "leaving", "load", "on_duty", "pool",
                 "shift_over", "ticket")  # fmt: skip
    _ok = True

    def __init__(self, pool: PoolState, id: int) -> None:
        self.pool = pool
        self.idle_since = 0.0
        self.leaving = False  # finishes the ticket in hand, then goes off (shift end or break)
        self.back_after = 0.0  # going off for a break of this length (0: for good)
        self.shift_over = False  # its shift has ended (a break it is on does not bring it back)
        self.on_duty = False
        self.id = id
        self.ticket: Any = None  # the ticket in service, until its service ends
        self.load = 0  # journey: tickets held (chats held at once)
        self.cap = 1  # journey: tickets it may hold, set by the first one it takes


class PoolState:
    """A pool at run time: who is idle, how many are busy and on duty, and their time integrals."""

    __slots__ = (
        "busy",
        "busy_sum",
        "cgroups",
        "duty",
        "duty_sum",
        "groups",
        "idle",
        "index",
        "name",
        "open",
        "tier",
    )

    def __init__(self, index: int, spec: Pool) -> None:
        self.index = index
        self.name = spec.name
        self.tier = spec.tier
        self.idle: deque[Agent] = deque()
        self.groups: list[dict[int, deque[Any]]] = []  # non-empty queues it serves, by routing rank
        self.busy: float = 0  # agents busy (with chat concurrency: slots held / slots per agent)
        self.duty = 0
        self.open: dict[Agent, None] = {}  # agents holding chats with room for more (journey)
        self.cgroups: list[dict[int, deque[Any]]] = []  # like groups, for queues of concurrent chats
        # Time integrals kept as (sum of leave times - sum of join times): one addition per
        # change on the hot path; the integral up to `now` is that sum + level * now.
        self.busy_sum = 0.0
        self.duty_sum = 0.0

    def busy_area(self, now: float) -> float:
        """Busy agent-seconds over [0, now]."""
        return self.busy_sum + self.busy * now

    def duty_area(self, now: float) -> float:
        """On-duty agent-seconds over [0, now]."""
        return self.duty_sum + self.duty * now
