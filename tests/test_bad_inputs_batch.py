"""The last bad inputs an operator met (issue 17, items 7-10): each is a clean exit 2 (or, where
the input is legal, accepted as meant), naming the file, the field and what is allowed, and
refused before any simulation starts."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from helpers_sim import mmn_dict
from simsupport.config.load import scenario_from_dict
from simsupport.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simsupport.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)  # fmt: skip


def _one_paragraph(text: str) -> str:
    assert "Traceback" not in text and "This is a bug" not in text, text
    return " ".join(text.split())


def _shift(start: str, end: str) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["pools"][0].update(agents=None, shifts=[{"start": start, "end": end, "agents": 3}])

    return change


SCENARIO_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    "agents true": (lambda d: d["pools"][0].update(agents=True), ("pools.agents.agents", "not a headcount")),
    "pool serving no channel": (lambda d: d["pools"][0].update(channels=[]), ("pools.agents.channels", "serves nothing")),
    "shift at 8am": (_shift("8am", "16:00"), ("shifts[0].start", "24-hour clock", "08:00")),
    "empirical all zero": (
        lambda d: d["categories"]["work"].update(handle_time={"dist": "empirical", "samples": ["0s", "0s"]}),
        ("every sample is 0",),
    ),
    "empirical absurd": (
        lambda d: d["categories"]["work"].update(handle_time={"dist": "empirical", "samples": ["1e308s", "2s"]}),
        ("above a year", "unit"),
    ),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_scenario_inputs_refused_with_field_and_remedy(case: str) -> None:
    change, words = SCENARIO_CASES[case]
    data = copy.deepcopy(mmn_dict(agents=5, rate=1.0, mean_handle=1.0))
    change(data)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    text = str(info.value)
    assert all(w in text for w in words), text


def test_a_target_written_as_a_percentage_means_that_fraction() -> None:
    data = mmn_dict(agents=5, rate=1.0, mean_handle=1.0)
    data["channels"]["phone"]["sla"]["target"] = "80%"
    assert scenario_from_dict(data).channels["phone"].sla.target == pytest.approx(0.8)


def _with_prices(tmp_path: Path, text: str | None) -> dict[str, Any]:
    data = mmn_dict(agents=5, rate=1.0, mean_handle=1.0)
    if text is None:
        (tmp_path / "p.csv").mkdir()
    else:
        (tmp_path / "p.csv").write_text(text, encoding="utf-8")
    data["market"] = {"model": "replay", "file": "p.csv"}
    return data


def test_a_price_row_with_an_extra_cell_is_refused(tmp_path: Path) -> None:
    data = _with_prices(tmp_path, "timestamp,price\n2026-01-01T00:00:00Z,100\n2026-01-01T00:01:00Z,101,7\n")
    with pytest.raises(ScenarioError, match="row 3: expected two cells"):
        scenario_from_dict(data, base_dir=tmp_path)


def test_a_price_file_that_is_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a folder, not a CSV file"):
        scenario_from_dict(_with_prices(tmp_path, None), base_dir=tmp_path)


def test_a_fifo_as_the_scenario_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    t = time.monotonic()
    r = _cli("validate", str(fifo), timeout=30)
    assert r.returncode == 2 and "not a regular file" in _one_paragraph(r.stderr)
    assert time.monotonic() - t < 20


def _experiment(tmp_path: Path, extra: dict[str, Any]) -> Path:
    yaml = YAML()
    base = mmn_dict(agents=5, rate=1.0, mean_handle=1.0, horizon=60, warmup=0)
    with (tmp_path / "base.yaml").open("w", encoding="utf-8") as fh:
        yaml.dump(base, fh)
    exp = {"name": "bad", "base": "base.yaml", "replications": 2,
           "sweep": {"grid": {"pools.agents.agents": [4, 5]}}, **extra}  # fmt: skip
    with (tmp_path / "exp.yaml").open("w", encoding="utf-8") as fh:
        yaml.dump(exp, fh)
    return tmp_path / "exp.yaml"


@pytest.mark.parametrize("extra, args, words", [
    ({"sweep": {"grid": {"staffing": {"from": 0.8, "to": 1.2, "step": 0}}}}, [], ("step 0 never reaches", "sweep.grid.staffing")),
    ({"plot": {"x": "nosuch"}}, [], ("plot.x", "'nosuch' is not swept", "pools.agents.agents")),
    ({"precision": {"metrics": ["overall.all.service_level"], "half_width": 0.01, "min_replications": 50,
                    "max_replications": 10}}, [], ("min_replications (50)", "max_replications (10)")),
    ({"precision": {"metrics": ["overall.all.service_level"], "half_width": 0.01}}, ["--precision", "-2%"],
     ("--precision", "positive")),
    ({"precision": {"metrics": ["overall.all.service_level"], "half_width": 0.01}}, ["--precision", "nan"],
     ("--precision", "positive")),
])  # fmt: skip
def test_experiment_inputs_refused_before_the_sweep(tmp_path: Path, extra: dict[str, Any], args: list[str],
                                                    words: tuple[str, ...]) -> None:
    exp = _experiment(tmp_path, extra)
    t = time.monotonic()
    r = _cli("sweep", str(exp), "-w", "1", "--no-plots", "--out", str(tmp_path / "out"), *args)
    text = _one_paragraph(r.stderr)
    assert r.returncode == 2, text
    assert all(w in text for w in words), text
    assert not list((tmp_path / "out").glob("runs/*/rep-*.json"))  # nothing ran
    assert time.monotonic() - t < 60


def test_a_store_record_that_is_not_a_replication_is_run_again(tmp_path: Path) -> None:
    exp = _experiment(tmp_path, {})
    out = tmp_path / "out"
    assert _cli("sweep", str(exp), "-w", "1", "--no-plots", "--out", str(out)).returncode == 0
    rec = sorted(out.glob("runs/*/rep-00000.json"))[0]
    good = json.loads(rec.read_text(encoding="utf-8"))
    rec.write_text("{}", encoding="utf-8")
    r = _cli("sweep", str(exp), "-w", "1", "--no-plots", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "1 replications run, 3 reused" in " ".join(r.stdout.split())
    again = json.loads(rec.read_text(encoding="utf-8"))
    assert again["metrics"] == good["metrics"]


def test_an_unreachable_scheduler_is_exit_2_not_a_bug(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    exp = _experiment(tmp_path, {})
    t = time.monotonic()
    r = _cli("sweep", str(exp), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "out"), timeout=120)
    text = _one_paragraph(r.stderr)
    assert r.returncode == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in text, text
    assert time.monotonic() - t < 60


def test_legal_but_suspicious_inputs_warn(tmp_path: Path) -> None:
    from simsupport.config.warnings import scenario_warnings  # noqa: PLC0415

    data = mmn_dict(agents=5, rate=1.0, mean_handle=1.0, horizon=26 * 60, warmup=0)
    data["pools"][0].update(agents=None, shifts=[{"start": "08:00", "end": "08:00", "agents": 3}])
    rows = [f"2026-01-05T00:{m:02d}:00Z,{100 + m}" for m in range(50)]
    (tmp_path / "p.csv").write_text("timestamp,price\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data["market"] = {"model": "replay", "file": "p.csv"}
    text = " | ".join(scenario_warnings(scenario_from_dict(data, base_dir=tmp_path)))
    assert "covers 49min of the 1d 2h run" in text and "flat" in text
    assert "shifts[0] starts and ends at 08:00: read as a 24-hour shift" in text
