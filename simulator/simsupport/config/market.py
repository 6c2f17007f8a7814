"""The `market:` section: what drives the load, and how contacts respond to it.

Volatility is a daily standard deviation of log returns (0.025 = 2.5% a day). Arrivals on a
channel are multiplied by (vol / reference_vol) ** elasticity (capped at `max_multiplier`),
times a random busyness factor per day when `overdispersion` is given; `contagion` adds
self-excitation (each contact triggers on average `branching` more, after delays exponential
with mean `decay`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..units import Duration, PositiveDuration
from .base import Frozen, Name, check_timezone
from .prices import read_prices

Vol = Annotated[float, Field(gt=0, le=10, description="daily volatility, e.g. 0.025 for 2.5% a day")]


class Shock(Frozen):
    """A scheduled crash or spike: the log price jumps by `move`, volatility jumps by |move|
    and decays back with time constant `decay`."""

    at: Duration
    move: Annotated[float, Field(gt=-5, lt=5, description="log-price move, -0.18 = an 18% crash")]
    decay: PositiveDuration


class Contagion(Frozen):
    """Hawkes self-excitation: each contact triggers on average `branching` more.

    The channel's `rate` stays its long-run average: contacts arrive on their own at
    rate * (1 - branching) and the rest are triggered, so contagion makes the load burstier
    without changing its mean.
    """

    branching: float
    decay: PositiveDuration
    channels: list[Name] | None = None

    @field_validator("branching")
    @classmethod
    def _subcritical(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError(
                f"branching must be at least 0 and below 1 (got {v:g}): at 1 or more each contact "
                "triggers a contact or more on average and the bursts never die out"
            )
        return v


class Overdispersion(Frozen):
    """A random busyness factor per day (gamma, mean 1) shared by all channels."""

    cv: Annotated[float, Field(ge=0, le=3)]


class Response(Frozen):
    """How contacts react to volatility."""

    elasticity: Annotated[float, Field(ge=0, le=10)] | dict[Name, Annotated[float, Field(ge=0, le=10)]] = 1.0
    reference_vol: Vol | None = Field(
        default=None, description="the calm level; default: the first regime's, garch daily_vol, replay median"
    )
    contagion: Contagion | None = None
    overdispersion: Overdispersion | None = None
    max_multiplier: Annotated[float, Field(gt=0, le=1000)] = 50.0
    volatile_above: Annotated[float, Field(ge=1, le=100)] = Field(
        default=1.25, description="an interval is volatile when its volatility is this many times the calm level"
    )

    def elasticity_for(self, channel: str) -> float:
        if isinstance(self.elasticity, float):
            return self.elasticity
        return self.elasticity.get(channel, self.elasticity.get("default", 1.0))


class _MarketBase(Frozen):
    step: PositiveDuration = 60.0
    start_price: Annotated[float, Field(gt=0)] = 30000.0
    shocks: list[Shock] = []
    response: Response = Response()


class Regime(Frozen):
    daily_vol: Vol
    mean_duration: PositiveDuration
    next: dict[Name, Annotated[float, Field(ge=0)]] | None = Field(
        default=None, description="weights of the regimes that follow; default: the others, equally"
    )


    @field_validator("next")
    @classmethod
    def _some_weight(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and sum(v.values()) <= 0:
            raise ValueError("the weights of the next regimes must not all be 0")
        return v


class RegimeMarket(_MarketBase):
    model: Literal["regime"]
    regimes: Annotated[dict[Name, Regime], Field(min_length=1)]
    initial: Name | None = None

    @model_validator(mode="after")
    def _names(self) -> RegimeMarket:
        names = list(self.regimes)
        if self.initial is not None and self.initial not in names:
            raise ValueError(f"initial regime {self.initial!r} is not one of {', '.join(names)}")
        for name, r in self.regimes.items():
            for other in r.next or {}:
                if other not in names:
                    raise ValueError(f"regime {name!r} names an unknown next regime {other!r}")
        return self


class GarchMarket(_MarketBase):
    model: Literal["garch"]
    daily_vol: Vol
    alpha: Annotated[float, Field(ge=0, lt=1)] = 0.08
    beta: Annotated[float, Field(ge=0, lt=1)] = 0.90

    @model_validator(mode="after")
    def _stationary(self) -> GarchMarket:
        if self.alpha + self.beta >= 1:
            raise ValueError(
                f"alpha + beta must be below 1 for a stationary GARCH (got {self.alpha + self.beta:g})"
            )
        return self


class Bootstrap(Frozen):
    block: PositiveDuration = 86400.0


class ReplayMarket(_MarketBase):
    model: Literal["replay"]
    file: str
    window: PositiveDuration = 3600.0
    timezone: str | None = Field(default=None, description="zone of timestamps written without an offset")
    max_gap: PositiveDuration = 3600.0
    bootstrap: Bootstrap | None = None
    align: Literal["start", "clock"] = Field(
        default="start",
        description="start: the recording's first row plays at the scenario's start; clock: the "
        "recording plays at its own timestamps (the scenario's start must fall inside it), as a "
        "backtest or a fitted scenario needs",
    )
    _times: tuple[float, ...] = PrivateAttr(default=())
    _first: float = PrivateAttr(default=0.0)
    _prices: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> ReplayMarket:
        context: Any = info.context
        base = context.get("base_dir") if isinstance(context, dict) else None
        path = (Path(base) if base is not None else Path.cwd()) / self.file
        if self.timezone is not None:
            check_timezone(self.timezone)  # the same check as every other time zone
        self._times, self._prices, self._first = read_prices(path.resolve(), self.file, self.timezone, self.max_gap)
        if self.align == "clock" and self.bootstrap is not None:
            raise ValueError("align: clock replays the recording as it happened; it cannot be bootstrapped")
        return self

    @property
    def first_epoch(self) -> float:
        """When the recording's first row was taken (epoch seconds, UTC)."""
        return self._first

    @property
    def series(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(seconds since the first row, price)."""
        return self._times, self._prices


class NoMarket(_MarketBase):
    model: Literal["none"]


Market = Annotated[RegimeMarket | GarchMarket | ReplayMarket | NoMarket, Field(discriminator="model")]
