"""`simsupport baseline` (store a scenario's metrics) and `simsupport check` (rerun and compare)."""

from __future__ import annotations

import math
from pathlib import Path

import click
from pydantic import ValidationError
from rich.table import Table

from ..config.load import read_data
from ..errors import ScenarioError
from ..experiment.replications import default_workers
from ..outputs.summary import scenario_hash
from ..regression.baseline import (
    baseline_path,
    load_for_run,
    make_baseline,
    read_baseline,
    run_metrics,
    write_baseline,
)
from ..regression.compare import CheckConfig, ScenarioCheck, compare
from ..regression.report import write_json_report, write_junit
from .console import console


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Baseline folder.")
@click.option("--horizon", help="Run (and later check) with this horizon, e.g. 1d: quicker CI.")
@click.option("--replications", "-r", type=click.IntRange(2), help="Replications to store [the scenario's].")
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes [all cores].")
def baseline(scenarios: tuple[Path, ...], out: Path, horizon: str | None, replications: int | None, workers: int | None) -> None:
    """Write or refresh the baselines that `simsupport check` compares against."""
    for path in scenarios:
        b = make_baseline(path, horizon=horizon, replications=replications, workers=workers or default_workers())
        written = write_baseline(b, out)
        console().print(
            f"{b.scenario}: {len(b.metrics)} metrics x {b.replications} replications (seed {b.seed}"
            + (f", horizon {horizon}" if horizon else "") + f") -> {written}"
        )


@click.command()
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
    config = check_config(config_file)
    update = {k: v for k, v in (("mode", mode), ("alpha", alpha)) if v is not None}
    config = config.model_copy(update=update)
    checks: list[ScenarioCheck] = []
    for path in scenarios:
        plain = load_for_run(path)  # the file as it is (for its name and to tell a changed file)
        b = read_baseline(baseline_path(folder, plain.name))
        if not any(config.selects(m) for m in b.metrics):
            raise ScenarioError(
                f"no metric of the baseline {b.path} matches the check's metrics patterns "
                f"({', '.join(config.metrics)}; ignoring {', '.join(config.ignore) or 'none'}): nothing would be "
                "compared, which cannot pass; fix `metrics` (patterns such as overall.all.service_level or by_channel.*.asa_s)",
                file=str(config_file) if config_file is not None else str(b.path), field="metrics",
            )
        s = load_for_run(path, horizon=b.horizon, replications=b.replications, seed=b.seed)
        new = run_metrics(s, workers or default_workers())
        rows = compare(b.metrics, new, config)
        checks.append(
            ScenarioCheck(s.name, str(b.path), config.mode, config.alpha, scenario_hash(s) != b.scenario_hash, b.version, rows)
        )
    for c in checks:
        print_check(c)
    if report is not None:
        write_json_report(report, checks)
    if junit is not None:
        write_junit(junit, checks)
    if not all(c.passed for c in checks):
        raise SystemExit(1)


def check_config(path: Path | None) -> CheckConfig:
    """The --config file (every key optional), or the defaults."""
    if path is None:
        return CheckConfig()
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    if text is not None and not [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]:
        return CheckConfig()  # every key is optional: an empty file means the defaults
    try:
        return CheckConfig.model_validate(read_data(path)[1] or {})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ScenarioError(str(err["msg"]).removeprefix("Value error, "), file=str(path), field=where or None) from None


def print_check(c: ScenarioCheck) -> None:
    say = console()
    moved = [r for r in c.rows if r.verdict not in ("same",)]
    status = "[green]pass[/]" if c.passed else f"[red]{len(c.failures)} regression(s)[/]"
    why = " (the scenario file changed since the baseline)" if c.scenario_changed else " (same scenario file: a code change)"
    say.print(f"{c.scenario}: {status}; {len(c.rows)} metrics compared ({c.mode}, alpha {c.alpha:g}), "
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
    say.print(table)
