"""Who is on duty: shift blocks coming on and going off, reserves called in, overflow rules.

An agent whose shift ends finishes the ticket in hand first; an idle one leaves at once. These
are rare events, driven by generator processes off the hot path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..plan.calendar import ShiftBlock, shift_blocks
from simpy.events import Timeout

from .agents import Agent, PoolState

if TYPE_CHECKING:
    from .host import Host as Engine


def go_on(engine: Engine, pool: PoolState, n: int, now: float) -> list[Agent]:
    agents = []
    for _ in range(n):
        engine.agent_ids += 1
        a = Agent(pool, engine.agent_ids)
        a.on_duty = True
        pool.duty_sum -= now
        pool.duty += 1
        agents.append(a)
        engine.make_free(a, now)
    return agents


def go_off(engine: Engine, agent: Agent, now: float) -> None:
    """Off duty: for good (shift end), or for a break (`agent.back_after`), after which the
    agent comes back unless its shift ended meanwhile."""
    pool = agent.pool
    pool.duty_sum += now
    pool.duty -= 1
    agent.on_duty = False
    if agent.back_after > 0:
        Timeout(engine.env, agent.back_after, agent).callbacks.append(
            lambda ev: back_from_break(engine, ev._value, engine.env.now)
        )
        agent.back_after = 0.0


def back_from_break(engine: Engine, agent: Agent, now: float) -> None:
    if agent.shift_over:
        return
    pool = agent.pool
    agent.leaving = False
    agent.on_duty = True
    pool.duty_sum -= now
    pool.duty += 1
    engine.make_free(agent, now)


def take_break(engine: Engine, agents: list[Agent], length: float, now: float) -> None:
    """A block's break starts: idle agents go at once, busy ones when their ticket is done."""
    for a in agents:
        if not a.on_duty or a.leaving:
            continue
        a.back_after = length
        _off_when_free(engine, a, now)


def _off_when_free(engine: Engine, a: Agent, now: float) -> None:
    """An idle agent goes off duty now, a busy one once its ticket is done."""
    if a in a.pool.idle:
        a.pool.idle.remove(a)
        go_off(engine, a, now)
    else:
        a.leaving = True
        a.pool.open.pop(a, None)  # holding chats: take no more


def end_shift(engine: Engine, agents: list[Agent], now: float) -> None:
    for a in agents:
        a.shift_over = True
        a.back_after = 0.0  # a break not yet begun is not taken
        if a.on_duty:
            _off_when_free(engine, a, now)


def start_shifts(engine: Engine) -> None:
    """Put the around-the-clock pools on duty and start one process per shift."""
    for pp, ps in zip(engine.plan.pools, engine.pools):
        if pp.reserve:  # reserve pools start with nobody on duty
            continue
        if pp.shifts is None:
            go_on(engine, ps, pp.on_duty_24x7, 0.0)
        else:
            for sh in pp.shifts:
                engine.env.process(_shift_process(engine, ps, shift_blocks(sh, pp.spec, engine.s.start)))


def _shift_process(engine: Engine, pool: PoolState, blocks: Any) -> Any:
    """Bring each block of a shift on duty; each block's end runs as its own process, so an
    extended end may overlap the next block."""
    env = engine.env
    for block in blocks:
        block: ShiftBlock
        yield env.timeout(block.on - env.now)
        agents = go_on(engine, pool, block.agents, env.now)
        env.process(_shift_end(engine, pool, agents, block.off))
        for at, length in block.breaks:
            env.process(_break(engine, agents, at, length))


def _break(engine: Engine, agents: list[Agent], at: float, length: float) -> Any:
    env = engine.env
    yield env.timeout(at - env.now)
    take_break(engine, agents, length, env.now)


def _shift_end(engine: Engine, pool: PoolState, agents: list[Agent], off: float) -> Any:
    env = engine.env
    yield env.timeout(off - env.now)
    extra = engine.extend(pool.name, env.now) if engine.extend is not None else 0.0
    if extra > 0:  # a surge rule keeps this shift on a while longer
        yield env.timeout(extra)
    end_shift(engine, agents, env.now)


def overflow(engine: Engine, rule: int, active: bool, now: float) -> None:
    """Switch an overflow rule; each class's pools and each pool's queues are recomputed from
    every rule active now, so rules on the same channel or pool add up."""
    st = engine.state
    plan = engine.plan
    on = st.overflow_active
    if active:
        on.add(rule)
    else:
        on.discard(rule)
    touched: dict[int, tuple[Any, list[tuple[int, float]]]] = {}
    for r, op in enumerate(plan.overflow):
        for ci, normal, gained in op.classes:
            touched.setdefault(ci, (engine.classes[ci], list(normal)))
            if r in on:
                touched[ci][1].append(gained)
    for c, pairs in touched.values():
        c.pools[:] = [engine.pools[i] for i in plan.preference(pairs)]  # in place: volatile twins share the list
    rules = sorted(on)
    for pi in {op.pool for op in plan.overflow}:
        extra = [g for r in rules if plan.overflow[r].pool == pi for g in st.overflow_groups[r]]
        engine.pools[pi].groups = [*st.normal_groups[pi], *extra]
    if active:  # idle agents of the pool look at the queues they may now take
        pool = engine.pools[plan.overflow[rule].pool]
        for agent in list(pool.idle):
            pool.idle.remove(agent)
            engine.make_free(agent, now)
