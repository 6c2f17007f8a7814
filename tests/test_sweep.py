"""Experiments and sweeps: paths, experiment files, executors, resume, failures, precision,
the tables, and `simsupport sweep` / `simsupport plot`.

Every base scenario is a tiny M/M/n desk written to tmp_path (300 min after a 30 min warm-up,
one reporting interval), so a task takes milliseconds. Numbers asserted are either identities
(the same task gives the same bits whatever runs it; a table equals what is recomputed here
from the stored replications with numpy/scipy) or invariants (the precision rule), never values
copied from a run. Exit codes are checked through `main([...])`, which is what the `simsupport`
script runs; output files through click's CliRunner on the `cli` group.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import statistics
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers_sim import mmn_dict
from scipy import stats

import simsupport.experiment.sweep as sweep_mod
from simsupport.cli import cli, main
from simsupport.errors import ScenarioError
from simsupport.experiment.spec import Precision, load_experiment, point_key, set_path
from simsupport.experiment.sweep import Pool, Serial, Store, SweepRun, flatten, make_executor, run_sweep
from simsupport.stats import summarize
from simsupport.engine import simulate
from simsupport.outputs.sweep_tables import comparison_frame, point_frame, replication_frame, write_sweep

PNGS = ("waiting_time_curves.png", "sla_breach_curves.png", "policy_comparison.png")
TABLES = ("replications", "points", "comparisons")


# -- helpers -------------------------------------------------------------------------------------
def tiny(**changes: Any) -> dict[str, Any]:
    """M/M/20 at 18 Erlangs, patient customers, no retries: 300 min after a 30 min warm-up."""
    data = mmn_dict(agents=20, rate=3.0, mean_handle=6.0, horizon=300.0, warmup=30.0, seed=5,
                    replications=3, sla_T=0.5, name="tiny")  # fmt: skip
    data.update(changes)
    return data


def impatient() -> dict[str, Any]:
    """10 Erlangs of 1-minute calls with 2-minute mean patience: ASA is stable when overloaded."""
    return mmn_dict(agents=12, rate=10.0, mean_handle=1.0, patience=2.0, horizon=300.0, warmup=30.0,
                    seed=11, replications=3, sla_T=20 / 60, name="impatient")  # fmt: skip


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def write_data(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def experiment(folder: Path, body: str, base: dict[str, Any] | None = None, name: str = "exp.yaml") -> Path:
    """An experiment file (YAML text, line numbers known) beside base.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    write_data(folder / "base.yaml", tiny() if base is None else base)
    return write(folder / name, body)


# 2 staffing levels x 2 policies (the SLA threshold: same arrivals and service, other counting)
GRID_POLICIES = """\
name: grid-policies
base: base.yaml
sweep:
  grid: {pools.agents.agents: [19, 22]}
  policies:
    short: {}
    long: {channels.phone.sla.answer_within: 60s}
"""


