"""Tier-aware analytic requirements: agents each pool needs on duty, slot by slot.

`requirements(s)` reads the DeskPlan (never an engine) and, for every pool and slot of `days`
days from simulation time 0, follows the work that reaches it:

- first visits: each entry class's rate (its channel's rate, averaged over the slot, times the
  class's share; a contagious channel's triggered share added back), less what the chatbot
  deflects, with the handover factor on the handle time of what it passes on;
- later visits of a journey (from the entry ClassPlan's `stages`): escalations along the tier
  chain (probability p(category) at each hop, to that tier's stage class), returns after
  `needs_info` and reopens (probability x rate, at the entry tier), each with its own handle time;
- a visit's work is split between its class's eligible pools in proportion to their average
  headcount; unrostered pools count as an average pool of the class, and pools with 0 agents get
  work only when no eligible pool has agents (then all of them share it equally), so a tier
  staffed by nobody today still shows what it needs;
- timing: later visits follow the previous service (or the customer's delay) by the
  infinite-server lag (departures of an M(t)/M/inf queue: m' = (lambda - m)/S), and the offered
  load is the lagged work m(t), averaged over each slot, periodic over the span;
- agents per slot: Erlang A (Erlang C for patient customers) for each goal that applies, the
  largest need kept. A goal is the pool's main channel's SLA by default; with `targets` a tier
  target applies to that tier's pools, a category target to pools serving that category, a
  channel target to pools serving that channel. Targets are met slot by slot, whatever their
  scope. A pool with no goal gets its load rounded up (occupancy 100%);
- chat concurrency: each of an agent's k chat slots is a server (Erlang on slots, each chat
  taking its handle time stretched as `chats.factor` says for the number held at the
  pool's occupancy), then the slots are divided by k and rounded up.

Not modelled: retries, waits before escalation, tier overflow and language fallback after a
wait, priorities, surge rules and reserves. It is a start for simulation, not an answer.
`pool_needs` (hourly, a week) and `analytic_start` serve `simsupport staff`; `simsupport
schedule` covers `scheduled` (agents / (1 - shrinkage), rounded up) with shifts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config.base import on_duty
from ..config.derived import average_agents
from ..config.schema import Scenario
from ..config.targets import Target
from ..plan.calendar import shift_blocks, shift_specs
from ..plan.desk import ClassPlan, DeskPlan, background_share, build_plan
from ..theory import erlang_a, erlang_c_metrics, min_agents_erlang_c
from ..units import format_duration
from .variables import Variable

STEP = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
QUANTILE = 0.9
TINY = 1e-6  # Erlangs: less load than this is no load (the lag's tail never quite reaches 0)


@dataclass
class PoolNeed:
    """A pool's need slot by slot (simulation time from 0; hourly over a week from `pool_needs`)."""

    pool: str
    t: np.ndarray  # start of each slot, seconds
    arrivals: np.ndarray  # per second
    load: np.ndarray  # lagged offered load, Erlangs
    agents: np.ndarray  # agents on duty needed (after shrinkage: not included)


@dataclass
class PoolRequirement(PoolNeed):
    """A pool's requirement slot by slot: `t` starts each slot (seconds from simulation time 0);
    `arrivals` (per second) counts every visit that reaches the pool (first, escalated, returns
    and reopens); `load` is the lagged offered load in Erlangs of ticket work (before dividing
    by chat slots); `agents` the agents on duty it needs (whole numbers); `scheduled` those to
    schedule, ceil(agents / (1 - shrinkage))."""

    slot: float = STEP
    scheduled: np.ndarray = field(default_factory=lambda: np.zeros(0))
    channel: str | None = None  # main channel: the most work
    threshold: float | None = None  # answer within, of the goal that needs the most
    target: float | None = None  # share answered within `threshold`, of that goal
    label: str = ""  # that goal: 'chat SLA 90% in 1min', 'tier L2 80% in 1h', 'load rounded up'
    patience: float = math.inf  # 1 / the visits' mean abandonment rate (Erlang A); inf: nobody abandons (Erlang C)
    why: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Goal:
    label: str
    threshold: float | None = None
    target: float | None = None
    formula: str = "answered_and_abandoned"
    max_abandon: float | None = None
    max_asa: float | None = None


