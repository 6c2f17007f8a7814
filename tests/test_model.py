"""Model invariants and behaviour of the support-desk simulator (fast: small horizons).

Conservation, reproducibility, common random numbers, routing rules checked ticket by ticket
from the ticket log, shifts and shrinkage, abandonment/blocking, deterministic handle times
and the waiting-time histogram quantiles.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from helpers_sim import assert_conserved, build, deterministic, exponential, mmn_dict, with_changes
from simsupport.theory import erlang_c_metrics
from simsupport.experiment.replications import run_replications
from simsupport.experiment.statistics import aggregate
from simsupport.stats import COUNTERS, PER_E, ReplicationResult, summarize
from simsupport.engine import simulate

# ------------------------------------------------------------------------------ utilities


def cols(r: ReplicationResult) -> dict[str, np.ndarray]:
    """The ticket log as numpy columns."""
    assert r.tickets is not None, "run with record_tickets=True"
    return {k: np.asarray(v) for k, v in r.tickets.items()}


def same_value(a: Any, b: Any) -> bool:
    """Deep equality that treats NaN as equal to NaN and compares arrays element-wise."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def assert_same_result(a: ReplicationResult, b: ReplicationResult) -> None:
    for f in dataclasses.fields(ReplicationResult):
        if f.name == "wall_time":
            continue
        assert same_value(getattr(a, f.name), getattr(b, f.name)), f"field {f.name} differs"
    assert same_value(summarize(a), summarize(b))


def conservation(r: ReplicationResult) -> dict[str, dict[str, float]]:
    """Check offered == answered + abandoned + blocked (+ still waiting) in every scope, per
    channel as whole numbers (helpers_sim.assert_conserved)."""
    s, waiting = assert_conserved(r)
    o = s["overall"]["all"]
    if r.in_queue_end == 0:
        for name, v in s["by_channel"].items():
            assert waiting[name] == 0
            assert v["offered"] == v["answered"] + v["abandoned"] + v["blocked"], name
    for scope in ("by_category", "by_priority", "by_language"):
        assert sum(v["offered"] for v in s[scope].values()) == o["offered"], scope
        assert sum(v["answered"] for v in s[scope].values()) == o["answered"], scope
    assert sum(v["answered"] for v in s["by_pool"].values()) == o["answered"]
    return s


def counted(t: dict[str, np.ndarray], warmup: float, end: float) -> np.ndarray:
    """Tickets of the log that arrived in the counted window [warmup, end)."""
    return (t["arrival_s"] >= warmup) & (t["arrival_s"] < end)


# ---------------------------------------------------------------------------- scenarios

MULTI = {
    "name": "multi",
    "horizon": "12h",
    "warmup": "1h",
    "interval": "1h",
    "seed": 11,
    "customers": {"languages": {"en": 0.6, "zh": 0.4}, "vip_share": 0.2},
    "categories": {
        "billing": {"share": 0.5, "priority": 1, "handle_time": exponential(5.0)},
        "tech": {"share": 0.5, "priority": 0, "handle_time": exponential(8.0)},
    },
    "channels": {
        "phone": {
            "rate": "1.2/min",
            "patience": exponential(3.0),
            "max_waiting": 8,
            "retry": {"prob": 0.5, "after": "5min"},
            "sla": {"answer_within": "30s", "target": 0.8},
        },
        "chat": {"rate": "0.6/min", "patience": exponential(10.0), "lines": 5},
    },
    "pools": [
        {"name": "en_billing", "agents": 3, "languages": ["en"], "skills": {"billing": 1.0}, "channels": ["phone", "chat"]},
        {"name": "zh_phone", "agents": 3, "languages": ["zh"], "channels": ["phone"]},
        {"name": "tech_en", "agents": 3, "languages": ["en"], "skills": {"tech": 1.5}, "channels": ["phone", "chat"]},
        {"name": "zh_chat", "agents": 2, "languages": ["zh"], "channels": ["chat"]},
    ],
}


def eligible_pools(data: dict[str, Any], channel: str, category: str, language: str, vip: bool) -> set[str]:
    """Pools allowed to answer a ticket, computed from the scenario dict alone."""
    out = set()
    for p in data["pools"]:
        if p.get("channels") is not None and channel not in p["channels"]:
            continue
        if p.get("languages") is not None and language not in p["languages"]:
            continue
        skills = p.get("skills")
        if skills is not None and category not in skills:
            continue
        serves = p.get("serves", "all")
        if (serves == "vip" and not vip) or (serves == "non_vip" and vip):
            continue
        out.add(p["name"])
    return out