def norm(v: Any) -> Any:
    """Undefined metrics are NaN in memory and null on disk: compare them as None."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def metrics_of(result: dict[str, Any]) -> dict[str, Any]:
    return {k: norm(v) for k, v in result["metrics"].items()}


def all_metrics(run: SweepRun) -> dict[tuple[int, int], dict[str, Any]]:
    return {(i, k): metrics_of(res) for i, by_k in run.results.items() for k, res in by_k.items()}


def stored(out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Every rep file under out/runs, each parsed as complete JSON."""
    found = {}
    for f in sorted((out / "runs").glob("*/rep-*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert {"replication", "metrics", "wall_s", "tickets"} <= set(doc) <= {
            "replication", "metrics", "wall_s", "tickets", "targets"  # targets: the staffing targets' tallies
        }, f
        assert f.name == f"rep-{doc['replication']:05d}.json"
        found[(f.parent.name, doc["replication"])] = doc
    return found


def no_temp_files(out: Path) -> bool:
    return not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    return 0 if code is None else int(code)


def one_line(text: str) -> str:
    return " ".join(text.split())


def frame_without_wall(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["wall_s"]).reset_index(drop=True)


class Interrupting:
    """Wraps an executor; Ctrl-C (KeyboardInterrupt) after `after` results were handed over."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.given = inner, after, 0

    def submit(self, fn: Any, *args: Any) -> Any:
        return self.inner.submit(fn, *args)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        for f in self.inner.as_completed(futures):
            if self.given == self.after:
                raise KeyboardInterrupt
            self.given += 1
            yield f

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            yield client


# -- 1. paths ------------------------------------------------------------------------------------
def shift_desk() -> dict[str, Any]:
    data = tiny()
    data["pools"] = [
        {"name": "agents", "agents": 20},
        {"name": "shifty", "shifts": [
            {"name": "day", "start": "0h", "end": "12h", "agents": 5},
            {"name": "night", "start": "12h", "end": "24h", "agents": 3},
        ]},
    ]  # fmt: skip
    return data


def test_set_path_by_name_index_and_shift_name() -> None:
    d = shift_desk()
    set_path(d, "pools.agents.agents", 7)
    set_path(d, "pools.shifty.shifts.day.agents", 9)
    set_path(d, "pools.1.shifts.1.agents", 4)
    set_path(d, "categories.work.handle_time.mean", "5min")
    assert d["pools"][0] == {"name": "agents", "agents": 7}
    assert [s["agents"] for s in d["pools"][1]["shifts"]] == [9, 4]
    assert d["categories"]["work"]["handle_time"] == {"dist": "exponential", "mean": "5min"}
    # the value is copied, not shared with the caller
    value = {"dist": "exponential", "mean": "2min"}
    set_path(d, "categories.work.handle_time", value)
    value["mean"] = "9min"
    assert d["categories"]["work"]["handle_time"]["mean"] == "2min"


def test_set_path_starts_sections_the_base_leaves_out() -> None:
    d = tiny()
    assert "customers" not in d and "routing" not in d
    set_path(d, "customers.vip_share", 0.2)
    set_path(d, "routing.language_fallback", {"to": "en", "after": "2min"})
    set_path(d, "channels.phone.retry.prob", 0.3)  # a nested section inside a list-free path
    assert d["customers"] == {"vip_share": 0.2}
    assert d["routing"] == {"language_fallback": {"to": "en", "after": "2min"}}
    assert d["channels"]["phone"]["retry"] == {"prob": 0.3}


def test_set_path_null_removes_a_key() -> None:
    d = tiny()
    assert "sla" in d["channels"]["phone"]
    set_path(d, "channels.phone.sla", None)
    assert "sla" not in d["channels"]["phone"]
    set_path(d, "channels.phone.max_waiting", None)  # absent already: still fine
    assert "max_waiting" not in d["channels"]["phone"]


def test_staffing_scales_every_pool_and_shift_with_rounding() -> None:
    d = shift_desk()
    set_path(d, "staffing", 1.15)  # 20 -> 23, 5 -> 5.75 -> 6, 3 -> 3.45 -> 3
    assert d["pools"][0]["agents"] == 23
    assert [s["agents"] for s in d["pools"][1]["shifts"]] == [6, 3]
    assert all(isinstance(x, int) for x in (d["pools"][0]["agents"], *(s["agents"] for s in d["pools"][1]["shifts"])))


def test_pool_staffing_scales_only_that_pool() -> None:
    d = shift_desk()
    set_path(d, "pools.shifty.staffing", 1.4)  # 5 -> 7, 3 -> 4.2 -> 4
    assert d["pools"][0] == {"name": "agents", "agents": 20}
    assert [s["agents"] for s in d["pools"][1]["shifts"]] == [7, 4]
    set_path(d, "pools.agents.staffing", 0.9)
    assert d["pools"][0]["agents"] == 18
    assert [s["agents"] for s in d["pools"][1]["shifts"]] == [7, 4]
    assert "staffing" not in d["pools"][0] and "staffing" not in d["pools"][1]
    with pytest.raises(ValueError, match="staffing factor"):
        set_path(d, "staffing", -1)


@pytest.mark.parametrize(
    "path, suggestion",
    [
        ("pools.agent.agents", "pools.agents"),
        ("categories.work.handletime", "categories.work.handle_time"),
        ("chanels.phone.rate", "channels"),
        ("pools.agents.agent", "pools.agents.agents"),
        ("channels.phone.sla.answerwithin", "channels.phone.sla.answer_within"),
    ],
)
def test_unknown_path_names_it_and_the_nearest_valid(path: str, suggestion: str) -> None:
    d = tiny()
    before = copy.deepcopy(d)
    with pytest.raises(ValueError) as info:
        set_path(d, path, 1)
    msg = str(info.value)
    assert repr(path) in msg
    assert "nearest valid: " in msg and suggestion in msg.split("nearest valid: ")[1].split(", ")
    assert d == before  # nothing half-set


def test_paths_through_an_experiment_build_valid_scenarios(tmp_path: Path) -> None:
    base = tiny()
    base["customers"] = {"languages": {"en": 0.7, "de": 0.3}}
    base["pools"] = [{"name": "en-desk", "agents": 15, "languages": ["en"]},
                     {"name": "de-desk", "agents": 8, "languages": ["de"]}]  # fmt: skip
    exp = experiment(tmp_path, """\
        name: paths
        base: base.yaml
        set:
          routing.language_fallback: {to: en, after: 2min}
          customers.vip_share: 0.1
          channels.phone.sla: null
        sweep:
          grid: {pools.de-desk.staffing: [1, 1.5]}
        """, base)  # fmt: skip
    e = load_experiment(exp)
    assert [p.labels for p in e.points] == [{"pools.de-desk.staffing": 1}, {"pools.de-desk.staffing": 1.5}]
    for p, de in zip(e.points, (8, 12)):
        s = p.scenario
        assert s.routing.language_fallback is not None and s.routing.language_fallback.to == "en"
        assert s.routing.language_fallback.after == 120.0
        assert s.customers.vip_share == 0.1
        assert s.channels["phone"].sla is None
        assert [pool.agents for pool in s.pools] == [15, de]


# -- 2. load_experiment ----------------------------------------------------------------------------
def test_grid_is_a_cartesian_product_with_labels(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: grid
        base: base.yaml
        sweep:
          grid:
            pools.agents.agents: [19, 20, 21]
            channels.phone.sla.answer_within: [20s, 40s]
        """)  # fmt: skip
    e = load_experiment(exp)
    assert e.dims == ["pools.agents.agents", "channels.phone.sla.answer_within"]
    assert [p.labels for p in e.points] == [
        {"pools.agents.agents": a, "channels.phone.sla.answer_within": t} for a in (19, 20, 21) for t in ("20s", "40s")
    ]
    assert [p.index for p in e.points] == list(range(6))
    assert e.points[0].label == "pools.agents.agents=19, channels.phone.sla.answer_within=20s"
    for p in e.points:
        assert p.scenario.pools[0].agents == p.labels["pools.agents.agents"]
        assert p.scenario.channels["phone"].sla.answer_within == float(p.labels["channels.phone.sla.answer_within"][:2])
        assert p.key == point_key(p.scenario)
    assert len({p.key for p in e.points}) == 6


def test_zip_pairs_values(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: zipped
        base: base.yaml
        sweep:
          zip:
            pools.agents.agents: [20, 24]
            channels.phone.rate: [3/min, 3.5/min]
        """)  # fmt: skip
    e = load_experiment(exp)
    assert [p.labels for p in e.points] == [
        {"pools.agents.agents": 20, "channels.phone.rate": "3/min"},
        {"pools.agents.agents": 24, "channels.phone.rate": "3.5/min"},
    ]
    assert [p.scenario.channels["phone"].rate for p in e.points] == [pytest.approx(3 / 60), pytest.approx(3.5 / 60)]


def test_zip_lists_of_unequal_length(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: zipped
        base: base.yaml
        sweep:
          zip:
            pools.agents.agents: [19, 20, 21]
            channels.phone.rate: [3/min, 2/min]
        """)  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_experiment(exp)
    err = info.value
    assert err.field == "sweep.zip" and err.line == 4
    assert f"{exp}:4:" in str(err) and "sweep.zip" in str(err) and "[2, 3]" in str(err)


