"""`simsupport staff`: the staffing recommendation (the search is `staffing.recommend`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..experiment.replications import default_workers
from ..experiment.sweep import make_executor
from ..outputs.staffing import write_staffing
from ..staffing.recommend import Recommendation, plan_staffing, recommend
from .console import console, interrupted, pct


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>-staffing].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Local worker processes [all cores].")
@click.option("--scheduler", help="Evaluate on a Dask cluster: the scheduler's address.")
@click.option("--replications", "-r", type=click.IntRange(2), help="Replications per evaluation [staffing.replications, or the scenario's].")
@click.option("--horizon", help="Override the horizon while searching, e.g. 2d.")
@click.option("--no-plots", is_flag=True, help="Skip the plot.")
def staff(
    scenario: Path, out: Path | None, workers: int | None, scheduler: str | None, replications: int | None,
    horizon: str | None, no_plots: bool,
) -> None:  # fmt: skip
    """Recommend the cheapest headcount per pool and shift that meets every SLA with 95% confidence."""
    plan = plan_staffing(scenario, replications=replications, horizon=horizon)
    s = plan.scenario
    out = out or Path("results") / f"{s.name}-staffing"
    executor = make_executor(workers or default_workers(), scheduler)
    say = console()
    say.print(
        f"{s.name}: {len(plan.searched)} staffing decisions, {plan.replications} replications per evaluation, "
        f"scopes {', '.join(plan.scopes)}"
    )
    if plan.kept:
        say.print(
            f"  kept as they are: {', '.join(plan.kept)} (never on duty in the simulated window; lengthen --horizon to staff them)"
        )
    try:
        rec = recommend(plan, out=out, executor=executor, note=lambda msg: say.print("  " + msg))
    except KeyboardInterrupt:
        raise interrupted("evaluations so far are stored") from None
    finally:
        executor.close()
    result = rec.result
    written = write_staffing(s, scenario, plan.variables, plan.needs, result, out, plots=not no_plots, settings=plan.settings)
    print_staffing(rec)
    say.print(
        f"{result.evaluations} staffings evaluated, {result.replications_run} replications run "
        f"({result.replications_reused} reused), {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    if result.straddle:
        say.print(
            f"note: with one agent fewer on {', '.join(result.straddle)} the 95% intervals straddle the targets "
            "(not surely met, not surely missed); more replications (-r) may show that one fewer is enough"
        )
    short = rec.shortfall
    if short is not None:
        what = (
            f"channel {short.channel!r} ({short.scope}) reaches at best {100 * short.lower:.1f}% (lower 95% bound) "
            f"against its target {100 * short.target:.0f}%" if short.channel is not None and short.lower is not None
            and short.target is not None else f"even the largest staffing tried is refused ({short.error})"
        )  # fmt: skip
        say.print(
            f"[red]no staffing within the bounds meets every target[/]: {what}; decisions at their upper "
            f"bound: {', '.join(short.binding) or 'none'}. Raise those bounds (pools.*.bounds.max), or accept a lower target."
        )
        raise SystemExit(1)


def print_staffing(rec: Recommendation) -> None:
    """The recommended headcounts against today's, with their cost; the service levels achieved."""
    table = Table(title="recommended staffing (headcount before shrinkage)", title_justify="left")
    for col in ("pool / shift", "recommended", "now", "change", "weekly cost"):
        table.add_column(col, justify="left" if col == "pool / shift" else "right")
    for v in rec.plan.searched:
        new, cur = rec.result.x[v.label], v.current
        table.add_row(v.label, str(new), str(cur), f"{new - cur:+d}" if new != cur else "", f"{new * v.weekly_cost:,.0f}")
    total, now = rec.weekly_cost, rec.weekly_cost_now
    table.add_row("[bold]total[/]", "", "", f"{100 * (total / now - 1):+.1f}%" if now else "", f"{total:,.0f}")
    console().print(table)
    levels = Table(title="service level achieved (mean, lower 95% bound)", title_justify="left")
    for col in ("channel", "scope", "target", "mean", "lower bound", ""):
        levels.add_column(col, justify="left" if col in ("channel", "scope") else "right")
    for a in rec.achieved:
        levels.add_row(a.channel, a.scope, pct(a.target), pct(a.mean), pct(a.lower), "[green]met[/]" if a.met else "[red]missed[/]")
    console().print(levels)