# ---------------------------------------------------------------------------- conservation


def test_conservation_multi_channel_with_retries_blocking_abandonment() -> None:
    s = build(MULTI)
    results = run_replications(s, 3)
    for r in results:
        summary = conservation(r)
        o = summary["overall"]["all"]
        # the scenario exercises every outcome
        assert o["retrials"] > 0 and o["blocked"] > 0 and o["abandoned"] > 0
        assert summary["by_channel"]["phone"]["retrials"] == o["retrials"]  # only phone customers retry
        assert summary["by_channel"]["phone"]["blocked"] > 0  # max_waiting
        assert summary["by_channel"]["chat"]["blocked"] > 0  # lines
        assert r.in_queue_end == 0  # the run drains every counted ticket


def test_retry_to_another_channel() -> None:
    """Phone customers who abandon retry on chat (`retry.channel`), which has no retry of its own."""
    data = with_changes(MULTI)
    data["channels"]["phone"]["retry"] = {"prob": 0.5, "after": "5min", "channel": "chat"}
    s = build(data)
    r = simulate(s, 0, record_tickets=True)
    summary = conservation(r)
    assert summary["by_channel"]["chat"]["retrials"] == summary["overall"]["all"]["retrials"] > 0
    t = cols(r)
    retries = np.flatnonzero(t["attempt"] > 0)
    assert set(t["channel"][retries]) == {"chat"}
    first = {int(i): k for k, i in enumerate(t["id"]) if t["attempt"][k] == 0}
    for k in retries:
        j = first[int(t["id"][k])]
        assert t["channel"][j] == "phone" and t["outcome"][j] == "abandoned"
        assert t["arrival_s"][k] > t["arrival_s"][j] + t["wait_s"][j]
        assert (t["category"][k], t["language"][k], t["vip"][k]) == (t["category"][j], t["language"][j], t["vip"][j])


def test_retry_same_channel() -> None:
    """A retry comes after its customer abandoned, with the same id, class and a higher attempt."""
    r = simulate(build(MULTI), 0, record_tickets=True)
    t = cols(r)
    retries = np.flatnonzero(t["attempt"] > 0)
    assert retries.size > 20
    by_attempt = {(int(i), int(a)): k for k, (i, a) in enumerate(zip(t["id"], t["attempt"]))}
    for k in retries:
        j = by_attempt[(int(t["id"][k]), int(t["attempt"][k]) - 1)]
        assert t["channel"][j] == t["channel"][k] == "phone"
        assert t["outcome"][j] == "abandoned"
        assert t["arrival_s"][k] > t["arrival_s"][j] + t["wait_s"][j]
        assert (t["category"][k], t["language"][k], t["vip"][k]) == (t["category"][j], t["language"][j], t["vip"][j])


def test_conservation_against_ticket_log() -> None:
    """Counters agree with the ticket log: offered, outcomes and retrials of counted tickets."""
    s = build(MULTI)
    r = simulate(s, 0, record_tickets=True)
    summary = conservation(r)
    t = cols(r)
    c = counted(t, s.warmup, s.end)
    for ch in ("phone", "chat"):
        m = c & (t["channel"] == ch)
        v = summary["by_channel"][ch]
        assert m.sum() == v["offered"]
        for outcome in ("answered", "abandoned", "blocked"):
            assert (m & (t["outcome"] == outcome)).sum() == v[outcome], (ch, outcome)
        assert (m & (t["attempt"] > 0)).sum() == v["retrials"]


def test_conservation_with_waiting_at_end() -> None:
    """A counted ticket that no agent can ever take is reported in in_queue_end, not lost."""
    data = mmn_dict(agents=1, rate=0.5, mean_handle=1.0, horizon=600.0, warmup=0.0, sla_T=None)
    data["pools"] = [{"name": "day", "shifts": [{"start": "00:00", "end": "08:00", "agents": 1, "days": ["mon"]}]}]
    data["channels"]["phone"]["max_waiting"] = 50
    r = simulate(build(data), 0)
    assert r.in_queue_end > 0
    _, waiting = assert_conserved(r)
    assert waiting == {"phone": r.in_queue_end}  # one channel: its identity is exact