def test_range_expands_and_ints_stay_ints(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: ranges
        base: base.yaml
        sweep:
          grid:
            pools.agents.agents: {from: 20, to: 24, step: 2}
            channels.phone.sla.target: {from: 0.7, to: 0.9, step: 0.1}
        """)  # fmt: skip
    e = load_experiment(exp)
    agents = list(dict.fromkeys(p.labels["pools.agents.agents"] for p in e.points))
    targets = list(dict.fromkeys(p.labels["channels.phone.sla.target"] for p in e.points))
    assert agents == [20, 22, 24] and all(type(a) is int for a in agents)
    assert targets == [0.7, 0.8, 0.9] and all(type(t) is float for t in targets)
    assert len(e.points) == 9
    for p in e.points:
        assert p.scenario.pools[0].agents == p.labels["pools.agents.agents"]
        assert p.scenario.channels["phone"].sla.target == p.labels["channels.phone.sla.target"]


def test_empty_range_is_a_scenario_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A range with no values (from 22 down to 18, step 1) is a ScenarioError naming the path,
    and the CLI exits 2.

    Regression: listing the range's values raised a bare ValueError that the experiment loader
    did not catch, so the CLI reported an internal error and exited 1."""
    exp = experiment(tmp_path, """\
        name: backwards
        base: base.yaml
        sweep:
          grid:
            pools.agents.agents: {from: 22, to: 18, step: 1}
        """)  # fmt: skip
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "internal error" not in capsys.readouterr().err
    with pytest.raises(ScenarioError, match="pools.agents.agents"):
        load_experiment(exp)


def test_policies_multiply_the_points(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: pol
        base: base.yaml
        sweep:
          grid: {pools.agents.agents: [19, 22]}
          policies:
            base: {}
            slow: {categories.work.handle_time.mean: 6.2min}
            fast: {categories.work.handle_time.mean: 5min}
        """)  # fmt: skip
    e = load_experiment(exp)
    assert e.dims == ["pools.agents.agents", "policy"]
    assert [(p.labels["pools.agents.agents"], p.labels["policy"]) for p in e.points] == [
        (a, pol) for a in (19, 22) for pol in ("base", "slow", "fast")
    ]
    means = {p.labels["policy"]: p.scenario.categories["work"].handle_time.mean for p in e.points}
    assert means == {"base": 360.0, "slow": pytest.approx(372.0), "fast": 300.0}
    assert e.x == "pools.agents.agents" and e.lines == "policy"


def test_set_then_policy_then_swept_values(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: order
        base: base.yaml
        set: {channels.phone.rate: 2.8/min}
        sweep:
          grid: {staffing: [1.0, 1.2]}
          policies:
            one-pool: {}
            split: {pools: [{name: agents, agents: 12}, {name: extra, agents: 10}], channels.phone.rate: 3/min}
        """)  # fmt: skip
    e = load_experiment(exp)
    got = {(p.labels["staffing"], p.labels["policy"]): ([pool.agents for pool in p.scenario.pools],
                                                         p.scenario.channels["phone"].rate * 60) for p in e.points}  # fmt: skip
    assert got == {
        (1.0, "one-pool"): ([20], pytest.approx(2.8)),
        (1.0, "split"): ([12, 10], pytest.approx(3.0)),  # the policy overrides `set`
        (1.2, "one-pool"): ([24], pytest.approx(2.8)),
        (1.2, "split"): ([14, 12], pytest.approx(3.0)),  # staffing scales the policy's pools
    }


def test_an_invalid_point_names_the_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 17 agents for 18 Erlangs of patient customers: certainly unstable, rejected by validation
    exp = experiment(tmp_path, """\
        name: unstable
        base: base.yaml
        sweep:
          grid: {pools.agents.agents: [20, 17]}
        """)  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_experiment(exp)
    assert "pools.agents.agents=17" in str(info.value) and "unstable" in str(info.value)
    out = tmp_path / "out"
    assert exit_code(["sweep", str(exp), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "pools.agents.agents=17" in one_line(err) and "Traceback" not in err
    assert not out.exists()  # validated before anything ran


def test_duplicate_points_are_an_error(tmp_path: Path) -> None:
    exp = experiment(tmp_path, """\
        name: dup
        base: base.yaml
        sweep:
          policies:
            same: {}
            also-same: {pools.agents.agents: 20}
        """)  # fmt: skip
    with pytest.raises(ScenarioError, match="same scenario") as info:
        load_experiment(exp)
    assert "also-same" in str(info.value)
    exp2 = experiment(tmp_path, "name: dup2\nbase: base.yaml\nsweep:\n  grid: {pools.agents.agents: [21, 21]}\n",
                      name="dup2.yaml")  # fmt: skip
    with pytest.raises(ScenarioError, match="same scenario"):
        load_experiment(exp2)


def test_unknown_top_level_key_lists_the_allowed(tmp_path: Path) -> None:
    exp = experiment(tmp_path, "name: x\nbase: base.yaml\nsweeps: {}\n")
    with pytest.raises(ScenarioError) as info:
        load_experiment(exp)
    msg = str(info.value)
    assert info.value.line == 3 and "'sweeps'" in msg
    assert "allowed: name, description, base, set, sweep, replications, precision, plot" in msg


def test_unknown_nested_key_lists_the_keys_allowed_there(tmp_path: Path) -> None:
    """An unknown key inside `precision` lists the keys allowed there, not the top-level ones.

    Regression: the lookup of the allowed keys followed only plain class annotations, and
    `precision` is `Precision | None`, so the top-level keys were listed."""
    exp = experiment(tmp_path, """\
        name: x
        base: base.yaml
        sweep: {grid: {pools.agents.agents: [20, 21]}}
        precision: {metrics: [overall.all.asa_s], half_width: 1, max_reps: 9}
        """)  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_experiment(exp)
    msg = str(info.value)
    assert info.value.line == 4 and "'max_reps'" in msg
    allowed = msg.split("allowed: ")[1].split(", ")
    assert "max_replications" in allowed and "sweep" not in allowed


def test_missing_base_names_it(tmp_path: Path) -> None:
    exp = write(tmp_path / "exp.yaml", "name: x\nbase: nothere.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_experiment(exp)
    assert info.value.field == "base" and info.value.line == 2
    assert "'nothere.yaml'" in str(info.value) and str(tmp_path / "nothere.yaml") in str(info.value)


def test_experiment_replications_override_the_scenario(tmp_path: Path) -> None:
    plain = load_experiment(experiment(tmp_path, GRID_POLICIES))
    assert plain.replications == 3  # the scenario's
    over = load_experiment(experiment(tmp_path, GRID_POLICIES + "replications: 2\n", name="over.yaml"))
    assert over.replications == 2
    assert [p.scenario.replications for p in over.points] == [2] * 4
    # where results live does not depend on how many replications are asked for
    assert [p.key for p in over.points] == [p.key for p in plain.points]
    run = run_sweep(over, Store(tmp_path / "out"), executor=Serial())
    assert run.ran == 8 and all(sorted(r) == [0, 1] for r in run.results.values())


# -- 3. determinism across executors ------------------------------------------------------------------
def test_every_executor_gives_the_same_bits(tmp_path: Path, dask_client: Any) -> None:
    e = load_experiment(experiment(tmp_path, GRID_POLICIES))
    runs = {"serial": run_sweep(e, Store(tmp_path / "serial"), executor=Serial())}
    pool = make_executor(2)
    assert isinstance(pool, Pool)
    try:
        runs["pool"] = run_sweep(e, Store(tmp_path / "pool"), executor=pool)
    finally:
        pool.close()
    for name, scheduler in (("dask-client", dask_client), ("dask-address", dask_client.scheduler.address)):
        ex = make_executor(1, scheduler)
        try:
            runs[name] = run_sweep(e, Store(tmp_path / name), executor=ex)
        finally:
            ex.close()
    assert dask_client.status == "running"  # a Client passed in is not closed by the sweep
    reference = all_metrics(runs["serial"])
    assert len(reference) == 12
    for name, run in runs.items():
        assert run.failures == [] and run.ran == 12 and run.reused == 0, name
        assert all_metrics(run) == reference, name
        on_disk = stored(tmp_path / name)
        assert {(e.points[i].key, k) for i, k in reference} == set(on_disk)
        for (i, k), m in reference.items():
            assert metrics_of(on_disk[(e.points[i].key, k)]) == m, (name, i, k)
    for (i, k), m in reference.items():  # the same as running the model directly
        direct = flatten(summarize(simulate(e.points[i].scenario, k)))
        assert {key: norm(v) for key, v in direct.items()} == m


# -- 4. common random numbers -----------------------------------------------------------------------
def test_replication_k_sees_the_same_arrivals_at_every_point(tmp_path: Path) -> None:
    e = load_experiment(experiment(tmp_path, GRID_POLICIES))
    run = run_sweep(e, Store(tmp_path / "out"), executor=Serial())
    offered = {(p.index, k): r["metrics"]["overall.all.offered"] for p in e.points for k, r in run.results[p.index].items()}
    for k in range(3):
        assert len({offered[(p.index, k)] for p in e.points}) == 1, k
    assert len({offered[(0, k)] for k in range(3)}) == 3  # but replications differ
    # staffing did change what happened to those arrivals
    asa = {p.labels["pools.agents.agents"]: run.results[p.index][0]["metrics"]["overall.all.asa_s"]
           for p in e.points if p.labels["policy"] == "short"}  # fmt: skip
    assert asa[19] > asa[22]


# -- 5. resume ----------------------------------------------------------------------------------------
def test_resume_reruns_only_missing_files(tmp_path: Path) -> None:
    e = load_experiment(experiment(tmp_path, GRID_POLICIES))
    store = Store(tmp_path / "out")
    first = run_sweep(e, store, executor=Serial())
    assert (first.ran, first.reused) == (12, 0)
    files = stored(tmp_path / "out")
    assert len(files) == 12 and no_temp_files(tmp_path / "out")
    index = {p.key: p.index for p in e.points}
    for (key, k), doc in files.items():
        assert metrics_of(doc) == metrics_of(first.results[index[key]][k])
    for p, k in ((e.points[1], 0), (e.points[3], 2)):
        store.path(p.key, k).unlink()
    second = run_sweep(e, store, executor=Serial())
    assert (second.ran, second.reused) == (2, 10)
    assert all_metrics(second) == all_metrics(first)
    pd.testing.assert_frame_equal(frame_without_wall(replication_frame(e, second)), frame_without_wall(replication_frame(e, first)))
    reps = replication_frame(e, first)
    pd.testing.assert_frame_equal(point_frame(e, replication_frame(e, second)), point_frame(e, reps))
    pd.testing.assert_frame_equal(comparison_frame(e, replication_frame(e, second)), comparison_frame(e, reps))
    third = run_sweep(e, store, executor=Serial())
    assert (third.ran, third.reused) == (0, 12)
    # more replications later: the first three are reused, not rerun
    fourth = run_sweep(e, store, executor=Serial(), replications=4)
    assert (fourth.ran, fourth.reused) == (4, 12)


def test_an_interrupted_sweep_keeps_what_finished(tmp_path: Path) -> None:
    e = load_experiment(experiment(tmp_path, GRID_POLICIES))
    reference = run_sweep(e, Store(tmp_path / "reference"), executor=Serial())
    store = Store(tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(e, store, executor=Interrupting(Serial(), after=5))
    files = stored(tmp_path / "out")
    assert len(files) == 5 and no_temp_files(tmp_path / "out")
    index = {p.key: p.index for p in e.points}
    for (key, k), doc in files.items():
        assert metrics_of(doc) == metrics_of(reference.results[index[key]][k])
    resumed = run_sweep(e, store, executor=Serial())
    assert (resumed.ran, resumed.reused) == (7, 5)
    assert all_metrics(resumed) == all_metrics(reference)
    pd.testing.assert_frame_equal(frame_without_wall(replication_frame(e, resumed)),
                                  frame_without_wall(replication_frame(e, reference)))  # fmt: skip


def test_cli_ctrl_c_exits_130_and_a_rerun_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    exp = experiment(tmp_path, GRID_POLICIES)
    out = tmp_path / "out"
    monkeypatch.setattr(sweep_mod, "make_executor", lambda workers=1, scheduler=None: Interrupting(Serial(), after=3))
    assert exit_code(["sweep", str(exp), "--out", str(out), "--no-plots"]) == 130
    assert "run the same command again to resume" in one_line(capsys.readouterr().err)
    assert len(stored(out)) == 3
    monkeypatch.undo()
    assert exit_code(["sweep", str(exp), "--out", str(out), "--workers", "1", "--no-plots"]) == 0
    assert "9 replications run, 3 reused" in one_line(capsys.readouterr().out)
    assert len(stored(out)) == 12


# -- 6. failure isolation ---------------------------------------------------------------------------
def failing_at(agents: int, replication: int) -> Any:
    real = sweep_mod.run_task

    def run_task(scenario: Any, k: int) -> dict[str, Any]:
        if scenario.pools[0].agents == agents and k == replication:
            raise RuntimeError(f"boom at {agents} agents")
        return real(scenario, k)

    return run_task


def test_a_failing_task_is_recorded_and_the_rest_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    e = load_experiment(experiment(tmp_path, GRID_POLICIES))
    store = Store(tmp_path / "out")
    monkeypatch.setattr(sweep_mod, "run_task", failing_at(22, 1))
    run = run_sweep(e, store, executor=Serial())
    bad = [p for p in e.points if p.labels["pools.agents.agents"] == 22]
    assert sorted((p.index, k) for p, k, _ in run.failures) == [(p.index, 1) for p in bad]
    assert all(text.startswith("RuntimeError: boom at 22 agents") for _, _, text in run.failures)
    assert run.ran == 10
    for p in e.points:
        assert sorted(run.results[p.index]) == ([0, 2] if p in bad else [0, 1, 2])
    for p in bad:
        err = json.loads((store.runs / p.key / "error-00001.json").read_text(encoding="utf-8"))
        assert err["replication"] == 1 and "RuntimeError: boom at 22 agents" in err["error"]
        assert not store.path(p.key, 1).exists()
    assert len(list(store.runs.glob("*/error-*.json"))) == 2
    monkeypatch.undo()
    retry = run_sweep(e, store, executor=Serial())
    assert (retry.ran, retry.reused, retry.failures) == (2, 10, [])
    assert not list(store.runs.glob("*/error-*.json"))  # a success clears the stale error


def test_cli_exits_1_and_names_the_failed_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    exp = experiment(tmp_path, GRID_POLICIES)
    out = tmp_path / "out"
    monkeypatch.setattr(sweep_mod, "run_task", failing_at(19, 2))
    assert exit_code(["sweep", str(exp), "--out", str(out), "--workers", "1", "--no-plots"]) == 1
    text = one_line(capsys.readouterr().out)
    assert "failed pools.agents.agents=19, policy=short, replication 2: RuntimeError: boom at 19 agents" in text
    assert "failed pools.agents.agents=19, policy=long, replication 2" in text
    assert "2 task(s) failed" in text
    info = json.loads((out / "experiment.json").read_text(encoding="utf-8"))
    assert [(f["label"], f["replication"]) for f in info["failures"]] == [
        ("pools.agents.agents=19, policy=short", 2), ("pools.agents.agents=19, policy=long", 2)
    ]
    assert len(pd.read_parquet(out / "replications.parquet")) == 10
    assert not (out / "points.csv").exists() and not (out / "manifest.json").exists()  # nothing from partial data
    assert "not written from partial data" in text


# -- 7. precision -------------------------------------------------------------------------------------
PRECISION = """\
name: precise
base: base.yaml
sweep:
  grid: {pools.agents.agents: [6, 9, 10, 14]}
precision: {metrics: [overall.all.asa_s], relative: 0.05, min_replications: 3, max_replications: 30}
"""


def check_precision(e: Any, run: SweepRun, relative: float, lo: int, hi: int) -> dict[int, int]:
    counts = {}
    unmet = set()
    for p in e.points:
        ks = sorted(run.results[p.index])
        n = len(ks)
        assert ks == list(range(n)) and lo <= n <= hi
        vals = np.array([run.results[p.index][k]["metrics"]["overall.all.asa_s"] for k in ks], dtype=float)
        mean = vals.mean()
        half = stats.t.ppf(0.975, n - 1) * vals.std(ddof=1) / math.sqrt(n)
        assert half <= relative * abs(mean) or n == hi, (p.label, n, half / mean)
        if half > relative * abs(mean):
            unmet.add(p.index)
        counts[p.index] = n
    assert {(p.index, m) for p, m, _ in run.unmet} == {(i, "overall.all.asa_s") for i in unmet}
    return counts


def test_precision_target_or_maximum(tmp_path: Path, dask_client: Any) -> None:
    e = load_experiment(experiment(tmp_path, PRECISION, impatient()))
    runs = {"serial": run_sweep(e, Store(tmp_path / "serial"), executor=Serial())}
    pool = Pool(2)
    try:
        runs["pool"] = run_sweep(e, Store(tmp_path / "pool"), executor=pool)
    finally:
        pool.close()
    dask = make_executor(1, dask_client)
    try:
        runs["dask"] = run_sweep(e, Store(tmp_path / "dask"), executor=dask)
    finally:
        dask.close()
    counts = {name: check_precision(e, run, 0.05, 3, 30) for name, run in runs.items()}
    assert counts["pool"] == counts["serial"] and counts["dask"] == counts["serial"]
    assert all_metrics(runs["pool"]) == all_metrics(runs["serial"]) == all_metrics(runs["dask"])
    # the case is a real test: some points stop early, some at the cap without the target
    assert min(counts["serial"].values()) < 30 and runs["serial"].unmet
    # a rerun reuses everything and makes the same decisions
    again = run_sweep(e, Store(tmp_path / "serial"), executor=Serial())
    assert again.ran == 0 and check_precision(e, again, 0.05, 3, 30) == counts["serial"]


def test_cli_precision_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = PRECISION.replace("[6, 9, 10, 14]", "[6, 14]").replace("relative: 0.05", "half_width: 1000")
    exp = experiment(tmp_path, body, impatient())
    e = load_experiment(exp)
    expected = run_sweep(e, Store(tmp_path / "api"), executor=Serial(),
                         precision=Precision(metrics=["overall.all.asa_s"], relative=0.05, min_replications=3,
                                             max_replications=30))  # fmt: skip
    want = check_precision(e, expected, 0.05, 3, 30)
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "file"), "--workers", "1", "--no-plots"]) == 0
    info = json.loads((tmp_path / "file" / "experiment.json").read_text(encoding="utf-8"))
    assert [p["replications"] for p in info["points"]] == [3, 3]  # the file's absolute target is met at once
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "cli"), "--workers", "1", "--no-plots",
                      "--precision", "5%"]) == 0  # fmt: skip
    info = json.loads((tmp_path / "cli" / "experiment.json").read_text(encoding="utf-8"))
    assert {p["point"]: p["replications"] for p in info["points"]} == want
    assert [(u["point"], u["metric"]) for u in info["unmet_precision"]] == [(p.index, m) for p, m, _ in expected.unmet]
    text = one_line(capsys.readouterr().out)
    for p, _, _ in expected.unmet:
        assert f"precision not reached at {p.label}: overall.all.asa_s" in text
    # --max-replications caps it
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "capped"), "--workers", "1", "--no-plots",
                      "--precision", "5%", "--max-replications", "4"]) == 0  # fmt: skip
    info = json.loads((tmp_path / "capped" / "experiment.json").read_text(encoding="utf-8"))
    assert all(3 <= p["replications"] <= 4 for p in info["points"])


