"""The surge response: on-call reserves, default hysteresis, queue triggers, overflow routing,
extended shifts, the `surge:` cross-field checks, conservation and common random numbers.

Volatility-triggered tests use a one-regime market (vol 0.025 throughout) with one scheduled
shock, so vol(t) = 0.025 + 0.1 * exp(-(t - at) / decay) on the 60 s market grid after `at`:
every activation, arrival on duty and release time follows from that formula and the controller's
check grid, and the tests compute them from it (the expected numbers are also written out).
Queue-triggered tests rebuild each channel's queue length at every check from the ticket log
(every stint in a queue is one log row: arrival and wait) and replay the controller's state
machine on it; the rule's own log and the tickets answered must agree with that replay exactly.
Handle times are a deterministic 42 s so agents sent home finish the ticket in hand quickly.

Tests whose docstring has a "Regression:" paragraph guard a bug that has been fixed; the
paragraph says what used to go wrong.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from helpers_sim import assert_conserved, build, ticket_rows
from simsupport.config.surge import Release, Trigger, default_release
from simsupport.errors import ScenarioError
from simsupport.stats import ReplicationResult, summarize
from simsupport.engine import simulate

HOUR = 3600.0
HANDLE = 42.0  # deterministic handle time (seconds) of every ticket
CALM = 0.025
SHOCK_MOVE = 0.1
SHOCK_DECAY = 2 * HOUR
MARKET_STEP = 60.0
TOL = 1e-6  # seconds: a ticket leaving the queue at the very instant of a check

# ------------------------------------------------------------------------------ scenarios


def market(shock_at: str | None) -> dict[str, Any]:
    m: dict[str, Any] = {
        "model": "regime",
        "regimes": {"calm": {"daily_vol": CALM, "mean_duration": "30d"}},
        "response": {"elasticity": 1.0},
    }
    if shock_at is not None:
        m["shocks"] = [{"at": shock_at, "move": -SHOCK_MOVE, "decay": "2h"}]
    return m


def vol_formula(t: float, at: float) -> float:
    """The market's volatility at time t: the value of the grid step t falls in."""
    tk = math.floor(t / MARKET_STEP) * MARKET_STEP
    return CALM + (SHOCK_MOVE * math.exp(-(tk - at) / SHOCK_DECAY) if tk >= at else 0.0)


def desk(
    *,
    chat_rate: str = "60/h",
    chat_profile: list[float] | None = None,
    shock_at: str | None = "12h5min",
    horizon: str = "24h",
    seed: int = 3,
    surge: dict[str, Any] | None = None,
    interval: str = "10min",
) -> dict[str, Any]:
    """Chat served only by l1 (2 agents), email only by l2 (2 agents); 24x7, no warm-up."""
    chat: dict[str, Any] = {"rate": chat_rate, "patience": {"dist": "exponential", "mean": "10min"}}
    if chat_profile is not None:
        chat["daily_profile"] = chat_profile
    data: dict[str, Any] = {
        "name": "surge-test",
        "horizon": horizon,
        "warmup": "0min",
        "interval": interval,
        "replications": 1,
        "seed": seed,
        "categories": {"work": {"share": 1.0, "handle_time": {"dist": "deterministic", "value": f"{HANDLE}s"}}},
        "channels": {"chat": chat, "email": {"rate": "20/h", "patience": "none"}},
        "pools": [
            {"name": "l1", "agents": 2, "channels": ["chat"]},
            {"name": "l2", "agents": 2, "channels": ["email"]},
        ],
    }
    if shock_at is not None:
        data["market"] = market(shock_at)
    if surge is not None:
        data["surge"] = surge
    return data


def on_call(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": "reserve",
        "like": "l1",
        "agents": 3,
        "delay": "25min",
        "when": {"volatility_over": 0.05},
        "until": {"volatility_below": 0.04},
        "min_active": "1h",
    }
    rule.update(changes)
    return {k: v for k, v in rule.items() if v is not None}


# chat at 5x its usual rate from 08:00 to 11:00 (the profile is normalised to mean 1)
PEAK = [1.0] * 24
for _h in (8, 9, 10):
    PEAK[_h] = 5.0


