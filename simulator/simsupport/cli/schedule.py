"""`simsupport schedule`: a roster of shift starts, templates, breaks and days off (the search is
`staffing.schedule`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from ..config.derived import display_zone
from ..config.load import load_scenario_with
from ..outputs.html_pages import write_report
from ..outputs.html_staffing import schedule_page
from ..outputs.schedule import roster_frame, write_schedule
from ..staffing.schedule import schedule as find_roster
from .console import console, fmt_s, own_folder, pct
from .report_options import command_line, report_options


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>-schedule].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Local worker processes [all cores].")
@click.option("--scheduler", help="Dask scheduler address: evaluate rosters on a cluster.")
@click.option("--replications", "-r", type=click.IntRange(2), help="Replications per evaluation [staffing.replications, or the scenario's].")
@click.option("--horizon", default="7d", show_default=True, help="Simulated horizon of every evaluation (the planning week).")
@click.option("--slot", default=30, show_default=True, type=click.IntRange(5, 240), help="Planning slot, minutes.")
@click.option("--rounds", default=6, show_default=True, type=click.IntRange(0), help="Most times the requirement is raised where targets fail.")
@click.option("--moves", default=40, show_default=True, type=click.IntRange(0), help="Most local moves simulated (trims, template, start and break moves).")
@click.option("--time-limit", default=20.0, show_default=True, type=click.FloatRange(0.1), help="Seconds per covering MILP and pool.")
@click.option("--no-plots", is_flag=True, help="Skip the plot.")
@report_options
def schedule(
    scenario: Path, out: Path | None, workers: int | None, scheduler: str | None, replications: int | None,
    horizon: str, slot: int, rounds: int, moves: int, time_limit: float, no_plots: bool, tz: str | None,
    no_report: bool, xlsx: bool,
) -> None:  # fmt: skip
    """Choose shift start times, templates, breaks and days off that meet every target at least cost.

    Evaluations are stored in the output folder: run it again after an interruption and it
    resumes where it stopped."""
    say = console()
    out = out or Path("results") / f"{load_scenario_with(scenario, staffing_as_given=False).name}-schedule"
    folder = own_folder(out)
    result = find_roster(scenario, out=out, workers=workers, scheduler=scheduler, replications=replications,
                         horizon=horizon, slot=slot * 60.0, max_rounds=rounds, max_moves=moves, time_limit=time_limit,
                         note=lambda m: say.print(m))  # fmt: skip
    s = result.scenario
    written = write_schedule(result, scenario, out, plots=not no_plots)
    unmet = [f"{target}{when}: {why}" for (target, why), when in _unmet_lines(result.unmet).items()]
    if not no_report or xlsx:
        page = schedule_page(result, scenario, command=command_line(), zone=display_zone(s, tz), written=written,
                             plots=not no_plots, warnings=(["not every target is met:"] if unmet else []) + unmet)  # fmt: skip
        written += write_report(page, out, html_name=None if no_report else "report.html", xlsx=xlsx)
    written.append(folder.finish(written))
    table = Table(title=f"{s.name}: roster")
    frame = roster_frame(result)
    for col in ("pool", "template", "days", "start", "end", "breaks", "agents", "paid_hours", "cost"):
        table.add_column(col, justify="right" if col in ("agents", "paid_hours", "cost") else "left")
    for row in frame.itertuples(index=False):
        table.add_row(row.pool, row.template, row.days, row.start, row.end, row.breaks, str(row.agents),
                      f"{row.paid_hours:,.1f}", f"{row.cost:,.0f}")  # fmt: skip
    say.print(table)
    targets = Table(title="targets (95% bounds over replications)")
    for col in ("target", "measure", "goal", "mean", "bound", "met"):
        targets.add_column(col)
    for t in result.targets:
        fmt = pct if t.measure != "asa" else (lambda v: f"{v:,.0f}s")
        bound = t.lower if t.measure == "service_level" else t.upper
        targets.add_row(t.label, t.measure, fmt(t.goal), fmt(t.mean), fmt(bound), "yes" if t.met else "[red]no[/]")
    say.print(targets)
    saved = (1 - result.paid_hours / result.today_hours) if result.today_hours else None
    say.print(
        f"{sum(x.agents for x in result.lines)} agents, {result.paid_hours:,.0f} paid agent-hours a week"
        + (f" ({saved:+.1%} against today's {result.today_hours:,.0f})" if saved is not None else "")
        + f"; {result.evaluations} evaluations, {result.replications_run} replications run"
        + (f" ({result.replications_reused} found stored)" if result.replications_reused else "")
        + f", {result.wall_s:,.0f} s"
    )
    say.print(f"wrote {len(written)} files to {out}/")
    if not result.feasible or result.unmet:
        say.print("[red]not every target is met[/] (unmet.csv lists every target, period and slot):")
        for line in unmet:
            say.print(f"  {line}")
        sys.exit(1)


def _unmet_lines(rows: list[dict]) -> dict[tuple[str, str], str]:
    """(target, why) -> when it fails: ' in 3 period(s), first at 1d 2h from the start'."""
    out = {}
    for key, group in _grouped(rows).items():
        periods = [r["interval"] for r in group if r["interval"] is not None]
        out[key] = f" in {len(periods)} period(s), first at {fmt_s(min(periods))} from the start" if periods else ""
    return out


def _grouped(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        key = (r["target"] if r["target"] != "requirement" else f"requirement of {r['pool']}", r["why"])
        out.setdefault(key, []).append(r)
    return out
