"""`simsupport fit` (a scenario learned from the desk's history) and `simsupport backtest`
(the fitted scenario against what happened)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import pandas as pd
from rich.table import Table
from ruamel.yaml import YAML

from ..config.load import read_data, read_yaml, scenario_from_dict
from ..errors import ScenarioError
from ..experiment.replications import default_workers
from ..fit.backtest import run_backtest
from ..fit.history import (
    TicketHistory,
    VolumeHistory,
    parse_columns,
    read_price_history,
    read_tickets,
    read_volumes,
)
from ..fit.learn import FitResult, Prices, learn_tickets, learn_volumes
from ..fit.scenario import build_tree
from ..fit.table import estimate_rows
from ..outputs.files import atomic_write
from ..outputs.fit_files import write_backtest, write_estimates
from ..outputs.fit_plots import poor_fits
from ..outputs.html_fit import backtest_page, write_fit_report
from ..outputs.html_pages import plots_section, write_report
from .console import ProgressBar, console, own_folder
from .report_options import command_line

History = TicketHistory | VolumeHistory


def _history(tickets: Path | None, volumes: Path | None, columns: str | None, timezone: str | None) -> History:
    if (tickets is None) == (volumes is None):
        raise click.UsageError("give the history as exactly one of --tickets LOG or --volumes REPORT")
    mapping = parse_columns(columns)
    if tickets is not None:
        return read_tickets(tickets, str(tickets), mapping, timezone)
    assert volumes is not None
    return read_volumes(volumes, str(volumes), mapping, timezone)


def _prices(path: Path | None, timezone: str | None, relative_to: Path, max_gap: float = 3600.0) -> Prices | None:
    if path is None:
        return None
    epoch, price = read_price_history(path, str(path), timezone, max_gap)
    rel = os.path.relpath(path.resolve(), relative_to.resolve())
    return Prices(rel, epoch, price)


def _zones(spec: str | None, base: Path | None) -> dict[str, str]:
    """Each channel's clock: --channel-timezones chat=Asia/Shanghai,..., else the base scenario's."""
    zones: dict[str, str] = {}
    if base is not None:
        _, data = read_data(base)
        for name, ch in (data.get("channels") or {}).items():
            if isinstance(ch, dict) and ch.get("timezone"):
                zones[name] = str(ch["timezone"])
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, eq, zone = part.partition("=")
        if not eq or not name.strip() or not zone.strip():
            raise click.BadParameter(f"{part!r}: write channel=Zone, e.g. chat=Asia/Shanghai", param_hint="--channel-timezones")
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(f"{zone.strip()!r} is not an IANA time zone such as Europe/London",
                                     param_hint="--channel-timezones") from None
        zones[name.strip()] = zone.strip()
    return zones


def _learn(h: History, prices: Prices | None, timezone: str | None, since: pd.Timestamp | None = None,
           until: pd.Timestamp | None = None, zones: dict[str, str] | None = None) -> FitResult:
    try:
        if isinstance(h, TicketHistory):
            return learn_tickets(h, prices, timezone, since, until, zones)
        return learn_volumes(h, prices, timezone, since, until, zones)
    except ValueError as exc:
        raise ScenarioError(str(exc), file=h.path) from None


def _dump(tree: object) -> str:
    yaml = YAML()
    yaml.width = 4096  # no wrapped flow sequences (96 profile weights stay on one line)
    buf = io.StringIO()
    yaml.dump(tree, buf)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def write_fitted(res: FitResult, out: Path, base: Path | None, header: str) -> Path:
    """Build, validate (as `simsupport validate` would) and only then write the scenario."""
    tree = read_yaml(base) if base is not None else None
    name = out.stem.replace("_", "-").replace(".", "-") or "fitted"
    text = header + _dump(build_tree(res, tree, name=name))
    tmp = out.parent / f".{out.name}.check.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.write_text(text, encoding="utf-8")
        tree2, data = read_data(tmp)
        scenario_from_dict(data, source=str(out), tree=tree2, base_dir=out.parent.resolve(), staffing_as_given=False)
    finally:
        tmp.unlink(missing_ok=True)
    return atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))


def _summary(res: FitResult) -> Table:
    t = Table(title=f"fitted from {res.source} ({res.kind}, {res.timezone})", title_justify="left")
    for col in ("channel", "rate (calm) /h" if res.prices is not None else "rate /h", "95% CI", "elasticity",
                "over-disp. cv", "patience", "days"):
        t.add_column(col, justify="left" if col in ("channel", "patience") else "right")
    for name, f in res.arrivals.items():
        el = f"{f.elasticity.value:.2f} ({f.elasticity.lo:.2f}-{f.elasticity.hi:.2f})" if f.elasticity else "-"
        p = (res.patience or {}).get(name)
        pat = "-" if p is None else ("none" if p.dist is None else f"{p.dist} {p.mean.value:.0f}s")
        t.add_row(name, f"{f.rate.value:,.1f}", f"{f.rate.lo:,.1f}-{f.rate.hi:,.1f}", el, f"{f.cv.value:.3f}", pat,
                  str(f.n_days))
    return t


@click.command()
@click.option("--tickets", type=click.Path(dir_okay=False, path_type=Path), help="Ticket log (CSV or Parquet), one row per contact.")
@click.option("--volumes", type=click.Path(dir_okay=False, path_type=Path), help="Interval report: interval_start, channel, offered[, answered, abandoned, aht_s].")
@click.option("--prices", type=click.Path(dir_okay=False, path_type=Path), help="Price history timestamp,price: fit the market elasticity and replay it.")
@click.option("--base", type=click.Path(dir_okay=False, path_type=Path), help="Keep this scenario's pools, routing and SLAs; replace only what the data say.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The fitted scenario (YAML).")
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), help="Folder for the fit report: estimates table and plots.")
@click.option("--columns", help="Map the file's column names: created_at=Created,channel=Via,...")
@click.option("--timezone", help="IANA zone of stamps without an offset, and of the fitted profiles (default: the stamps' own offset, else UTC).")
@click.option("--channel-timezones", help="A channel's own clock where it differs: chat=Asia/Shanghai,phone=Europe/London [the base scenario's].")
@click.option("--until", "until", help="Fit only the history before this date (YYYY-MM-DD, local).")
@click.option("--no-report", is_flag=True, help="Skip report.html (in --report DIR, else <out>-report.html beside the YAML).")
def fit(tickets: Path | None, volumes: Path | None, prices: Path | None, base: Path | None, out: Path,
        report: Path | None, columns: str | None, timezone: str | None, channel_timezones: str | None,
        until: str | None, no_report: bool) -> None:
    """Learn a scenario from the desk's history: rates and profiles, handle times, patience, mixes and the market response.

    Every estimate is written with its 95% interval and the observations behind it as a comment
    beside the value. Without --base the pools are a starting point staffed from analytic
    requirements; with --base the scenario's own pools, routing and SLAs stay."""
    say = console()
    h = _history(tickets, volumes, columns, timezone)
    if base is not None:
        read_data(base)  # a broken base is reported as the base's problem, before any fitting
    p = _prices(prices, timezone, out.parent if str(out.parent) else Path("."))
    cut = _date(until, timezone, "--until")
    res = _learn(h, p, timezone, None, cut, _zones(channel_timezones, base))
    header = (f"# fitted by simsupport fit from {h.path}" + (f" and {prices}" if prices else "")
              + (f" on base {base}" if base else "") + "\n# comments: 95% CI and the observations behind each estimate\n")
    written = [write_fitted(res, out, base, header)]
    rows = estimate_rows(res)
    plots = None
    if report is not None:
        rfolder = own_folder(report)
        log = h.frame if cut is None or not isinstance(h, TicketHistory) else h.frame.loc[h.frame["created_at"] < cut]
        files = write_estimates(res, rows, report, log if isinstance(h, TicketHistory) else None)
        written += [*files, rfolder.finish(files)]
        plots = [p for p in files if p.suffix == ".png"]
    warnings = poor_fits(res)
    if not no_report:
        page = report / "report.html" if report is not None else out.parent / f"{out.stem}-report.html"
        written.append(write_fit_report(res, rows, page, out=out, base=base, command=command_line(),
                                        warnings=warnings, plots=plots))  # fmt: skip
    say.print(_summary(res))
    for w in warnings:
        say.print(f"[yellow]warning:[/] {w}")
    say.print("wrote " + ", ".join(str(x) for x in written))


