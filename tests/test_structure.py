"""The shape of the package: one-way imports, small modules, a plan without SimPy, streams
declared once, one engine with plug-ins.

These guard the layout decisions of the "one desk, built once" refactor, so a later change that
reintroduces a cycle (or hides one behind a function-local import) fails here, not in review.
"""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers_sim import build
from simsupport import streams
from simsupport.engine import Engine, simulate
from simsupport.plan.desk import DeskPlan, build_plan
from simsupport.rng import Streams

PACKAGE = Path(__file__).resolve().parents[1] / "simulator" / "simsupport"
MAX_LINES = 500
# function-local imports allowed only for start-up speed of heavy optional libraries
# our own modules that exist to wrap matplotlib: imported only when a plot is drawn
LAZY_OWN = {"simsupport.outputs.plots", "simsupport.outputs.sweep_plots"}
LAZY_OK = {"matplotlib", "pandas", "pyarrow", "dask", "distributed", "scipy", "rich", "openpyxl", "difflib", "pydantic"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported simsupport module, at module level?) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if TYPE_CHECKING:` blocks count as module level
        if isinstance(n, ast.If):
            top |= {id(m) for m in n.body}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        for name in names:
            if name.split(".")[0] == "simsupport":
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                out.append((name, id(node) in top))
    return out


def test_no_import_cycles_between_modules() -> None:
    known = _modules()
    graph = {m: {t for t, _ in _imports(m, p, known) if t != m and not m.startswith(t + ".")} for m, p in known.items()}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def test_no_function_local_imports_of_the_package() -> None:
    """A local import of our own modules is how a cycle hides; only the plotting modules (which
    import matplotlib, about half a second) are imported late, so `--no-plots` never pays."""
    known = _modules()
    bad = []
    for m, p in known.items():
        for target, at_top in _imports(m, p, known):
            if not at_top and target not in LAZY_OWN:
                bad.append(f"{m} -> {target}")
    assert bad == []


def test_function_local_imports_are_only_heavy_libraries() -> None:
    bad = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body} | {id(m) for n in tree.body if isinstance(n, ast.If) for m in n.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if getattr(node, "level", 0) == 0 and (name or "").split(".")[0] not in LAZY_OK:
                    bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    assert bad == []


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_plan_and_requirements_need_no_simpy() -> None:
    """Staffing, scheduling and fitting read a DeskPlan without building an engine."""
    code = (
        "import sys, simsupport.plan.desk, simsupport.staffing.requirements, simsupport.stats.summary;"
        "print(sorted(m for m in ('simpy', 'matplotlib', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _desk() -> dict:
    return {
        "name": "structure",
        "horizon": "4h",
        "warmup": "0s",
        "interval": "1h",
        "seed": 3,
        "categories": {"a": {"share": 0.6, "handle_time": {"dist": "exponential", "mean": "2min"}},
                       "b": {"share": 0.4, "handle_time": {"dist": "exponential", "mean": "3min"}}},
        "channels": {"chat": {"rate": "30/h", "patience": {"dist": "exponential", "mean": "5min"},
                              "retry": {"prob": 0.5, "after": "2min"}},
                     "phone": {"rate": "20/h"}},
        "pools": [{"name": "p", "agents": 2}],
    }  # fmt: skip


def test_plan_is_frozen_and_describes_the_desk() -> None:
    s = build(_desk())
    plan = build_plan(s, 0)
    assert isinstance(plan, DeskPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.n_queues = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.classes[0].pools = ()  # type: ignore[misc]
    assert [c.name for c in plan.channels] == ["chat", "phone"]
    assert len(plan.classes) == 4  # 2 channels x 2 categories
    assert {c.qid for c in plan.classes} == set(range(plan.n_queues))  # no routes here
    chat = plan.channels[0]
    assert chat.retry is not None and chat.retry.to == 0 and chat.retry.prob == 0.5
    assert np.isclose(chat.cum[-1], 1.0) and np.isclose(chat.cum[0], 0.6)
    assert all(c.pools == (0,) for c in plan.classes)
    assert plan.drive is None and plan.volatile_flags == ()


def test_engine_runs_a_plan_and_a_scenario_alike() -> None:
    s = build(_desk())
    a = Engine(build_plan(s, 1)).run()
    b = simulate(s, 1)
    assert np.array_equal(a.class_counters, b.class_counters)
    assert a.tickets_simulated == b.tickets_simulated > 0


def test_plain_desk_has_no_plugins() -> None:
    e = Engine(build(_desk()), 0)
    assert e.journey is None and e.market is None and e.after_abandon is None and e.extend is None
    assert e.start == e._start and e.admit == e._admit


def test_streams_are_declared_names_only() -> None:
    st = Streams(1, 0)
    with pytest.raises(TypeError, match="undeclared random stream"):
        st("arrivals/chat")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="undeclared market stream"):
        streams.market("regim")
    with pytest.raises(ValueError, match="undeclared initial stream"):
        streams.initial("ages", 0)
    # the names are the reproducibility contract: these must never change
    assert streams.arrivals("chat") == "arrivals/chat"
    assert streams.work("billing/channel=phone") == "work/billing/channel=phone"
    assert streams.later_patience("chat") == "patience/chat/later"
    assert streams.initial("busy", 2) == "initial/busy/2"
    assert streams.market("busyness") == "market/busyness"
    a = st(streams.arrivals("chat")).random(3)
    b = Streams(1, 0)(streams.arrivals("chat")).random(3)
    assert np.array_equal(a, b)


def test_the_inlined_schedule_is_simpys() -> None:
    """The engine pushes its hottest events onto SimPy's queue itself (an inlined
    `Environment.schedule`); this holds SimPy to the tuple it pushes, so an upgrade that
    changes it fails here instead of mis-ordering events."""
    import heapq

    import simpy
    from simpy.events import NORMAL

    class Ev:
        callbacks: list = []
        _ok = True

    env = simpy.Environment(initial_time=5.0)
    a, b = Ev(), Ev()
    env.schedule(a, NORMAL, 2.5)
    heapq.heappush(env._queue, (env._now + 2.5, NORMAL, next(env._eid), b))
    first, second = env._queue[0], env._queue[1]
    assert first[:2] == second[:2] == (7.5, NORMAL)
    assert (first[3], second[3]) == (a, b) and second[2] == first[2] + 1
    env.run()
    assert env.now == 7.5
