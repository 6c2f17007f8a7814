"""What every report page shares: the "what was run" facts, the warnings at the top, the
target table (one row per target measure, pass/fail coloured), the embedded plots, and
writing the page (report.html) and its tables (report.xlsx)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import __version__
from ..config.schema import Scenario
from ..config.targets import SCOPE_WORDS
from ..staffing.targets import TargetResult
from ..units import format_duration
from .html import SECONDS, SHARE, Callout, Column, Facts, Figure, Page, Section, Table, write_html
from .summary import scenario_hash
from .workbook import write_workbook

# captions of the plots the commands write (a PNG not listed here is shown under its file name)
CAPTIONS = {
    "wait_distribution.png": "Share of answered customers served within a given wait, per channel (SLA marked)",
    "daily_profile.png": "Service level and queue over the day, per channel (bands: spread across replications)",
    "journey.png": "The service journey: how journeys end, waits per tier, the chatbot's effect, backlog",
    "burst_timeline.png": "The market: price, volatility, arrivals, queues and service level over time",
    "waiting_time_curves.png": "ASA and 90th percentile wait against the swept value, per channel",
    "sla_breach_curves.png": "SLA breach rate against the swept value (the target's limit dotted)",
    "policy_comparison.png": "Each policy against the first: paired differences with 95% intervals",
    "staffing.png": "Agents on duty over the day per pool: load, the hourly Erlang estimate, now and recommended",
    "schedule.png": "Per rostered pool over the planning week: required, scheduled and on duty",
    "fit-daily-profile.png": "Arrivals by time of day: the data, the fitted weights and the scenario's profile",
    "fit-weekly-profile.png": "Arrivals by weekday: observed against fitted, with 95% intervals",
    "fit-handle-times.png": "Handle times per category against the fitted distribution",
    "fit-patience.png": "Patience: Kaplan-Meier survival of waiting customers against the fitted law",
    "fit-volatility.png": "Contacts against market volatility, with the fitted elasticity",
    "backtest.png": "Backtest: actual daily volume against the simulated 5-95% band",
    "backtest-kpis.png": "Backtest of service: actual ASA, service level and abandonment per day against the simulated band",
}
MEASURE_WORDS = {"service_level": "service level", "abandon_rate": "abandon rate", "asa": "ASA"}
AT_LEAST, AT_MOST = "≥", "≤"
RULE_BOUND = ("A target passes when its 95% bound is on the right side of the goal (the lower bound of a service "
              "level, the upper bound of an abandon rate or ASA), as the search judged it.")  # fmt: skip
RULE_MEAN = ("Pass/fail compares the mean over replications with the goal; where the 95% interval straddles the "
             "goal the note says so: more replications (-r) would settle it.")  # fmt: skip
TARGET_COLUMNS = (
    Column("target"), Column("scope"), Column("measure"),
    Column("mean", "mean", unit_from="unit"), Column("lower", "95% CI", unit_from="unit", range_to="upper"),
    Column("goal", "goal", unit_from="unit", prefix_from="goal_op"), Column("met", "result", verdict=True),
    Column("note"),
)  # fmt: skip


def now_text() -> str:
    """When the report was made, on this machine's clock with its offset."""
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def start_text(s: Scenario, zone: str) -> str:
    """Time 0 on the report's clock, and as the scenario gives it."""
    local = s.start.astimezone(ZoneInfo(zone))
    given = s.start.isoformat()
    return f"{local:%a %Y-%m-%d %H:%M} {zone}" + (f" ({given})" if local.utcoffset() != s.start.utcoffset() else "")


def scenario_facts(s: Scenario, source: Path | str | None, command: str, zone: str,
                   extra: Sequence[tuple[str, str]] = (), replications: str | None = None) -> Facts:  # fmt: skip
    """Scenario, file, hash, seed, replications, horizon, warm-up, version, date, command."""
    items = [
        ("scenario", s.name), ("file", str(source) if source is not None else "–"), ("scenario hash", scenario_hash(s)),
        ("seed", str(s.seed)), ("replications", replications or str(s.replications)), ("horizon", format_duration(s.horizon)),
        ("warm-up", format_duration(s.warmup)), ("start (time 0)", start_text(s, zone)), ("times shown in", zone),
        *extra, ("simsupport", __version__), ("made", now_text()), ("command", command),
    ]  # fmt: skip
    return Facts(items)


def warning_text(w: Any) -> str:
    """A warning as a sentence, whatever shape summary.json gives it (text, or a dict)."""
    if isinstance(w, str):
        return w
    if isinstance(w, Mapping):
        msg = w.get("message") or w.get("text") or w.get("warning")
        rest = ", ".join(f"{k}: {v}" for k, v in w.items() if k not in ("message", "text", "warning"))
        return f"{msg} ({rest})" if msg and rest else str(msg or rest)
    return str(w)