def test_unknown_precision_metric_exits_2_naming_the_nearest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = PRECISION.replace("[6, 9, 10, 14]", "[9]").replace("overall.all.asa_s", "overall.all.asa")
    exp = experiment(tmp_path, body, impatient())
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "out"), "--workers", "1", "--no-plots"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "'overall.all.asa'" in err and "nearest:" in err and "overall.all.asa_s" in err.split("nearest:")[1]
    assert "Traceback" not in err


def test_precision_flag_without_precision_metrics_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = experiment(tmp_path, GRID_POLICIES)
    assert exit_code(["sweep", str(exp), "--out", str(tmp_path / "out"), "--precision", "0.01"]) == 2
    assert "precision: {metrics" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


# -- 8. tables ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One serial sweep of GRID_POLICIES written with write_sweep (no plots)."""
    folder = tmp_path_factory.mktemp("tables")
    e = load_experiment(experiment(folder, GRID_POLICIES))
    out = folder / "out"
    run = run_sweep(e, Store(out), executor=Serial())
    write_sweep(e, run, out, plots=False)
    return {"exp": e, "run": run, "out": out,
            **{name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}}  # fmt: skip


def metric_names(run: SweepRun) -> list[str]:
    """Every metric any replication reported (some, e.g. worst-hour queues, are not in all)."""
    return list(dict.fromkeys(m for by_k in run.results.values() for r in by_k.values() for m in r["metrics"]))