def waiting_on_two_channels() -> dict[str, Any]:
    """Phone and chat lose their only agents at 08:00 (a Monday shift), two hours before the
    window ends: both are left with counted tickets waiting, some blocked (max_waiting), some
    abandoned (phone patience, 15 h on average: some outlast the day-long drain)."""
    data = mmn_dict(agents=1, rate=0.5, mean_handle=1.0, patience=900.0, horizon=600.0, warmup=0.0, sla_T=None)
    data["channels"]["phone"]["max_waiting"] = 40
    data["channels"]["chat"] = {"rate": "0.3/min", "patience": "none", "max_waiting": 50}
    data["pools"] = [{"name": "day", "channels": ["phone", "chat"],
                      "shifts": [{"start": "00:00", "end": "08:00", "agents": 2, "days": ["mon"]}]}]  # fmt: skip
    return data


def test_conservation_per_channel_with_waiting_on_two_channels() -> None:
    """What the engine can check today: each channel's leftover is a whole number >= 0 and the
    leftovers add up to in_queue_end (the exact per-channel identity is the next test)."""
    r = simulate(build(waiting_on_two_channels()), 0)
    s, waiting = assert_conserved(r)
    assert waiting["phone"] > 0 and waiting["chat"] > 0
    assert s["by_channel"]["phone"]["blocked"] > 0 and s["by_channel"]["phone"]["abandoned"] > 0


def test_conservation_per_channel_with_waiting_at_end() -> None:
    """Per channel, as an equality of whole numbers: offered == answered + abandoned + blocked
    + still waiting, with the engine's own count of the channel's counted first visits still
    waiting when the run stopped (`channel_in_queue_end`, in `channel_names` order; the
    collector's leftover is derived from the counters, so it cannot check itself)."""
    r = simulate(build(waiting_on_two_channels()), 0)
    s = summarize(r)
    by_engine = dict(zip(r.channel_names, (int(x) for x in r.channel_in_queue_end)))
    assert sum(by_engine.values()) == r.in_queue_end
    assert by_engine["phone"] > 0 and by_engine["chat"] > 0
    for name, v in s["by_channel"].items():
        assert v["offered"] == v["answered"] + v["abandoned"] + v["blocked"] + by_engine[name], name


def test_arrival_count_matches_rate_from_time_zero() -> None:
    """A constant-rate channel is Poisson from time 0: arrivals in [0, 2h) ~ Poisson(rate * 2h).

    Warm-up 0, so every arrival of the 2 hours is counted. 20 replications of 12/h over 2 h give
    Poisson(480) arrivals in all; the gate is 5 standard deviations (5 * sqrt(480) ~ 110).
    The first arrival time is Exp(mean 5 min): its mean over 20 replications is within 5 SE
    (5 * 300 s / sqrt(20) ~ 335 s) of 300 s.
    """
    data = mmn_dict(agents=3, rate=0.2, mean_handle=5.0, horizon=120.0, warmup=0.0, interval=60.0, sla_T=None)
    results = run_replications(build(data), 20, record_tickets=True)
    total = sum(r.arrivals_counted for r in results)
    first = [float(np.min(r.tickets["arrival_s"])) if r.tickets["arrival_s"] else math.inf for r in results]
    expected = 0.2 * 120 * 20
    assert abs(total - expected) <= 5 * math.sqrt(expected), (
        f"{total} arrivals in 20 x 2 h at 12/h, expected {expected:g}; first arrivals (s): "
        f"{sorted(round(x) if math.isfinite(x) else x for x in first)}"
    )
    assert abs(np.mean(first) - 300.0) <= 5 * 300.0 / math.sqrt(20), f"mean first arrival {np.mean(first):.0f} s"


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_numbers() -> None:
    s = build(MULTI)
    a, b = simulate(s, 2), simulate(s, 2)
    assert_same_result(a, b)


def test_replication_independent_of_how_it_is_run() -> None:
    s = build(MULTI)
    alone = run_replications(s, [3])[0]
    among = run_replications(s, 5)
    parallel = run_replications(s, 5, workers=2)
    assert [r.replication for r in among] == [0, 1, 2, 3, 4]
    assert [r.replication for r in parallel] == [0, 1, 2, 3, 4]
    assert_same_result(alone, among[3])
    assert_same_result(alone, parallel[3])
    for x, y in zip(among, parallel):
        assert_same_result(x, y)
    # different replications are different samples
    offered = [summarize(r)["overall"]["all"]["offered"] for r in among]
    assert len(set(offered)) > 1


def test_different_seed_different_numbers() -> None:
    a = simulate(build(MULTI), 0)
    b = simulate(build(with_changes(MULTI, seed=12)), 0)
    sa, sb = summarize(a)["overall"]["all"], summarize(b)["overall"]["all"]
    assert sa["offered"] != sb["offered"]
    assert sa["mean_wait_s"] != sb["mean_wait_s"]
    assert not np.array_equal(a.class_counters, b.class_counters)


