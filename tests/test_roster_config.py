"""Rosters, templates and targets: the configuration layer (issue "Rosters, not just headcounts").

Breaks in fixed shifts, a pool's `schedule:` (templates, start windows, days off, limits per
template) and `staffing.targets`: the forms of the README validate, every mistake exits 2 from
`simsupport validate` naming the file, the field and the line, and the helpers the engine and the
staffing search read (start_times, paid_length, work_days_on, staffing_targets, unrostered_pools)
return what they should.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from helpers_sim import build, mmn_dict
from simsupport.cli import main
from simsupport.config.derived import average_agents, staffing_targets, unrostered_pools
from simsupport.config.load import load_scenario, scenario_from_dict
from simsupport.config.roster import (
    Schedule,
    ShiftBreak,
    StartWindow,
    Template,
    TemplateBreak,
)
from simsupport.config.schema import Scenario, Shift, StaffingGoal
from simsupport.config.targets import Target

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
H = 3600.0

# The README's forms, in a desk that has everything they name (phone, chat, email; the category
# account_security; tier L2; a market for the volatile scope). One key a line where a test needs
# the line of a key; each needle below occurs once.
BASE = """\
name: roster-desk
horizon: 1d
categories:
  general:
    share: 0.8
    handle_time: {dist: exponential, mean: 5min}
  account_security:
    share: 0.2
    handle_time: {dist: exponential, mean: 8min}
channels:
  phone:
    rate: 60/h
    patience: {dist: exponential, mean: 3min}
    sla: {answer_within: 20s, target: 0.8}
  chat:
    rate: 40/h
    patience: {dist: exponential, mean: 5min}
    sla: {answer_within: 1min, target: 0.8}
  email:
    rate: 20/h
market:
  model: regime
  step: 1min
  regimes:
    calm: {daily_vol: 0.025, mean_duration: 30d}
    volatile: {daily_vol: 0.06, mean_duration: 8h}
  initial: calm
pools:
  - name: agents
    channels: [phone]
    cost: 1
    schedule:
      templates:
        - name: full
          length: 8h30min
          breaks: [{length: 30min, after: [3h30min, 4h, 4h30min], paid: false}]
        - {name: part, length: 4h}
      starts: {from: "06:00", to: "14:00", every: 30min}   # pool's timezone; a list of such windows allowed
      days_off: 5x2              # N x M with N+M = 7: N consecutive days on, M off; or `none` (every day)
      max_share: {part: 0.3}     # optional limits per template
  - name: l2
    tier: L2
    channels: [chat, email]
    shifts:
      - name: day
        start: "08:00"
        end: "16:00"
        agents: 10
        breaks: [{at: "12:00", length: 30min}]
      - name: night
        start: "22:00"
        end: "06:00"
        agents: 10
        breaks: [{at: "02:00", length: 30min, paid: true}]
staffing:
  replications: 5
  targets:
    - {channel: chat}                                   # its SLA, overall
    - {channel: phone, scope: every_hour}               # its SLA in every clock hour with traffic
    - {category: account_security, answer_within: 2min, target: 0.95}
    - {tier: L2, answer_within: 1h, target: 0.80}
    - {channel: chat, scope: volatile, max_abandon_rate: 0.05}
    - {channel: email, max_asa: 4h}
"""


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """Apply exact, unique replacements (a test that edits nothing would test nothing)."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def drop(text: str, start: str, end: str) -> str:
    """Remove the lines from the one holding `start` up to (not including) the one holding `end`."""
    i, j = text.index(start), text.index(end)
    i = text.rindex("\n", 0, i) + 1
    j = text.rindex("\n", 0, j) + 1
    return text[:i] + text[j:]


