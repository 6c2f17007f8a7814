"""A live start: the desk at time 0 as it is now, with a backlog waiting and agents busy.

Waiting tickets get their age, and a remaining patience drawn given that it has lasted that
long; busy agents get a remaining time (by default exponential with the mean handle time of
what their pool serves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import streams as names
from ..config.derived import handle_time_spec
from ..config.distributions import Exponential
from .sampling import make_sampler, uniform_sampler
from .visits import Journey, JourneyTicket, Plan, draw_steps

if TYPE_CHECKING:
    from .host import Host as Engine

INF = float("inf")


def busy_at_start(e: Engine) -> dict[int, list[Any]]:
    """Per pool, a remaining-time sampler for each agent busy at time 0."""
    out: dict[int, list[Any]] = {}
    init = e.s.initial
    for i, b in enumerate(init.busy if init is not None else []):
        pool = e.plan.pool_index(b.pool)
        dist = b.remaining or _pool_mean_handle(e, pool)
        draw = make_sampler(dist, e.streams(names.initial("busy", i)))
        out.setdefault(pool, []).extend([draw] * b.agents)
    return out


def _pool_mean_handle(e: Engine, pool: int) -> Any:
    """Exponential remaining time with the mean handle time of what a pool serves."""
    total = weight = 0.0
    for ch in e.channels:
        prev = 0.0
        rate = e.s.channels[ch.name].rate
        for c, cum in zip(ch.classes, ch.cum):
            p, prev = (cum - prev) * rate, cum
            if c.scale[pool] > 0 and e.pools[pool] in c.pools:
                dist, _ = handle_time_spec(e.s.categories[c.category], ch.name, c.language)
                total += p * dist.expected() * c.scale[pool]
                weight += p
    mean = total / weight if weight else 300.0
    return Exponential.model_construct(dist="exponential", mean=mean)


def start_state(e: Engine, journey: Any) -> None:
    """Put the scenario's waiting tickets in their queues (counted when warm-up is 0)."""
    init = e.s.initial
    if init is None:
        return
    s = e.s
    counted = e.warmup == 0
    for i, w in enumerate(init.waiting):
        ch = e.channel_by_name[w.channel]
        candidates, weights = [], []
        prev = 0.0
        for c, cum in zip(ch.classes, ch.cum):
            p, prev = cum - prev, cum
            if w.category in (None, c.category) and w.language in (None, c.language) and w.vip in (None, c.vip):
                candidates.append(c)
                weights.append(p)
        if not candidates:  # attributes the channel's mix never produces: take them as given
            candidates = [
                c for (chn, cat, lang, vip), c in e.class_by_key.items()
                if chn == w.channel and w.category in (None, cat) and w.language in (None, lang) and w.vip in (None, vip)
            ]  # fmt: skip
            weights = [1.0] * len(candidates)
        total = sum(weights)
        pick = uniform_sampler(e.streams(names.initial("class", i)))
        age = make_sampler(w.age, e.streams(names.initial("age", i)))
        spec = s.channels[w.channel]
        patience = None if spec.patience == "none" else make_sampler(spec.patience, e.streams(names.initial("patience", i)))
        for _ in range(w.count):
            u = pick() * total
            k = 0
            while k < len(candidates) - 1 and u >= weights[k]:
                u -= weights[k]
                k += 1
            cls = candidates[k]
            a = age()
            left = INF
            if patience is not None:  # patience given that it has lasted `a` already
                left = 0.0
                for _ in range(1000):
                    p = patience()
                    if p > a:
                        left = p - a
                        break
            e.next_id += 1
            t = JourneyTicket(cls, -a, cls.work(), left, counted, 0, e.next_id)
            balk_u = ch.jr.announce_u() if ch.jr.announce is not None else 1.0
            plan = Plan(0.0, False, draw_steps(cls, ch.jr, journey.escalation), balk_u)
            j = Journey(cls, -a, plan, counted)
            if counted:
                journey.counted(ch.index)
            t.j = j
            journey.visit(t, 0.0)
