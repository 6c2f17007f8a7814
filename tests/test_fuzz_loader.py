"""Fuzzing the loader: no input, however broken, yields anything but a ScenarioError.

Three families of input:
  (a) random YAML-ish text: token soup, binary junk, tabs, deep nesting, anchors and aliases,
      huge numbers, unicode, and line-level damage to the bundled scenario files;
  (b) the bundled scenarios' data, mutated: keys deleted, renamed or added, leaves replaced by
      values of another type (None, str, int, float, list, dict, bool, "nan", "-5min",
      "1e999/h", ...), list items duplicated;
  (c) both through `scenario_from_dict` (plain data) and `load_scenario` (text in a file).
Invariant: a Scenario comes back (and can be dumped as JSON, as summary.json's scenario_hash
does), or a ScenarioError whose str() is one line naming the file. Any other exception,
and any traceback text in the message, fails.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from simsupport.config.load import load_scenario, scenario_from_dict
from simsupport.config.schema import Scenario
from simsupport.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SCENARIO_FILES}
DATA = {name: YAML(typ="safe").load(text) for name, text in TEXTS.items()}
SMALL = "textbook.yaml"
BIG = "exchange-baseline.yaml"

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- the invariant ----------------------------------------------------------------------------------------------


def assert_clean_error(err: ScenarioError, source: str) -> None:
    text = str(err)
    assert err.file == source, text
    assert text.startswith(source), text
    assert "\n" not in text, f"not one line: {text!r}"
    assert "Traceback" not in text
    assert err.message and err.message.strip(), text
    assert err.line is None or (isinstance(err.line, int) and err.line >= 1), text
    assert err.column is None or (isinstance(err.column, int) and err.column >= 1), text
    assert err.field is None or isinstance(err.field, str), text


def assert_usable(s: Scenario) -> None:
    assert isinstance(s, Scenario)
    json.dumps(s.model_dump(mode="json"))


def check_dict(data: Any, source: str = "fuzz-source") -> None:
    try:
        s = scenario_from_dict(data, source=source)
    except ScenarioError as err:
        assert_clean_error(err, source)
    else:
        assert_usable(s)


def check_file(folder: Path, content: str | bytes) -> None:
    path = folder / "fuzz.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    try:
        s = load_scenario(path)
    except ScenarioError as err:
        assert_clean_error(err, str(path))
    else:
        assert_usable(s)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    # module scope: hypothesis runs many examples per test function
    with tempfile.TemporaryDirectory(prefix="simsupport-fuzz-") as tmp:
        yield Path(tmp)


# -- (a) random YAML-ish text ------------------------------------------------------------------------------------

KEYS = [
    "name", "horizon", "warmup", "interval", "replications", "seed", "start", "customers",
    "languages", "vip_share", "categories", "share", "priority", "skill", "handle_time", "dist",
    "mean", "cv", "low", "high", "value", "samples", "file", "wrap_up", "by_channel", "channels",
    "rate", "daily_profile", "weekly_profile", "timezone", "patience", "max_waiting", "lines",
    "sla", "answer_within", "target", "retry", "prob", "after", "pools", "agents", "shifts",
    "skills", "serves", "shrinkage", "routing", "order", "language_fallback", "to", "no", "on",
]  # fmt: skip
SCALARS = [
    "20h", "6min", "1.5/min", "1400/h", "0", "-5min", "1e999/h", "1e999s", "nan", ".nan", ".inf",
    "-.inf", "~", "null", "true", "no", "yes", "on", "08:00", "25:00", "24:00", "3d 02:00",
    "exponential", "lognormal", "weibull", "none", "all", "24x7", "follow_the_sun", "UTC",
    "Asia/Shanghai", "Mars/Olympus", "0.3", "1.0", "-1", "99999999999999999999999999999999",
    "1e308", "0x1F", "0o17", "2026-01-05", "2026-01-05T08:00:00+08:00", "'quoted'", '"dq\\x00"',
    "日本語", "ü", "\u200b", "😀", "!!binary aGVsbG8=", "!!str 5", "!!int x", "!!float y", "!!set {a}",
    "!!omap [a: 1]", "!!python/object:os.system ls", "!custom tag", "|", ">", "|-", "&a", "*a",
    "&anchor value", "*anchor", "*undefined", "<<: *a", "? complex", "[", "]", "{", "}", ",", "-",
    ":", "#", "%", "@", "`", "\t", "\\", "'", '"',
]  # fmt: skip
TOKEN = st.one_of(
    st.sampled_from(KEYS).map(lambda k: k + ":"),
    st.sampled_from(SCALARS),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats().map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)
LINE = st.tuples(
    st.sampled_from(["", " ", "  ", "    ", "\t", "- ", "  - ", "      "]),
    st.lists(TOKEN, max_size=6),
).map(lambda t: t[0] + " ".join(t[1]))
YAMLISH = st.one_of(
    st.lists(LINE, max_size=25).map("\n".join),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.text(alphabet="{}[]:,-&*!|>?'\"#%@ \t\nabc01.", max_size=120),
)


@settings(FUZZ, max_examples=400)
@given(text=YAMLISH)
@example(text="")
@example(text="- a\n- b\n")
@example(text="name: [unclosed\n")
@example(text="name: &a {x: 1}\nhorizon: *a\n")
@example(text="name: *nowhere\n")
@example(text="\tname: x\n")
@example(text="%YAML 1.1\n---\nname: x\n")
@example(text="--- a\n--- b\n")
@example(text="!!python/object:os.system ls\n")
@example(text="? [a, b]\n: c\n")
@example(text="name: !!int x\n")
def test_random_text(folder: Path, text: str) -> None:
    check_file(folder, text)


@settings(FUZZ, max_examples=150)
@given(junk=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=len(TEXTS[SMALL])))
@example(junk=b"\xff\xfe\x00", cut=0)
@example(junk=b"\x00", cut=len(TEXTS[SMALL]))
@example(junk=b"\xef\xbb\xbf", cut=0)  # a UTF-8 byte-order mark
def test_binary_junk(folder: Path, junk: bytes, cut: int) -> None:
    """Junk bytes alone and after the start of a valid file."""
    check_file(folder, junk)
    check_file(folder, TEXTS[SMALL][:cut].encode("utf-8") + junk)


@settings(FUZZ, max_examples=40)
@given(
    depth=st.integers(min_value=1, max_value=300),
    kind=st.sampled_from(["flow_seq", "flow_map", "block_map", "block_seq"]),
    where=st.sampled_from(["name", "pools", "routing", "top"]),
)
def test_deep_nesting(folder: Path, depth: int, kind: str, where: str) -> None:
    check_file(folder, nested_text(depth, kind, where))


def nested_text(depth: int, kind: str, where: str) -> str:
    if kind == "flow_seq":
        value = "[" * depth + "1" + "]" * depth
    elif kind == "flow_map":
        value = "{a: " * depth + "1" + "}" * depth
    elif kind == "block_map":
        value = "\n" + "".join(" " * (i + 1) + "a:\n" for i in range(depth)) + " " * (depth + 1) + "1"
    else:
        value = "\n" + "".join(" " * (2 * i + 1) + "-\n" for i in range(depth)) + " " * (2 * depth + 1) + "1"
    if where == "top":
        return value.lstrip("\n") + "\n"
    if where == "name":
        return TEXTS[SMALL].replace("name: textbook", f"name: {value}")
    if where == "pools":
        head, _, _ = TEXTS[SMALL].partition("pools:")
        return head + f"pools: {value}\n"
    return TEXTS[SMALL] + f"{where}: {value}\n"


@pytest.mark.parametrize(
    ("depth", "kind"),
    [(1000, "flow_map"), (1000, "block_map"), (600, "flow_seq"), (2000, "block_seq")],
)
@pytest.mark.parametrize("where", ["name", "top"])
def test_very_deep_nesting(folder: Path, depth: int, kind: str, where: str) -> None:
    """Deeper than Python's recursion limit: a ScenarioError, not a RecursionError."""
    check_file(folder, nested_text(depth, kind, where))


