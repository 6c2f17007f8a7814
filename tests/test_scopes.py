"""The worst_hour scope, checked against the ticket log it summarises."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simsupport.config.load import scenario_from_dict
from simsupport.engine import simulate
from simsupport.experiment.replications import run_replications
from simsupport.outputs.summary import clock_label, summary_document, worst_hours
from simsupport.stats import summarize

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
    # the worst hour is no better than the overall service level
    assert worst["all"]["service_level"] <= summarize(r)["overall"]["all"]["service_level"]
    # each channel: its OWN worst hour, not the channel during the desk's worst hour
    for ch, within in (("chat", 30.0), ("phone", 20.0)):
        mine = left & (channel == ch)
        own = {h: np.sum(met & mine & (hours == h)) / np.sum(mine & (hours == h)) for h in np.unique(hours[mine])}
        h_ch = min(own, key=lambda h: (own[h], h))
        assert worst[ch]["start_s"] == h_ch * HOUR, ch
        assert worst[ch]["service_level"] == pytest.approx(own[h_ch], abs=1e-12), ch
        assert worst[ch]["offered"] == np.sum(counted & (channel == ch) & (hours == h_ch)), ch
        assert worst[ch]["service_level"] <= summarize(r)["by_channel"][ch]["service_level"]


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


def test_channels_get_their_own_worst_hour_when_it_differs_from_the_desks() -> None:
    """Chat peaks in the afternoon (business_hours), phone is flat but short-staffed at night
    (its own pool works days only): their worst hours differ, and each is reported."""
    data = _desk(horizon="1d", warmup="0s")
    data["pools"] = [
        {"name": "chat-team", "agents": 9, "channels": ["chat"]},
        {"name": "phone-day", "channels": ["phone"], "shifts": [{"start": "08:00", "end": "20:00", "agents": 4},
                                                               {"start": "20:00", "end": "08:00", "agents": 1}]},
    ]  # fmt: skip
    r = simulate(scenario_from_dict(data), 0)
    worst = summarize(r)["worst_hour"]
    assert worst["chat"]["start_s"] != worst["phone"]["start_s"]
    assert 8 <= worst["chat"]["start_s"] / HOUR % 24 < 20  # chat's busy business day
    assert not 8 <= worst["phone"]["start_s"] / HOUR % 24 < 20  # phone's thin night shift


def test_clock_label_is_the_local_weekday_and_time() -> None:
    from datetime import UTC, datetime

    monday = datetime(2026, 1, 5, tzinfo=UTC)
    assert clock_label(monday, 14 * HOUR, "UTC") == "Mon 14:00"
    assert clock_label(monday, 18 * HOUR, "Asia/Shanghai") == "Tue 02:00"  # UTC+8 crosses midnight
    assert clock_label(monday, 0, "America/New_York") == "Sun 19:00"
    assert clock_label(monday, 0, "Asia/Kolkata") == "Mon 05:30"
    summer = datetime(2026, 3, 28, 23, tzinfo=UTC)  # London moves to BST at 01:00 UTC on the 29th
    assert clock_label(summer, 0, "Europe/London") == "Sat 23:00"
    assert clock_label(summer, 2 * HOUR, "Europe/London") == "Sun 02:00"


def test_worst_hour_start_is_the_mode_of_local_hours_with_agreement() -> None:
    """Replications' worst hours: Tue 14:00 twice (in different weeks: the same clock hour), Wed
    03:00 once, phone undefined in one replication. The start is the most common local hour,
    never an average of starts; ties go to the earliest."""
    from datetime import UTC, datetime

    start = datetime(2026, 1, 5, tzinfo=UTC)  # Monday
    tue14, wed03 = (24 + 14) * HOUR, (48 + 3) * HOUR
    week = 7 * 24 * HOUR
    reps = [
        {"worst_hour": {"all": {"start_s": tue14, "service_level": 0.5}, "phone": {"start_s": wed03, "service_level": 0.4}}},
        {"worst_hour": {"all": {"start_s": wed03, "service_level": 0.6}, "phone": {"start_s": tue14, "service_level": 0.7}}},
        {"worst_hour": {"all": {"start_s": tue14 + week, "service_level": 0.7}}},
    ]  # fmt: skip
    agg = {"all": {"start_s": {"mean": 0, "ci95": 0}, "service_level": {"mean": 0.6, "ci95": 0.1}},
           "phone": {"start_s": {"mean": 0, "ci95": 0}, "service_level": {"mean": 0.55, "ci95": 0.2}}}  # fmt: skip
    out = worst_hours(start, reps, agg, "UTC")
    assert out["all"]["start_local"] == "Tue 14:00" and out["all"]["zone"] == "UTC"
    assert (out["all"]["agreed"], out["all"]["of"], out["all"]["start_s"]) == (2, 3, tue14)
    assert out["all"]["service_level"] == {"mean": 0.6, "ci95": 0.1}
    # a tie (one each): the earliest hour; only replications with a worst hour count
    assert (out["phone"]["start_local"], out["phone"]["agreed"], out["phone"]["of"]) == ("Tue 14:00", 1, 2)
    shanghai = worst_hours(start, reps, agg, "Asia/Shanghai")
    assert shanghai["all"]["start_local"] == "Tue 22:00" and shanghai["all"]["zone"] == "Asia/Shanghai"


def test_summary_worst_hour_is_shown_in_the_display_zone() -> None:
    data = _desk(horizon="1d", seed=5)
    data["report"] = {"timezone": "Asia/Tokyo"}
    s = scenario_from_dict(data)
    results = run_replications(s, 3)
    doc = summary_document(s, results)
    for key in ("all", "chat", "phone"):
        block = doc["worst_hour"][key]
        assert block["zone"] == "Asia/Tokyo" and block["of"] == 3 and 1 <= block["agreed"] <= 3
        starts = [summarize(r)["worst_hour"][key]["start_s"] for r in results]
        assert block["start_s"] in starts
        assert block["start_local"] == clock_label(s.start, block["start_s"], "Asia/Tokyo")
        assert starts.count(block["start_s"]) <= block["agreed"]
        assert set(block["service_level"]) == {"mean", "ci95"}
    assert summary_document(s, results, tz="UTC")["worst_hour"]["all"]["zone"] == "UTC"


def test_no_hour_is_the_worst_when_every_hour_is_alike() -> None:
    """A channel at 100% in every hour has no worst hour to name: its metrics stay (the worst
    hour is 100%), its start is NaN per replication and null in summary.json."""
    data = _desk(horizon="6h", warmup="0s")
    data["pools"] = [{"name": "chat-team", "agents": 40, "channels": ["chat"]},
                     {"name": "phone-team", "agents": 1, "channels": ["phone"]}]  # fmt: skip
    s = scenario_from_dict(data)
    results = run_replications(s, 2)
    worst = summarize(results[0])["worst_hour"]
    assert worst["chat"]["service_level"] == 1.0 and math.isnan(worst["chat"]["start_s"])
    assert not math.isnan(worst["phone"]["start_s"])
    block = summary_document(s, results)["worst_hour"]["chat"]
    assert (block["start_local"], block["start_s"], block["agreed"], block["of"]) == (None, None, 0, 2)
    assert block["service_level"]["mean"] == 1.0
