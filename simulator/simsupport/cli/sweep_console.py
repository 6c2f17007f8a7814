"""The tables `simsupport sweep` prints: the overall figures per point, every channel per point,
each point's headcount per pool, and each policy against the reference.

A planner compares points by their channels and by who is on duty, not by a multiplier: the
headcounts are printed as the scenario each point ran, and differences of two percentages are
in percentage points ("pp"), never "%" (a +2% service level could mean 90% -> 92% or 90% ->
91.8%).
"""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table

from ..experiment.spec import Experiment, Point
from ..experiment.statistics import mean_ci95
from ..experiment.sweep import SweepRun
from ..outputs.sweep_tables import comparison_frame, label_value, replication_frame
from ..staffing.variables import decision_variables
from ..units import format_duration
from .console import console, fmt_s, pct

LIMIT = 40  # points per table; the rest are in points.csv / points_long.csv


def pp(v: float, signed: bool = False) -> str:
    """A difference of two shares in percentage points: 0.021 -> "2.1 pp" ("+2.1 pp" signed)."""
    if v is None or math.isnan(v):
        return "-"
    return f"{100 * v:{'+' if signed else ''}.1f} pp"


def signed_s(v: float) -> str:
    """A difference of two durations: -12.5 -> "-12.5s", 90 -> "+1min 30s"."""
    if v is None or math.isnan(v):
        return "-"
    sign = "-" if v < 0 else "+"
    return sign + (format_duration(abs(v)) if abs(v) >= 1 else f"{abs(v):.1f}s")


def _stat(res: dict[int, dict[str, Any]], metric: str) -> tuple[float, float]:
    vals = [r["metrics"].get(metric) for r in res.values()]
    return mean_ci95([v for v in vals if v is not None])


def _rows(exp: Experiment, limit: int) -> tuple[list[Point], int]:
    return exp.points[:limit], max(len(exp.points) - limit, 0)


def print_points(exp: Experiment, result: SweepRun, limit: int = LIMIT) -> None:
    """One line per point: the overall figures a planner compares first."""
    table = Table(title=f"{exp.spec.name}: overall, mean ±95% CI", title_justify="left")
    for col in ("point", "reps", "service level", "ASA", "abandon", "occupancy"):
        table.add_column(col, justify="left" if col == "point" else "right")
    points, more = _rows(exp, limit)
    for p in points:
        res = result.results[p.index]
        sl, sl_h = _stat(res, "overall.all.service_level")
        table.add_row(p.label, str(len(res)), pct(sl) + _half(sl_h, pp), fmt_s(_stat(res, "overall.all.asa_s")[0]),
                      pct(_stat(res, "overall.all.abandon_rate")[0]), pct(_stat(res, "overall.all.occupancy")[0]))  # fmt: skip
    if more:
        table.add_row(f"... {more} more in points.csv", "", "", "", "", "")
    console().print(table)


def print_channels(exp: Experiment, result: SweepRun, limit: int = LIMIT) -> None:
    """Every channel at every point: service level (±95% CI), ASA and abandon rate; a row per
    channel, the point named on its first (all of it, CIs too, is in points_long.csv)."""
    chans = list(exp.points[0].scenario.channels) if exp.points else []
    table = Table(title=f"{exp.spec.name}: per channel, mean ±95% CI", title_justify="left")
    for col in ("point", "channel", "service level", "ASA", "abandon"):
        table.add_column(col, justify="left" if col in ("point", "channel") else "right")
    points, more = _rows(exp, limit)
    for p in points:
        res = result.results[p.index]
        for i, ch in enumerate(chans):
            sl, sl_h = _stat(res, f"by_channel.{ch}.service_level")
            asa, ab = (_stat(res, f"by_channel.{ch}.{m}")[0] for m in ("asa_s", "abandon_rate"))
            table.add_row(p.label if i == 0 else "", ch, pct(sl) + _half(sl_h, pp), fmt_s(asa), pct(ab),
                          end_section=i == len(chans) - 1)  # fmt: skip
    if more:
        table.add_row(f"... {more} more in points_long.csv", "", "", "", "")
    console().print(table)


