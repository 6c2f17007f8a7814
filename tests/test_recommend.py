"""`staffing.recommend`: the staffing search as a library call, without the command line.

A small desk (a chat pool with weekday and weekend shifts, a phone pool around the clock, the
phone pool short today) searched over a Monday (horizon 1d) with 2 replications per evaluation: the
recommendation must meet every target by its own table, one agent fewer on any decision must not,
and the staffed scenario must be a valid scenario with exactly the recommended headcounts.
Seeds are fixed, so every outcome is deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from simsupport.config.load import load_scenario
from simsupport.experiment.sweep import Store, make_executor
from simsupport.outputs.staffing import write_staffing
from simsupport.staffing.recommend import Recommendation, plan_staffing, recommend
from simsupport.staffing.search import Evaluator

DESK = """\
name: tiny
start: 2026-01-05T00:00:00Z  # a Monday
horizon: 7d
warmup: 1h
interval: 1h
replications: 6
seed: 3
categories:
  general: {share: 1.0, handle_time: {dist: exponential, mean: 5min}}
channels:
  chat: {rate: 1/min, patience: {dist: exponential, mean: 4min}, sla: {answer_within: 60s, target: 0.8}}
  phone: {rate: 2/min, patience: {dist: exponential, mean: 3min}, sla: {answer_within: 30s, target: 0.8}}
pools:
  - name: chat-desk
    channels: [chat]
    cost: 2
    shifts:
      - {name: weekdays, start: "00:00", end: "24:00", agents: 9, days: [mon, tue, wed, thu, fri]}
      - {name: weekend, start: "00:00", end: "24:00", agents: 9, days: [sat, sun]}
  - name: phones
    channels: [phone]
    agents: 4
"""
HORIZON = "1d"


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Recommendation]:
    base = tmp_path_factory.mktemp("recommend")
    scenario = base / "tiny.yaml"
    scenario.write_text(DESK, encoding="utf-8")
    notes: list[str] = []
    rec = recommend(scenario, out=base / "out", workers=1, replications=2, horizon=HORIZON, note=notes.append)
    assert notes and notes[0].startswith("start:")  # the search reports its steps
    return scenario, rec


def test_the_recommendation_meets_every_target_by_its_own_table(searched: tuple[Path, Recommendation]) -> None:
    _, rec = searched
    assert rec.feasible and rec.shortfall is None
    assert {(a.channel, a.scope) for a in rec.achieved} == {("chat", "overall"), ("phone", "overall")}
    for a in rec.achieved:
        assert a.met and a.lower >= a.target == 0.8, a
        assert a.lower == pytest.approx(a.mean - a.ci95)
    assert rec.plan.replications == 2 and rec.plan.scopes == ["overall"]


def test_only_the_shifts_on_duty_are_searched(searched: tuple[Path, Recommendation]) -> None:
    _, rec = searched
    assert [v.label for v in rec.plan.searched] == ["chat-desk/weekdays", "phones"]
    assert rec.plan.kept == ["chat-desk/weekend"]
    assert rec.staffing["chat-desk/weekend"] == 9  # kept as it is
    assert set(rec.result.x) == {"chat-desk/weekdays", "phones"}
    assert rec.staffing["phones"] > 4  # 10 Erlangs of phone work: today's 4 cannot be enough
    assert rec.weekly_cost == pytest.approx(sum(rec.result.x[v.label] * v.weekly_cost for v in rec.plan.searched))
    assert rec.plan.settings == {"replications": 2, "scopes": ["overall"], "horizon": HORIZON,
                                 "kept_as_is": ["chat-desk/weekend"]}  # fmt: skip


def test_one_agent_fewer_on_any_decision_misses_a_target(searched: tuple[Path, Recommendation]) -> None:
    """The cheapest: the same evaluations (same store, same replications) with one agent fewer
    on any searched decision do not meet every target."""
    scenario, rec = searched
    plan = rec.plan
    ev = Evaluator(plan.scenario, plan.data, plan.searched, plan.replications, plan.scopes, Store(rec.out),
                   make_executor(1), scenario.resolve().parent, str(scenario))  # fmt: skip
    for v in plan.searched:
        fewer = {**rec.result.x, v.label: rec.result.x[v.label] - 1}
        assert not ev([fewer])[0].feasible, v.label
    assert ev.ran == 0  # every one of them was already evaluated by the search


def test_the_staffed_scenario_validates_with_the_recommended_headcounts(
    searched: tuple[Path, Recommendation], tmp_path: Path
) -> None:
    scenario, rec = searched
    staffed = rec.staffed_scenario()
    chat, phones = staffed.pools
    assert [sh.agents for sh in chat.shifts] == [rec.staffing["chat-desk/weekdays"], 9]  # type: ignore[union-attr]
    assert phones.agents == rec.staffing["phones"]
    assert staffed.horizon == 86400.0
    # the file `staff` writes: the scenario as given (its horizon too) with the staffing, valid as it is
    plan = rec.plan
    write_staffing(plan.scenario, scenario, plan.variables, plan.needs, rec.result, tmp_path, plots=False,
                   settings=plan.settings)  # fmt: skip
    written = load_scenario(tmp_path / "tiny-staffed.yaml")
    assert written.horizon == 7 * 86400.0
    assert [sh.agents for sh in written.pools[0].shifts] == [rec.staffing["chat-desk/weekdays"], 9]  # type: ignore[union-attr]
    assert written.pools[1].agents == rec.staffing["phones"]


def test_a_plan_can_be_read_first_and_searched_later(searched: tuple[Path, Recommendation]) -> None:
    """plan_staffing does no simulation; recommend on the plan gives the same answer, and a rerun
    on the same store runs nothing."""
    scenario, rec = searched
    plan = plan_staffing(scenario, replications=2, horizon=HORIZON)
    assert plan.start == rec.plan.start and plan.kept == rec.plan.kept
    again = recommend(plan, out=rec.out, workers=1)
    assert again.result.x == rec.result.x
    assert again.result.replications_run == 0 and again.result.replications_reused > 0
    with pytest.raises(TypeError):
        recommend(plan, out=rec.out, horizon="1d")


def _one_pool(bound: int) -> dict[str, Any]:
    return {"channels": {"phone": {"rate": "2/min", "patience": {"dist": "exponential", "mean": "3min"},
                                   "sla": {"answer_within": "30s", "target": 0.8}}},
            "pools": [{"name": "phones", "agents": 4, "bounds": {"max": bound}}]}  # fmt: skip


def test_no_staffing_within_the_bounds_names_the_worst_miss(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(DESK)
    data.update(_one_pool(bound=6))
    scenario = tmp_path / "bounded.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    rec = recommend(scenario, out=tmp_path / "out", workers=1, replications=2, horizon=HORIZON)
    assert not rec.feasible
    short = rec.shortfall
    assert short is not None and short.channel == "phone" and short.scope == "overall"
    assert short.lower is not None and short.target == 0.8 and short.lower < short.target
    assert short.binding == ["phones"] and rec.result.x == {"phones": 6}
    assert [a.met for a in rec.achieved] == [False]
