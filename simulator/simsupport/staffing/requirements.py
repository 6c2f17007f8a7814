"""The analytic starting point: Erlang A hour by hour on each pool's share of the load.

For every pool and every hour of a week: the arrival rate of what it serves (each ticket class's
rate split between the pools that may take it, in proportion to their headcount; what the bot
deflects taken off), the offered load lagged by the handle time (the infinite-server load
m' = (lambda S - m) / S, which peaks after the arrivals do when handle times are long), and the
agents on duty Erlang A (Erlang C for patient customers) needs for the SLA of the pool's main
channel. A headcount covers its hours at their 90th percentile of that need, over shrinkage.

It ignores escalation load, skills shared across pools beyond the proportional split, blending
rules and retries: it is a start for the simulation search, not an answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..config.base import on_duty
from ..config.derived import average_agents, handle_time_spec
from ..config.schema import Scenario
from ..plan.calendar import shift_blocks, shift_specs
from ..plan.desk import build_plan
from ..theory import min_agents_erlang_a, min_agents_erlang_c
from .variables import Variable

STEP = 3600.0
WEEK = 7 * 86400.0
QUANTILE = 0.9


@dataclass
class PoolNeed:
    """A pool's week, hour by hour (simulation time from 0)."""

    pool: str
    t: np.ndarray  # start of each hour, seconds
    arrivals: np.ndarray  # per second
    load: np.ndarray  # lagged offered load, Erlangs
    agents: np.ndarray  # agents on duty needed (after shrinkage: not included)


@lru_cache(maxsize=100_000)
def _need(rate_q: float, mean_service: float, patience: float, threshold: float, target: float) -> int:
    if rate_q <= 0:
        return 0
    if math.isinf(patience):
        return min_agents_erlang_c(rate_q, mean_service, threshold, target)
    return min_agents_erlang_a(rate_q, mean_service, patience, threshold, target)


def pool_needs(s: Scenario) -> list[PoolNeed]:
    plan = build_plan(s, 0)
    bot = s.chatbot
    t = np.arange(0.0, WEEK, STEP)
    n_pools = len(s.pools)
    lam = np.zeros((n_pools, len(t)))
    work = np.zeros((n_pools, len(t)))
    by_channel = np.zeros((n_pools, len(plan.channels)))
    avg = [average_agents(p) for p in s.pools]
    for ci, ch in enumerate(plan.channels):
        rate = np.array([ch.rate.segment(x + 1.0)[0] for x in t])
        prev = 0.0
        for c, cum in zip((plan.classes[i] for i in ch.classes), ch.cum):
            p, prev = cum - prev, cum
            pools = [pi for pi in c.pools if pi < n_pools]
            if not pools or p <= 0:
                continue
            handed = (1.0 - c.deflect) if c.bot else 1.0  # what the bot passes on
            longer = bot.handover.handle_time if c.bot and bot is not None else 1.0
            dist, _ = handle_time_spec(s.categories[c.category], ch.name, c.language)
            weights = np.array([max(avg[pi], 1e-9) for pi in pools], dtype=float)
            weights /= weights.sum()
            for pi, w in zip(pools, weights):
                r = rate * p * w * handed
                lam[pi] += r
                work[pi] += r * dist.expected() * c.scale[pi] * longer
                by_channel[pi, ci] += float((r * dist.expected()).sum())
    needs = []
    for pi, spec in enumerate(s.pools):
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_s = float(work[pi].sum() / lam[pi].sum()) if lam[pi].sum() > 0 else 300.0
        load = _lagged(work[pi], mean_s)
        ch = plan.channels[int(np.argmax(by_channel[pi]))] if by_channel[pi].sum() > 0 else None
        chspec = s.channels[ch.name] if ch is not None else None
        if chspec is None or chspec.sla is None:
            threshold, target = 3600.0, 0.8
        else:
            threshold, target = chspec.sla.threshold, chspec.sla.target
        patience = math.inf
        if chspec is not None and chspec.patience != "none":
            patience = chspec.patience.expected()  # type: ignore[union-attr]
        slots = chspec.slots if chspec is not None else 1
        agents = np.array([
            _need(round(float(m / mean_s), 7), mean_s, patience, threshold, target) / slots if m > 0 else 0.0
            for m in load
        ])  # fmt: skip
        needs.append(PoolNeed(spec.name, t, lam[pi], load, np.ceil(agents)))
    return needs


def _lagged(work_rate: np.ndarray, mean_s: float) -> np.ndarray:
    """Offered load m(t) with m' = (a(t) - m) / S, periodic over the week (two passes)."""
    m = float(work_rate.mean())
    out = np.empty_like(work_rate)
    decay = math.exp(-STEP / mean_s)
    for _ in range(2):
        for i, a in enumerate(work_rate):
            m = a + (m - a) * decay
            out[i] = m
    return out


def analytic_start(s: Scenario, vars_: list[Variable], needs: list[PoolNeed] | None = None) -> dict[str, int]:
    """Headcount per decision variable from the hourly needs (within the bounds)."""
    needs = needs or pool_needs(s)
    by_pool = {n.pool: n for n in needs}
    x: dict[str, int] = {}
    for v in vars_:
        pool = s.pool(v.pool)
        need = by_pool[v.pool]
        keep = 1.0 - pool.shrinkage
        if v.shift is None:
            want = np.quantile(need.agents, QUANTILE) if len(need.agents) else 0.0
        else:
            cover = _coverage(s, v.pool, need.t)
            mine = cover[v.shift] > 0
            share = need.agents / np.maximum(cover.sum(axis=0), 1)
            want = np.quantile(share[mine], QUANTILE) if mine.any() else 0.0
        n = max(0, int(math.floor(want / keep)) - 1)
        while on_duty(n, pool.shrinkage) < want:  # the smallest n whose on-duty share (rounded) covers it
            n += 1
        x[v.label] = min(max(n, v.lo), v.hi)
    return x


def _coverage(s: Scenario, pool: str, t: np.ndarray) -> np.ndarray:
    """[shift, hour]: 1 where the shift is on duty in that hour of the first week."""
    spec = s.pool(pool)
    shifts = shift_specs(spec) or []
    out = np.zeros((len(shifts), len(t)))
    for i, sh in enumerate(shifts):
        for block in shift_blocks(sh, spec, s.start):
            if block.on >= WEEK:
                break
            out[i] += (t + STEP / 2 >= block.on) & (t + STEP / 2 < block.off)
    return np.minimum(out, 1)