def test_common_random_numbers_across_headcounts() -> None:
    """Scenarios differing only in a pool's headcount see the same customers and the same work."""
    base = with_changes(MULTI, horizon="4h")
    for ch in base["channels"].values():
        ch.pop("retry", None)  # retries depend on who abandoned; first contacts must not
    bigger = with_changes(base)
    bigger["pools"][0]["agents"] = 6
    s1, s2 = build(base), build(bigger)
    r1, r2 = simulate(s1, 0, record_tickets=True), simulate(s2, 0, record_tickets=True)
    t1, t2 = cols(r1), cols(r2)
    assert summarize(r1)["overall"]["all"]["asa_s"] != summarize(r2)["overall"]["all"]["asa_s"]

    def first_contacts(t: dict[str, np.ndarray]) -> dict[int, tuple]:
        keep = (t["attempt"] == 0) & (t["arrival_s"] < s1.end)
        return {
            int(i): (a, ch, cat, lang, bool(v))
            for i, a, ch, cat, lang, v in zip(
                t["id"][keep], t["arrival_s"][keep], t["channel"][keep], t["category"][keep],
                t["language"][keep], t["vip"][keep],
            )
        }

    f1, f2 = first_contacts(t1), first_contacts(t2)
    assert len(f1) > 400
    assert f1 == f2
    # the same ticket answered by the same pool in both runs has the same handle time
    h1 = {(int(i), p): h for i, p, h, o in zip(t1["id"], t1["pool"], t1["handle_s"], t1["outcome"]) if o == "answered"}
    h2 = {(int(i), p): h for i, p, h, o in zip(t2["id"], t2["pool"], t2["handle_s"], t2["outcome"]) if o == "answered"}
    both = h1.keys() & h2.keys()
    assert len(both) > 300
    assert all(h1[k] == h2[k] for k in both)


def test_common_random_numbers_with_retries() -> None:
    """With retries, who retries depends on staffing, but the first contacts stay the same.

    Retries consume ticket numbers, so first contacts are matched by content, not by id.
    """
    bigger = with_changes(MULTI)
    bigger["pools"][1]["agents"] = 5
    s1 = build(MULTI)
    r1, r2 = simulate(s1, 0, record_tickets=True), simulate(build(bigger), 0, record_tickets=True)

    def first_contacts(t: dict[str, np.ndarray]) -> list[tuple]:
        keep = (t["attempt"] == 0) & (t["arrival_s"] < s1.end)
        return sorted(zip(t["arrival_s"][keep].tolist(), t["channel"][keep].tolist(), t["category"][keep].tolist(),
                          t["language"][keep].tolist(), t["vip"][keep].tolist()))  # fmt: skip

    t1, t2 = cols(r1), cols(r2)
    assert (t1["attempt"] > 0).sum() != (t2["attempt"] > 0).sum()  # the retries differ
    f1 = first_contacts(t1)
    assert len(f1) > 1000
    assert f1 == first_contacts(t2)


# ------------------------------------------------------------------------------- routing


def test_tickets_answered_only_by_matching_pools() -> None:
    s = build(MULTI)
    r = simulate(s, 1, record_tickets=True)
    t = cols(r)
    ans = t["outcome"] == "answered"
    used = Counter()
    for ch, cat, lang, vip, pool in zip(
        t["channel"][ans], t["category"][ans], t["language"][ans], t["vip"][ans], t["pool"][ans]
    ):
        allowed = eligible_pools(MULTI, ch, cat, lang, bool(vip))
        assert pool in allowed, f"{ch}/{cat}/{lang} answered by {pool}, allowed {sorted(allowed)}"
        used[pool] += 1
    assert set(used) == {p["name"] for p in MULTI["pools"]}
    assert all(p is None for p in t["pool"][~ans])


def test_handle_time_divided_by_proficiency_in_log() -> None:
    """Pool tech_en has proficiency 1.5 for tech: its handle times are the work / 1.5."""
    data = with_changes(MULTI)
    data["categories"]["tech"]["handle_time"] = deterministic(6.0)
    data["categories"]["billing"]["handle_time"] = deterministic(4.0)
    r = simulate(build(data), 0, record_tickets=True)
    t = cols(r)
    ans = t["outcome"] == "answered"
    expected = {("tech_en", "tech"): 240.0, ("zh_phone", "tech"): 360.0, ("zh_chat", "tech"): 360.0,
                ("en_billing", "billing"): 240.0, ("zh_phone", "billing"): 240.0, ("zh_chat", "billing"): 240.0}  # fmt: skip
    seen = set()
    for pool, cat, h in zip(t["pool"][ans], t["category"][ans], t["handle_s"][ans]):
        assert h == pytest.approx(expected[(pool, cat)], rel=1e-12), (pool, cat, h)
        seen.add((pool, cat))
    assert seen == set(expected)