def _lag(x: np.ndarray, tau: float, step: float) -> np.ndarray:
    """Slot averages of m/tau with m' = x - m/tau (x piecewise constant per slot, periodic over
    the span): the departures of an infinite-server queue with exponential times of mean tau."""
    if tau <= 0:
        return x.copy()
    d = math.exp(-step / tau)
    g = tau / step * (1.0 - d)
    n = len(x)
    if n == 0 or 1.0 - d**n < 1e-12:
        return np.full(n, float(x.mean()) if n else 0.0)
    e = 0.0
    for a in x:
        e = a + (e - a) * d
    e /= 1.0 - d**n  # the periodic state at the start of the span
    out = np.empty(n)
    for i, a in enumerate(x):
        out[i] = a + (e - a) * g
        e = a + (e - a) * d
    return out


class _Flows:
    """What reaches each pool: arrivals and lagged load per channel, per slot.

    Every flow is a multiple of a channel's rate lagged by a chain of mean times, so the lagged
    series are kept by (channel, chain) and reused."""

    def __init__(self, s: Scenario, plan: DeskPlan, t: np.ndarray, slot: float) -> None:
        self.s, self.plan, self.slot = s, plan, slot
        self.n_pools = len(s.pools)
        n_ch = len(plan.channels)
        self.base = [np.array([ch.rate.integral(a, a + slot) / slot for a in t]) / background_share(s, ch.name)
                     for ch in plan.channels]  # fmt: skip
        self.memo: dict[tuple[int, tuple[float, ...]], np.ndarray] = {}
        self.lam = np.zeros((self.n_pools, len(t)))
        self.load = np.zeros((self.n_pools, n_ch, len(t)))
        self.work = np.zeros((self.n_pools, n_ch))  # unlagged work, summed over slots
        self.count = np.zeros(self.n_pools)  # visits, summed over slots
        self.abandon = np.zeros(self.n_pools)  # visits / patience, summed over slots
        self.kinds = np.zeros((self.n_pools, 3))  # first, escalated, follow-up visits
        self.served: list[set[tuple[str, str]]] = [set() for _ in range(self.n_pools)]
        self.notes: list[dict[str, None]] = [{} for _ in range(self.n_pools)]
        avg = [average_agents(p) for p in s.pools]
        self.headcount = [None if p.unrostered else a for p, a in zip(s.pools, avg)]

    def series(self, ci: int, chain: tuple[float, ...]) -> np.ndarray:
        key = (ci, chain)
        if key not in self.memo:
            self.memo[key] = self.base[ci] if not chain else _lag(self.series(ci, chain[:-1]), chain[-1], self.slot)
        return self.memo[key]

    def split(self, pools: list[int], what: str) -> list[float]:
        """Shares of a visit's work: by headcount; unrostered pools as an average pool; pools
        with no agents only when no pool has any (then equally)."""
        known = [self.headcount[p] for p in pools]
        pos = [h for h in known if h is not None and h > 0]
        if not pos:
            for p, h in zip(pools, known):
                if h is not None:
                    self.notes[p][f"has no agents today but no pool with agents takes its {what}: it gets that work"] = None
            return [1.0 / len(pools)] * len(pools)
        mean = sum(pos) / len(pos)
        w = [mean if h is None else h for h in known]
        for p, h in zip(pools, known):
            if h is None:
                self.notes[p]["unrostered: counted as an average pool where it shares work"] = None
        total = sum(w)
        return [x / total for x in w]

    def visit(self, c: ClassPlan, coef: float, chain: tuple[float, ...], kind: int, work_factor: float = 1.0,
              patience: float = math.inf, what: str = "") -> float | None:  # fmt: skip
        """Visits of class `c` at `coef` x the channel's rate lagged by `chain`; returns their
        mean handle time (None: no pool takes them)."""
        pools = [p for p in c.pools if p < self.n_pools]
        if not pools and c.routes and self.s.routing.language_fallback is not None:
            pools = [p for p in c.routes[0].pools if p < self.n_pools]  # only the fallback language serves it
        if not pools or coef <= 0:
            return None
        ci = c.channel
        rate = self.series(ci, chain)
        total = float(rate.sum())
        wrap = c.wrap.expected() if c.wrap is not None else 0.0
        mean_s = 0.0
        for p, w in zip(pools, self.split(pools, what or f"{c.tier or 'its'} work")):
            if w <= 0:
                continue
            hold = c.work.expected() * c.scale[p] * work_factor + wrap
            mean_s += w * hold
            k = coef * w
            self.lam[p] += k * rate
            self.load[p, ci] += k * hold * self.series(ci, (*chain, hold))
            self.work[p, ci] += k * hold * total
            self.count[p] += k * total
            self.abandon[p] += k * total / patience
            self.kinds[p, kind] += k * total
            self.served[p].add((self.plan.channels[ci].name, c.category))
        return mean_s

    def journey(self, c: ClassPlan, share: float) -> None:
        """Every visit an entry class's contacts make, first to last."""
        s, plan = self.s, self.plan
        spec = s.channels[plan.channels[c.channel].name]
        bot = s.chatbot if c.bot else None
        coef = share * ((1.0 - c.deflect) if c.bot else 1.0)
        patience = math.inf if spec.patience == "none" else spec.patience.expected()  # type: ignore[union-attr]
        hand_w, hand_p = (bot.handover.handle_time, bot.handover.patience) if bot is not None else (1.0, 1.0)
        first = self.visit(c, coef, (), 0, hand_w, patience * hand_p, f"{c.tier or 'first-visit'} work")
        if first is None or not c.stages:
            return
        after = (first,)  # departures from the first service
        stages = dict(c.stages)
        home = plan.stage_classes[stages[c.tier]]
        if spec.needs_info is not None:
            self.visit(home, coef * spec.needs_info.prob, (*after, spec.needs_info.after.expected()), 2, 1.0, patience)
        rules = s.escalation or {}
        chain, p, tier = after, coef, c.tier
        for nxt, k in c.stages[1:]:
            p *= rules[tier].p(c.category)
            held = self.visit(plan.stage_classes[k], p, chain, 1, 1.0, patience, f"{nxt} work")
            if held is None:
                break
            chain, tier = (*chain, held), nxt
        if spec.reopen is not None:
            self.visit(home, coef * spec.reopen.prob, (*after, spec.reopen.after.expected()), 2, 1.0, patience)