def line_of(text: str, needle: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def simsupport(argv: tuple[str, ...]) -> None:
    """The installed `simsupport` script: simsupport.cli.main with its exit codes."""
    main(list(argv))


def run_cli(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(simsupport, list(argv), catch_exceptions=False)
    return result.exit_code, result.output


def load_text(tmp_path: Path, text: str) -> Scenario:
    return load_scenario(write(tmp_path, text))


def data_of(text: str) -> dict[str, Any]:
    return YAML(typ="safe").load(text)


# -- 1. the forms validate -------------------------------------------------------------------------------------------


def test_the_readme_forms_validate_from_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    code, out = run_cli("validate", str(path))
    assert code == 0, out
    assert out.startswith("ok:") and "roster-desk" in out


def test_the_readme_forms_validate_from_a_dict() -> None:
    s = scenario_from_dict(data_of(BASE))
    pool = s.pool("agents")
    assert pool.agents is None and pool.shifts == "24x7" and pool.unrostered
    sch = pool.schedule
    assert isinstance(sch, Schedule)
    assert [t.name for t in sch.templates] == ["full", "part"]
    full, part = sch.templates
    assert full.length == 8.5 * H and part.length == 4 * H and part.breaks == []
    (b,) = full.breaks
    assert isinstance(b, TemplateBreak) and (b.length, b.after, b.paid) == (1800.0, [3.5 * H, 4 * H, 4.5 * H], False)
    assert isinstance(sch.starts, StartWindow)
    assert (sch.starts.from_, sch.starts.to, sch.starts.every) == (6 * H, 14 * H, 1800.0)
    assert sch.days_off == "5x2" and sch.max_share == {"part": 0.3}
    assert sch.template("part") is part
    day, night = s.pool("l2").shifts  # type: ignore[misc]
    assert [(b.at, b.length, b.paid) for b in day.breaks] == [(12 * H, 1800.0, False)]
    assert [(b.at, b.length, b.paid) for b in night.breaks] == [(2 * H, 1800.0, True)]
    assert all(isinstance(b, ShiftBreak) for b in day.breaks + night.breaks)
    goal = s.staffing
    assert goal is not None and goal.replications == 5 and goal.scopes == ["overall"]
    assert goal.targets is not None and len(goal.targets) == 6
    sec = goal.targets[2]
    assert (sec.category, sec.channel, sec.answer_within, sec.target, sec.scope) == (
        "account_security", None, 120.0, 0.95, "overall"
    )  # fmt: skip
    assert goal.targets[4].max_abandon_rate == 0.05 and goal.targets[4].scope == "volatile"
    assert goal.targets[5].max_asa == 4 * H


def test_the_json_schema_accepts_the_readme_forms() -> None:
    schema = Scenario.model_json_schema()
    jsonschema.validate(data_of(BASE), schema)
    bad = data_of(BASE)
    bad["pools"][0]["schedule"]["days_off"] = "5x3"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_every_new_field_has_a_description() -> None:
    defs = Scenario.model_json_schema()["$defs"]
    for model in ("ShiftBreak", "Template", "TemplateBreak", "StartWindow", "Schedule", "Target"):
        for name, prop in defs[model]["properties"].items():
            assert prop.get("description"), f"{model}.{name} has no description"
    for model, name in (("Shift", "breaks"), ("Pool", "schedule"), ("StaffingGoal", "targets")):
        assert defs[model]["properties"][name].get("description"), f"{model}.{name}"


def test_a_list_of_start_windows(tmp_path: Path) -> None:
    text = edit(
        BASE,
        (
            'starts: {from: "06:00", to: "14:00", every: 30min}',
            'starts: [{from: "06:00", to: "08:00", every: 1h}, {from: "07:00", to: "09:30", every: 30min}]',
        ),
    )
    sch = load_text(tmp_path, text).pool("agents").schedule
    assert sch is not None and isinstance(sch.starts, list) and len(sch.windows) == 2
    assert sch.start_times() == [6 * H, 7 * H, 7.5 * H, 8 * H, 8.5 * H, 9 * H, 9.5 * H]


def test_a_pool_may_have_a_schedule_and_todays_roster(tmp_path: Path) -> None:
    with_shifts = edit(BASE, ("    cost: 1\n", "    cost: 1\n    shifts: [{start: '06:00', end: '14:30', agents: 12}]\n"))
    s = load_text(tmp_path, with_shifts)
    assert s.pool("agents").schedule is not None and not s.pool("agents").unrostered
    assert unrostered_pools(s) == []
    with_agents = edit(BASE, ("    cost: 1\n", "    cost: 1\n    agents: 12\n    shrinkage: 0.25\n"))
    s = load_text(tmp_path, with_agents)
    assert unrostered_pools(s) == [] and average_agents(s.pool("agents")) == 9  # shrinkage still applies


def test_unrostered_pools_are_named(tmp_path: Path) -> None:
    s = load_text(tmp_path, BASE)
    assert unrostered_pools(s) == ["agents"]
    # an unrostered pool counts as able to serve, and its load as not certainly too much
    patient = edit(BASE, ("    patience: {dist: exponential, mean: 3min}\n", "    patience: none\n"))
    assert unrostered_pools(load_text(tmp_path, patient)) == ["agents"]


def test_a_pool_with_neither_roster_nor_schedule_is_still_refused(tmp_path: Path) -> None:
    text = drop(BASE, "    schedule:", "  - name: l2")
    path = write(tmp_path, text)
    code, out = run_cli("validate", str(path))
    assert code == 2
    assert f"{path}:{line_of(text, '- name: agents')}:" in out and " pools.agents: " in out
    assert "agents" in out and "shifts" in out and "schedule" in out


def test_shift_breaks_across_midnight_and_in_a_whole_day(tmp_path: Path) -> None:
    text = edit(
        BASE,
        ('breaks: [{at: "02:00", length: 30min, paid: true}]',
         'breaks: [{at: "23:30", length: 30min}, {at: "00:00", length: 1h}, {at: "05:30", length: 30min}]'),
        ('end: "16:00"', 'end: "08:00"'),  # 24 hours
        ('breaks: [{at: "12:00", length: 30min}]', 'breaks: [{at: "07:30", length: 30min}, {at: "08:00", length: 1h}]'),
    )  # fmt: skip
    s = load_text(tmp_path, text)
    day, night = s.pool("l2").shifts  # type: ignore[misc]
    assert [b.at for b in night.breaks] == [23.5 * H, 0.0, 5.5 * H]
    assert [b.at for b in day.breaks] == [7.5 * H, 8 * H]


def test_shifts_built_in_code_get_no_breaks() -> None:
    sh = Shift.model_construct(start=0.0, end=8 * H, agents=3, days="all", timezone=None, name="x")
    assert sh.breaks == []
    assert Shift(start="08:00", end="16:00", agents=3).breaks == []  # type: ignore[arg-type]


def test_models_can_be_built_in_code() -> None:
    w = StartWindow(from_="06:00", to="07:00", every="30min")  # type: ignore[arg-type]
    assert w.times() == [6 * H, 6.5 * H, 7 * H]
    assert StartWindow.model_validate({"from": "06:00", "to": "06:00", "every": "1h"}).times() == [6 * H]
    sch = Schedule(templates=[Template(name="t", length="8h")], starts=w)  # type: ignore[arg-type]
    assert sch.days_off == "none" and sch.max_share == {}


# -- 2. mistakes: exit 2, naming file, field and line ----------------------------------------------------------------

SHIFT_BREAK = 'breaks: [{at: "12:00", length: 30min}]'
NIGHT_BREAK = 'breaks: [{at: "02:00", length: 30min, paid: true}]'
TEMPLATE_BREAK = "breaks: [{length: 30min, after: [3h30min, 4h, 4h30min], paid: false}]"
STARTS = 'starts: {from: "06:00", to: "14:00", every: 30min}'
S = "pools.agents.schedule"

BAD: list[tuple[str, tuple[tuple[str, str], ...], str, str, list[str]]] = [
    # (id, replacements, field, needle on the blamed line, words in the message)
    ("shift break after the shift", ((SHIFT_BREAK, 'breaks: [{at: "15:45", length: 30min}]'),),
     "pools.l2.shifts.day.breaks", 'at: "15:45"', ["15:45", "08:00-16:00", "inside its shift"]),
    ("shift break before the shift", ((SHIFT_BREAK, 'breaks: [{at: "07:00", length: 30min}]'),),
     "pools.l2.shifts.day.breaks", 'at: "07:00"', ["07:00", "inside its shift"]),
    ("night shift break after its end", ((NIGHT_BREAK, 'breaks: [{at: "05:45", length: 30min}]'),),
     "pools.l2.shifts.night.breaks", 'at: "05:45"', ["22:00-06:00", "inside its shift"]),
    ("night shift break in the day", ((NIGHT_BREAK, 'breaks: [{at: "12:00", length: 30min, paid: true}]'),),
     "pools.l2.shifts.night.breaks", "paid: true", ["12:00", "22:00-06:00"]),
    ("overlapping shift breaks", ((SHIFT_BREAK, 'breaks: [{at: "12:00", length: 30min}, {at: "12:15", length: 1h}]'),),
     "pools.l2.shifts.day.breaks", 'at: "12:15"', ["overlap", "12:00", "12:15"]),
    ("shift break after 24:00", ((SHIFT_BREAK, "breaks: [{at: 25h, length: 30min}]"),),
     "pools.l2.shifts.day.breaks[0].at", "at: 25h", ["clock time", "00:00", "24:00"]),
    ("shift break of no length", ((SHIFT_BREAK, 'breaks: [{at: "12:00", length: 0}]'),),
     "pools.l2.shifts.day.breaks[0].length", 'at: "12:00"', ["more than 0"]),
    ("template longer than a day", (("length: 8h30min", "length: 25h"),),
     f"{S}.templates.full.length", "length: 25h", ["at most 24h"]),
    ("template break past the end", ((TEMPLATE_BREAK, "breaks: [{length: 30min, after: [4h, 8h15min]}]"),),
     f"{S}.templates.full.breaks", "after: [4h, 8h15min]", ["8h 15min", "8h 30min", "must fit"]),
    ("template break longer than the template", (("{name: part, length: 4h}", "{name: part, length: 4h, breaks: [{length: 5h, after: [0]}]}"),),
     f"{S}.templates.part.breaks", "name: part", ["past the end", "4h"]),
    ("negative template break offset", ((TEMPLATE_BREAK, "breaks: [{length: 30min, after: [-1h, 4h]}]"),),
     f"{S}.templates.full.breaks[0].after[0]", "after: [-1h, 4h]", ["-1h", "negative"]),
    ("template break offsets not a list", ((TEMPLATE_BREAK, "breaks: [{length: 30min, after: 4h}]"),),
     f"{S}.templates.full.breaks[0].after", "after: 4h", ["list", "after: ["]),
    ("template break without offsets", ((TEMPLATE_BREAK, "breaks: [{length: 30min, after: []}]"),),
     f"{S}.templates.full.breaks[0].after", "after: []", ["at least 1"]),
    ("breaks that leave no work", (("{name: part, length: 4h}", "{name: part, length: 4h, breaks: [{length: 2h, after: [0]}, {length: 2h, after: [2h]}]}"),),
     f"{S}.templates.part.breaks", "name: part", ["no working time"]),
    ("duplicate template names", (("{name: part, length: 4h}", "{name: full, length: 4h}"),),
     f"{S}.templates", "templates:", ["'full'", "twice", "unique"]),
    ("no templates", (("      templates:\n        - name: full", "      old:\n        - name: full"),),
     f"{S}.templates", "    schedule:", ["required"]),
    ("start window from after 24:00", ((STARTS, 'starts: {from: "25:00", to: "14:00", every: 30min}'),),
     f"{S}.starts.from", "starts:", ["25:00", "clock time"]),
    ("start window to after 24:00", ((STARTS, 'starts: {from: "06:00", to: 24h30min, every: 30min}'),),
     f"{S}.starts.to", "starts:", ["`to`", "00:00", "24:00"]),
    ("start window from after to", ((STARTS, 'starts: {from: "16:00", to: "14:00", every: 30min}'),),
     f"{S}.starts.to", "starts:", ["16:00", "14:00", "two windows"]),
    ("start window every 0", ((STARTS, 'starts: {from: "06:00", to: "14:00", every: 0}'),),
     f"{S}.starts.every", "starts:", ["more than 0"]),
    ("start window without every", ((STARTS, 'starts: {from: "06:00", to: "14:00"}'),),
     f"{S}.starts.every", "starts:", ["required"]),
    ("start window with an unknown key", ((STARTS, 'starts: {from: "06:00", to: "14:00", every: 30min, step: 1h}'),),
     f"{S}.starts.step", "starts:", ["unknown key 'step'", "from, to, every"]),
    ("second start window from after to",
     ((STARTS, 'starts:\n        - {from: "06:00", to: "08:00", every: 1h}\n        - {from: "16:00", to: "14:00", every: 1h}'),),
     f"{S}.starts[1].to", 'from: "16:00"', ["16:00", "14:00"]),
    ("max_share over 1", (("max_share: {part: 0.3}", "max_share: {part: 1.5}"),),
     f"{S}.max_share.part", "max_share:", ["1.5", "less than or equal to 1"]),
    ("max_share of 0", (("max_share: {part: 0.3}", "max_share: {part: 0}"),),
     f"{S}.max_share.part", "max_share:", ["greater than 0"]),
    ("max_share negative", (("max_share: {part: 0.3}", "max_share: {part: -0.2}"),),
     f"{S}.max_share.part", "max_share:", ["greater than 0"]),
    ("max_share of an unknown template", (("max_share: {part: 0.3}", "max_share: {half: 0.3}"),),
     f"{S}.max_share", "max_share:", ["unknown template 'half'", "full, part"]),
    ("max_share that cannot cover the pool", (("max_share: {part: 0.3}", "max_share: {part: 0.3, full: 0.5}"),),
     f"{S}.max_share", "max_share:", ["0.8", "at least 1"]),
    ("days_off that is not a week", (("days_off: 5x2 ", "days_off: 5x3 "),),
     f"{S}.days_off", "days_off:", ["'5x3'", "N + M = 7", "5x2", "none"]),
    ("days_off word", (("days_off: 5x2 ", "days_off: weekends "),),
     f"{S}.days_off", "days_off:", ["'weekends'", "N + M = 7", "none"]),
    ("days_off number", (("days_off: 5x2 ", "days_off: 5 "),),
     f"{S}.days_off", "days_off:", ["5 is a number", "N + M = 7"]),
    ("days_off without days on", (("days_off: 5x2 ", "days_off: 0x7 "),),
     f"{S}.days_off", "days_off:", ["0x7", "hexadecimal", "N + M = 7"]),
    # staffing targets
    ("target about nothing", (("{channel: email, max_asa: 4h}", "{max_asa: 4h}"),),
     "staffing.targets[5]", "{max_asa: 4h}", ["exactly one of channel, category or tier"]),
    ("target about a tier and a channel", (("{channel: email, max_asa: 4h}", "{channel: email, tier: L2, max_asa: 4h}"),),
     "staffing.targets[5]", "tier: L2, max_asa", ["exactly one", "channel, tier"]),
    ("answer_within without target", (("{channel: email, max_asa: 4h}", "{channel: email, answer_within: 4h}"),),
     "staffing.targets[5]", "answer_within: 4h", ["answer_within and target go together"]),
    ("target without answer_within", (("{channel: email, max_asa: 4h}", "{channel: email, target: 0.9}"),),
     "staffing.targets[5]", "{channel: email, target: 0.9}", ["answer_within and target go together"]),
    ("category target without a measure", (("{channel: email, max_asa: 4h}", "{category: general}"),),
     "staffing.targets[5]", "{category: general}", ["answer_within and target", "max_asa"]),
    ("own SLA of a channel without one", (("{channel: email, max_asa: 4h}", "{channel: email}"),),
     "staffing.targets[5].channel", "{channel: email}", ["'email' has no SLA to aim at", "answer_within", "target"]),
    ("target on an unknown channel", (("{channel: email, max_asa: 4h}", "{channel: fax, max_asa: 4h}"),),
     "staffing.targets[5].channel", "{channel: fax", ["unknown channel 'fax'", "chat, email, phone"]),
    ("target on an unknown category", (("{category: account_security,", "{category: kyc,"),),
     "staffing.targets[2].category", "{category: kyc", ["unknown category 'kyc'", "account_security, general"]),
    ("target on an unknown tier", (("{tier: L2,", "{tier: L3,"),),
     "staffing.targets[3].tier", "{tier: L3", ["unknown tier 'L3'", "L1, L2"]),
    ("category on a channel it never arrives on",
     (("    rate: 20/h\n", "    rate: 20/h\n    categories: {general: 1.0}\n"),
      ("{channel: email, max_asa: 4h}", "{channel: email, category: account_security, max_asa: 4h}")),
     "staffing.targets[5].category", "{channel: email, category", ["never arrives", "'email'"]),
    ("unknown target scope", (("scope: every_hour", "scope: hourly"),),
     "staffing.targets[1].scope", "scope: hourly", ["'hourly'", "every_hour", "every_interval"]),
    ("target share above 1", (("target: 0.95}", "target: 1.2}"),),
     "staffing.targets[2].target", "target: 1.2", ["1.2", "less than or equal to 1"]),
    ("max_abandon_rate above 1", (("max_abandon_rate: 0.05", "max_abandon_rate: 5"),),
     "staffing.targets[4].max_abandon_rate", "max_abandon_rate: 5", ["less than or equal to 1"]),
    ("max_asa without a unit", (("max_asa: 4h", "max_asa: 4"),),
     "staffing.targets[5].max_asa", "max_asa: 4", ["4h"]),
    ("scopes and targets together", (("  replications: 5\n", "  replications: 5\n  scopes: [overall, worst_hour]\n"),),
     "staffing.scopes", "scopes: [overall", ["with targets", "scope"]),
    ("empty targets", (("  targets:\n    - {channel: chat}", "  targets: []\n  x:\n    - {channel: chat}"),),
     "staffing.targets", "targets: []", ["at least 1"]),
]


@pytest.mark.parametrize(("replacements", "field", "needle", "words"), [pytest.param(*c[1:], id=c[0]) for c in BAD])
def test_mistakes_exit_2_naming_file_field_and_line(
    tmp_path: Path, replacements: tuple[tuple[str, str], ...], field: str, needle: str, words: list[str]
) -> None:
    text = edit(BASE, *replacements)
    path = write(tmp_path, text)
    code, out = run_cli("validate", str(path))
    assert code == 2, out
    assert "Traceback" not in out and all(line.startswith(f"error: {path}:") for line in out.strip().splitlines()), out
    message = out.strip().splitlines()[0]  # validate lists every problem; the first is the one `run` stops at
    assert message.startswith(f"error: {path}:{line_of(text, needle)}:"), message
    assert f" {field}: " in message, message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_volatile_target_without_a_market(tmp_path: Path) -> None:
    text = drop(BASE, "market:", "pools:")
    path = write(tmp_path, text)
    code, out = run_cli("validate", str(path))
    assert code == 2
    assert out.startswith(f"error: {path}:{line_of(text, 'scope: volatile')}:"), out
    assert " staffing.targets[4].scope: " in out and "market" in out


def test_volatile_scope_without_a_market_is_refused_as_today(tmp_path: Path) -> None:
    text = drop(BASE, "market:", "pools:")
    text = text[: text.index("  targets:")] + "  scopes: [overall, volatile]\n"
    path = write(tmp_path, text)
    code, out = run_cli("validate", str(path))
    assert code == 2 and " staffing.scopes: " in out and "market" in out, out


# -- 3. the helpers ------------------------------------------------------------------------------------------------


def schedule(**fields: Any) -> Schedule:
    data = {"templates": [{"name": "full", "length": "8h"}], "starts": {"from": "06:00", "to": "14:00", "every": "30min"}}
    return Schedule.model_validate({**data, **fields})


def test_start_times_every_start_in_every_window_sorted_without_repeats() -> None:
    assert schedule().start_times() == [6 * H + k * 1800.0 for k in range(17)]  # 06:00, 06:30, ..., 14:00
    # `to` is included only when a step lands on it
    assert schedule(starts={"from": "06:00", "to": "07:45", "every": "30min"}).start_times() == [
        6 * H, 6.5 * H, 7 * H, 7.5 * H
    ]  # fmt: skip
    overlapping = [
        {"from": "10:00", "to": "12:00", "every": "1h"},
        {"from": "06:00", "to": "11:00", "every": "2h30min"},
        {"from": "11:00", "to": "11:00", "every": "1h"},
    ]
    assert schedule(starts=overlapping).start_times() == [6 * H, 8.5 * H, 10 * H, 11 * H, 12 * H]
    # 24:00 is the next day's 00:00
    whole_day = [{"from": "00:00", "to": "24:00", "every": "6h"}]
    assert schedule(starts=whole_day).start_times() == [0.0, 6 * H, 12 * H, 18 * H]
    # a step that does not divide the window evenly in binary floating point still lands on `to`
    assert schedule(starts={"from": "00:00", "to": "01:00", "every": "6min"}).start_times()[-1] == 1 * H


def test_windows_is_always_a_list() -> None:
    one = schedule()
    assert one.windows == [one.starts]
    many = schedule(starts=[{"from": "06:00", "to": "07:00", "every": "1h"}, {"from": "20:00", "to": "21:00", "every": "1h"}])
    assert many.windows == many.starts and len(many.windows) == 2


@pytest.mark.parametrize(
    ("days_off", "on", "stored"),
    [("none", 7, "none"), ("5x2", 5, "5x2"), ("4x3", 4, "4x3"), ("7x0", 7, "7x0"), ("1x6", 1, "1x6"), (" 5X2 ", 5, "5x2")],
)
def test_work_days_on(days_off: str, on: int, stored: str) -> None:
    s = schedule(days_off=days_off)
    assert s.days_off == stored and s.work_days_on() == on and s.work_days_off() == 7 - on


def test_days_off_defaults_to_none() -> None:
    assert schedule().days_off == "none" and schedule().work_days_on() == 7


def test_paid_length_takes_off_the_unpaid_breaks() -> None:
    t = Template.model_validate(
        {
            "name": "full",
            "length": "8h30min",
            "breaks": [
                {"length": "30min", "after": ["3h30min", "4h", "4h30min"], "paid": False},
                {"length": "15min", "after": ["2h"], "paid": True},
                {"length": "15min", "after": ["6h", "6h30min"]},  # unpaid by default
            ],
        }
    )
    assert t.paid_length() == 8.5 * H - 1800.0 - 900.0
    assert t.working_length() == 8.5 * H - 1800.0 - 900.0 - 900.0
    assert Template.model_validate({"name": "part", "length": "4h"}).paid_length() == 4 * H


def test_template_breaks_may_overlap_for_some_offsets() -> None:
    t = Template.model_validate(
        {"name": "t", "length": "8h", "breaks": [{"length": "1h", "after": ["3h", "4h"]}, {"length": "1h", "after": ["3h30min"]}]}
    )
    assert len(t.breaks) == 2
    # a break may end exactly at the end of the shift, and a template may last a whole day
    assert Template.model_validate({"name": "t", "length": "24h", "breaks": [{"length": "1h", "after": ["23h"]}]})


def test_labels() -> None:
    s = scenario_from_dict(data_of(BASE))
    assert [t.label for t in staffing_targets(s)] == [
        "chat SLA overall",
        "phone SLA every hour",
        "category account_security 95% in 2min overall",
        "tier L2 80% in 1h overall",
        "chat abandon <= 5% volatile",
        "email ASA <= 4h overall",
    ]
    both = Target(channel="chat", category="kyc", answer_within="30s", target=0.9, max_asa="1min", scope="worst_hour")  # type: ignore[arg-type]
    assert both.label == "category kyc on chat 90% in 30s, ASA <= 1min worst hour"
    assert both.measures == ["90% in 30s", "ASA <= 1min"] and not both.own_sla
    assert Target(channel="chat", scope="every_interval").label == "chat SLA every interval"


def test_staffing_targets_are_the_scenarios_targets() -> None:
    s = scenario_from_dict(data_of(BASE))
    assert s.staffing is not None and staffing_targets(s) == s.staffing.targets
    assert staffing_targets(s)[0].own_sla and staffing_targets(s)[0].channel == "chat"


def test_staffing_targets_without_targets_expand_todays_meaning() -> None:
    # no staffing section: every channel with an SLA, overall (email has none)
    data = data_of(BASE)
    del data["staffing"]
    s = scenario_from_dict(data)
    assert staffing_targets(s) == [Target(channel="phone"), Target(channel="chat")]
    # staffing.scopes: each channel with an SLA in each scope, channel by channel
    data["staffing"] = {"scopes": ["overall", "worst_hour", "volatile"], "replications": 4}
    s = scenario_from_dict(data)
    assert s.staffing is not None and s.staffing.scopes == ["overall", "worst_hour", "volatile"]
    assert [(t.channel, t.scope) for t in staffing_targets(s)] == [
        ("phone", "overall"), ("phone", "worst_hour"), ("phone", "volatile"),
        ("chat", "overall"), ("chat", "worst_hour"), ("chat", "volatile"),
    ]  # fmt: skip
    assert all(t.own_sla for t in staffing_targets(s))
    assert [t.label for t in staffing_targets(s)][:2] == ["phone SLA overall", "phone SLA worst hour"]
    # a staffing section with replications only: overall
    data["staffing"] = {"replications": 4}
    assert [t.label for t in staffing_targets(scenario_from_dict(data))] == ["phone SLA overall", "chat SLA overall"]


def test_staffing_targets_on_a_plain_desk() -> None:
    s = build(mmn_dict(agents=5, rate=1.0, mean_handle=4.0))
    assert s.staffing is None and staffing_targets(s) == [Target(channel="phone", scope="overall")]
    assert unrostered_pools(s) == []
    no_sla = build(mmn_dict(agents=5, rate=1.0, mean_handle=4.0, sla_T=None))
    assert staffing_targets(no_sla) == []


def test_staffing_goal_keeps_scopes_as_today() -> None:
    g = StaffingGoal.model_validate({"scopes": ["worst_hour"], "replications": 3})
    assert g.scopes == ["worst_hour"] and g.replications == 3 and g.targets is None
    assert StaffingGoal().scopes == ["overall"]


# -- 4. what ships still validates ---------------------------------------------------------------------------------


def test_bundled_scenarios_still_validate() -> None:
    code, out = run_cli("validate", *map(str, SCENARIO_FILES))
    assert code == 0, out
    assert len(re.findall(r"^ok: ", out, flags=re.MULTILINE)) == len(SCENARIO_FILES), out
    for path in SCENARIO_FILES:
        s = load_scenario(path)
        assert unrostered_pools(s) == []
        assert all(not isinstance(p.shifts, list) or all(sh.breaks == [] for sh in p.shifts) for p in s.pools)


def test_the_readme_section_shows_forms_that_validate() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Rosters, templates and targets", 1)[1].split("\n## ", 1)[0]
    blocks = [data_of(b) for b in re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)]
    assert len(blocks) == 3
    shifts, pools, staffing = blocks
    assert [Shift.model_validate(sh).breaks[0].at for sh in shifts["shifts"]] == [12 * H]
    data = data_of(BASE)
    assert pools["pools"] == data["pools"][:1]  # the desk above uses the README's forms
    assert staffing["staffing"] == data["staffing"]
