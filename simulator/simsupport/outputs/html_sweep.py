"""The report of `simsupport sweep`: what was run, warnings (failed tasks, precision not
reached), every point with every pool's headcount and the overall figures, a tidy table of
point x channel, each channel's SLA per point (pass/fail), the policy comparisons and the
curves the sweep drew."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..config.schema import Pool
from ..experiment.spec import Experiment
from ..experiment.statistics import mean_ci95
from ..experiment.sweep import SweepRun
from ..units import format_duration
from .html import PP, SECONDS, SHARE, Column, Facts, Page, Section, Table
from .html_pages import (
    AT_LEAST,
    RULE_MEAN,
    now_text,
    plots_section,
    share_range,
    straddles,
    target_callout,
    target_table,
    warnings_section,
)
from .summary import scenario_hash
from .sweep_tables import comparison_frame, replication_frame


def headcount(pool: Pool) -> int | None:
    """Agents of a pool as the point sets them: `agents`, or the sum over its shifts."""
    if isinstance(pool.shifts, list):
        return sum(sh.agents for sh in pool.shifts)
    return pool.agents


def _stat(res: dict[int, dict[str, Any]], metric: str) -> tuple[float, float]:
    vals = [r["metrics"].get(metric) for r in res.values()]
    return mean_ci95([float(v) for v in vals if v is not None])


def _label(v: Any) -> Any:
    return v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else str(v)


def point_rows(exp: Experiment, run: SweepRun) -> tuple[list[dict[str, Any]], list[Column]]:
    """One row per point: its swept values, every pool's headcount, the overall figures."""
    pools = list(dict.fromkeys(p.name for pt in exp.points for p in pt.scenario.pools))
    rows = []
    for p in exp.points:
        res = run.results.get(p.index, {})
        row: dict[str, Any] = {"point": p.index, **{f"dim:{d}": _label(p.labels.get(d)) for d in exp.dims}}
        by_name = {pool.name: pool for pool in p.scenario.pools}
        row.update({f"pool:{n}": headcount(by_name[n]) if n in by_name else None for n in pools})
        row["agents"] = sum(v for n in pools if (v := row[f"pool:{n}"]) is not None)
        row["replications"] = len(res)
        for m in ("service_level", "asa_s", "abandon_rate", "occupancy"):
            row[m], half = _stat(res, f"overall.all.{m}")
            if m == "service_level":
                row["sl_lo"], row["sl_hi"] = share_range(row[m], half)
        rows.append(row)
    numeric = {d: all(isinstance(r[f"dim:{d}"], (int, float)) for r in rows) for d in exp.dims}
    cols = [Column("point", "#", ""),
            *(Column(f"dim:{d}", d, "" if numeric[d] else None) for d in exp.dims),
            *(Column(f"pool:{n}", f"{n}", "agents") for n in pools), Column("agents", "all pools", "agents"),
            Column("replications", "reps", ""), Column("service_level", "service level", SHARE),
            Column("sl_lo", "95% CI", SHARE, range_to="sl_hi"), Column("asa_s", "ASA", SECONDS),
            Column("abandon_rate", "abandoned", SHARE), Column("occupancy", "occupancy", SHARE)]  # fmt: skip
    return rows, cols


CHANNEL_COLUMNS = (
    Column("point", "#", ""), Column("label", "point"), Column("channel"), Column("offered", "offered", "contacts"),
    Column("service_level", "service level", SHARE), Column("sl_lo", "95% CI", SHARE, range_to="sl_hi"),
    Column("goal", "SLA goal", SHARE), Column("asa_s", "ASA", SECONDS), Column("wait_p90_s", "p90 wait", SECONDS),
    Column("abandon_rate", "abandoned", SHARE), Column("occupancy", "occupancy", SHARE),
)  # fmt: skip


def channel_rows(exp: Experiment, run: SweepRun) -> list[dict[str, Any]]:
    """Tidy: one row per point and channel (points.csv is one row per point and metric)."""
    rows = []
    for p in exp.points:
        res = run.results.get(p.index, {})
        for name, ch in p.scenario.channels.items():
            row: dict[str, Any] = {"point": p.index, "label": p.label, "channel": name,
                                   "goal": float(ch.sla.target) if ch.sla is not None else None}  # fmt: skip
            for m in ("offered", "service_level", "asa_s", "wait_p90_s", "abandon_rate", "occupancy"):
                row[m], half = _stat(res, f"by_channel.{name}.{m}")
                if m == "service_level":
                    row["sl_lo"], row["sl_hi"] = share_range(row[m], half)
            rows.append(row)
    return rows


