"""`simsupport staff`: the staffing recommendation (the search is `staffing.recommend`)."""

from __future__ import annotations

import math
from pathlib import Path

import click
from rich.table import Table

from ..config.derived import display_zone
from ..experiment.replications import default_workers
from ..experiment.sweep import make_executor
from ..outputs.html_pages import write_report
from ..outputs.html_staffing import staff_page
from ..outputs.staffing import write_staffing
from ..staffing.recommend import (
    Achieved,
    Recommendation,
    Shortfall,
    plan_staffing,
    recommend,
)
from ..units import format_duration
from .console import console, interrupted, own_folder, pct
from .report_options import command_line, report_options


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>-staffing].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Local worker processes [all cores].")
@click.option("--scheduler", help="Evaluate on a Dask cluster: the scheduler's address.")
@click.option("--replications", "-r", type=click.IntRange(2), help="Replications per evaluation [staffing.replications, or the scenario's].")
@click.option("--horizon", help="Override the horizon while searching, e.g. 2d.")
@click.option("--swap-budget", type=click.IntRange(0),
              help="Swaps (one agent from one decision to another) to try after the drops settle [4 per decision, at least 24]; 0: none.")  # fmt: skip
@click.option("--no-plots", is_flag=True, help="Skip the plot.")
@report_options
def staff(
    scenario: Path, out: Path | None, workers: int | None, scheduler: str | None, replications: int | None,
    horizon: str | None, swap_budget: int | None, no_plots: bool, tz: str | None, no_report: bool, xlsx: bool,
) -> None:  # fmt: skip
    """Recommend the cheapest headcount per pool and shift that meets every staffing target with 95% confidence.

    The targets are the scenario's staffing.targets (channel, category and tier targets), or
    without them every channel's SLA in each of staffing.scopes."""
    plan = plan_staffing(scenario, replications=replications, horizon=horizon)
    s = plan.scenario
    out = out or Path("results") / f"{s.name}-staffing"
    folder = own_folder(out)
    executor = make_executor(workers or default_workers(), scheduler)
    say = console()
    say.print(
        f"{s.name}: {len(plan.searched)} staffing decisions, {plan.replications} replications per evaluation, "
        f"{len(plan.targets)} targets: {'; '.join(plan.targets)}"
    )
    if plan.kept:
        say.print(
            f"  kept as they are: {', '.join(plan.kept)} (never on duty in the simulated window; lengthen --horizon to staff them)"
        )
    try:
        rec = recommend(plan, out=out, executor=executor, note=lambda msg: say.print("  " + msg), swap_budget=swap_budget)
    except KeyboardInterrupt:
        raise interrupted("evaluations so far are stored") from None
    finally:
        executor.close()
    result = rec.result
    written = write_staffing(s, scenario, plan.variables, plan.needs, result, out, plots=not no_plots, settings=plan.settings,
                             tz=display_zone(s, tz))
    short = rec.shortfall
    warnings = []
    if short is not None:
        warnings.append(f"no staffing the search found meets every target: {why_infeasible(short)}")
    straddle = (f"with one agent fewer on {', '.join(result.straddle)} the 95% intervals straddle the targets "
                "(not surely met, not surely missed); more replications (-r) may show that one fewer is enough")  # fmt: skip
    if result.straddle:
        warnings.append(straddle)
    if plan.kept:
        warnings.append(f"kept as they are: {', '.join(plan.kept)} (never on duty in the simulated window; "
                        "lengthen --horizon to staff them)")  # fmt: skip
    if not no_report or xlsx:
        page = staff_page(rec, command=command_line(), zone=display_zone(s, tz), written=written, plots=not no_plots,
                          warnings=warnings)  # fmt: skip
        written += write_report(page, out, html_name=None if no_report else "report.html", xlsx=xlsx)
    written.append(folder.finish(written))
    print_staffing(rec)
    say.print(
        f"{result.evaluations} staffings evaluated, {result.replications_run} replications run "
        f"({result.replications_reused} reused), {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    sw = result.swap
    if sw:
        say.print(
            f"swap phase: {sw['swaps']} swaps of {sw['tried']} tried, weekly cost {sw['cost_before']:,.0f} -> "
            f"{sw['cost_after']:,.0f} (saved {sw['saved']:,.0f}), {sw['evaluations']} evaluations, {sw['wall_s']:,.1f} s"
        )
    if result.straddle:
        say.print(f"note: {straddle}")
    if short is not None:
        say.print(f"[red]no staffing the search found meets every target[/]: {why_infeasible(short)}")
        raise SystemExit(1)


def _level(a: Achieved, value: float) -> str:
    """A measure's value as read: a share in percent, an ASA as a duration."""
    if math.isnan(value):  # not judged
        return "-"
    if a.measure == "asa":
        return format_duration(value)
    return f"{100 * value:.2f}%" if a.measure == "abandon_rate" else pct(value)


def why_infeasible(short: Shortfall) -> str:
    """What fails and why the search stopped; the bounds are advised only when they bind."""
    misses = "; ".join(
        f"{a.label} reaches at best {_level(a, a.bound)} ({'lower' if a.measure == 'service_level' else 'upper'} 95% "
        f"bound) against {_level(a, a.target)}" for a in short.failing if not math.isnan(a.bound)
    )  # fmt: skip
    failing = ", ".join(a.label for a in short.failing)
    if short.error is not None:
        what = f"every staffing tried is refused ({short.error}), so no target can be judged: {failing}"
    else:
        what = misses or f"failing: {failing}"
    binding = ", ".join(short.binding)
    if binding:
        return (f"{what}. Decisions at their upper bound: {binding}. Raise those bounds (pools.*.bounds.max), "
                "or accept a lower target.")  # fmt: skip
    if short.reason == "rounds":
        return f"{what}. No decision is at its upper bound: the search reached its limit of steps before meeting them."
    if short.reason == "error":
        return f"{what}. No decision is at its upper bound: the staffing is refused for another reason."
    return (f"{what}. No decision is at its upper bound: adding agents did not bring these targets closer "
            "(they may not depend on headcount, e.g. abandonment before anyone could answer); check the targets.")  # fmt: skip


def print_staffing(rec: Recommendation) -> None:
    """The recommended headcounts against today's, with their cost; every target as achieved."""
    title = "recommended staffing" if rec.feasible else "best staffing found: it misses a target, do not use it as is"
    table = Table(title=f"{title} (headcount before shrinkage)", title_justify="left")
    for col in ("pool / shift", "tier", "recommended" if rec.feasible else "best found", "now", "change", "weekly cost"):
        table.add_column(col, justify="left" if col in ("pool / shift", "tier") else "right")
    for v in rec.plan.searched:
        new, cur = rec.result.x[v.label], v.current
        table.add_row(v.label, rec.plan.scenario.pool(v.pool).tier, str(new), str(cur),
                      f"{new - cur:+d}" if new != cur else "", f"{new * v.weekly_cost:,.0f}")  # fmt: skip
    total, now = rec.weekly_cost, rec.weekly_cost_now
    table.add_row("[bold]total[/]", "", "", "", f"{100 * (total / now - 1):+.1f}%" if now else "", f"{total:,.0f}")
    console().print(table)
    levels = Table(title="targets achieved (mean, and the 95% bound judged against the goal)", title_justify="left")
    for col in ("target", "goal", "mean", "bound", ""):
        levels.add_column(col, justify="left" if col == "target" else "right")
    for a in rec.achieved:
        levels.add_row(a.label, _level(a, a.target), _level(a, a.mean), _level(a, a.bound),
                       "[green]met[/]" if a.met else "[red]missed[/]")  # fmt: skip
    console().print(levels)