def run(data: dict[str, Any], replication: int = 0) -> tuple[ReplicationResult, dict[str, Any], list[dict[str, Any]]]:
    r = simulate(build(data), replication, record_tickets=True)
    assert r.tickets is not None
    return r, summarize(r), ticket_rows(r.tickets)


def rule_log(r: ReplicationResult, name: str) -> dict[str, Any]:
    logs = {log["name"]: log for log in r.extra["surge"]}
    return logs[name]


def interval_duty(r: ReplicationResult, channel: str) -> dict[float, float]:
    iv = r.intervals
    return {
        iv["start_s"][i]: iv["agents_on_duty"][i] for i in range(len(iv["start_s"])) if iv["channel"][i] == channel
    }


def start_of(row: dict[str, Any]) -> float:
    return row["arrival_s"] + row["wait_s"]


# ------------------------------------------------------------ replaying the controllers


def queue_length(rows: list[dict[str, Any]], channel: str) -> Callable[[float], int]:
    """Tickets waiting on `channel` at a check at time T, from the ticket log.

    A ticket that leaves the queue at the very instant of the check (an overflow rule switching
    on dequeues at once) was still waiting when the check looked.
    """
    stints = np.array(
        [(x["arrival_s"], start_of(x)) for x in rows if x["channel"] == channel and x["wait_s"] > 0]
    ).reshape(-1, 2)
    joins, leaves = stints[:, 0], stints[:, 1]

    def q(t: float) -> int:
        return int(np.count_nonzero((joins < t) & (leaves > t - TOL)))

    return q


def replay_on_call(
    q: Callable[[float], int], every: float, delay: float, min_active: float, over: int, below: int, until: float
) -> list[tuple[float, float, float]]:
    """(called, on, off) of each activation called before `until`, by the documented rules."""
    t, out = 0.0, []
    while True:
        t += every
        if t >= until:
            return out
        if q(t) > over:
            called = t
            t += delay
            on = t
            while True:
                t += every
                if t - on >= min_active and q(t) < below:
                    break
            out.append((called, on, t))


def replay_overflow(
    q: Callable[[float], int], every: float, over: int, below: int, until: float
) -> list[tuple[float, float]]:
    t, out = 0.0, []
    while True:
        t += every
        if t >= until:
            return out
        if q(t) > over:
            on = t
            while True:
                t += every
                if q(t) < below:
                    break
            out.append((on, t))


def first_check(start: float, every: float, cond: Callable[[float], bool]) -> float:
    t = start
    while True:
        t += every
        if cond(t):
            return t


# ------------------------------------------------------- 1. on-call on a volatility shock


SHOCK_AT = 12 * HOUR + 300.0  # "12h5min": between two checks
EVERY = 600.0


def expected_on_call(delay: float, min_active: float, over: float, below: float) -> tuple[float, float, float]:
    vol = lambda t: vol_formula(t, SHOCK_AT)  # noqa: E731
    called = first_check(0.0, EVERY, lambda t: vol(t) > over)
    on = called + delay
    off = first_check(on, EVERY, lambda t: t - on >= min_active and vol(t) < below)
    return called, on, off


