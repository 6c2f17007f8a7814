"""The reports of `simsupport fit` (what was fitted from what, the warnings (`poor_fits`: the
fits to distrust), every estimate with its 95% interval and the observations behind it, the
daily and weekly profile weights (folded away: long), and the fit's plots) and of `simsupport
backtest` (coverage of the simulated band per channel, the service per day, its plots)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..fit.backtest import Backtest
from ..fit.learn import FitResult
from .fit_plots import zone_label
from .html import SECONDS, SHARE, Column, Facts, Page, Section, Table
from .html_pages import now_text, plots_section, warnings_section, write_report

SHARE_ITEMS = ("share", "deflection", "escalated", "retry probability")
ESTIMATE_COLUMNS = (
    Column("section"), Column("channel"), Column("item", "estimate"), Column("value", "value", unit_from="shown"),
    Column("lo", "95% CI", unit_from="shown", range_to="hi"), Column("n", "observations", unit_from="basis"),
    Column("note"),
)  # fmt: skip


def shown_unit(row: dict[str, Any]) -> str:
    """How an estimate reads: rates per hour, times as durations, shares as percentages; weights,
    elasticities and cvs are pure numbers."""
    unit = row.get("unit") or ""
    if unit == "s":
        return SECONDS
    if unit:
        return unit
    item = str(row.get("item", ""))
    return SHARE if any(w in item for w in SHARE_ITEMS) and "weight" not in item else ""


def estimate_tables(rows: Sequence[dict[str, Any]]) -> list[Table]:
    """The estimates, and the profile weights (96 a day per channel) in a folded table."""
    rows = [{**r, "shown": shown_unit(r), "channel": r.get("channel") or "–"} for r in rows]
    profile = [r for r in rows if str(r["item"]).startswith(("daily ", "weekly "))]
    main = [r for r in rows if r not in profile]
    note = "Each estimate with its 95% interval and the observations behind it."
    tables = [Table("Estimates", main, ESTIMATE_COLUMNS, note=note, sheet="estimates")]
    if profile:
        tables.append(Table("Profile weights (relative: 1 is the mean)", profile, ESTIMATE_COLUMNS,
                            collapsed=True, sheet="profiles"))  # fmt: skip
    return tables


def fit_page(res: FitResult, rows: Sequence[dict[str, Any]], *, out: Path, base: Path | None, command: str,
             warnings: Sequence[str], plots: Sequence[Path]) -> Page:  # fmt: skip
    """The report of one `simsupport fit`."""
    first, last = res.window
    facts = [("fitted from", res.source), ("history", f"{res.kind}, {first:%Y-%m-%d} to {last:%Y-%m-%d}"),
             ("channels", ", ".join(res.arrivals) or "–"), ("time zone of the profiles", zone_label(res.timezone)),
             ("prices", res.prices.path if res.prices is not None else "–"), ("base scenario", str(base) if base else "–"),
             ("fitted scenario", str(out)), ("simsupport", __version__), ("made", now_text()), ("command", command)]  # fmt: skip
    sections = [
        Section("What was fitted", [Facts(facts)]),
        warnings_section(warnings),
        Section("Estimates", list(estimate_tables(rows))),
        plots_section(plots, True, "Plots"),
    ]
    return Page(f"{Path(out).stem}: fit report", f"simsupport fit from {Path(res.source).name}", sections)


def write_fit_report(res: FitResult, rows: Sequence[dict[str, Any]], path: Path, *, out: Path, base: Path | None,
                     command: str, warnings: Sequence[str], plots: Sequence[Path] | None) -> Path:  # fmt: skip
    """report.html at `path`, with the plots of the --report folder (None: there is none, and
    drawing them only for the page would add seconds to every fit)."""
    page = fit_page(res, rows, out=out, base=base, command=command, warnings=warnings, plots=plots or [])
    if plots is None:
        page.sections[-1].blocks = ["The fit's plots are drawn with --report DIR (the report then goes there too)."]
    return write_report(page, path.parent, html_name=path.name)[0]


COVERAGE_COLUMNS = (
    Column("channel"), Column("days", "days", ""), Column("days_inside", "days inside", ""),
    Column("day_coverage", "day coverage", SHARE), Column("intervals", "intervals", ""),
    Column("interval_coverage", "interval coverage", SHARE), Column("expected_coverage", "a correct model", SHARE),
)  # fmt: skip
KPI_COLUMNS = (
    Column("channel"), Column("metric"), Column("days", "days", ""), Column("inside", "days inside the band", SHARE),
    Column("actual", "actual (mean)", unit_from="unit"), Column("sim_p50", "simulated median (mean)", unit_from="unit"),
)  # fmt: skip


def backtest_page(bt: Backtest, *, scenario: Path, history: str, replications: int, command: str) -> Page:
    """The report of one `simsupport backtest`."""
    facts = [("scenario", str(scenario)), ("history", history), ("replications", f"{replications} (band 5-95%)"),
             ("simsupport", __version__), ("made", now_text()), ("command", command)]  # fmt: skip
    warnings = [f"not in the history, not compared: {', '.join(bt.missing)}"] if bt.missing else []
    cov = bt.coverage.to_dict("records")
    warnings += [f"{r['channel']}: {r['day_coverage']:.0%} of days inside the simulated band, where a correct model "
                 f"reaches about {r['expected_coverage']:.0%}" for r in cov if r["day_coverage"] < r["expected_coverage"] - 0.15]  # fmt: skip
    tables = [Table("Volume per day and interval inside the simulated 5-95% band", cov, COVERAGE_COLUMNS, sheet="summary",
                    note="A correct model: the share a right model reaches with this many replications (the band's own sampling).")]  # fmt: skip
    if bt.kpis is not None and not bt.kpis.empty:
        rows = []
        for (ch, metric), g in bt.kpis.groupby(["channel", "metric"]):
            rows.append({"channel": ch, "metric": metric, "days": len(g), "inside": float(g["inside"].mean()),
                         "actual": float(g["actual"].mean()), "sim_p50": float(g["sim_p50"].mean()),
                         "unit": SECONDS if metric == "asa_s" else SHARE})  # fmt: skip
        tables.append(Table("Service per day: actual inside the simulated 5-95% band", rows, KPI_COLUMNS, sheet="summary"))
    sections = [Section("What was run", [Facts(facts)]), warnings_section(warnings), Section("Coverage", list(tables))]
    return Page(f"{Path(scenario).stem}: backtest report", f"simsupport backtest on {Path(history).name}", sections)
