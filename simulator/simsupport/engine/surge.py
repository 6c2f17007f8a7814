"""The operators' response to a burst: on-call reserves, extended shifts, overflow routing.

One SimPy process per rule looks at the desk every `check_every` (these are rare decisions,
not per-ticket work). On-call: idle -> triggered -> (delay) -> active -> (released when the
release condition holds and min_active has passed) -> idle; reserve agents finish the ticket
in hand before they leave, like any agent at the end of a shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config.surge import OnCall, Overflow, Release, Trigger, default_release
from . import duty

if TYPE_CHECKING:
    from .host import Host as Desk


@dataclass
class RuleLog:
    """What a rule did in one replication (activations inside the counted window)."""

    name: str
    kind: str
    activations: int = 0
    active_seconds: float = 0.0  # inside the counted window
    agent_seconds: float = 0.0  # on-call agents on duty inside the counted window
    starts: list[float] = field(default_factory=list)


def volatility(desk: Desk, now: float) -> float:
    drive = desk.drive
    if drive is None:
        return 0.0
    return float(drive.path.vol[drive.path.index(now)])


def waiting(desk: Desk, channel: str | None) -> int:
    if channel is None:
        return sum(ch.waiting for ch in desk.channels)
    return desk.channel_by_name[channel].waiting


def fires(desk: Desk, when: Trigger, now: float) -> bool:
    if when.volatility_over is not None:
        return volatility(desk, now) > when.volatility_over
    return waiting(desk, when.channel) > (when.queue_over or 0)


def holds(desk: Desk, until: Release, now: float) -> bool:
    if until.volatility_below is not None:
        return volatility(desk, now) < until.volatility_below
    return waiting(desk, until.channel) < (until.queue_below or 0)


def _overlap(a0: float, a1: float, w0: float, w1: float) -> float:
    return max(0.0, min(a1, w1) - max(a0, w0))


def _triggered(desk: Desk, when: Trigger, log: RuleLog, every: float) -> Any:
    """Wait (checking every `every`) until the trigger fires; log the activation."""
    env = desk.env
    while True:
        yield env.timeout(every)
        if fires(desk, when, env.now):
            break
    if desk.warmup <= env.now < desk.end:
        log.activations += 1
        log.starts.append(env.now)


def _released(desk: Desk, until: Release, every: float, since: float, min_active: float) -> Any:
    """Wait until the release condition holds, no sooner than `min_active` after `since`."""
    env = desk.env
    while True:
        yield env.timeout(every)
        if env.now - since >= min_active and holds(desk, until, env.now):
            return


def on_call_process(desk: Desk, rule: OnCall, pool: Any, log: RuleLog, every: float) -> Any:
    env = desk.env
    until = rule.until or default_release(rule.when)
    while True:
        yield from _triggered(desk, rule.when, log, every)
        yield env.timeout(rule.delay)
        on = env.now
        agents = duty.go_on(desk, pool, rule.agents, on)
        yield from _released(desk, until, every, on, rule.min_active)
        duty.end_shift(desk, agents, env.now)
        log.active_seconds += _overlap(on, env.now, desk.warmup, desk.end)
        log.agent_seconds += rule.agents * _overlap(on, env.now, desk.warmup, desk.end)


def overflow_process(desk: Desk, rule: Overflow, index: int, log: RuleLog, every: float) -> Any:
    env = desk.env
    until = rule.until or default_release(rule.when)
    while True:
        yield from _triggered(desk, rule.when, log, every)
        on = env.now
        duty.overflow(desk, index, True, on)
        yield from _released(desk, until, every, on, 0.0)
        duty.overflow(desk, index, False, env.now)
        log.active_seconds += _overlap(on, env.now, desk.warmup, desk.end)


def extension(desk: Desk, pool: str, now: float) -> float:
    """How much longer a shift of `pool` ending now stays on (the longest active rule)."""
    surge = desk.s.surge
    if surge is None:
        return 0.0
    best, used = 0.0, None
    for i, r in enumerate(surge.extend_shifts):
        if pool in r.pools and r.by > best and fires(desk, r.when, now):
            best, used = r.by, i
    if used is not None and desk.warmup <= now < desk.end:
        log = desk.extend_logs[used]
        log.activations += 1
        log.starts.append(now)
        log.active_seconds += best
    return best


def start_surge(desk: Desk) -> list[RuleLog]:
    """Start one controller process per rule; their logs fill in as the run goes."""
    surge = desk.s.surge
    if surge is None:
        return []
    logs = []
    for rule in surge.on_call:
        log = RuleLog(rule.name, "on_call")
        pool = desk.pools[desk.plan.pool_index(rule.name)]
        desk.env.process(on_call_process(desk, rule, pool, log, surge.check_every))
        logs.append(log)
    for i, rule in enumerate(surge.overflow):
        log = RuleLog(rule.name or f"overflow-{i + 1}-{rule.pool}", "overflow")
        desk.env.process(overflow_process(desk, rule, i, log, surge.check_every))
        logs.append(log)
    desk.extend_logs = [
        RuleLog(rule.name or f"extend-{i + 1}", "extend_shifts") for i, rule in enumerate(surge.extend_shifts)
    ]
    if surge.extend_shifts:
        desk.extend = lambda pool, now: extension(desk, pool, now)
    return logs + desk.extend_logs
