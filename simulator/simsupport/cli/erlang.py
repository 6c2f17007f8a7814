"""`simsupport erlang b|c|staff`: the Erlang formulas for one queue in a steady state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from rich.table import Table

from ..theory import (
    erlang_a,
    erlang_b,
    erlang_c_metrics,
    min_agents_erlang_a,
    min_agents_erlang_c,
    sqrt_staffing,
)
from ..units import parse_duration, parse_rate
from .console import console, fmt_s, pct

F = TypeVar("F", bound=Callable[..., object])


def _parse(kind: str, value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_rate(value) if kind == "rate" else parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


@click.group()
def erlang() -> None:
    """Erlang B, C and A for one queue in a steady state."""


def _queue_options(f: F) -> F:
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
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    console().print(table)


@erlang.command("b")
@click.option("--agents", "-n", type=click.IntRange(1), required=True, help="Lines or agents.")
@click.option("--rate", required=True, help="Arrival rate, e.g. 180/h.")
@click.option("--aht", required=True, help="Mean holding time, e.g. 3min.")
def erlang_b_cmd(agents: int, rate: str, aht: str) -> None:
    """Blocking probability of a loss system (no queue)."""
    load = _parse("rate", rate, "--rate") * _parse("duration", aht, "--aht")  # type: ignore[operator]
    _print_rows(
        f"Erlang B: {agents} lines, {load:.2f} Erlangs",
        [("blocking probability", pct(erlang_b(agents, load))), ("carried load", f"{load * (1 - erlang_b(agents, load)):.2f} Erlangs")],
    )


@erlang.command("c")
@click.option("--agents", "-n", type=click.IntRange(1), required=True)
@_queue_options
def erlang_c_cmd(agents: int, rate: str, aht: str, within: str, patience: str | None) -> None:
    """Waiting and service level of an M/M/n queue (Erlang A with --patience)."""
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
            ("occupancy", pct(m.occupancy)),
            ("P(wait)", pct(m.p_wait)),
            ("ASA", fmt_s(m.mean_wait)),
            (f"service level ({fmt_s(t)})", pct(m.service_level(t))),
            ("p90 wait", fmt_s(m.wait_quantile(0.9))),
            ("mean queue", f"{m.mean_queue:.2f}"),
        ]
        _print_rows(f"Erlang C: {agents} agents", rows)
    else:
        a = erlang_a(agents, lam, mean, pat)
        rows = [
            ("offered load", f"{lam * mean:.2f} Erlangs"),
            ("occupancy", pct(a.occupancy)),
            ("P(wait)", pct(a.p_wait)),
            ("P(abandon)", pct(a.p_abandon)),
            ("ASA (answered)", fmt_s(a.mean_wait_served)),
            ("mean wait (all)", fmt_s(a.mean_wait)),
            (f"service level ({fmt_s(t)})", pct(a.service_level(t))),
            ("mean queue", f"{a.mean_queue:.2f}"),
        ]
        _print_rows(f"Erlang A: {agents} agents, mean patience {fmt_s(pat)}", rows)


@erlang.command("staff")
@_queue_options
@click.option("--target", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True)
def erlang_staff_cmd(rate: str, aht: str, within: str, patience: str | None, target: float) -> None:
    """Fewest agents that meet a service-level target."""
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
        f"{model}: agents for {pct(target)} within {fmt_s(t)}",
        [
            ("offered load", f"{load:.2f} Erlangs"),
            ("agents needed", str(n)),
            ("square-root rule (beta=1)", str(sqrt_staffing(load, 1.0))),
        ],
    )
