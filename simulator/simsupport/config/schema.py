"""The scenario as frozen, validated data.

A scenario describes a support desk: who writes to it (customers, categories, channels), who
answers (pools of agents on shifts), and how tickets meet agents (routing). Everything here is
checked once, at the edge; the model downstream trusts it and reads no defaults of its own.
Times are float seconds and rates are per second (see `units`).

Cross-field rules (shares summing to 1, names that must exist, loads that cannot be served)
live in `checks.py`, so that each error can name the exact field and line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..units import Duration, PositiveDuration, Probability, Rate, Share
from .base import Frozen, Headcount, Name, Report, check_timezone
from .contact import SLA, Retry
from .distributions import Deterministic, Distribution
from .journey import (
    Announce,
    Chatbot,
    Concurrency,
    EscalationRule,
    Experience,
    FollowUp,
    Initial,
    TierOverflow,
)
from .market import Market
from .roster import Schedule, ShiftBreak, check_shift_breaks
from .surge import Surge
from .targets import Target

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _one_of_words(words: tuple[str, ...], what: str, otherwise: str) -> Any:
    """A before-validator for `word | structure` unions: a string must be one of `words`.

    Without it pydantic reports one error per union branch ("should be a valid list",
    "should be 'none'", ...) and none of them says what is allowed.
    """

    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in words:
            allowed = ", ".join(words)
            raise ValueError(f"{value!r} is not {what}; write {allowed}, or {otherwise}")
        return value

    return BeforeValidator(check)


def _profile(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ValueError(
            f"{value!r} is not a profile; write a name (flat, business_hours, retail, asia_peak; "
            "weekly: flat, weekdays, weekend_heavy) or a list of weights: numbers of 0 or more"
        )
    return value


Profile = Annotated[str | list[float], BeforeValidator(_profile)]

TimeZone = Annotated[
    str, AfterValidator(check_timezone), Field(description="IANA time zone name, e.g. Asia/Singapore")
]


class Channel(Frozen):
    """A way customers reach the desk, with its own arrival rate, patience and SLA.

    `rate` is the average over the day and the week; the profiles shape it around that
    average in the channel's time zone.
    """

    rate: Rate
    daily_profile: Profile = "flat"
    weekly_profile: Profile = "flat"
    timezone: TimeZone = "UTC"
    patience: Annotated[
        Distribution | Literal["none"],
        _one_of_words(("none",), "a patience", "a distribution such as {dist: exponential, mean: 3min}"),
    ] = "none"
    max_waiting: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    lines: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    sla: SLA | None = None
    retry: Retry | None = None
    categories: dict[Name, Share] | None = Field(
        default=None, description="category mix of this channel; default: the categories' shares"
    )
    languages: dict[Name, Share] | None = Field(
        default=None, description="language mix of this channel; default: customers.languages"
    )
    kind: Literal["live", "backlog"] | None = Field(
        default=None,
        description="live (chat, phone: answered while the customer waits) or backlog (email, "
        "web tickets: a first response within hours); default: backlog when customers never give "
        "up and the SLA is a first response, else live",
    )
    concurrency: Annotated[int, Field(ge=1, le=20)] | Concurrency = 1
    needs_info: FollowUp | None = Field(
        default=None, description="share of tickets that need more information from the customer after the first response"
    )
    reopen: FollowUp | None = Field(default=None, description="share of resolved tickets that reopen after a delay")
    announce: Announce | None = None

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, v: int | Concurrency) -> Concurrency:
        return Concurrency.model_construct(max=v, stretch=None) if isinstance(v, int) else v

    @property
    def is_backlog(self) -> bool:
        if self.kind is not None:
            return self.kind == "backlog"
        return self.patience == "none" and self.sla is not None and self.sla.first_response_within is not None

    @property
    def chats(self) -> Concurrency:
        """The concurrency as a spec (a plain number, the default 1 included, means no stretch)."""
        c = self.concurrency
        return c if isinstance(c, Concurrency) else Concurrency.model_construct(max=c, stretch=None)

    @property
    def slots(self) -> int:
        """Tickets of this channel an agent may hold at once."""
        return self.chats.max



class Category(Frozen):
    """What a ticket is about: its share of contacts, priority, required skill, handle time.

    `by_channel` / `by_language` adjust the handle time: a number multiplies it (a phone call
    in a second language takes longer), a distribution replaces it. A language entry wins over
    a channel entry; factors multiply.
    """

    share: Share
    priority: Annotated[int, Field(ge=0, le=99)] = 0
    skill: Name | None = None
    handle_time: Distribution
    by_channel: dict[Name, Annotated[float, Field(gt=0)] | Distribution] = {}
    by_language: dict[Name, Annotated[float, Field(gt=0)] | Distribution] = {}
    wrap_up: Distribution | Duration | None = None
    volatility_weight: Annotated[float, Field(gt=0, le=100)] = Field(
        default=1.0, description="each doubling of volatility multiplies this category's odds by it"
    )

    @field_validator("wrap_up")
    @classmethod
    def _wrap_distribution(cls, v: Distribution | float | None) -> Distribution | None:
        # a plain duration is a fixed wrap-up time
        if isinstance(v, float):
            return Deterministic.model_construct(dist="deterministic", value=v) if v > 0 else None
        return v


class Customers(Frozen):
    """Who writes in. Omitted languages mean one language that every agent speaks."""

    languages: dict[Name, Share] = {"default": 1.0}
    vip_share: Probability = 0.0


class Shift(Frozen):
    """A block of agents on duty from `start` to `end` (clock times; end <= start crosses midnight)."""

    start: Duration
    end: Duration
    agents: Headcount
    days: list[Weekday] | Literal["all"] = "all"
    timezone: TimeZone | None = None
    name: str | None = None
    breaks: list[ShiftBreak] = Field(
        default=[],
        description="breaks every agent of the shift takes, at clock times inside the shift, e.g. "
        "[{at: '12:00', length: 30min}]; they must not overlap",
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_text(cls, v: object) -> object:
        if isinstance(v, str) and v.strip().lower().endswith(("am", "pm")):
            raise ValueError(f"{v!r}: write clock times as HH:MM on the 24-hour clock, e.g. 08:00 or 20:30")
        return v

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: float) -> float:
        if v > 24 * 3600:
            raise ValueError("a shift boundary is a clock time between 00:00 and 24:00, e.g. 08:00")
        return v


    @field_validator("breaks")
    @classmethod
    def _inside(cls, v: list[ShiftBreak], info: ValidationInfo) -> list[ShiftBreak]:
        start, end = info.data.get("start"), info.data.get("end")
        if v and start is not None and end is not None:  # (a wrong boundary was reported already)
            check_shift_breaks(v, start, end)
        return v


class StaffBounds(Frozen):
    """Smallest and largest headcount `simsupport staff` may recommend."""

    min: Headcount = 0
    max: Headcount | None = None

    @model_validator(mode="after")
    def _order(self) -> StaffBounds:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class StaffingGoal(Frozen):
    """What `simsupport staff` must meet: every channel's SLA target with 95% confidence in
    each listed scope (`worst_hour`: the desk's worst clock hour; `volatile`: tickets that arrive
    while the market is volatile), estimated with `replications` (default: the scenario's)."""

    scopes: Annotated[list[Literal["overall", "worst_hour", "volatile"]], Field(min_length=1)] = Field(
        default=["overall"],
        description="where every channel's SLA must hold when there are no `targets`: overall, worst_hour, volatile",
    )
    replications: Annotated[int, Field(ge=2, le=1000)] | None = None
    targets: Annotated[list[Target], Field(min_length=1)] | None = Field(
        default=None,
        description="what to meet, one target a line (instead of every channel's SLA in `scopes`), e.g. "
        "{channel: chat}, {channel: phone, scope: every_hour}, {category: account_security, answer_within: 2min, "
        "target: 0.95}, {channel: email, max_asa: 4h}",
    )


class Pool(Frozen):
    """A team of interchangeable agents.

    An agent serves a ticket only if the ticket's channel, language and skill are all among
    the pool's (omitted lists mean all). `skills` maps a category or skill name to a
    proficiency: handle time is divided by it (1.2 works 20% faster).
    """

    name: Name
    tier: Name = "L1"
    agents: Headcount | None = None
    languages: list[Name] | None = None
    skills: dict[Name, Annotated[float, Field(gt=0)]] | list[Name] | None = None
    channels: list[Name] | None = None
    serves: Literal["all", "vip", "non_vip"] = "all"
    shifts: Annotated[
        list[Shift] | Literal["24x7", "follow_the_sun"],
        _one_of_words(("24x7", "follow_the_sun"), "a shift pattern", "a list of shifts {start, end, agents}"),
    ] = "24x7"
    shrinkage: Annotated[float, Field(ge=0, lt=1)] = 0.0
    timezone: TimeZone = "UTC"
    cost: Annotated[float, Field(gt=0)] = Field(default=1.0, description="cost of an agent-hour (for `simsupport staff`)")
    bounds: StaffBounds | None = Field(
        default=None, description="headcount bounds for `simsupport staff` (the pool's, or each shift's)"
    )
    schedule: Schedule | None = Field(
        default=None,
        description="how the pool may be rostered: shift templates, start times, days off and limits per "
        "template; with it the pool needs neither `agents` nor `shifts` (the roster is to be found)",
    )

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("channels: [] serves nothing; list the pool's channels, or leave channels out to serve every channel")
        return v

    @model_validator(mode="after")
    def _headcount(self) -> Pool:
        if isinstance(self.shifts, str) and self.agents is None and self.schedule is None:
            raise ValueError(
                f"pool {self.name!r} needs `agents` (agents on duty at once), a list of `shifts`, or a "
                "`schedule` to be rostered by"
            )
        if isinstance(self.shifts, list) and self.agents is not None:
            raise ValueError(
                f"pool {self.name!r} gives both `agents` and a list of `shifts`; "
                "put the headcount on each shift"
            )
        return self

    def proficiency(self, category: str, skill: str | None) -> float | None:
        """Speed factor for a category, or None if this pool cannot serve it."""
        if self.skills is None:
            return 1.0
        if isinstance(self.skills, list):
            return 1.0 if (category in self.skills or (skill is not None and skill in self.skills)) else None
        if category in self.skills:
            return self.skills[category]
        if skill is not None and skill in self.skills:
            return self.skills[skill]
        return None

    @property
    def unrostered(self) -> bool:
        """A pool with a schedule but no roster yet (neither `agents` nor a list of `shifts`)."""
        return self.schedule is not None and self.agents is None and isinstance(self.shifts, str)


class LanguageFallback(Frozen):
    """A customer who has waited `after` accepts an agent speaking `to`."""

    to: Name
    after: Duration


class Routing(Frozen):
    """How free agents pick tickets and arriving tickets pick agents.

    order: what a free agent looks at first among waiting tickets; always ends with
    longest_waiting (FIFO within what is left).
    agent_choice: longest_idle (fairest), most_skilled (highest proficiency pool first),
    random, or pool_order (`pool_order`, default the order pools are listed: specialists
    first, generalists as overflow).
    """

    order: list[Literal["live", "priority", "vip", "longest_waiting"]] = [
        "priority",
        "vip",
        "longest_waiting",
    ]
    agent_choice: Literal["longest_idle", "most_skilled", "random", "pool_order"] = "longest_idle"
    pool_order: list[Name] | None = None
    language_fallback: LanguageFallback | None = None
    breach_guard: Duration | None = Field(
        default=None,
        description="a backlog ticket this close to breaching its first-response SLA goes ahead of "
        "live work (blending: put `live` first in `order`)",
    )
    entry_tier: Name | None = Field(
        default=None, description="the tier new tickets enter; default: the tier no escalation rule sends to"
    )
    direct: dict[Name, Name] = Field(
        default={}, description="categories that go straight to a tier (e.g. {account_security: security})"
    )
    tier_overflow: list[TierOverflow] = []

    @field_validator("order")
    @classmethod
    def _order(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("order lists each key once")
        if "longest_waiting" in v and v[-1] != "longest_waiting":
            raise ValueError("longest_waiting decides last; put it at the end of order")
        if "longest_waiting" not in v:
            v = [*v, "longest_waiting"]
        return v


DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC




class Scenario(Frozen):
    """One support desk and how long to simulate it."""

    name: Name
    description: str = ""
    start: datetime = Field(
        default=DEFAULT_START,
        description="the date and time the simulation starts, ISO 8601, e.g. 2026-01-05T09:00:00+08:00 "
        "(UTC if no offset; default Monday 2026-01-05 00:00 UTC)",
    )
    horizon: PositiveDuration
    warmup: Duration = 0.0
    interval: PositiveDuration = 900.0
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    customers: Customers = Customers()
    categories: Annotated[dict[Name, Category], Field(min_length=1)]
    channels: Annotated[dict[Name, Channel], Field(min_length=1)]
    pools: Annotated[list[Pool], Field(min_length=1)]
    routing: Routing = Routing()
    market: Market | None = None
    surge: Surge | None = None
    staffing: StaffingGoal | None = None
    chatbot: Chatbot | None = None
    escalation: dict[Name, EscalationRule] | None = None
    initial: Initial | None = None
    experience: Experience | None = None
    report: Report = Report()

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)

    # Convenience views used by the model; derived, never stored twice.
    @property
    def languages(self) -> dict[str, float]:
        return self.customers.languages

    @property
    def end(self) -> float:
        """End of the counted window in simulation seconds."""
        return self.warmup + self.horizon

    @property
    def has_journey(self) -> bool:
        """Does any ticket take more than the plain path (arrive, wait, one service)?"""
        r = self.routing
        return (
            self.chatbot is not None
            or self.escalation is not None
            or self.initial is not None
            or self.experience is not None
            or r.breach_guard is not None
            or bool(r.direct)
            or bool(r.tier_overflow)
            or any(
                c.slots > 1 or c.needs_info is not None or c.reopen is not None or c.announce is not None
                for c in self.channels.values()
            )
        )

    def pool(self, name: str) -> Pool:
        for p in self.pools:
            if p.name == name:
                return p
        raise KeyError(name)
