"""Nothing hung, nothing orphaned: SIGTERM and SIGKILL of a run, and a worker killed mid-sweep.

Each test starts the real command line in a subprocess (as an operator's `timeout` or a CI
runner would), looks up its worker processes in /proc via psutil, and checks that none survives
its parent by more than a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from simsupport.experiment.pool import WorkerPool, run_tasks

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "exchange-baseline.yaml"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc (Linux)")


def _die_once(k: int, marker: str) -> int:
    """Task 3 kills its worker the first time it runs (as the OOM killer would)."""
    if k == 3 and not os.path.exists(marker):
        Path(marker).write_text("died", encoding="utf-8")
        os._exit(9)
    return k * k


def test_a_dead_worker_is_replaced_and_its_task_rerun(tmp_path: Path) -> None:
    pool = WorkerPool(2)
    tasks = {k: (_die_once, (k, str(tmp_path / "marker"))) for k in range(8)}
    got = {k: fut.result() for k, fut in run_tasks(pool, tasks)}
    pool.close()
    assert got == {k: k * k for k in range(8)}
    assert (tmp_path / "marker").is_file()


def _start(args: list[str], out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "simsupport.cli", *args, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip


def _workers(proc: subprocess.Popen[str], want: int = 2, timeout: float = 60.0) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kids = [c for c in parent.children(recursive=True) if c.is_running()]
        if len(kids) >= want:
            return kids
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"no {want} workers appeared (exit {proc.poll()})")


def _gone(procs: list[psutil.Process], within: float = 8.0) -> bool:
    _, alive = psutil.wait_procs(procs, timeout=within)
    return not alive


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_every_worker_with_one_line(tmp_path: Path, sig: int, code: int) -> None:
    proc = _start(["run", str(BASELINE), "-r", "20", "-w", "2", "--no-plots"], tmp_path / "out")
    workers = _workers(proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    last = err.strip().splitlines()[-1]
    assert ("terminated" if sig == signal.SIGTERM else "interrupted") in last
    assert "Traceback" not in err
    assert _gone(workers), "workers outlived their parent"


def test_sigkill_of_the_parent_takes_the_workers_with_it(tmp_path: Path) -> None:
    proc = _start(["run", str(BASELINE), "-r", "20", "-w", "2", "--no-plots"], tmp_path / "out")
    workers = _workers(proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone(workers, within=5.0), "workers survived SIGKILL of their parent"


def test_a_sweep_with_a_killed_worker_finishes_with_every_result(tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(
        f"name: kill-test\nbase: {BASELINE}\nset: {{horizon: 1d, warmup: 0s, interval: 1h}}\nreplications: 6\n"
        "sweep:\n  grid:\n    staffing: {from: 0.9, to: 1.1, step: 0.1}\n",
        encoding="utf-8",
    )
    out = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "simsupport.cli", "sweep", str(exp), "-w", "2", "--out", str(out),
                             "--no-plots"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    workers = _workers(proc)
    # let a few tasks finish, then kill a worker mid-task
    end = time.monotonic() + 60
    while time.monotonic() < end and len(list((out / "runs").glob("*/rep-*.json"))) < 2:
        time.sleep(0.1)
    workers[0].kill()
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    reps = list((out / "runs").glob("*/rep-*.json"))
    assert len(reps) == 18, f"{len(reps)} of 18 replications stored"
    assert not list((out / "runs").glob("*/error-*.json"))
    first = (out / "points.csv").read_text(encoding="utf-8")
    # a rerun reuses every stored replication and writes the same table
    again = subprocess.run([sys.executable, "-m", "simsupport.cli", "sweep", str(exp), "-w", "2", "--out", str(out),
                            "--no-plots"], capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert again.returncode == 0 and (out / "points.csv").read_text(encoding="utf-8") == first