def test_replications_table(tables: dict[str, Any]) -> None:
    e, run, reps = tables["exp"], tables["run"], tables["replications"]
    assert len(reps) == 12
    assert sorted(zip(reps["point"], reps["replication"])) == [(i, k) for i in range(4) for k in range(3)]
    for d in e.dims:
        assert d in reps.columns
    for p in e.points:
        sub = reps[reps["point"] == p.index]
        assert set(sub["point_key"]) == {p.key}
        assert list(sub["pools.agents.agents"]) == [p.labels["pools.agents.agents"]] * 3
        assert list(sub["policy"]) == [p.labels["policy"]] * 3
        for _, row in sub.iterrows():
            res = run.results[p.index][int(row["replication"])]
            assert row["tickets"] == res["tickets"]
            for m, v in res["metrics"].items():
                assert norm(float(row[m])) == norm(v), (p.index, m)


def test_points_table_is_mean_and_t_interval(tables: dict[str, Any]) -> None:
    e, reps, points = tables["exp"], tables["replications"], tables["points"]
    checked = 0
    for p in e.points:
        sub = reps[reps["point"] == p.index]
        rows = points[points["point"] == p.index].set_index("metric")
        assert rows["pools.agents.agents"].eq(p.labels["pools.agents.agents"]).all()
        assert rows["policy"].eq(p.labels["policy"]).all()
        for m in metric_names(tables["run"]):
            vals = [float(v) for v in sub[m] if not math.isnan(float(v))]
            row = rows.loc[m]
            assert row["n"] == len(vals), m
            if not vals:
                assert math.isnan(row["mean"]) and math.isnan(row["ci95"])
                continue
            assert row["mean"] == pytest.approx(math.fsum(vals) / len(vals), rel=1e-12, abs=1e-12), m
            if len(vals) == 1:  # no spread to estimate
                assert math.isnan(row["ci95"]), m
                continue
            half = stats.t.ppf(0.975, len(vals) - 1) * statistics.stdev(vals) / math.sqrt(len(vals))
            assert row["ci95"] == pytest.approx(half, rel=1e-9, abs=1e-12), m
            checked += 1
    assert checked > 400


