"""Cross-field checks: rules that span several parts of a scenario.

Each check returns the path of the field to blame and one sentence saying what is wrong and
what is allowed; the loader turns that into a ScenarioError with the line number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..profiles import DAILY_PROFILES, WEEKLY_PROFILES
from ..units import format_duration, format_rate
from .derived import (
    average_agents,
    channel_languages,
    channel_mix,
    handle_time_spec,
    pool_serves,
    served,
    single_language,
    ticket_kinds,
    who,
)
from .journey_checks import has_agents as _has_agents
from .journey_checks import is_tiered, journey_problems
from .journey_checks import unknown as _unknown
from .market import ReplayMarket
from .roster_checks import roster_problems
from .schema import Category, Scenario

Problem = tuple[tuple[Any, ...], str]
SHARE_TOLERANCE = 1e-3


def check_scenario(s: Scenario, *, staffing_as_given: bool = True) -> Problem | None:
    """The first cross-field problem in a scenario, or None. With staffing_as_given=False the
    headcounts are not judged (`simsupport staff` is there to change them)."""
    for problem in _problems(s, staffing_as_given):
        return problem
    return None


def all_problems(s: Scenario, *, staffing_as_given: bool = True) -> list[Problem]:
    """Every cross-field problem, in the order check_scenario finds them (for `simsupport validate`).

    A check may rely on what an earlier one guarantees (a name that exists); once problems are
    found, a later check that fails on them is a consequence of those, so the listing stops there.
    A later problem about a part of the file that holds an earlier one (`escalation` after
    `escalation.L2.to`) is most often its consequence too, and is left out.
    """
    found: list[Problem] = []
    for group in _groups(s, staffing_as_given):
        try:
            for problem in group:
                path = problem[0]
                if problem in found or any(len(p) > len(path) and p[: len(path)] == path for p, _ in found):
                    continue
                found.append(problem)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError, ZeroDivisionError):
            if found:
                break
            raise
    return found


def _problems(s: Scenario, staffing_as_given: bool = True) -> Iterator[Problem]:
    for group in _groups(s, staffing_as_given):
        yield from group


def _groups(s: Scenario, staffing_as_given: bool) -> Iterator[Iterator[Problem]]:
    """The checks in order, each a generator of problems (made only when its turn comes)."""
    yield _shares(s)
    yield _profiles(s)
    yield _names(s)
    yield _servable(s)
    if staffing_as_given:
        yield _stability(s)
    yield _surge(s)
    yield _market(s)
    yield journey_problems(s)
    yield roster_problems(s)
    yield _interval(s)


def _interval(s: Scenario) -> Iterator[Problem]:
    if s.interval > s.horizon:
        yield ("interval",), (
            f"the reporting interval ({format_duration(s.interval)}) is longer than the horizon "
            f"({format_duration(s.horizon)})"
        )


def _sum_problem(path: tuple[Any, ...], what: str, shares: dict[str, float]) -> Problem | None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        listing = " + ".join(f"{v:g}" for v in shares.values())
        return path, f"the {what} shares must sum to 1, but {listing} = {total:.4g}"
    return None


def _shares(s: Scenario) -> Iterator[Problem]:
    p = _sum_problem(("customers", "languages"), "language", dict(s.customers.languages))
    if p:
        yield p
    p = _sum_problem(("categories",), "category", {k: c.share for k, c in s.categories.items()})
    if p:
        yield p
    for name, ch in s.channels.items():
        if ch.categories is not None:
            for cat in ch.categories:
                if cat not in s.categories:
                    yield ("channels", name, "categories", cat), _unknown("category", cat, s.categories)
            p = _sum_problem(("channels", name, "categories"), f"{name} category", dict(ch.categories))
            if p:
                yield p
        if ch.languages is not None:
            for lang in ch.languages:
                if lang not in s.customers.languages:
                    yield ("channels", name, "languages", lang), _unknown("language", lang, s.customers.languages)
            p = _sum_problem(("channels", name, "languages"), f"{name} language", dict(ch.languages))
            if p:
                yield p


def _profiles(s: Scenario) -> Iterator[Problem]:
    for name, ch in s.channels.items():
        for key, value, named in (
            ("daily_profile", ch.daily_profile, DAILY_PROFILES),
            ("weekly_profile", ch.weekly_profile, WEEKLY_PROFILES),
        ):
            path = ("channels", name, key)
            if isinstance(value, str):
                if value not in named:
                    yield path, (
                        f"unknown {key.split('_')[0]} profile {value!r}; known: {', '.join(named)}, "
                        "or a list of weights"
                    )
            elif not value or sum(value) <= 0:
                yield path, "a profile needs at least one positive weight"
            elif key == "weekly_profile" and len(value) != 7:
                yield path, f"a weekly profile has 7 weights (Monday first), not {len(value)}"
            elif key == "daily_profile" and 86400 % len(value) != 0:
                yield path, (
                    f"a daily profile splits the day into equal slots: 24 (hours), 48, 96 (quarter "
                    f"hours) or another divisor of 86400 weights, not {len(value)}"
                )


def _names(s: Scenario) -> Iterator[Problem]:
    skills = {c.skill for c in s.categories.values() if c.skill}
    seen: set[str] = set()
    for i, pool in enumerate(s.pools):
        if pool.name in seen:
            yield ("pools", i, "name"), f"pool name {pool.name!r} is used twice; pool names must be unique"
        seen.add(pool.name)
        for ch in pool.channels or []:
            if ch not in s.channels:
                yield ("pools", i, "channels"), _unknown("channel", ch, s.channels)
        if not single_language(s):
            for lang in pool.languages or []:
                if lang not in s.customers.languages:
                    yield ("pools", i, "languages"), _unknown("language", lang, s.customers.languages)
        if pool.skills is not None:
            for key in pool.skills:
                if key not in s.categories and key not in skills:
                    known = sorted(set(s.categories) | skills)
                    yield ("pools", i, "skills", key), (
                        f"{key!r} is neither a category nor a skill; known: {', '.join(known)}"
                    )
        if pool.serves == "vip" and s.customers.vip_share == 0:
            yield ("pools", i, "serves"), (
                f"pool {pool.name!r} serves only VIP customers but customers.vip_share is 0"
            )
    for cname, cat in s.categories.items():
        for ch in cat.by_channel:
            if ch not in s.channels:
                yield ("categories", cname, "by_channel", ch), _unknown("channel", ch, s.channels)
        for lang in cat.by_language:
            if lang not in s.customers.languages:
                yield ("categories", cname, "by_language", lang), _unknown(
                    "language", lang, s.customers.languages
                )
    for cname, ch in s.channels.items():
        if ch.retry is not None and ch.retry.channel is not None and ch.retry.channel not in s.channels:
            yield ("channels", cname, "retry", "channel"), _unknown("channel", ch.retry.channel, s.channels)
    r = s.routing
    for name in r.pool_order or []:
        if name not in seen:
            yield ("routing", "pool_order"), _unknown("pool", name, seen)
    if r.language_fallback is not None and r.language_fallback.to not in s.customers.languages:
        yield ("routing", "language_fallback", "to"), _unknown(
            "language", r.language_fallback.to, s.customers.languages
        )


def _servable(s: Scenario) -> Iterator[Problem]:
    if is_tiered(s):
        return  # checked tier by tier (journey_checks)
    staffed = [p for p in s.pools if _has_agents(p)]
    for cname, cat, lang, vip in ticket_kinds(s):
        if not served(s, staffed, cname, cat, lang, vip):
            yield ("channels", cname), (
                f"no pool with agents can serve {who(s, cat, lang, vip)} on channel {cname!r}; add a pool "
                f"(or a skill, language or channel to one) that covers them"
            )
            return


def _mean_work(s: Scenario, cat_name: str, cat: Category, channel: str) -> float:
    """Mean handle plus wrap-up time of a category on a channel, averaged over languages."""
    total = 0.0
    for lang, lshare in channel_languages(s, s.channels[channel]).items():
        dist, factor = handle_time_spec(cat, channel, lang)
        total += lshare * dist.expected() * factor
    if cat.wrap_up is not None:
        total += cat.wrap_up.expected()
    return total


def channel_load(s: Scenario, cname: str) -> float:
    """Offered load of a channel in Erlangs, at the best proficiency any pool has for each
    category (a lower bound on the agents it keeps busy)."""
    ch = s.channels[cname]
    load = 0.0
    for cat_name, share in channel_mix(s, ch).items():
        cat = s.categories[cat_name]
        best = max(
            (
                pool_serves(s, p, cname, cat_name, lang, vip) or 0.0
                for p in s.pools
                for lang in s.customers.languages
                for vip in (False, True)
            ),
            default=0.0,
        )
        if best > 0:
            load += ch.rate * share * _human_share(s, cname, cat_name) * _mean_work(s, cat_name, cat, cname) / best
    # a chat takes 1/k of an agent who holds k at once
    return load / ch.slots


def _human_share(s: Scenario, channel: str, category: str) -> float:
    """Least share of a category's contacts that the bot hands over (times the handover's
    handle-time factor): the bot at its best, so that the load stays a lower bound."""
    bot = s.chatbot
    if bot is None or channel not in bot.channels:
        return 1.0
    p = min(1.0, bot.deflection.p_on(channel, category) + max(bot.under_volatility, 0.0))
    return (1.0 - p) * bot.handover.handle_time


def _serving(s: Scenario, channels: set[str]) -> float:
    """Agents on duty on average in the pools that serve any of `channels`; unbounded when one of
    them is still to be rostered (its headcount is not known, so no load is certainly too much)."""
    pools = [p for p in s.pools if p.channels is None or channels & set(p.channels)]
    if any(p.unrostered for p in pools):
        return math.inf
    return sum(average_agents(p) for p in pools)


_UNSTABLE_TAIL = (
    "and these customers never give up (patience: none) nor meet a full queue (no max_waiting or "
    "lines), so the queue grows without bound; add agents, lower the rate, or give the channel a "
    "patience or a max_waiting"
)


def _stability(s: Scenario) -> Iterator[Problem]:
    """Certainly unstable: patient, unblocked work beyond all the agents who could do it,
    for a channel alone or for all such channels together (work conservation)."""
    patient = [
        name
        for name, ch in s.channels.items()
        if ch.patience == "none" and ch.max_waiting is None and ch.lines is None and ch.rate > 0
    ]
    loads = {name: channel_load(s, name) for name in patient}
    for cname in patient:
        load, capacity = loads[cname], _serving(s, {cname})
        if load >= capacity:
            rate = s.channels[cname].rate
            yield ("channels", cname, "rate"), (
                f"channel {cname!r} is certainly unstable: its offered load is {load:.1f} Erlangs "
                f"({format_rate(rate)} x {format_duration(load / rate)} of work each) but the pools "
                f"serving it have {capacity:.1f} agents on duty on average, " + _UNSTABLE_TAIL
            )
    if len(patient) > 1:
        total, capacity = sum(loads.values()), _serving(s, set(patient))
        if total >= capacity:
            listing = " + ".join(f"{name} {loads[name]:.1f}" for name in patient)
            yield ("channels", patient[0], "rate"), (
                f"channels {', '.join(patient)} are together certainly unstable: their offered load is "
                f"{listing} = {total:.1f} Erlangs but the pools serving them have {capacity:.1f} agents "
                "on duty on average, " + _UNSTABLE_TAIL
            )


def _surge(s: Scenario) -> Iterator[Problem]:
    surge = s.surge
    if surge is None:
        return
    pools = {p.name for p in s.pools}

    def trigger_problems(path: tuple[Any, ...], trig: Any) -> Iterator[Problem]:
        if trig is None:
            return
        if getattr(trig, "channel", None) is not None and trig.channel not in s.channels:
            yield (*path, "channel"), _unknown("channel", trig.channel, s.channels)
        uses_vol = getattr(trig, "volatility_over", None) is not None or getattr(trig, "volatility_below", None) is not None
        if uses_vol and s.market is None:
            yield path, "a volatility trigger needs a market: add a `market:` section or trigger on queue_over"

    names: set[str] = set()
    for i, rule in enumerate(surge.on_call):
        path = ("surge", "on_call", i)
        if rule.like not in pools:
            yield (*path, "like"), _unknown("pool", rule.like, pools)
        if rule.name in pools or rule.name in names:
            yield (*path, "name"), f"{rule.name!r} is already a pool or on-call name; on-call names must be new"
        names.add(rule.name)
        yield from trigger_problems((*path, "when"), rule.when)
        yield from trigger_problems((*path, "until"), rule.until)
    for i, ext in enumerate(surge.extend_shifts):
        path = ("surge", "extend_shifts", i)
        for name in ext.pools:
            if name not in pools:
                yield (*path, "pools"), _unknown("pool", name, pools)
        yield from trigger_problems((*path, "when"), ext.when)
    for i, o in enumerate(surge.overflow):
        path = ("surge", "overflow", i)
        if o.pool not in pools:
            yield (*path, "pool"), _unknown("pool", o.pool, pools)
        for ch in o.channels:
            if ch not in s.channels:
                yield (*path, "channels"), _unknown("channel", ch, s.channels)
        yield from trigger_problems((*path, "when"), o.when)
        yield from trigger_problems((*path, "until"), o.until)


def _market(s: Scenario) -> Iterator[Problem]:
    m = s.market
    if m is None:
        return
    if isinstance(m, ReplayMarket) and m.align == "clock":
        first = datetime.fromtimestamp(m.first_epoch, UTC)
        last = datetime.fromtimestamp(m.first_epoch + m.series[0][-1], UTC)
        if not first <= s.start.astimezone(UTC) <= last:
            yield ("market", "align"), (
                f"align: clock plays {m.file} at its own timestamps, which run from {first:%Y-%m-%d %H:%M} to "
                f"{last:%Y-%m-%d %H:%M} UTC, but the scenario starts at {s.start.astimezone(UTC):%Y-%m-%d %H:%M} "
                "UTC; set start inside the recording or use align: start"
            )
    resp = m.response
    if isinstance(resp.elasticity, dict):
        for ch in resp.elasticity:
            if ch != "default" and ch not in s.channels:
                yield ("market", "response", "elasticity", ch), _unknown("channel", ch, [*s.channels, "default"])
    if resp.contagion is not None:
        for ch in resp.contagion.channels or []:
            if ch not in s.channels:
                yield ("market", "response", "contagion", "channels"), _unknown("channel", ch, s.channels)
