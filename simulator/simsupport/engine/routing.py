"""Routing: which idle agent an arriving ticket gets, which waiting ticket a free agent takes.

Waiting tickets sit in one FIFO queue per ticket class (channel, category, language, VIP). A
pool knows the queues it may serve, grouped by routing rank (priority, VIP, ... as the
scenario's `routing.order` says); a free agent looks at the heads of the best-ranked group that
has anyone waiting and takes the one waiting longest. Tickets that abandoned stay in their queue
marked, and are dropped when they reach the head (lazy deletion), so abandonment costs O(1).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .agents import Agent, PoolState
from .tickets import WAITING, Ticket


def next_ticket(groups: list[dict[int, deque[Ticket]]]) -> Ticket | None:
    """The waiting ticket a free agent takes from a pool's `groups`, removed from its queue; or None.

    Each group is a dict of the non-empty queues among those the pool serves at that rank
    (queue id -> deque, insertion-ordered so runs are deterministic). A queue joins every
    group that lists it when a ticket enters it empty (`enqueue`); a group drops it when it
    finds it empty. So the scan costs the number of queues with someone in them, not the
    number of queues the pool could serve.
    """
    for active in groups:
        if not active:
            continue
        best: deque[Ticket] | None = None
        best_arrival = math.inf
        empty = None
        for qid, q in active.items():
            while q:
                head = q[0]
                if head.state == WAITING:
                    if head.arrival < best_arrival:
                        best_arrival = head.arrival
                        best = q
                    break
                q.popleft()
            else:
                if empty is None:
                    empty = [qid]
                else:
                    empty.append(qid)
        if empty is not None:
            for qid in empty:
                del active[qid]
        if best is not None:
            return best.popleft()
    return None


def enqueue(t: Ticket, q: deque[Ticket], qid: int, listeners: list[list[dict[int, deque[Ticket]]]]) -> None:
    """Put a ticket at the back of its queue; an empty queue becomes visible to its pools."""
    if not q:
        for active in listeners[qid]:
            active[qid] = q
    q.append(t)


def compact(queues: list[deque[Ticket]], sizes: list[int]) -> None:
    """Drop what lazy deletion left behind where no agent looks: a class served only through a
    route (no pool at its rank), a route whose tickets were taken from their class queue. Such
    a queue would keep every ticket that passed through it, memory growing with the horizon.
    A queue is filtered (order kept) when it is twice as long as after its last filtering, so
    a ticket costs O(1) however long the backlog."""
    for i, q in enumerate(queues):
        if len(q) > 2 * sizes[i] + 64:
            for _ in range(len(q)):
                t = q.popleft()
                if t.state == WAITING:
                    q.append(t)
            sizes[i] = len(q)


def longest_idle(pools: Sequence[PoolState]) -> Agent | None:
    """The agent idle longest across the pools (each pool's idle FIFO has it at the head)."""
    if len(pools) == 1:
        idle = pools[0].idle
        return idle.popleft() if idle else None
    best: PoolState | None = None
    since = math.inf
    for pool in pools:
        idle = pool.idle
        if idle and idle[0].idle_since < since:
            since = idle[0].idle_since
            best = pool
    return best.idle.popleft() if best is not None else None


def first_pool(pools: Sequence[PoolState]) -> Agent | None:
    """An idle agent of the first pool that has one (pools come in preference order)."""
    for pool in pools:
        if pool.idle:
            return pool.idle.popleft()
    return None


def random_agent(uniform: Callable[[], float]) -> Callable[[Sequence[PoolState]], Agent | None]:
    """Choose uniformly among all idle eligible agents."""

    def choose(pools: Sequence[PoolState]) -> Agent | None:
        total = sum(len(p.idle) for p in pools)
        if total == 0:
            return None
        k = min(int(uniform() * total), total - 1)
        for pool in pools:
            n = len(pool.idle)
            if k < n:
                agent = pool.idle[k]
                del pool.idle[k]
                return agent
            k -= n
        return None  # unreachable

    return choose


def agent_chooser(mode: str, uniform: Callable[[], float]) -> Callable[[Sequence[PoolState]], Agent | None]:
    if mode == "longest_idle":
        return longest_idle
    if mode in ("most_skilled", "pool_order"):
        return first_pool
    if mode == "random":
        return random_agent(uniform)
    raise ValueError(f"unknown agent choice {mode!r}")


def build_groups(
    pool_queues: Sequence[Sequence[tuple[tuple[int, ...], int]]], n_queues: int
) -> tuple[list[list[dict[int, deque[Any]]]], list[list[dict[int, deque[Any]]]]]:
    """Per pool, its groups (one active-queue dict per routing key, best key first); per
    queue id, the dicts it must join when it stops being empty."""
    groups: list[list[dict[int, deque[Any]]]] = []
    listeners: list[list[dict[int, deque[Any]]]] = [[] for _ in range(n_queues)]
    for queues in pool_queues:
        by_key: dict[tuple[int, ...], dict[int, deque[Any]]] = {}
        for key, qid in queues:
            active = by_key.setdefault(key, {})
            listeners[qid].append(active)
        groups.append([by_key[k] for k in sorted(by_key)])
    return groups, listeners
