"""The command line: the only module that knows about terminals and exit codes.

Exit codes: 0 ok, 2 bad input (a ScenarioError or a usage error: one paragraph, no
traceback), 1 anything else (a short message; the traceback only with --debug).
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import ScenarioError, SimsupportError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 132)  # logs and pipes: don't squeeze tables
    return console


def _fmt_s(v: float | None) -> str:
    from .units import format_duration

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format_duration(v) if v >= 1 else f"{v:.1f}s"


def _pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{100 * v:.1f}%"


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.0f}"


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def _mean(block: dict, metric: str) -> float:
    m = block.get(metric)
    return math.nan if m is None or m["mean"] is None else m["mean"]


def print_summary(doc: dict, scenario: Any) -> None:
    """The concise per-channel table a planner reads first."""
    from rich.table import Table

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
        sl = _mean(block, "service_level")
        target = sla.target if sla is not None else None
        sl_text = _pct(sl)
        if target is not None and not math.isnan(sl):
            half = block["service_level"]["ci95"]
            sl_text += f" ±{100 * half:.1f}" if half is not None and not math.isnan(half) else ""
            sl_text = f"[{'green' if sl >= target else 'red'}]{sl_text}[/]"
        table.add_row(
            name if name != "all" else "[bold]all[/]",
            _num(_mean(block, "offered")),
            _num(_mean(block, "answered")),
            _pct(_mean(block, "abandon_rate")),
            _pct(_mean(block, "block_rate")),
            _fmt_s(_mean(block, "asa_s")),
            _fmt_s(_mean(block, "wait_p90_s")),
            sl_text,
            _pct(target) if target is not None else "-",
            _pct(_mean(block, "occupancy")),
        )
    _console().print(table)
    if doc.get("by_tier") and "journeys" in doc["overall"]["all"]:
        print_journey(doc)


def print_journey(doc: dict) -> None:
    """The journey at a glance: deflection, escalation, resolution and CSAT per channel, waits per tier."""
    from rich.table import Table

    table = Table(title="the service journey", title_justify="left")
    for col in ("channel", "deflected", "escalated", "resolution", "p90 resolution", "CSAT", "satisfied"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    rows = [*doc["by_channel"].items(), ("all", doc["overall"]["all"])]
    for name, block in rows:
        table.add_row(
            name if name != "all" else "[bold]all[/]",
            _pct(_mean(block, "deflection_rate")),
            _pct(_mean(block, "escalation_rate")),
            _fmt_s(_mean(block, "resolution_time_s")),
            _fmt_s(_mean(block, "resolution_p90_s")),
            f"{_mean(block, 'csat_mean'):.2f}",
            _pct(_mean(block, "csat_satisfied")),
        )
    _console().print(table)
    tiers = Table(title="waits by tier (every visit)", title_justify="left")
    for col in ("tier", "visits", "abandoned", "escalated on", "ASA", "p90 wait", "occupancy"):
        tiers.add_column(col, justify="left" if col == "tier" else "right")
    for name, block in doc["by_tier"].items():
        visits = _mean(block, "visits")
        if not visits:
            continue
        tiers.add_row(
            name,
            _num(visits),
            _pct(_mean(block, "abandoned") / visits),
            _pct(_mean(block, "escalation_rate")),
            _fmt_s(_mean(block, "asa_s")),
            _fmt_s(_mean(block, "wait_p90_s")),
            _pct(_mean(block, "occupancy")),
        )
    _console().print(tiers)


class _Progress:
    """A rich progress bar on stderr (prints once, without frames, when not a terminal)."""

    def __init__(self, total: int, label: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=_console(stderr=True), transient=False,
        )  # fmt: skip
        self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> _Progress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simsupport")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Simulate a multilingual support desk under market volatility."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<name>].")
@click.option("--replications", "-r", type=click.IntRange(1), help="Override the scenario's replications.")
@click.option("--seed", type=click.IntRange(0), help="Override the scenario's seed.")
@click.option("--horizon", help="Override the horizon, e.g. 24h or 7d.")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes [all cores].")
@click.option("--tickets", is_flag=True, help="Also write tickets.parquet, one row per attempt.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
def run(
    scenario: Path,
    out: Path | None,
    replications: int | None,
    seed: int | None,
    horizon: str | None,
    workers: int | None,
    tickets: bool,
    no_plots: bool,
) -> None:
    """Run a scenario's replications and write summary, tables and plots."""
    from .config.load import load_scenario_with
    from .experiment.replications import default_workers, run_replications
    from .outputs.report import write_run

    s = load_scenario_with(scenario, horizon=horizon, replications=replications, seed=seed)
    out = out or Path("results") / s.name
    n_workers = workers or default_workers()
    with _Progress(s.replications, f"{s.name}: replications") as progress:
        results = run_replications(
            s, s.replications, workers=n_workers, record_tickets=tickets, progress=progress
        )
    doc, written = write_run(s, results, out, plots=not no_plots, tickets=tickets)
    print_summary(doc, s)
    run_info = doc["run"]
    rate = run_info["tickets_simulated"] / max(run_info["wall_time_s"], 1e-9)
    _console().print(
        f"{run_info['tickets_simulated']:,} tickets simulated ({rate:,.0f}/s per worker); "
        f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written)
    )


