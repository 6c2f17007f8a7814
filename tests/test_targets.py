"""Staffing targets: the engine's per-target tallies (stats.targets) against the per-ticket log
and the collector's own counters, and their judgement over replications (staffing.targets)
against summary.json's metrics.

Counts are compared exactly (they are whole numbers); sums of waits to rounding.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from typing import Any

import numpy as np
import pytest
from helpers_sim import build
from simsupport.config.derived import staffing_targets
from simsupport.config.load import scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.engine import Engine
from simsupport.experiment.replications import run_replications
from simsupport.experiment.statistics import aggregate, mean_ci95
from simsupport.experiment.sweep import run_task
from simsupport.staffing.targets import TargetResult, achieved_frame, evaluate_tallies, evaluate_targets
from simsupport.stats import summarize
from simsupport.stats.counters import C
from simsupport.stats.journey import (
    T_ABANDONED,
    T_ANSWERED,
    T_VISITS,
    T_WAIT_ABD,
    T_WAIT_ANS,
)
from simsupport.stats.result import ReplicationResult
from simsupport.stats.targets import COLUMNS, TargetTallies

HOUR = 3600.0
COL = {name: i for i, name in enumerate(COLUMNS)}
EXACT = [c for c in COLUMNS if c != "wait_answered"]


def _run(data: dict[str, Any] | Scenario, k: int = 0) -> tuple[Engine, ReplicationResult, dict[str, np.ndarray]]:
    e = Engine(data if isinstance(data, Scenario) else build(data), k, record_tickets=True)
    r = e.run()
    assert r.tickets is not None and r.targets is not None
    return e, r, {key: np.asarray(v) for key, v in r.tickets.items()}


def _periods(arrival: np.ndarray, tt: TargetTallies, by: str) -> np.ndarray:
    if by == "hours":
        n = tt.hours.shape[1]
        return np.clip(np.floor(arrival / HOUR).astype(int) - tt.first_hour, 0, n - 1)
    n = tt.intervals.shape[1]
    return np.clip((arrival / tt.interval).astype(int) - tt.first_interval, 0, n - 1)


def _reference(log: dict[str, np.ndarray], sel: np.ndarray, T: float, tt: TargetTallies, by: str, *,
               formula: np.ndarray | None = None, short: np.ndarray | None = None,
               arrival: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """[n_periods, COLUMNS] counted from ticket-log rows `sel` (formula/short per row: the SLA's)."""
    arr = log["arrival_s"] if arrival is None else arrival
    n_rows = len(arr)
    formula = np.full(n_rows, "answered_and_abandoned") if formula is None else formula
    short = np.zeros(n_rows) if short is None else short
    p = _periods(arr, tt, by)
    n = (tt.hours if by == "hours" else tt.intervals).shape[1]
    out = np.zeros((n, len(COLUMNS)))
    outcome, wait = log["outcome"], log["wait_s"].astype(float)
    ans = sel & (outcome == "answered")
    abd = sel & np.isin(outcome, ["abandoned", "balked"])
    blk = sel & (outcome == "blocked")
    is_short = abd & (wait < short)
    long_ = abd & ~is_short
    in_den = long_ & np.isin(formula, ["answered_and_abandoned", "offered"])
    in_num = long_ & (formula == "offered") & (wait <= T)

    def add(col: str, mask: np.ndarray, w: np.ndarray | None = None) -> None:
        out[:, COL[col]] += np.bincount(p[mask], weights=None if w is None else w[mask], minlength=n)

    add("offered", ans | abd | blk)
    add("blocked", blk)
    add("answered", ans)
    add("abandoned", abd)
    add("answered_within", ans & (wait <= T))
    add("abandoned_within", abd & (wait <= T))
    add("short_abandoned", is_short)
    add("wait_answered", ans, wait)
    add("sl_num", (ans & (wait <= T)) | in_num)
    add("sl_den", ans | in_den)
    return out


def _same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    ex = [COL[c] for c in EXACT]
    assert np.array_equal(got[:, ex], want[:, ex]), (what, got[:, ex].sum(axis=0), want[:, ex].sum(axis=0))
    assert np.allclose(got[:, COL["wait_answered"]], want[:, COL["wait_answered"]], rtol=1e-9, atol=1e-6), what


def _counted(log: dict[str, np.ndarray], s: Any) -> np.ndarray:
    return (log["arrival_s"] >= s.warmup) & (log["arrival_s"] < s.end)


# ------------------------------------------------------------------------ a desk with every fact


def _desk() -> dict[str, Any]:
    """Two categories on chat (offered formula, short abandons, retries) and phone (blocking),
    email without an SLA; reporting intervals of 25 min (not dividing an hour)."""
    return {
        "name": "targets",
        "horizon": "6h",
        "warmup": "30min",
        "interval": "25min",
        "seed": 5,
        "categories": {"a": {"share": 0.6, "handle_time": {"dist": "exponential", "mean": "90s"}},
                       "b": {"share": 0.4, "handle_time": {"dist": "exponential", "mean": "2min"}}},
        "channels": {
            "chat": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "2min"},
                     "retry": {"prob": 0.3, "after": "1min"},
                     "sla": {"answer_within": "30s", "target": 0.8, "formula": "offered", "short_abandon": "5s"}},
            "phone": {"rate": "1/min", "patience": {"dist": "exponential", "mean": "3min"}, "max_waiting": 2,
                      "sla": {"answer_within": "20s", "target": 0.8}},
            "email": {"rate": "0.5/min"},
        },
        "pools": [{"name": "team", "agents": 6}],
        "staffing": {"targets": [
            {"channel": "chat", "scope": "every_hour"},
            {"channel": "phone", "scope": "worst_hour"},
            {"category": "a", "answer_within": "1min", "target": 0.8, "max_abandon_rate": 0.1, "max_asa": "45s"},
            {"channel": "chat", "category": "b", "answer_within": "2min", "target": 0.9, "scope": "every_interval"},
            {"channel": "email", "max_asa": "5min"},
        ]},
    }  # fmt: skip


