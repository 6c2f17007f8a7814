"""Speed and memory of the simulator: a script that prints figures (not a timed test).

    python experiments/bench.py [--quick]

(a) M/M/50 at load 0.9 through the full scenario path (YAML -> Scenario -> Desk -> metrics),
    beside the plainest idiomatic SimPy model of the same queue (one process per customer
    around simpy.Resource), run in the same process for a side-by-side ratio;
(b) the bundled baseline scenario;
    and the journey model: the same M/M/50 with `experience: {}` (which switches it on) and
    the bundled exchange-journey scenario;
(c) peak memory (max RSS of a fresh process) for 1-day and 7-day horizons of the baseline,
    with and without --tickets;
(d) with --horizons 1d,365d,3650d: peak memory and time of the whole `simsupport run` process
    (one replication of the baseline, tables written, no plots or report) for long horizons:
    memory should grow only with the interval rows written (a 10-year run takes ~15 minutes).
Each speed figure is the best of a few repeats, since a shared machine only ever slows a run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
MM50 = """
name: bench-mm50
horizon: {hours}h
warmup: 1h
interval: 1h
replications: 1
seed: 1
categories:
  general: {{share: 1.0, handle_time: {{dist: exponential, mean: 1min}}}}
channels:
  phone: {{rate: 45/min, sla: {{answer_within: 20s, target: 0.8}}}}
pools:
  - {{name: agents, agents: 50}}
"""


def plain_simpy(agents: int = 50, load: float = 0.9, hours: float = 50.0, seed: int = 1) -> float:
    """Customers served per second of wall time by the textbook SimPy model."""
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=agents)
    rng = np.random.default_rng(seed)
    rate = load * agents / 60.0  # per second, mean service 60 s
    served = 0

    def customer(env: simpy.Environment):
        nonlocal served
        with desk.request() as req:
            yield req
            yield env.timeout(rng.exponential(60.0))
        served += 1

    def source(env: simpy.Environment):
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            env.process(customer(env))

    env.process(source(env))
    t = time.perf_counter()
    env.run(until=hours * 3600)
    return served / (time.perf_counter() - t)


def scenario_rate(text_or_path: str | Path, hours: float | None = None) -> tuple[float, int]:
    """Tickets per second through the full scenario path (load, build, run, summarise)."""
    from simsupport.config.load import load_scenario, scenario_from_dict
    from simsupport.stats import summarize
    from simsupport.engine import simulate

    t = time.perf_counter()
    if isinstance(text_or_path, Path):
        s = load_scenario(text_or_path, overrides={"horizon": f"{hours}h"} if hours else None)
    else:
        from ruamel.yaml import YAML

        s = scenario_from_dict(YAML(typ="safe").load(text_or_path))
    r = simulate(s, 0)
    summarize(r)
    return r.tickets_simulated / (time.perf_counter() - t), r.tickets_simulated


def peak_memory(horizon: str, tickets: bool, scenario: str = "exchange-baseline") -> float:
    """Peak RSS in MiB of a fresh process that runs one replication of a bundled scenario."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        from simsupport.config.load import load_scenario
        from simsupport.engine import simulate
        from simsupport.stats import summarize
        s = load_scenario({str(ROOT / 'scenarios' / (scenario + '.yaml'))!r}, overrides={{"horizon": {horizon!r}}})
        r = simulate(s, 0, record_tickets={tickets})
        summarize(r)
        # VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork and exec
        try:
            peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
        except OSError:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(peak / 1024, r.tickets_simulated)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0])


def run_process_memory(horizon: str, scenario: str = "exchange-baseline") -> tuple[float, float, int]:
    """(peak RSS in MiB, seconds, interval rows) of `simsupport run` as a whole process."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        code = textwrap.dedent(
            f"""
            import sys, time
            from simsupport.cli import main
            t = time.perf_counter()
            try:
                main(["run", {str(ROOT / 'scenarios' / (scenario + '.yaml'))!r}, "-r", "1", "-w", "1", "--horizon",
                      {horizon!r}, "--no-plots", "--no-report", "--out", {tmp + '/out'!r}])
            except SystemExit as e:
                assert not e.code, e.code
            peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
            print(peak / 1024, time.perf_counter() - t, file=sys.stderr)
            """
        )
        err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
        mib, secs = (float(x) for x in err.strip().splitlines()[-1].split())
        rows = sum(1 for _ in open(Path(tmp) / "out" / "intervals.csv")) - 1
    return mib, secs, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter runs (noisier figures)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--horizons", help="only (d): comma-separated horizons, e.g. 1d,365d,3650d")
    args = ap.parse_args()
    if args.horizons:
        print("(d) whole `simsupport run` process, exchange-baseline, one replication, no plots")
        for horizon in args.horizons.split(","):
            mib, secs, rows = run_process_memory(horizon)
            print(f"    horizon {horizon:>6}: {mib:8.1f} MiB peak, {secs:7.1f} s, {rows:,} interval rows")
        return
    hours = 40 if args.quick else 150
    repeats = 2 if args.quick else 3
    figures: dict[str, float] = {}

    plain = max(plain_simpy(hours=hours / 3) for _ in range(repeats))
    ours = max(scenario_rate(MM50.format(hours=hours))[0] for _ in range(repeats))
    figures.update(mm50_plain_simpy_per_s=plain, mm50_simsupport_per_s=ours, mm50_ratio=ours / plain)
    print(f"(a) M/M/50 at load 0.9, {hours} h simulated")
    print(f"    plain SimPy (process per customer, Resource): {plain:12,.0f} tickets/s")
    print(f"    simsupport, full scenario path:               {ours:12,.0f} tickets/s  ({ours / plain:.2f}x)")

    base = ROOT / "scenarios" / "exchange-baseline.yaml"
    runs = [scenario_rate(base, hours=24 * (1 if args.quick else 3)) for _ in range(repeats)]
    rate, n = max(runs)
    figures["baseline_per_s"] = rate
    print(f"(b) exchange-baseline ({n:,} tickets per replication): {rate:12,.0f} tickets/s")

    journey = max(scenario_rate(MM50.format(hours=hours) + "experience: {}\n")[0] for _ in range(repeats))
    figures["mm50_journey_model_per_s"] = journey
    print(f"    the same M/M/50 through the journey model:   {journey:12,.0f} tickets/s  ({journey / plain:.2f}x)")
    jbase = ROOT / "scenarios" / "exchange-journey.yaml"
    runs = [scenario_rate(jbase, hours=24 * (1 if args.quick else 3)) for _ in range(repeats)]
    rate, n = max(runs)
    figures["journey_per_s"] = rate
    print(f"    exchange-journey ({n:,} tickets per replication): {rate:12,.0f} tickets/s")

    print("(c) peak memory of one replication (peak RSS of a fresh process)")
    for horizon in ("1d", "7d"):
        for tickets in (False, True):
            mib = peak_memory(horizon, tickets)
            figures[f"rss_mib_{horizon}{'_tickets' if tickets else ''}"] = mib
            print(f"    horizon {horizon:>3}{' --tickets' if tickets else '          '}: {mib:8.1f} MiB")
    mib = peak_memory("7d", False, "exchange-journey")
    figures["rss_mib_7d_journey"] = mib
    print(f"    exchange-journey, horizon 7d: {mib:8.1f} MiB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
