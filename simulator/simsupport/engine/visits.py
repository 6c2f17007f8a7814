"""A customer's journey: what it will need, drawn when it arrives, and where it is now.

Everything random about a journey that does not depend on the desk (whether the bot resolves
it, whether it will need more information, escalate and to where, how much work each later
visit takes, whether it reopens, and after what delays) is drawn at arrival from its own
streams. Staffing then changes only the waits, so comparisons between staffings are paired
customer by customer (common random numbers), and a retry carries its customer's plan over.
"""

from __future__ import annotations

from typing import Any

from .tickets import WAITING, Ticket

# Kinds of later step.
RETURN = 0  # back from the customer with the information asked for
ESCALATE = 1  # to a higher tier or a specialist team
REOPEN = 2  # a resolved ticket comes back

Step = tuple[int, Any, float, float, float]  # kind, class, delay, work, patience


class Plan:
    """What a customer's journey holds in store (shared by the customer's retries)."""

    __slots__ = ("balk_u", "bot_time", "deflect", "steps")

    def __init__(self, bot_time: float, deflect: bool, steps: list[Step], balk_u: float = 1.0) -> None:
        self.bot_time = bot_time
        self.deflect = deflect
        self.steps = steps
        self.balk_u = balk_u  # uniform: balks if told a long wait and balk_u < balk_prob


class Journey:
    """One attempt's way through the desk, across all its visits."""

    __slots__ = (
        "base",
        "callbacks",
        "counted",
        "ended",
        "escalations",
        "handled",
        "info",
        "origin",
        "plan",
        "pos",
        "reopened",
        "resolved_at",
        "visit",
        "waited",
        "work0",
    )  # fmt: skip
    _ok = True  # the journey is the SimPy event of its own next step (bot done, service end, back)

    def __init__(self, base: Any, origin: float, plan: Plan, counted: bool) -> None:
        self.base = base  # the entry class (channel, category, language, VIP)
        self.origin = origin  # first contact: resolution time is measured from here
        self.plan = plan
        self.pos = 0  # next step of plan.steps
        self.escalations = 0
        self.waited = 0.0  # time spent in queues, every visit
        self.resolved_at = -1.0
        self.counted = counted
        self.handled = False  # a human answered it at least once
        self.info = False
        self.reopened = False
        self.ended = False
        self.work0 = 0.0  # first visit's work before any handover factor (retries start from it)
        self.visit: Any = None  # the visit its pending event is about


class JourneyTicket(Ticket):
    """A visit: a ticket that knows its journey (and, with chat concurrency, its agent).

    Made like a plain ticket (the engine's arrivals and retries make these on a journey desk),
    then given its journey; later visits are marked `entry = False`."""

    __slots__ = ("agent", "entry", "j", "predicted", "queued")

    def __init__(
        self, cls: Any, arrival: float, work: float, patience: float, counted: bool, attempt: int, id: int
    ) -> None:
        # the fields of Ticket.__init__, assigned here: one call less per visit
        self.cls = cls
        self.arrival = arrival
        self.work = work
        self.patience = patience
        self.state = WAITING
        self.counted = counted
        self.attempt = attempt
        self.id = id
        self.j: Any = None
        self.agent: Any = None
        self.entry = True  # its first visit: its first answer is the first response
        self.predicted = -1.0  # announced wait, if any
        self.queued = arrival  # when it joined the queue (the announcement predicts the wait from here)


def later_visit(sc: Any, arrival: float, work: float, patience: float, j: Journey, t: Ticket) -> JourneyTicket:
    """The next visit of journey `j` (whose last visit was `t`) at stage class `sc`."""
    nt = JourneyTicket(sc, arrival, work, patience, j.counted, t.attempt, t.id)
    nt.j = j
    nt.entry = False
    return nt


def draw_steps(cls: Any, jr: Any, escalation: dict[str, Any] | None) -> list[Step]:
    """The later visits of a new journey of class `cls` (whose channel settings are `jr`)."""
    steps: list[Step] = []
    stages = cls.stages
    if jr.info is not None and jr.info_u() < jr.info.prob:
        sc = stages[cls.tier]
        steps.append((RETURN, sc, jr.info_delay(), sc.work(), jr.hop_patience()))
    if escalation is not None:
        tier = cls.tier
        category = cls.category
        while True:
            rule = escalation.get(tier)
            if rule is None:
                break
            p = rule.p(category)
            if p <= 0 or jr.escalate_u() >= p:
                break
            tier = rule.target(category)
            sc = stages[tier]
            steps.append((ESCALATE, sc, 0.0, sc.work(), jr.hop_patience()))
    if jr.reopen is not None and jr.reopen_u() < jr.reopen.prob:
        sc = stages[cls.tier]
        steps.append((REOPEN, sc, jr.reopen_delay(), sc.work(), jr.hop_patience()))
    return steps
