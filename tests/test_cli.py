"""The command line: `run`, `validate`, `schema`, `erlang`, and the exit-code contract.

Exit codes (README): 0 ok; 2 bad input (one paragraph naming file, field, line, no traceback);
1 anything else ("internal error", the traceback only with --debug). Exit codes are checked
through `main([...])`, which is what the `simsupport` script runs; output files through
click's CliRunner on the `cli` group. Runs are tiny (the textbook desk for 20 hours).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import simsupport
from simsupport import theory as analytic
from simsupport.cli import COMMANDS, cli, main
from simsupport.config.load import load_scenario
from simsupport.config.schema import Scenario
from simsupport.units import format_duration

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "scenarios" / "textbook.yaml"
SCOPES = ("overall", "by_channel", "by_category", "by_priority", "by_language", "by_pool")
METRICS = (
    "offered", "retrials", "answered", "abandoned", "blocked", "abandon_rate", "block_rate",
    "p_wait", "mean_wait_s", "asa_s", "mean_wait_abandoned_s", "wait_p50_s", "wait_p90_s",
    "wait_p99_s", "service_level", "sla_breach_rate", "occupancy", "mean_queue",
)  # fmt: skip
INTERVAL_COLUMNS = (
    "replication", "interval", "channel", "offered", "answered", "abandoned", "asa_s",
    "service_level", "mean_queue", "agents_on_duty", "occupancy",
)  # fmt: skip
TINY = ["--horizon", "20h", "--replications", "2"]


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def run_to(out: Path, *extra: str) -> Path:
    result = invoke("run", str(TEXTBOOK), *TINY, "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    return 0 if code is None else int(code)


def without_run(summary_path: Path) -> dict[str, Any]:
    doc = json.loads(summary_path.read_text(encoding="utf-8"))
    doc.pop("run")
    return doc


@pytest.fixture(scope="module")
def outs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All the runs the file needs, once: full, two plain repeats, two workers, another seed."""
    base = tmp_path_factory.mktemp("runs")
    return {
        "full": run_to(base / "full", "--tickets", "--workers", "1"),
        "plain": run_to(base / "plain", "--no-plots", "--workers", "1"),
        "again": run_to(base / "again", "--no-plots", "--workers", "1"),
        "two_workers": run_to(base / "two_workers", "--no-plots", "--workers", "2"),
        "other_seed": run_to(base / "other_seed", "--no-plots", "--workers", "1", "--seed", "8"),
    }


# -- run: the files ---------------------------------------------------------------------------------------