@pytest.mark.parametrize(
    "text",
    [
        "&a {x: *a, name: t}\n",
        "name: t\nrouting: &r {order: *r}\n",
        "name: t\npools: &p [*p]\n",
        "name: &a [*a]\n",
    ],
    ids=["top-map", "nested-map", "nested-list", "name-list"],
)
def test_recursive_alias(folder: Path, text: str) -> None:
    check_file(folder, text)


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A "billion laughs" file (9 aliases of 9 aliases ... 9 levels deep, ~400 million leaves
    once expanded) must be refused in seconds, not expanded. Run in a subprocess so that a
    hang fails the test instead of hanging the suite."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("name: bomb\n" + "\n".join(lines) + "\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from simsupport.config.load import load_scenario\n"
        "from simsupport.errors import ScenarioError\n"
        "try:\n"
        f"    load_scenario({str(path)!r})\n"
        "except ScenarioError as e:\n"
        "    print(e); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("loading a YAML alias bomb did not finish in 10 s (aliases are expanded)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert str(path) in done.stdout


def line_damage(text: str) -> st.SearchStrategy[str]:
    lines = text.splitlines()

    @st.composite
    def damaged(draw: st.DrawFn) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            if not out:
                break
            i = draw(st.integers(min_value=0, max_value=len(out) - 1))
            op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "token", "cut", "tab"]))
            if op == "delete":
                del out[i]
            elif op == "duplicate":
                out.insert(i, out[i])
            elif op == "swap":
                j = draw(st.integers(min_value=0, max_value=len(out) - 1))
                out[i], out[j] = out[j], out[i]
            elif op == "indent":
                out[i] = " " * draw(st.integers(min_value=1, max_value=4)) + out[i]
            elif op == "dedent":
                out[i] = out[i].lstrip()
            elif op == "tab":
                out[i] = "\t" + out[i].lstrip()
            elif op == "token":
                pos = draw(st.integers(min_value=0, max_value=len(out[i])))
                out[i] = out[i][:pos] + draw(TOKEN) + out[i][pos:]
            else:
                pos = draw(st.integers(min_value=0, max_value=len(out[i])))
                out[i] = out[i][:pos]
        return "\n".join(out) + "\n"

    return damaged()