def test_tallies_match_the_ticket_log_for_channel_category_and_channel_category_targets() -> None:
    data = _desk()
    e, r, log = _run(data)
    s = e.s
    assert r.in_queue_end == 0  # every counted ticket is in the log
    tt = r.targets
    assert tt is not None and tt.labels == [t.label for t in staffing_targets(s)]
    assert pickle.loads(pickle.dumps(tt)) == tt  # plain arrays, crossing process pools
    counted = _counted(log, s)
    assert (log["outcome"] == "blocked").sum() > 0 and (log["attempt"] > 0).sum() > 0
    formula = np.array([s.channels[c].sla.formula if s.channels[c].sla else "answered_and_abandoned" for c in log["channel"]])
    short = np.array([s.channels[c].sla.short_abandon if s.channels[c].sla else 0.0 for c in log["channel"]])
    assert ((log["outcome"] == "abandoned") & (log["wait_s"].astype(float) < 5) & counted).sum() > 0
    for j, t in enumerate(staffing_targets(s)):
        sel = counted.copy()
        if t.channel is not None:
            sel &= log["channel"] == t.channel
        if t.category is not None:
            sel &= log["category"] == t.category
        T = t.answer_within if t.answer_within is not None else (s.channels[t.channel].sla.threshold if t.own_sla else math.inf)
        assert tt.thresholds[j] == T
        for by in ("hours", "intervals"):
            want = _reference(log, sel, T, tt, by, formula=formula, short=short)
            _same((tt.hours if by == "hours" else tt.intervals)[j], want, f"{t.label} by {by}")


def test_channel_sla_targets_reproduce_the_collectors_counters_hour_by_hour() -> None:
    data = _desk()
    data["staffing"] = {"scopes": ["overall"]}  # the default expansion: every channel SLA
    _, r, _ = _run(data)
    tt = r.targets
    assert tt is not None and tt.labels == ["chat SLA overall", "phone SLA overall"]
    n_ch = len(r.channel_names)
    assert r.hour_counters is not None
    per_hour = r.hour_counters.reshape(-1, n_ch, r.hour_counters.shape[1])
    for j, name in enumerate(["chat", "phone"]):
        ci = r.channel_names.index(name)
        for col in ("offered", "blocked", "answered", "abandoned", "short_abandoned", "sl_num", "sl_den"):
            assert np.array_equal(tt.hours[j, :, COL[col]], per_hour[:, ci, C[col]]), (name, col)
        rows = [i for i, key in enumerate(r.class_keys) if key[0] == name]
        for col in ("offered", "blocked", "answered", "abandoned", "sl_num", "sl_den"):
            assert tt.totals()[j, COL[col]] == r.class_counters[rows, C[col]].sum(), (name, col)
        iv = r.intervals
        for k, ch in enumerate(iv["channel"]):
            if ch != name:
                continue
            p = iv["interval"][k] - tt.first_interval
            for col in ("offered", "answered", "abandoned"):
                assert tt.intervals[j, p, COL[col]] == iv[col][k], (name, p, col)
            den = tt.intervals[j, p, COL["sl_den"]]
            sl = tt.intervals[j, p, COL["sl_num"]] / den if den else math.nan
            assert sl == iv["service_level"][k] or (math.isnan(sl) and math.isnan(iv["service_level"][k]))