def _date(text: str | None, timezone: str | None, option: str) -> pd.Timestamp | None:
    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date; write YYYY-MM-DD", param_hint=option) from None
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone or "UTC")
    return ts.tz_convert("UTC")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tickets", type=click.Path(dir_okay=False, path_type=Path), help="Ticket log of the period to compare with.")
@click.option("--volumes", type=click.Path(dir_okay=False, path_type=Path), help="Interval report of the period to compare with.")
@click.option("--prices", type=click.Path(dir_okay=False, path_type=Path), help="Price history covering the period (default: the scenario's replay file).")
@click.option("--replications", "-r", type=click.IntRange(2), default=30, show_default=True, help="Simulated histories.")
@click.option("--train-until", help="Refit on the history before this date (YYYY-MM-DD) and backtest on the rest.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [results/<scenario>-backtest].")
@click.option("--columns", help="Map the file's column names: created_at=Created,channel=Via,...")
@click.option("--timezone", help="IANA zone of stamps without an offset.")
@click.option("--kpis", is_flag=True, help="Also run the whole desk (its pools as the real roster) and compare ASA, service level and abandonment per day.")
@click.option("--workers", "-w", type=click.IntRange(1), help="Local worker processes for --kpis [all cores].")
@click.option("--no-report", is_flag=True, help="Skip report.html (one self-contained page of the backtest).")
def backtest(scenario: Path, tickets: Path | None, volumes: Path | None, prices: Path | None, replications: int,
             train_until: str | None, out: Path | None, columns: str | None, timezone: str | None, kpis: bool,
             workers: int | None, no_report: bool) -> None:
    """Simulate the history's own window (the recorded prices replayed) and compare volumes per channel and day with what happened.

    Prints, per channel, the share of days and of intervals whose actual volume lies inside the
    simulated 5-95% band (90% nominal), and writes the tables and a plot of actuals over the band."""
    say = console()
    h = _history(tickets, volumes, columns, timezone)
    out = out or Path("results") / f"{scenario.stem}-backtest"
    folder = own_folder(out)
    cut = _date(train_until, timezone, "--train-until")
    target = scenario
    if cut is not None:
        p = _prices(prices, timezone, out)
        res = _learn(h, p, timezone, None, cut, _zones(None, scenario))
        target = out / "trained.yaml"
        write_fitted(res, target, scenario, f"# refitted by simsupport backtest on {h.path} before {train_until}\n")
        say.print(f"refitted on the history before {train_until}: {target}")
    if kpis:
        with ProgressBar(replications, "backtest: the whole desk") as bar:
            bt = run_backtest(target, h, replications, since=cut, prices=prices, kpis=True,
                              workers=workers or default_workers(), progress=bar)
    else:
        bt = run_backtest(target, h, replications, since=cut, prices=prices)
    written = write_backtest(bt, out) + ([target] if cut is not None else [])
    if not no_report:
        page = backtest_page(bt, scenario=target, history=h.path, replications=replications, command=command_line())
        page.sections.append(plots_section(written, True))
        written += write_report(page, out)
    written.append(folder.finish(written))
    t = Table(title=f"backtest of {target} on {h.path} ({replications} replications, band 5-95%)", title_justify="left")
    for col in ("channel", "days", "days inside", "day coverage", "intervals", "interval coverage", "expected"):
        t.add_column(col, justify="left" if col == "channel" else "right")
    for r in bt.coverage.itertuples():
        t.add_row(r.channel, str(r.days), str(r.days_inside), f"{r.day_coverage:.0%}", f"{r.intervals:,}",
                  f"{r.interval_coverage:.0%}", f"{r.expected_coverage:.0%}")
    say.print("expected: the share a correct model reaches with this many replications (the band's own sampling)")
    say.print(t)
    if bt.kpis is not None and not bt.kpis.empty:
        k = Table(title="service per day: actual inside the simulated 5-95% band", title_justify="left")
        for col in ("channel", "metric", "days", "inside", "actual mean", "simulated median"):
            k.add_column(col, justify="left" if col in ("channel", "metric") else "right")
        for (ch, metric), g in bt.kpis.groupby(["channel", "metric"]):
            fmt = "{:.1%}" if metric != "asa_s" else "{:.0f}s"
            k.add_row(str(ch), str(metric), str(len(g)), f"{g['inside'].mean():.0%}", fmt.format(g["actual"].mean()),
                      fmt.format(g["sim_p50"].mean()))
        say.print(k)
    if bt.missing:
        say.print(f"not in the history, not compared: {', '.join(bt.missing)}")
    say.print("wrote " + ", ".join(str(x) for x in written))
