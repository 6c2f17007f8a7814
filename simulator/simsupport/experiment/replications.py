"""Running replications: serially or in a local process pool, same numbers either way.

Replication k of a scenario depends only on (scenario, seed, k) through its named random
streams, so the executor changes the wall time and nothing else (and a replication rerun after
its worker died gives the same numbers). Results come back ordered by
replication index whatever order they finished in.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

from ..config.derived import staffing_targets
from ..config.schema import Scenario
from ..engine import simulate
from ..stats.result import ReplicationResult
from ..stats.summary import summarize
from .pool import WorkerPool, run_tasks

Progress = Callable[[int, int], None]  # (done, total)


def _one(scenario: Scenario, replication: int, record_tickets: bool) -> ReplicationResult:
    return slim(simulate(scenario, replication, record_tickets=record_tickets), scenario)


def slim(r: ReplicationResult, scenario: Scenario) -> ReplicationResult:
    """The result as the writers, reports and judges need it: summarised in the worker, then
    without the hour-level data only the summary reads (hour counters and histograms, interval
    snapshots) and without the target tallies' interval grid where no every_interval target
    reads it. Half of what a long replication hands the parent (a year on five channels:
    from 33 MB to 15 MB), the same numbers."""
    r.summary = summarize(r)
    r.hour_counters = r.hour_hist = r.snapshots = None
    if r.targets is not None and not any(t.scope == "every_interval" for t in staffing_targets(scenario)):
        r.targets = dataclasses.replace(r.targets, intervals=r.targets.intervals[:, :0])
    return r


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run_replications(
    scenario: Scenario,
    replications: int | Sequence[int] | None = None,
    *,
    workers: int = 1,
    record_tickets: bool = False,
    progress: Progress | None = None,
) -> list[ReplicationResult]:
    """Run replications 0..n-1 (or the listed indices) of a scenario."""
    if replications is None:
        indices = list(range(scenario.replications))
    elif isinstance(replications, int):
        indices = list(range(replications))
    else:
        indices = list(replications)
    total = len(indices)
    results: dict[int, ReplicationResult] = {}
    if workers <= 1 or total <= 1:
        for done, k in enumerate(indices, 1):
            results[k] = _one(scenario, k, record_tickets)
            if progress:
                progress(done, total)
    else:
        pool = WorkerPool(min(workers, total))
        tasks = {k: (_one, (scenario, k, record_tickets)) for k in indices}
        for done, (k, fut) in enumerate(run_tasks(pool, tasks), 1):
            results[k] = fut.result()
            if progress:
                progress(done, total)
        pool.close()
    return [results[k] for k in indices]
