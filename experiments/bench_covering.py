"""Size and speed of the roster covering integer program on a realistic week (prints figures,
not a timed test).

    python experiments/bench_covering.py [--time-limit 60] [--gap 1e-4] [--weekend 1.0]

A week of 15-min slots whose requirement follows a daily double hump between 20 and 120 agents
(peaks late morning and mid afternoon); templates: full 8h30 with a 30-min unpaid lunch at
3 offsets, 8h without a break, part-time 4h capped at 30 % of agents; starts every 30 min from
00:00 to 23:30; 5x2 days off (every rotation). Prints the number of variables, the time to build
the coverage matrix, the time of the whole solve, the roster cost, the LP bound and the gap.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
from simsupport.staffing.covering import (
    BreakSpec,
    CoverProblem,
    TemplateSpec,
    coverage_matrix,
    enumerate_shift_types,
    solve_cover,
)

H = 3600.0


def double_hump(slots_per_day: int = 96, lo: float = 20.0, hi: float = 120.0) -> np.ndarray:
    """Agents needed per slot of one day: a night floor of `lo`, peaks of `hi` at 11:00 and
    15:30 with a lunchtime dip between them, rounded up to whole agents."""
    t = (np.arange(slots_per_day) + 0.5) * 24 / slots_per_day  # hours
    shape = np.exp(-0.5 * ((t - 11.0) / 1.8) ** 2) + 0.95 * np.exp(-0.5 * ((t - 15.5) / 2.0) ** 2)
    shape = (shape - shape.min()) / (shape.max() - shape.min())
    return np.ceil(lo + (hi - lo) * shape)


def week_problem(weekend: float = 1.0) -> CoverProblem:
    day = double_hump()
    scale = np.array([1, 1, 1, 1, 1, weekend, weekend])
    req = np.concatenate([np.ceil(day * f) for f in scale])
    templates = (
        TemplateSpec("full", 8.5 * H, (BreakSpec(1800, (3.5 * H, 4 * H, 4.5 * H)),)),
        TemplateSpec("eight", 8 * H),
        TemplateSpec("part", 4 * H, max_share=0.3),
    )
    starts = tuple(float(s) for s in np.arange(48) * 1800)
    return CoverProblem(900, req, templates, starts, "5x2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--weekend", type=float, default=1.0, help="weekend requirement as a share of a weekday's")
    args = ap.parse_args()

    t0 = time.perf_counter()
    p = week_problem(args.weekend)
    t1 = time.perf_counter()
    types = enumerate_shift_types(p)
    a = coverage_matrix(p, types)
    t2 = time.perf_counter()
    sol = solve_cover(p, time_limit=args.time_limit, mip_rel_gap=args.gap)

    req = p.requirement
    print(f"requirement      {len(req)} slots, {req.min():.0f}..{req.max():.0f} agents, {req.sum() / 4:.0f} agent-hours")
    print(f"variables        {len(types)} shift types, matrix {a.shape[0]}x{a.shape[1]}, {a.nnz} nonzeros")
    print(f"build            {(t1 - t0) * 1e3:.1f} ms problem, {(t2 - t1) * 1e3:.1f} ms types + coverage matrix")
    print(f"solve            {sol.seconds:.2f} s (build, LP relaxation, MIP), status {sol.status}")
    print(f"cost             {sol.cost:.1f} paid hours   LP bound {sol.lp_bound:.1f}   gap {sol.gap:.2%}")
    over = (sol.coverage - req).sum() / 4
    print(f"roster           {sol.agents} agents on {len(sol.counts)} shift types; over-coverage {over:.0f} agent-hours")
    by_template = Counter()
    for t, k in sol.counts.items():
        by_template[t.template] += k
    print("by template      " + ", ".join(f"{n} {k} ({k / sol.agents:.0%})" for n, k in sorted(by_template.items())))


if __name__ == "__main__":
    main()