def test_on_call_volatility_trigger_follows_the_shock_exactly() -> None:
    data = desk(surge={"check_every": "10min", "on_call": [on_call()]})
    r, s, rows = run(data)
    called, on, off = expected_on_call(1500.0, 3600.0, 0.05, 0.04)
    # by hand: the shock at 43500 s lifts vol to 0.125; first check after it 43800; on duty
    # 25 min later; vol < 0.04 once 0.1 exp(-x/2h) < 0.015, x > 13659 s, t > 57159 s; checks
    # from 45300 every 600 s: 57300
    assert (called, on, off) == (43800.0, 45300.0, 57300.0)

    log = rule_log(r, "reserve")
    assert log["kind"] == "on_call"
    assert log["starts"] == [called]
    assert log["activations"] == 1
    assert log["active_seconds"] == pytest.approx(off - on, abs=1e-9)

    surge = s["surge"]["reserve"]
    assert surge["activations"] == 1.0
    assert surge["active_hours"] == pytest.approx((off - on) / HOUR, abs=1e-12)
    # reserve agents finish the ticket in hand (at most one 42 s ticket each) after release
    agents = 3
    assert agents * (off - on) / HOUR - 1e-9 <= surge["agent_hours"] <= agents * (off - on + HANDLE) / HOUR + 1e-9
    # by_pool includes the reserve; its on-duty average over the 24 h window is the same duty time
    assert "reserve" in s["by_pool"]
    assert s["by_pool"]["reserve"]["agents_on_duty"] * 24 == pytest.approx(surge["agent_hours"], rel=1e-9)

    # interval table of chat (served by l1 and its reserve copy only): 2 agents, then 3 more
    # exactly `delay` after the call (mid-interval: half an interval's worth), until release
    duty = interval_duty(r, "chat")
    assert duty[44400.0] == pytest.approx(2.0, abs=1e-9)
    assert duty[45000.0] == pytest.approx(2.0 + agents * (45600.0 - on) / EVERY, abs=1e-9)  # 3.5
    for t0 in np.arange(45600.0, 56401.0, EVERY):
        assert duty[float(t0)] == pytest.approx(5.0, abs=1e-9), t0
    lo = 2.0 + agents * (off - 57000.0) / EVERY
    assert lo - 1e-9 <= duty[57000.0] <= lo + agents * HANDLE / EVERY + 1e-9
    for t0 in np.arange(57600.0, 86400.0 - 1, EVERY):
        assert duty[float(t0)] == pytest.approx(2.0, abs=1e-9), t0
    # email is served by l2 alone: the reserve never shows there
    assert set(np.round(list(interval_duty(r, "email").values()), 9)) == {2.0}

    # the reserve answers chat only while on duty; the queue built up before it arrived
    reserve = [start_of(x) for x in rows if x["pool"] == "reserve"]
    assert reserve and all(x["channel"] == "chat" for x in rows if x["pool"] == "reserve")
    assert min(reserve) == pytest.approx(on, abs=1e-6)
    assert max(reserve) <= off + 1e-6
    assert s["by_pool"]["reserve"]["answered"] == len(reserve)


def test_on_call_without_a_shock_is_never_called() -> None:
    r, s, rows = run(desk(shock_at=None, surge={"on_call": [on_call()]}) | {"market": market(None)})
    assert s["surge"]["reserve"] == {"activations": 0.0, "active_hours": 0.0, "agent_hours": 0.0}
    assert not any(x["pool"] == "reserve" for x in rows)


# ------------------------------------------------------------- 2. default hysteresis


def test_default_release_is_three_quarters_of_the_volatility_level() -> None:
    assert default_release(Trigger(volatility_over=0.05)).volatility_below == pytest.approx(0.0375)
    data = desk(surge={"check_every": "10min", "on_call": [on_call(until=None)]})
    r, s, _ = run(data)
    called, on, off = expected_on_call(1500.0, 3600.0, 0.05, 0.75 * 0.05)
    # vol < 0.0375 once 0.1 exp(-x/2h) < 0.0125, x > 2h ln 8 = 14972 s, t > 58472 s: check 58500
    assert (called, on, off) == (43800.0, 45300.0, 58500.0)
    log = rule_log(r, "reserve")
    assert log["starts"] == [called]
    assert log["active_seconds"] == pytest.approx(off - on, abs=1e-9)
    assert s["surge"]["reserve"]["active_hours"] == pytest.approx((off - on) / HOUR, abs=1e-12)
    # the same run as with the release written out
    explicit = desk(surge={"check_every": "10min", "on_call": [on_call(until={"volatility_below": 0.0375})]})
    assert run(explicit)[0].extra == r.extra