def _leave_times(t: dict[str, np.ndarray]) -> np.ndarray:
    return t["arrival_s"] + t["wait_s"]


def assert_never_overtaken(t: dict[str, np.ndarray], high: np.ndarray, low: np.ndarray, what: str) -> int:
    """At every answer of a `low` ticket, no `high` ticket was waiting; returns the answers checked.

    From the ticket log a ticket is waiting on the open interval (arrival, arrival + wait).
    """
    left = np.isin(t["outcome"], ["answered", "abandoned"])
    answers = _leave_times(t)[left & low & (t["outcome"] == "answered")]
    arr, leave = t["arrival_s"][left & high], _leave_times(t)[left & high]
    waiting = (arr[None, :] < answers[:, None]) & (leave[None, :] > answers[:, None])
    bad = np.flatnonzero(waiting.any(axis=1))
    assert bad.size == 0, f"{bad.size} {what} answers while a higher-ranked ticket waited, first at {answers[bad[0]]}s"
    return int(answers.size)


def assert_fifo(t: dict[str, np.ndarray], level: np.ndarray, what: str) -> None:
    """Among `level` tickets: none answered while one that arrived earlier was still waiting."""
    m = level & np.isin(t["outcome"], ["answered", "abandoned"])
    arr, leave = t["arrival_s"][m], _leave_times(t)[m]
    ans = t["outcome"][m] == "answered"
    s_arr, s_time = arr[ans], leave[ans]
    earlier_waiting = (arr[None, :] < s_arr[:, None]) & (leave[None, :] > s_time[:, None])
    assert not earlier_waiting.any(), f"FIFO violated within {what}"


def test_priority_and_fifo_single_agent() -> None:
    """One agent, two priority classes, two languages, impatient customers.

    At each answer of a priority-1 ticket no priority-0 ticket may be waiting; at each answer of
    any ticket no ticket of the same priority that arrived earlier may still be waiting (FIFO
    within a priority level, across the per-language queues).
    """
    data = mmn_dict(
        agents=1, rate=0.22, mean_handle=4.0, patience=15.0, horizon=4000.0, warmup=100.0, sla_T=None,
        classes=[("urgent", 0.3, 0), ("normal", 0.7, 1)], seed=5,
    )
    data["customers"] = {"languages": {"en": 0.5, "fr": 0.5}}
    r = simulate(build(data), 0, record_tickets=True)
    t = cols(r)
    answered = t["outcome"] == "answered"
    assert answered.sum() > 500 and (t["outcome"] == "abandoned").sum() > 20
    assert (answered & (t["wait_s"] > 0) & (t["priority"] == 1)).sum() > 100
    checked = assert_never_overtaken(t, t["priority"] == 0, t["priority"] == 1, "priority-1")
    assert checked > 300
    for level in (0, 1):
        assert_fifo(t, t["priority"] == level, f"priority {level}")


def test_vip_first_within_a_priority() -> None:
    """routing.order [priority, vip]: a non-VIP is never answered while a VIP of its priority waits,
    but a VIP of a lower priority does not overtake a higher-priority non-VIP."""
    data = mmn_dict(
        agents=2, rate=0.45, mean_handle=4.0, patience=12.0, horizon=3000.0, warmup=100.0, sla_T=None,
        classes=[("urgent", 0.3, 0), ("normal", 0.7, 1)], seed=15,
    )
    data["customers"] = {"vip_share": 0.3}
    r = simulate(build(data), 0, record_tickets=True)
    t = cols(r)
    vip, prio = t["vip"].astype(bool), t["priority"]
    for level in (0, 1):
        n = assert_never_overtaken(t, (prio == level) & vip, (prio == level) & ~vip, f"non-VIP priority-{level}")
        assert n > 50
        assert_fifo(t, (prio == level) & vip, f"VIP priority {level}")
        assert_fifo(t, (prio == level) & ~vip, f"non-VIP priority {level}")
    assert_never_overtaken(t, prio == 0, (prio == 1) & vip, "VIP priority-1")