def test_points_table_metrics_are_only_metrics(tables: dict[str, Any]) -> None:
    """The points and comparisons tables have one row per metric and none for a swept path.

    Regression: every column with a dot in its name was taken as a metric, and swept paths are
    dotted (`pools.agents.agents`): the label column became a 'metric' row in points and
    comparisons (mean 19, ci95 0...)."""
    names = set(metric_names(tables["run"]))
    assert set(tables["points"]["metric"]) == names
    assert set(tables["comparisons"]["metric"]) == names


def test_sweep_over_a_text_valued_path_writes_its_tables(tmp_path: Path) -> None:
    """A sweep over a text-valued path (routing.agent_choice) writes its tables.

    Regression (same cause as above): the label column was converted to float with the
    metrics: ValueError, and the CLI ended with 'internal error' (exit 1) after every task ran."""
    exp = experiment(tmp_path, """\
        name: choice
        base: base.yaml
        replications: 2
        sweep:
          grid: {routing.agent_choice: [longest_idle, random]}
        """)  # fmt: skip
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["sweep", str(exp), "--out", str(out), "--workers", "1", "--no-plots"])
    assert result.exit_code == 0, repr(result.exception)
    points = pd.read_parquet(out / "points.parquet")
    assert set(points["routing.agent_choice"]) == {"longest_idle", "random"}
    assert "routing.agent_choice" not in set(points["metric"])