def sla_rows(channels: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in channels:
        goal, mean = r["goal"], r["service_level"]
        if goal is None:
            continue
        met = None if math.isnan(mean) else mean >= goal
        note = "no traffic: not judged" if met is None else ("95% CI straddles the goal" if straddles(r["sl_lo"], r["sl_hi"], goal) else "")
        out.append({"target": f"{r['channel']} SLA at {r['label']}", "scope": "overall", "measure": "service level",
                    "mean": mean, "lower": r["sl_lo"], "upper": r["sl_hi"], "goal": goal, "goal_op": AT_LEAST,
                    "met": met, "unit": SHARE, "note": note})  # fmt: skip
    return out


def comparison_table(comps: Any) -> Table | None:
    """The paired differences of the headline metrics (each policy minus the first)."""
    if comps is None or len(comps) == 0:
        return None
    metric = comps["metric"]
    keep = comps[metric.str.startswith(("overall.", "by_channel.")) & metric.str.endswith((".service_level", ".asa_s", ".abandon_rate"))]
    rows = []
    for r in keep.to_dict("records"):
        metric = r["metric"]
        unit = SECONDS if metric.endswith("asa_s") else PP
        lo, hi = r["difference"] - r["ci95"], r["difference"] + r["ci95"]
        others = ", ".join(f"{k}={r[k]}" for k in r if k not in ("policy", "reference", "metric", "difference", "ci95", "n"))
        rows.append({"at": others or "all", "policy": r["policy"], "reference": r["reference"], "metric": metric,
                     "difference": r["difference"], "lo": lo, "hi": hi, "unit": unit, "n": r["n"]})  # fmt: skip
    cols = [Column("at"), Column("policy"), Column("reference", "against"), Column("metric"),
            Column("difference", "difference", unit_from="unit"), Column("lo", "95% CI", unit_from="unit", range_to="hi"),
            Column("n", "pairs", "")]  # fmt: skip
    note = "Paired by replication (same random streams). Shares in percentage points, ASA in time."
    return Table("Policy against the first, paired", rows, cols, note=note, collapsed=len(rows) > 30, sheet="comparisons")


def _reps(run: SweepRun) -> str:
    counts = sorted({len(r) for r in run.results.values()})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}" if counts else "0"


def sweep_page(exp: Experiment, run: SweepRun, *, command: str, zone: str, written: Sequence[Path], plots: bool) -> Page:
    """The report of one `simsupport sweep`."""
    first = exp.points[0].scenario if exp.points else None
    facts = [("experiment", exp.spec.name), ("file", str(exp.path)), ("base scenario", str(exp.base))]
    if first is not None:
        facts += [("base scenario hash", scenario_hash(first)), ("seed", str(first.seed)),
                  ("horizon", format_duration(first.horizon)), ("warm-up", format_duration(first.warmup))]  # fmt: skip
    facts += [("points", f"{len(exp.points)}"), ("swept", ", ".join(exp.dims) or "–"),
              ("replications", f"{_reps(run)} per point ({run.ran} run, {run.reused} reused from runs/)"),
              ("times shown in", zone), ("simsupport", __version__), ("made", now_text()), ("command", command)]  # fmt: skip
    warnings = [f"task failed: {p.label}, replication {k}: {err}" for p, k, err in run.failures]
    warnings += [f"precision not reached at {p.label}: {m} ±{h:.4g} after the maximum replications" for p, m, h in run.unmet]
    points, cols = point_rows(exp, run)
    channels = channel_rows(exp, run)
    targets = sla_rows(channels)
    tables: list[Any] = [
        Table("Points", points, cols, sheet="summary",
              note="Headcount per pool as the point sets it (a pool with shifts: the sum of its shifts' agents); "
                   "overall figures are means over the point's replications."),
        Table("Per point and channel", channels, CHANNEL_COLUMNS, sheet="summary", collapsed=len(channels) > 40),
    ]  # fmt: skip
    comp = comparison_table(comparison_frame(exp, replication_frame(exp, run))) if "policy" in exp.dims else None
    if comp is not None:
        tables.append(comp)
    sections = [
        Section("What was run", [Facts(facts)]),
        warnings_section(warnings),
        Section("Targets", [target_callout(targets), target_table(targets, RULE_MEAN)], new_page=False),
        Section("Points", tables),
        plots_section(written, plots, "Curves"),
    ]
    return Page(f"{exp.spec.name}: sweep report", exp.spec.description or f"simsupport sweep: {len(exp.points)} points", sections)
