"""Warnings: a scenario that is valid but probably not what its author meant.

Unlike the cross-field checks (`checks.py`), nothing here stops a run: each function returns
sentences that `simsupport validate` and `simsupport run` print and summary.json keeps under
`warnings`, so that a shock placed after the end of the window, an hour with more work than
agents, a shift that never comes on duty or too few replications for an interval do not pass
without a word. No printing here.
"""

from __future__ import annotations

import math
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from ..experiment.statistics import t_quantile
from ..plan.calendar import shift_blocks, shift_specs
from ..plan.rates import make_rate
from ..units import format_duration
from .base import on_duty
from .checks import channel_load
from .market import ReplayMarket
from .schema import Pool, Scenario

HOUR = 3600.0
MIN_REPLICATIONS = 3  # fewer: no usable t interval (1: none at all; 2: t = 12.7 standard errors)
MAX_HOURS = 24 * 7 * 8  # the load check looks at the first eight weeks of a longer window
TOLERANCE = 1e-9  # Erlangs


def scenario_warnings(s: Scenario, replications: int | None = None) -> list[str]:
    """Every warning for a scenario (`replications`: as run, default the scenario's)."""
    return [
        *shock_warnings(s),
        *replay_warnings(s),
        *day_long_shift_warnings(s),
        *roster_warnings(s),
        *load_warnings(s),
        *replication_warnings(s.replications if replications is None else replications),
    ]


# -- the market ---------------------------------------------------------------------------------
def shock_warnings(s: Scenario) -> list[str]:
    """Shocks after the simulated window (no effect) or in the warm-up (only their decay counts)."""
    if s.market is None:
        return []
    out = []
    for i, shock in enumerate(s.market.shocks):
        name = f"market.shocks[{i}] at {format_duration(shock.at)}"
        if shock.at >= s.end:
            out.append(
                f"{name} is after the end of the simulated window ({format_duration(s.end)}"
                f"{_warmup_note(s)}): it has no effect; move it inside the window or lengthen the horizon"
            )
        elif shock.at < s.warmup:
            out.append(
                f"{name} falls in the warm-up (the first {format_duration(s.warmup)}), which no statistic "
                f"counts: only what is left of its decay ({format_duration(shock.decay)}) reaches the measured "
                f"window; place it at {format_duration(s.warmup)} or later to measure it"
            )
    return out


def replay_warnings(s: Scenario) -> list[str]:
    """A recording much shorter than the run: the rest of the run is a flat price at the last
    volatility, which is rarely what a replay was meant to show."""
    m = s.market
    if not isinstance(m, ReplayMarket) or m.bootstrap is not None:
        return []
    length = m.series[0][-1] - (max(0.0, s.start.timestamp() - m.first_epoch) if m.align == "clock" else 0.0)
    if length < 0.9 * s.end:
        return [
            f"market.file {m.file} covers {format_duration(max(length, 0.0))} of the {format_duration(s.end)} run "
            "(warm-up included): after it the price stays flat at its last volatility; record a longer stretch, "
            "shorten the horizon, or bootstrap the recording (bootstrap: {block: 1d})"
        ]
    return []


def day_long_shift_warnings(s: Scenario) -> list[str]:
    """A shift whose start and end are the same clock time is read as 24 hours (as a roster
    writes a round-the-clock shift); written by hand it is more often a typo."""
    out = []
    for pool in s.pools:
        if isinstance(pool.shifts, str):
            continue
        for i, sh in enumerate(pool.shifts):
            if sh.start % 86400 == sh.end % 86400 and not (sh.start == 0 and sh.end == 86400):
                out.append(f"pools.{pool.name}.shifts[{i}] starts and ends at {_clock(sh.start)}: read as a "
                           f"24-hour shift ({_clock(sh.start)} to {_clock(sh.start)} the next day); if a shorter shift "
                           "was meant, correct start or end")
    return out


def _warmup_note(s: Scenario) -> str:
    if s.warmup <= 0:
        return ""
    return f" = warm-up {format_duration(s.warmup)} + horizon {format_duration(s.horizon)}"


# -- rosters ------------------------------------------------------------------------------------
def _duty_in_window(pool: Pool, s: Scenario, shift_index: int) -> tuple[bool, int]:
    """(is the shift on duty at some time in the measured window, its agents on duty)."""
    spec = (shift_specs(pool) or [])[shift_index]
    n = on_duty(spec.agents, pool.shrinkage)
    for block in shift_blocks(spec, pool, s.start):
        if block.on >= s.end:
            return False, n
        if block.off > s.warmup:
            return True, n
    return False, n  # pragma: no cover - shift_blocks never ends