def test_comparisons_are_paired_differences(tables: dict[str, Any]) -> None:
    e, reps, comps = tables["exp"], tables["replications"], tables["comparisons"]
    assert set(comps["policy"]) == {"long"} and set(comps["reference"]) == {"short"}
    checked = 0
    for agents in (19, 22):
        base = reps[(reps["pools.agents.agents"] == agents) & (reps["policy"] == "short")].set_index("replication")
        alt = reps[(reps["pools.agents.agents"] == agents) & (reps["policy"] == "long")].set_index("replication")
        rows = comps[comps["pools.agents.agents"] == agents].set_index("metric")
        for m in metric_names(tables["run"]):
            diffs = [float(alt.loc[k, m]) - float(base.loc[k, m]) for k in range(3)]
            diffs = [d for d in diffs if not math.isnan(d)]
            row = rows.loc[m]
            assert row["n"] == len(diffs), m
            if len(diffs) < 2:
                continue
            assert row["difference"] == pytest.approx(math.fsum(diffs) / len(diffs), rel=1e-12, abs=1e-12), m
            half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
            assert row["ci95"] == pytest.approx(half, rel=1e-9, abs=1e-12), m
            checked += 1
    assert checked > 200
    # a longer threshold can only count more answers as within it, replication by replication
    sl = comps[comps["metric"] == "overall.all.service_level"]
    assert len(sl) == 2 and (sl["difference"] > 0).all()
    # same arrivals: the offered difference is exactly zero
    offered = comps[comps["metric"] == "overall.all.offered"]
    assert (offered["difference"] == 0).all() and (offered["ci95"] == 0).all()


def test_points_long_is_the_channels_metrics_tidily(tables: dict[str, Any]) -> None:
    """points_long.csv: one row per point, channel (`all`: the desk) and metric, the numbers of
    the points table, the swept values beside them; no other scope."""
    long = pd.read_csv(tables["out"] / "points_long.csv")
    assert list(long.columns) == ["point", "pools.agents.agents", "policy", "channel", "metric", "mean", "ci95"]
    assert set(long["channel"]) == {"all", "phone"}
    points = tables["points"].set_index(["point", "metric"])
    for _, row in long.iterrows():
        scoped = f"overall.all.{row['metric']}" if row["channel"] == "all" else f"by_channel.{row['channel']}.{row['metric']}"
        want = points.loc[(row["point"], scoped)]
        assert norm(row["mean"]) == pytest.approx(norm(want["mean"]), rel=1e-15, nan_ok=True) or norm(want["mean"]) is None
        assert row["pools.agents.agents"] == want["pools.agents.agents"] and row["policy"] == want["policy"]
    wanted = {m for m in tables["points"]["metric"] if m.startswith(("overall.all.", "by_channel."))}
    assert len(long) == len(tables["points"][tables["points"]["metric"].isin(wanted)])
    assert {"service_level", "asa_s", "abandon_rate"} <= set(long["metric"])