def test_run_writes_every_file(outs: dict[str, Path]) -> None:
    names = {p.name for p in outs["full"].iterdir()}
    assert names == {
        "summary.json", "intervals.parquet", "intervals.csv", "tickets.parquet",
        "wait_distribution.png", "daily_profile.png", "report.html", "manifest.json",
    }  # fmt: skip
    for png in ("wait_distribution.png", "daily_profile.png"):
        data = (outs["full"] / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert not [p for p in outs["full"].iterdir() if p.name.startswith(".")]  # no temp files left


def test_no_plots_writes_no_png_and_no_tickets(outs: dict[str, Path]) -> None:
    names = {p.name for p in outs["plain"].iterdir()}
    assert names == {"summary.json", "intervals.parquet", "intervals.csv", "report.html", "manifest.json"}


def test_summary_json_contract(outs: dict[str, Path]) -> None:
    doc = json.loads((outs["full"] / "summary.json").read_text(encoding="utf-8"))
    for key in ("scenario", "seed", "replications", "simsupport_version", "scenario_hash", *SCOPES):
        assert key in doc
    assert doc["scenario"] == "textbook"
    assert doc["seed"] == 7
    assert doc["replications"] == 2
    assert doc["simsupport_version"] == simsupport.__version__
    assert set(doc["overall"]) == {"all"}
    assert set(doc["by_channel"]) == {"phone"}
    assert set(doc["by_category"]) == {"urgent", "normal"}
    assert set(doc["by_priority"]) == {"0", "1"}
    assert set(doc["by_language"]) == {"default"}
    assert set(doc["by_pool"]) == {"agents"}
    for scope in SCOPES:
        for key, block in doc[scope].items():
            for metric, value in block.items():
                assert set(value) == {"mean", "ci95"}, (scope, key, metric)
                for v in value.values():
                    assert v is None or (isinstance(v, (int, float)) and math.isfinite(v)), (scope, key, metric)
    # worst_hour: metrics as everywhere, and when: the most common local hour, not a mean start
    assert set(doc["worst_hour"]) == {"all", "phone"}
    for key, block in doc["worst_hour"].items():
        when = {k: block.pop(k) for k in ("start_local", "zone", "agreed", "of", "start_s")}
        assert when["zone"] == "UTC" and re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:00", when["start_local"])
        assert 1 <= when["agreed"] <= when["of"] == 2 and when["start_s"] % 3600 == 0, key
        assert all(set(v) == {"mean", "ci95"} for v in block.values()), key
    # mean_queue and occupancy are defined overall and per channel (occupancy also per pool)
    for scope in ("overall", "by_channel"):
        for block in doc[scope].values():
            assert set(METRICS) <= set(block), scope
    for scope in ("by_category", "by_priority", "by_language"):
        for block in doc[scope].values():
            assert set(METRICS) - {"occupancy", "mean_queue"} <= set(block), scope
    assert {"occupancy", "answered", "asa_s"} <= set(doc["by_pool"]["agents"])
    overall = {m: v["mean"] for m, v in doc["overall"]["all"].items()}
    assert overall["offered"] > 1000  # 1.5/min for 20h is 1800 expected
    assert overall["offered"] == pytest.approx(overall["answered"] + overall["abandoned"] + overall["blocked"])
    assert 0 < overall["service_level"] < 1
    assert overall["sla_breach_rate"] == pytest.approx(1 - overall["service_level"])
    by_prio = doc["by_priority"]
    assert by_prio["0"]["offered"]["mean"] + by_prio["1"]["offered"]["mean"] == pytest.approx(overall["offered"])
    # priority 0 is served first: it waits less
    assert by_prio["0"]["mean_wait_s"]["mean"] < by_prio["1"]["mean_wait_s"]["mean"]


def test_intervals_tables(outs: dict[str, Path]) -> None:
    csv = pd.read_csv(outs["full"] / "intervals.csv")
    parquet = pd.read_parquet(outs["full"] / "intervals.parquet")
    for frame in (csv, parquet):
        for col in INTERVAL_COLUMNS:
            assert col in frame.columns, col
        assert len(frame) == 2 * 80 * 1  # replications x (20h / 15min) x channels
        assert sorted(frame["replication"].unique()) == [0, 1]
        assert set(frame["channel"]) == {"phone"}
        assert (frame["agents_on_duty"] == 10).all()
    assert list(csv.columns) == list(parquet.columns)
    pd.testing.assert_series_equal(csv["answered"], parquet["answered"], check_dtype=False)
    doc = json.loads((outs["full"] / "summary.json").read_text(encoding="utf-8"))
    for metric in ("offered", "answered", "abandoned"):
        total = csv[metric].sum()
        assert total == pytest.approx(doc["overall"]["all"][metric]["mean"] * 2), metric


def test_tickets_match_summary(outs: dict[str, Path]) -> None:
    tickets = pd.read_parquet(outs["full"] / "tickets.parquet")
    for col in ("replication", "channel", "category", "arrival_s", "counted", "outcome", "wait_s"):
        assert col in tickets.columns
    assert list(tickets.columns[tickets.columns.get_loc("arrival_s") :][:2]) == ["arrival_s", "counted"]
    doc = json.loads((outs["full"] / "summary.json").read_text(encoding="utf-8"))
    start, end = doc["warmup_s"], doc["warmup_s"] + doc["horizon_s"]
    in_window = (tickets["arrival_s"] >= start) & (tickets["arrival_s"] < end)
    assert tickets["counted"].dtype == bool
    assert (tickets["counted"] == in_window).all()
    assert (~tickets["counted"]).any()  # the drain after the horizon (and the warm-up) are there, marked
    counted = tickets[tickets["counted"]]
    per_rep = counted.groupby(["replication", "outcome"]).size().unstack(fill_value=0)
    assert sorted(per_rep.index) == [0, 1]
    for outcome in ("answered", "abandoned"):
        total = int(per_rep[outcome].sum()) if outcome in per_rep else 0
        assert total == pytest.approx(doc["overall"]["all"][outcome]["mean"] * 2), outcome
    # per replication: the tickets table agrees with the interval table
    intervals = pd.read_csv(outs["full"] / "intervals.csv")
    by_rep = intervals.groupby("replication")[["answered", "abandoned"]].sum()
    for rep in (0, 1):
        assert int(by_rep.loc[rep, "answered"]) == int(per_rep.loc[rep, "answered"])
        assert int(by_rep.loc[rep, "abandoned"]) == int(per_rep.loc[rep, "abandoned"])


# -- run: reproducibility -------------------------------------------------------------------------------------


def test_same_seed_same_numbers(outs: dict[str, Path]) -> None:
    assert without_run(outs["plain"] / "summary.json") == without_run(outs["again"] / "summary.json")
    assert (outs["plain"] / "intervals.csv").read_bytes() == (outs["again"] / "intervals.csv").read_bytes()


def test_worker_count_does_not_change_numbers(outs: dict[str, Path]) -> None:
    assert without_run(outs["plain"] / "summary.json") == without_run(outs["two_workers"] / "summary.json")
    assert (outs["plain"] / "intervals.csv").read_bytes() == (outs["two_workers"] / "intervals.csv").read_bytes()


def test_tickets_and_plots_do_not_change_numbers(outs: dict[str, Path]) -> None:
    assert without_run(outs["plain"] / "summary.json") == without_run(outs["full"] / "summary.json")
    assert (outs["plain"] / "intervals.csv").read_bytes() == (outs["full"] / "intervals.csv").read_bytes()


def test_seed_changes_numbers(outs: dict[str, Path]) -> None:
    a = without_run(outs["plain"] / "summary.json")
    b = without_run(outs["other_seed"] / "summary.json")
    assert b["seed"] == 8 and a["seed"] == 7
    assert a["overall"] != b["overall"]
    assert a["overall"]["all"]["offered"]["mean"] != b["overall"]["all"]["offered"]["mean"]


def test_run_prints_the_channel_table(tmp_path: Path) -> None:
    # the table is printed on stdout (rich, plain when not a terminal)
    out = tmp_path / "out"
    result = invoke("run", str(TEXTBOOK), "--horizon", "2h", "-r", "1", "-w", "1", "--no-plots", "--out", str(out))
    assert result.exit_code == 0
    assert "phone" in result.stdout and "service level" in result.stdout


# -- bad input: exit 2, one paragraph ---------------------------------------------------------------------------


def test_bad_scenario_exits_2_with_one_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TEXTBOOK.read_text(encoding="utf-8").replace("agents: 10", "agents: -10")
    lines = text.splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if "agents: -10" in line)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    assert exit_code(["run", str(path), "--out", str(tmp_path / "out"), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0, err
    assert f"{path}:{bad_line}:" in err
    assert "pools.agents.agents" in err and "greater than or equal to 0" in err
    assert not (tmp_path / "out").exists()


def test_missing_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert exit_code(["run", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "not found" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "option",
    [["--replications", "0"], ["--workers", "0"], ["--seed", "-1"], ["--replications", "many"], ["--frobnicate"]],
    ids=["replications-0", "workers-0", "seed-negative", "replications-word", "unknown-option"],
)
def test_bad_option_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str]) -> None:
    assert exit_code(["run", str(TEXTBOOK), "--out", str(tmp_path / "out"), *option]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()
    assert not (tmp_path / "out").exists()


def test_bad_horizon_option_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["run", str(TEXTBOOK), "--horizon", "20 parsecs", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "horizon" in err and "parsecs" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["frobnicate"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert exit_code(["--version"]) == 0
    assert simsupport.__version__ in capsys.readouterr().out


def test_help_lists_every_command_each_from_its_module(capsys: pytest.CaptureFixture[str]) -> None:
    """Commands are imported on first use (simsupport.cli.<module>); --help lists them all, sorted,
    from their summaries in COMMANDS, which are their own: a fresh process (no command imported)
    prints the same help as one that has imported them all."""
    fresh = subprocess.run([sys.executable, "-m", "simsupport.cli", "--help"], capture_output=True, text=True,
                           timeout=120, check=True).stdout  # fmt: skip
    listed = re.findall(r"^  (\w+)  ", fresh.split("Commands:")[1], flags=re.MULTILINE)
    assert listed == sorted(COMMANDS) == ["backtest", "baseline", "check", "erlang", "fit", "plot", "run", "schedule", "schema", "staff", "sweep", "validate"]
    for name, (module, summary) in COMMANDS.items():
        command = cli.get_command(cli.make_context("simsupport", ["--help"], resilient_parsing=True), name)
        assert command is not None and command.name == name
        assert command.callback.__module__ == f"simsupport.cli.{module}"  # type: ignore[union-attr]
        assert summary == command.help.split("\n\n")[0].strip(), name  # type: ignore[union-attr]
    assert exit_code(["--help"]) == 0
    assert capsys.readouterr().out == fresh


# -- start-up: what a command imports ---------------------------------------------------------------------------


def _modules_after(code: str, *argv: str) -> tuple[list[str], str]:
    """Top-level packages imported by a fresh interpreter running `code` with argv; and its stdout."""
    script = (
        "import sys\n" + code + "\n"
        "print('MODULES', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    out, _, modules = proc.stdout.rpartition("MODULES ")
    return modules.split(), out + proc.stderr


MAIN = "from simsupport.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code"


def test_importing_the_cli_or_its_help_imports_no_command() -> None:
    heavy = {"numpy", "pandas", "pydantic", "rich", "scipy", "matplotlib", "simpy"}
    modules, _ = _modules_after("import simsupport.cli")
    assert not heavy & set(modules), modules
    modules, out = _modules_after(MAIN, "--help")
    assert "staff" in out and not heavy & set(modules), modules


def test_run_without_plots_imports_neither_matplotlib_nor_scipy(tmp_path: Path) -> None:
    """`simsupport run --no-plots` (one worker: the simulation in the same process) never imports
    matplotlib (plots only) nor scipy (the t quantile is computed in experiment.statistics); with
    plots, matplotlib is imported after all."""
    argv = ["run", str(TEXTBOOK), "--horizon", "2h", "-r", "2", "-w", "1"]
    modules, out = _modules_after(MAIN, *argv, "--no-plots", "--out", str(tmp_path / "plain"))
    assert (tmp_path / "plain" / "summary.json").is_file() and "tickets simulated" in out, out
    assert "matplotlib" not in modules
    assert "scipy" not in modules, "something on the path of `run` imports scipy again"
    modules, _ = _modules_after(MAIN, *argv, "--out", str(tmp_path / "plots"))
    assert "matplotlib" in modules and (tmp_path / "plots" / "wait_distribution.png").is_file()


# -- validate and schema -------------------------------------------------------------------------------------------


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["validate", str(TEXTBOOK)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok:") and "textbook" in out


def test_validate_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXTBOOK.read_text(encoding="utf-8").replace("rate: 1.5/min", "rate: 90"), encoding="utf-8")
    assert exit_code(["validate", str(TEXTBOOK), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "ok:" in captured.out  # the good file first
    assert f"{bad}:" in captured.err and "channels.phone.rate" in captured.err and "90/h" in captured.err
    assert "Traceback" not in captured.err
    assert captured.err.strip().count("\n") == 0


def test_validate_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["validate"]) == 2


def test_schema_prints_json() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == Scenario.model_json_schema()


def test_schema_out_file(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    result = invoke("schema", "--out", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == Scenario.model_json_schema()


# -- erlang --------------------------------------------------------------------------------------------------------


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def row(output: str, label: str) -> str:
    """The value cell of a two-column rich table row."""
    for line in output.splitlines():
        if label in line:
            cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
            return cells[-1]
    raise AssertionError(f"no row {label!r} in:\n{output}")


def test_erlang_c() -> None:
    result = invoke("erlang", "c", "-n", "10", "--rate", "1.5/min", "--aht", "6min", "--within", "15s")
    assert result.exit_code == 0, result.output
    m = analytic.erlang_c_metrics(10, 1.5 / 60, 360.0)
    out = result.stdout
    assert "Erlang C" in out and "10 agents" in out
    assert row(out, "offered load") == "9.00 Erlangs"
    assert row(out, "occupancy") == pct(m.occupancy) == "90.0%"
    assert row(out, "P(wait)") == pct(m.p_wait)
    assert row(out, "ASA") == format_duration(m.mean_wait)
    assert row(out, "service level") == pct(m.service_level(15.0))
    assert row(out, "p90 wait") == format_duration(m.wait_quantile(0.9))
    assert row(out, "mean queue") == f"{m.mean_queue:.2f}"
    assert "15s" in out


def test_erlang_c_with_patience_is_erlang_a() -> None:
    result = invoke(
        "erlang", "c", "-n", "10", "--rate", "1.5/min", "--aht", "6min", "--within", "15s", "--patience", "2.5min"
    )
    assert result.exit_code == 0, result.output
    a = analytic.erlang_a(10, 1.5 / 60, 360.0, 150.0)
    out = result.stdout
    assert "Erlang A" in out
    assert row(out, "P(wait)") == pct(a.p_wait)
    assert row(out, "P(abandon)") == pct(a.p_abandon)
    assert row(out, "occupancy") == pct(a.occupancy)
    assert row(out, "ASA (answered)") == f"{a.mean_wait_served:.1f}s"
    assert row(out, "service level") == pct(a.service_level(15.0))
    assert row(out, "mean queue") == f"{a.mean_queue:.2f}"


def test_erlang_b() -> None:
    result = invoke("erlang", "b", "-n", "10", "--rate", "1.5/min", "--aht", "6min")
    assert result.exit_code == 0, result.output
    b = analytic.erlang_b(10, 9.0)
    assert row(result.stdout, "blocking probability") == pct(b)
    assert row(result.stdout, "carried load") == f"{9.0 * (1 - b):.2f} Erlangs"


def test_erlang_staff() -> None:
    result = invoke("erlang", "staff", "--rate", "100/h", "--aht", "6min", "--within", "20s", "--target", "0.8")
    assert result.exit_code == 0, result.output
    n = analytic.min_agents_erlang_c(100 / 3600, 360.0, 20.0, 0.8)
    assert row(result.stdout, "agents needed") == str(n)
    assert row(result.stdout, "offered load") == "10.00 Erlangs"
    # n is the fewest: n meets the target, n - 1 does not
    assert analytic.erlang_c_metrics(n, 100 / 3600, 360.0).service_level(20.0) >= 0.8
    assert analytic.erlang_c_metrics(n - 1, 100 / 3600, 360.0).service_level(20.0) < 0.8


def test_erlang_staff_with_patience() -> None:
    result = invoke("erlang", "staff", "--rate", "100/h", "--aht", "6min", "--patience", "3min")
    assert result.exit_code == 0, result.output
    n = analytic.min_agents_erlang_a(100 / 3600, 360.0, 180.0, 20.0, 0.8)
    assert row(result.stdout, "agents needed") == str(n)


@pytest.mark.parametrize(
    "argv",
    [
        ["erlang", "c", "-n", "10", "--rate", "1400", "--aht", "6min"],
        ["erlang", "c", "-n", "10", "--rate", "1400 per hour", "--aht", "6min"],
        ["erlang", "b", "-n", "10", "--rate", "fast", "--aht", "6min"],
        ["erlang", "staff", "--rate", "-5/h", "--aht", "6min"],
        ["erlang", "c", "-n", "10", "--rate", "1/min", "--aht", "6"],
        ["erlang", "c", "-n", "10", "--rate", "1/min", "--aht", "6min", "--within", "soon"],
        ["erlang", "c", "-n", "10", "--rate", "1/min", "--aht", "6min", "--patience", "-1min"],
        ["erlang", "c", "-n", "5", "--rate", "1.5/min", "--aht", "6min"],  # unstable
        ["erlang", "c", "-n", "0", "--rate", "1.5/min", "--aht", "6min"],
        ["erlang", "staff", "--rate", "100/h", "--aht", "6min", "--target", "1.5"],
    ],
    ids=[
        "rate-no-unit", "rate-per", "rate-word", "rate-negative", "aht-no-unit", "within-word",
        "patience-negative", "unstable", "zero-agents", "target-above-1",
    ],
)  # fmt: skip
def test_erlang_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert "Error" in err or "error" in err


def test_erlang_bad_rate_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["erlang", "c", "-n", "10", "--rate", "1400", "--aht", "6min"]) == 2
    err = capsys.readouterr().err
    assert "--rate" in err and "1400/h" in err


# -- internal errors: exit 1, traceback only with --debug ------------------------------------------------------------


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom in the model")


@pytest.mark.parametrize("target", ["simsupport.experiment.replications._one", "simsupport.experiment.replications.simulate"])
def test_internal_error_exits_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(target, _boom)
    out = tmp_path / "out"
    argv = ["run", str(TEXTBOOK), "--horizon", "2h", "-r", "1", "-w", "1", "--no-plots", "--out", str(out)]
    assert exit_code(argv) == 1
    err = capsys.readouterr().err
    assert "internal error" in err
    assert "RuntimeError" in err and "boom in the model" in err
    assert "--debug" in err
    assert "Traceback" not in err
    assert not (out / "summary.json").exists()


def test_internal_error_with_debug_prints_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("simsupport.experiment.replications._one", _boom)
    argv = ["--debug", "run", str(TEXTBOOK), "--horizon", "2h", "-r", "1", "-w", "1", "--no-plots"]
    argv += ["--out", str(tmp_path / "out")]
    assert exit_code(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "_boom" in err
    assert "internal error" in err and "boom in the model" in err


def test_bad_input_with_debug_is_still_one_paragraph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --debug is for bugs; a user's mistake stays a one-paragraph message with exit 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n", encoding="utf-8")
    assert exit_code(["--debug", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(bad) in err


def test_run_options_are_overrides(outs: dict[str, Path]) -> None:
    # `run --horizon/--replications` is load_scenario(..., overrides); the summary reports them
    s = load_scenario(TEXTBOOK, overrides={"horizon": "20h", "replications": 2})
    doc = json.loads((outs["plain"] / "summary.json").read_text(encoding="utf-8"))
    assert doc["horizon_s"] == s.horizon == 72000.0
    assert doc["warmup_s"] == s.warmup
