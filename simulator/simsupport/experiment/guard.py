"""Refuse absurd work before it starts: a valid scenario can still ask for more tickets than a
night has hours, or more memory than the machine has (`rate: 1e308/min`, `-r 100000`,
`--horizon 100000000d`). The estimate is the expected number of contacts (rate x simulated
time, with retries and the market's mean lift) and the memory a replication holds at once;
both are compared with limits the user can raise."""

from __future__ import annotations

import math
import os

from ..config.schema import Scenario
from ..errors import SimsupportError

MAX_TICKETS = 200_000_000  # about twenty minutes at 200k tickets a second per core
BYTES_PER_TICKET = 400  # a ticket's record while it is in the desk, and its row with --tickets
BYTES_PER_INTERVAL_ROW = 900  # a channel's interval row, its tallies and its share of the writers (measured)
BYTES_PER_MARKET_STEP = 100  # per channel: multiplier, volatility, price, log ratio


def expected_tickets(s: Scenario) -> float:
    """Expected contacts in one replication (first contacts and retries, no drain)."""
    total = 0.0
    for ch in s.channels.values():
        retry = ch.retry.prob if ch.retry is not None else 0.0
        total += ch.rate * s.end * (1.0 / (1.0 - retry) if retry < 1 else math.inf)
    if s.market is not None:
        total *= 2.0  # volatility lifts the load; a margin, not a forecast
    return total


def memory_bytes(s: Scenario, tickets: bool) -> float:
    """Peak memory of one replication, roughly (what grows with the horizon)."""
    intervals = s.end / s.interval * len(s.channels)
    steps = s.end / s.market.step * len(s.channels) if s.market is not None else 0.0
    held = expected_tickets(s) if tickets else min(expected_tickets(s), 1e6)
    return 200e6 + intervals * BYTES_PER_INTERVAL_ROW + steps * BYTES_PER_MARKET_STEP + held * BYTES_PER_TICKET


def available_memory() -> float:
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def check_work(scenarios: Scenario | list[Scenario], replications: int, workers: int, *, tickets: bool = False,
               max_tickets: float = MAX_TICKETS, source: str = "") -> None:
    """SimsupportError (exit 2) when the run (one scenario, or a sweep's points) would exceed the
    ticket limit or the memory."""
    points = scenarios if isinstance(scenarios, list) else [scenarios]
    s = max(points, key=expected_tickets)
    per = expected_tickets(s)
    total = sum(expected_tickets(p) for p in points) * replications
    points = len(points)
    if not math.isfinite(total) or total > max_tickets:
        what = f"{replications} replication(s)" + (f" x {points} points" if points > 1 else "")
        raise SimsupportError(
            f"{source + ': ' if source else ''}this run would simulate about {total:,.3g} contacts ({per:,.3g} per "
            f"replication over {s.end / 86400:,.4g} days, {what}), above the limit of {max_tickets:,.0f}; check the "
            "rates, --horizon and --replications, or raise the limit with --max-tickets"
        )
    need = memory_bytes(s, tickets) * max(1, min(workers, replications * points))
    have = available_memory()
    if need > 0.8 * have:
        raise SimsupportError(
            f"{source + ': ' if source else ''}this run would need about {need / 2**30:,.1f} GiB of memory "
            f"({min(workers, replications * points)} worker(s) at once) and {have / 2**30:,.1f} GiB is free; use fewer "
            "--workers, a shorter --horizon, a longer interval" + (" or drop --tickets" if tickets else "")
        )