def _single_agent(rate: str, handle: str, horizon: str) -> dict[str, Any]:
    return {
        "name": "one-agent",
        "horizon": horizon,
        "warmup": "0s",
        "interval": "30min",
        "seed": 2,
        "categories": {"work": {"share": 1.0, "handle_time": {"dist": "deterministic", "value": handle}}},
        "channels": {"phone": {"rate": rate, "sla": {"answer_within": "1min", "target": 0.8}}},
        "pools": [{"name": "solo", "agents": 1}],
    }


def test_single_agent_with_deterministic_service_waits_by_lindley() -> None:
    """One agent, handle exactly 1 min, nobody abandons: FIFO waits follow from the arrival
    times alone (start_i = max(a_i, start_{i-1} + 1 min)); the tallies count them."""
    data = _single_agent("0.8/min", "1min", "3h")
    e, r, log = _run(data)
    order = np.argsort(log["arrival_s"], kind="stable")
    a = log["arrival_s"][order].astype(float)
    start = np.empty_like(a)
    free = 0.0
    for i, x in enumerate(a):
        start[i] = max(x, free)
        free = start[i] + 60.0
    wait = start - a
    assert np.allclose(np.sort(wait), np.sort(log["wait_s"].astype(float)), atol=1e-9)
    counted = a < e.s.end
    tt = r.targets
    assert tt is not None and tt.labels == ["phone SLA overall"]
    for by, grid in (("hours", tt.hours[0]), ("intervals", tt.intervals[0])):
        p = _periods(a[counted], tt, by)
        n = grid.shape[0]
        assert np.array_equal(grid[:, COL["answered"]], np.bincount(p, minlength=n))
        assert np.array_equal(grid[:, COL["answered_within"]], np.bincount(p, weights=(wait[counted] <= 60.0 + 1e-9), minlength=n))
        assert np.allclose(grid[:, COL["wait_answered"]], np.bincount(p, weights=wait[counted], minlength=n))
    assert 0 < tt.totals()[0, COL["answered_within"]] < tt.totals()[0, COL["answered"]]


def test_tickets_still_waiting_at_the_end_count_as_breaches() -> None:
    """Overloaded without patience (10 min of work every 6 s): the drain stops with counted
    tickets waiting, each past the threshold, so in the denominator as the collector has it."""
    data = _single_agent("10/min", "10min", "1h")
    _, r, _ = _run(scenario_from_dict(data, staffing_as_given=False))  # certainly unstable, on purpose
    assert r.in_queue_end > 0
    tt = r.targets
    assert tt is not None
    tot = tt.totals()[0]
    cc = r.class_counters.sum(axis=0)
    assert tot[COL["offered"]] == cc[C["offered"]] == tot[COL["answered"]] + r.in_queue_end
    assert tot[COL["sl_den"]] == cc[C["sl_den"]] == tot[COL["answered"]] + r.in_queue_end
    assert tot[COL["sl_num"]] == cc[C["sl_num"]]


# ------------------------------------------------------------------------ judging over replications


