"""HiGHS for the roster covering problem: the solver through highspy, and the starting roster.

scipy.optimize.milp runs the same solver but takes no starting solution; on a week of hourly
starts its incumbent after 10 s was 30-50% above the bound on small pools. Here the MILP starts
from the LP optimum rounded down and repaired greedily (`repair`), so a time limit never leaves
a poor roster.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

SHORT_TOL = 1e-6  # a slot is short when coverage falls below requirement by more than this

_BANNER_SHOWN = False


def _newrun_highs() -> highspy.Highs:
    """A solver. HiGHS 1.16 prints its banner to stdout (C level) when the first one is made,
    before any option can be set: that once, stdout is pointed at /dev/null."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True
    return h


@dataclass
class HighsRun:
    x: np.ndarray | None  # the best solution found (None: none)
    optimal: bool  # proven within the gap
    bound: float  # the solver's best lower bound (the LP optimum for an LP)


def run_highs(c: np.ndarray, a: sparse.csr_matrix, lb: np.ndarray, side, integral: bool, time_limit: float,
           gap: float, start: np.ndarray | None = None) -> HighsRun:  # fmt: skip
    """min c x  s.t.  a x >= lb (rows with lb > 0 only), side rows <= ub, x >= 0 (integer if
    `integral`), by HiGHS through highspy, which (unlike scipy.optimize.milp) takes a starting
    roster: the repaired rounding of the LP, so the time limit never leaves a poor incumbent."""
    need = np.flatnonzero(lb > 0)
    blocks, lo, hi = [a[need]], [lb[need]], [np.full(len(need), highspy.kHighsInf)]
    if side is not None:
        blocks.append(side[0])
        lo.append(np.full(side[0].shape[0], -highspy.kHighsInf))
        hi.append(side[1])
    rows = sparse.vstack(blocks).tocsc()
    n = len(c)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, rows.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=float)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.full(n, highspy.kHighsInf)
    lp.row_lower_, lp.row_upper_ = np.concatenate(lo), np.concatenate(hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = rows.indptr, rows.indices, rows.data
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = _newrun_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 1e-3))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = [float(v) for v in start]
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    found = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.array(h.getSolution().col_value, dtype=float) if found else None
    optimal = status == highspy.HighsModelStatus.kOptimal
    bound = info.mip_dual_bound if integral else info.objective_function_value
    return HighsRun(x, optimal, float(bound) if found or optimal else float("nan"))


def repair(a: sparse.csr_matrix, c: np.ndarray, lb: np.ndarray, side, x: np.ndarray) -> np.ndarray:
    """A covering integer roster near `x`: rounded down, then the shift type that covers most
    of what is still short per unit cost added one agent at a time (never breaking a side row),
    then agents the cover does not need taken off, dearest first. Fast, and usually a few per
    cent above the optimum: the MILP's start."""
    x = np.floor(np.maximum(x, 0.0) + 1e-9)
    S, ub = side if side is not None else (None, None)

    def side_ok(v: np.ndarray) -> bool:
        return S is None or bool((S @ v <= ub + 1e-9).all())

    if not side_ok(x):
        x = np.zeros_like(x)
    cols = a.tocsc()
    s_cols = S.tocsc() if S is not None else None
    short = lb - a @ x
    while (short > SHORT_TOL).any():
        gain = np.asarray(cols.T @ np.minimum(np.maximum(short, 0.0), 1.0)).reshape(-1) / np.maximum(c, 1e-12)
        if s_cols is not None:  # adding one agent of type i must keep every side row <= ub
            over = (s_cols.T.toarray() > (ub - S @ x)[None, :] + 1e-9).any(axis=1)
            gain[over] = -1.0
        i = int(np.argmax(gain))
        if gain[i] <= 0:
            break  # nothing helps (an unreachable slot or a binding cap): the MILP decides
        x[i] += 1
        short = lb - a @ x
    for i in np.argsort(-c, kind="stable"):
        while x[i] > 0:
            x[i] -= 1
            if (lb - a @ x > SHORT_TOL).any() or not side_ok(x):
                x[i] += 1
                break
    return x


def covers(a: sparse.csr_matrix, lb: np.ndarray, side, x: np.ndarray) -> bool:
    ok = not (lb - a @ x > SHORT_TOL).any()
    return ok and (side is None or bool((side[0] @ x <= side[1] + 1e-9).all()))
