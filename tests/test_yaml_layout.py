"""`staff` and `schedule` write the author's scenario back, changed where the numbers changed and
nowhere else: comments, quotes, flow mappings over several lines, aligned columns, indentation.

The bundled scenarios go through the writers with new headcounts; compared line by line with the
original (after the writer's one header line), only the lines holding a changed value differ, and
no line ends in spaces.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from simsupport.config.load import load_scenario
from simsupport.outputs.schedule import write_scheduled_scenario
from simsupport.outputs.staffing import write_staffed_scenario
from simsupport.outputs.yaml_edit import YamlText, scalar_text
from simsupport.staffing.variables import decision_variables

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ["exchange-roster", "exchange-baseline"]


def _body(path: Path, header: str) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(header), lines[0]
    return lines[1:]


def _no_trailing_spaces(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()] == []
    assert text.endswith("\n") and not text.endswith("\n\n")


@pytest.mark.parametrize("name", BUNDLED)
def test_staffed_yaml_differs_only_where_headcounts_changed(name: str, tmp_path: Path) -> None:
    src = ROOT / "scenarios" / f"{name}.yaml"
    s = load_scenario(src)
    vars_ = decision_variables(s)
    assert len(vars_) > 10
    # every other decision changed (one to a number of another width), the rest left as they are
    x = {v.label: (v.current + 7 if i % 3 == 0 else v.current * 10 + 1 if i % 3 == 1 else v.current) for i, v in
         enumerate(vars_)}  # fmt: skip
    out = write_staffed_scenario(src, vars_, x, tmp_path / f"{name}-staffed.yaml")
    original = src.read_text(encoding="utf-8").splitlines()
    written = _body(out, "# staffing recommended by `simsupport staff`")
    assert len(written) == len(original)
    changed = [(a, b) for a, b in zip(original, written) if a != b]
    moved = {v.label for v in vars_ if x[v.label] != v.current}
    assert len(changed) == len(moved)  # one line per changed headcount (each on its own line here)
    for a, b in changed:
        # the same line but for one number after `agents:`
        pa, pb = re.split(r"agents: \d+", a), re.split(r"agents: \d+", b)
        assert pa == pb and len(pa) == 2, (a, b)
    _no_trailing_spaces(out)
    staffed = load_scenario(out)
    assert {v.label: v.current for v in decision_variables(staffed)} == x


def _same_shifts(s: Any, pool: str, agents: list[int]) -> list[SimpleNamespace]:
    """Roster lines that are the pool's own shifts, with other headcounts (as `schedule` would
    write them if it kept the shifts)."""
    out = []
    for sh, n in zip(s.pool(pool).shifts, agents):
        shift = {"name": sh.name, "start": f"{int(sh.start // 3600):02d}:{int(sh.start % 3600 // 60):02d}",
                 "end": f"{int(sh.end // 3600):02d}:{int(sh.end % 3600 // 60):02d}", "agents": n}  # fmt: skip
        if sh.end == 86400:
            shift["end"] = "24:00"
        if sh.days != "all":
            shift["days"] = list(sh.days)
        out.append(SimpleNamespace(pool=pool, shift=lambda shift=shift: shift))
    return out


@pytest.mark.parametrize("name", BUNDLED)
def test_scheduled_yaml_differs_only_where_the_roster_changed_numbers(name: str, tmp_path: Path) -> None:
    src = ROOT / "scenarios" / f"{name}.yaml"
    s = load_scenario(src)
    lines = _same_shifts(s, "l1-asia", [120, 108, 9]) + _same_shifts(s, "l1-phone", [40, 24, 24, 9])
    out = write_scheduled_scenario(src, SimpleNamespace(lines=lines), tmp_path / f"{name}-scheduled.yaml")
    original = src.read_text(encoding="utf-8").splitlines()
    written = _body(out, "# roster chosen by `simsupport schedule`")
    assert len(written) == len(original)
    changed = [(a, b) for a, b in zip(original, written) if a != b]
    assert [re.findall(r"agents: (\d+)", b) for _, b in changed] == [["120"], ["9"], ["40"]]
    for a, b in changed:
        assert re.split(r"agents: \d+", a) == re.split(r"agents: \d+", b), (a, b)
    _no_trailing_spaces(out)
    rostered = load_scenario(out)
    assert [sh.agents for sh in rostered.pool("l1-asia").shifts] == [120, 108, 9]


@pytest.mark.parametrize("name", BUNDLED)
def test_a_new_roster_replaces_only_its_pools_shifts(name: str, tmp_path: Path) -> None:
    """A roster unlike today's shifts: the rostered pools' shifts blocks (and an `agents` line)
    are replaced by one flow mapping a line at the file's own indentation; the rest is untouched."""
    src = ROOT / "scenarios" / f"{name}.yaml"
    roster = [
        {"name": "full 06:00 mon,tue,wed,thu,fri", "start": "06:00", "end": "14:30", "agents": 12,
         "days": ["mon", "tue", "wed", "thu", "fri"], "breaks": [{"at": "10:00", "length": "30min"}]},
        {"name": "part 18:00 all", "start": "18:00", "end": "22:00", "agents": 3, "days": "all"},
    ]  # fmt: skip
    lines = [SimpleNamespace(pool=pool, shift=lambda r=r: r) for pool in ("l1-europe", "l2") for r in roster]
    out = write_scheduled_scenario(src, SimpleNamespace(lines=lines), tmp_path / f"{name}-scheduled.yaml")
    written = _body(out, "# roster chosen by `simsupport schedule`")
    text = src.read_text(encoding="utf-8")
    original = text.splitlines()
    new_items = [n for n, line in enumerate(written) if line.startswith("      - {name: \"")]
    assert len(new_items) == 4
    assert written[new_items[0]] == ('      - {name: "full 06:00 mon,tue,wed,thu,fri", start: "06:00", end: "14:30", '
                                     "agents: 12, days: [mon, tue, wed, thu, fri], breaks: [{at: \"10:00\", length: 30min}]}")  # fmt: skip
    # everything but the two pools' shifts (and l2's `agents`) is line for line the original
    doc = YamlText(text)
    pools = {p["name"]: p for p in doc.tree["pools"]}
    drop: set[int] = set()
    for name_ in ("l1-europe", "l2"):
        p = pools[name_]
        col = p.lc.key("name")[1]
        for key in ("shifts", "agents"):
            if key in p:
                first = p.lc.key(key)[0]
                drop |= set(range(first, doc.block_end(first, col, sequence_value=True)))
    kept = [line for n, line in enumerate(original) if n not in drop]
    assert [line for n, line in enumerate(written) if n not in new_items and line.strip() != "shifts:"] == \
        [line for line in kept if line.strip() != "shifts:"]  # fmt: skip
    _no_trailing_spaces(out)
    s = load_scenario(out)
    assert [sh.agents for sh in s.pool("l2").shifts] == [12, 3] and s.pool("l2").agents is None
    assert s.pool("l1-europe").shifts[0].breaks[0].length == 1800


