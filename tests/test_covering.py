"""The roster covering integer program (simsupport.staffing.covering): exact optimum against brute
force on tiny instances, and the closed-form cases (flat requirement, 5x2 days off), breaks,
shares, shortfall and wrap-around."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from simsupport.staffing.covering import (
    BreakSpec,
    CoverProblem,
    CoverSolution,
    ShiftType,
    TemplateSpec,
    _costs,
    _side,
    coverage_matrix,
    enumerate_shift_types,
    solve_cover,
    uncoverable_slots,
)
from simsupport.staffing.highs import repair as _repair
from simsupport.staffing.highs import run_highs as _highs

H = 3600.0
DAY = 86400.0


def _brute(problem: CoverProblem, bound: int) -> float:
    """Minimum cost over every count vector with entries 0..bound meeting every constraint."""
    types = enumerate_shift_types(problem)
    a = coverage_matrix(problem, types).toarray()
    cost = np.array([t.paid_hours(problem) for t in types]) * problem.cost_per_paid_hour
    grid = np.array(list(itertools.product(range(bound + 1), repeat=len(types))), dtype=np.int16)
    ok = np.all(grid @ a.T >= problem.requirement - 1e-9, axis=1)
    total = grid.sum(axis=1)
    names = np.array([t.template for t in types])
    for t in problem.templates:
        if t.max_share is not None:
            ok &= grid[:, names == t.name].sum(axis=1) <= t.max_share * total + 1e-9
    if problem.max_agents is not None:
        ok &= total <= problem.max_agents
    assert ok.any()
    return float((grid[ok] @ cost).min())


def _tiny(seed: int, **kw) -> CoverProblem:
    """1 day of 1-hour slots; an 8 h shift with a 1 h lunch at 3 h or 4 h, and a 6 h shift."""
    rng = np.random.default_rng(seed)
    templates = (
        TemplateSpec("full", 8 * H, (BreakSpec(H, (3 * H, 4 * H)),), kw.pop("share_full", None)),
        TemplateSpec("part", 6 * H, max_share=kw.pop("share_part", None)),
    )
    return CoverProblem(H, rng.integers(0, 4, 24), templates, (0.0, 8 * H, 16 * H), "none", **kw)


@pytest.mark.parametrize("seed", range(5))
def test_matches_brute_force(seed: int) -> None:
    p = _tiny(seed)
    sol = solve_cover(p)
    assert sol.status == "optimal"
    assert sol.variables == 9
    # an optimal count never exceeds the largest requirement (coverage is 0/1 here: one fewer
    # agent on a type whose count tops the requirement of every slot it covers stays feasible)
    assert sol.cost == pytest.approx(_brute(p, int(p.requirement.max())))
    assert np.all(sol.coverage >= p.requirement - 1e-9) and not sol.short.any()
    assert 0 <= sol.gap < 1 and sol.lp_bound <= sol.cost + 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_matches_brute_force_with_share_and_cap(seed: int) -> None:
    p = _tiny(seed, share_part=0.4, cost_per_paid_hour=20.0)
    sol = solve_cover(p)
    assert sol.status == "optimal"
    assert sol.cost == pytest.approx(_brute(p, int(p.requirement.max())))
    part = sum(k for t, k in sol.counts.items() if t.template == "part")
    assert part <= 0.4 * sol.agents + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_matches_brute_force_with_half_slot_breaks(seed: int) -> None:
    # a 30-min lunch on a 1-hour grid leaves half an agent in that slot
    rng = np.random.default_rng(100 + seed)
    templates = (TemplateSpec("long", 12 * H, (BreakSpec(1800, (5.5 * H, 6 * H)),)), TemplateSpec("part", 6 * H))
    p = CoverProblem(H, rng.integers(0, 3, 24), templates, (0.0, 12 * H), cost_per_paid_hour=3.0)
    a = coverage_matrix(p, enumerate_shift_types(p)).toarray()
    assert set(np.unique(a)) == {0.0, 0.5, 1.0}
    sol = solve_cover(p)
    assert sol.status == "optimal"
    # one fewer agent on a type is still feasible once its count exceeds 2 x the requirement
    assert sol.cost == pytest.approx(_brute(p, 2 * int(p.requirement.max())))
    assert np.all(sol.coverage >= p.requirement - 1e-9)


def test_flat_requirement_with_a_24h_template_needs_exactly_k() -> None:
    k = 13  # e.g. the Erlang C number for the interval, passed flat
    for start in (0.0, 6 * H):  # a start other than midnight relies on the week wrapping
        p = CoverProblem(900, np.full(7 * 96, float(k)), (TemplateSpec("24h", DAY),), (start,))
        sol = solve_cover(p)
        assert sol.status == "optimal" and sol.agents == k
        assert sol.cost == pytest.approx(k * 24 * 7)
        assert np.allclose(sol.coverage, k)


def test_five_two_needs_seven_agents_for_five_a_day() -> None:
    req = np.zeros((7, 24))
    req[:, 9:17] = 5  # 5 agents 09:00-17:00 every day
    p = CoverProblem(H, req.reshape(-1), (TemplateSpec("day", 8 * H),), (9 * H,), "5x2")
    types = enumerate_shift_types(p)
    assert len(types) == 7 and {t.first_day for t in types} == set(range(7))
    assert {t.days for t in types if t.first_day == 5} == {(0, 1, 2, 5, 6)}
    sol = solve_cover(p)
    assert sol.status == "optimal"
    assert sol.agents == 7  # each works 5 of 7 days: 7 x 5 / 7 = 5 a day
    assert sol.cost == pytest.approx(7 * 5 * 8)
    assert sol.lp_bound == pytest.approx(sol.cost) and sol.gap == pytest.approx(0, abs=1e-9)


def test_max_share_is_respected() -> None:
    # the part-time shift is cheaper per covered hour for a short peak; cap it at 25 %
    req = np.zeros(96)
    req[36:52] = 8  # 09:00-13:00
    req[32:36] = req[52:64] = 2
    templates = (TemplateSpec("full", 8 * H), TemplateSpec("part", 4 * H, max_share=0.25))
    free = solve_cover(CoverProblem(900, req, (templates[0], TemplateSpec("part", 4 * H)), (8 * H, 9 * H)))
    sol = solve_cover(CoverProblem(900, req, templates, (8 * H, 9 * H)))

    def share(s: CoverSolution) -> float:
        return sum(k for t, k in s.counts.items() if t.template == "part") / s.agents

    assert share(free) > 0.25
    assert share(sol) <= 0.25 + 1e-9 and sol.cost > free.cost
    assert np.all(sol.coverage >= req - 1e-9)


def test_breaks_reduce_coverage_exactly_and_fractionally() -> None:
    tpl = TemplateSpec("t", 8 * H, (BreakSpec(1800, (4 * H, 4 * H + 600)),))
    p = CoverProblem(900, np.zeros(96), (tpl,), (8 * H,))
    aligned = ShiftType("t", 8 * H, (4 * H,), 0, (0,))
    skewed = ShiftType("t", 8 * H, (4 * H + 600,), 0, (0,))
    cov = coverage_matrix(p, [aligned, skewed]).toarray()
    lunch = slice(48, 50)  # 12:00-12:30 on the 15-min grid
    assert np.all(cov[lunch, 0] == 0) and np.all(cov[32:48, 0] == 1) and np.all(cov[50:64, 0] == 1)
    assert cov[:, 0].sum() == 30  # 7.5 h on duty
    # a lunch 12:10-12:40: 2/3 of 12:00-12:15, none of 12:15-12:30, 1/3 of 12:30-12:45
    assert cov[48:51, 1] == pytest.approx([2 / 3, 0, 1 / 3])
    assert cov[:, 1].sum() == pytest.approx(30)
    assert set(enumerate_shift_types(p)) == {aligned, skewed}
    # unpaid lunch is not paid, a paid one is
    assert aligned.paid_hours(p) == 7.5
    paid = CoverProblem(900, np.zeros(96), (TemplateSpec("t", 8 * H, (BreakSpec(1800, (4 * H,), paid=True),)),), (8 * H,))
    assert aligned.paid_hours(paid) == 8.0


@pytest.mark.parametrize("wrap", [True, False])
def test_coverage_matrix_matches_minute_by_minute(wrap: bool) -> None:
    tpl = TemplateSpec("t", 9.5 * H, (BreakSpec(600, (7200.0, 9000.0)), BreakSpec(2400, (4 * H + 420, 5 * H))))
    p = CoverProblem(1800, np.zeros(7 * 48), (tpl, TemplateSpec("u", 5 * H)),
                     (0.0, 7 * H + 660, 20 * H, 23.5 * H), "4x3", wrap=wrap)  # fmt: skip
    types = enumerate_shift_types(p)
    a = coverage_matrix(p, types).toarray()
    minutes = 7 * 1440
    for i, t in enumerate(types):
        on = np.zeros(minutes)
        length = int(p.template(t.template).length // 60)
        spans = zip(t.break_offsets, p.template(t.template).breaks)
        off = {int(o // 60) + m for o, b in spans for m in range(int(b.length // 60))}
        for d in t.days:
            for m in range(length):
                at = d * 1440 + int(t.start // 60) + m
                if m not in off and (wrap or at < minutes):
                    on[at % minutes] += 1
        assert a[:, i] == pytest.approx(on.reshape(-1, 30).mean(axis=1)), t


def test_overlapping_break_offsets_are_skipped() -> None:
    tpl = TemplateSpec("t", 8 * H, (BreakSpec(900, (2 * H, 4 * H)), BreakSpec(1800, (4 * H, 5 * H))))
    p = CoverProblem(900, np.zeros(96), (tpl,), (0.0,))
    assert sorted(t.break_offsets for t in enumerate_shift_types(p)) == [(2 * H, 4 * H), (2 * H, 5 * H), (4 * H, 5 * H)]


def test_uncoverable_night_is_reported_short() -> None:
    req = np.full(96, 2.0)
    p = CoverProblem(900, req, (TemplateSpec("day", 8 * H),), (8 * H, 9 * H, 10 * H))
    night = np.ones(96, bool)
    night[32:72] = False  # 08:00-18:00 is reachable
    assert np.array_equal(uncoverable_slots(p), night)
    sol = solve_cover(p)
    assert sol.status == "short"
    assert np.array_equal(sol.short > 0, night) and np.allclose(sol.short[night], 2)
    assert np.all(sol.coverage[~night] >= 2)
    assert sol.agents == 4 and sol.cost == pytest.approx(32)  # 08:00 and 10:00 starts, 2 each
    assert sol.lp_bound <= sol.cost + 1e-6


def test_max_agents_too_small_returns_the_best_short_roster() -> None:
    p = CoverProblem(H, np.full(24, 3.0), (TemplateSpec("24h", DAY),), (0.0,), max_agents=2)
    assert not uncoverable_slots(p).any()
    sol = solve_cover(p)
    assert sol.status == "short" and sol.agents == 2
    assert np.allclose(sol.short, 1) and np.allclose(sol.coverage, 2)
    assert sol.lp_bound == pytest.approx(sol.cost) and 0 <= sol.gap < 1


def test_shortfall_prefers_covering_more_then_cheaper() -> None:
    # one agent allowed, two needed: the 12 h shift leaves less uncovered than the cheaper 6 h one
    templates = (TemplateSpec("long", 12 * H), TemplateSpec("short", 6 * H))
    req = np.zeros(24)
    req[8:20] = 2
    sol = solve_cover(CoverProblem(H, req, templates, (8 * H,), max_agents=1))
    assert sol.status == "short" and [t.template for t in sol.counts] == ["long"]
    assert np.allclose(sol.short[8:20], 1) and sol.short.sum() == pytest.approx(12)
    # when both leave the same shortfall, the cheaper one
    req[14:20] = 0
    sol = solve_cover(CoverProblem(H, req, templates, (8 * H,), max_agents=1))
    assert sol.status == "short" and [t.template for t in sol.counts] == ["short"]
    assert sol.cost == pytest.approx(6) and sol.lp_bound <= sol.cost + 1e-6


def test_wrap_around_covers_the_first_morning() -> None:
    p = CoverProblem(900, np.zeros(7 * 96), (TemplateSpec("night", 8 * H),), (22 * H,), "5x2")
    last = ShiftType("night", 22 * H, (), 2, (2, 3, 4, 5, 6))
    col = coverage_matrix(p, [last]).toarray()[:, 0]
    assert np.all(col[:24] == 1) and col[24] == 0  # Monday 00:00-06:00 from Sunday 22:00
    assert np.all(col[6 * 96 + 88:] == 1)
    assert col.sum() == 5 * 32
    flat = CoverProblem(900, np.zeros(7 * 96), p.templates, p.starts, "5x2", wrap=False)
    col = coverage_matrix(flat, [last]).toarray()[:, 0]
    assert not col[:24].any() and col.sum() == 4 * 32 + 8

    req = np.zeros(7 * 96)
    req[:24] = 1  # only Monday 00:00-06:00 needs someone: only a Sunday 22:00 start reaches it
    sol = solve_cover(CoverProblem(900, req, p.templates, p.starts, "5x2"))
    assert sol.status == "optimal" and sol.agents == 1
    assert 6 in next(iter(sol.counts)).days
    short = solve_cover(CoverProblem(900, req, p.templates, p.starts, "5x2", wrap=False))
    assert short.status == "short" and np.allclose(short.short[:24], 1)


def test_lp_bound_and_gap() -> None:
    # an odd cycle: three 16 h shifts each cover two of the day's three 8 h blocks, so the LP
    # takes half an agent on each (1.5 x 16 h) while a roster needs two agents (32 h)
    p = CoverProblem(H, np.ones(24), (TemplateSpec("t", 16 * H),), (0.0, 8 * H, 16 * H))
    sol = solve_cover(p)
    assert sol.status == "optimal" and sol.agents == 2
    assert sol.cost == pytest.approx(32) and sol.lp_bound == pytest.approx(24)
    assert sol.lp_gap == pytest.approx(0.25)  # against the LP relaxation
    assert sol.bound == pytest.approx(32) and sol.gap == 0  # the MILP proved 32 optimal
    assert sol.lp_bound <= sol.bound <= sol.cost and 0 <= sol.gap < 1


def test_days_off_rotations_and_validation() -> None:
    tpl = (TemplateSpec("t", 8 * H),)
    two_weeks = CoverProblem(H, np.zeros(14 * 24), tpl, (0.0,), "5x2")
    assert [len(t.days) for t in enumerate_shift_types(two_weeks)] == [10] * 7
    # on a one-day horizon the rotations reduce to "works day 0" (off-only ones are dropped)
    assert [t.days for t in enumerate_shift_types(CoverProblem(H, np.zeros(24), tpl, (0.0,), "4x3"))] == [(0,)]
    for bad in (
        {"days_off": "5-2"},
        {"slot": 7 * 60.0},
        {"requirement": np.zeros(25)},
        {"starts": (DAY,)},
        {"templates": (TemplateSpec("t", H, (BreakSpec(1800, (H - 900,)),)),)},
        {"requirement": -np.ones(24)},
    ):
        args = {"slot": H, "requirement": np.zeros(24), "templates": tpl, "starts": (0.0,)} | bad
        with pytest.raises(ValueError):
            CoverProblem(**args)


def test_building_a_week_is_fast() -> None:
    templates = (
        TemplateSpec("full", 8.5 * H, (BreakSpec(1800, (3.5 * H, 4 * H, 4.5 * H)),)),
        TemplateSpec("eight", 8 * H),
        TemplateSpec("part", 4 * H, max_share=0.3),
    )
    p = CoverProblem(900, np.ones(7 * 96), templates, tuple(np.arange(48) * 1800.0), "5x2")
    t0 = time.perf_counter()
    a = coverage_matrix(p, enumerate_shift_types(p))
    assert a.shape == (672, 5 * 48 * 7)
    assert time.perf_counter() - t0 < 2.0  # typically ~0.05 s; generous for a busy machine
    assert np.allclose(a.sum(axis=0), np.repeat([8 * 4 * 5, 8 * 4 * 5, 4 * 4 * 5], [3 * 48 * 7, 48 * 7, 48 * 7]))


def test_nothing_required_needs_nobody() -> None:
    sol = solve_cover(CoverProblem(H, np.zeros(24), (TemplateSpec("t", 8 * H),), (0.0,)))
    assert sol.status == "optimal" and sol.counts == {} and sol.cost == 0 and sol.gap == 0
    assert not sol.coverage.any() and not sol.short.any()
    none = solve_cover(CoverProblem(H, np.ones(24), (TemplateSpec("t", 8 * H),), (0.0,), max_agents=0))
    assert none.status == "short" and none.counts == {} and np.allclose(none.short, 1)


@pytest.mark.parametrize("seed", range(4))
def test_the_repaired_rounding_covers_within_the_shares(seed: int) -> None:
    """The MILP's start: the LP optimum rounded down, then repaired, covers every slot and keeps
    every max_share; and a start given to solve_cover leads to the same optimum."""
    p = _tiny(seed, share_part=0.5)
    types = enumerate_shift_types(p)
    a = coverage_matrix(p, types).tocsr()
    c = _costs(p, types)
    side = _side(p, types, 0)
    lp = _highs(c, a, p.requirement, side, False, 10.0, 0.0)
    x = _repair(a, c, p.requirement, side, lp.x)
    assert (x == np.round(x)).all() and (x >= 0).all()
    assert (a @ x >= p.requirement - 1e-9).all()
    part = np.array([t.template == "part" for t in types])
    assert x[part].sum() <= 0.5 * x.sum() + 1e-9
    assert c @ x >= lp.bound - 1e-9
    best = solve_cover(p)
    again = solve_cover(p, start=best.counts)
    assert again.cost == pytest.approx(best.cost) == pytest.approx(_brute(p, 3))
    assert best.lp_bound <= best.bound + 1e-9 <= best.cost + 1e-9
