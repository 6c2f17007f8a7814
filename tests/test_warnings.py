"""Warnings about valid scenarios that are probably not what their authors meant, and `validate`
reporting every problem of every file.

Warnings (config.warnings): a shock outside the simulated window, an hour whose offered load
exceeds the agents on duty (analytic, at validate time too), shifts that never come on duty in the
measured window, too few replications for a usable interval. They are printed by `run` and
`validate` and kept in summary.json under `warnings`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML
from simsupport.cli import main
from simsupport.config.load import (
    file_problems,
    load_scenario,
    read_data,
    scenario_from_dict,
)
from simsupport.config.schema import Scenario
from simsupport.config.warnings import (
    hourly_agents,
    load_warnings,
    replication_warnings,
    roster_warnings,
    scenario_warnings,
    shock_warnings,
)
from simsupport.experiment.statistics import t_quantile
from simsupport.units import parse_rate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "exchange-baseline.yaml"
FLASH = SCENARIOS / "flash-crash.yaml"

DESK = """\
name: desk
horizon: 2d
warmup: 0s
replications: 5
categories:
  work:
    share: 1.0
    handle_time: {dist: exponential, mean: 6min}
channels:
  chat:
    rate: 100/h
    patience: {dist: exponential, mean: 3min}
pools:
  - name: team
    agents: 12