@settings(FUZZ, max_examples=300)
@given(text=line_damage(TEXTS[SMALL]))
def test_damaged_textbook_file(folder: Path, text: str) -> None:
    check_file(folder, text)


@settings(FUZZ, max_examples=100)
@given(text=line_damage(TEXTS[BIG]))
def test_damaged_baseline_file(folder: Path, text: str) -> None:
    check_file(folder, text)


# -- (b) mutated data -------------------------------------------------------------------------------------------

SPECIAL = ["nan", "-5min", "1e999/h", "1e999s", "", "no", "on", "none", "all", "0", "-1", "0/h",
           "24:00", "25:00", "-5/h", "inf", "6min", "1400/h", "exponential", "UTC", "Mars/Olympus",
           "x" * 100, "é", "default", "phone", "urgent", "agents", "en"]  # fmt: skip
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 10**400, 2**63, -(2**63)]),
    st.floats(),  # nan and inf included
    st.sampled_from(SPECIAL),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)
NEW_KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=10), st.integers(-5, 5), st.none(), st.booleans())


def slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a key or list item in plain data."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from slots(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from slots(v, (*path, i))


def containers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, (dict, list)):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            yield from containers(v, (*path, k))


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


@st.composite
def mutated(draw: st.DrawFn, names: list[str] | None = None) -> Any:
    data = copy.deepcopy(DATA[draw(st.sampled_from(names or sorted(DATA)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        op = draw(st.sampled_from(["delete", "replace", "rename", "add", "duplicate"]))
        if op == "add":
            where = draw(st.sampled_from(list(containers(data))))
            parent = at(data, where)
            if isinstance(parent, dict):
                parent[draw(NEW_KEY)] = draw(VALUE)
            else:
                parent.insert(draw(st.integers(0, len(parent))), draw(VALUE))
            continue
        options = list(slots(data))
        if not options:
            return data
        path = draw(st.sampled_from(options))
        parent, key = at(data, path[:-1]), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(VALUE)
        elif op == "rename" and isinstance(parent, dict):
            value = parent.pop(key)
            parent[draw(NEW_KEY)] = value
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = draw(VALUE)
    return data


@settings(FUZZ, max_examples=600)
@given(data=mutated())
def test_mutated_data_from_dict(data: Any) -> None:
    check_dict(data)


@settings(FUZZ, max_examples=200)
@given(data=mutated(names=[n for n in sorted(DATA) if n != BIG]))
def test_mutated_small_scenarios_in_a_file(folder: Path, data: Any) -> None:
    check_file(folder, dump(data))


@settings(FUZZ, max_examples=60)
@given(data=mutated(names=[BIG]))
def test_mutated_baseline_in_a_file(folder: Path, data: Any) -> None:
    check_file(folder, dump(data))


def dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


@settings(FUZZ, max_examples=300)
@given(value=VALUE | st.sampled_from([[], {}, "", 0, None, set(), (1, 2), b"bytes", object()]))
def test_anything_at_all_from_dict(value: Any) -> None:
    """Not even a mapping: scenario_from_dict still answers with a ScenarioError."""
    check_dict(value)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d.update(horizon=float("nan")),
        lambda d: d.update(horizon=10**400),
        lambda d: d.update(seed=10**400),
        lambda d: d.update(replications=True),
        lambda d: d.update(start="9999-12-31T23:59:59+00:00"),
        lambda d: d.update(start="0001-01-01T00:00:00-12:00"),
        lambda d: d.update(start=object()),
        lambda d: d.update({1: 2, None: 3, (1, 2): 4}),
        lambda d: d["channels"].update({None: d["channels"]["phone"]}),
        lambda d: d["channels"]["phone"].update(rate="1e308/s"),
        lambda d: d["channels"]["phone"].update(rate="1e-320/h"),
        lambda d: d["pools"][0].update(agents=10**30),
        lambda d: d["pools"][0].update(agents=10**400),
        lambda d: d["pools"][0].update(agents=10**400, shrinkage=0.5),
        lambda d: d["pools"][0].update(name=None),
        lambda d: d["categories"]["urgent"].update(handle_time={"dist": "empirical", "file": "\x00"}),
        lambda d: d["categories"]["urgent"].update(handle_time={"dist": "empirical", "file": "/"}),
        lambda d: d["categories"]["urgent"].update(handle_time={"dist": "empirical", "samples": []}),
        lambda d: d["categories"]["urgent"].update(handle_time={"dist": "uniform", "low": "1e308w", "high": "1e308w"}),
        lambda d: d["categories"]["urgent"].update(handle_time={"dist": "lognormal", "mean": "1e-300s", "cv": 1e300}),
        lambda d: d["categories"]["urgent"].update(share=float("inf")),
        lambda d: d["channels"]["phone"].update(daily_profile=[float("inf")] * 24),
        lambda d: d["channels"]["phone"].update(daily_profile=[1e308] * 24),
        lambda d: d["channels"]["phone"].update(weekly_profile=[0] * 7),
        lambda d: d["channels"]["phone"].update(daily_profile=[]),
        lambda d: d["channels"]["phone"].update(timezone="../../../../etc/passwd"),
        lambda d: d["channels"]["phone"].update(timezone="zone.tab"),
        lambda d: d["channels"]["phone"].update(timezone="a" * 5000),
        lambda d: d.update(routing={"order": ["vip", "vip", "longest_waiting", "priority"]}),
        lambda d: d.update(routing={"language_fallback": {"to": None, "after": None}}),
        lambda d: d.update(pools=[{"name": "p", "shifts": [{"start": "24:00", "end": "24:00", "agents": 1}]}]),
    ],
)
def test_nasty_values(make: Callable[[dict[str, Any]], None]) -> None:
    data = copy.deepcopy(DATA[SMALL])
    make(data)
    check_dict(data)


@pytest.mark.parametrize(
    "tagged",
    ["!!int x", "!!float y", "!!float ''", "!!bool maybe", "!!int ''", "!!timestamp yesterday", "!!binary '%%%'"],
)
@pytest.mark.parametrize("where", ["seed", "name"])
def test_explicit_tags_with_bad_values(folder: Path, tagged: str, where: str) -> None:
    """A YAML tag whose value does not fit it (`!!int x`) is a YAML error, not a crash."""
    text = TEXTS[SMALL]
    text = text.replace("seed: 7", f"seed: {tagged}") if where == "seed" else text.replace("name: textbook", f"name: {tagged}")
    check_file(folder, text)


@pytest.mark.parametrize("where", ["agents", "shift"])
def test_headcount_too_large_for_a_float(folder: Path, where: str) -> None:
    """An integer beyond float range (YAML ints are unbounded) is refused, not an OverflowError."""
    huge = "1" + "0" * 400
    if where == "agents":
        text = TEXTS[SMALL].replace("agents: 10", f"agents: {huge}")
    else:
        text = TEXTS[SMALL].replace(
            "agents: 10, channels: [phone]}",
            f"channels: [phone], shifts: [{{start: '00:00', end: '24:00', agents: {huge}}}]}}",
        )
    check_file(folder, text)
    data = copy.deepcopy(DATA[SMALL])
    data["pools"][0]["agents"] = 10**400
    check_dict(data)


@pytest.mark.parametrize("key", ["bad\nkey", "tab\tkey", "\r", "a\u2028b"])
def test_keys_with_line_breaks_stay_on_one_line(folder: Path, key: str) -> None:
    data = copy.deepcopy(DATA[SMALL])
    data[key] = 1
    check_dict(data)
    data = copy.deepcopy(DATA[SMALL])
    data["pools"][0][key] = 1
    check_dict(data)
    check_file(folder, TEXTS[SMALL] + json.dumps(key) + ": 1\n")


def test_self_referencing_data() -> None:
    data = copy.deepcopy(DATA[SMALL])
    data["routing"] = {}
    data["routing"]["order"] = data["routing"]
    check_dict(data)
    loop: dict[str, Any] = {}
    loop["name"] = loop
    check_dict(loop)


def test_deeply_nested_plain_data() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": deep}
    data = copy.deepcopy(DATA[SMALL])
    data["routing"] = deep
    check_dict(data)
    deep_list: Any = 1
    for _ in range(5000):
        deep_list = [deep_list]
    data = copy.deepcopy(DATA[SMALL])
    data["pools"] = deep_list
    check_dict(data)
