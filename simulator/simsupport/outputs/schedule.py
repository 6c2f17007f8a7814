"""What `simsupport schedule` writes: the roster, coverage per slot, unmet targets, the search,
the scheduled scenario (the author's comments and layout kept) and a figure per pool."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.roster import clock_text
from ..experiment.statistics import mean_ci95
from ..config.schema import WEEKDAYS
from ..staffing.roster import first_weekday, lines_coverage, local_offset
from ..staffing.schedule import ScheduleResult
from .files import atomic_write, write_json, write_table
from .yaml_edit import NotInPlace, YamlText, quoted, relink

ROSTER_COLUMNS = ["pool", "template", "days", "start", "end", "breaks", "agents", "paid_hours", "cost"]


def roster_frame(result: ScheduleResult) -> pd.DataFrame:
    """One row per roster line: the planner's columns first (local clock times), then UTC."""
    s = result.scenario
    rows = []
    for line in result.lines:
        pool = s.pool(line.pool)
        off = local_offset(pool, s.start)
        utc0 = s.start.timestamp() - off  # local midnight of the first day, as a UTC instant
        start_utc = pd.Timestamp(utc0 + line.start, unit="s", tz="UTC")
        rows.append({
            "pool": line.pool, "template": line.template, "days": line.days_text, "start": clock_text(line.start),
            "end": clock_text(line.end), "breaks": line.breaks_text, "agents": line.agents,
            "paid_hours": round(line.paid_hours * line.agents, 2), "cost": round(line.cost, 2),
            "timezone": pool.timezone, "start_utc": start_utc.strftime("%H:%M"),
            "end_utc": (start_utc + pd.Timedelta(seconds=(line.end - line.start) % 86400 or 86400)).strftime("%H:%M"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=[*ROSTER_COLUMNS, "timezone", "start_utc", "end_utc"])


def coverage_frame(result: ScheduleResult) -> pd.DataFrame:
    """Slot x pool: required (analytic, plus what the simulation stage added), scheduled, on
    break, on duty, and the simulated service level and ASA of the pool's channels there."""
    s = result.scenario
    rows = []
    sim = _simulated(result)
    for name, req in result.requirement.items():
        pool = s.pool(name)
        cov = result.coverage[name]
        scheduled = _scheduled(result, name)
        off = local_offset(pool, s.start)
        day0 = first_weekday(pool, s.start)
        for j in range(len(req)):
            t_local = j * result.slot
            t_sim = t_local - off
            sl, sl_ci, asa, asa_ci = sim.get((name, int(t_sim // s.interval)), (math.nan,) * 4)
            rows.append({
                "pool": name, "day": j * result.slot // 86400,
                "weekday": WEEKDAYS[(day0 + int(j * result.slot // 86400)) % 7], "local_time": clock_text(t_local % 86400),
                "timezone": pool.timezone, "service_level_of": (pool.channels or list(s.channels))[0],
                "start_s": t_sim, "required": float(req[j] + result.raised[name][j]),
                "required_analytic": float(req[j]), "scheduled": float(scheduled[j]),
                "on_break": float(scheduled[j] - cov[j]), "on_duty": float(cov[j]),
                "service_level": sl, "service_level_ci95": sl_ci, "asa_s": asa, "asa_s_ci95": asa_ci,
            })  # fmt: skip
    return pd.DataFrame(rows)


def _scheduled(result: ScheduleResult, pool: str) -> np.ndarray:
    """Agents whose shift spans each slot (on break or not)."""
    s = result.scenario
    lines = [replace(x, breaks=()) for x in result.lines if x.pool == pool]
    return lines_coverage(s.pool(pool), lines, result.slot, s.start)


def _simulated(result: ScheduleResult) -> dict[tuple[str, int], tuple[float, float, float, float]]:
    """(pool, interval index) -> mean and CI of service level and ASA over replications, for the
    pool's channels (the first channel it serves, for a multi-channel pool)."""
    s = result.scenario
    out: dict[tuple[str, int], tuple[float, float, float, float]] = {}
    for name in result.requirement:
        pool = s.pool(name)
        channel = (pool.channels or list(s.channels))[0]
        per: dict[int, tuple[list[float], list[float]]] = {}
        for r in result.results:
            iv = r.intervals
            for k, ch, sl, asa in zip(iv["interval"], iv["channel"], iv["service_level"], iv["asa_s"]):
                if ch == channel:
                    a, b = per.setdefault(int(k), ([], []))
                    a.append(sl)
                    b.append(asa)
        for k, (sls, asas) in per.items():
            out[(name, k)] = (*mean_ci95(sls), *mean_ci95(asas))
    return out


def write_schedule(result: ScheduleResult, src: Path, out: Path, *, plots: bool = True) -> list[Path]:
    written = []
    roster = roster_frame(result)
    written.append(write_table(out / "roster.csv", roster))
    cov = coverage_frame(result)
    written.append(write_table(out / "coverage.csv", cov))
    written.append(write_table(out / "coverage.parquet", cov))
    unmet = pd.DataFrame(result.unmet, columns=["target", "scope", "interval", "pool", "shortfall", "why"])
    written.append(write_table(out / "unmet.csv", unmet))
    written.append(write_scheduled_scenario(src, result, out / f"{result.scenario.name}-scheduled.yaml"))
    written.append(write_json(out / "search.json", search_document(result)))
    if plots:
        from .plots import schedule_plot  # matplotlib only when drawing

        written.append(schedule_plot(cov, out / "schedule.png", result.scenario.name))
    return written


def search_document(result: ScheduleResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario.name,
        "slot_s": result.slot,
        "feasible": result.feasible,
        "cost": result.cost,
        "paid_hours": result.paid_hours,
        "today_paid_hours": result.today_hours,
        "agents": sum(x.agents for x in result.lines),
        "evaluations": result.evaluations,
        "replications_run": result.replications_run,
        "wall_s": result.wall_s,
        "stages": {
            "requirements": {name: {"agent_slots": float(v.sum()), "peak": float(v.max()),
                                    "share_of_analytic": result.scale.get(name, 1.0),
                                    "raised_agent_slots": float(result.raised[name].sum())}
                             for name, v in result.requirement.items()},
            "covering": {name: {"cost": sol.cost, "lp_bound": sol.lp_bound, "gap": sol.gap, "status": sol.status,
                                "variables": sol.variables, "seconds": sol.seconds} for name, sol in result.solutions.items()},
            "simulation": [vars(r) for r in result.rounds],
        },  # fmt: skip
        "targets": [
            {"target": t.label, "scope": t.scope, "measure": t.measure, "goal": t.goal, "mean": t.mean,
             "ci95": t.ci95, "lower": t.lower, "upper": t.upper, "met": t.met}
            for t in result.targets
        ],  # fmt: skip
    }


def write_scheduled_scenario(src: Path, result: ScheduleResult, out: Path) -> Path:
    """The scenario file with each rostered pool's shifts replaced by the roster (its `agents`
    line dropped) and nothing else changed: the roster's lines are written one a line in the
    style and indentation of the file's own shifts (a shift the roster keeps but for its
    headcount keeps its line, the number changed in place), and comments, quotes, aligned
    columns and every other line stay the author's; relative data files still found from `out`."""
    text = src.read_text(encoding="utf-8")
    src_dir, out_dir = src.resolve().parent, out.resolve().parent
    by_pool: dict[str, list[dict[str, Any]]] = {}
    for line in result.lines:
        by_pool.setdefault(line.pool, []).append(line.shift())
    try:
        doc = YamlText(text)
        for pool in doc.tree.get("pools", []):
            if pool.get("name") in by_pool:
                doc.set_items(pool, "shifts", by_pool[pool["name"]], patch="agents", drop=("agents",))
        relink(doc.tree, src_dir, out_dir, doc.set_value)
        body = doc.text()
    except NotInPlace:  # a pool written as a flow mapping: ruamel writes it all
        doc = YamlText(text)
        for pool in doc.tree.get("pools", []):
            if pool.get("name") in by_pool:
                pool["shifts"] = quoted(by_pool[pool["name"]])
                pool.pop("agents", None)
        relink(doc.tree, src_dir, out_dir, lambda node, key, value: node.__setitem__(key, value))
        body = doc.dump()
    header = f"# roster chosen by `simsupport schedule` from {src.name}\n"
    return atomic_write(out, lambda p: p.write_text(header + body, encoding="utf-8"))