_SL = {"answered_and_abandoned": "p_served_within", "answered": "p_served_within_given_served", "offered": "p_wait_le"}
_CACHE: dict[tuple[float, float, float, _Goal], int] = {}


def _servers(lam: float, mean_s: float, patience: float, goal: _Goal, hint: int = 0) -> int:
    """Fewest servers meeting every measure of a goal: Erlang A, or Erlang C if patience is inf
    (then at least a stable number). `hint`, the neighbouring slot's answer, only speeds it up."""
    if lam <= 0:
        return 0
    key = (lam, mean_s, patience, goal)
    if (known := _CACHE.get(key)) is not None:
        return known
    sl = goal.threshold is not None and goal.target is not None
    if math.isinf(patience):
        lo = math.floor(lam * mean_s) + 1
        if sl:  # the textbook's own search (its Erlang B recursion is cheap)
            lo = min_agents_erlang_c(lam, mean_s, goal.threshold, goal.target)  # type: ignore[arg-type]

        def model(m: int) -> Any:
            return erlang_c_metrics(m, lam, mean_s)
    else:
        lo = 1

        def model(m: int) -> Any:
            return erlang_a(m, lam, mean_s, patience)

    def meets(m: int) -> bool:
        q = model(m)
        return ((not sl or math.isinf(patience) or getattr(q, _SL[goal.formula])(goal.threshold) >= goal.target)
                and (goal.max_abandon is None or q.p_abandon <= goal.max_abandon)
                and (goal.max_asa is None or q.mean_wait_served <= goal.max_asa))  # fmt: skip

    n = lo if math.isinf(patience) and goal.max_abandon is None and goal.max_asa is None else _smallest(meets, lo, hint)
    if len(_CACHE) > 200_000:
        _CACHE.clear()
    _CACHE[key] = n
    return n


def _smallest(meets: Any, lo: int, hint: int = 0) -> int:
    """Smallest n >= lo with meets(n), for a condition that holds from some n on: gallop from
    the hint (down while it holds, up while it fails), then bisect."""
    n = max(lo, hint)
    ok, bad = (n, None) if meets(n) else (None, n)
    step = 1
    while ok is None or (bad is None and ok > lo):
        if ok is None:
            m = bad + step  # type: ignore[operator]
            ok, bad = (m, bad) if meets(m) else (None, m)
        else:
            m = max(lo, ok - step)
            ok, bad = (m, None) if meets(m) else (ok, m)
        step *= 2
    if bad is None:
        return ok
    while ok - bad > 1:
        mid = (ok + bad) // 2
        ok, bad = (mid, bad) if meets(mid) else (ok, mid)
    return ok


def _sla_goal(s: Scenario, channel: str, why: str) -> _Goal | None:
    sla = s.channels[channel].sla
    if sla is None:
        return None
    return _Goal(f"{channel} SLA {round(sla.target * 100, 4):g}% in {format_duration(sla.threshold)} ({why})", sla.threshold,
                 sla.target, sla.formula)  # fmt: skip


