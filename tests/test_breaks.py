"""Breaks in the model: agents go off duty for a break's full length, after the ticket in hand.

Agents on duty per interval must equal the roster's coverage (shift blocks minus breaks) when
nobody is busy at a break's start; a busy agent starts the break when its ticket ends and is
back a full break later; a shift that ends during a break does not bring the agent back.
"""

from __future__ import annotations

import numpy as np

from helpers_sim import build
from simsupport.engine import Engine, simulate
from simsupport.plan.calendar import shift_blocks

HOUR = 3600.0


def _desk(shifts: list[dict], rate: str = "0.0001/h", handle: dict | None = None, interval: str = "30min") -> dict:
    return {
        "name": "breaks",
        "horizon": "2d",
        "warmup": "0s",
        "interval": interval,
        "seed": 5,
        "start": "2026-03-02T00:00:00+00:00",  # a Monday
        "categories": {"a": {"share": 1.0, "handle_time": handle or {"dist": "exponential", "mean": "5min"}}},
        "channels": {"chat": {"rate": rate, "patience": {"dist": "exponential", "mean": "2h"}}},
        "pools": [{"name": "p", "shifts": shifts}],
    }


def _covered(s, t0: float, t1: float) -> float:
    """Agent-seconds the roster puts on duty in [t0, t1) (blocks minus their breaks)."""
    pool = s.pools[0]
    total = 0.0
    for sh in pool.shifts:
        for b in shift_blocks(sh, pool, s.start):
            if b.on >= t1:
                break
            total += b.agents * max(0.0, min(b.off, t1) - max(b.on, t0))
            for at, length in b.breaks:
                total -= b.agents * max(0.0, min(at + length, t1) - max(at, t0))
    return total


def test_agents_on_duty_equal_the_rosters_coverage() -> None:
    shifts = [
        {"start": "08:00", "end": "16:30", "agents": 4, "breaks": [{"at": "12:00", "length": "30min"}]},
        {"start": "08:00", "end": "16:30", "agents": 3, "breaks": [{"at": "12:30", "length": "30min"}]},
        {"start": "22:00", "end": "06:00", "agents": 2, "breaks": [{"at": "02:15", "length": "45min"}]},
        {"start": "10:00", "end": "14:00", "agents": 1, "days": ["tue"]},
    ]
    s = build(_desk(shifts))
    r = simulate(s, 0)
    iv = r.intervals
    checked = 0
    for t, on in zip(iv["start_s"], iv["agents_on_duty"]):
        expected = _covered(s, t, t + 1800.0) / 1800.0
        assert on == expected, (t / HOUR, on, expected)
        checked += 1
    assert checked == 96
    # the lunch dip and the night break are there
    by_t = dict(zip(iv["start_s"], iv["agents_on_duty"]))
    assert by_t[11.5 * HOUR] == 7 and by_t[12 * HOUR] == 3 and by_t[12.5 * HOUR] == 4 and by_t[13 * HOUR] == 7
    assert by_t[2 * HOUR] == 1 and by_t[2.5 * HOUR] == 0 and by_t[3 * HOUR] == 2 and by_t[24 * HOUR + 10 * HOUR] == 8  # tuesday's extra


def test_a_busy_agent_finishes_the_ticket_then_takes_the_full_break() -> None:
    # one agent, deterministic 17-minute tickets arriving often: busy at the break's start
    shifts = [{"start": "08:00", "end": "18:00", "agents": 1, "breaks": [{"at": "12:00", "length": "30min"}]}]
    d = _desk(shifts, rate="10/h", handle={"dist": "deterministic", "value": "17min"}, interval="5min")
    d["horizon"] = "1d"
    e = Engine(build(d), 0, record_tickets=True)
    r = e.run()
    log = r.tickets
    starts = sorted(a + w for a, w, o in zip(log["arrival_s"], log["wait_s"], log["outcome"]) if o == "answered")
    # the ticket in service at 12:00 ends at some t in (12:00, 12:17); nobody is answered in [t, t + 30min)
    in_service_at_noon = max(x for x in starts if x <= 12 * HOUR)
    back = in_service_at_noon + 17 * 60 + 30 * 60
    assert 12 * HOUR - 17 * 60 < in_service_at_noon < 12 * HOUR
    after = [x for x in starts if x > in_service_at_noon]
    assert after and min(after) >= back - 1e-6
    assert any(abs(x - back) < 1e-6 for x in after)  # a queue is waiting: answered the moment it is back
    on = dict(zip(r.intervals["start_s"], r.intervals["agents_on_duty"]))
    assert on[12 * HOUR] == 1.0  # still on duty, finishing its ticket
    t_off = in_service_at_noon + 17 * 60
    assert on[(t_off // 300 + 1) * 300] == 0.0  # on break


def test_a_shift_that_ends_during_a_break_does_not_bring_the_agent_back() -> None:
    shifts = [{"start": "08:00", "end": "12:00", "agents": 2, "breaks": [{"at": "11:45", "length": "15min"}]}]
    s = build(_desk(shifts, interval="15min"))
    r = simulate(s, 0)
    on = dict(zip(r.intervals["start_s"], r.intervals["agents_on_duty"]))
    assert on[11.5 * HOUR] == 2 and on[11.75 * HOUR] == 0 and on[12 * HOUR] == 0 and on[13 * HOUR] == 0


def test_breaks_leave_scenarios_without_them_unchanged() -> None:
    plain = _desk([{"start": "08:00", "end": "16:00", "agents": 3}], rate="20/h")
    with_empty = _desk([{"start": "08:00", "end": "16:00", "agents": 3, "breaks": []}], rate="20/h")
    a, b = simulate(build(plain), 1), simulate(build(with_empty), 1)
    assert np.array_equal(a.class_counters, b.class_counters)
    assert a.tickets_simulated == b.tickets_simulated > 100