def test_sweep_console_prints_channels_headcounts_and_pp(tmp_path: Path) -> None:
    """The console: every channel at every point, each point's agents per pool (not only what was
    swept), and policy differences of service levels in percentage points, never in %."""
    base = tiny()
    base["channels"]["chat"] = {"rate": "1/min", "patience": {"dist": "exponential", "mean": "2min"},
                                "sla": {"answer_within": "30s", "target": 0.8}}  # fmt: skip
    base["pools"] = [{"name": "agents", "agents": 20},
                     {"name": "night", "shifts": [{"name": "a", "start": "0h", "end": "12h", "agents": 4},
                                                  {"name": "b", "start": "12h", "end": "24h", "agents": 3}]}]  # fmt: skip
    exp = experiment(tmp_path, """\
        name: console
        base: base.yaml
        replications: 2
        sweep:
          grid: {staffing: [1.0, 1.5]}
          policies:
            short: {}
            long: {channels.phone.sla.answer_within: 60s}
        """, base=base)  # fmt: skip
    result = CliRunner().invoke(cli, ["sweep", str(exp), "--out", str(tmp_path / "out"), "-w", "1", "--no-plots"],
                                catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "console: per channel, mean ±95% CI" in out
    lines = out.splitlines()
    per_channel = lines[next(i for i, line in enumerate(lines) if "per channel" in line):]
    assert any("phone" in line for line in per_channel) and any("chat" in line for line in per_channel)
    # headcounts: 1.5 x (20; 4 + 3) = 30; 6 + 5 (4.5 rounded up), shifts joined by +
    heads = lines[next(i for i, line in enumerate(lines) if "agents per pool" in line):]
    rows = [line for line in heads if "staffing=" in line][:4]
    assert all(("20" in r and "4+3" in r) or ("30" in r and "6+5" in r) for r in rows), rows
    # the comparison: long minus short, service level in pp
    comp = lines[next(i for i, line in enumerate(lines) if "each policy minus short" in line):]
    phone = [line for line in comp if "phone" in line]
    assert phone and all(" pp" in line and "%" not in line for line in phone), phone
    assert re.findall(r"±\d+\.\d pp", out) and not re.findall(r"±\d+\.\d%", out)  # half-widths of shares: pp


def test_policy_chart_labels_differences_in_pp(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from simsupport.outputs import sweep_plots

    caught: list[Any] = []
    monkeypatch.setattr(sweep_plots, "_save", lambda fig, path: caught.append(fig) or path)
    info = json.loads((tables["out"] / "experiment.json").read_text(encoding="utf-8"))
    sweep_plots.policy_chart(tables["comparisons"], info, tables["out"] / "x.png")
    sl = caught[0].axes[0]
    caught[0].canvas.draw()
    labels = [t.get_text() for t in sl.get_yticklabels() if t.get_text()]
    assert labels and all(lab == "0" or lab.endswith(" pp") for lab in labels), labels
    assert "%" not in "".join(labels) and "(pp)" in sl.get_title(loc="left")
    assert sweep_plots.PP(0.02, 0) == "+2 pp" and sweep_plots.PP(-0.005, 0) == "-0.5 pp" and sweep_plots.PP(0.0, 0) == "0"


def test_csv_tables_match_parquet(tables: dict[str, Any]) -> None:
    for name in TABLES:
        pq = tables[name]
        text = [c for c in pq.columns if not pd.api.types.is_numeric_dtype(pq[c])]
        csv = pd.read_csv(tables["out"] / f"{name}.csv", dtype={c: str for c in text})
        assert list(csv.columns) == list(pq.columns) and len(csv) == len(pq), name
        for c in pq.columns:
            if pd.api.types.is_numeric_dtype(pq[c]):
                np.testing.assert_allclose(csv[c].to_numpy(float), pq[c].to_numpy(float), rtol=1e-15, atol=0,
                                           equal_nan=True, err_msg=f"{name}.{c}")  # fmt: skip
            else:
                assert list(csv[c].astype(str)) == list(pq[c].astype(str)), (name, c)


def test_experiment_json(tables: dict[str, Any]) -> None:
    e, run = tables["exp"], tables["run"]
    info = json.loads((tables["out"] / "experiment.json").read_text(encoding="utf-8"))
    assert info["experiment"] == "grid-policies" and info["base"] == "base.yaml"
    assert info["dims"] == ["pools.agents.agents", "policy"]
    assert info["x"] == "pools.agents.agents" and info["lines"] == "policy"
    assert info["policies"] == ["short", "long"]
    assert info["channels"] == ["phone"] and info["targets"] == {"phone": 0.8}
    assert info["points"] == [
        {"point": p.index, "key": p.key, "labels": p.labels, "replications": 3} for p in e.points
    ]
    assert info["failures"] == [] and info["unmet_precision"] == []
    assert info["tasks_run"] == 12 and info["tasks_reused"] == 0
    assert info["wall_s"] == pytest.approx(run.wall_s)


# -- 9. command line end to end -------------------------------------------------------------------------
def test_cli_sweep_end_to_end(tmp_path: Path) -> None:
    exp = experiment(tmp_path, GRID_POLICIES)
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(cli, ["sweep", str(exp), "--out", str(out), "--workers", "2"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "12 replications run, 0 reused" in one_line(first.output)
    names = {p.name for p in out.iterdir()}
    assert names == {"runs", "experiment.json", "report.html", "manifest.json", "points_long.csv", *PNGS,
                     *(f"{t}.{ext}" for t in TABLES for ext in ("parquet", "csv"))}  # fmt: skip
    for png in PNGS:
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert len(stored(out)) == 12 and no_temp_files(out)
    before = pd.read_parquet(out / "replications.parquet")

    again = runner.invoke(cli, ["sweep", str(exp), "--out", str(out), "--workers", "2"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 replications run, 12 reused" in one_line(again.output)
    pd.testing.assert_frame_equal(frame_without_wall(pd.read_parquet(out / "replications.parquet")), frame_without_wall(before))

    for png in PNGS:
        (out / png).unlink()
    redraw = runner.invoke(cli, ["plot", str(out)], catch_exceptions=False)
    assert redraw.exit_code == 0, redraw.output
    for png in PNGS:
        assert (out / png).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert png in one_line(redraw.output)


def test_plot_on_a_folder_that_is_not_a_sweep_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "summary.json").write_text("{}", encoding="utf-8")
    assert exit_code(["plot", str(tmp_path)]) == 2
    err = one_line(capsys.readouterr().err)
    assert "not a sweep's output folder" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.png"))


def test_a_bad_path_exits_2_with_file_line_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = experiment(tmp_path, """\
        name: bad-path
        base: base.yaml
        sweep:
          grid:
            pools.agent.agents: [19, 20]
        """)  # fmt: skip
    out = tmp_path / "out"
    assert exit_code(["sweep", str(exp), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = one_line(captured.err)
    assert f"{exp}:5:" in err
    assert "'pools.agent.agents'" in err and "nearest valid: pools.agents" in err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()
