"""Schema of the service journey: what happens to a ticket between arrival and resolution.

- `chatbot:` a first line on some channels that deflects part of the traffic and hands the rest
  over to humans, less patient and with harder problems;
- `escalation:` after service at a tier a ticket goes up (to the next tier or to a specialist
  team) with a category-dependent probability, and waits and is served again;
- channel settings for chat concurrency, backlog follow-ups (needs more information, reopens)
  and expected-wait announcements;
- `initial:` the desk as it is now (tickets waiting with their ages, agents busy);
- `experience:` the satisfaction proxy (CSAT).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..units import Duration, PositiveDuration, Probability
from .base import Frozen, Name
from .distributions import Deterministic, Distribution, Exponential


def _fixed(v: Distribution | float) -> Distribution:
    """A plain duration is a fixed time (already validated)."""
    return Deterministic.model_construct(dist="deterministic", value=v) if isinstance(v, float) else v


def _exponential(v: Distribution | float) -> Distribution:
    """A plain duration is the mean of an exponential time (already validated)."""
    return Exponential.model_construct(dist="exponential", mean=v) if isinstance(v, float) else v


class Deflection(Frozen):
    """Probability that the bot resolves a ticket: `default`, or by category."""

    default: Probability = 0.0
    by_category: dict[Name, Probability] = {}

    def p(self, category: str) -> float:
        return self.by_category.get(category, self.default)


class ChatbotDeflection(Deflection):
    """Deflection with per-channel overrides (`by_channel: {social: {default: 0.2}}`)."""

    by_channel: dict[Name, Deflection] = {}

    def p_on(self, channel: str, category: str) -> float:
        ch = self.by_channel.get(channel)
        if ch is not None:
            return ch.by_category.get(category, ch.default if "default" in ch.model_fields_set else self.p(category))
        return self.p(category)


class Handover(Frozen):
    """What reaches a human after a failed bot conversation: patience and handle time are
    multiplied by these factors (customers arrive annoyed, with the harder problems)."""

    patience: Annotated[float, Field(gt=0, le=10)] = 1.0
    handle_time: Annotated[float, Field(gt=0, le=10)] = 1.0


class Chatbot(Frozen):
    """An AI first line on `channels`.

    Every ticket on these channels talks to the bot for `handle_time` (a plain duration is a
    fixed time). With the deflection probability of its category and channel the bot resolves
    it (outcome `deflected`); otherwise it is handed over to a human. `under_volatility` is
    added to every deflection probability while the market is volatile (negative: anxious
    customers insist on a human). `sla_clock` says whether waiting (ASA, service level) is
    measured from the customer's first contact (`arrival`, bot time included) or from the
    `handover`.
    """

    channels: Annotated[list[Name], Field(min_length=1)]
    handle_time: Distribution | Duration = Field(default=0.0, validate_default=True)
    deflection: ChatbotDeflection = ChatbotDeflection()
    under_volatility: Annotated[float, Field(ge=-1, le=1)] = 0.0
    sla_clock: Literal["arrival", "handover"] = "handover"
    handover: Handover = Handover()

    @field_validator("handle_time")
    @classmethod
    def _bot_time(cls, v: Distribution | float) -> Distribution:
        return _fixed(v)


class EscalationRule(Frozen):
    """Where a tier sends tickets it cannot resolve, and how often.

    `prob`: one probability, or by category with an optional `default` (else 0).
    `to`: a tier, or by category with an optional `default` (a category that goes to a
    specialist team, e.g. {default: L2, account_security: security}).
    """

    to: Name | dict[Name, Name]
    prob: Probability | dict[Name, Probability]

    def p(self, category: str) -> float:
        if isinstance(self.prob, dict):
            return self.prob.get(category, self.prob.get("default", 0.0))
        return self.prob

    def target(self, category: str) -> str | None:
        if isinstance(self.to, dict):
            return self.to.get(category, self.to.get("default"))
        return self.to

    @model_validator(mode="after")
    def _default_target(self) -> EscalationRule:
        if isinstance(self.to, dict) and "default" not in self.to and isinstance(self.prob, float) and self.prob > 0:
            raise ValueError("`to` by category needs a `default` tier when `prob` applies to every category")
        return self


class Concurrency(Frozen):
    """Chats an agent holds at once, and how handle times stretch with the number held:
    `stretch[m-1]` multiplies the handle time of a chat started while holding m chats (itself
    included). No stretch by default."""

    max: Annotated[int, Field(ge=1, le=20)]
    stretch: list[Annotated[float, Field(gt=0, le=10)]] | None = None

    @model_validator(mode="after")
    def _length(self) -> Concurrency:
        if self.stretch is not None and self.max == 1:
            raise ValueError("a stretch needs max of 2 or more (one chat at a time: change handle_time instead)")
        if self.stretch is not None and len(self.stretch) != self.max:
            raise ValueError(
                f"stretch has one factor per number of chats held (1 to {self.max}), "
                f"so {self.max} factors, not {len(self.stretch)}"
            )
        return self

    def factor(self, held: int) -> float:
        return self.stretch[held - 1] if self.stretch is not None else 1.0


class FollowUp(Frozen):
    """A share `prob` of tickets comes back after a delay (`after`: a plain duration is the
    mean of an exponential delay)."""

    prob: Probability
    after: Distribution | PositiveDuration

    @field_validator("after")
    @classmethod
    def _delay(cls, v: Distribution | float) -> Distribution:
        return _exponential(v)


class Announce(Frozen):
    """Expected-wait announcement: on arrival the desk predicts the wait from the queue ahead
    (tickets ahead + 1, times the mean handle time, over the agents serving the channel);
    customers told more than `balk_above` leave at once with probability `balk_prob`."""

    balk_above: PositiveDuration
    balk_prob: Probability = 0.0


class InitialWaiting(Frozen):
    """Tickets already waiting when the run starts: `count` of them on `channel`; category,
    language and VIP flag drawn from the mixes unless given; `age` is how long each has
    waited (a plain duration: all the same age)."""

    channel: Name
    count: Annotated[int, Field(ge=0, le=10_000_000)]
    category: Name | None = None
    language: Name | None = None
    vip: bool | None = None
    age: Distribution | Duration = Field(default=0.0, validate_default=True)

    @field_validator("age")
    @classmethod
    def _age(cls, v: Distribution | float) -> Distribution:
        return _fixed(v)


class InitialBusy(Frozen):
    """Agents of `pool` busy when the run starts, for a `remaining` time each (default:
    exponential with the mean handle time of the tickets the pool serves)."""

    pool: Name
    agents: Annotated[int, Field(ge=0, le=100_000)]
    remaining: Distribution | PositiveDuration | None = None

    @field_validator("remaining")
    @classmethod
    def _remaining(cls, v: Distribution | float | None) -> Distribution | None:
        return None if v is None else _exponential(v)


class Initial(Frozen):
    """The desk as it is now: the run starts from this state instead of an empty desk."""

    waiting: list[InitialWaiting] = []
    busy: list[InitialBusy] = []


class CSAT(Frozen):
    """A satisfaction proxy on a 1-5 scale, per customer journey.

    score = base - wait_penalty * (total wait / wait_unit)
                 - resolution_penalty * (resolution time / resolution_unit)
                 - escalation_penalty * escalations,
    clipped to [floor, base]. Total wait adds up every queue the ticket waited in. Journeys
    that end otherwise score `deflected`, `abandoned` or `blocked`. A customer with a score of
    `satisfied_at` or more counts as satisfied (the usual "CSAT %": share of 4s and 5s).
    """

    base: Annotated[float, Field(ge=1, le=5)] = 5.0
    floor: Annotated[float, Field(ge=1, le=5)] = 1.0
    wait_penalty: Annotated[float, Field(ge=0)] = 1.0
    wait_unit: PositiveDuration = 600.0
    resolution_penalty: Annotated[float, Field(ge=0)] = 0.5
    resolution_unit: PositiveDuration = 86400.0
    escalation_penalty: Annotated[float, Field(ge=0)] = 0.3
    deflected: Annotated[float, Field(ge=1, le=5)] = 4.0
    abandoned: Annotated[float, Field(ge=1, le=5)] = 1.0
    blocked: Annotated[float, Field(ge=1, le=5)] = 1.0
    satisfied_at: Annotated[float, Field(ge=1, le=5)] = 4.0

    @model_validator(mode="after")
    def _range(self) -> CSAT:
        if self.floor > self.base:
            raise ValueError(f"floor ({self.floor:g}) must not be above base ({self.base:g})")
        return self


class Experience(Frozen):
    """Customer-experience measures (turns on the journey model for any desk)."""

    csat: CSAT = CSAT()


class TierOverflow(Frozen):
    """Tickets waiting at tier `from` longer than `after` may also be taken by tier `to`."""

    from_: Name = Field(alias="from")
    to: Name
    after: Duration = 0.0


__all__ = [
    "CSAT",
    "Announce",
    "Chatbot",
    "ChatbotDeflection",
    "Concurrency",
    "Deflection",
    "EscalationRule",
    "Experience",
    "FollowUp",
    "Handover",
    "Initial",
    "InitialBusy",
    "InitialWaiting",
    "TierOverflow",
]
