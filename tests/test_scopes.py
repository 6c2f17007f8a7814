"""The worst_hour scope, checked against the ticket log it summarises."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsupport.config.load import scenario_from_dict
from simsupport.stats import summarize
from simsupport.engine import simulate

HOUR = 3600.0


def _desk(**extra: object) -> dict:
    """Two channels with a busy afternoon (business_hours profile), so hours differ clearly."""
    data = {
        "name": "scopes",
        "horizon": "2d",
        "warmup": "6h",
        "interval": "30min",
        "seed": 3,
        "categories": {"work": {"share": 1.0, "handle_time": {"dist": "exponential", "mean": "5min"}}},
        "channels": {
            "chat": {"rate": "120/h", "daily_profile": "business_hours",
                     "patience": {"dist": "exponential", "mean": "3min"},
                     "sla": {"answer_within": "30s", "target": 0.8}},
            "phone": {"rate": "30/h", "patience": {"dist": "exponential", "mean": "2min"},
                      "sla": {"answer_within": "20s", "target": 0.8}},
        },  # fmt: skip
        "pools": [{"name": "team", "agents": 12}],
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("seed", [3, 4])
def test_worst_hour_is_the_hour_with_the_lowest_service_level(seed: int) -> None:
    s = scenario_from_dict(_desk(seed=seed))
    r = simulate(s, 0, record_tickets=True)
    worst = summarize(r)["worst_hour"]
    t = r.tickets
    arrival = np.asarray(t["arrival_s"])
    wait = np.asarray(t["wait_s"])
    outcome = np.asarray(t["outcome"])
    channel = np.asarray(t["channel"])
    counted = (arrival >= s.warmup) & (arrival < s.end)
    threshold = np.where(channel == "chat", 30.0, 20.0)
    left = counted & np.isin(outcome, ["answered", "abandoned"])
    met = left & (outcome == "answered") & (wait <= threshold)
    hours = np.floor(arrival / HOUR).astype(int)
    levels = {}
    for h in np.unique(hours[left]):
        den = np.sum(left & (hours == h))
        levels[h] = np.sum(met & (hours == h)) / den
    expected_hour = min(levels, key=lambda h: (levels[h], h))
    assert worst["all"]["start_s"] == expected_hour * HOUR
    assert worst["all"]["service_level"] == pytest.approx(levels[expected_hour], abs=1e-12)
    in_hour = counted & (hours == expected_hour)
    assert worst["all"]["offered"] == np.sum(in_hour)
    assert worst["all"]["abandoned"] == np.sum(in_hour & (outcome == "abandoned"))
    assert worst["chat"]["offered"] + worst["phone"]["offered"] == worst["all"]["offered"]
    # the worst hour is no better than the overall service level
    assert worst["all"]["service_level"] <= summarize(r)["overall"]["all"]["service_level"]


def test_worst_hour_quantiles_and_occupancy_are_consistent() -> None:
    s = scenario_from_dict(_desk())
    r = simulate(s, 0, record_tickets=True)
    worst = summarize(r)["worst_hour"]["all"]
    start = worst["start_s"]
    t = r.tickets
    arrival = np.asarray(t["arrival_s"])
    answered = (np.asarray(t["outcome"]) == "answered") & (arrival >= start) & (arrival < start + HOUR)
    waits = np.sort(np.asarray(t["wait_s"])[answered])
    exact_p90 = float(np.quantile(waits, 0.9))
    # a 5%-resolution histogram: the quantile lies within one bin (5%) of the sample's
    if exact_p90 > 0:
        assert worst["wait_p90_s"] == pytest.approx(exact_p90, rel=0.06)
    assert 0.0 <= worst["occupancy"] <= 1.0
    assert not math.isnan(worst["mean_queue"])


def test_no_service_level_means_no_worst_hour() -> None:
    data = _desk()
    for ch in data["channels"].values():
        del ch["sla"]
    r = simulate(scenario_from_dict(data), 0)
    assert "worst_hour" not in summarize(r)
