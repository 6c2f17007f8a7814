"""Staffing targets: what `staffing.targets` asks a roster to meet.

A target names what it is about (a channel, a category, a tier, or a category on a channel),
where it must hold (`scope`) and what must hold: a service level (`answer_within` + `target`), a
ceiling on abandonment (`max_abandon_rate`) or on the average speed of answer (`max_asa`); a
channel target with none of these aims at the channel's own SLA. Every measure a target gives
must be met. Names are checked against the scenario in roster_checks.py;
`derived.staffing_targets` gives the list downstream code reads (the targets, or the channels'
SLAs in `staffing.scopes` when a scenario has no `targets`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..units import PositiveDuration, Share, format_duration
from .base import Frozen, Name

TargetScope = Literal["overall", "worst_hour", "volatile", "every_hour", "every_interval"]
TARGET_SCOPES: tuple[str, ...] = ("overall", "worst_hour", "volatile", "every_hour", "every_interval")
SCOPE_WORDS = {
    "overall": "overall",
    "worst_hour": "worst hour",
    "volatile": "volatile",
    "every_hour": "every hour",
    "every_interval": "every interval",
}


def _percent(x: float) -> str:
    return f"{round(x * 100, 4):g}%"


class Target(Frozen):
    """One staffing target: what it is about, where it must hold, and what must hold."""

    channel: Name | None = Field(default=None, description="the channel the target is about")
    category: Name | None = Field(
        default=None, description="the category the target is about (with `channel`: that category on that channel)"
    )
    tier: Name | None = Field(default=None, description="the tier the target is about (the pools' `tier` values)")
    scope: TargetScope = Field(
        default="overall",
        description="where it must hold: overall (the whole window), worst_hour (the worst clock hour), volatile "
        "(tickets that arrive while the market is volatile), every_hour (every clock hour with traffic), "
        "every_interval (every reporting interval with traffic)",
    )
    answer_within: PositiveDuration | None = Field(
        default=None, description="service level threshold: a share `target` of tickets answered within this, e.g. 2min"
    )
    target: Share | None = Field(
        default=None, description="share of tickets answered within `answer_within`, e.g. 0.95 (goes with answer_within)"
    )
    max_abandon_rate: Share | None = Field(
        default=None, description="the largest share of tickets that may abandon, e.g. 0.05"
    )
    max_asa: PositiveDuration | None = Field(
        default=None, description="the longest average speed of answer (mean wait of answered tickets), e.g. 4h"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        subject = {k for k in ("channel", "category", "tier") if getattr(self, k) is not None}
        if subject not in ({"channel"}, {"category"}, {"tier"}, {"channel", "category"}):
            given = ", ".join(sorted(subject)) or "none of them"
            raise ValueError(
                f"a target is about exactly one of channel, category or tier (or a category on a channel: "
                f"channel and category), not {given}"
            )
        if (self.answer_within is None) != (self.target is None):
            raise ValueError(
                "answer_within and target go together (a share `target` answered within `answer_within`), "
                "e.g. {answer_within: 2min, target: 0.95}"
            )
        if self.own_sla and self.channel is None:
            what = "category" if self.category is not None else "tier"
            raise ValueError(
                f"a {what} target says what to meet: answer_within and target (e.g. answer_within: 2min, "
                "target: 0.95), max_abandon_rate or max_asa; only a channel target may aim at its channel's SLA"
            )
        return self

    @property
    def own_sla(self) -> bool:
        """Does the target aim at its channel's own SLA (no measure of its own)?"""
        return self.answer_within is None and self.max_abandon_rate is None and self.max_asa is None

    @property
    def subject(self) -> str:
        """'chat', 'category account_security', 'category kyc on chat', 'tier L2'."""
        if self.tier is not None:
            return f"tier {self.tier}"
        if self.category is not None:
            return f"category {self.category}" + (f" on {self.channel}" if self.channel is not None else "")
        return str(self.channel)

    @property
    def measures(self) -> list[str]:
        """What must hold, in words: 'SLA', '95% in 2min', 'abandon <= 5%', 'ASA <= 4h'."""
        if self.own_sla:
            return ["SLA"]
        out = []
        if self.answer_within is not None and self.target is not None:
            out.append(f"{_percent(self.target)} in {format_duration(self.answer_within)}")
        if self.max_abandon_rate is not None:
            out.append(f"abandon <= {_percent(self.max_abandon_rate)}")
        if self.max_asa is not None:
            out.append(f"ASA <= {format_duration(self.max_asa)}")
        return out

    @property
    def label(self) -> str:
        """For tables: 'chat SLA overall', 'category account_security 95% in 2min overall'."""
        return f"{self.subject} {', '.join(self.measures)} {SCOPE_WORDS[self.scope]}"


__all__ = ["TARGET_SCOPES", "Target", "TargetScope"]
