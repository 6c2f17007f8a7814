"""`simsupport run`: one scenario's replications, its files and the planner's tables."""

from __future__ import annotations

import atexit
import gc
import math
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..config.derived import display_zone
from ..config.load import load_scenario_with
from ..experiment.guard import MAX_TICKETS, check_work
from ..experiment.replications import default_workers, run_replications
from ..outputs.html_pages import write_report
from ..outputs.html_run import run_page
from ..outputs.report import write_run
from .console import (
    ProgressBar,
    console,
    fmt_s,
    mean,
    num,
    own_folder,
    pct,
    print_warnings,
)
from .report_options import command_line, report_options


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>].")
@click.option("--replications", "-r", type=click.IntRange(1), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(0), help="Override the scenario's seed.")
@click.option("--horizon", help="Override the horizon, e.g. 24h or 7d.")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes [all cores].")
@click.option("--tickets", is_flag=True, help="Also write tickets.parquet, one row per attempt.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--max-tickets", type=click.FloatRange(min=1), default=MAX_TICKETS, show_default=True,
              help="Refuse runs expected to simulate more contacts than this.")
@report_options
def run(
    scenario: Path,
    out: Path | None,
    replications: int | None,
    seed: int | None,
    horizon: str | None,
    workers: int | None,
    tickets: bool,
    no_plots: bool,
    max_tickets: float,
    tz: str | None,
    no_report: bool,
    xlsx: bool,
) -> None:
    """Run a scenario's replications and write summary, tables and plots."""
    # what a run builds dies with the process: freezing it at exit spares the interpreter's
    # cyclic collections over it on the way out (60 ms of a one-replication run)
    atexit.register(gc.freeze)
    s = load_scenario_with(scenario, horizon=horizon, replications=replications, seed=seed)
    out = out or Path("results") / s.name
    n_workers = workers or default_workers()
    check_work(s, s.replications, n_workers, tickets=tickets, max_tickets=max_tickets, source=str(scenario))
    folder = own_folder(out)
    with ProgressBar(s.replications, f"{s.name}: replications") as progress:
        results = run_replications(
            s, s.replications, workers=n_workers, record_tickets=tickets, progress=progress
        )
    doc, written = write_run(s, results, out, plots=not no_plots, tickets=tickets, tz=display_zone(s, tz))
    if not no_report or xlsx:
        page = run_page(s, doc, results, source=scenario, zone=display_zone(s, tz), command=command_line(),
                        written=written, plots=not no_plots)  # fmt: skip
        written += write_report(page, out, html_name=None if no_report else "report.html", xlsx=xlsx)
    written.append(folder.finish(written))
    print_summary(doc, s)
    print_warnings(doc["warnings"])
    run_info = doc["run"]
    rate = run_info["tickets_simulated"] / max(run_info["wall_time_s"], 1e-9)
    console().print(
        f"{run_info['tickets_simulated']:,} tickets simulated ({rate:,.0f}/s per worker); "
        f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written)
    )


def print_summary(doc: dict, scenario: Any) -> None:
    """The concise per-channel table a planner reads first."""
    table = Table(
        title=f"{doc['scenario']}: {doc['replications']} replication(s), seed {doc['seed']}",
        title_justify="left",
    )
    for col, just in (
        ("channel", "left"), ("offered", "right"), ("answered", "right"), ("abandon", "right"),
        ("blocked", "right"), ("ASA", "right"), ("p90 wait", "right"), ("service level", "right"),
        ("target", "right"), ("occupancy", "right"),
    ):  # fmt: skip
        table.add_column(col, justify=just)
    rows = [(name, block) for name, block in doc["by_channel"].items()]
    rows.append(("all", doc["overall"]["all"]))
    for name, block in rows:
        ch = scenario.channels.get(name)
        sla = ch.sla if ch is not None else None
        sl = mean(block, "service_level")
        target = sla.target if sla is not None else None
        sl_text = pct(sl)
        if target is not None and not math.isnan(sl):
            half = block["service_level"]["ci95"]
            sl_text += f" ±{100 * half:.1f}" if half is not None and not math.isnan(half) else ""
            sl_text = f"[{'green' if sl >= target else 'red'}]{sl_text}[/]"
        table.add_row(
            name if name != "all" else "[bold]all[/]",
            num(mean(block, "offered")),
            num(mean(block, "answered")),
            pct(mean(block, "abandon_rate")),
            pct(mean(block, "block_rate")),
            fmt_s(mean(block, "asa_s")),
            fmt_s(mean(block, "wait_p90_s")),
            sl_text,
            pct(target) if target is not None else "-",
            pct(mean(block, "occupancy")),
        )
    console().print(table)
    if doc.get("by_tier") and "journeys" in doc["overall"]["all"]:
        print_journey(doc)


def print_journey(doc: dict) -> None:
    """The journey at a glance: deflection, escalation, resolution and CSAT per channel, waits per tier."""
    table = Table(title="the service journey", title_justify="left")
    for col in ("channel", "deflected", "escalated", "resolution", "p90 resolution", "CSAT", "satisfied"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    rows = [*doc["by_channel"].items(), ("all", doc["overall"]["all"])]
    for name, block in rows:
        table.add_row(
            name if name != "all" else "[bold]all[/]",
            pct(mean(block, "deflection_rate")),
            pct(mean(block, "escalation_rate")),
            fmt_s(mean(block, "resolution_time_s")),
            fmt_s(mean(block, "resolution_p90_s")),
            f"{mean(block, 'csat_mean'):.2f}",
            pct(mean(block, "csat_satisfied")),
        )
    console().print(table)
    tiers = Table(title="waits by tier (every visit)", title_justify="left")
    for col in ("tier", "visits", "abandoned", "escalated on", "ASA", "p90 wait", "occupancy"):
        tiers.add_column(col, justify="left" if col == "tier" else "right")
    for name, block in doc["by_tier"].items():
        visits = mean(block, "visits")
        if not visits:
            continue
        tiers.add_row(
            name,
            num(visits),
            pct(mean(block, "abandoned") / visits),
            pct(mean(block, "escalation_rate")),
            fmt_s(mean(block, "asa_s")),
            fmt_s(mean(block, "wait_p90_s")),
            pct(mean(block, "occupancy")),
        )
    console().print(tiers)
