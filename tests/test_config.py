"""Scenario files -> validated Scenario, and every way a file can be wrong.

The error tests write YAML text to tmp_path, so the line of every key is known: each case
names a needle (a piece of text) and the error must point at the line holding it, name the
field path, and say what is allowed. The contract (README): one paragraph naming file, field,
line and what is allowed.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from simsupport.cli import main
from simsupport.config.distributions import DISTRIBUTION_NAMES, Exponential, LogNormal
from simsupport.config.load import load_scenario, scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.errors import ScenarioError, SimsupportError

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))
TEXTBOOK = SCENARIOS / "textbook.yaml"
BASELINE = SCENARIOS / "exchange-baseline.yaml"

# The textbook desk in block style (one key a line, so needles find lines unambiguously).
BASE = """\
name: desk
horizon: 20h
warmup: 1h
categories:
  urgent:
    share: 0.3
    priority: 0
    handle_time: {dist: exponential, mean: 6min}
  normal:
    share: 0.7
    priority: 1
    handle_time: {dist: exponential, mean: 5min}
channels:
  phone:
    rate: 1.5/min
    patience: {dist: exponential, mean: 2.5min}
    sla: {answer_within: 15s, target: 0.8}
pools:
  - name: team
    agents: 10
    channels: [phone]
"""

TWO_LANGUAGES = "customers:\n  languages: {en: 0.6, de: 0.4}\n"


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """Apply exact, unique replacements (a test that edits nothing would test nothing)."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing needle."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} time(s)"
    return hits[occurrence - 1]


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> tuple[Path, ScenarioError]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return path, info.value


def assert_one_paragraph(err: ScenarioError, path: Path | str) -> None:
    text = str(err)
    assert "\n" not in text.strip(), f"message spans several lines: {text!r}"
    assert str(path) in text
    assert "Traceback" not in text


# -- the files that ship ---------------------------------------------------------------------------


def test_textbook_loads_in_seconds_with_defaults() -> None:
    s = load_scenario(TEXTBOOK)
    assert s.name == "textbook"
    assert s.horizon == 7_200_000.0  # 2000h
    assert s.warmup == 36_000.0  # 10h
    assert s.end == s.warmup + s.horizon
    assert s.replications == 10 and s.seed == 7
    phone = s.channels["phone"]
    assert phone.rate == pytest.approx(0.025, rel=1e-15)  # 1.5/min
    assert isinstance(phone.patience, Exponential) and phone.patience.mean == 150.0
    assert phone.sla is not None
    assert phone.sla.answer_within == 15.0 and phone.sla.threshold == 15.0
    assert phone.sla.target == 0.8 and phone.sla.formula == "answered_and_abandoned"
    assert phone.sla.short_abandon == 0.0
    assert phone.daily_profile == "flat" and phone.weekly_profile == "flat" and phone.timezone == "UTC"
    assert phone.max_waiting is None and phone.lines is None and phone.retry is None
    cats = s.categories
    assert list(cats) == ["urgent", "normal"]
    assert (cats["urgent"].share, cats["urgent"].priority) == (0.3, 0)
    assert (cats["normal"].share, cats["normal"].priority) == (0.7, 1)
    for cat in cats.values():
        assert isinstance(cat.handle_time, Exponential) and cat.handle_time.mean == 360.0
        assert cat.skill is None and cat.wrap_up is None and cat.by_channel == {} and cat.by_language == {}
    # defaults filled in
    assert s.interval == 900.0
    assert s.routing.order == ["priority", "vip", "longest_waiting"]
    assert s.routing.agent_choice == "longest_idle"
    assert s.routing.language_fallback is None
    assert s.customers.languages == {"default": 1.0}
    assert s.languages == {"default": 1.0}
    assert s.customers.vip_share == 0.0
    assert s.start == datetime(2026, 1, 5, tzinfo=timezone.utc)
    assert s.start.weekday() == 0  # a Monday
    (pool,) = s.pools
    assert (pool.name, pool.agents, pool.channels, pool.shifts) == ("agents", 10, ["phone"], "24x7")
    assert pool.tier == "L1" and pool.serves == "all" and pool.shrinkage == 0.0
    assert s.pool("agents") is pool


def test_scenario_is_frozen() -> None:
    s = load_scenario(TEXTBOOK)
    with pytest.raises(Exception):
        s.horizon = 1.0  # type: ignore[misc]