def _goals(s: Scenario, pi: int, served: set[tuple[str, str]], by_work: list[str], targets: Sequence[Target] | None) -> list[_Goal]:
    """What a pool's requirement must meet: its main channel's SLA, or the targets that apply."""
    if targets is None:
        for k, ch in enumerate(by_work):
            g = _sla_goal(s, ch, "the main channel" if k == 0 else "the busiest channel it serves with an SLA")
            if g is not None:
                return [g]
        return []
    spec = s.pools[pi]
    out = []
    for tg in targets:
        if tg.tier is not None:
            applies = spec.tier == tg.tier
        else:
            applies = any((tg.channel is None or ch == tg.channel) and (tg.category is None or cat == tg.category)
                          for ch, cat in served)  # fmt: skip
        if not applies:
            continue
        if tg.own_sla:
            g = _sla_goal(s, str(tg.channel), "target")
            if g is not None:
                out.append(g)
        else:
            out.append(_Goal(f"{tg.subject} {', '.join(tg.measures)}", tg.answer_within, tg.target,
                             max_abandon=tg.max_abandon_rate, max_asa=tg.max_asa))  # fmt: skip
    return out


def _stretch(s: Scenario, channel: str, occupancy: float | None) -> float:
    """Mean stretch of a chat: a chat starting while the agent holds j others (each of its
    other slots busy with probability `occupancy`; None: all busy) takes factor(j + 1) longer."""
    chats = s.channels[channel].chats
    k = chats.max
    if k == 1 or chats.stretch is None:
        return 1.0
    if occupancy is None:
        return chats.factor(k)
    r = min(max(occupancy, 0.0), 1.0)
    return sum(math.comb(k - 1, j) * r**j * (1 - r) ** (k - 1 - j) * chats.factor(j + 1) for j in range(k))


def _agents(fl: _Flows, pi: int, goals: list[_Goal], patience: float, f: np.ndarray, slots: np.ndarray,
            km: int) -> tuple[np.ndarray, np.ndarray, int | None]:  # fmt: skip
    """Agents per slot (the largest need over the goals), the load in agent-Erlangs, and the
    goal that needs the most (None: the load rounded up)."""
    per = f / slots  # agent time per unit of ticket work, per channel
    a = np.tensordot(per, fl.load[pi], axes=1)  # agent-Erlangs per slot
    mean_s = km * float(fl.work[pi] @ per) / fl.count[pi]  # slot-server time per visit
    if not goals:
        return np.where(a < TINY, 0.0, np.ceil(a - 1e-9)), a, None
    best = np.zeros(len(a))
    pick, most = 0, -1.0
    for gi, g in enumerate(goals):
        need, hint = np.zeros(len(a)), 0
        for j, x in enumerate(a):
            if x >= TINY:
                hint = _servers(float(f"{x * km / mean_s:.12g}"), mean_s, patience, g, hint)
                need[j] = math.ceil(hint / km)
        if need.sum() > most:
            pick, most = gi, float(need.sum())
        best = np.maximum(best, need)
    return best, a, pick