def test_abandon_rate_and_asa_targets_are_judged_by_their_upper_bounds() -> None:
    data = _desk()
    s = build(data)
    results = run_replications(s, 3)
    out = evaluate_targets(s, results)
    by = {(tr.label, tr.measure): tr for tr in out}
    assert [tr.measure for tr in out if tr.target.category == "a" and tr.target.channel is None] == [
        "service_level", "abandon_rate", "asa"]  # fmt: skip
    ab = by[("category a abandon <= 10% overall", "abandon_rate")]
    asa = by[("category a ASA <= 45s overall", "asa")]
    rows = [[i for i, key in enumerate(r.class_keys) if key[1] == "a"] for r in results]
    want_ab = [r.class_counters[w, C["abandoned"]].sum() / (r.class_counters[w, C["offered"]].sum()
               - r.class_counters[w, C["blocked"]].sum()) for r, w in zip(results, rows)]  # fmt: skip
    want_asa = [r.class_counters[w, C["wait_answered"]].sum() / r.class_counters[w, C["answered"]].sum()
                for r, w in zip(results, rows)]  # fmt: skip
    assert np.allclose(ab.values, want_ab, rtol=1e-12)
    assert np.allclose(asa.values, want_asa, rtol=1e-9)
    for tr in (ab, asa):
        mean, half = mean_ci95(tr.values)
        assert tr.mean == pytest.approx(mean) and tr.ci95 == pytest.approx(half) and tr.n == 3
        assert tr.upper == pytest.approx(mean + half) and tr.lower == pytest.approx(mean - half)
        assert tr.met == (tr.upper <= tr.goal) and tr.bound == tr.upper
    # one goal surely met, one surely missed
    loose = copy.deepcopy(data)
    loose["staffing"] = {"targets": [{"category": "a", "max_abandon_rate": 0.9, "max_asa": "1s"}]}
    s2 = build(loose)
    got = evaluate_targets(s2, run_replications(s2, 3))
    assert [(tr.measure, tr.met) for tr in got] == [("abandon_rate", True), ("asa", False)]


def test_every_hour_lists_the_failing_hours() -> None:
    """A busy afternoon (business_hours profile) against a flat headcount: some hours fail,
    others hold; each counted hour is judged on its own interval over replications."""
    data = {
        "name": "hours",
        "horizon": "1d",
        "warmup": "0s",
        "interval": "30min",
        "seed": 9,
        "categories": {"work": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "10min"}}},
        "channels": {"chat": {"rate": "20/h", "daily_profile": "business_hours",
                              "patience": {"dist": "exponential", "mean": "5min"},
                              "sla": {"answer_within": "30s", "target": 0.8}}},
        "pools": [{"name": "team", "agents": 7}],
        "staffing": {"targets": [{"channel": "chat", "scope": "every_hour"},
                                 {"channel": "chat", "answer_within": "10min", "target": 0.5, "scope": "every_interval"}]},
    }  # fmt: skip
    s = build(data)
    results = run_replications(s, 4)
    hourly, loose = evaluate_targets(s, results)
    assert hourly.scope == "every_hour" and loose.scope == "every_interval" and loose.met and not loose.failing
    offered = np.stack([r.targets.hours[0, :, COL["offered"]] for r in results])  # type: ignore[union-attr]
    busy = np.nonzero((offered > 0).all(axis=0))[0]
    assert 0 < len(busy) < offered.shape[1]  # quiet night hours have no traffic in some replication
    assert hourly.period_start_s == [h * HOUR for h in busy]
    want_failing = []
    for p in busy:
        vals = [r.targets.hours[0, p, COL["sl_num"]] / r.targets.hours[0, p, COL["sl_den"]] for r in results]  # type: ignore[union-attr]
        mean, half = mean_ci95(vals)
        if mean - half < 0.8:
            want_failing.append((p * HOUR, mean, mean - half))
    assert 0 < len(want_failing) < len(busy)
    assert [f[0] for f in hourly.failing] == [f[0] for f in want_failing]
    assert np.allclose([f[1:] for f in hourly.failing], [f[1:] for f in want_failing])
    assert not hourly.met and hourly.lower == min(hourly.period_lower)
    frame = achieved_frame([hourly, loose])
    assert len(frame) == 2 + len(want_failing)
    assert frame["period_start_s"].isna().sum() == 2
    assert list(frame.loc[frame["period_start_s"].notna(), "period_start_s"]) == [f[0] for f in want_failing]
    assert not frame.loc[frame["period_start_s"].notna(), "met"].any()