def test_baseline_loads() -> None:
    s = load_scenario(BASELINE)
    assert s.name == "exchange-baseline"
    assert (s.horizon, s.warmup, s.interval) == (7 * 86400.0, 86400.0, 1800.0)
    assert set(s.customers.languages) == {"en", "zh", "ko", "ru", "es", "tr", "vi"}
    assert math.fsum(s.customers.languages.values()) == pytest.approx(1.0)
    assert s.customers.vip_share == 0.03
    assert set(s.channels) == {"chat", "phone", "email", "ticket", "social"}
    assert s.channels["chat"].rate == pytest.approx(620 / 3600)
    assert s.channels["chat"].timezone == "Asia/Shanghai"
    assert s.channels["phone"].lines == 60
    assert s.channels["phone"].sla is not None and s.channels["phone"].sla.short_abandon == 5.0
    assert s.channels["email"].patience == "none"
    assert s.channels["email"].sla is not None and s.channels["email"].sla.first_response_within == 86400.0
    retry = s.channels["chat"].retry
    assert retry is not None and retry.prob == 0.4
    assert retry.after.dist == "exponential" and retry.after.expected() == 600.0  # a duration = mean
    sec = s.categories["account_security"]
    assert isinstance(sec.handle_time, LogNormal) and sec.handle_time.cv == 0.9
    assert s.categories["deposit_withdrawal"].by_channel == {"email": 1.3, "ticket": 1.3}
    general = s.categories["general"]
    assert general.wrap_up is not None and general.wrap_up.expected() == 30.0
    assert [p.name for p in s.pools] == [
        "l1-asia", "l1-europe", "l1-americas", "l1-phone", "l2", "security", "vip-desk",
    ]  # fmt: skip
    asia = s.pool("l1-asia")
    assert isinstance(asia.shifts, list) and [sh.name for sh in asia.shifts] == ["day", "evening", "night"]
    assert (asia.shifts[0].start, asia.shifts[0].end, asia.shifts[0].agents) == (7 * 3600.0, 15 * 3600.0, 98)
    assert s.pool("l1-europe").shifts[1].end == 86400.0  # "24:00"  # type: ignore[union-attr]
    assert s.pool("l1-phone").shifts[0].days == ["mon", "tue", "wed", "thu", "fri"]  # type: ignore[union-attr]
    assert s.pool("l2").shifts == "follow_the_sun" and s.pool("l2").agents == 34
    assert s.pool("vip-desk").serves == "vip"
    assert s.routing.agent_choice == "pool_order"
    assert s.routing.language_fallback is not None
    assert (s.routing.language_fallback.to, s.routing.language_fallback.after) == ("en", 180.0)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_bundled_scenario_loads(path: Path) -> None:
    s = load_scenario(path)
    assert s.name == path.stem


def test_validate_command_accepts_every_bundled_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(SCENARIO_FILES) >= 2
    with pytest.raises(SystemExit) as info:
        main(["validate", *map(str, SCENARIO_FILES)])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for path in SCENARIO_FILES:
        assert path.name in out
    assert len(re.findall(r"^ok: ", out, flags=re.M)) == len(SCENARIO_FILES)


def test_scenario_from_dict_accepts_plain_data() -> None:
    data = YAML(typ="safe").load(TEXTBOOK.read_text(encoding="utf-8"))
    s = scenario_from_dict(data, source="plain")
    assert s == load_scenario(TEXTBOOK)


def test_scenario_from_dict_errors_name_the_source() -> None:
    data = YAML(typ="safe").load(TEXTBOOK.read_text(encoding="utf-8"))
    data["pools"][0]["agents"] = -1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="from-a-dict")
    err = info.value
    assert err.file == "from-a-dict" and err.field == "pools.agents.agents"
    assert str(err).startswith("from-a-dict")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(["not", "a", "mapping"], source="from-a-list")  # type: ignore[arg-type]
    assert info.value.file == "from-a-list" and "mapping" in info.value.message


def test_plain_data_errors_claim_no_line() -> None:
    # Plain data has no lines; an error must not point at "line 1" of a file that does not exist.
    data = YAML(typ="safe").load(TEXTBOOK.read_text(encoding="utf-8"))
    data["pools"][0]["agents"] = -1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="from-a-dict")
    assert info.value.line is None, str(info.value)
    assert str(info.value).startswith("from-a-dict: pools.agents.agents:")