def test_vip_only_pool_answers_only_vips() -> None:
    data = mmn_dict(agents=2, rate=1.0, mean_handle=5.0, patience=5.0, horizon=600.0, warmup=30.0, sla_T=None, seed=8)
    data["customers"] = {"vip_share": 0.3}
    data["pools"] = [
        {"name": "vip_desk", "agents": 2, "serves": "vip"},
        {"name": "general", "agents": 3, "serves": "non_vip"},
        {"name": "overflow", "agents": 1},
    ]
    r = simulate(build(data), 0, record_tickets=True)
    t = cols(r)
    ans = t["outcome"] == "answered"
    vip = t["vip"].astype(bool)
    assert (ans & (t["pool"] == "vip_desk")).sum() > 20
    assert vip[ans & (t["pool"] == "vip_desk")].all()
    assert not vip[ans & (t["pool"] == "general")].any()
    assert (ans & (t["pool"] == "general")).sum() > 20
    assert set(vip[ans & (t["pool"] == "overflow")]) == {True, False}


def test_language_fallback_only_after_delay() -> None:
    after = 180.0
    data = mmn_dict(agents=1, rate=1.0, mean_handle=4.0, patience=20.0, horizon=1500.0, warmup=30.0, sla_T=None, seed=4)
    data["customers"] = {"languages": {"en": 0.6, "zh": 0.4}}
    data["pools"] = [
        {"name": "en_team", "agents": 5, "languages": ["en"]},
        {"name": "zh_team", "agents": 1, "languages": ["zh"]},
    ]
    data["routing"] = {"language_fallback": {"to": "en", "after": "3min"}}
    r = simulate(build(data), 0, record_tickets=True)
    conservation(r)
    t = cols(r)
    ans = t["outcome"] == "answered"
    zh_by_en = ans & (t["language"] == "zh") & (t["pool"] == "en_team")
    assert zh_by_en.sum() > 20, "the fallback never happened: the test would be vacuous"
    assert t["wait_s"][zh_by_en].min() >= after * (1 - 1e-12), t["wait_s"][zh_by_en].min()
    # the fallback is one-way: English tickets never go to the zh-only team
    assert not (ans & (t["language"] == "en") & (t["pool"] == "zh_team")).any()
    # and zh tickets do get answered by their own team without waiting that long
    assert (ans & (t["language"] == "zh") & (t["pool"] == "zh_team") & (t["wait_s"] < after)).sum() > 20


# -------------------------------------------------------------------------------- shifts


def test_shift_agents_on_duty_by_interval() -> None:
    n = 3
    data = mmn_dict(agents=n, rate=1.0, mean_handle=2.0, patience=10.0, horizon=3 * 1440.0, warmup=0.0,
                    interval=60.0, sla_T=None, seed=2)  # fmt: skip
    data["categories"]["work"]["handle_time"] = deterministic(2.0)
    data["pools"] = [{"name": "day", "shifts": [{"start": "08:00", "end": "16:00", "agents": n, "timezone": "UTC"}]}]
    s = build(data)
    r = simulate(s, 0)
    iv = r.intervals
    hours = np.asarray(iv["start_s"]) / 3600.0
    duty = np.asarray(iv["agents_on_duty"])
    assert len(hours) == 72
    hour_of_day = np.round(hours).astype(int) % 24
    inside = (hour_of_day >= 8) & (hour_of_day < 16)
    assert duty[inside] == pytest.approx(np.full(inside.sum(), float(n)), abs=1e-9)
    # after 16:00 an agent finishes the ticket in hand (at most 2 min) and leaves
    assert ((duty[hour_of_day == 16] >= -1e-9) & (duty[hour_of_day == 16] <= n * 2 / 60 + 1e-9)).all()
    outside = ~inside & (hour_of_day != 16)
    assert duty[outside] == pytest.approx(np.zeros(outside.sum()), abs=1e-9)
    # nobody answers outside the shift
    answered = np.asarray(iv["answered"])
    occ = np.asarray(iv["occupancy"], dtype=float)
    assert (answered[inside] > 0).all()
    assert np.isnan(occ[outside]).all()
    pool = summarize(r)["by_pool"]["day"]
    assert n * 8 / 24 - 1e-9 <= pool["agents_on_duty"] <= n * 8 / 24 + n * (2 / 60) * 3 / 72 + 1e-9


