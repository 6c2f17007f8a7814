"""Facts that follow from a scenario, shared by the cross-field checks and the model: who can
serve which tickets, a channel's category mix, a ticket's handle-time distribution, and how
many agents a pool has on duty on average."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import on_duty
from .schema import Category, Channel, Pool, Scenario
from .targets import Target


def single_language(s: Scenario) -> bool:
    return set(s.customers.languages) == {"default"}


def pool_serves(
    s: Scenario, pool: Pool, channel: str, category: str, language: str, vip: bool
) -> float | None:
    """Proficiency of `pool` for such a ticket, or None if it cannot take it."""
    if pool.channels is not None and channel not in pool.channels:
        return None
    if pool.serves == "vip" and not vip:
        return None
    if pool.serves == "non_vip" and vip:
        return None
    if pool.languages is not None and not single_language(s) and language not in pool.languages:
        return None
    return pool.proficiency(category, s.categories[category].skill)


def ticket_kinds(s: Scenario) -> Iterator[tuple[str, str, str, bool]]:
    """Every (channel, category, language, VIP) that arrives with a positive share."""
    share = s.customers.vip_share
    vips = [False, True] if 0 < share < 1 else [share >= 1]
    for cname, ch in s.channels.items():
        if ch.rate == 0:
            continue
        for cat, cshare in channel_mix(s, ch).items():
            if cshare == 0:
                continue
            for lang, lshare in channel_languages(s, ch).items():
                if lshare > 0:
                    for vip in vips:
                        yield cname, cat, lang, vip


def who(s: Scenario, category: str, language: str, vip: bool) -> str:
    """'VIP kyc tickets in zh', for messages."""
    text = f"{'VIP ' if vip else ''}{category} tickets"
    return text if single_language(s) else text + f" in {language}"


def served(s: Scenario, pools: list[Pool], channel: str, category: str, language: str, vip: bool) -> bool:
    """Can any of `pools` take such a ticket (in its language, or the fallback language)?"""
    fb = s.routing.language_fallback
    langs = [language] if fb is None else [language, fb.to]
    return any(pool_serves(s, p, channel, category, lg, vip) is not None for p in pools for lg in langs)


def display_zone(s: Scenario, override: str | None = None) -> str:
    """The clock results are shown in: --tz, else `report.timezone`, else the zone most pools
    and channels use (ties: the first seen), else UTC."""
    if override:
        return override
    if s.report.timezone:
        return s.report.timezone
    zones = [ch.timezone for ch in s.channels.values()] + [p.timezone for p in s.pools]
    named = [z for z in zones if z != "UTC"]
    if not named:
        return "UTC"
    return max(dict.fromkeys(named), key=named.count)


def channel_languages(s: Scenario, channel: Channel) -> dict[str, float]:
    """Language shares on a channel (its own mix, or the customers' languages)."""
    return dict(channel.languages) if channel.languages is not None else dict(s.customers.languages)


def channel_mix(s: Scenario, channel: Channel) -> dict[str, float]:
    """Category shares on a channel (its own mix, or the categories' shares)."""
    if channel.categories is not None:
        return dict(channel.categories)
    return {k: c.share for k, c in s.categories.items()}


def average_agents(pool: Pool) -> float:
    """Agents on duty on average over a week (after shrinkage)."""
    if isinstance(pool.shifts, str):
        return on_duty(pool.agents or 0, pool.shrinkage)
    total = 0.0
    for sh in pool.shifts:
        length = (sh.end - sh.start) % 86400 or 86400
        days = 7 if sh.days == "all" else len(sh.days)
        total += on_duty(sh.agents, pool.shrinkage) * length * days / (7 * 86400)
    return total


def handle_time_spec(cat: Category, channel: str, language: str) -> tuple[Any, float]:
    """(distribution, factor) for a category's handle time on a channel in a language.

    A distribution override replaces the base (language over channel); numeric overrides
    multiply. The model draws from the distribution and multiplies by the factor.
    """
    dist = cat.handle_time
    factor = 1.0
    by_ch = cat.by_channel.get(channel)
    by_lang = cat.by_language.get(language)
    for override in (by_ch, by_lang):
        if override is None:
            continue
        if isinstance(override, (int, float)):
            factor *= float(override)
        else:
            dist = override
    return dist, factor


def escalation_targets(s: Scenario) -> list[str]:
    """Tiers some escalation rule sends tickets to, in the order the rules name them."""
    out: list[str] = []
    for rule in (s.escalation or {}).values():
        for t in rule.to.values() if isinstance(rule.to, dict) else [rule.to]:
            if t not in out:
                out.append(t)
    return out


def entry_tier(s: Scenario) -> str:
    """The tier new tickets enter: as routing says, else the first pool's tier that no
    escalation rule sends to (L1 on a desk that lists its front line first)."""
    if s.routing.entry_tier is not None:
        return s.routing.entry_tier
    targets = set(escalation_targets(s))
    for p in s.pools:
        if p.tier not in targets:
            return p.tier
    return s.pools[0].tier


def tier_chain(s: Scenario, category: str, start: str) -> list[str]:
    """Tiers a ticket of `category` entering at `start` may reach, in order (start first)."""
    seen = [start]
    tier = start
    esc = s.escalation or {}
    while (rule := esc.get(tier)) is not None and rule.p(category) > 0:
        nxt = rule.target(category)
        if nxt is None or nxt in seen:  # (cycles are refused by the checks)
            break
        seen.append(nxt)
        tier = nxt
    return seen


def unrostered_pools(s: Scenario) -> list[str]:
    """Pools with a `schedule` but neither `agents` nor `shifts`: rules to roster by, no roster yet
    (nothing can run them until a roster is found)."""
    return [p.name for p in s.pools if p.unrostered]


def staffing_targets(s: Scenario) -> list[Target]:
    """What staffing must meet, as one list: `staffing.targets` as written, or else every channel
    with an SLA aiming at it in each of `staffing.scopes` (default overall), channel by channel."""
    goal = s.staffing
    if goal is not None and goal.targets is not None:
        return list(goal.targets)
    scopes = list(goal.scopes) if goal is not None else ["overall"]
    return [
        Target(channel=name, scope=scope)  # type: ignore[arg-type]
        for name, ch in s.channels.items()
        if ch.sla is not None
        for scope in scopes
    ]