def test_cross_field_errors_in_plain_data_claim_no_line() -> None:
    data = YAML(typ="safe").load(TEXTBOOK.read_text(encoding="utf-8"))
    data["categories"]["normal"]["share"] = 0.6
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, source="from-a-dict")
    assert info.value.line is None and info.value.field == "categories"


# -- error cases -------------------------------------------------------------------------------------
# (id, edited text, field path, needle on the blamed line, words the message must contain)
CASES: list[tuple[str, str, str, str, list[str]]] = [
    (
        "unknown top-level key",
        edit(BASE, ("horizon: 20h\n", "horizon: 20h\nhorizn: 30h\n")),
        "horizn",
        "horizn:",
        ["unknown key 'horizn'", "allowed keys", "horizon", "warmup", "channels", "pools", "routing"],
    ),
    (
        "unknown key in a pool",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    colour: red\n")),
        "pools.team.colour",
        "colour: red",
        ["unknown key 'colour'", "allowed keys", "agents", "shifts", "shrinkage", "languages", "skills"],
    ),
    (
        "unknown key in an inline mapping",
        edit(BASE, ("target: 0.8}", "target: 0.8, within: 20s}")),
        "channels.phone.sla.within",
        "within: 20s",
        ["unknown key 'within'", "answer_within", "first_response_within", "target", "formula"],
    ),
    (
        "missing required key",
        edit(BASE, ("    priority: 1\n    handle_time: {dist: exponential, mean: 5min}\n", "    priority: 1\n")),
        "categories.normal.handle_time",
        "  normal:",
        ["required", "missing"],
    ),
    (
        "missing pool name",
        edit(BASE, ("  - name: team\n    agents: 10\n", "  - agents: 10\n")),
        "pools[0].name",
        "  - agents: 10",
        ["required"],
    ),
    (
        "duration with unknown words",
        edit(BASE, ("answer_within: 15s", "answer_within: 20 seconds please")),
        "channels.phone.sla.answer_within",
        "20 seconds please",
        ["'20 seconds please'", "20s", "6min"],
    ),
    (
        "duration with unknown unit",
        edit(BASE, ("horizon: 20h", "horizon: 20 parsecs")),
        "horizon",
        "horizon:",
        ["parsecs", "s, min, h, d and w"],
    ),
    (
        "bare number duration",
        edit(BASE, ("horizon: 20h", "horizon: 20")),
        "horizon",
        "horizon:",
        ["20", "without a unit", "20s", "20min", "20h"],
    ),
    (
        "duration 'm' is ambiguous",
        edit(BASE, ("mean: 2.5min}", "mean: 2.5m}")),
        "channels.phone.patience.mean",
        "patience:",
        ["'m'", "min"],
    ),
    (
        "rate written with per",
        edit(BASE, ("rate: 1.5/min", "rate: 1400 per hour")),
        "channels.phone.rate",
        "rate:",
        ["1400 per hour", "1400/h"],
    ),
    (
        "rate without a unit",
        edit(BASE, ("rate: 1.5/min", "rate: 1400")),
        "channels.phone.rate",
        "rate:",
        ["1400", "without a unit", "1400/h", "1400/min"],
    ),
    (
        "negative rate",
        edit(BASE, ("rate: 1.5/min", "rate: -3/h")),
        "channels.phone.rate",
        "rate:",
        ["negative", "0 or more"],
    ),
    (
        "negative agents",
        edit(BASE, ("agents: 10", "agents: -3")),
        "pools.team.agents",
        "agents: -3",
        ["-3", "greater than or equal to 0"],
    ),
    (
        "agents not a whole number",
        edit(BASE, ("agents: 10", "agents: 2.5")),
        "pools.team.agents",
        "agents: 2.5",
        ["2.5", "integer"],
    ),
    (
        "unknown distribution name",
        edit(BASE, ("{dist: exponential, mean: 6min}", "{dist: weibull, mean: 6min}")),
        "categories.urgent.handle_time",
        "weibull",
        ["weibull", *DISTRIBUTION_NAMES],
    ),
    (
        "distribution without dist",
        edit(BASE, ("{dist: exponential, mean: 6min}", "{mean: 6min}")),
        "categories.urgent.handle_time",
        "{mean: 6min}",
        ["dist", *DISTRIBUTION_NAMES],
    ),
    (
        "distribution as a bare duration",
        edit(BASE, ("{dist: exponential, mean: 6min}", "6min")),
        "categories.urgent.handle_time",
        "handle_time: 6min",
        ["'6min' is not a distribution", "{dist: exponential, mean: 6min}"],
    ),
    (
        "cv zero",
        edit(BASE, ("{dist: exponential, mean: 6min}", "{dist: lognormal, mean: 6min, cv: 0}")),
        "categories.urgent.handle_time.cv",
        "cv: 0",
        ["greater than 0"],
    ),
    (
        "cv negative",
        edit(BASE, ("{dist: exponential, mean: 5min}", "{dist: gamma, mean: 5min, cv: -0.5}")),
        "categories.normal.handle_time.cv",
        "cv: -0.5",
        ["-0.5", "greater than 0"],
    ),
    (
        "uniform low above high",
        edit(BASE, ("{dist: exponential, mean: 6min}", "{dist: uniform, low: 8min, high: 2min}")),
        "categories.urgent.handle_time",
        "dist: uniform",
        ["low", "below high"],
    ),
    (
        "unknown time zone on a channel",
        edit(BASE, ("    rate: 1.5/min\n", "    rate: 1.5/min\n    timezone: Mars/Olympus_Mons\n")),
        "channels.phone.timezone",
        "Mars/Olympus_Mons",
        ["unknown time zone 'Mars/Olympus_Mons'", "IANA", "Europe/London"],
    ),
    (
        "unknown time zone on a pool",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    timezone: CEST\n")),
        "pools.team.timezone",
        "timezone: CEST",
        ["unknown time zone 'CEST'", "IANA"],
    ),
    (
        "language shares do not sum to 1",
        BASE + "customers:\n  languages: {en: 0.5, de: 0.4}\n",
        "customers.languages",
        "  languages:",
        ["language shares must sum to 1", "0.5 + 0.4", "0.9"],
    ),
    (
        "category shares do not sum to 1",
        edit(BASE, ("share: 0.7", "share: 0.6")),
        "categories",
        "categories:",
        ["category shares must sum to 1", "0.3 + 0.6", "0.9"],
    ),
    (
        "channel category mix does not sum to 1",
        edit(BASE, ("    rate: 1.5/min\n", "    rate: 1.5/min\n    categories: {urgent: 0.5, normal: 0.6}\n")),
        "channels.phone.categories",
        "categories: {urgent",
        ["phone category shares must sum to 1", "1.1"],
    ),
    (
        "share above 1",
        edit(BASE, ("share: 0.7", "share: 1.7")),
        "categories.normal.share",
        "share: 1.7",
        ["1.7", "less than or equal to 1"],
    ),
    (
        "pool references an unknown channel",
        edit(BASE, ("channels: [phone]", "channels: [phone, fax]")),
        "pools.team.channels",
        "channels: [phone, fax]",
        ["unknown channel 'fax'", "known channels: phone"],
    ),
    (
        "pool references an unknown language",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    languages: [en, de, fr]\n")) + TWO_LANGUAGES,
        "pools.team.languages",
        "languages: [en, de, fr]",
        ["unknown language 'fr'", "known languages: de, en"],
    ),
    (
        "pool references an unknown skill",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    skills: {urgent: 1.0, normal: 1.0, wizardry: 2.0}\n")),
        "pools.team.skills.wizardry",
        "wizardry",
        ["'wizardry'", "neither a category nor a skill", "normal, urgent"],
    ),
    (
        "retry to an unknown channel",
        edit(BASE, ("    sla: {", "    retry: {prob: 0.3, after: 5min, channel: fax}\n    sla: {")),
        "channels.phone.retry.channel",
        "channel: fax",
        ["unknown channel 'fax'", "known channels: phone"],
    ),
    (
        "retry probability 1",
        edit(BASE, ("    sla: {", "    retry: {prob: 1.0, after: 5min}\n    sla: {")),
        "channels.phone.retry.prob",
        "prob: 1.0",
        ["below 1"],
    ),
    (
        "duplicate pool names",
        BASE + "  - name: team\n    agents: 2\n",
        "pools.team.name",
        "- name: team",  # the second one (checked below through `occurrence`)
        ["'team'", "used twice", "unique"],
    ),
    (
        "a category no pool can serve",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    skills: [urgent]\n")),
        "channels.phone",
        "  phone:",
        ["no pool", "normal", "'phone'"],
    ),
    (
        "a channel no pool can serve",
        edit(BASE, ("pools:\n", "  chat:\n    rate: 1/min\n    patience: {dist: exponential, mean: 1min}\npools:\n")),
        "channels.chat",
        "  chat:",
        ["no pool", "'chat'"],
    ),
    (
        "a language no pool speaks",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    languages: [en]\n")) + TWO_LANGUAGES,
        "channels.phone",
        "  phone:",
        ["no pool", "in de", "'phone'"],
    ),
    (
        "language fallback to an unknown language",
        BASE + TWO_LANGUAGES + "routing:\n  language_fallback: {to: fr, after: 3min}\n",
        "routing.language_fallback.to",
        "language_fallback",
        ["unknown language 'fr'", "known languages: de, en"],
    ),
    (
        "certainly unstable channel",
        edit(
            BASE,
            ("    patience: {dist: exponential, mean: 2.5min}\n", ""),
            ("agents: 10", "agents: 8"),
            ("mean: 5min}", "mean: 6min}"),
        ),
        "channels.phone.rate",
        "rate: 1.5/min",
        ["unstable", "9.0 Erlangs", "8.0 agents", "patience", "max_waiting"],
    ),
    (
        "pool with agents and shifts",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    shifts: [{start: '08:00', end: '16:00', agents: 3}]\n")),
        "pools.team",
        "- name: team",
        ["'team'", "both", "agents", "shifts"],
    ),
    (
        "pool with neither agents nor shifts",
        edit(BASE, ("    agents: 10\n", "")),
        "pools.team",
        "- name: team",
        ["'team'", "agents", "shifts"],
    ),
    (
        "shift boundary after 24:00",
        edit(BASE, ("    agents: 10\n", "    shifts: [{start: '08:00', end: 26h, agents: 3}]\n")),
        "pools.team.shifts[0].end",
        "shifts:",
        ["clock time", "00:00", "24:00"],
    ),
    (
        "weekly profile with 6 weights",
        edit(BASE, ("    rate: 1.5/min\n", "    rate: 1.5/min\n    weekly_profile: [1, 1, 1, 1, 1, 2]\n")),
        "channels.phone.weekly_profile",
        "weekly_profile",
        ["7 weights", "Monday", "not 6"],
    ),
    (
        "daily profile name that does not exist",
        edit(BASE, ("    rate: 1.5/min\n", "    rate: 1.5/min\n    daily_profile: lunchtime\n")),
        "channels.phone.daily_profile",
        "daily_profile",
        ["'lunchtime'", "flat", "business_hours", "retail", "asia_peak", "list of weights"],
    ),
    (
        "daily profile with 7 weights",
        edit(BASE, ("    rate: 1.5/min\n", "    rate: 1.5/min\n    daily_profile: [" + ", ".join(["1"] * 7) + "]\n")),
        "channels.phone.daily_profile",
        "daily_profile",
        ["24", "48", "96", "not 7"],
    ),
    (
        "SLA with both thresholds",
        edit(BASE, ("answer_within: 15s,", "answer_within: 15s, first_response_within: 1h,")),
        "channels.phone.sla",
        "sla:",
        ["exactly one", "answer_within", "first_response_within"],
    ),
    (
        "SLA with no threshold",
        edit(BASE, ("answer_within: 15s, ", "")),
        "channels.phone.sla",
        "sla:",
        ["exactly one", "answer_within", "first_response_within"],
    ),
    (
        "unknown SLA formula",
        edit(BASE, ("target: 0.8}", "target: 0.8, formula: answered_only}")),
        "channels.phone.sla.formula",
        "formula",
        ["answered_and_abandoned", "answered", "offered"],
    ),
    (
        "probability as a boolean",
        edit(BASE, ("target: 0.8}", "target: true}")),
        "channels.phone.sla.target",
        "target: true",
        ["not a number", "0.8"],
    ),
    (
        "reporting interval longer than the horizon",
        edit(BASE, ("warmup: 1h\n", "warmup: 1h\ninterval: 2d\n")),
        "interval",
        "interval: 2d",
        ["interval", "longer than the horizon", "20h"],
    ),
    (
        "VIP pool without VIPs",
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    serves: vip\n")),
        "pools.team.serves",
        "serves: vip",
        ["VIP", "vip_share"],
    ),
    (
        "name that is not a name",
        edit(BASE, ("name: desk", "name: 'my desk!'")),
        "name",
        "name: 'my desk!'",
        ["'my desk!'", "pattern"],
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "needle", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_error_names_field_line_and_what_is_allowed(
    tmp_path: Path, text: str, field: str, needle: str, words: list[str]
) -> None:
    path, err = load_error(tmp_path, text)
    assert err.file == str(path)
    assert err.field == field, str(err)
    occurrence = 2 if "used twice" in words else 1
    assert err.line == line_of(text, needle, occurrence), str(err)
    for word in words:
        assert word in err.message, f"{word!r} not in {err.message!r}"
    assert_one_paragraph(err, path)
    assert str(err) == f"{path}:{err.line}:{err.column}: {field}: {err.message}"


def test_error_column_points_at_the_key(tmp_path: Path) -> None:
    text = edit(BASE, ("agents: 10", "agents: -3"))
    _, err = load_error(tmp_path, text)
    assert (err.line, err.column) == (line_of(text, "agents: -3"), 5)


def test_scenario_error_is_a_simsupport_error() -> None:
    err = ScenarioError("bad", file="f.yaml", field="a.b", line=3, column=7)
    assert isinstance(err, SimsupportError)
    assert str(err) == "f.yaml:3:7: a.b: bad"
    assert str(ScenarioError("bad")) == "<scenario>: bad"
    assert str(ScenarioError("bad", file="f.yaml", line=2)) == "f.yaml:2: bad"


def test_missing_top_level_key_has_a_line(tmp_path: Path) -> None:
    # The README promises file, field *and line*; a missing top-level key has no line of its
    # own, but the top-level mapping starts on line 1 (as for a top-level list, which says 1).
    path, err = load_error(tmp_path, edit(BASE, ("horizon: 20h\n", "")))
    assert err.field == "horizon"
    assert "required" in err.message
    assert err.line == 1, str(err)


def test_unknown_key_in_a_distribution_lists_that_distributions_keys(tmp_path: Path) -> None:
    text = edit(BASE, ("{dist: exponential, mean: 6min}", "{dist: lognormal, mean: 6min, cv: 0.5, sd: 3min}"))
    _, err = load_error(tmp_path, text)
    assert err.field == "categories.urgent.handle_time.sd"
    assert err.line == line_of(text, "sd: 3min")
    assert "unknown key 'sd'" in err.message
    assert "cv" in err.message, f"a lognormal takes cv, but the message says {err.message!r}"


def test_unknown_key_in_uniform_is_not_listed_as_allowed(tmp_path: Path) -> None:
    text = edit(BASE, ("{dist: exponential, mean: 6min}", "{dist: uniform, low: 1min, high: 3min, mean: 2min}"))
    _, err = load_error(tmp_path, text)
    assert err.field == "categories.urgent.handle_time.mean"
    allowed = err.message.split("allowed keys here:", 1)[1]
    assert "mean" not in allowed, f"'mean' is rejected yet listed as allowed: {err.message!r}"
    assert "low" in allowed and "high" in allowed


def test_unknown_distribution_in_patience_is_one_problem(tmp_path: Path) -> None:
    text = edit(BASE, ("{dist: exponential, mean: 2.5min}", "{dist: weibull, mean: 2.5min}"))
    _, err = load_error(tmp_path, text)
    assert err.field == "channels.phone.patience"
    assert err.line == line_of(text, "weibull")
    for name in DISTRIBUTION_NAMES:
        assert name in err.message
    # There is exactly one mistake; the alternative `none` of the union is not a second one.
    assert "more problem" not in err.message, err.message


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            "    rate: 1.5/min\n",
            "    rate: 1.5/min\n    weekly_profile: [1, -1, 1, 1, 1, 1, 1]\n",
            "channels.phone.weekly_profile",
            ["-1", "0"],
        ),
        (
            "    rate: 1.5/min\n",
            "    rate: 1.5/min\n    daily_profile: [1, 1, high, 1]\n",
            "channels.phone.daily_profile",
            ["'high'", "number"],
        ),
        (
            "patience: {dist: exponential, mean: 2.5min}",
            "patience: never",
            "channels.phone.patience",
            ["'never'", "none", "exponential"],
        ),
        ("    agents: 10\n", "    agents: 10\n    shifts: 24x5\n", "pools.team.shifts", ["'24x5'", "24x7", "follow_the_sun"]),
    ],
    ids=["negative-weight", "word-weight", "patience-word", "shifts-word"],
)
def test_union_fields_say_what_is_allowed(
    tmp_path: Path, old: str, new: str, field: str, words: list[str]
) -> None:
    """Fields that take "a name or a list" (profiles), "a distribution or none" (patience) or
    "a list or a name" (shifts) must say what is wrong with the value, not that it is not the
    other alternative (e.g. "Input should be a valid string" for a list of weights)."""
    text = edit(BASE, (old, new))
    _, err = load_error(tmp_path, text)
    assert err.field is not None and err.field.startswith(field), str(err)
    needle = new.strip().splitlines()[-1].strip()  # the line the edit added
    assert err.line == line_of(text, needle), str(err)
    for word in words:
        assert word in err.message, f"{word!r} not in {err.message!r}"
    assert "valid string" not in err.message, err.message


