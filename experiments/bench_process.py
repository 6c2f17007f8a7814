"""Whole-process speed of `simsupport run` against a plain SimPy script: prints figures (not a test).

    python experiments/bench_process.py [--repeats N] [--hours H]

What is measured: the wall time and the peak memory of a whole process, from start to exit, as a
user meets them: interpreter start-up, imports, reading and validating the scenario, building the
desk, simulating, summarising and writing the output files (summary.json, the interval tables;
no plots). Two processes on the same queue:

A. `simsupport run mm50.yaml -r 1 --no-plots --out DIR`: an M/M/50 desk at load 0.9 (45 arrivals
   a minute, exponential handle time of 1 min, 50 agents, patient customers), warmup 1 h, interval
   1 h, one replication, seed 1, for H hours (default 555: about 1.5 million tickets);
B. `python plain.py`: the idiomatic SimPy model of the same queue, one process per customer around
   `simpy.Resource`, exponential times from numpy, run for the same simulated time (warmup + H),
   counting customers and their waits in plain Python; no files.

They run alternately, A B A B ..., N pairs (default 3), so that a machine that slows down or
speeds up over the minutes weighs on both alike. Printed: each wall time, the medians, the ratio
simpy/simsupport of each pair and its median (above 1: simsupport is faster), and the peak
resident memory of each process (from os.wait4's rusage of that very child; /usr/bin/time is not
needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import MM50 as SCENARIO  # the same M/M/50 as the in-process benchmark

PLAIN = '''\
"""M/M/50 at load 0.9 in idiomatic SimPy: one process per customer around a Resource."""

import numpy as np
import simpy

AGENTS = 50
RATE = 45 / 60.0  # arrivals per second
MEAN_SERVICE = 60.0  # seconds
UNTIL = {until_s!r}  # seconds: warmup + horizon, as simsupport runs
SEED = 1

env = simpy.Environment()
desk = simpy.Resource(env, capacity=AGENTS)
rng = np.random.default_rng(SEED)
arrived = served = 0
waited = 0.0


def customer(env):
    global served, waited
    t0 = env.now
    with desk.request() as req:
        yield req
        waited += env.now - t0
        yield env.timeout(rng.exponential(MEAN_SERVICE))
    served += 1


def source(env):
    global arrived
    while True:
        yield env.timeout(rng.exponential(1.0 / RATE))
        arrived += 1
        env.process(customer(env))


env.process(source(env))
env.run(until=UNTIL)
print(f"{{arrived:,}} customers arrived, {{served:,}} served, mean wait {{waited / max(served, 1):.2f}} s")
'''


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a command to its end: (wall seconds, peak RSS in MiB of that process, its stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the running maximum
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read().decode(errors='replace')}")
        kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024  # bytes on macOS
        return wall, kib / 1024, out.read().decode(errors="replace")


def simsupport_command() -> list[str]:
    exe = shutil.which("simsupport")
    return [exe] if exe else [sys.executable, "-m", "simsupport.cli"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="pairs A B to run [3]")
    ap.add_argument("--hours", type=float, default=555.0, help="simulated hours after the 1 h warmup [555]")
    args = ap.parse_args()
    hours = f"{args.hours:g}"
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        work = Path(tmp)
        scenario = work / "mm50.yaml"
        scenario.write_text(SCENARIO.format(hours=hours), encoding="utf-8")
        plain = work / "plain.py"
        plain.write_text(PLAIN.format(until_s=(1.0 + args.hours) * 3600.0), encoding="utf-8")
        a_cmd = [*simsupport_command(), "run", str(scenario), "-r", "1", "--no-plots", "--out", str(work / "out")]
        b_cmd = [sys.executable, str(plain)]
        print(f"M/M/50 at load 0.9, {hours} h after a 1 h warmup; {args.repeats} pairs, alternating")
        print(f"  A: {' '.join(Path(a_cmd[0]).name if i == 0 else c for i, c in enumerate(a_cmd))}")
        print(f"  B: python plain.py (SimPy {_simpy_version()}, Python {sys.version.split()[0]})")
        a_runs: list[tuple[float, float]] = []
        b_runs: list[tuple[float, float]] = []
        for i in range(1, args.repeats + 1):
            a_wall, a_mib, _ = timed(a_cmd, work)
            b_wall, b_mib, b_out = timed(b_cmd, work)
            a_runs.append((a_wall, a_mib))
            b_runs.append((b_wall, b_mib))
            print(f"  pair {i}: simsupport {a_wall:7.2f} s {a_mib:7.1f} MiB | simpy {b_wall:7.2f} s {b_mib:7.1f} MiB"
                  f" | simpy/simsupport {b_wall / a_wall:5.2f}")  # fmt: skip
        doc = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))
        tickets = doc["run"]["tickets_simulated"]
        a_med = statistics.median(w for w, _ in a_runs)
        b_med = statistics.median(w for w, _ in b_runs)
        ratio = statistics.median(b / a for (a, _), (b, _) in zip(a_runs, b_runs))
        print(f"  simsupport: {tickets:,} tickets; simpy: {b_out.strip()}")
        print(f"  median wall: simsupport {a_med:.2f} s ({tickets / a_med:,.0f} tickets/s whole process), "
              f"simpy {b_med:.2f} s")  # fmt: skip
        print(f"  median ratio simpy/simsupport: {ratio:.2f} (median of the per-pair ratios)")
        print(f"  peak memory: simsupport {max(m for _, m in a_runs):.1f} MiB, simpy {max(m for _, m in b_runs):.1f} MiB")


def _simpy_version() -> str:
    try:
        return version("simpy")
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
