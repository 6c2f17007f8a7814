"""Speed of sweeps: a script that prints figures (not a timed test).

    python experiments/bench_sweep.py [--tasks N] [--seconds S]

Runs the same small sweep (an M/M/20 desk, N tasks of about S seconds each) four ways and
prints wall times: in this process, on a local process pool of 1 and of 2 workers, and on a
Dask LocalCluster of 2 worker processes. From them: the speed-up from 1 to 2 workers, the
overhead per task (wall time x workers - time spent simulating, per task), and the time of a
replication inside a worker against in this process. Results are checked identical.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

EXPERIMENT = """
name: bench-sweep
base: base.yaml
replications: {reps}
sweep:
  grid: {{pools.agents.agents: [20, 21]}}
"""

BASE = """
name: bench-base
horizon: {minutes}min
warmup: 60min
interval: {minutes}min
seed: 5
categories:
  general: {{share: 1.0, handle_time: {{dist: exponential, mean: 6min}}}}
channels:
  phone: {{rate: 3/min, patience: {{dist: exponential, mean: 5min}}, sla: {{answer_within: 30s}}}}
pools:
  - {{name: agents, agents: 20}}
"""


def main() -> None:
    from distributed import Client, LocalCluster

    from simsupport.experiment.spec import load_experiment
    from simsupport.experiment.sweep import Pool, Serial, Store, run_sweep, run_task

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=0.5, help="rough length of one task")
    args = ap.parse_args()
    minutes = int(args.seconds * 150_000 / 3)  # about 150k tickets/s, 3 tickets a minute
    tmp = Path(tempfile.mkdtemp())
    (tmp / "base.yaml").write_text(BASE.format(minutes=minutes))
    (tmp / "exp.yaml").write_text(EXPERIMENT.format(reps=max(1, args.tasks // 2)))
    exp = load_experiment(tmp / "exp.yaml")
    n = len(exp.points) * exp.replications

    def timed(name: str, executor) -> tuple[float, float, dict]:
        # warm the workers first (process start, imports): a long sweep pays that once
        warm = [executor.submit(run_task, exp.points[0].scenario, 10_000 + i) for i in range(4)]
        for f in executor.as_completed(warm):
            f.result()
        t = time.perf_counter()
        run = run_sweep(exp, Store(tmp / name), executor=executor)
        wall = time.perf_counter() - t
        busy = sum(r["wall_s"] for res in run.results.values() for r in res.values())
        executor.close()
        if run.failures:
            raise SystemExit(f"{name}: {run.failures[0][2]}")
        return wall, busy, {(p, k): r["metrics"] for p, res in run.results.items() for k, r in res.items()}

    serial, serial_busy, a = timed("serial", Serial())
    pool1, _, _ = timed("pool1", Pool(1))
    pool, pool_busy, b = timed("pool", Pool(2))
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    from simsupport.experiment.sweep import DaskCluster

    dask, dask_busy, c = timed("dask", DaskCluster(client))
    client.close()
    cluster.close()
    def same_numbers(x: dict, y: dict) -> bool:  # NaN (undefined metrics) equal to NaN
        return x.keys() == y.keys() and all(
            x[k].keys() == y[k].keys() and all(u == v or (u != u and v != v) for u, v in
                                               ((x[k][m], y[k][m]) for m in x[k]))  # fmt: skip
            for k in x
        )

    same = same_numbers(a, b) and same_numbers(a, c)
    print(f"{n} tasks of about {serial / n:.2f} s (M/M/20, {minutes} simulated minutes each)")
    print(f"  in this process (1 worker): {serial:7.2f} s")
    print(f"  process pool, 1 worker:     {pool1:7.2f} s")
    print(f"  process pool, 2 workers:    {pool:7.2f} s   speed-up {pool1 / pool:.2f}x over 1 worker")
    print(f"  Dask LocalCluster, 2 workers: {dask:5.2f} s   speed-up {pool1 / dask:.2f}x over 1 pool worker")
    print(f"  overhead per task: pool {(2 * pool - pool_busy) / n * 1000:6.1f} ms, "
          f"Dask {(2 * dask - dask_busy) / n * 1000:6.1f} ms")  # fmt: skip
    print(f"  a replication inside a worker: pool {pool_busy / n:.3f} s, Dask {dask_busy / n:.3f} s, "
          f"in this process {serial_busy / n:.3f} s")  # fmt: skip
    print(f"  identical results across the three: {same}")


if __name__ == "__main__":
    main()