def test_one_bad_weekday_is_one_problem(tmp_path: Path) -> None:
    text = edit(BASE, ("    agents: 10\n", "    shifts: [{start: '08:00', end: '16:00', agents: 3, days: [monday]}]\n"))
    _, err = load_error(tmp_path, text)
    assert err.field == "pools.team.shifts[0].days[0]"
    assert "'mon'" in err.message and "'sun'" in err.message
    # `days` may also be the word `all`, and `shifts` a word; those alternatives are not mistakes
    assert "more problem" not in err.message, err.message


# -- YAML-level problems -------------------------------------------------------------------------------


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    text = edit(BASE, ("name: desk", "name: desk: extra"))
    path, err = load_error(tmp_path, text)
    assert err.line == 1 and err.column is not None
    assert "not valid YAML" in err.message
    assert_one_paragraph(err, path)


def test_bad_indentation_reports_the_line(tmp_path: Path) -> None:
    text = edit(BASE, ("    share: 0.7\n", "    share: 0.7\n   priority: 1\n"), ("    priority: 1\n", ""))
    path, err = load_error(tmp_path, text)
    assert err.line == line_of(text, "   priority: 1")
    assert "not valid YAML" in err.message
    assert_one_paragraph(err, path)


def test_tab_indentation_reports_the_line(tmp_path: Path) -> None:
    text = edit(BASE, ("    agents: 10\n", "\tagents: 10\n"))
    path, err = load_error(tmp_path, text)
    assert err.line == line_of(text, "\tagents: 10")
    assert_one_paragraph(err, path)


