"""The reports of `simsupport staff` (headcount per pool and shift) and `simsupport schedule`
(a roster of shift lines): what was run, warnings, the targets as the search judged them
(by their 95% bounds), the staffing or roster, the failing periods in local time, and the
coverage plots the command drew."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config.schema import Scenario
from ..staffing.recommend import Recommendation
from ..staffing.schedule import ScheduleResult
from ..staffing.targets import TargetResult
from ..units import format_duration
from .html import SECONDS, SHARE, Column, Page, Section, Table
from .html_pages import (
    RULE_BOUND,
    plots_section,
    scenario_facts,
    target_callout,
    target_row,
    target_table,
    unit_of,
    warnings_section,
)
from .schedule import coverage_frame, roster_frame
from .staffing import staffing_frame


def local_text(s: Scenario, seconds: float, zone: str) -> str:
    """Seconds since time 0 as a local clock: 'Tue 2026-01-06 14:00'."""
    return (s.start + timedelta(seconds=float(seconds))).astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


PERIOD_COLUMNS = (
    Column("target"), Column("period", "period starts (local)"), Column("mean", "mean", unit_from="unit"),
    Column("bound", "95% bound judged", unit_from="unit"), Column("goal", "goal", unit_from="unit"),
)  # fmt: skip


def failing_periods(s: Scenario, results: Sequence[TargetResult], zone: str) -> Table | None:
    """Each failing hour or interval of an every_hour / every_interval target, in local time."""
    rows = [{"target": tr.label, "period": local_text(s, start, zone), "start_s": start, "mean": mean, "bound": bound,
             "goal": tr.goal, "unit": unit_of(tr.measure)}
            for tr in results for start, mean, bound in tr.failing]  # fmt: skip
    if not rows:
        return None
    return Table(f"Failing periods ({zone})", rows, PERIOD_COLUMNS, sheet="targets", collapsed=len(rows) > 30)


STAFF_COLUMNS = (
    Column("pool"), Column("tier"), Column("shift"), Column("in_scenario", "now", "agents"),
    Column("recommended", "recommended", "agents"), Column("change", "change", "agents", signed=True),
    Column("hours_per_week", "hours a week", "h"), Column("cost_per_hour", "cost per agent-hour", ""),
    Column("weekly_cost", "weekly cost", ""), Column("note"),
)  # fmt: skip


def staffing_rows(rec: Recommendation) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    s = rec.plan.scenario
    frame = staffing_frame(rec.plan.variables, rec.result)
    rows = []
    for r in frame.to_dict("records"):
        notes = []
        if not r["searched"]:
            notes.append("kept: never on duty in the simulated window")
        if r["at_bound"]:
            notes.append(f"at its {r['at_bound']} bound")
        rows.append({**r, "tier": s.pool(r["pool"]).tier, "shift": r["shift"] or "(all day)", "note": "; ".join(notes)})
    now, new = float(frame["weekly_cost_in_scenario"].sum()), float(frame["weekly_cost"].sum())
    total = {"pool": "total", "in_scenario": int(frame["in_scenario"].sum()), "recommended": int(frame["recommended"].sum()),
             "change": int(frame["change"].sum()), "weekly_cost": new,
             "note": f"{100 * (new / now - 1):+.1f}% weekly cost" if now else ""}  # fmt: skip
    return rows, total


def staff_page(rec: Recommendation, *, command: str, zone: str, written: Sequence[Path], plots: bool,
               warnings: Sequence[str]) -> Page:  # fmt: skip
    """The report of one `simsupport staff`."""
    plan, result = rec.plan, rec.result
    s = plan.scenario
    judged = result.evaluation.results
    rows = [target_row(tr) for tr in judged]
    staffing, total = staffing_rows(rec)
    what = "Recommended staffing" if rec.feasible else "Best staffing found (it misses a target: do not use it as is)"
    facts = scenario_facts(s, plan.path, command, zone, replications=f"{plan.replications} per evaluation", extra=[
        ("evaluations", f"{result.evaluations} staffings, {result.replications_run} replications run "
                        f"({result.replications_reused} reused), {format_duration(result.wall_s)}"),
        ("weekly cost", f"{rec.weekly_cost:,.0f} (today {rec.weekly_cost_now:,.0f})")])  # fmt: skip
    target_blocks: list[Any] = [target_callout(rows), target_table(rows, RULE_BOUND)]
    periods = failing_periods(s, judged, zone)
    if periods is not None:
        target_blocks.append(periods)
    staff_note = ("Headcount before shrinkage per pool and shift; cost per week, from each pool's cost per "
                  "agent-hour. " + ("" if rec.feasible else "This staffing misses a target."))  # fmt: skip
    sections = [
        Section("What was run", [facts]),
        warnings_section(warnings),
        Section("Targets", target_blocks, new_page=False),
        Section("Staffing", [Table(what, staffing, STAFF_COLUMNS, note=staff_note, footer=[total], sheet="roster")]),
        plots_section(written, plots, "Coverage"),
    ]
    return Page(f"{s.name}: staffing report", what.split(" (")[0], sections)


ROSTER_COLUMNS = (
    Column("pool"), Column("template"), Column("days"), Column("start", "start (local)"), Column("end", "end (local)"),
    Column("breaks"), Column("agents", "agents", "agents"), Column("paid_hours", "paid hours a week", "h"),
    Column("cost", "weekly cost", ""), Column("timezone", "pool's zone"),
)  # fmt: skip
POOL_COLUMNS = (
    Column("pool"), Column("lines", "lines", ""), Column("agents", "agents", "agents"),
    Column("paid_hours", "paid hours a week", "h"), Column("cost", "weekly cost", ""), Column("peak", "peak requirement", "agents"),
)  # fmt: skip
UNMET_COLUMNS = (
    Column("target"), Column("scope"), Column("period", "period starts (local)"), Column("pool"),
    Column("shortfall", "shortfall", ""), Column("why"),
)  # fmt: skip
COVERAGE_COLUMNS = (
    Column("pool"), Column("weekday"), Column("local_time", "local time"), Column("timezone", "pool's zone"),
    Column("required", "required", "agents"), Column("scheduled", "scheduled", "agents"),
    Column("on_break", "on break", "agents"), Column("on_duty", "on duty", "agents"),
    Column("service_level_of", "service level of"), Column("service_level", "service level", SHARE),
    Column("asa_s", "ASA", SECONDS),
)  # fmt: skip


def schedule_page(result: ScheduleResult, source: Path, *, command: str, zone: str, written: Sequence[Path],
                  plots: bool, warnings: Sequence[str]) -> Page:  # fmt: skip
    """The report of one `simsupport schedule`."""
    s = result.scenario
    rows = [target_row(tr) for tr in result.targets]
    roster = roster_frame(result)
    pools = []
    for name, g in roster.groupby("pool", sort=False):
        req = result.requirement.get(name)
        pools.append({"pool": name, "lines": len(g), "agents": int(g["agents"].sum()), "paid_hours": float(g["paid_hours"].sum()),
                      "cost": float(g["cost"].sum()), "peak": float(req.max()) if req is not None and len(req) else None})  # fmt: skip
    total = {"pool": "total", "lines": len(roster), "agents": int(roster["agents"].sum()) if len(roster) else 0,
             "paid_hours": result.paid_hours, "cost": result.cost}  # fmt: skip
    saved = (1 - result.paid_hours / result.today_hours) if result.today_hours else math.nan
    facts = scenario_facts(s, source, command, zone, replications=f"{len(result.results) or '–'} per evaluation", extra=[
        ("planning slot", format_duration(result.slot)),
        ("evaluations", f"{result.evaluations}, {result.replications_run} replications run "
                        f"({result.replications_reused} stored), {format_duration(result.wall_s)}"),
        ("paid agent-hours a week", f"{result.paid_hours:,.0f}" + (f" ({saved:+.1%} fewer than today's {result.today_hours:,.0f})"
                                                                    if math.isfinite(saved) else ""))])  # fmt: skip
    unmet = [{**u, "period": local_text(s, u["interval"], zone) if u.get("interval") is not None else "–"} for u in result.unmet]
    target_blocks: list[Any] = [target_callout(rows), target_table(rows, RULE_BOUND)]
    if unmet:
        target_blocks.append(Table(f"Unmet targets and why ({zone})", unmet, UNMET_COLUMNS, sheet="targets",
                                   collapsed=len(unmet) > 30))  # fmt: skip
    cov = coverage_frame(result)
    sections = [
        Section("What was run", [facts]),
        warnings_section(warnings),
        Section("Targets", target_blocks, new_page=False),
        Section("Roster", [
            Table("Per pool", pools, POOL_COLUMNS, footer=[total], sheet="summary"),
            Table("Roster lines", roster, ROSTER_COLUMNS, sheet="roster", collapsed=len(roster) > 60,
                  note="Start, end and breaks in each pool's own time zone; days: the weekdays the line works."),
            Table("Coverage per slot", cov, COVERAGE_COLUMNS, page=False, sheet="intervals"),
        ]),  # fmt: skip
        plots_section(written, plots, "Coverage"),
    ]
    return Page(f"{s.name}: roster report", "simsupport schedule: " + ("every target met" if result.feasible and not result.unmet
                                                                       else "not every target is met"), sections)  # fmt: skip
