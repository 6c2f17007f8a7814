"""Speed and memory of `simsupport fit` on a big ticket log: a script that prints figures (not a test).

    python experiments/bench_fit.py [--rows 1000000] [--days 90] [--keep DIR] [--profile]

Writes a SYNTHETIC ticket log with every column the reader knows (created_at over --days days
with a daily and weekly shape and volatility-driven bursts; 3 channels, 4 categories, 3
languages, vip, outcome answered/abandoned/deflected/blocked, wait_s, handle_s, escalated,
retry) and a minute price file covering it, to a temporary folder (or --keep DIR); then

1. times `simsupport fit --tickets LOG --prices PRICES --out fitted.yaml` as a whole process on
   ONE core (OMP/OpenBLAS/MKL threads 1, the child pinned to one CPU), with its peak memory
   (getrusage of the children: max RSS);
2. times, in this process (also pinned to one core), reading the log
   (`simsupport.fit.history.read_tickets`), reading the prices, and fitting
   (`simsupport.fit.learn.learn_tickets`);
3. when the whole fit misses the target (30 s) or with --profile, runs the same command under
   cProfile and prints where the time goes (the functions with the most cumulative and own time).

Each timing is one run (a shared machine only ever slows a run; repeat to check).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy is imported
    os.environ[_var] = "1"

import argparse
import math
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_S = 30.0
START = np.datetime64("2025-01-06T00:00:00", "s")  # a Monday, UTC
QUARTER = 900
CHANNELS = {"phone": 0.45, "chat": 0.35, "email": 0.20}
CATEGORIES = {"billing": 0.40, "technical": 0.30, "account": 0.20, "trading": 0.10}
HANDLE_MEAN = {"billing": 360.0, "technical": 540.0, "account": 300.0, "trading": 420.0}
LANGUAGES = {"en": 0.60, "zh": 0.25, "es": 0.15}
WEEKLY = np.array([1.15, 1.05, 1.0, 1.0, 0.95, 0.5, 0.4])
ONE_CORE_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def daily_profile() -> np.ndarray:
    """96 quarter-hour weights: quiet nights, a morning rise and an evening shoulder."""
    h = (np.arange(96) + 0.5) / 4
    w = 0.15 + np.exp(-0.5 * ((h - 11) / 2.5) ** 2) + 0.7 * np.exp(-0.5 * ((h - 19) / 2.0) ** 2)
    return w / w.mean()


def volatility(rng: np.random.Generator, minutes: int) -> np.ndarray:
    """Per-minute volatility: a calm level, hour-long volatile regimes (x2.5-x6) switching on and off."""
    hours = minutes // 60 + 1
    state = np.zeros(hours, dtype=bool)
    for k in range(1, hours):
        state[k] = rng.random() < (0.85 if state[k - 1] else 0.03)
    level = np.where(state, rng.uniform(2.5, 6.0, hours), 1.0)
    return np.repeat(level, 60)[:minutes] * np.exp(rng.normal(0.0, 0.15, minutes))


def write_prices(path: Path, vol: np.ndarray, rng: np.random.Generator) -> None:
    """timestamp,price per minute: Student-t returns scaled by the volatility path."""
    sigma = 0.0008 * vol
    r = sigma * rng.standard_t(4, len(vol)) / math.sqrt(2.0)
    price = 40000.0 * np.exp(np.cumsum(r))
    stamps = np.datetime_as_string(START + np.arange(len(vol)) * np.timedelta64(60, "s"), unit="s")
    pd.DataFrame({"timestamp": np.char.add(stamps, "Z"), "price": np.round(price, 2)}).to_csv(path, index=False)


def make_log(rows: int, days: int, vol: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """`rows` contacts: Poisson counts per channel and quarter hour (profile x weekday x
    volatility ** 0.5), spread uniformly within it, then every other column drawn per row."""
    nq = days * 96
    q = np.arange(nq)
    vol_q = vol[: nq * 15].reshape(nq, 15).mean(axis=1)
    shape = daily_profile()[q % 96] * WEEKLY[(q // 96) % 7] * vol_q**0.5
    per_q = shape / shape.sum() * rows * 1.03  # a little over, then exactly `rows` kept
    names = np.array(list(CHANNELS))
    counts = np.stack([rng.poisson(per_q * p) for p in CHANNELS.values()])  # (channel, quarter)
    channel = np.repeat(np.repeat(names, nq), counts.ravel())
    quarter = np.repeat(np.tile(q, len(names)), counts.ravel())
    keep = np.sort(rng.choice(len(channel), size=rows, replace=False))
    channel, quarter = channel[keep], quarter[keep]
    ms = quarter.astype(np.int64) * QUARTER * 1000 + rng.integers(0, QUARTER * 1000, rows)
    order = np.argsort(ms, kind="stable")
    channel, ms = channel[order], ms[order]
    created = np.char.add(np.datetime_as_string(START + ms.astype("timedelta64[ms]"), unit="ms"), "Z")

    def pick(choices: dict[str, float]) -> np.ndarray:
        return rng.choice(np.array(list(choices)), size=rows, p=np.array(list(choices.values())))

    category = pick(CATEGORIES)
    language = pick(LANGUAGES)
    vip = (rng.random(rows) < 0.05).astype(np.int8)
    u = rng.random(rows)
    outcome = np.where(u < 0.88, "answered", "abandoned").astype(object)
    is_phone, is_chat, is_email = channel == "phone", channel == "chat", channel == "email"
    outcome[is_chat & (rng.random(rows) < 0.22)] = "deflected"
    outcome[is_phone & (rng.random(rows) < 0.02)] = "blocked"
    outcome[is_email & (u >= 0.99)] = "abandoned"
    outcome[is_email & (u < 0.99)] = "answered"
    answered, abandoned = outcome == "answered", outcome == "abandoned"
    # waits: live channels seconds, email hours; an abandoned contact waited its patience
    scale = np.where(is_email, 4 * 3600.0, 45.0)
    wait = rng.exponential(scale)
    patience = rng.lognormal(np.log(np.where(is_email, 8 * 3600.0, 90.0)), 0.8)
    wait = np.where(abandoned, np.minimum(patience, wait * 3), wait)
    wait_s = np.round(wait, 3).astype(object)
    wait_s[outcome == "deflected"] = ""  # never queued for a human
    wait_s[outcome == "blocked"] = 0.0
    mean = np.vectorize(HANDLE_MEAN.get, otypes=[float])(category) * np.where(is_chat, 1.3, 1.0)
    handle = np.where(answered, rng.lognormal(np.log(mean) - 0.5 * 0.7**2, 0.7), 0.0)
    escalated = (answered & (rng.random(rows) < np.where(category == "technical", 0.15, 0.05))).astype(np.int8)
    retry = (~answered & (rng.random(rows) < 0.3) | (rng.random(rows) < 0.02)).astype(np.int8)
    return pd.DataFrame({
        "created_at": created, "channel": channel, "category": category, "language": language, "vip": vip,
        "outcome": outcome, "wait_s": wait_s, "handle_s": np.round(handle, 3), "escalated": escalated,
        "retry": retry,
    })  # fmt: skip


def pin_one_core() -> None:
    """This process (and what it starts) on one CPU, where the OS lets us choose."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})