"""


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return 0 if info.value.code is None else int(info.value.code)


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def scenario(tmp_path: Path, text: str) -> Scenario:
    return load_scenario(write(tmp_path, text))


def baseline_times_ten() -> Scenario:
    """exchange-baseline with ten times the contacts on every channel whose customers give up
    (ten times the email and web tickets, who never give up, is refused as certainly unstable)."""
    tree, data = read_data(BASELINE)
    for ch in data["channels"].values():
        if ch.get("patience", "none") != "none":
            ch["rate"] = f"{parse_rate(ch['rate']) * 10 * 3600!r}/h"
    return scenario_from_dict(data, source=str(BASELINE), tree=tree, base_dir=BASELINE.parent)


# -- shocks ----------------------------------------------------------------------------------------------------


def test_a_shock_after_the_window_is_named_with_the_window() -> None:
    s = load_scenario(FLASH, overrides={"horizon": "1d"})
    assert s.market is not None and s.market.shocks
    at = s.market.shocks[0].at
    assert at >= s.end  # the crash of flash-crash is beyond a one-day horizon
    (w,) = shock_warnings(s)
    assert w.startswith("market.shocks[0] at ")
    assert "after the end of the simulated window (2d = warm-up 1d + horizon 1d): it has no effect" in w
    assert load_scenario(FLASH) and shock_warnings(load_scenario(FLASH)) == []  # inside as shipped


def test_a_shock_in_the_warm_up(tmp_path: Path) -> None:
    text = DESK.replace("warmup: 0s", "warmup: 1d") + (
        "market:\n  model: garch\n  daily_vol: 0.03\n  shocks: [{at: 3h, move: -0.2, decay: 2h}, {at: 30h, move: -0.1, decay: 2h},"
        " {at: 3d, move: 0.1, decay: 1h}]\n"
    )
    ws = shock_warnings(scenario(tmp_path, text))
    assert len(ws) == 2
    assert ws[0].startswith("market.shocks[0] at 3h falls in the warm-up (the first 1d)")
    assert ws[1] == (
        "market.shocks[2] at 3d is after the end of the simulated window (3d = warm-up 1d + horizon 2d): "
        "it has no effect; move it inside the window or lengthen the horizon"
    )


# -- load against agents ---------------------------------------------------------------------------------------


def test_ten_times_the_baseline_load_is_named_hour_and_channel() -> None:
    ws = load_warnings(baseline_times_ten())
    assert load_warnings(load_scenario(BASELINE)) == []  # today's desk: no hour beyond its agents
    chat = next(w for w in ws if w.startswith("channel 'chat'"))
    m = re.search(r"worst (\w{3}) \d{4}-\d\d-\d\d (\d\d):00 Asia/Shanghai: load ([\d.]+) Erlangs vs (\d+) agents on duty", chat)
    assert m is not None, chat
    load, agents = float(m.group(3)), int(m.group(4))
    assert load > agents
    assert any(w.startswith("channel 'phone'") and "Europe/London" in w for w in ws)


def test_the_load_and_agents_of_an_hour_are_exact(tmp_path: Path) -> None:
    """100/h x 6 min = 10 Erlangs; 12 agents with 25% shrinkage are 9 on duty: every hour over."""
    s = scenario(tmp_path, DESK.replace("    agents: 12\n", "    agents: 12\n    shrinkage: 0.25\n"))
    (w,) = load_warnings(s)
    assert "in 48 of 48 hours" in w and "load 10.0 Erlangs vs 9 agents on duty" in w, w
    assert "Mon 2026-01-05 00:00 UTC" in w
    assert load_warnings(scenario(tmp_path, DESK)) == []  # 12 on duty: enough in every hour


def test_hourly_agents_follow_shifts_days_and_breaks(tmp_path: Path) -> None:
    text = DESK.replace(
        "    agents: 12\n",
        "    timezone: Europe/London\n    shifts:\n"
        "      - {start: '08:00', end: '16:30', agents: 10, days: [mon], breaks: [{at: '12:00', length: 30min}]}\n",
    )
    s = scenario(tmp_path, text)
    agents = hourly_agents(s.pools[0], s, 48)
    expected = np.zeros(48)
    expected[8:16] = 10
    expected[12] = 5  # half of the hour on break
    expected[16] = 5  # until 16:30
    assert np.allclose(agents, expected)
    (w,) = load_warnings(s)
    assert "in 41 of 48 hours" in w  # all but the 7 with 10 agents for the 10 Erlangs (not over)
    assert "vs 0 agents on duty" in w


def test_backlog_channels_and_unrostered_pools_are_left_out(tmp_path: Path) -> None:
    text = DESK.replace(
        "    patience: {dist: exponential, mean: 3min}\n",
        "    patience: none\n    sla: {first_response_within: 8h}\n",
    ).replace("    agents: 12\n", "    agents: 11\n")
    assert load_warnings(scenario(tmp_path, text)) == []


# -- rosters -----------------------------------------------------------------------------------------------------


def test_a_weekend_shift_in_a_weekday_window(tmp_path: Path) -> None:
    text = DESK.replace(
        "    agents: 12\n",
        "    shifts:\n      - {name: week, start: '00:00', end: '24:00', agents: 12, days: [mon, tue]}\n"
        "      - {name: weekend, start: '09:00', end: '17:00', agents: 4, days: [sat, sun]}\n",
    )
    (w,) = roster_warnings(scenario(tmp_path, text))
    assert w.startswith("shift never comes on duty in the measured window (Mon 2026-01-05 00:00 to Wed 2026-01-07 00:00 UTC)")
    assert "team/weekend (sat,sun 09:00-17:00 UTC, 4 agents)" in w
    assert roster_warnings(scenario(tmp_path, text.replace("horizon: 2d", "horizon: 7d"))) == []


def test_a_pool_never_on_duty(tmp_path: Path) -> None:
    text = DESK.replace("    agents: 12\n", "    agents: 12\n  - name: night\n    shifts:\n"
                        "      - {start: '22:00', end: '23:00', agents: 2, days: [fri]}\n")
    ws = roster_warnings(scenario(tmp_path, text))
    assert len(ws) == 2 and "night/0 (fri 22:00-23:00 UTC, 2 agents)" in ws[0]
    assert ws[1].startswith("pool 'night' has no agent on duty at any time in the measured window")
    shrunk = DESK.replace("    agents: 12\n", "    agents: 12\n  - name: one\n    agents: 1\n    shrinkage: 0.6\n")
    (w,) = roster_warnings(scenario(tmp_path, shrunk))
    assert w == "pool 'one' has 1 agent but shrinkage 0.6 leaves none on duty (shrinkage is rounded to whole agents)"


# -- replications ------------------------------------------------------------------------------------------------


def test_too_few_replications() -> None:
    assert replication_warnings(3) == replication_warnings(10) == []
    (one,) = replication_warnings(1)
    assert "no confidence interval" in one and "ci95 is null" in one
    (two,) = replication_warnings(2)
    t1, t2 = t_quantile(0.975, 1), t_quantile(0.975, 2)
    assert f"±{t1:.1f} standard errors" in two and "±12.7" in two
    # the width of the interval, t s / sqrt(n), against three replications'
    assert f"{t1 / np.sqrt(2) / (t2 / np.sqrt(3)):.1f} times as wide" in two


# -- where they show ----------------------------------------------------------------------------------------------


def test_run_prints_and_stores_the_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["run", str(FLASH), "--horizon", "6h", "-r", "2", "-w", "1", "--no-plots", "--out", str(out)]
    assert exit_code(argv) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ws = doc["warnings"]
    assert any(w.startswith("market.shocks[0]") for w in ws)
    assert any(w.startswith("2 replications give a 95% interval") for w in ws)
    assert any("l1-phone/day-we" in w for w in ws)
    for w in ws:
        assert f"warning: {w}" in printed
    assert list(doc)[: list(doc).index("warnings") + 1][-2:] == ["warmup_s", "warnings"]


def test_a_run_without_warnings_stores_an_empty_list(tmp_path: Path) -> None:
    path = write(tmp_path, DESK.replace("horizon: 2d", "horizon: 2h"))
    assert exit_code(["run", str(path), "-r", "3", "-w", "1", "--no-plots", "--out", str(tmp_path / "o")]) == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["warnings"] == []


def test_validate_prints_the_load_warning_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = baseline_times_ten()
    assert scenario_warnings(s) == load_warnings(s)  # nothing else is wrong with it
    text = BASELINE.read_text(encoding="utf-8")
    for old, new in (("rate: 620/h", "rate: 6200/h"), ("rate: 110/h", "rate: 1100/h"), ("rate: 40/h", "rate: 400/h")):
        assert old in text
        text = text.replace(old, new)
    path = write(tmp_path, text, "exchange-x10.yaml")
    assert exit_code(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {path}")
    lines = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(lines) == 2 and all(f"warning: {path}: channel '" in line for line in lines)
    assert "Erlangs vs" in lines[0] and "agents on duty" in lines[0]


# -- validate: every file, every problem ---------------------------------------------------------------------------

MANY = """\
name: many
horizon: 20x
replications: 0
categories:
  urgent: {share: 0.3, handle_time: {dist: exponential, mean: 6min}}
  normal: {share: 0.7, handle_time: {dist: exponentail, mean: 6min}}