def warnings_section(items: Iterable[Any]) -> Section:
    """Warnings first, highlighted; an explicit 'no warnings' when there are none."""
    texts = [warning_text(w) for w in items]
    if not texts:
        return Section("Warnings", [Callout([], kind="ok", title="No warnings.")], new_page=False)
    title = f"{len(texts)} warning{'s' if len(texts) != 1 else ''}: read these before the numbers below"
    return Section("Warnings", [Callout(texts, kind="warning", title=title)], new_page=False)


def unit_of(measure: str) -> str:
    return SECONDS if measure == "asa" else SHARE


def share_range(mean: float, half: float) -> tuple[float, float]:
    """mean -/+ half, within 0..1: a share's interval shown as it can be."""
    if not (math.isfinite(mean) and math.isfinite(half)):
        return math.nan, math.nan
    return max(0.0, mean - half), min(1.0, mean + half)


def straddles(lo: float, hi: float, goal: float) -> bool:
    return math.isfinite(lo) and math.isfinite(hi) and lo < goal < hi


def target_row(tr: TargetResult, *, by_mean: bool = False) -> dict[str, Any]:
    """One measure of one staffing target as a row: judged by its 95% bound (as staff and schedule
    judge it) or, for a plain run, by its mean (the console's colour)."""
    notes = []
    if tr.n == 0 or not math.isfinite(tr.mean):
        notes.append("no traffic in its scope: not judged")
        met: bool | None = None
    elif by_mean:
        met = tr.mean >= tr.goal if tr.measure == "service_level" else tr.mean <= tr.goal
        if straddles(tr.lower, tr.upper, tr.goal):
            notes.append("95% CI straddles the goal")
    else:
        met = tr.met
    if tr.period_start_s:
        notes.append(f"worst of {len(tr.period_start_s)} periods shown; {len(tr.failing)} fail")
    lo, hi = share_range(tr.mean, tr.ci95) if tr.measure != "asa" else (max(0.0, tr.lower), tr.upper)
    words = SCOPE_WORDS[tr.scope]
    label = tr.label[: -len(words)].rstrip() if tr.label.endswith(" " + words) else tr.label
    return {"target": label, "scope": tr.scope.replace("_", " "), "measure": MEASURE_WORDS[tr.measure],
            "mean": tr.mean, "lower": lo, "upper": hi, "goal": tr.goal, "met": met,
            "goal_op": AT_LEAST if tr.measure == "service_level" else AT_MOST, "unit": unit_of(tr.measure),
            "note": "; ".join(notes), "replications": tr.n}  # fmt: skip


def target_table(rows: list[dict[str, Any]], rule: str, title: str = "Targets") -> Table:
    passed = sum(1 for r in rows if r["met"] is True)
    failed = sum(1 for r in rows if r["met"] is False)
    note = f"{passed} pass, {failed} fail. {rule}" if rows else rule
    return Table(title, rows, TARGET_COLUMNS, note=note, sheet="targets")


def target_callout(rows: list[dict[str, Any]], limit: int = 12) -> Callout:
    """The verdict in one line above the table."""
    failed = [r["target"] for r in rows if r["met"] is False]
    if not rows:
        return Callout([], kind="info", title="No targets: no channel has an SLA and the scenario lists no staffing targets.")
    if failed:
        verb = "fails" if len(failed) == 1 else "fail"
        if len(failed) > limit:
            failed = [*failed[:limit], f"... and {len(failed) - limit} more (sort the table by result)"]
        n = sum(1 for r in rows if r["met"] is False)
        return Callout(failed, kind="warning", title=f"{n} of {len(rows)} target{'s' if len(rows) != 1 else ''} {verb}:")
    return Callout([], kind="ok", title="The target passes." if len(rows) == 1 else f"All {len(rows)} targets pass.")


def figures(paths: Iterable[Path]) -> list[Figure]:
    """The PNGs a command wrote, in its order, captioned."""
    return [Figure(p, CAPTIONS.get(p.name, p.stem.replace("_", " ").replace("-", " "))) for p in paths
            if p.suffix.lower() in (".png", ".svg") and p.is_file()]  # fmt: skip


def plots_section(paths: Iterable[Path], plots: bool, title: str = "Plots") -> Section:
    figs = figures(paths)
    if figs:
        return Section(title, list(figs))
    why = "Plots were not drawn (--no-plots)." if not plots else "This command drew no plots for this case."
    return Section(title, [why])


def write_report(page: Page, folder: Path, *, html_name: str | None = "report.html", xlsx: bool = False) -> list[Path]:
    """report.html (and report.xlsx with --xlsx) into `folder`, atomically; the paths written."""
    written = []
    if html_name is not None:
        written.append(write_html(page, folder / html_name))
    if xlsx:
        written.append(write_workbook(page, folder / "report.xlsx"))
    return written
