"""Running an experiment: every (point, replication) task, on a process pool or a Dask cluster.

A task is `run_task(scenario, k)`: replication k of a point, summarised to flat metrics
("scope.key.metric" -> value). It depends only on (scenario, seed, k), so the executor and the
number of workers change the wall time and nothing else, and replication k of every point uses
the same random streams (common random numbers: differences between points are paired).

Each result is written to the store as it arrives (one JSON file per task, atomically), so an
interrupted sweep loses nothing finished and a rerun skips it; a task that fails is recorded with
its error and the rest go on. With a precision target, replications are added in rounds until
every point's target metrics are precise enough (deterministic: the rounds depend only on results).
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.derived import staffing_targets
from ..config.schema import Scenario
from ..engine import simulate
from ..errors import SimsupportError
from ..outputs.files import write_json
from ..stats.summary import summarize
from .pool import RETRIES, WorkerPool
from .spec import Experiment, ExperimentSpec, Point, Precision, point_key
from .statistics import mean_ci95

Progress = Callable[[int, int], None]
CONNECT_TIMEOUT = 10  # seconds to reach a Dask scheduler
NO_WORKERS = 60.0  # seconds a Dask cluster may have no worker before the sweep gives up


def flatten(summary: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    return {f"{scope}.{key}.{metric}": v for scope, keys in summary.items() for key, ms in keys.items() for metric, v in ms.items()}


def run_task(scenario: Scenario, replication: int) -> dict[str, Any]:
    """One replication of one point, as flat metrics plus run facts (runs in a worker)."""
    t = time.perf_counter()
    r = simulate(scenario, replication)
    metrics = flatten(summarize(r))
    out = {"replication": replication, "metrics": metrics, "wall_s": time.perf_counter() - t,
           "tickets": r.tickets_simulated}  # fmt: skip
    if r.targets is not None:  # what `staff` and `schedule` judge (by hour: a few kB a day)
        out["targets"] = r.targets.record(intervals=any(t.scope == "every_interval" for t in staffing_targets(scenario)))
    return out


# -- the store --------------------------------------------------------------------------------------
class Store:
    """`DIR/runs/<point key>/rep-<k>.json`, one file per finished task, written atomically."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs = out / "runs"

    def path(self, key: str, k: int) -> Path:
        return self.runs / key / f"rep-{k:05d}.json"

    def load(self, key: str, k: int) -> dict[str, Any] | None:
        p = self.path(key, k)
        if not p.is_file():
            return None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable (should not happen: writes are atomic): run it again
        if not isinstance(doc, dict) or doc.get("replication") != k or not isinstance(doc.get("metrics"), dict):
            return None  # not a finished replication's record (edited, truncated by hand): run it again
        return doc

    def save(self, key: str, result: dict[str, Any]) -> None:
        write_json(self.path(key, result["replication"]), result)
        err = self.runs / key / f"error-{result['replication']:05d}.json"
        err.unlink(missing_ok=True)

    def fail(self, key: str, k: int, error: str) -> None:
        write_json(self.runs / key / f"error-{k:05d}.json", {"replication": k, "error": error})


# -- executors --------------------------------------------------------------------------------------
class _Deferred:
    """A task of the serial executor: run when its result is asked for, so that each result is
    stored before the next task starts (an interrupted serial sweep loses nothing finished)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def result(self) -> Any:
        return self.fn(*self.args)


class Serial:
    """In this process, one task at a time (workers=1)."""

    workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Deferred:
        return _Deferred(fn, args)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return iter(list(futures))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def restart(self) -> None:
        pass


Pool = WorkerPool  # a local process pool whose workers die with the sweep and are replaced if one dies


class DaskCluster:
    """A Dask distributed cluster (scheduler address, or a `distributed.Client`)."""

    def __init__(self, scheduler: Any) -> None:
        from distributed import Client

        self.own = not hasattr(scheduler, "submit")
        self.address = str(scheduler)
        try:
            self.client = Client(scheduler, timeout=CONNECT_TIMEOUT) if self.own else scheduler
        except (OSError, TimeoutError) as exc:
            raise SimsupportError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s ({exc}); "
                                  "is it running, and is the address tcp://HOST:PORT?") from None

    @property
    def workers(self) -> int:
        """Task slots of the cluster now (threads over its workers)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a cluster that cannot say: one at a time
            return 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        """As tasks finish; a cluster that has had no worker for NO_WORKERS seconds ends the wait
        with a message instead of waiting for ever (finished replications are stored)."""
        from distributed import as_completed

        queue = as_completed(list(futures))
        idle_since: float | None = None
        while not queue.is_empty():
            batch = queue.next_batch(block=False)
            if batch:
                idle_since = None
                yield from batch
                continue
            if self.workers_now() == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > NO_WORKERS:
                    raise SimsupportError(
                        f"the Dask cluster at {self.address} has had no workers for {NO_WORKERS:.0f} s; finished "
                        "replications are stored: start workers and rerun the same command to resume"
                    )
            else:
                idle_since = None
            time.sleep(0.2)

    def workers_now(self) -> int:
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # noqa: BLE001 - a scheduler that cannot say: assume it still has workers
            return 1

    def close(self) -> None:
        if self.own:
            self.client.close()

    def abort(self) -> None:
        self.close()

    def restart(self) -> None:  # Dask reschedules a lost worker's tasks itself
        pass


