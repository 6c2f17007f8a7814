"""Local worker processes that die with their parent, stop when it is stopped, and are replaced
when one dies.

Batch jobs are killed from outside (`timeout`, a cancelled CI job, the OOM killer): a worker
whose parent is gone must not live on holding hundreds of MB. Each worker asks the kernel to
send it SIGKILL when its parent dies (Linux prctl PR_SET_PDEATHSIG) and, wherever that is not
available, watches its parent from a thread and exits within half a second of it going. Workers
ignore SIGINT and SIGTERM: the parent decides, and kills them when it is interrupted.

A worker that dies (killed, out of memory) breaks a ProcessPoolExecutor for every task still in
it; `run_tasks` starts a new pool and submits the unfinished tasks again, as Dask does, up to
`RETRIES` times per task, so one lost worker costs its task's time, not the run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

RETRIES = 3  # new pools a task may be resubmitted to after its worker died
PR_SET_PDEATHSIG = 1


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def _init_worker(parent: int) -> None:
    """Runs first in every worker: die with the parent, leave signals to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before this worker got going
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),))


def kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: its workers killed, queued tasks dropped (an interrupted or failed run)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.join(timeout=5)
        except (OSError, AttributeError, AssertionError):
            pass


class WorkerPool:
    """A local process pool that replaces itself when a worker dies (see the module docstring)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = new_pool(workers)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future[Any]]) -> Iterator[Future[Any]]:
        return as_completed(list(futures))

    def restart(self) -> None:
        kill(self.pool)
        self.pool = new_pool(self.workers)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        kill(self.pool)


def run_tasks(pool: WorkerPool, tasks: dict[Any, tuple[Callable[..., Any], tuple[Any, ...]]]) -> Iterator[tuple[Any, Any]]:
    """Yield (key, future) as each task finishes; tasks whose worker died are run again on a new
    pool (at most RETRIES times each; after that their future's error is BrokenProcessPool).
    On any exception or interruption in the caller the pool is killed, not waited for."""
    tries = dict.fromkeys(tasks, 0)
    pending = dict(tasks)
    try:
        while pending:
            futures = {pool.submit(fn, *args): key for key, (fn, args) in pending.items()}
            broken: list[Any] = []
            for fut in as_completed(futures):
                key = futures[fut]
                exc = fut.exception()
                if isinstance(exc, BrokenProcessPool) and tries[key] < RETRIES:
                    broken.append(key)
                    continue
                pending.pop(key)
                yield key, fut
            if broken:
                pool.restart()
                for key in broken:
                    tries[key] += 1
    except BaseException:
        pool.abort()
        raise