def simsupport() -> list[str]:
    exe = shutil.which("simsupport")
    return [exe] if exe else [sys.executable, "-m", "simsupport.cli"]


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="ticket rows [1,000,000]")
    ap.add_argument("--days", type=int, default=90, help="days the log covers [90]")
    ap.add_argument("--seed", type=int, default=20250106)
    ap.add_argument("--keep", type=Path, help="write the log, prices and fitted scenario here (kept) instead of a temp folder")
    ap.add_argument("--profile", action="store_true", help="profile the fit even when it meets the target")
    ap.add_argument("--target", type=float, default=TARGET_S, help=f"seconds the whole fit should take [{TARGET_S:g}]")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-fit-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        log_path, price_path, out = work / "tickets.csv", work / "prices.csv", work / "fitted.yaml"

        t0 = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        vol = volatility(rng, args.days * 1440 + 120)  # two hours past the last day
        write_prices(price_path, vol, rng)
        log = make_log(args.rows, args.days, vol, rng)
        log.to_csv(log_path, index=False)
        gen = time.perf_counter() - t0
        size = log_path.stat().st_size
        print(f"synthetic log: {len(log):,} rows x {log.shape[1]} columns, {size / 2**20:,.0f} MiB CSV, "
              f"{args.days} days; prices: {len(vol):,} minutes; written in {gen:.1f} s to {work}")
        print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in log["outcome"].value_counts().items()))
        del log

        # 1. the whole command, one core, a fresh process
        cmd = simsupport() + ["fit", "--tickets", str(log_path), "--prices", str(price_path), "--out", str(out)]
        env = {**os.environ, **ONE_CORE_ENV, "COLUMNS": "160", "NO_COLOR": "1"}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=pin_one_core, check=False)
        whole = time.perf_counter() - t0
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr)
            sys.exit(f"simsupport fit failed (exit {proc.returncode})")
        (work / "fit-output.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")

        # 2. reading and fitting in this process, pinned to one core too
        pin_one_core()
        from simsupport.cli.fit import _prices, build_tree
        from simsupport.fit.history import read_tickets
        from simsupport.fit.learn import learn_tickets

        t0 = time.perf_counter()
        h = read_tickets(log_path)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        prices = _prices(price_path, None, work)
        price_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = learn_tickets(h, prices)
        learn_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_tree(res)
        tree_s = time.perf_counter() - t0
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        print(f"\nsimsupport fit, whole process on one core: {whole:.1f} s (target {args.target:g} s: "
              f"{'met' if whole <= args.target else 'MISSED'}); peak memory {mib(child_rss)}")
        print("in-process, one core:")
        print(f"  read_tickets        {read_s:7.2f} s  ({len(h.frame) / read_s:,.0f} rows/s)")
        print(f"  read prices         {price_s:7.2f} s")
        print(f"  learn_tickets       {learn_s:7.2f} s")
        print(f"  build_tree          {tree_s:7.2f} s")
        print(f"  total               {read_s + price_s + learn_s + tree_s:7.2f} s (the rest of the whole run: "
              f"imports, validation, writing)")
        print(f"  peak memory of this process (log generation included) {mib(self_rss)}")
        elasticity = res.elasticity.pooled if res.elasticity is not None else None
        print(f"fitted: channels {', '.join(res.arrivals)}; elasticity {elasticity.value if elasticity else '-'}; "
              f"over-dispersion cv {res.overdispersion.value if res.overdispersion else '-'}")
        del h, res

        # 3. where the time goes
        if args.profile or whole > args.target:
            prof = work / "fit.prof"
            pcmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "simsupport.cli", *cmd[-7:]]
            t0 = time.perf_counter()
            subprocess.run(pcmd, capture_output=True, text=True, env=env, preexec_fn=pin_one_core, check=True)
            print(f"\ncProfile of the whole command ({time.perf_counter() - t0:.1f} s with the profiler's overhead)")
            stats = pstats.Stats(str(prof))
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
