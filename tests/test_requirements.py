"""`staffing.requirements`: the tier-aware analytic requirement per pool and slot.

Flat desks make every flow exact (the lag of a constant rate is that rate), so the numbers are
checked against the textbook formulas in `simsupport.theory` directly. No simulation here.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from simsupport.config.load import scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.config.targets import Target
from simsupport.staffing.requirements import (
    PoolNeed,
    PoolRequirement,
    analytic_start,
    pool_needs,
    requirements,
)
from simsupport.staffing.variables import decision_variables
from simsupport.theory import erlang_a, min_agents_erlang_a, min_agents_erlang_c

RATE = 2 / 60  # chat contacts per second (2 a minute)
SHARE = {"general": 0.6, "trading": 0.4}
MEAN = {"general": 360.0, "trading": 600.0}  # handle times, seconds
ESCALATE = {"general": 0.10, "trading": 0.35}


def flat(*, rate: float = 3.0, handle: float = 6.0, within: float = 30.0, target: float = 0.8,
         patience: float | None = None, agents: int = 30, **pool: Any) -> dict[str, Any]:  # fmt: skip
    """One phone channel (rate per minute, exponential handle time in minutes), one 24x7 pool."""
    return {
        "name": "flat", "horizon": "1d",
        "categories": {"general": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": f"{handle}min"}}},
        "channels": {"phone": {
            "rate": f"{rate}/min",
            "patience": "none" if patience is None else {"dist": "exponential", "mean": f"{patience}min"},
            "sla": {"answer_within": f"{within}s", "target": target},
        }},
        "pools": [{"name": "agents", "agents": agents, **pool}],
    }  # fmt: skip


def tiered(l1: int = 30, l2: int = 8) -> dict[str, Any]:
    """Chat into L1 (30 agents), escalating to L2 (8 agents) 10% of general and 35% of trading."""
    return {
        "name": "tiered", "horizon": "1d",
        "categories": {c: {"share": SHARE[c], "handle_time": {"dist": "exponential", "mean": f"{MEAN[c]}s"}}
                       for c in SHARE},
        "channels": {"chat": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "3min"},
                              "sla": {"answer_within": "60s", "target": 0.9}}},
        "pools": [{"name": "l1", "tier": "L1", "agents": l1}, {"name": "l2", "tier": "L2", "agents": l2}],
        "escalation": {"L1": {"to": "L2", "prob": dict(ESCALATE)}},
    }  # fmt: skip


def make(data: dict[str, Any]) -> Scenario:
    return scenario_from_dict(data, staffing_as_given=False)


def nobody(s: Scenario, pool: str) -> Scenario:
    """The scenario with no agents in `pool` (the checks refuse a tier nobody staffs, so the
    requirement is asked of the validated scenario with the headcount set afterwards)."""
    return s.model_copy(update={"pools": [p.model_copy(update={"agents": 0}) if p.name == pool else p for p in s.pools]})


def by_pool(reqs: list[PoolRequirement]) -> dict[str, PoolRequirement]:
    return {r.pool: r for r in reqs}


# -- the flat single queue: the textbook formulas, slot by slot ------------------------------------------
def test_flat_queue_is_erlang_c_in_every_slot() -> None:
    (r,) = requirements(make(flat()), slot=1800.0, days=7)
    need = min_agents_erlang_c(3 / 60, 360, 30, 0.8)
    assert len(r.t) == 336 and r.slot == 1800.0 and r.t[1] == 1800.0
    assert r.arrivals == pytest.approx(np.full(336, 3 / 60), rel=1e-12)
    assert r.load == pytest.approx(np.full(336, 18.0), rel=1e-9)
    assert r.agents.tolist() == [need] * 336 and r.scheduled.tolist() == [need] * 336
    assert (r.channel, r.threshold, r.target, r.patience) == ("phone", 30.0, 0.8, math.inf)
    assert any("Erlang C" in w for w in r.why)


def test_flat_queue_with_patience_is_erlang_a() -> None:
    (r,) = requirements(make(flat(rate=3.6, patience=1.0)), slot=900.0, days=1)
    assert len(r.t) == 96 and r.patience == pytest.approx(60.0)
    assert r.agents.tolist() == [min_agents_erlang_a(3.6 / 60, 360, 60, 30, 0.8)] * 96


def test_profile_settles_to_the_erlang_need_of_each_level() -> None:
    """A quiet half day then a busy one: once the lag (6 min handle time) settles, each slot
    needs exactly what a stationary queue at that rate needs; just after the step it is between."""
    data = flat(rate=2.0)
    data["channels"]["phone"]["daily_profile"] = [0.5] * 12 + [1.5] * 12
    (r,) = requirements(make(data), slot=1800.0, days=1)
    low, high = min_agents_erlang_c(1 / 60, 360, 30, 0.8), min_agents_erlang_c(3 / 60, 360, 30, 0.8)
    assert r.agents[4:24].tolist() == [low] * 20 and r.agents[28:48].tolist() == [high] * 20
    assert low <= r.agents[24] <= high and r.load[24] < 18.0 - 1.0  # the load lags the step up
    assert r.load.mean() == pytest.approx(r.arrivals.mean() * 360, rel=1e-9)  # the lag keeps the mean


def test_no_sla_is_the_load_rounded_up() -> None:
    data = flat(rate=2.5)
    del data["channels"]["phone"]["sla"]
    (r,) = requirements(make(data), slot=3600.0, days=1)
    assert r.agents.tolist() == [math.ceil(2.5 / 60 * 360)] * 24 and r.label == "load rounded up"
    assert any("rounded up" in w for w in r.why)


def test_shrinkage_raises_scheduled() -> None:
    (r,) = requirements(make(flat(shrinkage=0.25)), slot=3600.0, days=1)
    need = min_agents_erlang_c(3 / 60, 360, 30, 0.8)
    assert r.agents.tolist() == [need] * 24
    assert r.scheduled.tolist() == [math.ceil(need / 0.75)] * 24


# -- tiers and escalation --------------------------------------------------------------------------------
def test_tiered_desk_gives_l2_the_escalated_load() -> None:
    reqs = requirements(make(tiered()), slot=1800.0, days=7)
    l1, l2 = by_pool(reqs)["l1"], by_pool(reqs)["l2"]
    lam2 = sum(RATE * SHARE[c] * ESCALATE[c] for c in SHARE)  # 0.2 of the contacts escalate
    s2 = sum(SHARE[c] * ESCALATE[c] * MEAN[c] for c in SHARE) / sum(SHARE[c] * ESCALATE[c] for c in SHARE)
    assert l2.arrivals == pytest.approx(np.full(336, lam2), rel=1e-9)
    assert l2.load == pytest.approx(np.full(336, lam2 * s2), rel=1e-9)
    need2 = min_agents_erlang_a(lam2, s2, 180.0, 60.0, 0.9)
    assert need2 > 0 and l2.agents.tolist() == [need2] * 336
    assert l2.channel == "chat" and any("escalated" in w for w in l2.why)
    s1 = sum(SHARE[c] * MEAN[c] for c in SHARE)
    assert l1.arrivals == pytest.approx(np.full(336, RATE), rel=1e-9)  # first visits only
    assert l1.agents.tolist() == [min_agents_erlang_a(RATE, s1, 180.0, 60.0, 0.9)] * 336


def test_analytic_start_staffs_l2_on_a_tiered_desk() -> None:
    s = make(tiered())
    start = analytic_start(s, decision_variables(s))
    assert start["l2"] > 0 and start["l1"] > start["l2"]
    assert start["l2"] == by_pool(requirements(s, slot=3600.0))["l2"].agents.max()
    (l2,) = [n for n in pool_needs(s) if n.pool == "l2"]
    assert isinstance(l2, PoolNeed) and len(l2.t) == 168 and l2.agents.min() > 0


def test_escalation_follows_the_tier_chain() -> None:
    data = tiered()
    data["pools"].append({"name": "l3", "tier": "L3", "agents": 2})
    data["escalation"]["L2"] = {"to": "L3", "prob": 0.5}
    l3 = by_pool(requirements(make(data), slot=3600.0, days=1))["l3"]
    lam3 = sum(RATE * SHARE[c] * ESCALATE[c] * 0.5 for c in SHARE)
    assert l3.arrivals == pytest.approx(np.full(24, lam3), rel=1e-9) and l3.agents.min() > 0


def test_a_tier_with_only_zero_agent_pools_still_gets_its_work() -> None:
    zero = by_pool(requirements(nobody(make(tiered()), "l2"), slot=3600.0, days=1))["l2"]
    eight = by_pool(requirements(make(tiered()), slot=3600.0, days=1))["l2"]
    assert zero.arrivals == pytest.approx(eight.arrivals, rel=1e-12) and zero.agents.tolist() == eight.agents.tolist()
    assert zero.agents.min() > 0 and any("no agents today" in w for w in zero.why)
    s = nobody(make(tiered()), "l2")
    assert analytic_start(s, decision_variables(s))["l2"] > 0
    # the entry tier too: an L1 with nobody takes every first visit
    l1 = by_pool(requirements(nobody(make(tiered()), "l1"), slot=3600.0, days=1))["l1"]
    assert l1.arrivals == pytest.approx(np.full(24, RATE), rel=1e-12) and l1.agents.min() > 0


def test_work_is_split_by_headcount_and_zero_agent_pools_get_none_beside_staffed_ones() -> None:
    data = tiered()
    data["pools"][1:1] = [{"name": "l1b", "tier": "L1", "agents": 10}, {"name": "l1c", "tier": "L1", "agents": 0}]
    r = by_pool(requirements(make(data), slot=3600.0, days=1))
    assert r["l1"].arrivals == pytest.approx(np.full(24, RATE * 0.75), rel=1e-9)
    assert r["l1b"].arrivals == pytest.approx(np.full(24, RATE * 0.25), rel=1e-9)
    assert r["l1c"].arrivals.max() == 0 and r["l1c"].agents.max() == 0
    # an unrostered pool (a schedule, no headcount) counts as an average pool of those it shares with
    data["pools"][2] = {"name": "l1c", "tier": "L1", "schedule": {"templates": [{"name": "full", "length": "8h"}],
                                                                  "starts": {"from": "00:00", "to": "16:00", "every": "8h"}}}  # fmt: skip
    r = by_pool(requirements(make(data), slot=3600.0, days=1))
    assert r["l1c"].arrivals == pytest.approx(np.full(24, RATE / 3), rel=1e-9)
    assert r["l1"].arrivals == pytest.approx(np.full(24, RATE * 30 / 60), rel=1e-9)


def test_needs_info_and_reopens_add_visits_at_the_same_tier() -> None:
    data = flat(rate=1.0, within=3600.0, target=0.8)
    data["channels"] = {"email": {"rate": "1/min", "patience": "none", "sla": {"first_response_within": "1h", "target": 0.8},
                                  "needs_info": {"prob": 0.15, "after": "6h"}, "reopen": {"prob": 0.04, "after": "2d"}}}  # fmt: skip
    (r,) = requirements(make(data), slot=3600.0, days=7)
    assert r.arrivals == pytest.approx(np.full(168, 1 / 60 * 1.19), rel=1e-9)
    assert r.load == pytest.approx(np.full(168, 1 / 60 * 1.19 * 360), rel=1e-9)


# -- bot and concurrency ---------------------------------------------------------------------------------
def test_chatbot_takes_deflected_work_off() -> None:
    data = tiered()
    del data["escalation"]  # no tiers: every pool would take chats, so L1 alone
    data["pools"] = data["pools"][:1]
    data["chatbot"] = {"channels": ["chat"], "deflection": {"default": 0.3, "by_category": {"general": 0.5}},
                       "handover": {"handle_time": 1.2, "patience": 0.5}}  # fmt: skip
    r = by_pool(requirements(make(data), slot=3600.0, days=1))["l1"]
    passed = {"general": 0.5, "trading": 0.7}
    lam = sum(RATE * SHARE[c] * passed[c] for c in SHARE)
    work = sum(RATE * SHARE[c] * passed[c] * MEAN[c] * 1.2 for c in SHARE)
    assert r.arrivals == pytest.approx(np.full(24, lam), rel=1e-9)
    assert r.load == pytest.approx(np.full(24, work), rel=1e-9)
    assert r.patience == pytest.approx(90.0)  # handed over: half as patient
    assert r.agents.tolist() == [min_agents_erlang_a(lam, work / lam, 90.0, 60.0, 0.9)] * 24
    assert any("chatbot" in w for w in r.why)
    plain = by_pool(requirements(make(tiered()), slot=3600.0, days=1))["l1"]
    assert r.agents.max() < plain.agents.max()


def test_concurrency_divides_the_slots_between_agents() -> None:
    data = flat(rate=6.0, patience=2.0)
    data["channels"]["phone"]["concurrency"] = 3
    (r,) = requirements(make(data), slot=3600.0, days=1)
    slots = min_agents_erlang_a(0.1, 360, 120, 30, 0.8)
    assert r.load == pytest.approx(np.full(24, 36.0), rel=1e-9)  # ticket work, before the slots
    assert r.agents.tolist() == [math.ceil(slots / 3)] * 24
    assert any("3 chats per agent" in w for w in r.why)
    # a stretch makes chats longer: between no stretch and every chat at the full stretch
    data = flat(rate=3.0)
    data["channels"]["phone"]["concurrency"] = {"max": 3, "stretch": [1.0, 1.2, 1.4]}
    (st,) = requirements(make(data), slot=3600.0, days=1)
    least = math.ceil(min_agents_erlang_c(0.05, 360, 30, 0.8) / 3)
    most = math.ceil(min_agents_erlang_c(0.05, 360 * 1.4, 30, 0.8) / 3)
    assert least < st.agents.min() == st.agents.max() < most


# -- targets ----------------------------------------------------------------------------------------------
def test_category_target_raises_the_pools_serving_that_category() -> None:
    data = tiered()
    data["categories"]["trading"]["skill"] = "trading"
    data["pools"].append({"name": "generalists", "tier": "L1", "agents": 10, "skills": ["general"]})
    s = make(data)
    base = by_pool(requirements(s, slot=3600.0, days=1, targets=[Target(channel="chat")]))
    tight = by_pool(requirements(s, slot=3600.0, days=1, targets=[
        Target(channel="chat"), Target(category="trading", answer_within="10s", target=0.95)]))  # fmt: skip
    for pool in ("l1", "l2"):  # they serve trading: raised
        assert tight[pool].agents.sum() > base[pool].agents.sum()
        assert (tight[pool].threshold, tight[pool].target) == (10.0, 0.95) and "trading" in tight[pool].label
    assert tight["generalists"].agents.tolist() == base["generalists"].agents.tolist()  # no trading there
    assert base["l1"].agents.tolist() == by_pool(requirements(s, slot=3600.0, days=1))["l1"].agents.tolist()


def test_tier_target_applies_to_that_tier_only_and_pools_without_one_get_the_load() -> None:
    s = make(tiered())
    r = by_pool(requirements(s, slot=3600.0, days=1, targets=[Target(tier="L2", answer_within="1h", target=0.8)]))
    lam2 = sum(RATE * SHARE[c] * ESCALATE[c] for c in SHARE)
    s2 = r["l2"].load[0] / lam2
    assert r["l2"].agents.tolist() == [min_agents_erlang_a(lam2, s2, 180.0, 3600.0, 0.8)] * 24
    assert r["l1"].agents.tolist() == [math.ceil(r["l1"].load[0])] * 24 and r["l1"].label == "load rounded up"


def test_abandon_and_asa_targets() -> None:
    s = make(tiered())
    r = by_pool(requirements(s, slot=3600.0, days=1, targets=[Target(channel="chat", max_abandon_rate=0.02)]))["l1"]
    lam, s1 = RATE, sum(SHARE[c] * MEAN[c] for c in SHARE)
    n = int(r.agents[0])
    assert erlang_a(n, lam, s1, 180.0).p_abandon <= 0.02 < erlang_a(n - 1, lam, s1, 180.0).p_abandon
    r = by_pool(requirements(s, slot=3600.0, days=1, targets=[Target(channel="chat", max_asa="20s")]))["l1"]
    n = int(r.agents[0])
    assert erlang_a(n, lam, s1, 180.0).mean_wait_served <= 20.0 < erlang_a(n - 1, lam, s1, 180.0).mean_wait_served


def test_requirements_leave_the_scenario_alone_and_check_their_arguments() -> None:
    data = tiered()
    before = copy.deepcopy(data)
    s = make(data)
    requirements(s, slot=3600.0, days=1)
    assert data == before
    with pytest.raises(ValueError):
        requirements(s, slot=0.0)
