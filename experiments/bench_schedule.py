"""`simsupport schedule` on the bundled weekly example: prints figures (not a test).

    python experiments/bench_schedule.py [--workers 2] [--replications 5] [--rerun 10] [--out DIR]

1. The search, from an empty store (as a planner's first run): wall time, evaluations,
   replications, the covering MILP per pool (cost, LP bound, proven bound, gap, seconds), the
   roster's cost and paid agent-hours against today's roster of the same pools.
2. An independent check: the scheduled scenario and today's (the scenario as written, its pools'
   `shifts`) each rerun with a fresh seed (the scenario's seed + 1000) and `--rerun`
   replications; every staffing target judged on both.
3. The roster figure is copied to results/figures/exchange-roster-schedule.png.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from simsupport.config.load import load_scenario, load_scenario_with
from simsupport.experiment.replications import run_replications
from simsupport.outputs.schedule import write_schedule
from simsupport.staffing.schedule import schedule
from simsupport.staffing.targets import TargetResult, evaluate_targets

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "exchange-roster.yaml"


def judged(targets: list[TargetResult]) -> dict[str, TargetResult]:
    return {t.label: t for t in targets}


def fmt(t: TargetResult) -> str:
    if t.measure == "asa":
        return f"{t.mean:7.0f}s +-{t.ci95:.0f} {'met' if t.met else 'MISSED'}"
    return f"{t.mean:7.1%} +-{100 * t.ci95:.1f} {'met' if t.met else 'MISSED'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--rerun", type=int, default=10, help="replications of the fresh-seed check")
    ap.add_argument("--out", type=Path, help="output folder (default: a new temporary one: no stored evaluations)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-schedule-"))

    t0 = time.perf_counter()
    result = schedule(SCENARIO, out=out, workers=args.workers, replications=args.replications, note=print)
    write_schedule(result, SCENARIO, out)
    wall = time.perf_counter() - t0
    print(f"\nschedule: {wall:,.0f} s wall ({result.wall_s:,.0f} s in the search), {result.evaluations} evaluations, "
          f"{result.replications_run} replications run, {result.replications_reused} reused; "
          f"{args.workers} workers, {args.replications} replications per evaluation")  # fmt: skip
    for name, sol in result.solutions.items():
        print(f"  cover {name:12s} cost {sol.cost:9,.0f}  LP {sol.lp_bound:9,.0f}  bound {sol.bound:9,.0f}  "
              f"gap {sol.gap:6.2%}  ({sol.lp_gap:6.2%} to the LP)  {sol.status:10s} {sol.seconds:5.1f} s "
              f"{sol.variables} shift types")  # fmt: skip
    for r in result.rounds:
        print(f"  {r.stage:8s} agents {r.agents:5d} cost {r.cost:9,.0f} {'met' if r.met else 'missed: ' + ', '.join(r.missed)}")
    saved = result.today_hours - result.paid_hours
    print(f"roster: {sum(x.agents for x in result.lines)} agents in {len(result.lines)} lines, "
          f"{result.paid_hours:,.0f} paid agent-hours a week against today's {result.today_hours:,.0f} "
          f"({saved:,.0f} fewer, {saved / result.today_hours:.1%})")  # fmt: skip

    print(f"\nfresh-seed check: {args.rerun} replications, seed + 1000")
    scheduled = load_scenario(out / f"{result.scenario.name}-scheduled.yaml")
    today = load_scenario_with(SCENARIO, horizon="7d")
    rows = {}
    for label, s in (("scheduled", scheduled), ("today", today)):
        s = s.model_copy(update={"seed": s.seed + 1000, "replications": args.rerun})
        t = time.perf_counter()
        rows[label] = judged(evaluate_targets(s, run_replications(s, args.rerun, workers=args.workers)))
        print(f"  {label}: {time.perf_counter() - t:,.0f} s")
    for name in rows["scheduled"]:
        print(f"  {name:48s} scheduled {fmt(rows['scheduled'][name])}   today {fmt(rows['today'][name])}")
    figures = ROOT / "results" / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "schedule.png", figures / "exchange-roster-schedule.png")
    print(f"\nwrote {figures / 'exchange-roster-schedule.png'}; outputs in {out}")


if __name__ == "__main__":
    main()