def test_default_expansion_equals_summary_by_channel_and_worst_hour() -> None:
    """{channel: X} overall is what staffing.search judges: summary's by_channel.X.service_level
    over the same replications; worst_hour is summary's worst_hour.X, the channel's own worst
    hour, replication by replication, however many channels have an SLA."""
    data = _desk()
    data["channels"]["phone"].pop("sla")
    data["staffing"] = {"scopes": ["overall", "worst_hour"]}
    s = build(data)
    results = run_replications(s, 4)
    out = evaluate_targets(s, results)
    assert [tr.label for tr in out] == ["chat SLA overall", "chat SLA worst hour"]
    agg = aggregate([summarize(r) for r in results])
    for tr, scope in zip(out, ("by_channel", "worst_hour")):
        m = agg[scope]["chat"]["service_level"]
        assert tr.mean == m["mean"] and tr.ci95 == m["ci95"], scope
        assert tr.lower == m["mean"] - m["ci95"], scope  # staffing.search's lower bound
        assert tr.met == (tr.lower >= 0.8) and tr.n == 4
    both = _desk()
    both["staffing"] = {"targets": [{"channel": "chat", "scope": "worst_hour"}, {"channel": "phone", "scope": "worst_hour"}]}
    s2 = build(both)
    results2 = run_replications(s2, 3)
    for tr in evaluate_targets(s2, results2):
        ch = tr.target.channel
        for v, r in zip(tr.values, results2):
            worst = summarize(r)["worst_hour"]
            assert v == pytest.approx(worst[ch]["service_level"], abs=1e-12)


# ------------------------------------------------------------------------ the volatile scope


def _market_desk() -> dict[str, Any]:
    return {
        "name": "volatile-targets",
        "horizon": "1d",
        "warmup": "2h",
        "interval": "15min",
        "seed": 11,
        "categories": {"a": {"share": 0.5, "handle_time": {"dist": "exponential", "mean": "2min"}},
                       "b": {"share": 0.5, "handle_time": {"dist": "exponential", "mean": "2min"}}},
        "channels": {"chat": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "3min"},
                              "sla": {"answer_within": "30s", "target": 0.8}},
                     "email": {"rate": "1/min", "patience": {"dist": "exponential", "mean": "5min"}}},
        "pools": [{"name": "team", "agents": 8}],
        "market": {
            "model": "regime", "step": "1min",
            "regimes": {"calm": {"daily_vol": 0.02, "mean_duration": "4h"},
                        "storm": {"daily_vol": 0.031, "mean_duration": "2h"}},
            "shocks": [{"at": "12h", "move": 0.08, "decay": "2h"}],
            "response": {"volatile_above": 1.3, "elasticity": {"chat": 1.0, "email": 0.0}},
        },
        "staffing": {"targets": [
            {"channel": "chat", "scope": "volatile"},
            {"category": "b", "answer_within": "1min", "target": 0.8, "max_asa": "1min", "scope": "volatile"},
            {"channel": "chat", "scope": "overall"},
        ]},
    }  # fmt: skip


def test_volatile_scope_counts_tickets_of_volatile_intervals_only() -> None:
    data = _market_desk()
    e, r, log = _run(data)
    s = e.s
    flags = np.array(e.plan.volatile_flags)
    assert flags.any()
    idx = np.clip((log["arrival_s"].astype(float) * (1.0 / s.interval)).astype(int), 0, len(flags) - 1)
    vol = _counted(log, s) & flags[idx]
    assert 0 < vol.sum() < _counted(log, s).sum()
    tt = r.targets
    assert tt is not None
    for j, t in enumerate(staffing_targets(s)):
        sel = (vol if t.scope == "volatile" else _counted(log, s)).copy()
        if t.channel is not None:
            sel &= log["channel"] == t.channel
        if t.category is not None:
            sel &= log["category"] == t.category
        T = t.answer_within if t.answer_within is not None else s.channels["chat"].sla.threshold  # type: ignore[union-attr]
        for by in ("hours", "intervals"):
            _same((tt.hours if by == "hours" else tt.intervals)[j], _reference(log, sel, T, tt, by), f"{t.label} {by}")
    # the twins hold exactly the volatile rows: the same numbers as summary's volatile scope
    results = [r, *run_replications(s, [1, 2])]
    out = evaluate_targets(s, results)
    agg = aggregate([summarize(x) for x in results])
    chat_vol = out[0]
    assert chat_vol.label == "chat SLA volatile"
    m = agg["volatile"]["chat"]["service_level"]
    assert chat_vol.mean == m["mean"] and chat_vol.lower == m["mean"] - m["ci95"]
    assert [tr.measure for tr in out[1:3]] == ["service_level", "asa"]


# ------------------------------------------------------------------------ tiers