def test_duplicate_key_reports_the_line(tmp_path: Path) -> None:
    text = BASE + "horizon: 30h\n"
    path, err = load_error(tmp_path, text)
    assert err.line == line_of(text, "horizon: 30h")
    assert "horizon" in err.message and "duplicate" in err.message
    assert_one_paragraph(err, path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"], ids=["empty", "blank", "comment", "doc-start"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path, err = load_error(tmp_path, text)
    assert "empty" in err.message and "mapping" in err.message
    assert err.file == str(path)
    assert_one_paragraph(err, path)


@pytest.mark.parametrize("text", ["- name: desk\n- horizon: 2h\n", "just a sentence\n", "42\n"], ids=["list", "string", "number"])
def test_top_level_not_a_mapping(tmp_path: Path, text: str) -> None:
    path, err = load_error(tmp_path, text)
    assert "mapping" in err.message and "name" in err.message and "horizon" in err.message
    assert err.line == 1
    assert_one_paragraph(err, path)


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "missing.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert err.file == str(path)
    assert "not found" in err.message and str(tmp_path / "nowhere") in err.message
    assert_one_paragraph(err, path)


def test_a_folder_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert info.value.file == str(tmp_path)
    assert_one_paragraph(info.value, tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("desk", "d\xe9sk").encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert_one_paragraph(info.value, path)


def test_control_characters_are_one_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(b"name: desk\nhorizon: 20h\x00\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert "not valid YAML" in err.message
    assert_one_paragraph(err, path)
    assert err.line == 2, str(err)


# -- YAML 1.2: language codes stay strings --------------------------------------------------------------


def test_norwegian_and_other_yaml11_booleans_stay_strings(tmp_path: Path) -> None:
    text = (
        edit(BASE, ("    agents: 10\n", "    agents: 10\n    languages: [no, on, off, yes, y, n]\n"))
        + "customers:\n  languages: {no: 0.5, on: 0.1, off: 0.1, yes: 0.1, y: 0.1, n: 0.1}\n"
        + "routing:\n  language_fallback: {to: no, after: 3min}\n"
    )
    s = load_scenario(write(tmp_path, text))
    assert list(s.customers.languages) == ["no", "on", "off", "yes", "y", "n"]
    assert s.pool("team").languages == ["no", "on", "off", "yes", "y", "n"]
    assert s.routing.language_fallback is not None and s.routing.language_fallback.to == "no"


def test_only_norwegian(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, BASE + "customers:\n  languages: {no: 1.0}\n"))
    assert s.customers.languages == {"no": 1.0}


def test_yaml_true_is_still_refused_where_a_number_is_needed(tmp_path: Path) -> None:
    # YAML 1.2 keeps `true` a boolean; a share of `true` must not become 1.0.
    _, err = load_error(tmp_path, edit(BASE, ("share: 0.7", "share: true")))
    assert err.field == "categories.normal.share"
    assert "not a number" in err.message


def test_20_seconds_is_a_valid_duration(tmp_path: Path) -> None:
    # "seconds" is one of the unit words (see units.py), so this is *not* a bad duration.
    s = load_scenario(write(tmp_path, edit(BASE, ("answer_within: 15s", "answer_within: 20 seconds"))))
    assert s.channels["phone"].sla is not None and s.channels["phone"].sla.answer_within == 20.0


# -- overrides --------------------------------------------------------------------------------------------


def test_overrides_replace_top_level_keys() -> None:
    s = load_scenario(TEXTBOOK, overrides={"horizon": "2h", "replications": 3, "seed": 11})
    assert (s.horizon, s.replications, s.seed) == (7200.0, 3, 11)
    assert s.warmup == 36_000.0  # untouched
    assert load_scenario(TEXTBOOK).horizon == 7_200_000.0  # the file is not changed


def test_override_of_a_key_not_in_the_file_claims_no_line() -> None:
    # `bogus` is not in the file, so no line of the file is to blame (line 1 is `name: textbook`)
    with pytest.raises(ScenarioError) as info:
        load_scenario(TEXTBOOK, overrides={"bogus": 1})
    assert info.value.field == "bogus"
    assert info.value.line is None, str(info.value)


def test_bad_override_value_is_not_blamed_on_the_file_line() -> None:
    # The bad value came from the override (e.g. `run --horizon 20parsec`), not from line 2 of
    # the file (`horizon: 2000h`), so no file line should be named.
    with pytest.raises(ScenarioError) as info:
        load_scenario(TEXTBOOK, overrides={"horizon": "20parsec"})
    assert info.value.field == "horizon" and "parsec" in info.value.message
    assert info.value.line is None, str(info.value)


def test_empty_overrides_change_nothing() -> None:
    assert load_scenario(TEXTBOOK, overrides={}) == load_scenario(TEXTBOOK)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"horizon": "2 parsecs"}, "horizon", ["parsecs"]),
        ({"horizon": 5}, "horizon", ["without a unit", "5h"]),
        ({"horizon": None}, "horizon", ["not a duration"]),
        ({"replications": 0}, "replications", ["greater than or equal to 1"]),
        ({"seed": -1}, "seed", ["greater than or equal to 0"]),
        ({"bogus": 1}, "bogus", ["unknown key 'bogus'", "horizon"]),
        ({"interval": "3000h"}, "interval", ["longer than the horizon"]),
    ],
)
def test_bad_override_is_a_scenario_error(overrides: dict[str, Any], field: str, words: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(TEXTBOOK, overrides=overrides)
    err = info.value
    assert err.file == str(TEXTBOOK)
    assert err.field == field
    for word in words:
        assert word in err.message
    assert_one_paragraph(err, TEXTBOOK)


# -- JSON Schema ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    json.dumps(schema)  # plain JSON
    return schema


def test_json_schema_is_valid(json_schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_bundled_scenarios_validate_against_the_json_schema(json_schema: dict[str, Any], path: Path) -> None:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(json_schema)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not problems, problems


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(horizon=20),  # bare number
        lambda d: d.update(colour="red"),  # unknown key
        lambda d: d["channels"]["phone"].update(rate="1400 per hour"),
        lambda d: d["pools"][0].update(agents=-1),
        lambda d: d.pop("pools"),
        lambda d: d["categories"]["urgent"]["handle_time"].update(dist="weibull"),
    ],
    ids=["bare-duration", "unknown-key", "rate-per", "negative-agents", "missing-pools", "unknown-dist"],
)
def test_json_schema_rejects_what_the_loader_rejects(json_schema: dict[str, Any], change: Any) -> None:
    data = YAML(typ="safe").load(TEXTBOOK.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(ScenarioError):
        scenario_from_dict(data)
    assert list(jsonschema.Draft202012Validator(json_schema).iter_errors(data))