def make_executor(workers: int = 1, scheduler: Any = None) -> Any:
    if scheduler is not None:
        return DaskCluster(scheduler)
    return Serial() if workers <= 1 else Pool(workers)


# -- the run ------------------------------------------------------------------------------------------
@dataclass
class SweepRun:
    """What a sweep did: results per point and replication, failures, counts and time."""

    results: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)  # point -> k -> result
    failures: list[tuple[Point, int, str]] = field(default_factory=list)
    ran: int = 0
    reused: int = 0
    wall_s: float = 0.0
    unmet: list[tuple[Point, str, float]] = field(default_factory=list)  # precision not reached


def _half_width(values: list[float], precision: Precision) -> tuple[float, float]:
    """(half-width, target) of a metric's 95% CI."""
    mean, half = mean_ci95(values)
    target = precision.half_width if precision.half_width is not None else precision.relative * abs(mean)  # type: ignore[operator]
    return (math.inf if math.isnan(half) else half), target


def _more_needed(values: list[float], precision: Precision) -> int:
    """Replications still needed for one metric (0 if precise enough), from the current spread."""
    n = len(values)
    half, target = _half_width(values, precision)
    if half <= target:
        return 0
    if not math.isfinite(half) or target <= 0:
        return max(n, 2)  # double up until the spread is known
    return max(1, math.ceil(n * (half / target) ** 2) - n)


def run_sweep(
    exp: Experiment,
    store: Store,
    *,
    executor: Any,
    replications: int | None = None,
    precision: Precision | None = None,
    progress: Progress | None = None,
) -> SweepRun:
    """Run every point's replications (or until the precision target), resuming from the store."""
    t0 = time.perf_counter()
    run = SweepRun(results={p.index: {} for p in exp.points})
    precision = precision or exp.spec.precision
    n0 = replications or (precision.min_replications if precision else exp.replications)
    wanted = {p.index: n0 for p in exp.points}
    done = total = 0
    while True:
        todo: list[tuple[Point, int]] = []
        for p in exp.points:
            for k in range(wanted[p.index]):
                if k in run.results[p.index]:
                    continue
                stored = store.load(p.key, k)
                if stored is not None:
                    run.results[p.index][k] = stored
                    run.reused += 1
                else:
                    todo.append((p, k))
        total += len(todo)
        if progress:  # tasks found in the store count as done
            progress(done + run.reused, total + run.reused)
        tries: dict[tuple[int, int], int] = {}
        try:
            while todo:
                futures = {executor.submit(run_task, p.scenario, k): (p, k) for p, k in todo}
                todo = []
                for fut in executor.as_completed(futures):
                    p, k = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool:  # its worker died (killed, out of memory): run it again
                        if tries.get((p.index, k), 0) < RETRIES:
                            tries[(p.index, k)] = tries.get((p.index, k), 0) + 1
                            todo.append((p, k))
                            continue
                        store.fail(p.key, k, "its worker process died every time it ran")
                        run.failures.append((p, k, "worker process died"))
                    except Exception as exc:  # noqa: BLE001 - a failing point must not sink the sweep
                        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                        store.fail(p.key, k, text + "\n" + "".join(traceback.format_tb(exc.__traceback__)))
                        run.failures.append((p, k, text))
                    else:
                        store.save(p.key, result)
                        run.results[p.index][k] = result
                        run.ran += 1
                    done += 1
                    if progress:
                        progress(done + run.reused, total + run.reused)
                if todo:
                    getattr(executor, "restart", lambda: None)()
        except BaseException:
            # interrupted: workers killed, not waited for (finished tasks are stored)
            getattr(executor, "abort", lambda: None)()
            raise
        if precision is None:
            break
        more = False
        failed = {p.index for p, _, _ in run.failures}
        for p in exp.points:
            if p.index in failed:
                continue
            res = run.results[p.index]
            need = 0
            for m in precision.metrics:
                vals = [res[k]["metrics"].get(m) for k in sorted(res)]
                vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
                need = max(need, _more_needed(vals, precision) if vals else 0)
            target = min(wanted[p.index] + need, precision.max_replications)
            if target > wanted[p.index]:
                wanted[p.index] = target
                more = True
        if not more:
            break
    if precision is not None:
        for p in exp.points:
            res = run.results[p.index]
            for m in precision.metrics:
                vals = [res[k]["metrics"].get(m) for k in sorted(res)]
                vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
                if not vals:
                    continue
                half, target = _half_width(vals, precision)
                if half > target:
                    run.unmet.append((p, m, half))
    run.wall_s = time.perf_counter() - t0
    return run


def run_scenarios(scenarios: Sequence[Scenario], store: Store, *, executor: Any, replications: int,
                  source: str) -> tuple[SweepRun, list[Point]]:  # fmt: skip
    """Replications 0..R-1 of each scenario (a staffing or roster candidate), as one sweep of
    points keyed by `point_key`: stored, resumed, and shared by every candidate that is the same
    scenario. Returns the run and the points (run.results is by point index)."""
    points = [Point(j, {}, s, point_key(s)) for j, s in enumerate(scenarios)]
    spec = ExperimentSpec.model_construct(name=scenarios[0].name if scenarios else "", base=source,
                                          replications=replications)  # fmt: skip
    exp = Experiment(spec, Path(source), Path(source), points, [])
    return run_sweep(exp, store, executor=executor, replications=replications), points