def _journey_desk() -> dict[str, Any]:
    """L1 (4 agents) escalates 40% of chats to L2 (1 agent); customers give up at every visit."""
    return {
        "name": "tiers",
        "horizon": "6h",
        "warmup": "0s",
        "interval": "30min",
        "seed": 21,
        "categories": {"work": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "3min"}}},
        "channels": {"chat": {"rate": "1/min", "patience": {"dist": "exponential", "mean": "4min"},
                              "sla": {"answer_within": "1min", "target": 0.8}}},
        "pools": [{"name": "l1", "tier": "L1", "agents": 4}, {"name": "l2", "tier": "L2", "agents": 1}],
        "escalation": {"L1": {"to": "L2", "prob": 0.4}},
        "staffing": {"targets": [
            {"tier": "L2", "answer_within": "2min", "target": 0.8, "max_asa": "3min"},
            {"tier": "L1", "answer_within": "1min", "target": 0.8, "scope": "every_hour"},
            {"channel": "chat"},
        ]},
    }  # fmt: skip


def test_tier_targets_on_a_journey_desk_count_every_visit() -> None:
    e, r, log = _run(_journey_desk())
    s = e.s
    jt, tt = r.journey, r.targets
    assert jt is not None and tt is not None
    # counted visits: those of journeys whose first contact arrived in the window
    first = {}
    for i, a in zip(log["id"], log["arrival_s"]):
        first[i] = min(first.get(i, math.inf), a)
    counted = np.array([s.warmup <= first[i] < s.end for i in log["id"]])
    tot = tt.totals()
    for j, tier in ((0, "L2"), (1, "L1")):
        k = jt.tiers.index(tier)
        c = jt.tier_counters[k]
        assert c[T_ANSWERED] > 0 and c[T_ABANDONED] > 0, tier
        assert tot[j, COL["answered"]] == c[T_ANSWERED] and tot[j, COL["abandoned"]] == c[T_ABANDONED]
        assert tot[j, COL["offered"]] == c[T_VISITS] == c[T_ANSWERED] + c[T_ABANDONED] + jt.tier_waiting_end[k]
        assert tot[j, COL["wait_answered"]] == pytest.approx(c[T_WAIT_ANS], rel=1e-12)
        sel = counted & (log["tier"] == tier)
        T = staffing_targets(s)[j].answer_within
        for by in ("hours", "intervals"):
            _same((tt.hours if by == "hours" else tt.intervals)[j], _reference(log, sel, float(T), tt, by), f"{tier} {by}")
        assert jt.tier_counters[k, T_WAIT_ABD] == pytest.approx(
            log["wait_s"][sel & (log["outcome"] == "abandoned")].astype(float).sum(), rel=1e-12)
    assert tot[0, COL["answered"]] > 0 and tot[0, COL["answered_within"]] < tot[0, COL["answered"]]
    # the channel target counts first responses only, as by_channel does
    sm = summarize(r)["by_channel"]["chat"]
    assert tot[2, COL["offered"]] == sm["offered"] and tot[2, COL["sl_num"]] / tot[2, COL["sl_den"]] == sm["service_level"]
    out = evaluate_targets(s, [r, *run_replications(s, [1])])
    assert [(tr.target.tier, tr.measure) for tr in out] == [("L2", "service_level"), ("L2", "asa"), ("L1", "service_level"),
                                                           (None, "service_level")]  # fmt: skip
    assert out[0].values[0] == tot[0, COL["sl_num"]] / tot[0, COL["sl_den"]]
    assert out[1].values[0] == pytest.approx(c_asa := tot[0, COL["wait_answered"]] / tot[0, COL["answered"]]) and c_asa > 0


def test_volatile_tier_targets_count_visits_arriving_in_volatile_intervals() -> None:
    """On a journey desk under a market, a volatile tier target counts the tier's visits by the
    market's flag of the interval each visit arrived in (its own arrival, escalations included)."""
    data = _journey_desk()
    data["horizon"] = "1d"
    data["channels"]["chat"]["rate"] = "0.7/min"
    data["market"] = copy.deepcopy(_market_desk()["market"])
    data["market"]["response"]["elasticity"] = {"chat": 1.0}
    data["staffing"] = {"targets": [{"tier": "L2", "answer_within": "2min", "target": 0.8, "scope": "volatile"},
                                    {"tier": "L2", "answer_within": "2min", "target": 0.8}]}  # fmt: skip
    e, r, log = _run(data)
    s = e.s
    first: dict[Any, float] = {}
    for i, a in zip(log["id"], log["arrival_s"]):
        first[i] = min(first.get(i, math.inf), a)
    counted = np.array([s.warmup <= first[i] < s.end for i in log["id"]])
    flags = np.array(e.plan.volatile_flags)
    idx = np.clip((log["arrival_s"].astype(float) * (1.0 / s.interval)).astype(int), 0, len(flags) - 1)
    tt = r.targets
    assert tt is not None
    for j, sel in enumerate((counted & (log["tier"] == "L2") & flags[idx], counted & (log["tier"] == "L2"))):
        _same(tt.intervals[j], _reference(log, sel, 120.0, tt, "intervals"), f"target {j}")
    assert 0 < tt.totals()[0, COL["answered"]] < tt.totals()[1, COL["answered"]]


