"""What a channel promises and what its customers do when they give up: the SLA and the retry."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..units import Duration, PositiveDuration, Probability
from .base import Frozen, Name
from .distributions import Distribution, Exponential

SLAFormula = Literal["answered_and_abandoned", "answered", "offered"]


class SLA(Frozen):
    """A channel's service-level agreement.

    `formula` picks one of the definitions planners use (see README, "Metrics"):
    answered_and_abandoned: answered within T / (answered + abandoned)  (default)
    answered:               answered within T / answered
    offered:                (answered within T + abandoned within T) / admitted
    Abandons shorter than `short_abandon` are left out of every count.
    """

    answer_within: PositiveDuration | None = None
    first_response_within: PositiveDuration | None = None
    target: Probability = 0.8
    formula: SLAFormula = "answered_and_abandoned"
    short_abandon: Duration = 0.0

    @model_validator(mode="after")
    def _one_threshold(self) -> SLA:
        if (self.answer_within is None) == (self.first_response_within is None):
            raise ValueError(
                "give exactly one of answer_within (live channels) or first_response_within "
                "(backlog channels), e.g. {answer_within: 20s, target: 0.8}"
            )
        return self

    @property
    def threshold(self) -> float:
        return self.answer_within if self.answer_within is not None else self.first_response_within  # type: ignore[return-value]


class Retry(Frozen):
    """Customers who abandon come back with probability `prob` after a delay.

    `after` as a duration is the mean of an exponential delay (the usual retrial model);
    give a distribution for any other shape. `channel` sends the retry elsewhere.
    """

    prob: Probability
    after: Distribution | PositiveDuration
    channel: Name | None = None
    max_retries: Annotated[int, Field(ge=1)] | None = None
    keep_patience: bool = Field(
        default=False,
        description="true: a customer who comes back waits exactly as long as on the attempt they gave up "
        "on (who gave up quickly stays impatient); false (default): each retry draws a new patience from "
        "the patience of the channel it arrives on",
    )

    @field_validator("after")
    @classmethod
    def _as_distribution(cls, v: Distribution | float) -> Distribution:
        # a plain duration is the mean of an exponential delay (validated already)
        return Exponential.model_construct(dist="exponential", mean=v) if isinstance(v, float) else v

    @field_validator("prob")
    @classmethod
    def _below_one(cls, v: float) -> float:
        if v >= 1.0:
            raise ValueError("prob must be below 1, or customers would retry forever")
        return v
