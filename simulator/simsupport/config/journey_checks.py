"""Cross-field checks of the service journey (chatbot, escalation, routing by tier, live start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import on_duty
from .derived import entry_tier, served, ticket_kinds, tier_chain, who
from .schema import Pool, Scenario

Problem = tuple[tuple[Any, ...], str]


def unknown(kind: str, value: str, known: Any) -> str:
    names = ", ".join(sorted(known)) or "(none)"
    plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
    return f"unknown {kind} {value!r}; known {plural}: {names}"


def tiers_of(s: Scenario) -> set[str]:
    return {p.tier for p in s.pools}


def is_tiered(s: Scenario) -> bool:
    """Does routing follow tiers (new tickets enter one tier; others take only escalations)?"""
    r = s.routing
    return s.escalation is not None or bool(r.direct) or r.entry_tier is not None


def journey_problems(s: Scenario) -> Iterator[Problem]:
    if s.staffing is not None and "volatile" in s.staffing.scopes and s.market is None:
        yield ("staffing", "scopes"), "the volatile scope needs a market: add a `market:` section or drop `volatile`"
    yield from _chatbot(s)
    yield from _escalation(s)
    yield from _routing(s)
    yield from _initial(s)
    if is_tiered(s):
        yield from _servable_by_tier(s)


def _chatbot(s: Scenario) -> Iterator[Problem]:
    bot = s.chatbot
    if bot is None:
        return
    for ch in bot.channels:
        if ch not in s.channels:
            yield ("chatbot", "channels"), unknown("channel", ch, s.channels)
    d = bot.deflection
    for cat in d.by_category:
        if cat not in s.categories:
            yield ("chatbot", "deflection", "by_category", cat), unknown("category", cat, s.categories)
    for ch, sub in d.by_channel.items():
        if ch not in bot.channels:
            yield ("chatbot", "deflection", "by_channel", ch), (
                f"channel {ch!r} has no bot; chatbot.channels lists {', '.join(bot.channels)}"
            )
        for cat in sub.by_category:
            if cat not in s.categories:
                yield ("chatbot", "deflection", "by_channel", ch, "by_category", cat), unknown(
                    "category", cat, s.categories
                )
    if bot.under_volatility != 0 and s.market is None:
        yield ("chatbot", "under_volatility"), (
            "under_volatility changes deflection while the market is volatile, but the scenario has "
            "no `market:` section; add one or remove under_volatility"
        )


def _targets(rule: Any) -> set[str]:
    return set(rule.to.values()) if isinstance(rule.to, dict) else {rule.to}


def _escalation(s: Scenario) -> Iterator[Problem]:
    esc = s.escalation
    if esc is None:
        return
    tiers = tiers_of(s)
    for tier, rule in esc.items():
        if tier not in tiers:
            yield ("escalation", tier), unknown("tier", tier, tiers) + " (the tiers of the pools)"
        for target in _targets(rule):
            if target not in tiers:
                yield ("escalation", tier, "to"), unknown("tier", target, tiers) + " (the tiers of the pools)"
        for key in (rule.to if isinstance(rule.to, dict) else {}):
            if key != "default" and key not in s.categories:
                yield ("escalation", tier, "to", key), unknown("category", key, [*s.categories, "default"])
        for key in (rule.prob if isinstance(rule.prob, dict) else {}):
            if key != "default" and key not in s.categories:
                yield ("escalation", tier, "prob", key), unknown("category", key, [*s.categories, "default"])
        if isinstance(rule.to, dict) and "default" not in rule.to:
            for cat in s.categories:
                if rule.p(cat) > 0 and rule.target(cat) is None:
                    yield ("escalation", tier, "to"), (
                        f"category {cat!r} escalates from {tier} with probability {rule.p(cat):g} but `to` "
                        "names no tier for it; add it or a `default`"
                    )
                    return
    # no cycles: a ticket must not come back to a tier it has left
    starts = dict.fromkeys([entry_tier(s), *esc])  # from where tickets enter first, then from every rule
    for cat, start in ((c, t) for c in s.categories for t in starts):
        path = [start]
        tier = start
        while (rule := esc.get(tier)) is not None and rule.p(cat) > 0:
            tier = rule.target(cat)  # type: ignore[assignment]
            if tier in path:
                yield ("escalation", path[-1], "to"), (
                    f"{cat} tickets would escalate in a circle ({' -> '.join([*path, tier])}); "
                    "escalation must lead to higher tiers only"
                )
                return
            path.append(tier)


def _routing(s: Scenario) -> Iterator[Problem]:
    r = s.routing
    tiers = tiers_of(s)
    if r.entry_tier is not None and r.entry_tier not in tiers:
        yield ("routing", "entry_tier"), unknown("tier", r.entry_tier, tiers)
    for cat, tier in r.direct.items():
        if cat not in s.categories:
            yield ("routing", "direct", cat), unknown("category", cat, s.categories)
        if tier not in tiers:
            yield ("routing", "direct", cat), unknown("tier", tier, tiers)
    for i, o in enumerate(r.tier_overflow):
        for key, tier in (("from", o.from_), ("to", o.to)):
            if tier not in tiers:
                yield ("routing", "tier_overflow", i, key), unknown("tier", tier, tiers)
    if r.breach_guard is not None and not any(c.is_backlog and c.sla is not None for c in s.channels.values()):
        yield ("routing", "breach_guard"), (
            "breach_guard promotes backlog tickets about to breach their first-response SLA, but no "
            "channel is a backlog channel with an SLA (kind: backlog, or patience: none with "
            "sla: {first_response_within: ...})"
        )


def _initial(s: Scenario) -> Iterator[Problem]:
    init = s.initial
    if init is None:
        return
    for i, w in enumerate(init.waiting):
        path = ("initial", "waiting", i)
        if w.channel not in s.channels:
            yield (*path, "channel"), unknown("channel", w.channel, s.channels)
        if w.category is not None and w.category not in s.categories:
            yield (*path, "category"), unknown("category", w.category, s.categories)
        if w.language is not None and w.language not in s.customers.languages:
            yield (*path, "language"), unknown("language", w.language, s.customers.languages)
        if w.vip and s.customers.vip_share == 0:
            yield (*path, "vip"), "VIP tickets waiting, but customers.vip_share is 0"
    pools = {p.name: p for p in s.pools}
    for i, b in enumerate(init.busy):
        path = ("initial", "busy", i)
        if b.pool not in pools:
            yield (*path, "pool"), unknown("pool", b.pool, pools)
            continue
        p = pools[b.pool]
        if p.unrostered:
            continue  # no headcount to compare with until it is rostered
        if isinstance(p.shifts, str):
            n = on_duty(p.agents or 0, p.shrinkage)
        else:  # at most its largest shift block
            n = max((on_duty(sh.agents, p.shrinkage) for sh in p.shifts), default=0)
        if b.agents > n:
            yield (*path, "agents"), (
                f"{b.agents} agents busy, but pool {p.name!r} has at most {n} on duty (after shrinkage)"
            )


def _servable_by_tier(s: Scenario) -> Iterator[Problem]:
    """Every ticket can be served where it enters and at every tier it may escalate to."""
    entry = entry_tier(s)
    staffed = [p for p in s.pools if has_agents(p)]
    for cname, cat, lang, vip in ticket_kinds(s):
        start = s.routing.direct.get(cat, entry)
        pools = [p for p in staffed if p.tier == start or (vip and p.serves == "vip")]
        if not served(s, pools, cname, cat, lang, vip):
            yield ("channels", cname), (
                f"no pool with agents of tier {start} (where they enter) can serve {who(s, cat, lang, vip)} on "
                f"channel {cname!r}; add a pool of that tier that covers them, or route them elsewhere "
                "(routing.direct)"
            )
            return
        for tier in tier_chain(s, cat, start)[1:]:
            if not served(s, [p for p in staffed if p.tier == tier], cname, cat, lang, vip):
                yield ("escalation",), (
                    f"{who(s, cat, lang, vip)} on channel {cname!r} escalate to tier {tier}, but no pool with "
                    "agents of that tier can serve them; add one that covers them"
                )
                return


def has_agents(pool: Pool) -> bool:
    """Does the pool have agents on duty at some time? A pool still to be rostered by its
    `schedule` counts as having them (the roster will give it some)."""
    if pool.unrostered:
        return True
    if isinstance(pool.shifts, str):
        return on_duty(pool.agents or 0, pool.shrinkage) > 0
    return any(on_duty(sh.agents, pool.shrinkage) > 0 for sh in pool.shifts)