def headcounts(p: Point) -> dict[str, str]:
    """Agents per pool as the point's scenario has them: `agents`, or a pool's shifts joined by
    "+" (the shifts' own headcounts, in the order the scenario lists them)."""
    by_pool: dict[str, list[int]] = {}
    for v in decision_variables(p.scenario):
        by_pool.setdefault(v.pool, []).append(v.current)
    return {pool: "+".join(str(n) for n in ns) for pool, ns in by_pool.items()}


def print_headcounts(exp: Experiment, limit: int = LIMIT) -> None:
    """Each point's headcount per pool (a `staffing` multiplier says less than the agents it
    rounds to, shift by shift); pools whose headcount no point changes are listed once below."""
    if not exp.points:
        return
    counts = [headcounts(p) for p in exp.points]
    pools = list(counts[0])
    varied = [name for name in pools if len({c.get(name) for c in counts}) > 1]
    fixed = [name for name in pools if name not in varied]
    table = Table(title=f"{exp.spec.name}: agents per pool (a pool's shifts joined by +)", title_justify="left")
    table.add_column("point", justify="left")
    for name in varied:
        table.add_column(name, justify="right")
    points, more = _rows(exp, limit)
    for p, c in zip(points, counts):
        table.add_row(p.label, *(c.get(name, "-") for name in varied))
    if more:
        table.add_row(f"... {more} more", *[""] * len(varied))
    say = console()
    if varied:
        say.print(table)
    if fixed:
        say.print("the same at every point: " + ", ".join(f"{name} {counts[0][name]}" for name in fixed))


def print_comparisons(exp: Experiment, result: SweepRun, limit: int = LIMIT) -> None:
    """Each policy minus the reference policy at the same other swept values, paired by
    replication: per channel the service level difference in percentage points and the ASA
    difference, with their 95% CIs (comparisons.csv has every metric)."""
    if "policy" not in exp.dims:
        return
    comps = comparison_frame(exp, replication_frame(exp, result))
    if comps.empty:
        return
    chans = list(exp.points[0].scenario.channels)
    others = [d for d in exp.dims if d != "policy"]
    ref = comps["reference"].iloc[0]
    table = Table(title=f"{exp.spec.name}: each policy minus {ref}, paired by replication, ±95% CI",
                  title_justify="left")  # fmt: skip
    for col in ("point", "channel", "service level", "ASA"):
        table.add_column(col, justify="left" if col in ("point", "channel") else "right")
    shown = 0
    for p in exp.points:
        if p.labels.get("policy") == ref or shown >= limit:
            continue
        mine = comps["policy"] == p.labels.get("policy")
        for d in others:
            mine &= comps[d] == label_value(p.labels.get(d))
        by = comps[mine].set_index("metric")
        if by.empty:
            continue
        shown += 1
        for i, ch in enumerate(chans):
            sl = by.loc[f"by_channel.{ch}.service_level"] if f"by_channel.{ch}.service_level" in by.index else None
            asa = by.loc[f"by_channel.{ch}.asa_s"] if f"by_channel.{ch}.asa_s" in by.index else None
            table.add_row(
                p.label if i == 0 else "", ch,
                "-" if sl is None else pp(sl["difference"], signed=True) + _half(sl["ci95"], pp),
                "-" if asa is None else signed_s(asa["difference"]) + _half(asa["ci95"], fmt_s),
                end_section=i == len(chans) - 1,
            )  # fmt: skip
    console().print(table)


def _half(h: float, fmt: Any) -> str:
    return "" if h is None or math.isnan(h) else f" ±{fmt(h)}"


def print_sweep(exp: Experiment, result: SweepRun, limit: int = LIMIT) -> None:
    """Every table above, in the order a planner reads them."""
    print_points(exp, result, limit)
    print_channels(exp, result, limit)
    print_headcounts(exp, limit)
    print_comparisons(exp, result, limit)