def test_shift_days_and_timezone() -> None:
    """A Tue/Thu shift 09:00-17:00 in Asia/Singapore (UTC+8) is 01:00-09:00 UTC on those days."""
    data = mmn_dict(agents=2, rate=0.1, mean_handle=2.0, patience=10.0, horizon=7 * 1440.0, warmup=0.0,
                    interval=60.0, sla_T=None, seed=9)  # fmt: skip
    data["categories"]["work"]["handle_time"] = deterministic(2.0)
    data["pools"] = [{"name": "sg", "shifts": [{"start": "09:00", "end": "17:00", "agents": 2, "days": ["tue", "thu"],
                                                  "timezone": "Asia/Singapore"}]}]  # fmt: skip
    r = simulate(build(data), 0)
    hours = np.round(np.asarray(r.intervals["start_s"]) / 3600.0).astype(int)
    duty = np.asarray(r.intervals["agents_on_duty"])
    day, hod = hours // 24, hours % 24  # start is Monday 00:00 UTC: day 1 = Tuesday
    on = np.isin(day, [1, 3]) & (hod >= 1) & (hod < 9)
    assert duty[on] == pytest.approx(np.full(on.sum(), 2.0), abs=1e-9)
    off = ~on & ~(np.isin(day, [1, 3]) & (hod == 9))
    assert duty[off] == pytest.approx(np.zeros(off.sum()), abs=1e-9)


@pytest.mark.parametrize("shifts", [False, True], ids=["24x7", "shift"])
def test_shrinkage(shifts: bool) -> None:
    data = mmn_dict(agents=10, rate=1.0, mean_handle=4.0, horizon=600.0, warmup=0.0, interval=60.0, sla_T=None)
    if shifts:
        data["pools"] = [{"name": "agents", "shrinkage": 0.2,
                          "shifts": [{"start": "00:00", "end": "24:00", "agents": 10}]}]  # fmt: skip
    else:
        data["pools"][0]["shrinkage"] = 0.2
    r = simulate(build(data), 0)
    assert r.intervals["agents_on_duty"] == pytest.approx([8.0] * len(r.intervals["agents_on_duty"]), abs=1e-9)
    assert summarize(r)["by_pool"]["agents"]["agents_on_duty"] == pytest.approx(8.0, abs=1e-9)


# ------------------------------------------------------------------- abandonment, blocking


def test_patience_none_never_abandons() -> None:
    base = mmn_dict(agents=2, rate=0.45, mean_handle=4.0, horizon=1500.0, warmup=50.0, sla_T=None, seed=3)
    r = simulate(build(base), 0, record_tickets=True)
    s = summarize(r)["overall"]["all"]
    assert s["abandoned"] == 0 and s["abandon_rate"] == 0.0
    assert "abandoned" not in set(r.tickets["outcome"])
    assert s["p_wait"] > 0.3  # people did wait
    impatient = with_changes(base)
    impatient["channels"]["phone"]["patience"] = exponential(2.0)
    assert summarize(simulate(build(impatient), 0))["overall"]["all"]["abandoned"] > 0


@pytest.mark.parametrize("cap", [0, 2])
def test_max_waiting_blocks_exactly_when_full(cap: int) -> None:
    """The queue never exceeds max_waiting, and a ticket is blocked only when it is full."""
    data = mmn_dict(agents=2, rate=0.6, mean_handle=4.0, horizon=2000.0, warmup=0.0, sla_T=None, seed=6,
                    max_waiting=cap)  # fmt: skip
    r = simulate(build(data), 0, record_tickets=True)
    conservation(r)
    t = cols(r)
    queued = (t["outcome"] != "blocked") & (t["wait_s"] > 0)
    assert (queued.sum() > 10) == (cap > 0)
    if cap == 0:
        assert (t["wait_s"][t["outcome"] == "answered"] == 0).all()
    # queue length just after every event, from +1 at a queued arrival and -1 when it leaves
    times = np.concatenate([[-1.0], t["arrival_s"][queued], _leave_times(t)[queued]])
    steps = np.concatenate([[0.0], np.ones(queued.sum()), -np.ones(queued.sum())])
    order = np.lexsort((steps, times))  # at equal times, leave before join
    qlen = np.cumsum(steps[order])
    assert qlen.max() <= cap
    blocked_at = t["arrival_s"][t["outcome"] == "blocked"]
    assert blocked_at.size > 10
    # queue length in force at each blocked arrival
    at_block = qlen[np.searchsorted(times[order], blocked_at, side="right") - 1]
    assert (at_block == cap).all()
    # and, for lack of a free agent: the agents were all busy (answered tickets in service)
    start = t["arrival_s"] + t["wait_s"]
    ans = t["outcome"] == "answered"
    busy_at = ((start[ans][None, :] <= blocked_at[:, None]) & (start[ans] + t["handle_s"][ans] > blocked_at[:, None])).sum(axis=1)
    assert (busy_at == 2).all()


