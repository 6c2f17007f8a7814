"""The report of `simsupport run`: what was run, warnings, the targets (channel SLAs from
summary.json, and the scenario's staffing targets), per-channel KPIs, the day in local time
(inline charts and an hour table; every interval in the workbook) and the run's plots.

Built from summary.json's document and the replications' interval rows as plain Python (no
pandas), so `run --no-plots` still writes its report without importing it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..config.schema import Scenario
from ..stats.result import ReplicationResult
from ..staffing.targets import evaluate_targets
from ..units import format_duration
from .html import SECONDS, SHARE, Column, Page, Section, Svg, Table
from .html_pages import (
    AT_LEAST,
    RULE_MEAN,
    plots_section,
    scenario_facts,
    share_range,
    straddles,
    target_callout,
    target_row,
    target_table,
    warnings_section,
)
from .svg_chart import line_chart


def _m(block: dict[str, Any], metric: str) -> float:
    v = (block or {}).get(metric) or {}
    return math.nan if v.get("mean") is None else float(v["mean"])


def _h(block: dict[str, Any], metric: str) -> float:
    v = (block or {}).get(metric) or {}
    return math.nan if v.get("ci95") is None else float(v["ci95"])


def sla_rows(s: Scenario, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each channel's SLA against its service level in summary.json (pass: the mean meets it)."""
    rows = []
    for name, ch in s.channels.items():
        if ch.sla is None:
            continue
        block = doc.get("by_channel", {}).get(name, {})
        mean, half = _m(block, "service_level"), _h(block, "service_level")
        lo, hi = share_range(mean, half)
        goal = float(ch.sla.target)
        met = None if math.isnan(mean) else mean >= goal
        note = "no traffic: not judged" if met is None else ("95% CI straddles the goal" if straddles(lo, hi, goal) else "")
        rows.append({"target": f"{name} SLA: {goal:.0%} answered within {format_duration(ch.sla.threshold)}",
                     "scope": "overall", "measure": "service level", "mean": mean, "lower": lo, "upper": hi,
                     "goal": goal, "goal_op": AT_LEAST, "met": met, "unit": SHARE, "note": note})  # fmt: skip
    return rows


def staffing_rows(s: Scenario, results: Sequence[ReplicationResult]) -> tuple[list[dict[str, Any]], list[str]]:
    """The scenario's staffing targets as run (those not already an SLA row), and any problem."""
    if s.staffing is None:
        return [], []
    try:
        judged = evaluate_targets(s, results)
    except ValueError as exc:
        return [], [f"the staffing targets could not be judged: {exc}"]
    rows = [target_row(tr, by_mean=True) for tr in judged if not (tr.target.own_sla and tr.scope == "overall")]
    return rows, []


KPI_COLUMNS = (
    Column("channel"), Column("offered", "offered", "contacts"), Column("answered", "answered", "contacts"),
    Column("abandon_rate", "abandoned", SHARE), Column("block_rate", "blocked", SHARE),
    Column("asa_s", "ASA", SECONDS), Column("wait_p90_s", "p90 wait", SECONDS),
    Column("service_level", "service level", SHARE), Column("sl_lo", "95% CI", SHARE, range_to="sl_hi"),
    Column("goal", "SLA goal", SHARE), Column("occupancy", "occupancy", SHARE),
)  # fmt: skip