def test_tier_targets_on_a_plain_desk_count_by_the_answering_pool() -> None:
    """Plain desk: front (L1) serves category a only, experts (L2) serve a and b. An answered
    ticket counts for the tier of the pool answering it; an abandon only where every pool
    that could serve it has the tier (b: L2; a: neither)."""
    data = {
        "name": "plain-tiers",
        "horizon": "4h",
        "warmup": "0s",
        "interval": "1h",
        "seed": 4,
        "categories": {"a": {"share": 0.7, "handle_time": {"dist": "exponential", "mean": "3min"}},
                       "b": {"share": 0.3, "handle_time": {"dist": "exponential", "mean": "4min"}}},
        "channels": {"chat": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "3min"},
                              "sla": {"answer_within": "1min", "target": 0.8}}},
        "pools": [{"name": "front", "tier": "L1", "agents": 3, "skills": ["a"]},
                  {"name": "experts", "tier": "L2", "agents": 3}],
        "staffing": {"targets": [{"tier": "L1", "answer_within": "1min", "target": 0.8},
                                 {"tier": "L2", "answer_within": "1min", "target": 0.8, "max_abandon_rate": 0.2}]},
    }  # fmt: skip
    e, r, log = _run(data)
    assert e.journey is None
    counted = _counted(log, e.s)
    tier_of = {"front": "L1", "experts": "L2"}
    pool_tier = np.array([tier_of.get(p, "") if p is not None else "" for p in log["pool"]])
    tt = r.targets
    assert tt is not None
    for j, tier in enumerate(("L1", "L2")):
        answered = log["outcome"] == "answered"
        only = log["category"] == "b" if tier == "L2" else np.zeros(len(counted), dtype=bool)
        sel = counted & ((answered & (pool_tier == tier)) | (~answered & only))
        _same(tt.hours[j], _reference(log, sel, 60.0, tt, "hours"), tier)
    assert tt.totals()[1, COL["abandoned"]] > 0 and tt.totals()[0, COL["abandoned"]] == 0
    assert tt.totals()[:, COL["answered"]].sum() == r.class_counters[:, C["answered"]].sum()


def test_results_without_tallies_are_refused_and_targets_without_traffic_cannot_fail() -> None:
    data = _market_desk()
    data["market"]["shocks"] = []
    data["market"]["response"]["volatile_above"] = 50.0  # never volatile
    s = build(data)
    results = run_replications(s, 2)
    out = evaluate_targets(s, results)
    vol = [tr for tr in out if tr.scope == "volatile"]
    assert vol and all(tr.n == 0 and math.isnan(tr.mean) and tr.met for tr in vol)
    assert isinstance(out[0], TargetResult)
    results[0].targets = None
    with pytest.raises(ValueError, match="no target tallies"):
        evaluate_targets(s, results)


def test_tallies_round_trip_through_a_store_record() -> None:
    """A sweep store keeps a replication's target tallies as JSON; read back, they judge alike
    (a journey desk, with channel, category and tier targets)."""
    s = scenario_from_dict(_journey_desk())
    records = [json.loads(json.dumps(run_task(s, k))) for k in range(3)]
    back = [TargetTallies.from_record(r["targets"]) for r in records]
    direct = run_replications(s, 3)
    assert all(np.array_equal(b.hours, d.targets.hours) for b, d in zip(back, direct))
    assert all(b.intervals.shape[1] == 0 for b in back)  # no every_interval target: left out
    full = [TargetTallies.from_record(json.loads(json.dumps(d.targets.record()))) for d in direct]
    assert full == [d.targets for d in direct]
    a, b = evaluate_tallies(s, back), evaluate_targets(s, direct)
    assert a and [(x.label, x.mean, x.lower, x.upper, x.met) for x in a] == [
        (x.label, x.mean, x.lower, x.upper, x.met) for x in b
    ]