def test_deterministic_handle_time_and_proficiency() -> None:
    data = mmn_dict(agents=2, rate=0.3, mean_handle=5.0, horizon=600.0, warmup=0.0, sla_T=None)
    data["categories"] = {
        "fast": {"share": 0.5, "handle_time": deterministic(5.0)},
        "slow": {"share": 0.5, "handle_time": deterministic(5.0)},
    }
    data["pools"] = [
        {"name": "expert", "agents": 2, "skills": {"fast": 2.0}},
        {"name": "novice", "agents": 2, "skills": {"slow": 1.0, "fast": 1.0}},
        {"name": "turbo", "agents": 1, "skills": {"slow": 4.0}},
    ]
    r = simulate(build(data), 0, record_tickets=True)
    t = cols(r)
    ans = t["outcome"] == "answered"
    expected = {"expert": 150.0, "novice": 300.0, "turbo": 75.0}
    for pool, h in expected.items():
        m = ans & (t["pool"] == pool)
        assert m.sum() > 5, pool
        assert (t["handle_s"][m] == h).all(), (pool, set(t["handle_s"][m]))


# ------------------------------------------------------------------ waiting-time quantiles

MMN_Q = dict(agents=5, rate=0.7, mean_handle=5.0, horizon=80000.0, warmup=500.0, sla_T=None, seed=21)


def test_histogram_quantile_within_bin_of_sample_quantile() -> None:
    """wait_p50/p90/p99 lie in the histogram bin (1% relative width) of the exact sample quantile.

    For the answered waits of counted tickets, sorted, the target rank is ceil(q N); the
    histogram interpolates inside the bin holding that order statistic, so
    |ln(hist quantile) - ln(order statistic)| <= 1/PER_E.
    """
    s = build(mmn_dict(**with_changes(MMN_Q, horizon=20000.0)))
    r = simulate(s, 0, record_tickets=True)
    t = cols(r)
    m = counted(t, s.warmup, s.end) & (t["outcome"] == "answered")
    waits = np.sort(t["wait_s"][m])
    summary = summarize(r)
    o = summary["overall"]["all"]
    assert len(waits) == o["answered"]
    for q, key in ((0.5, "wait_p50_s"), (0.9, "wait_p90_s"), (0.99, "wait_p99_s")):
        w = waits[math.ceil(q * len(waits)) - 1]
        if w == 0.0:  # the quantile falls among waits of exactly 0 (histogram bin 0)
            assert o[key] == 0.0, key
            continue
        assert abs(math.log(o[key]) - math.log(w)) <= 1.0 / PER_E + 1e-12, (key, o[key], w)
        assert summary["by_pool"]["agents"][key] == o[key]


def test_wait_p90_against_erlang_c() -> None:
    """wait_p90_s vs ErlangC.wait_quantile(0.9).

    Tolerance: the histogram's interpolation error is at most one bin, 1% relative (bias bound),
    plus 2.5 x the replications' 95% half-width (~5 sigma) for sampling error.
    """
    lam, h, n = MMN_Q["rate"], MMN_Q["mean_handle"], MMN_Q["agents"]
    exact = erlang_c_metrics(n, lam, h).wait_quantile(0.9) * 60.0
    results = run_replications(build(mmn_dict(**MMN_Q)), 10, workers=2)
    agg = aggregate([summarize(r) for r in results])["overall"]["all"]["wait_p90_s"]
    mean, half = agg["mean"], agg["ci95"]
    assert half < 0.05 * exact, "too few tickets for a meaningful check"
    tol = (math.exp(1.0 / PER_E) - 1.0) * exact + 2.5 * half
    assert abs(mean - exact) <= tol, f"wait_p90 {mean:.1f} +- {half:.1f} s, exact {exact:.1f} s, tol {tol:.1f}"


# ---------------------------------------------------------------------------------- misc


def test_counters_and_scopes_are_consistent() -> None:
    r = simulate(build(MULTI), 0)
    assert r.class_counters.shape == (len(r.class_keys), len(COUNTERS))
    s = summarize(r)
    o = s["overall"]["all"]
    assert set(s["by_priority"]) == {"0", "1"}
    assert set(s["by_language"]) == {"en", "zh"}
    assert o["abandon_rate"] == pytest.approx(o["abandoned"] / (o["offered"] - o["blocked"]))
    assert o["block_rate"] == pytest.approx(o["blocked"] / o["offered"])
    assert 0 < o["occupancy"] < 1
    assert r.window == pytest.approx(12 * 3600.0)
    assert sum(r.intervals["offered"]) == o["offered"]
    assert sum(r.intervals["answered"]) == o["answered"]