def kpi_row(name: str, block: dict[str, Any], goal: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {"channel": name, "goal": goal}
    for k in ("offered", "answered", "abandon_rate", "block_rate", "asa_s", "wait_p90_s", "service_level", "occupancy"):
        row[k] = _m(block, k)
    half = _h(block, "service_level")
    row["sl_lo"], row["sl_hi"] = share_range(row["service_level"], half)
    return row


def kpi_table(s: Scenario, doc: dict[str, Any]) -> Table:
    rows = [kpi_row(n, b, s.channels[n].sla.target if n in s.channels and s.channels[n].sla else None)
            for n, b in doc.get("by_channel", {}).items()]  # fmt: skip
    footer = [kpi_row("all channels", doc.get("overall", {}).get("all", {}), None)]
    note = (f"Means over {doc.get('replications')} replications of {format_duration(s.horizon)} after "
            f"{format_duration(s.warmup)} of warm-up; offered and answered are contacts in that window. "
            "Abandoned: share of admitted contacts; blocked: share of offered.")  # fmt: skip
    return Table("Per channel", rows, KPI_COLUMNS, note=note, footer=footer, sheet="summary")


TIER_COLUMNS = (
    Column("tier"), Column("visits", "visits", "visits"), Column("abandoned", "abandoned", SHARE),
    Column("escalation_rate", "escalated on", SHARE), Column("asa_s", "ASA", SECONDS),
    Column("wait_p90_s", "p90 wait", SECONDS), Column("occupancy", "occupancy", SHARE),
)  # fmt: skip


def tier_table(doc: dict[str, Any]) -> Table | None:
    rows = []
    for name, b in (doc.get("by_tier") or {}).items():
        visits = _m(b, "visits")
        if not visits or math.isnan(visits):
            continue
        rows.append({"tier": name, "visits": visits, "abandoned": _m(b, "abandoned") / visits,
                     "escalation_rate": _m(b, "escalation_rate"), "asa_s": _m(b, "asa_s"),
                     "wait_p90_s": _m(b, "wait_p90_s"), "occupancy": _m(b, "occupancy")})  # fmt: skip
    if len(rows) < 2:
        return None
    return Table("Waits by tier (every visit)", rows, TIER_COLUMNS, sheet="summary")


JOURNEY_COLUMNS = (
    Column("channel"), Column("deflection_rate", "deflected by the bot", SHARE),
    Column("escalation_rate", "escalated", SHARE), Column("resolution_time_s", "resolution", SECONDS),
    Column("resolution_p90_s", "p90 resolution", SECONDS), Column("csat_mean", "CSAT", "of 5", digits=2),
    Column("csat_satisfied", "satisfied", SHARE),
)  # fmt: skip


def journey_table(doc: dict[str, Any]) -> Table | None:
    """The journey at a glance, as the console prints it: only with a service journey."""
    if "journeys" not in doc.get("overall", {}).get("all", {}):
        return None
    keys = [c.key for c in JOURNEY_COLUMNS[1:]]
    rows = [{"channel": n, **{k: _m(b, k) for k in keys}} for n, b in doc.get("by_channel", {}).items()]
    footer = [{"channel": "all channels", **{k: _m(doc["overall"]["all"], k) for k in keys}}]
    return Table("The service journey", rows, JOURNEY_COLUMNS, footer=footer, sheet="summary",
                 note="CSAT is a proxy on a 1-5 scale (README, the service journey): compare staffings, not absolute values.")


# ----------------------------------------------------------------------------- the day, local time


SUMS = ("n", "offered", "answered", "wait", "sl", "sl_w", "agents", "busy", "queue")
_NEEDED = ("interval", "start_s", "offered", "answered", "abandoned", "asa_s", "service_level", "agents_on_duty",
           "occupancy", "mean_queue")  # fmt: skip


def _weights(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per interval row, what the means add up: service level weighted by answered + abandoned,
    ASA by answered, occupancy by agents on duty (NaN rows add nothing)."""
    answered, asa, sl, occ, agents = c["answered"], c["asa_s"], c["service_level"], c["occupancy"], c["agents_on_duty"]
    den = answered + c["abandoned"]
    has_sl = np.isfinite(sl) & (den > 0)
    return {"n": np.ones_like(answered), "offered": c["offered"], "answered": answered,
            "wait": np.where((answered > 0) & np.isfinite(asa), np.nan_to_num(asa) * answered, 0.0),
            "sl": np.where(has_sl, np.nan_to_num(sl) * den, 0.0), "sl_w": np.where(has_sl, den, 0.0),
            "agents": agents, "busy": np.where(np.isfinite(occ), np.nan_to_num(occ) * agents, 0.0),
            "queue": c["mean_queue"]}  # fmt: skip


def _means(a: dict[str, float], per_hour: float) -> dict[str, Any]:
    n = a["n"] or 1
    return {"offered": a["offered"] / n * per_hour, "answered": a["answered"] / n,
            "service_level": a["sl"] / a["sl_w"] if a["sl_w"] else None,
            "asa_s": a["wait"] / a["answered"] if a["answered"] else None, "agents": a["agents"] / n,
            "occupancy": a["busy"] / a["agents"] if a["agents"] else None, "queue": a["queue"] / n}  # fmt: skip


def day_tables(s: Scenario, results: Sequence[ReplicationResult], zone: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(hour of the local day x channel, interval x channel), both means over replications and
    (by hour) days; vectorised: a week of 15-minute intervals over ten replications is 30,000 rows."""
    names = list(s.channels)
    code_of = {c: i for i, c in enumerate(names)}
    cols: dict[str, list[Any]] = {n: [] for n in (*_NEEDED, "channel")}
    for r in results:
        iv = r.intervals
        if iv and "channel" in iv:
            for n in cols:
                cols[n].extend(iv[n])
    if not cols["channel"]:
        return [], []
    c = {n: np.asarray(cols[n], dtype=float) for n in _NEEDED}
    code = np.fromiter((code_of[ch] for ch in cols["channel"]), dtype=np.int64, count=len(cols["channel"]))
    ks, kinv = np.unique(c["interval"].astype(np.int64), return_inverse=True)
    start_s = np.zeros(len(ks))
    start_s[kinv] = c["start_s"]
    tz = ZoneInfo(zone)
    local = [(s.start + timedelta(seconds=float(t))).astimezone(tz) for t in start_s]
    hour = np.array([t.hour for t in local], dtype=np.int64)
    w = _weights(c)
    nch = len(names)
    by_int = {n: np.bincount(kinv * nch + code, weights=w[n], minlength=len(ks) * nch) for n in SUMS}
    by_hour = {n: np.bincount(hour[kinv] * nch + code, weights=w[n], minlength=24 * nch) for n in SUMS}
    per_hour = 3600.0 / s.interval
    hours = [{"channel": names[j], "hour": f"{h:02d}:00–{(h + 1) % 24:02d}:00", "h": h,
              **_means({n: float(by_hour[n][h * nch + j]) for n in SUMS}, per_hour)}
             for j in range(nch) for h in range(24) if by_hour["n"][h * nch + j] > 0]  # fmt: skip
    rows = []
    for i in range(len(ks)):
        for j in range(nch):
            if by_int["n"][i * nch + j] > 0:
                m = _means({n: float(by_int[n][i * nch + j]) for n in SUMS}, 1.0)
                rows.append({"start": local[i].strftime("%Y-%m-%d %H:%M %Z"), "channel": names[j], **m})
    return hours, rows


HOUR_COLUMNS = (
    Column("channel"), Column("hour", "hour (local)"), Column("offered", "offered per hour", "contacts"),
    Column("service_level", "service level", SHARE), Column("asa_s", "ASA", SECONDS),
    Column("agents", "agents on duty", "agents"), Column("occupancy", "occupancy", SHARE),
    Column("queue", "mean queue", "contacts"),
)  # fmt: skip
INTERVAL_COLUMNS = (
    Column("start", "interval start (local)"), Column("channel"), Column("offered", "offered", "contacts"),
    Column("answered", "answered", "contacts"), Column("service_level", "service level", SHARE),
    Column("asa_s", "ASA", SECONDS), Column("agents", "agents on duty", "agents"),
    Column("occupancy", "occupancy", SHARE), Column("queue", "mean queue", "contacts"),
)  # fmt: skip


def day_section(s: Scenario, results: Sequence[ReplicationResult], zone: str) -> Section:
    by_hour, rows = day_tables(s, results, zone)
    title = f"Over the day ({zone})"
    if not by_hour:
        return Section(title, ["No interval rows were recorded."])
    hours = list(range(24))
    ticks = [(h, f"{h:02d}:00") for h in range(0, 25, 3)]
    channels = [c for c in s.channels if any(r["channel"] == c for r in by_hour)]
    series_sl, series_off = {}, {}
    for c in channels:
        mine = {r["h"]: r for r in by_hour if r["channel"] == c}
        series_sl[c] = [mine[h]["service_level"] if h in mine else None for h in hours]
        series_off[c] = [mine[h]["offered"] if h in mine else None for h in hours]
    goals = {c: float(s.channels[c].sla.target) for c in channels if s.channels[c].sla is not None}
    x = [h + 0.5 for h in hours]
    axis = f"hour of the day, {zone} (mean over the simulated days)"
    blocks: list[Any] = [
        f"Each hour of the local day ({zone}), averaged over the simulated days and replications.",
        Svg(line_chart(x, series_sl, unit=SHARE, title="Service level by hour (dashed: SLA goal)", x_label=axis,
                       x_ticks=ticks, goals=goals, x_range=(0, 24))),
        Svg(line_chart(x, series_off, unit="/h", title="Contacts offered per hour", x_label=axis, x_ticks=ticks,
                       x_range=(0, 24))),
        Table("By hour of the day", by_hour, HOUR_COLUMNS, collapsed=len(by_hour) > 48,
              note="Service level weighted by contacts answered or abandoned; ASA by contacts answered.", sheet="intervals"),
        Table("Every reporting interval", rows, INTERVAL_COLUMNS, page=False, sheet="intervals"),
    ]  # fmt: skip
    return Section(title, blocks)


def run_page(s: Scenario, doc: dict[str, Any], results: Sequence[ReplicationResult], *, source: Path | None,
             zone: str, command: str, written: Sequence[Path], plots: bool) -> Page:  # fmt: skip
    """The report of one `simsupport run`."""
    sla = sla_rows(s, doc)
    extra, problems = staffing_rows(s, results)
    rows = sla + extra
    channels = [kpi_table(s, doc)]
    channels += [t for t in (journey_table(doc), tier_table(doc)) if t is not None]
    sections = [
        Section("What was run", [scenario_facts(s, source, command, zone)]),
        warnings_section([*doc.get("warnings", []), *problems]),
        Section("Targets", [target_callout(rows), target_table(rows, RULE_MEAN)], new_page=False),
        Section("Channels", list(channels)),
        day_section(s, results, zone),
        plots_section(written, plots),
    ]
    sub = f"simsupport run: {doc.get('replications')} replications, seed {s.seed}, horizon {format_duration(s.horizon)}"
    return Page(f"{s.name}: run report", sub, sections)