def requirements(s: Scenario, *, slot: float = 1800.0, days: int = 7,
                 targets: Sequence[Target] | None = None) -> list[PoolRequirement]:  # fmt: skip
    """Every pool's requirement per slot of `slot` seconds over `days` days from simulation
    time 0 (see the module's doc), in the order of `s.pools`."""
    if slot <= 0 or days < 1:
        raise ValueError(f"slot must be above 0 and days at least 1, not slot={slot!r}, days={days!r}")
    plan = build_plan(s, 0)
    t = np.arange(math.ceil(days * DAY / slot - 1e-9)) * float(slot)
    fl = _Flows(s, plan, t, float(slot))
    for ch in plan.channels:
        prev = 0.0
        for k, cum in zip(ch.classes, ch.cum):
            share, prev = cum - prev, cum
            if share > 0:
                fl.journey(plan.classes[k], share)
    names = [c.name for c in plan.channels]
    out = []
    for pi, spec in enumerate(s.pools):
        why = list(fl.notes[pi])
        load = fl.load[pi].sum(axis=0)
        if fl.count[pi] <= 0:
            zeros = np.zeros(len(t))
            out.append(PoolRequirement(spec.name, t, fl.lam[pi], load, zeros, float(slot), zeros.copy(),
                                       why=[*why, "no work reaches this pool: no agents needed"]))  # fmt: skip
            continue
        order = [names[i] for i in np.argsort(-fl.work[pi], kind="stable") if fl.work[pi, i] > 0]
        main = order[0]
        km = s.channels[main].slots
        slots = np.array([s.channels[n].slots for n in names], dtype=float)
        patience = fl.count[pi] / fl.abandon[pi] if fl.abandon[pi] > 0 else math.inf
        goals = _goals(s, pi, fl.served[pi], order, targets)
        f = np.array([_stretch(s, n, None) for n in names])
        agents, a, pick = _agents(fl, pi, goals, patience, f, slots, km)
        if (f > 1.0).any() or (f < 1.0).any():  # again, the stretch at the occupancy found
            busy = float(a.sum() / agents.sum()) if agents.sum() > 0 else 1.0
            f = np.array([_stretch(s, n, busy) for n in names])
            agents, a, pick = _agents(fl, pi, goals, patience, f, slots, km)
        first, esc, more = fl.kinds[pi] / len(t) * 3600.0
        why.append(f"visits per hour on average: {first:.4g} first, {esc:.4g} escalated, {more:.4g} returns and reopens")
        why.append(f"main channel {main} ({fl.work[pi, names.index(main)] / fl.work[pi].sum():.0%} of the work)")
        if s.chatbot is not None:
            bots = [n for n in order if n in s.chatbot.channels]
            if bots:
                why.append(f"{', '.join(bots)}: what the chatbot deflects is taken off, handed-over work x"
                           f"{s.chatbot.handover.handle_time:g}")  # fmt: skip
        for n, k, fk in zip(names, slots, f):
            if k > 1 and n in order:
                why.append(f"{n}: {int(k)} chats per agent: Erlang on chat slots (each slot a server, each chat "
                           f"{fk:.3g} x its handle time for the chats held), slots divided by {int(k)} and rounded up")  # fmt: skip
        g = goals[pick] if pick is not None else None
        if g is None:
            why.append("no SLA or target applies: the load rounded up (occupancy 100%)")
        else:
            model = "Erlang C" if math.isinf(patience) else f"Erlang A, patience {format_duration(patience)}"
            why.append(f"goal: {g.label}, met in every slot ({model})"
                       + (f"; the largest need of {len(goals)} goals" if len(goals) > 1 else ""))  # fmt: skip
        scheduled = np.ceil(agents / (1.0 - spec.shrinkage) - 1e-9)
        out.append(PoolRequirement(
            spec.name, t, fl.lam[pi], load, agents, float(slot), scheduled, main,
            g.threshold if g else None, g.target if g else None, g.label if g else "load rounded up", patience, why,
        ))  # fmt: skip
    return out


def pool_needs(s: Scenario) -> list[PoolNeed]:
    """A week hour by hour, each pool's main channel's SLA (what `simsupport staff` starts from)."""
    return list(requirements(s, slot=STEP, days=7))


def analytic_start(s: Scenario, vars_: list[Variable], needs: list[PoolNeed] | None = None) -> dict[str, int]:
    """Headcount per decision variable from the needs (within the bounds): the 90th percentile of
    its slots' need; a decision on duty where work reaches its pool starts at one agent at least."""
    needs = needs or pool_needs(s)
    by_pool = {n.pool: n for n in needs}
    x: dict[str, int] = {}
    for v in vars_:
        pool = s.pool(v.pool)
        need = by_pool[v.pool]
        keep = 1.0 - pool.shrinkage
        if v.shift is None:
            want = float(np.quantile(need.agents, QUANTILE)) if len(need.agents) else 0.0
            some = bool((need.agents > 0).any())
        else:
            cover = _coverage(s, v.pool, need.t)
            mine = cover[v.shift] > 0
            share = need.agents / np.maximum(cover.sum(axis=0), 1)
            want = float(np.quantile(share[mine], QUANTILE)) if mine.any() else 0.0
            some = bool((share[mine] > 0).any())
        if some:
            want = max(want, 1.0)  # work reaches it: never start at nobody
        n = max(0, math.floor(want / keep) - 1)
        while on_duty(n, pool.shrinkage) < want:  # the smallest n whose on-duty share (rounded) covers it
            n += 1
        x[v.label] = min(max(n, v.lo), v.hi)
    return x


def _coverage(s: Scenario, pool: str, t: np.ndarray) -> np.ndarray:
    """[shift, slot]: 1 where the shift is on duty at the middle of that slot (slots as in t)."""
    spec = s.pool(pool)
    step = float(t[1] - t[0]) if len(t) > 1 else STEP
    end = float(t[-1]) + step if len(t) else 0.0
    shifts = shift_specs(spec) or []
    out = np.zeros((len(shifts), len(t)))
    for i, sh in enumerate(shifts):
        for block in shift_blocks(sh, spec, s.start):
            if block.on >= end:
                break
            out[i] += (t + step / 2 >= block.on) & (t + step / 2 < block.off)
    return np.minimum(out, 1)