def test_a_file_in_another_indentation_keeps_it(tmp_path: Path) -> None:
    """Indented 4 with sequences flush under their key: a pool with no shifts gets them in that
    style, and a flow-mapping pool (which the text cannot take in place) is dumped by ruamel in
    the same indentation, without wrapping or trailing spaces."""
    text = (
        "# a desk\n"
        "name: four\n"
        "horizon: 1d\n"
        "categories:\n"
        "    a: {share: 1.0, handle_time: {dist: exponential, mean: 5min}}   # one kind of work\n"
        "channels:\n"
        "    chat: {rate: 60/h, sla: {answer_within: 30s, target: 0.8}}\n"
        "pools:\n"
        "-   name: agents   # the team\n"
        "    agents: 8\n"
        "-   name: spare\n"
        "    agents: 2\n"
    )
    src = tmp_path / "four.yaml"
    src.write_text(text, encoding="utf-8")
    assert YamlText(text).indent == (4, 4, 0)
    shift = {"name": "day", "start": "08:00", "end": "16:00", "agents": 5}
    out = write_scheduled_scenario(src, SimpleNamespace(lines=[SimpleNamespace(pool="agents", shift=lambda: shift)]),
                                   tmp_path / "out.yaml")  # fmt: skip
    body = _body(out, "# roster")
    assert body[8:11] == ["-   name: agents   # the team", "    shifts:",
                          '    -   {name: day, start: "08:00", end: "16:00", agents: 5}']  # as the file's "-   name"
    assert body[:8] == text.splitlines()[:8] and body[11:] == text.splitlines()[10:]
    # a pool written as a flow mapping: ruamel dumps the whole file in its indentation
    flow = text.replace("-   name: spare\n    agents: 2\n", "-   {name: spare, agents: 2}\n")
    src.write_text(flow, encoding="utf-8")
    out = write_scheduled_scenario(src, SimpleNamespace(lines=[SimpleNamespace(pool="spare", shift=lambda: shift)]),
                                   tmp_path / "flow.yaml")  # fmt: skip
    _no_trailing_spaces(out)
    dumped = out.read_text(encoding="utf-8")
    assert "# one kind of work" in dumped and "# the team" in dumped
    assert '{name: day, start: "08:00", end: "16:00", agents: 5}' in dumped  # 08:00 bare is 480 in YAML 1.1
    assert load_scenario(out).pool("spare").shifts[0].agents == 5