@cli.command()
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
def sweep(
    experiment: Path,
    out: Path | None,
    workers: int | None,
    scheduler: str | None,
    replications: int | None,
    precision: str | None,
    max_replications: int | None,
    no_plots: bool,
) -> None:
    """Run an experiment: every point's replications, resumable, on cores or a Dask cluster."""
    from .errors import ScenarioError
    from .experiment.replications import default_workers
    from .experiment.spec import Precision, load_experiment
    from .experiment.sweep import Store, make_executor, run_sweep
    from .outputs.sweep_tables import metric_names, write_sweep

    exp = load_experiment(experiment)
    prec = exp.spec.precision
    if precision is not None or max_replications is not None:
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
        prec = Precision.model_validate({**prec.model_dump(by_alias=True), **update})
    out = out or Path("results") / exp.spec.name
    store = Store(out)
    executor = make_executor(workers or default_workers(), scheduler)
    label = f"{exp.spec.name}: {len(exp.points)} points"
    try:
        with _Progress(len(exp.points) * exp.replications, label) as progress:
            result = run_sweep(exp, store, executor=executor, replications=replications, precision=prec, progress=progress)
    except KeyboardInterrupt:
        _console(stderr=True).print(
            "interrupted: every finished replication is stored; run the same command again to resume"
        )
        raise SystemExit(130) from None
    finally:
        executor.close()
    if prec is not None:
        names = metric_names([r for res in result.results.values() for r in res.values()])
        for m in prec.metrics:
            if names and m not in names:
                import difflib

                near = ", ".join(difflib.get_close_matches(m, sorted(names), n=3, cutoff=0.4))
                raise ScenarioError(
                    f"precision metric {m!r} is not a metric of this experiment; nearest: {near or '(none)'}",
                    file=str(experiment), field="precision.metrics",
                )
    written = write_sweep(exp, result, out, plots=not no_plots)
    print_points(exp, result)
    console = _console()
    console.print(
        f"{exp.spec.name}: {len(exp.points)} points, {result.ran} replications run, {result.reused} reused "
        f"from {out}/runs, {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    for p, m, half in result.unmet:
        console.print(f"[yellow]precision not reached[/] at {p.label}: {m} ±{half:.4g} after the maximum replications")
    if result.failures:
        for p, k, err in result.failures:
            console.print(f"[red]failed[/] {p.label}, replication {k}: {err}")
        console.print(f"{len(result.failures)} task(s) failed (details in {out}/runs/*/error-*.json); rerun to retry them")
        raise SystemExit(1)


def print_points(exp: Any, result: Any, limit: int = 40) -> None:
    """One line per point: the overall figures a planner compares first."""
    from rich.table import Table

    from .experiment.statistics import mean_ci95

    table = Table(title=f"{exp.spec.name}: overall, mean ±95% CI", title_justify="left")
    for col in ("point", "reps", "service level", "ASA", "abandon", "occupancy"):
        table.add_column(col, justify="left" if col == "point" else "right")
    for p in exp.points[:limit]:
        res = result.results[p.index]

        def stat(metric: str) -> tuple[float, float]:
            vals = [r["metrics"].get(metric) for r in res.values()]
            return mean_ci95([v for v in vals if v is not None])

        sl, sl_h = stat("overall.all.service_level")
        asa, _ = stat("overall.all.asa_s")
        ab, _ = stat("overall.all.abandon_rate")
        occ, _ = stat("overall.all.occupancy")
        half = f" ±{100 * sl_h:.1f}" if not math.isnan(sl_h) else ""
        table.add_row(p.label, str(len(res)), _pct(sl) + half, _fmt_s(asa), _pct(ab), _pct(occ))
    if len(exp.points) > limit:
        table.add_row(f"... {len(exp.points) - limit} more in points.csv", "", "", "", "", "")
    _console().print(table)


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Baseline folder.")
@click.option("--horizon", help="Run (and later check) with this horizon, e.g. 1d: quicker CI.")
@click.option("--replications", "-r", type=click.IntRange(2), help="Replications to store [the scenario's].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes [all cores].")
def baseline(scenarios: tuple[Path, ...], out: Path, horizon: str | None, replications: int | None, workers: int | None) -> None:
    """Write or refresh the baselines that `simsupport check` compares against."""
    from .experiment.replications import default_workers
    from .regression.baseline import make_baseline, write_baseline

    for path in scenarios:
        b = make_baseline(path, horizon=horizon, replications=replications, workers=workers or default_workers())
        written = write_baseline(b, out)
        _console().print(
            f"{b.scenario}: {len(b.metrics)} metrics x {b.replications} replications (seed {b.seed}"
            + (f", horizon {horizon}" if horizon else "") + f") -> {written}"
        )


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--baseline", "folder", required=True, type=click.Path(file_okay=False, path_type=Path), help="Baseline folder.")
@click.option("--mode", type=click.Choice(["statistical", "exact"]), help="[statistical, or the config's]")
@click.option("--alpha", type=click.FloatRange(0, 0.5, min_open=True, max_open=True), help="Family-wise false-alarm level [0.01].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML with mode, alpha, metrics (patterns), ignore, tolerances.")  # fmt: skip
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write a JSON report here.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report here.")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes [all cores].")
def check(
    scenarios: tuple[Path, ...], folder: Path, mode: str | None, alpha: float | None, config_file: Path | None,
    report: Path | None, junit: Path | None, workers: int | None,
) -> None:  # fmt: skip
    """Rerun scenarios and compare with their baselines: exit 0 pass, 1 regression, 2 bad input."""
    from .experiment.replications import default_workers
    from .outputs.summary import scenario_hash
    from .regression.baseline import (
        baseline_path,
        load_for_run,
        read_baseline,
        run_metrics,
    )
    from .regression.compare import ScenarioCheck, compare
    from .regression.report import write_json_report, write_junit

    config = _check_config(config_file)
    update = {k: v for k, v in (("mode", mode), ("alpha", alpha)) if v is not None}
    config = config.model_copy(update=update)
    checks: list[ScenarioCheck] = []
    for path in scenarios:
        plain = load_for_run(path)  # the file as it is (for its name and to tell a changed file)
        b = read_baseline(baseline_path(folder, plain.name))
        s = load_for_run(path, horizon=b.horizon, replications=b.replications, seed=b.seed)
        new = run_metrics(s, workers or default_workers())
        rows = compare(b.metrics, new, config)
        checks.append(
            ScenarioCheck(s.name, str(b.path), config.mode, config.alpha, scenario_hash(s) != b.scenario_hash, b.version, rows)
        )
    for c in checks:
        _print_check(c)
    if report is not None:
        write_json_report(report, checks)
    if junit is not None:
        write_junit(junit, checks)
    if not all(c.passed for c in checks):
        raise SystemExit(1)