def test_default_release_for_queue_triggers_is_a_quarter_of_the_count_rounded_down() -> None:
    """queue_over 9: released when fewer than 9 // 4 = 2 wait (not 2.25, not 9)."""
    rel = default_release(Trigger(queue_over=9, channel="chat"))
    assert (rel.queue_below, rel.channel, rel.volatility_below) == (2, "chat", None)
    assert default_release(Trigger(queue_over=3)).queue_below == 0
    rule = on_call(agents=1, delay="7min", min_active="10min", when={"queue_over": 9, "channel": "chat"}, until=None)
    discriminating: set[int] = set()
    for seed in (1, 2, 3, 4, 5):
        data = desk(shock_at=None, chat_profile=PEAK, horizon="16h", seed=seed, surge={"check_every": "5min", "on_call": [rule]})
        r, s, rows = run(data)
        q = queue_length(rows, "chat")
        expected = replay_on_call(q, 300.0, 420.0, 600.0, 9, 2, 16 * HOUR)
        log = rule_log(r, "reserve")
        assert expected, seed  # the peak does trigger
        assert log["starts"] == [c for c, _, _ in expected], seed
        assert log["active_seconds"] == pytest.approx(sum(off - on for _, on, off in expected), abs=1e-6), seed
        # other release levels would give other runs on some seeds: the replay tells them apart
        discriminating |= {b for b in (3, 9) if replay_on_call(q, 300.0, 420.0, 600.0, 9, b, 16 * HOUR) != expected}
        explicit = copy.deepcopy(data)
        explicit["surge"]["on_call"][0]["until"] = {"queue_below": 2, "channel": "chat"}
        assert run(explicit)[0].extra == r.extra, seed
    assert discriminating == {3, 9}  # the seeds do tell "< 2" from "< 2.25" and from "< 9"


# ----------------------------------------------------------------- 3. queue triggers


QUEUE_RULE = on_call(agents=1, delay="7min", min_active="10min", when={"queue_over": 8, "channel": "chat"},
                     until={"queue_below": 2, "channel": "chat"})  # fmt: skip


def test_queue_trigger_on_an_overloaded_channel_calls_the_reserve() -> None:
    data = desk(shock_at=None, chat_profile=PEAK, horizon="16h", seed=5, surge={"check_every": "5min", "on_call": [QUEUE_RULE]})
    r, s, rows = run(data)
    expected = replay_on_call(queue_length(rows, "chat"), 300.0, 420.0, 600.0, 8, 2, 16 * HOUR)
    assert expected and all(8 * HOUR <= c < 11 * HOUR + 3600 for c, _, _ in expected)  # during the peak
    log = rule_log(r, "reserve")
    assert log["starts"] == [c for c, _, _ in expected]
    active = sum(off - on for _, on, off in expected)
    assert s["surge"]["reserve"]["activations"] == len(expected)
    assert s["surge"]["reserve"]["active_hours"] == pytest.approx(active / HOUR, abs=1e-9)
    hours = s["surge"]["reserve"]["agent_hours"]
    assert active / HOUR - 1e-9 <= hours <= (active + len(expected) * HANDLE) / HOUR + 1e-9
    # the reserve starts tickets only while on duty
    starts = [start_of(x) for x in rows if x["pool"] == "reserve"]
    assert starts
    for t in starts:
        assert any(on - TOL <= t <= off + TOL for _, on, off in expected), t


def test_queue_trigger_on_an_idle_desk_never_fires() -> None:
    data = desk(shock_at=None, chat_rate="10/h", horizon="16h", surge={"check_every": "5min", "on_call": [QUEUE_RULE]})
    r, s, rows = run(data)
    assert s["surge"]["reserve"] == {"activations": 0.0, "active_hours": 0.0, "agent_hours": 0.0}
    assert rule_log(r, "reserve")["starts"] == []
    assert s["by_pool"]["reserve"]["answered"] == 0.0
    assert s["by_pool"]["reserve"]["agents_on_duty"] == 0.0
    assert not any(x["pool"] == "reserve" for x in rows)
    # a trigger on all channels (no `channel`) counts every queue: still nothing on this desk
    rule = dict(QUEUE_RULE, when={"queue_over": 8})
    rule.pop("until")
    r2, s2, _ = run(with_surge(data, {"check_every": "5min", "on_call": [rule]}))
    assert s2["surge"]["reserve"]["activations"] == 0.0


