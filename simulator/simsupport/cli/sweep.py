"""`simsupport sweep` (an experiment's points, resumable, on cores or Dask) and `simsupport plot`
(its plots again, from the stored tables)."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from ..config.derived import display_zone
from ..errors import ScenarioError
from ..experiment import sweep as sweeps
from ..experiment.guard import MAX_TICKETS, check_work
from ..experiment.replications import default_workers
from ..experiment.spec import Precision, load_experiment
from ..experiment.sweep import Store, run_sweep
from ..outputs.html_pages import write_report
from ..outputs.html_sweep import sweep_page
from ..outputs.sweep_tables import draw, metric_names, write_sweep
from .console import ProgressBar, console, interrupted, own_folder
from .report_options import command_line, report_options
from .sweep_console import print_sweep


@click.command()
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Local worker processes [all cores].")
@click.option("--scheduler", help="Run on a Dask cluster: the scheduler's address, e.g. tcp://10.0.0.5:8786.")
@click.option("--replications", "-r", type=click.IntRange(1), help="Replications per point (overrides the file).")
@click.option(
    "--precision",
    help="Add replications until the 95% CI half-width of the file's precision metrics is below this: "
    "a number (absolute) or a percentage of the mean (e.g. 2%).",
)
@click.option("--max-replications", type=click.IntRange(2), help="Cap for --precision [the file's, or 100].")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--max-tickets", type=click.FloatRange(min=1), default=MAX_TICKETS, show_default=True,
              help="Refuse sweeps expected to simulate more contacts than this in all.")
@report_options
def sweep(
    experiment: Path,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    replications: int | None,
    precision: str | None,
    max_replications: int | None,
    no_plots: bool,
    max_tickets: float,
    tz: str | None,
    no_report: bool,
    xlsx: bool,
) -> None:
    """Run an experiment: every point's replications, resumable, on cores or a Dask cluster."""
    exp = load_experiment(experiment)
    prec = _precision(exp.spec.precision, precision, max_replications, experiment)
    out = out or Path("results") / exp.spec.name
    reps = replications or (prec.min_replications if prec is not None else exp.replications)
    if scheduler is None:  # a cluster's memory is the cluster's
        check_work([p.scenario for p in exp.points], reps, workers or default_workers(), max_tickets=max_tickets,
                   source=str(experiment))
    else:
        check_work([p.scenario for p in exp.points], reps, 1, max_tickets=max_tickets, source=str(experiment))
    folder = own_folder(out)
    store = Store(out)
    executor = sweeps.make_executor(workers or default_workers(), scheduler)  # via the module: tests replace it
    label = f"{exp.spec.name}: {len(exp.points)} points"
    try:
        with ProgressBar(len(exp.points) * exp.replications, label) as progress:
            result = run_sweep(exp, store, executor=executor, replications=replications, precision=prec, progress=progress)
    except KeyboardInterrupt:
        raise interrupted("every finished replication is stored") from None
    finally:
        executor.close()
    if prec is not None:
        names = metric_names([r for res in result.results.values() for r in res.values()])
        for m in prec.metrics:
            if names and m not in names:
                near = ", ".join(difflib.get_close_matches(m, sorted(names), n=3, cutoff=0.4))
                raise ScenarioError(
                    f"precision metric {m!r} is not a metric of this experiment; nearest: {near or '(none)'}",
                    file=str(experiment), field="precision.metrics",
                )
    written = write_sweep(exp, result, out, plots=not no_plots)
    say = console()
    if result.failures:  # no table, curve or report from partial data, and no manifest: not a finished set
        for p, k, err in result.failures:
            say.print(f"[red]failed[/] {p.label}, replication {k}: {err}")
        say.print(f"{len(result.failures)} task(s) failed (details in {out}/runs/*/error-*.json); points, comparisons, "
                  "curves and the report are not written from partial data; rerun to retry them")
        raise SystemExit(1)
    if (not no_report or xlsx) and exp.points:
        zone = display_zone(exp.points[0].scenario, tz)
        page = sweep_page(exp, result, command=command_line(), zone=zone, written=written, plots=not no_plots)
        written += write_report(page, out, html_name=None if no_report else "report.html", xlsx=xlsx)
    written.append(folder.finish(written))
    print_sweep(exp, result)
    say.print(
        f"{exp.spec.name}: {len(exp.points)} points, {result.ran} replications run, {result.reused} reused "
        f"from {out}/runs, {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    for p, m, half in result.unmet:
        say.print(f"[yellow]precision not reached[/] at {p.label}: {m} ±{half:.4g} after the maximum replications")


def _precision(prec: Precision | None, precision: str | None, max_replications: int | None, experiment: Path) -> Precision | None:
    """The file's precision settings with --precision and --max-replications applied."""
    if precision is None and max_replications is None:
        return prec
    if prec is None:
        raise ScenarioError(
            "--precision needs the experiment's `precision: {metrics: [...]}` to say which metrics",
            file=str(experiment), field="precision",
        )
    update: dict[str, Any] = {}
    if precision is not None:
        text = precision.strip()
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            raise click.BadParameter(f"{precision!r} is not a number or a percentage", param_hint="--precision") from None
        if not math.isfinite(value) or value <= 0:
            raise click.BadParameter(f"{precision!r}: the target half-width must be a positive number (0.01) or "
                                     "percentage of the mean (2%)", param_hint="--precision")
        update = {"relative": value / 100, "half_width": None} if text.endswith("%") else {"half_width": value, "relative": None}
    if max_replications is not None:
        update["max_replications"] = max_replications
    try:
        return Precision.model_validate({**prec.model_dump(by_alias=True), **update})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise click.BadParameter(str(err["msg"]).removeprefix("Value error, "),
                                 param_hint="--max-replications" if max_replications is not None else "--precision") from None


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def plot(folder: Path) -> None:
    """Redraw a sweep's plots from its stored tables, without rerunning anything."""
    if not (folder / "experiment.json").is_file() or not (folder / "points.parquet").is_file():
        raise ScenarioError(
            "not a sweep's output folder: experiment.json and points.parquet are missing "
            "(run `simsupport sweep EXPERIMENT --out FOLDER` first)",
            file=str(folder),
        )
    written = draw(folder)
    console().print(f"wrote {', '.join(p.name for p in written)} to {folder}/")