channels:
  phone: {rate: 1.5/min, colour: red,
          sla: {answer_within: 15s, target: 1.8}, concurrency: {max: 2, stretch: x}}
pools:
  - {name: agents, agents: 10, shifts: weekly}
"""

CROSS = """\
name: cross
horizon: 20h
categories:
  urgent: {share: 0.3, handle_time: {dist: exponential, mean: 6min}}
  normal: {share: 0.6, handle_time: {dist: exponential, mean: 6min}}
channels:
  phone: {rate: 1.5/min, categories: {urgent: 0.5, nomral: 0.5}}
pools:
  - {name: agents, agents: 10, channels: [phone, fax]}
  - {name: agents, agents: 10}
"""


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_every_validation_problem_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MANY)
    s, problems = file_problems(path)
    assert s is None
    got = [(p.field, p.line) for p in problems]
    assert got == [
        ("horizon", _line(MANY, "horizon")),
        ("replications", _line(MANY, "replications")),
        ("categories.normal.handle_time", _line(MANY, "exponentail")),
        ("channels.phone.colour", _line(MANY, "colour")),
        ("channels.phone.sla.target", _line(MANY, "target: 1.8")),
        ("channels.phone.concurrency.stretch", _line(MANY, "stretch")),
        ("pools.agents.shifts", _line(MANY, "weekly")),
    ]
    # `run` and friends still stop at the first, saying how many follow
    with pytest.raises(Exception, match=r"horizon: .*20x.* \(6 more problems after this one\)"):
        load_scenario(path)


def test_every_cross_field_problem(tmp_path: Path) -> None:
    path = write(tmp_path, CROSS)
    s, problems = file_problems(path)
    assert s is None
    assert [p.field for p in problems] == [
        "categories", "channels.phone.categories.nomral", "pools.agents.channels", "pools.agents.name",
    ]  # fmt: skip
    assert "0.3 + 0.6 = 0.9" in problems[0].message and "unknown category 'nomral'" in problems[1].message
    assert "unknown channel 'fax'" in problems[2].message and "used twice" in problems[3].message
    assert all(p.line is not None for p in problems)


def test_validate_checks_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    many, cross = write(tmp_path, MANY, "many.yaml"), write(tmp_path, CROSS, "cross.yaml")
    good = SCENARIOS / "textbook.yaml"
    assert exit_code(["validate", str(many), str(good), str(cross), str(tmp_path / "missing.yaml")]) == 2
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert sum(line.startswith(f"error: {many}:") for line in err) == 7
    assert sum(line.startswith(f"error: {cross}:") for line in err) == 4
    assert any(line.startswith(f"error: {tmp_path / 'missing.yaml'}: file not found") for line in err)
    assert len(err) == 12 and "Traceback" not in captured.err
    assert f"ok: {good}" in captured.out and "3 of 4 files have problems" in captured.out
    assert "more problem" not in captured.err  # each is listed


def test_a_single_problem_is_still_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, DESK.replace("rate: 100/h", "rate: 100"))
    assert exit_code(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"error: {path}:{_line(DESK, 'rate:')}:")
    assert captured.out == ""


def test_yaml_round_trip_of_the_shipped_files_has_no_problem() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        s, problems = file_problems(path)
        assert problems == [] and s is not None and s.name == path.stem, path
        assert YAML(typ="safe").load(path.read_text(encoding="utf-8"))["name"] == s.name
