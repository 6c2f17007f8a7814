"""Cross-field checks of staffing targets (names that must exist, scopes that need a market).

A pool's schedule and a shift's breaks are checked by their own models (roster.py); what needs
the rest of the scenario is here. Each problem is the path of the field to blame and one sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .derived import channel_mix
from .journey_checks import tiers_of, unknown
from .schema import Scenario

Problem = tuple[tuple[Any, ...], str]


def roster_problems(s: Scenario) -> Iterator[Problem]:
    goal = s.staffing
    if goal is None or goal.targets is None:
        return
    if "scopes" in goal.model_fields_set:
        yield ("staffing", "scopes"), (
            "scopes apply to every channel's SLA when there are no `targets`; with targets give each target "
            "its own `scope` (overall, worst_hour, volatile, every_hour, every_interval) and drop `scopes`"
        )
    tiers = tiers_of(s)
    for i, t in enumerate(goal.targets):
        path = ("staffing", "targets", i)
        if t.channel is not None and t.channel not in s.channels:
            yield (*path, "channel"), unknown("channel", t.channel, s.channels)
            continue
        if t.category is not None and t.category not in s.categories:
            yield (*path, "category"), unknown("category", t.category, s.categories)
            continue
        if t.tier is not None and t.tier not in tiers:
            yield (*path, "tier"), unknown("tier", t.tier, tiers) + " (the tiers of the pools)"
            continue
        if t.channel is not None and t.category is not None:
            ch = s.channels[t.channel]
            if channel_mix(s, ch).get(t.category, 0.0) <= 0:
                yield (*path, "category"), (
                    f"category {t.category!r} never arrives on channel {t.channel!r} (its category mix gives it "
                    "no share); aim at the category alone or at another channel"
                )
        if t.own_sla and t.channel is not None and s.channels[t.channel].sla is None:
            yield (*path, "channel"), (
                f"channel {t.channel!r} has no SLA to aim at; give the target answer_within and target (e.g. "
                "answer_within: 1min, target: 0.8), max_abandon_rate or max_asa, or give the channel an `sla`"
            )
        if t.scope == "volatile" and s.market is None:
            yield (*path, "scope"), (
                "the volatile scope needs a market: add a `market:` section or choose another scope "
                "(overall, worst_hour, every_hour, every_interval)"
            )


__all__ = ["roster_problems"]
