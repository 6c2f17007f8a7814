"""Rosters, not just headcounts: the cheapest set of shifts that covers a per-slot requirement.

A pure set-covering integer program (no SimPy, no scenario objects). The caller gives the
number of agents needed in each slot of a planning horizon (usually a week of 15-minute slots,
starting at local midnight of day 0, e.g. the Erlang A/C numbers per interval), the shift
templates, the allowed start times and the days-off pattern; `solve_cover` returns how many
agents to put on each *shift type* (template, start, one offset per break, days-on pattern):

    minimise    sum_i cost_i x_i                      (paid hours a week x cost per paid hour)
    subject to  sum_i A[j, i] x_i >= requirement[j]   for every slot j
                sum_{i on T} x_i <= share_T sum_i x_i for every template T with a max_share
                sum_i x_i <= max_agents               (optional)
                x_i >= 0 integer

where A[j, i] is the fraction of slot j that shift type i is on duty (its breaks excluded, so
a break misaligned with the grid gives fractions). It is solved with HiGHS (through highspy,
which takes a starting solution: scipy.optimize.milp runs the same solver but cannot, and on a
week of hourly starts its incumbent after 10 s was 30-50% above the bound on small pools). The
start is the LP optimum rounded down and repaired greedily (or the caller's previous roster,
repaired); the LP relaxation is reported as `lp_bound`, the MILP's proven bound as `bound`, and
`gap` = (cost - bound) / cost says how far the roster can be from the best possible one.

When the requirement cannot be met, the best roster is still returned with `status="short"`:
slots no shift type can reach (see `uncoverable_slots`) are dropped from the problem and
reported short; if it is still infeasible (e.g. `max_agents` too small), a continuous shortfall
variable per slot is added at a penalty of 1000 x the most expensive shift type's cost per
agent-slot, so the roster first covers as much as it can, then is as cheap as it can be.
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .highs import SHORT_TOL, covers, repair, run_highs

DAY = 86400.0
EPS = 1e-9  # coverage below this (in slots) is noise
PENALTY = 1000.0  # shortfall penalty per agent-slot, as a multiple of the dearest shift type


@dataclass(frozen=True)
class BreakSpec:
    """A break of `length` seconds that may start at any of `offsets` (seconds after the shift
    start). Paid breaks count towards paid hours; every break takes the agent off duty."""

    length: float
    offsets: tuple[float, ...]
    paid: bool = False


@dataclass(frozen=True)
class TemplateSpec:
    """A shift template: `length` seconds on site with its breaks; `max_share` caps the agents on
    this template at that share of all agents."""

    name: str
    length: float
    breaks: tuple[BreakSpec, ...] = ()
    max_share: float | None = None

    @property
    def paid_seconds(self) -> float:
        return self.length - sum(b.length for b in self.breaks if not b.paid)


@dataclass(frozen=True, eq=False)
class CoverProblem:
    """A covering problem. `requirement` has one entry per slot of the horizon (n_days x
    slots_per_day, from local midnight of day 0, weekday 0 = its first day); `starts` are the
    allowed start times (seconds after midnight, in [0, 86400)); `days_off` is "none" (every day)
    or "NxM" (N consecutive working days then M off, every rotation allowed); with `wrap`, time
    past the end of the horizon folds back to its start (a Sunday-night shift covers Monday
    early morning of the same week)."""

    slot: float
    requirement: np.ndarray
    templates: tuple[TemplateSpec, ...]
    starts: tuple[float, ...]
    days_off: str = "none"
    cost_per_paid_hour: float = 1.0
    max_agents: int | None = None
    wrap: bool = True

    def __post_init__(self) -> None:
        req = np.array(self.requirement, dtype=float).reshape(-1)
        req.setflags(write=False)
        object.__setattr__(self, "requirement", req)
        _validate(self)

    @property
    def n_slots(self) -> int:
        return len(self.requirement)

    @property
    def slots_per_day(self) -> int:
        return round(DAY / self.slot)

    @property
    def n_days(self) -> int:
        return self.n_slots // self.slots_per_day

    def template(self, name: str) -> TemplateSpec:
        for t in self.templates:
            if t.name == name:
                return t
        raise KeyError(f"no template named {name!r}")


@dataclass(frozen=True)
class ShiftType:
    """One column of the covering problem: a template started at `start` (seconds after
    midnight) with one offset per break, worked on `days` (day indices of the horizon;
    `first_day` is the rotation, the first day of the N-day working block)."""

    template: str
    start: float
    break_offsets: tuple[float, ...]
    first_day: int
    days: tuple[int, ...]

    def paid_hours(self, problem: CoverProblem) -> float:
        """Paid hours per horizon (a week) of one agent on this shift type."""
        return problem.template(self.template).paid_seconds / 3600.0 * len(self.days)


@dataclass(frozen=True, eq=False)
class CoverSolution:
    """A roster. `status` is "optimal" (every slot covered, optimal within `mip_rel_gap`),
    "time_limit" (every slot covered, the time limit stopped the search: see `gap`), "short"
    (some slots uncovered, see `short`: unreachable slots, an infeasible cap, or, rarely, no
    covering roster found before the time limit) or "no_solution" (nothing found in time)."""

    counts: dict[ShiftType, int]  # agents per shift type, nonzero only
    coverage: np.ndarray  # agents on duty per slot (fractional where a break splits a slot)
    cost: float  # roster cost: paid hours x cost per paid hour (no shortfall penalty)
    lp_bound: float  # optimal value of the LP relaxation of the covering problem solved
    gap: float  # (cost - bound) / cost, 0 when cost is 0: how far from optimal at most
    status: str  # see below
    variables: int  # shift types (integer variables; shortfall variables not counted)
    seconds: float  # wall time of the whole call (build and solves)
    short: np.ndarray  # requirement - coverage where positive, per slot
    bound: float = float("nan")  # the best lower bound proven (the MILP's dual bound, >= lp_bound)

    @property
    def agents(self) -> int:
        return sum(self.counts.values())

    @property
    def lp_gap(self) -> float:
        """(cost - lp_bound) / cost: the gap to the LP relaxation (the integrality gap included)."""
        return (self.cost - self.lp_bound) / self.cost if self.cost > 0 else 0.0


# ---------------------------------------------------------------------------- validation


def _days_off(spec: str) -> tuple[int, int] | None:
    """None for "none", else (N working days, M days off)."""
    s = spec.strip().lower()
    if s == "none":
        return None
    m = re.fullmatch(r"(\d+)\s*x\s*(\d+)", s)
    if m is None:
        raise ValueError(f"days_off must be 'none' or 'NxM' such as '5x2', not {spec!r}")
    on, off = int(m.group(1)), int(m.group(2))
    if on < 1:
        raise ValueError(f"days_off {spec!r}: at least one working day")
    return on, off


def _validate(p: CoverProblem) -> None:
    if not p.slot > 0:
        raise ValueError("slot must be positive")
    spd = DAY / p.slot
    if abs(spd - round(spd)) > 1e-9 * spd:
        raise ValueError(f"slot {p.slot}s must divide a day")
    if p.n_slots == 0 or p.n_slots % p.slots_per_day:
        raise ValueError(f"requirement has {p.n_slots} slots, not a whole number of days of {p.slots_per_day}")
    if not np.all(np.isfinite(p.requirement)) or np.any(p.requirement < 0):
        raise ValueError("requirement must be finite and non-negative")
    if not p.templates:
        raise ValueError("at least one template")
    names = [t.name for t in p.templates]
    if len(set(names)) != len(names):
        raise ValueError(f"template names must be unique: {names}")
    for t in p.templates:
        if not t.length > 0:
            raise ValueError(f"template {t.name!r}: length must be positive")
        if t.max_share is not None and not 0 <= t.max_share <= 1:
            raise ValueError(f"template {t.name!r}: max_share must be in [0, 1]")
        for b in t.breaks:
            if not b.length > 0 or not b.offsets:
                raise ValueError(f"template {t.name!r}: a break needs a positive length and an offset")
            if any(o < 0 or o + b.length > t.length for o in b.offsets):
                raise ValueError(f"template {t.name!r}: a break must lie within the shift")
    if not p.starts or any(not 0 <= s < DAY for s in p.starts):
        raise ValueError("starts must be non-empty, in [0, 86400) seconds after midnight")
    if len(set(p.starts)) != len(p.starts):
        raise ValueError("starts must be unique")
    if p.max_agents is not None and p.max_agents < 0:
        raise ValueError("max_agents must be non-negative")
    if p.cost_per_paid_hour < 0:
        raise ValueError("cost_per_paid_hour must be non-negative")
    _days_off(p.days_off)


# ---------------------------------------------------------------------------- enumeration


def _patterns(problem: CoverProblem) -> list[tuple[tuple[int, ...], int]]:
    """(working days, first day) of every distinct days-on pattern over the horizon."""
    n = problem.n_days
    spec = _days_off(problem.days_off)
    if spec is None:
        return [(tuple(range(n)), 0)]
    on, off = spec
    cycle = on + off
    seen: dict[tuple[int, ...], int] = {}
    for r in range(cycle):
        days = tuple(d for d in range(n) if (d - r) % cycle < on)
        if days and days not in seen:
            seen[days] = r
    return list(seen.items())


def _offset_combos(t: TemplateSpec) -> list[tuple[float, ...]]:
    """One offset per break, skipping combinations whose breaks overlap."""
    out = []
    for combo in itertools.product(*(b.offsets for b in t.breaks)):
        spans = sorted((o, o + b.length) for o, b in zip(combo, t.breaks))
        if all(spans[k][1] <= spans[k + 1][0] for k in range(len(spans) - 1)):
            out.append(tuple(float(o) for o in combo))
    return out


def enumerate_shift_types(problem: CoverProblem) -> list[ShiftType]:
    """Every shift type: template x break offsets x start x days-on pattern."""
    patterns = _patterns(problem)
    return [
        ShiftType(t.name, float(s), offs, first, days)
        for t in problem.templates
        for offs in _offset_combos(t)
        for s in problem.starts
        for days, first in patterns
    ]


def _work_intervals(t: TemplateSpec, offsets: tuple[float, ...]) -> list[tuple[float, float]]:
    """On-duty intervals of a shift, in seconds after its start: the shift minus its breaks."""
    if len(offsets) != len(t.breaks):
        raise ValueError(f"template {t.name!r} has {len(t.breaks)} breaks, got {len(offsets)} offsets")
    spans = sorted((o, o + b.length) for o, b in zip(offsets, t.breaks))
    out, at = [], 0.0
    for a, b in spans:
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < t.length:
        out.append((at, t.length))
    return out


def _profiles(starts: np.ndarray, intervals: list[tuple[float, float]], slot: float):
    """Day-0 coverage of a shift started at each of `starts`: (start index, unrolled slot index,
    fraction of the slot) triples; slot indices run past the horizon, to be folded or cut."""
    rows, cols, vals = [], [], []
    for a, b in intervals:
        x, y = starts + a, starts + b
        k = int(np.ceil((b - a) / slot)) + 1
        j = np.floor(x / slot).astype(np.int64)[:, None] + np.arange(k)
        ov = (np.minimum(y[:, None], (j + 1) * slot) - np.maximum(x[:, None], j * slot)) / slot
        keep = ov > EPS
        rows.append(np.nonzero(keep)[0])
        cols.append(j[keep])
        vals.append(ov[keep])
    if not intervals:  # breaks fill the whole shift
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def coverage_matrix(problem: CoverProblem, types: list[ShiftType]) -> sparse.csr_matrix:
    """Slots x types: the fraction of each slot each shift type is on duty."""
    n_slots, spd, n = problem.n_slots, problem.slots_per_day, len(types)
    # one profile per (template, offsets, start); columns pick theirs and shift it by day
    keys: dict[tuple[str, tuple[float, ...]], dict[float, int]] = {}
    for t in types:
        keys.setdefault((t.template, t.break_offsets), {}).setdefault(t.start, 0)
    ptr_parts, idx_parts, val_parts, base = [], [], [], 0
    for (name, offs), starts in keys.items():
        tpl = problem.template(name)
        for s in starts:
            if not 0 <= s < DAY:
                raise ValueError(f"start {s} outside [0, 86400)")
        arr = np.array(list(starts), dtype=float)
        r, c, v = _profiles(arr, _work_intervals(tpl, offs), problem.slot)
        counts = np.bincount(r, minlength=len(arr))
        for i, s in enumerate(starts):
            starts[s] = base + i
        ptr_parts.append(counts)
        order = np.argsort(r, kind="stable")
        idx_parts.append(c[order])
        val_parts.append(v[order])
        base += len(arr)
    lens = np.concatenate(ptr_parts) if ptr_parts else np.zeros(0, np.int64)
    ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
    val = np.concatenate(val_parts) if val_parts else np.zeros(0)

    if any(d < 0 or d >= problem.n_days for t in types for d in t.days):
        raise ValueError(f"working days must be in 0..{problem.n_days - 1}")
    key = np.array([keys[(t.template, t.break_offsets)][t.start] for t in types], dtype=np.int64)
    ndays = np.array([len(t.days) for t in types], dtype=np.int64)
    pair_col = np.repeat(np.arange(n), ndays)
    pair_day = np.fromiter(itertools.chain.from_iterable(t.days for t in types), np.int64, int(ndays.sum()))
    pair_key = key[pair_col]
    plen = lens[pair_key] if len(lens) else np.zeros(len(pair_key), np.int64)
    total = int(plen.sum())
    pair = np.repeat(np.arange(len(pair_key)), plen)
    within = np.arange(total) - np.repeat(np.cumsum(plen) - plen, plen)
    src = ptr[pair_key][pair] + within
    rows = idx[src] + pair_day[pair] * spd
    cols = pair_col[pair]
    vals = val[src]
    if problem.wrap:
        rows = rows % n_slots
    else:
        inside = rows < n_slots
        rows, cols, vals = rows[inside], cols[inside], vals[inside]
    return sparse.coo_matrix((vals, (rows, cols)), shape=(n_slots, n)).tocsr()


def uncoverable_slots(problem: CoverProblem) -> np.ndarray:
    """Slots no shift type can ever cover (e.g. a night no start time reaches): bool per slot."""
    a = coverage_matrix(problem, enumerate_shift_types(problem))
    return np.asarray(abs(a).sum(axis=1)).reshape(-1) <= EPS


# ---------------------------------------------------------------------------- solving


def _costs(problem: CoverProblem, types: list[ShiftType]) -> np.ndarray:
    paid = {t.name: t.paid_seconds / 3600.0 for t in problem.templates}
    return np.array([paid[t.template] * len(t.days) for t in types], dtype=float) * problem.cost_per_paid_hour


def _side(problem: CoverProblem, types: list[ShiftType], extra: int) -> tuple[sparse.csr_matrix, np.ndarray] | None:
    """max_share and max_agents rows, as (rows, upper bounds): rows x <= ub (the `extra`
    shortfall variables are not agents)."""
    names = np.array([t.template for t in types])
    rows, ub = [], []
    for t in problem.templates:
        if t.max_share is not None:
            rows.append((names == t.name).astype(float) - t.max_share)
            ub.append(0.0)
    if problem.max_agents is not None:
        rows.append(np.ones(len(types)))
        ub.append(float(problem.max_agents))
    if not rows:
        return None
    m = np.hstack([np.vstack(rows), np.zeros((len(rows), extra))])
    return sparse.csr_matrix(m), np.array(ub)


def solve_cover(problem: CoverProblem, *, time_limit: float = 20.0, mip_rel_gap: float = 0.01,
                start: dict[ShiftType, int] | None = None) -> CoverSolution:  # fmt: skip
    """The cheapest integer roster covering `problem.requirement`; see the module docstring.
    `start`: a roster to begin from (e.g. the previous round's before a requirement was
    raised); it is repaired to cover, and the MILP starts from the cheaper of it and the
    repaired LP rounding."""
    t0 = time.perf_counter()
    types = enumerate_shift_types(problem)
    a = coverage_matrix(problem, types).tocsr()
    c = _costs(problem, types)
    n, req = len(types), problem.requirement

    def left() -> float:
        return max(time_limit - (time.perf_counter() - t0), 1e-3)

    unreachable = np.asarray(abs(a).sum(axis=1)).reshape(-1) <= EPS
    target = np.where(unreachable, 0.0, req)
    side = _side(problem, types, 0)
    x, status, bound = None, "no_solution", float("nan")
    relaxed = run_highs(c, a, target, side, False, left(), 0.0)
    lp = relaxed.bound
    if relaxed.x is not None:  # the LP relaxation is feasible: the integer program, from a good start
        begin = repair(a, c, target, side, relaxed.x)
        if start:
            index = {st: i for i, st in enumerate(types)}
            prev = np.zeros(n)
            for st, k in start.items():
                if st in index:
                    prev[index[st]] = k
            prev = repair(a, c, target, side, prev)
            if covers(a, target, side, prev) and (not covers(a, target, side, begin) or c @ prev < c @ begin):
                begin = prev
        run = run_highs(c, a, target, side, True, left(), mip_rel_gap, begin if covers(a, target, side, begin) else None)
        if run.x is not None:
            x, bound = np.round(run.x), run.bound
            status = "optimal" if run.optimal else "time_limit"
    if x is None:  # infeasible (or no roster found in time): allow a penalised shortfall
        penalty = PENALTY * max(float(c.max(initial=0.0)), 1.0)
        c2 = np.concatenate([c, np.full(len(req), penalty)])
        a2 = sparse.hstack([a, sparse.identity(len(req), format="csr")], format="csr")
        side2 = _side(problem, types, len(req))
        run = run_highs(c2, a2, req, side2, True, max(left(), 1.0), mip_rel_gap)
        if run.x is not None:
            x = np.round(run.x[:n])
            status = "optimal" if run.optimal else "time_limit"
            target = np.minimum(req, a @ x)  # what this roster meets: its LP bound is on that
            lp = run_highs(c, a, target, side, False, max(left(), 1.0), 0.0).bound
            bound = lp
    if x is None:
        x = np.zeros(n)
    counts = {types[i]: int(x[i]) for i in np.flatnonzero(np.round(x))}
    best = max(lp, bound) if np.isfinite(bound) else lp  # the MILP's dual bound is at least the LP's
    return solution_from_counts(problem, counts, lp_bound=lp, bound=best, status=status,
                                seconds=time.perf_counter() - t0, types=types, matrix=a)  # fmt: skip


def solution_from_counts(problem: CoverProblem, counts: dict[ShiftType, int], *, lp_bound: float, bound: float,
                         status: str, seconds: float, types: list[ShiftType] | None = None,
                         matrix: sparse.csr_matrix | None = None) -> CoverSolution:  # fmt: skip
    """A roster's coverage, cost, shortfall and gap (also for a roster read back from a file)."""
    types = types if types is not None else enumerate_shift_types(problem)
    a = matrix if matrix is not None else coverage_matrix(problem, types).tocsr()
    index = {st: i for i, st in enumerate(types)}
    x = np.zeros(len(types))
    for st, k in counts.items():
        x[index[st]] = k
    coverage = np.asarray(a @ x, dtype=float).reshape(-1)
    short = problem.requirement - coverage
    short = np.where(short > SHORT_TOL, short, 0.0)
    if short.any() and status != "no_solution":
        status = "short"
    cost = float(_costs(problem, types) @ x)
    gap = (cost - bound) / cost if cost > 0 else 0.0
    return CoverSolution(dict(counts), coverage, cost, lp_bound, max(gap, 0.0) if not np.isnan(gap) else gap,
                         status, len(types), seconds, short, bound)  # fmt: skip
