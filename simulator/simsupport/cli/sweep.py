"""`simsupport sweep` (an experiment's points, resumable, on cores or Dask) and `simsupport plot`
(its plots again, from the stored tables)."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..errors import ScenarioError
from ..experiment import sweep as sweeps
from ..experiment.replications import default_workers
from ..experiment.spec import Precision, load_experiment
from ..experiment.statistics import mean_ci95
from ..experiment.sweep import Store, run_sweep
from ..config.derived import display_zone
from ..outputs.html_pages import write_report
from ..outputs.html_sweep import sweep_page
from ..outputs.sweep_tables import draw, metric_names, write_sweep
from .console import ProgressBar, console, fmt_s, interrupted, pct
from .report_options import command_line, report_options


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
    tz: str | None,
    no_report: bool,
    xlsx: bool,
) -> None:
    """Run an experiment: every point's replications, resumable, on cores or a Dask cluster."""
    exp = load_experiment(experiment)
    prec = _precision(exp.spec.precision, precision, max_replications, experiment)
    out = out or Path("results") / exp.spec.name
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
    if (not no_report or xlsx) and exp.points:
        zone = display_zone(exp.points[0].scenario, tz)
        page = sweep_page(exp, result, command=command_line(), zone=zone, written=written, plots=not no_plots)
        written += write_report(page, out, html_name=None if no_report else "report.html", xlsx=xlsx)
    print_points(exp, result)
    say = console()
    say.print(
        f"{exp.spec.name}: {len(exp.points)} points, {result.ran} replications run, {result.reused} reused "
        f"from {out}/runs, {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    for p, m, half in result.unmet:
        say.print(f"[yellow]precision not reached[/] at {p.label}: {m} ±{half:.4g} after the maximum replications")
    if result.failures:
        for p, k, err in result.failures:
            say.print(f"[red]failed[/] {p.label}, replication {k}: {err}")
        say.print(f"{len(result.failures)} task(s) failed (details in {out}/runs/*/error-*.json); rerun to retry them")
        raise SystemExit(1)


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
        update = {"relative": value / 100, "half_width": None} if text.endswith("%") else {"half_width": value, "relative": None}
    if max_replications is not None:
        update["max_replications"] = max_replications
    return Precision.model_validate({**prec.model_dump(by_alias=True), **update})


def print_points(exp: Any, result: Any, limit: int = 40) -> None:
    """One line per point: the overall figures a planner compares first."""
    table = Table(title=f"{exp.spec.name}: overall, mean ±95% CI", title_justify="left")
    for col in ("point", "reps", "service level", "ASA", "abandon", "occupancy"):
        table.add_column(col, justify="left" if col == "point" else "right")
    for p in exp.points[:limit]:
        res = result.results[p.index]

        def stat(metric: str, res: dict[int, dict[str, Any]] = res) -> tuple[float, float]:
            vals = [r["metrics"].get(metric) for r in res.values()]
            return mean_ci95([v for v in vals if v is not None])

        sl, sl_h = stat("overall.all.service_level")
        asa, _ = stat("overall.all.asa_s")
        ab, _ = stat("overall.all.abandon_rate")
        occ, _ = stat("overall.all.occupancy")
        half = f" ±{100 * sl_h:.1f}" if not math.isnan(sl_h) else ""
        table.add_row(p.label, str(len(res)), pct(sl) + half, fmt_s(asa), pct(ab), pct(occ))
    if len(exp.points) > limit:
        table.add_row(f"... {len(exp.points) - limit} more in points.csv", "", "", "", "", "")
    console().print(table)


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