def _check_config(path: Path | None) -> Any:
    from .config.load import read_data
    from .errors import ScenarioError
    from .regression.compare import CheckConfig

    if path is None:
        return CheckConfig()
    from pydantic import ValidationError

    text = path.read_text(encoding="utf-8") if path.is_file() else None
    if text is not None and not [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]:
        return CheckConfig()  # every key is optional: an empty file means the defaults
    try:
        return CheckConfig.model_validate(read_data(path)[1] or {})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(str(err["msg"]).removeprefix("Value error, "), file=str(path), field=where or None) from None


def _print_check(c: Any) -> None:
    from rich.table import Table

    console = _console()
    moved = [r for r in c.rows if r.verdict not in ("same",)]
    status = "[green]pass[/]" if c.passed else f"[red]{len(c.failures)} regression(s)[/]"
    why = " (the scenario file changed since the baseline)" if c.scenario_changed else " (same scenario file: a code change)"
    console.print(f"{c.scenario}: {status}; {len(c.rows)} metrics compared ({c.mode}, alpha {c.alpha:g}), "
                  f"{len(moved)} moved{why if moved else ''}")  # fmt: skip
    if not moved:
        return
    table = Table(show_header=True)
    for col in ("metric", "old", "new", "delta", "p", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
    order = {"regression": 0, "changed": 0, "missing": 0, "within tolerance": 1, "within noise": 2, "untestable": 3, "new": 4}
    shown = sorted(moved, key=lambda r: (order.get(r.verdict, 5), r.p_value if math.isfinite(r.p_value) else 1))
    for r in shown[:30]:
        color = "red" if r.verdict in ("regression", "changed", "missing") else "default"
        rel = f" ({100 * r.relative:+.1f}%)" if math.isfinite(r.relative) else ""
        table.add_row(r.metric, f"{r.old:.5g}", f"{r.new:.5g}", f"{r.delta:+.4g}{rel}",
                      f"{r.p_value:.2g}" if math.isfinite(r.p_value) else "-", f"[{color}]{r.verdict}[/]")  # fmt: skip
    if len(shown) > 30:
        table.add_row(f"... {len(shown) - 30} more (see --report)", "", "", "", "", "")
    console.print(table)


@cli.command()
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
    from .config.load import load_scenario_with, read_data
    from .experiment.replications import default_workers
    from .experiment.sweep import Store, make_executor
    from .outputs.staffing import write_staffing
    from .staffing.requirements import analytic_start, pool_needs
    from .staffing.search import Evaluator, search
    from .staffing.variables import cost, decision_variables, exercised

    s = load_scenario_with(scenario, horizon=horizon, staffing_as_given=False)  # today's may be short
    goal = s.staffing
    scopes = list(goal.scopes) if goal is not None else ["overall"]
    reps = replications or (goal.replications if goal is not None and goal.replications else s.replications)
    data = read_data(scenario)[1]
    if horizon is not None:
        data = {**data, "horizon": horizon}
    all_vars = decision_variables(s)
    vars_ = [v for v in all_vars if exercised(s, v)]
    idle = [v.label for v in all_vars if v not in vars_]
    needs = pool_needs(s)
    start = analytic_start(s, vars_, needs)
    out = out or Path("results") / f"{s.name}-staffing"
    executor = make_executor(workers or default_workers(), scheduler)
    console = _console()
    console.print(f"{s.name}: {len(vars_)} staffing decisions, {reps} replications per evaluation, scopes {', '.join(scopes)}")
    if idle:
        console.print(
            f"  kept as they are: {', '.join(idle)} (never on duty in the simulated window; lengthen --horizon to staff them)"
        )
    try:
        ev = Evaluator(s, data, vars_, reps, scopes, Store(out), executor, scenario.resolve().parent, str(scenario))
        result = search(ev, start, note=lambda msg: console.print("  " + msg))
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted: evaluations so far are stored; run the same command again to resume")
        raise SystemExit(130) from None
    finally:
        executor.close()
    settings = {"replications": reps, "scopes": scopes, "horizon": horizon, "kept_as_is": idle}
    written = write_staffing(s, scenario, all_vars, needs, result, out, plots=not no_plots, settings=settings)
    _print_staffing(vars_, result, cost)
    console.print(
        f"{result.evaluations} staffings evaluated, {result.replications_run} replications run "
        f"({result.replications_reused} reused), {result.wall_s:,.1f} s; wrote " + ", ".join(p.name for p in written)
    )
    if result.straddle:
        console.print(
            f"note: with one agent fewer on {', '.join(result.straddle)} the 95% intervals straddle the targets "
            "(not surely met, not surely missed); more replications (-r) may show that one fewer is enough"
        )
    if not result.feasible:
        e = result.evaluation
        missed = e.missed() or [(ch, sc, e.lower((ch, sc))) for (ch, sc) in e.levels][:1]
        worst = min(missed, key=lambda m: m[2] - e.targets[m[0]]) if missed else None
        what = (
            f"channel {worst[0]!r} ({worst[1]}) reaches at best {100 * worst[2]:.1f}% (lower 95% bound) against "
            f"its target {100 * e.targets[worst[0]]:.0f}%" if worst
            else f"even the largest staffing tried is refused ({e.error})"
        )  # fmt: skip
        bound = ", ".join(result.binding) or "none"
        console.print(
            f"[red]no staffing within the bounds meets every target[/]: {what}; decisions at their upper "
            f"bound: {bound}. Raise those bounds (pools.*.bounds.max), or accept a lower target."
        )
        raise SystemExit(1)


def _print_staffing(vars_: list[Any], result: Any, cost: Any) -> None:
    from rich.table import Table

    table = Table(title="recommended staffing (headcount before shrinkage)", title_justify="left")
    for col in ("pool / shift", "recommended", "now", "change", "weekly cost"):
        table.add_column(col, justify="left" if col == "pool / shift" else "right")
    for v in vars_:
        rec, cur = result.x[v.label], v.current
        table.add_row(v.label, str(rec), str(cur), f"{rec - cur:+d}" if rec != cur else "", f"{rec * v.weekly_cost:,.0f}")
    from .staffing.variables import current

    total, now = cost(vars_, result.x), cost(vars_, current(vars_))
    table.add_row("[bold]total[/]", "", "", f"{100 * (total / now - 1):+.1f}%" if now else "", f"{total:,.0f}")
    _console().print(table)
    levels = Table(title="service level achieved (mean, lower 95% bound)", title_justify="left")
    for col in ("channel", "scope", "target", "mean", "lower bound", ""):
        levels.add_column(col, justify="left" if col in ("channel", "scope") else "right")
    e = result.evaluation
    for (ch, scope), (mean, _half) in sorted(e.levels.items()):
        lb = e.lower((ch, scope))
        ok = "[green]met[/]" if lb >= e.targets[ch] else "[red]missed[/]"
        levels.add_row(ch, scope, _pct(e.targets[ch]), _pct(mean), _pct(lb), ok)
    _console().print(levels)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def plot(folder: Path) -> None:
    """Redraw a sweep's plots from its stored tables, without rerunning anything."""
    from .errors import ScenarioError
    from .outputs.sweep_tables import draw

    if not (folder / "experiment.json").is_file() or not (folder / "points.parquet").is_file():
        raise ScenarioError(
            "not a sweep's output folder: experiment.json and points.parquet are missing "
            "(run `simsupport sweep EXPERIMENT --out FOLDER` first)",
            file=str(folder),
        )
    written = draw(folder)
    _console().print(f"wrote {', '.join(p.name for p in written)} to {folder}/")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario files without running them."""
    from .config.load import load_scenario
    from .units import format_duration

    for f in files:
        s = load_scenario(f)
        counts = ", ".join(
            _plural(n, word)
            for n, word in (
                (len(s.channels), "channel"),
                (len(s.categories), "category"),
                (len(s.customers.languages), "language"),
                (len(s.pools), "pool"),
            )
        )
        _console().print(
            f"ok: {f} — {s.name}: {counts}; horizon {format_duration(s.horizon)}, "
            f"{_plural(s.replications, 'replication')}"
        )


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    from .config.schema import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        from .outputs.files import atomic_write

        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))


# -- erlang: the formulas on the command line ----------------------------------------------------
def _parse(kind: str, value: str | None, name: str) -> float | None:
    from .units import parse_duration, parse_rate

    if value is None:
        return None
    try:
        return parse_rate(value) if kind == "rate" else parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


@cli.group()
def erlang() -> None:
    """Erlang B, C and A for one queue in a steady state."""


def _queue_options(f: Any) -> Any:
    for opt in reversed(
        [
            click.option("--rate", required=True, help="Arrival rate, e.g. 1400/h."),
            click.option("--aht", required=True, help="Mean handle time, e.g. 6min."),
            click.option("--within", default="20s", show_default=True, help="Service-level threshold."),
            click.option("--patience", default=None, help="Mean patience (Erlang A), e.g. 3min."),
        ]
    ):
        f = opt(f)
    return f


def _print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    _console().print(table)


@erlang.command("b")
@click.option("--agents", "-n", type=click.IntRange(1), required=True, help="Lines or agents.")
@click.option("--rate", required=True, help="Arrival rate, e.g. 180/h.")
@click.option("--aht", required=True, help="Mean holding time, e.g. 3min.")
def erlang_b_cmd(agents: int, rate: str, aht: str) -> None:
    """Blocking probability of a loss system (no queue)."""
    from .theory import erlang_b

    load = _parse("rate", rate, "--rate") * _parse("duration", aht, "--aht")  # type: ignore[operator]
    _print_rows(
        f"Erlang B: {agents} lines, {load:.2f} Erlangs",
        [("blocking probability", _pct(erlang_b(agents, load))), ("carried load", f"{load * (1 - erlang_b(agents, load)):.2f} Erlangs")],
    )


@erlang.command("c")
@click.option("--agents", "-n", type=click.IntRange(1), required=True)
@_queue_options
def erlang_c_cmd(agents: int, rate: str, aht: str, within: str, patience: str | None) -> None:
    """Waiting and service level of an M/M/n queue (Erlang A with --patience)."""
    from .theory import erlang_a, erlang_c_metrics

    lam = _parse("rate", rate, "--rate")
    mean = _parse("duration", aht, "--aht")
    t = _parse("duration", within, "--within")
    pat = _parse("duration", patience, "--patience")
    assert lam is not None and mean is not None and t is not None
    if pat is None:
        try:
            m = erlang_c_metrics(agents, lam, mean)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--agents") from None
        rows = [
            ("offered load", f"{lam * mean:.2f} Erlangs"),
            ("occupancy", _pct(m.occupancy)),
            ("P(wait)", _pct(m.p_wait)),
            ("ASA", _fmt_s(m.mean_wait)),
            (f"service level ({_fmt_s(t)})", _pct(m.service_level(t))),
            ("p90 wait", _fmt_s(m.wait_quantile(0.9))),
            ("mean queue", f"{m.mean_queue:.2f}"),
        ]
        _print_rows(f"Erlang C: {agents} agents", rows)
    else:
        a = erlang_a(agents, lam, mean, pat)
        rows = [
            ("offered load", f"{lam * mean:.2f} Erlangs"),
            ("occupancy", _pct(a.occupancy)),
            ("P(wait)", _pct(a.p_wait)),
            ("P(abandon)", _pct(a.p_abandon)),
            ("ASA (answered)", _fmt_s(a.mean_wait_served)),
            ("mean wait (all)", _fmt_s(a.mean_wait)),
            (f"service level ({_fmt_s(t)})", _pct(a.service_level(t))),
            ("mean queue", f"{a.mean_queue:.2f}"),
        ]
        _print_rows(f"Erlang A: {agents} agents, mean patience {_fmt_s(pat)}", rows)


@erlang.command("staff")
@_queue_options
@click.option("--target", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True)
def erlang_staff_cmd(rate: str, aht: str, within: str, patience: str | None, target: float) -> None:
    """Fewest agents that meet a service-level target."""
    from .theory import min_agents_erlang_a, min_agents_erlang_c, sqrt_staffing

    lam = _parse("rate", rate, "--rate")
    mean = _parse("duration", aht, "--aht")
    t = _parse("duration", within, "--within")
    pat = _parse("duration", patience, "--patience")
    assert lam is not None and mean is not None and t is not None
    load = lam * mean
    if pat is None:
        n = min_agents_erlang_c(lam, mean, t, target)
        model = "Erlang C"
    else:
        n = min_agents_erlang_a(lam, mean, pat, t, target)
        model = "Erlang A"
    _print_rows(
        f"{model}: agents for {_pct(target)} within {_fmt_s(t)}",
        [
            ("offered load", f"{load:.2f} Erlangs"),
            ("agents needed", str(n)),
            ("square-root rule (beta=1)", str(sqrt_staffing(load, 1.0))),
        ],
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the click group and turns errors into one message and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="simsupport", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT if isinstance(exc, click.UsageError) else exc.exit_code)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except SimsupportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug in simsupport, not the user's input
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in simsupport "
            f"{__version__}; rerun with --debug for the traceback and please report it.",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(0)


if __name__ == "__main__":
    main()