def test_relative_data_files_are_relinked_in_place(tmp_path: Path) -> None:
    """The scenario lives in --out: a relative empirical CSV is rewritten to be found from there,
    that one value changed where it stands, its quotes kept."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "times.csv").write_text("id,minutes\n1,1.5\n2,2\n3,4\n", encoding="utf-8")
    text = (
        "name: relink\n"
        "horizon: 4h\n"
        "categories:\n"
        "  a: {share: 1.0,\n"
        "      handle_time: {dist: empirical, file: 'times.csv', column: minutes, unit: min}}  # measured\n"
        "channels:\n"
        "  chat: {rate: 30/h}\n"
        "pools:\n"
        "  - name: team\n"
        "    agents: 3\n"
    )
    src = tmp_path / "src" / "relink.yaml"
    src.write_text(text, encoding="utf-8")
    vars_ = decision_variables(load_scenario(src))
    for writer, header in ((lambda out: write_staffed_scenario(src, vars_, {"team": 4}, out), "# staffing"),
                           (lambda out: write_scheduled_scenario(src, SimpleNamespace(lines=[]), out), "# roster")):
        out = writer(tmp_path / "out" / "x.yaml")
        changed = [(a, b) for a, b in zip(text.splitlines(), _body(out, header)) if a != b]
        want = ["file: '../src/times.csv'"] + (["agents: 4"] if header == "# staffing" else [])
        assert len(changed) == len(want) and all(w in b for w, (_, b) in zip(want, changed)), changed
        assert load_scenario(out).categories["a"].handle_time.expected() == pytest.approx(60 * 7.5 / 3)


@pytest.mark.parametrize(("value", "text"), [
    ("07:00", '"07:00"'), ("30min", "30min"), ("all", "all"), ("yes", '"yes"'), ("1.5", '"1.5"'),
    ("full 06:00 all", '"full 06:00 all"'), (12, "12"), (["mon", "tue"], "[mon, tue]"),
    ({"at": "10:00", "length": "30min"}, '{at: "10:00", length: 30min}'),
])  # fmt: skip
def test_scalars_are_written_as_yaml_11_and_12_read_them(value: Any, text: str) -> None:
    assert scalar_text(value) == text
