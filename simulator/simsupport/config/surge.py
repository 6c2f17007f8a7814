"""The `surge:` section: how operators respond to a burst.

- on_call: reserve agents (copies of a pool's languages, skills and channels) called in when a
  trigger fires, on duty after an activation delay, sent home when the release condition has
  held (hysteresis: release thresholds below activation thresholds) and `min_active` has passed;
- extend_shifts: while a trigger holds, agents of the listed pools stay `by` longer when their
  shift ends;
- overflow: while a trigger holds, a pool also serves more channels (e.g. L2 takes L1 chat).
Triggers are checked every `check_every` (a controller, not the hot path).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ..units import PositiveDuration
from .base import Frozen, Name


class Trigger(Frozen):
    """Fires when volatility is over a level, or when tickets waiting (on `channel`, or on
    all channels) are over a count."""

    volatility_over: Annotated[float, Field(gt=0)] | None = None
    queue_over: Annotated[int, Field(ge=0)] | None = None
    channel: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        if (self.volatility_over is None) == (self.queue_over is None):
            raise ValueError("give exactly one of volatility_over or queue_over (with an optional channel)")
        return self


class Release(Frozen):
    """Holds when volatility is below a level, or tickets waiting are below a count."""

    volatility_below: Annotated[float, Field(gt=0)] | None = None
    queue_below: Annotated[int, Field(ge=0)] | None = None
    channel: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> Release:
        if (self.volatility_below is None) == (self.queue_below is None):
            raise ValueError("give exactly one of volatility_below or queue_below (with an optional channel)")
        return self


def default_release(when: Trigger) -> Release:
    """Hysteresis by default: release at 3/4 of the volatility level, or 1/4 of the queue."""
    if when.volatility_over is not None:
        return Release.model_construct(volatility_below=0.75 * when.volatility_over, queue_below=None, channel=None)
    return Release.model_construct(
        volatility_below=None, queue_below=int((when.queue_over or 0) // 4), channel=when.channel
    )


class OnCall(Frozen):
    name: Name
    like: Name
    agents: Annotated[int, Field(ge=1, le=100_000)]
    delay: PositiveDuration = 1800.0
    when: Trigger
    until: Release | None = None
    min_active: PositiveDuration = 3600.0


class ExtendShifts(Frozen):
    name: Name | None = None
    pools: list[Name]
    by: PositiveDuration
    when: Trigger


class Overflow(Frozen):
    name: Name | None = None
    pool: Name
    channels: list[Name]
    when: Trigger
    until: Release | None = None


class Surge(Frozen):
    check_every: PositiveDuration = 60.0
    on_call: list[OnCall] = []
    extend_shifts: list[ExtendShifts] = []
    overflow: list[Overflow] = []
