"""Invariants over random desks: whatever a valid scenario combines, the model runs and
accounts for every ticket.

Hypothesis draws small scenarios mixing the features (several channels and pools, languages,
skills, VIP pools, shifts, shrinkage, patience, retries to other channels, blocking, language
fallback, every agent-choice rule, markets with shocks and contagion, surge rules); each is
validated first (invalid combinations are skipped, they are the loader's tests' business) and
run for a short horizon.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers_sim import assert_conserved
from simsupport.config.load import scenario_from_dict
from simsupport.errors import ScenarioError
from simsupport.engine import simulate

CHANNELS = ["chat", "phone", "email"]
LANGS = ["en", "zh", "ko"]
CATS = ["trade", "kyc", "general"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    n_ch = draw(st.integers(1, 3))
    channels = CHANNELS[:n_ch]
    langs = LANGS[: draw(st.integers(1, 3))]
    cats = CATS[: draw(st.integers(1, 3))]
    shares = [1.0 / len(cats)] * len(cats)
    categories = {
        c: {
            "share": shares[i],
            "priority": draw(st.integers(0, 2)),
            "volatility_weight": draw(st.sampled_from([1.0, 2.0, 3.0])),
            "handle_time": draw(
                st.sampled_from(
                    [
                        {"dist": "exponential", "mean": "4min"},
                        {"dist": "lognormal", "mean": "5min", "cv": 0.8},
                        {"dist": "deterministic", "value": "3min"},
                        {"dist": "uniform", "low": "1min", "high": "6min"},
                    ]
                )
            ),
            **({"wrap_up": "20s"} if draw(st.booleans()) else {}),
        }
        for i, c in enumerate(cats)
    }
    chans = {}
    for ch in channels:
        spec: dict = {
            "rate": draw(st.sampled_from(["20/h", "60/h", "150/h"])),
            "patience": draw(st.sampled_from(["none", {"dist": "exponential", "mean": "3min"}])),
            "sla": {"answer_within": "30s", "target": 0.8,
                    "formula": draw(st.sampled_from(["answered_and_abandoned", "answered", "offered"]))},
            "daily_profile": draw(st.sampled_from(["flat", "business_hours"])),
        }  # fmt: skip
        if draw(st.booleans()):
            spec["max_waiting"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            spec["lines"] = draw(st.integers(1, 20))
        if spec["patience"] != "none" and draw(st.booleans()):
            spec["retry"] = {"prob": 0.4, "after": "5min", "channel": draw(st.sampled_from(channels))}
        chans[ch] = spec
    pools = [
        {"name": "generalists", "agents": draw(st.integers(1, 12)), "shrinkage": draw(st.sampled_from([0.0, 0.2]))}
    ]
    if draw(st.booleans()):
        pools.append(
            {
                "name": "specialists",
                "languages": langs[: draw(st.integers(1, len(langs)))],
                "skills": {cats[0]: 1.5},
                "channels": channels[:1],
                "shifts": [{"start": "06:00", "end": "18:00", "agents": draw(st.integers(1, 5))}],
            }
        )
    vip_share = draw(st.sampled_from([0.0, 0.1]))
    if vip_share > 0 and draw(st.booleans()):
        pools.append({"name": "vip", "agents": 2, "serves": "vip"})
    data: dict = {
        "name": "prop",
        "horizon": "1d",
        "warmup": "2h",
        "interval": "1h",
        "seed": draw(st.integers(0, 1000)),
        "customers": {"languages": {lg: 1.0 / len(langs) for lg in langs}, "vip_share": vip_share},
        "categories": categories,
        "channels": chans,
        "pools": pools,
        "routing": {
            "agent_choice": draw(st.sampled_from(["longest_idle", "most_skilled", "random", "pool_order"])),
            **({"language_fallback": {"to": langs[0], "after": "2min"}} if draw(st.booleans()) else {}),
        },
    }
    if draw(st.booleans()):
        data["market"] = {
            "model": draw(st.sampled_from(["regime", "garch", "none"])),
            **({"regimes": {"calm": {"daily_vol": 0.03, "mean_duration": "2d"},
                            "hot": {"daily_vol": 0.08, "mean_duration": "3h"}}}),  # fmt: skip
            "daily_vol": 0.03,
            "shocks": [{"at": "10h", "move": -0.08, "decay": "2h"}],
            "response": {
                "elasticity": 0.8,
                **({"contagion": {"branching": 0.2, "decay": "15min"}} if draw(st.booleans()) else {}),
                **({"overdispersion": {"cv": 0.1}} if draw(st.booleans()) else {}),
            },
        }
        if data["market"]["model"] != "regime":
            del data["market"]["regimes"]
        if data["market"]["model"] != "garch":
            del data["market"]["daily_vol"]
        if draw(st.booleans()):
            data["surge"] = {
                "on_call": [{"name": "reserve", "like": "generalists", "agents": 3, "delay": "10min",
                             "when": {"volatility_over": 0.05}}],  # fmt: skip
                "overflow": [{"pool": pools[-1]["name"], "channels": channels,
                              "when": {"queue_over": 5}}],  # fmt: skip
            }
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_ticket_is_accounted_for(data: dict) -> None:
    try:
        s = scenario_from_dict(data)
    except ScenarioError:
        assume(False)  # an invalid combination (e.g. nobody can serve a language): not our case
        return
    r = simulate(s, 0)
    # overall and per channel, in whole numbers: offered == outcomes + still waiting
    summary, _ = assert_conserved(r)
    overall = summary["overall"]["all"]
    for block in [overall, *summary["by_channel"].values()]:
        for metric in ("service_level", "abandon_rate", "block_rate", "p_wait", "occupancy"):
            v = block.get(metric, math.nan)
            assert math.isnan(v) or 0.0 <= v <= 1.0 + 1e-12, (metric, v)
        for metric in ("asa_s", "mean_wait_s", "wait_p50_s", "wait_p90_s", "wait_p99_s"):
            v = block.get(metric, math.nan)
            assert math.isnan(v) or v >= 0.0, (metric, v)
    for pool in summary["by_pool"].values():
        assert math.isnan(pool["occupancy"]) or 0.0 <= pool["occupancy"] <= 1.0 + 1e-12