def roster_warnings(s: Scenario) -> list[str]:
    """Shifts that never come on duty in the measured window (one warning for all of them), and
    pools none of whose agents ever does."""
    out = []
    window = _window_text(s)
    idle: list[str] = []
    for pool in s.pools:
        if pool.unrostered:
            continue  # no roster yet: the run asks for one
        if isinstance(pool.shifts, list):
            scheduled = sum(sh.agents for sh in pool.shifts)
            any_on = False
            for i, sh in enumerate(pool.shifts):
                on, n = _duty_in_window(pool, s, i)
                any_on = any_on or (on and n > 0)
                if sh.agents > 0 and not on:
                    days = "every day" if sh.days == "all" else ",".join(sh.days)
                    idle.append(
                        f"{pool.name}/{sh.name or i} ({days} {_clock(sh.start)}-{_clock(sh.end)} "
                        f"{sh.timezone or pool.timezone}, {sh.agents} agents)"
                    )
            if scheduled > 0 and not any_on:
                out.append(
                    f"pool {pool.name!r} has no agent on duty at any time in the measured window ({window})"
                    + ("" if pool.shrinkage == 0 else f" after shrinkage ({pool.shrinkage:g})")
                    + ": it serves nothing in this run"
                )
        else:
            agents = pool.agents or 0
            if agents > 0 and on_duty(agents, pool.shrinkage) == 0:
                out.append(
                    f"pool {pool.name!r} has {agents} agent{'s' if agents > 1 else ''} but shrinkage "
                    f"{pool.shrinkage:g} leaves none on duty (shrinkage is rounded to whole agents)"
                )
    if idle:
        what = "shift never comes" if len(idle) == 1 else f"{len(idle)} shifts never come"
        out.insert(
            0,
            f"{what} on duty in the measured window ({window}): {'; '.join(idle)}; they take no part in "
            "this run (lengthen the horizon or move the start to judge them)",
        )
    return out


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def _window_text(s: Scenario) -> str:
    a = s.start + timedelta(seconds=s.warmup)
    b = s.start + timedelta(seconds=s.end)
    return f"{a:%a %Y-%m-%d %H:%M} to {b:%a %Y-%m-%d %H:%M} {s.start.tzname() or 'UTC'}"


# -- load against agents, hour by hour ----------------------------------------------------------
def hourly_agents(pool: Pool, s: Scenario, hours: int) -> np.ndarray:
    """Agents of a pool on duty on average in each hour from simulation time 0 (after shrinkage,
    breaks taken off)."""
    out = np.zeros(hours)
    end = hours * HOUR
    specs = shift_specs(pool)
    if specs is None:
        out[:] = on_duty(pool.agents or 0, pool.shrinkage)
        return out
    for spec in specs:
        for block in shift_blocks(spec, pool, s.start):
            if block.on >= end:
                break
            _add(out, block.on, block.off, block.agents)
            for at, length in block.breaks:
                _add(out, at, min(at + length, block.off), -block.agents)
    return out


def _add(out: np.ndarray, a: float, b: float, agents: float) -> None:
    """Add `agents` on [a, b) to hourly averages."""
    a, b = max(a, 0.0), min(b, len(out) * HOUR)
    h = int(a // HOUR)
    while a < b and h < len(out):
        nxt = min((h + 1) * HOUR, b)
        out[h] += agents * (nxt - a) / HOUR
        a, h = nxt, h + 1


def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def load_warnings(s: Scenario) -> list[str]:
    """Live channels whose offered load in some hour exceeds every agent on duty who could take it.

    The load is a lower bound (the channel's rate under its profiles, without the market, times
    its mean work at the best proficiency and after the best the bot can do, over its chat slots);
    the agents an upper bound (everyone on duty in the pools that serve the channel, whatever else
    they serve). Backlog channels are left out: their work may wait for the next shift.
    """
    hours = min(math.ceil(s.end / HOUR), MAX_HOURS)
    cache: dict[str, np.ndarray] = {}
    out = []
    for cname, ch in s.channels.items():
        if ch.rate <= 0 or ch.is_backlog:
            continue
        pools = [p for p in s.pools if p.channels is None or cname in p.channels]
        if not pools or any(p.unrostered for p in pools):
            continue  # nobody to judge (the checks say so), or a headcount not known yet
        work = channel_load(s, cname) / ch.rate  # Erlangs per unit of rate
        if work <= 0:
            continue
        rate = make_rate(ch.rate, ch.daily_profile, ch.weekly_profile, ch.timezone, s.start)
        load = np.array([rate.integral(h * HOUR, (h + 1) * HOUR) / HOUR * work for h in range(hours)])
        agents = np.zeros(hours)
        for p in pools:
            if p.name not in cache:
                cache[p.name] = hourly_agents(p, s, hours)
            agents += cache[p.name]
        over = load > agents + TOLERANCE
        if not over.any():
            continue
        worst = int(np.argmax(np.where(over, load - agents, -np.inf)))
        local = (s.start + timedelta(seconds=worst * HOUR)).astimezone(ZoneInfo(ch.timezone))
        names = ", ".join(repr(p.name) for p in pools)
        out.append(
            f"channel {cname!r}: the offered load exceeds the agents on duty who can take it in "
            f"{int(over.sum())} of {hours} hours of the simulated window; worst {local:%a %Y-%m-%d %H:%M} "
            f"{ch.timezone}: load {load[worst]:.1f} Erlangs vs {_count(agents[worst])} agents on duty "
            f"(after shrinkage, in pool{'s' if len(pools) > 1 else ''} {names}); queues build up in those hours"
        )
    return out


# -- replications -------------------------------------------------------------------------------
def replication_warnings(replications: int) -> list[str]:
    """Too few replications for a usable 95% interval."""
    if replications >= MIN_REPLICATIONS:
        return []
    t3 = t_quantile(0.975, MIN_REPLICATIONS - 1)
    advice = f"run at least {MIN_REPLICATIONS} (-r {MIN_REPLICATIONS}), better 10"
    if replications <= 1:
        return [f"1 replication gives no confidence interval (every ci95 is null): each number is a single random sample; {advice}"]
    t2 = t_quantile(0.975, replications - 1)
    wider = t2 / t3 * math.sqrt(MIN_REPLICATIONS / replications)  # half-widths t s / sqrt(n)
    message = (
        f"{replications} replications give a 95% interval of ±{t2:.1f} standard errors (Student t with "
        f"{replications - 1} degree of freedom), {wider:.1f} times as wide as with {MIN_REPLICATIONS} "
        f"(±{t3:.1f}); {advice}"
    )
    return [message]