def with_surge(data: dict[str, Any], surge: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["surge"] = surge
    return out


# ---------------------------------------------------------------------- 4. overflow


OVERFLOW = {"pool": "l2", "channels": ["chat"], "when": {"queue_over": 6, "channel": "chat"},
            "until": {"queue_below": 2, "channel": "chat"}}  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_overflow_pool_answers_the_extra_channel_only_while_active(seed: int) -> None:
    data = desk(shock_at=None, chat_profile=PEAK, horizon="16h", seed=seed, surge={"check_every": "5min", "overflow": [OVERFLOW]})
    r, s, rows = run(data)
    periods = replay_overflow(queue_length(rows, "chat"), 300.0, 6, 2, 16 * HOUR)
    assert periods
    log = rule_log(r, "overflow-1-l2")
    assert log["kind"] == "overflow"
    assert log["starts"] == [on for on, _ in periods]
    assert s["surge"]["overflow-1-l2"]["activations"] == len(periods)
    assert s["surge"]["overflow-1-l2"]["active_hours"] == pytest.approx(sum(b - a for a, b in periods) / HOUR, abs=1e-9)
    l2_chat = [start_of(x) for x in rows if x["channel"] == "chat" and x["pool"] == "l2" and x["arrival_s"] < 16 * HOUR]
    assert l2_chat, "the overflow pool never answered chat"
    for t in l2_chat:
        assert any(on - TOL <= t <= off + TOL for on, off in periods), t
    # l2 keeps answering its own channel; chat answered by l1 or l2 only
    assert {x["pool"] for x in rows if x["channel"] == "email" and x["outcome"] == "answered"} == {"l2"}
    assert {x["pool"] for x in rows if x["channel"] == "chat" and x["outcome"] == "answered"} == {"l1", "l2"}

    # without the rule l2 never answers chat (same arrivals)
    bare = copy.deepcopy(data)
    del bare["surge"]
    _, s0, rows0 = run(bare)
    assert not any(x["channel"] == "chat" and x["pool"] == "l2" for x in rows0)
    assert "surge" not in s0


def overflow_invariant_violations(rows: list[dict[str, Any]], pool: str, agents: int, channel: str, periods: list[tuple[float, float]]) -> list[float]:
    """Arrival times of `channel` tickets that had to wait while an agent of `pool` was idle,
    during the pool's overflow periods (the pool then serves the channel: an idle agent must
    take an arriving ticket at once)."""
    busy = sorted((start_of(x), start_of(x) + x["handle_s"]) for x in rows if x["pool"] == pool)
    starts = np.array([b[0] for b in busy])
    ends = np.array([b[1] for b in busy])
    bad = []
    for x in rows:
        a = x["arrival_s"]
        if x["channel"] != channel or x["wait_s"] <= 0:
            continue
        if not any(on + TOL < a < off - TOL for on, off in periods):
            continue
        in_service = int(np.count_nonzero((starts <= a) & (ends > a)))
        if in_service < agents:
            bad.append(a)
    return bad


def test_overflow_idle_agents_take_arriving_tickets_while_active() -> None:
    """Control for the two-rule test below: with one overflow rule (l2 takes chat while vol is
    over 0.05, until below 0.03) no chat ticket waits while an l2 agent is idle."""
    data = desk(surge={"check_every": "10min", "overflow": [TWO_RULES[0]]})
    data["channels"]["email"]["rate"] = "1/h"
    r, _, rows = run(data)
    on, off = 43800.0, first_check(43800.0, EVERY, lambda t: vol_formula(t, SHOCK_AT) < 0.03)
    assert rule_log(r, "overflow-1-l2")["starts"] == [on]
    assert rule_log(r, "overflow-1-l2")["active_seconds"] == off - on
    assert overflow_invariant_violations(rows, "l2", 2, "chat", [(on, off)]) == []
    assert sum(1 for x in rows if x["channel"] == "chat" and x["pool"] == "l2") > 100


TWO_RULES = [
    {"pool": "l2", "channels": ["chat"], "when": {"volatility_over": 0.05}, "until": {"volatility_below": 0.03}},
    {"pool": "l3", "channels": ["chat"], "when": {"volatility_over": 0.05}, "until": {"volatility_below": 0.08}},
]


def test_two_overflow_rules_on_one_channel_both_apply() -> None:
    """Two overflow rules sending different pools to the same channel both apply.

    l2 and l3 (email only, nearly idle) both take chat on the same shock; l2's rule holds until
    vol < 0.03 (43800..65400 s), l3's only until vol < 0.08. While l2's rule is active an
    arriving chat ticket goes to an idle l2 agent.

    Regression: the rules undid each other. Each set the classes' pool lists to its own (the
    eligible pools + its pool) or back to the normal ones, ignoring the other active rules:
    l3's activation dropped l2 from chat's pools and l3's release restored them without any
    overflow pool while l2's rule was still active (hundreds of chat tickets waited while an l2
    agent sat idle; l2 answered 9 chat tickets instead of the ~390 it answers with its rule
    alone).
    """
    data = desk(surge={"check_every": "10min", "overflow": TWO_RULES})
    data["channels"]["email"]["rate"] = "1/h"
    data["pools"].append({"name": "l3", "agents": 2, "channels": ["email"]})
    r, _, rows = run(data)
    on, off = 43800.0, first_check(43800.0, EVERY, lambda t: vol_formula(t, SHOCK_AT) < 0.03)
    assert rule_log(r, "overflow-1-l2")["starts"] == [on]
    assert rule_log(r, "overflow-1-l2")["active_seconds"] == off - on
    bad = overflow_invariant_violations(rows, "l2", 2, "chat", [(on, off)])
    assert bad == [], f"{len(bad)} chat tickets waited while an l2 agent was idle, first at {bad[:3]}"


def test_two_overflow_rules_for_one_pool_are_reported_separately() -> None:
    """Two overflow rules for the same pool get an entry each in the summary.

    (Once both were logged as "overflow:<pool>" and `summarize` kept only one of them; unnamed
    rules are now "overflow-<n>-<pool>".)
    """
    data = desk(surge={"check_every": "10min", "overflow": [
        {"pool": "l2", "channels": ["chat"], "when": {"volatility_over": 0.05}},
        {"pool": "l2", "channels": ["chat"], "when": {"queue_over": 1000}},
    ]})  # fmt: skip
    r, s, _ = run(data)
    assert len(r.extra["surge"]) == 2
    assert [log["activations"] for log in r.extra["surge"]] == [1, 0]  # the volatility rule fires once
    assert len(s["surge"]) == 2, sorted(s["surge"])
    assert sum(v["activations"] for v in s["surge"].values()) == 1.0


# ------------------------------------------------------------------ 5. extended shifts


def shift_desk(shock_at: str, shifts: list[dict[str, Any]], by: str = "2h", horizon: str = "24h") -> dict[str, Any]:
    data = desk(shock_at=shock_at, chat_rate="30/h", horizon=horizon, interval="30min", seed=2)
    data["market"]["response"]["elasticity"] = 0.0
    data["pools"][0] = {"name": "day", "channels": ["chat"], "shifts": shifts}
    data["surge"] = {"extend_shifts": [{"pools": ["day"], "by": by, "when": {"volatility_over": 0.05}}]}
    return data


DAY_SHIFT = [{"start": "08:00", "end": "16:00", "agents": 3}]


def test_extended_shift_stays_on_while_the_trigger_holds_at_shift_end() -> None:
    # shock at 15:00: vol at 16:00 = 0.025 + 0.1 e^-0.5 = 0.086 > 0.05
    assert vol_formula(16 * HOUR, 15 * HOUR) > 0.05
    r, _, _ = run(shift_desk("15h", DAY_SHIFT))
    duty = interval_duty(r, "chat")
    for t0, want in duty.items():
        if 8 * HOUR <= t0 < 18 * HOUR:
            assert want == pytest.approx(3.0, abs=1e-9), t0
        elif t0 < 8 * HOUR:
            assert want == 0.0, t0
        elif t0 == 18 * HOUR:  # agents finish the 42 s ticket in hand
            assert 0.0 <= want <= 3 * HANDLE / 1800.0 + 1e-9
        else:
            assert want == 0.0, t0


def test_shift_ends_on_time_without_the_shock() -> None:
    # shock at 08:00 has decayed by 16:00: 0.025 + 0.1 e^-4 = 0.0268 < 0.05
    assert vol_formula(16 * HOUR, 8 * HOUR) < 0.05
    r, _, _ = run(shift_desk("8h", DAY_SHIFT))
    duty = interval_duty(r, "chat")
    assert duty[15.5 * HOUR] == pytest.approx(3.0, abs=1e-9)
    assert 0.0 <= duty[16 * HOUR] <= 3 * HANDLE / 1800.0 + 1e-9
    assert all(duty[t0] == 0.0 for t0 in duty if t0 >= 16.5 * HOUR)


def test_extending_a_shift_that_meets_the_next_block() -> None:
    """Extending a shift whose next block starts when it ends: both blocks on duty meanwhile.

    A 24-hour shift (00:00-24:00, every day) with extend_shifts by 2h while vol is high at
    midnight: the first block's agents stay until 02:00 of day 2 while the next block comes on
    at 00:00 (6 on duty for two hours).

    Regression: the run crashed with ValueError "Negative delay -7200.0": the shift process
    waited out the extension inside its loop over blocks, then waited `block.on - now` for a
    block that should have started 2 h earlier.
    """
    data = shift_desk("23h", [{"start": "00:00", "end": "24:00", "agents": 3}], horizon="48h")
    assert vol_formula(24 * HOUR, 23 * HOUR) > 0.05
    r, _, _ = run(data)
    duty = interval_duty(r, "chat")
    assert duty[23.5 * HOUR] == pytest.approx(3.0, abs=1e-9)
    assert duty[24 * HOUR] == pytest.approx(6.0, abs=1e-9)
    assert duty[25.5 * HOUR] == pytest.approx(6.0, abs=1e-9)
    assert duty[26.5 * HOUR] == pytest.approx(3.0, abs=1e-9)


# ----------------------------------------------------------------- 6. validation


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(d: dict[str, Any]) -> None:
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _no_market(d: dict[str, Any]) -> None:
    del d["market"]


def _overflow_release_without_market(d: dict[str, Any]) -> None:
    _no_market(d)
    d["surge"]["on_call"] = []
    d["surge"]["overflow"] = [
        {"pool": "l2", "channels": ["chat"], "when": {"queue_over": 3}, "until": {"volatility_below": 0.1}}
    ]


BAD = {
    "unknown like": (_set(("surge", "on_call", 0, "like"), "nobody"), "surge.on_call.reserve.like", "nobody"),
    "name clashes with a pool": (_set(("surge", "on_call", 0, "name"), "l2"), "surge.on_call.l2.name", "l2"),
    "unknown trigger channel": (
        _set(("surge", "on_call", 0, "when"), {"queue_over": 3, "channel": "fax"}),
        "surge.on_call.reserve.when.channel", "fax",
    ),
    "unknown release channel": (
        _set(("surge", "on_call", 0, "until"), {"queue_below": 3, "channel": "fax"}),
        "surge.on_call.reserve.until.channel", "fax",
    ),
    "volatility trigger without a market": (_no_market, "surge.on_call.reserve.when", "market"),
    "both levels": (
        _set(("surge", "on_call", 0, "when"), {"volatility_over": 0.05, "queue_over": 3}),
        "surge.on_call.reserve.when", "exactly one",
    ),
    "neither level": (
        _set(("surge", "on_call", 0, "when"), {"channel": "chat"}), "surge.on_call.reserve.when", "exactly one",
    ),
    "release with both levels": (
        _set(("surge", "on_call", 0, "until"), {"volatility_below": 0.04, "queue_below": 1}),
        "surge.on_call.reserve.until", "exactly one",
    ),
    "overflow to an unknown pool": (
        _set(("surge", "overflow"), [{"pool": "l9", "channels": ["chat"], "when": {"queue_over": 3}}]),
        "surge.overflow[0].pool", "l9",
    ),
    "overflow to an unknown channel": (
        _set(("surge", "overflow"), [{"pool": "l2", "channels": ["fax"], "when": {"queue_over": 3}}]),
        "surge.overflow[0].channels", "fax",
    ),
    "overflow volatility release without a market": (
        _overflow_release_without_market,
        "surge.overflow[0].until", "market",
    ),
    "extend_shifts with an unknown pool": (
        _set(("surge", "extend_shifts"), [{"pools": ["l9"], "by": "2h", "when": {"queue_over": 3}}]),
        "surge.extend_shifts[0].pools", "l9",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_surge_validation_errors_name_the_field(case: str) -> None:
    change, field, word = BAD[case]
    data = desk(surge={"check_every": "10min", "on_call": [on_call()]})
    change(data)
    with pytest.raises(ScenarioError) as info:
        build(data)
    err = info.value
    assert err.field == field, str(err)
    assert word in err.message, str(err)


def test_valid_surge_section_builds() -> None:
    s = build(desk(surge={"check_every": "10min", "on_call": [on_call()], "overflow": [OVERFLOW],
                          "extend_shifts": [{"pools": ["l1"], "by": "1h", "when": {"queue_over": 3}}]}))  # fmt: skip
    assert s.surge is not None and s.surge.on_call[0].delay == 1500.0 and s.surge.check_every == 600.0
    assert isinstance(s.surge.on_call[0].until, Release)


# ------------------------------------------------- 7. conservation and common random numbers


def all_rules_desk(with_rules: bool) -> dict[str, Any]:
    data = desk(chat_rate="80/h", seed=9)
    data["warmup"] = "2h"
    data["horizon"] = "20h"
    data["channels"]["chat"]["retry"] = {"prob": 0.5, "after": "5min"}
    data["channels"]["email"]["max_waiting"] = 0
    data["pools"][1] = {"name": "l2", "channels": ["email"], "shifts": [{"start": "06:00", "end": "18:00", "agents": 2}]}
    data["pools"].append({"name": "night", "agents": 1, "channels": ["email"]})
    if with_rules:
        data["surge"] = {
            "check_every": "5min",
            "on_call": [on_call(), on_call(name="q-reserve", agents=1, delay="3min",
                                       when={"queue_over": 4, "channel": "chat"}, until=None)],
            "overflow": [OVERFLOW],
            "extend_shifts": [{"pools": ["l2"], "by": "1h", "when": {"volatility_over": 0.03}}],
        }  # fmt: skip
    return data


def test_conservation_and_common_random_numbers_with_surge_rules() -> None:
    results = {}
    for with_rules in (False, True):
        for rep in (0, 1):
            r, s, rows = run(all_rules_desk(with_rules), rep)
            o = s["overall"]["all"]
            assert_conserved(r)  # overall and per channel, in whole numbers
            assert sum(v["answered"] for v in s["by_pool"].values()) == o["answered"]
            assert o["retrials"] > 0 and o["abandoned"] > 0 and o["blocked"] > 0
            first = sorted(
                (x["arrival_s"], x["channel"], x["category"], x["language"], x["vip"], x["priority"])
                for x in rows
                if x["attempt"] == 0
            )
            results[with_rules, rep] = (first, s, r)
    for rep in (0, 1):
        bare, ruled = results[False, rep], results[True, rep]
        assert bare[0] == ruled[0], "first attempts differ with a surge rule"
        assert bare[1]["overall"]["all"]["offered"] - bare[1]["overall"]["all"]["retrials"] == (
            ruled[1]["overall"]["all"]["offered"] - ruled[1]["overall"]["all"]["retrials"]
        )
        surge = ruled[1]["surge"]
        assert {"reserve", "q-reserve", "overflow-1-l2"} <= set(surge)
        assert surge["reserve"]["activations"] == 1.0 and surge["q-reserve"]["activations"] >= 1.0
        assert ruled[1]["by_pool"]["reserve"]["answered"] > 0
    assert results[True, 0][0] != results[True, 1][0]  # replications differ
