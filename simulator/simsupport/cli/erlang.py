"""`simsupport erlang b|c|staff`: the Erlang formulas for one queue in a steady state."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import click
from rich.table import Table

from ..theory import (
    ErlangA,
    ErlangC,
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

# Erlang A's exact chain grows with the load (its queue states); Erlang C and B are O(1) per agent
# count, but agent counts beyond 1e12 are no longer exact in floating point.
MAX_ERLANG_A_LOAD = 1e6
MAX_LOAD = 1e12


class Share(click.ParamType):
    """A share strictly between 0 and 1, written 0.8 or 80%."""

    name = "share"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            x = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{text!r} is not a share; write 0.8 or 80%", param, ctx)
        if not 0 < x < 1:
            hint = f" (did you mean {text}%?)" if not text.endswith("%") and 1 < x < 100 else ""
            self.fail(f"{text} is not a share between 0 and 1 (both excluded); write 0.8 or 80%{hint}", param, ctx)
        return x


def _parse(kind: str, value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        x = parse_rate(value) if kind == "rate" else parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None
    if kind != "within" and x <= 0:  # a threshold of 0s is fine; a zero rate or time is not
        what = "an arrival rate" if kind == "rate" else "a mean time"
        example = {"--rate": "110/h", "--aht": "6min", "--patience": "3min"}.get(name, "1min")
        raise click.BadParameter(f"{value!r}: {what} must be above 0, e.g. {example}", param_hint=name)
    return x


def _inputs(rate: str, aht: str, within: str, patience: str | None) -> tuple[float, float, float, float | None]:
    lam = _parse("rate", rate, "--rate")
    mean = _parse("duration", aht, "--aht")
    t = _parse("within", within, "--within")
    pat = _parse("duration", patience, "--patience")
    assert lam is not None and mean is not None and t is not None
    load = lam * mean
    if load > MAX_LOAD:
        raise click.BadParameter(
            f"{load:.3g} Erlangs of load ({rate} x {aht}) is beyond what these formulas answer exactly "
            f"(at most {MAX_LOAD:.0e} Erlangs); no desk is that large", param_hint="'--rate'"
        )
    if pat is not None and load > MAX_ERLANG_A_LOAD:
        raise click.BadParameter(
            f"Erlang A is exact but its cost grows with the load: {load:,.0f} Erlangs is above the "
            f"{MAX_ERLANG_A_LOAD:,.0f} it computes; leave --patience out for Erlang C (any load), where "
            f"abandonment changes the answer little at this size (square-root rule: {sqrt_staffing(load, 1.0):,} agents)",
            param_hint="'--patience'",
        )
    return lam, mean, t, pat


def _unstable(load: float, agents: int, rate: str, aht: str) -> click.BadParameter:
    need = math.floor(load) + 1
    return click.BadParameter(
        f"{load:.1f} erlangs of load need at least {need} agents ({rate} x {aht}): with {agents} the queue "
        f"grows without bound, since in Erlang C nobody gives up; give -n {need} or more, or --patience "
        "for customers who abandon (Erlang A)",
        param_hint="'--agents'",
    )


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
    if load > MAX_LOAD:
        raise click.BadParameter(f"{load:.3g} Erlangs of load is beyond {MAX_LOAD:.0e}", param_hint="'--rate'")
    _print_rows(
        f"Erlang B: {agents} lines, {load:.2f} Erlangs",
        [("blocking probability", pct(erlang_b(agents, load))), ("carried load", f"{load * (1 - erlang_b(agents, load)):.2f} Erlangs")],
    )


@erlang.command("c")
@click.option("--agents", "-n", type=click.IntRange(1), required=True)
@_queue_options
def erlang_c_cmd(agents: int, rate: str, aht: str, within: str, patience: str | None) -> None:
    """Waiting and service level of an M/M/n queue (Erlang A with --patience)."""
    lam, mean, t, pat = _inputs(rate, aht, within, patience)
    if pat is None:
        if lam * mean >= agents:
            raise _unstable(lam * mean, agents, rate, aht)
        m = erlang_c_metrics(agents, lam, mean)
        _print_rows(f"Erlang C: {agents} agents", _erlang_c_rows(m, t) + [("mean queue", f"{m.mean_queue:.2f}")])
    else:
        a = erlang_a(agents, lam, mean, pat)
        _print_rows(
            f"Erlang A: {agents} agents, mean patience {fmt_s(pat)}", _erlang_a_rows(a, t) + [("mean queue", f"{a.mean_queue:.2f}")]
        )


def _count(n: int) -> str:
    return f"{n:,}" if n >= 10_000 else str(n)


def _erlang_c_rows(m: ErlangC, t: float) -> list[tuple[str, str]]:
    return [
        ("offered load", f"{m.load:.2f} Erlangs"),
        ("occupancy", pct(m.occupancy)),
        ("P(wait)", pct(m.p_wait)),
        ("ASA", fmt_s(m.mean_wait)),
        (f"service level ({fmt_s(t)})", pct(m.service_level(t))),
        ("p90 wait", fmt_s(m.wait_quantile(0.9))),
    ]


def _erlang_a_rows(a: ErlangA, t: float) -> list[tuple[str, str]]:
    return [
        ("offered load", f"{a.load:.2f} Erlangs"),
        ("occupancy", pct(a.occupancy)),
        ("P(wait)", pct(a.p_wait)),
        ("P(abandon)", pct(a.p_abandon)),
        ("ASA (answered)", fmt_s(a.mean_wait_served)),
        ("mean wait (all)", fmt_s(a.mean_wait)),
        (f"service level ({fmt_s(t)})", pct(a.service_level(t))),
    ]


@erlang.command("staff")
@_queue_options
@click.option(
    "--target", type=Share(), default="0.8", show_default=True, help="Share answered within --within: 0.8 or 80%."
)
def erlang_staff_cmd(rate: str, aht: str, within: str, patience: str | None, target: float) -> None:
    """Fewest agents that meet a service-level target, and what they achieve."""
    lam, mean, t, pat = _inputs(rate, aht, within, patience)
    load = lam * mean
    if pat is None:
        n = min_agents_erlang_c(lam, mean, t, target)
        model, rows = "Erlang C", _erlang_c_rows(erlang_c_metrics(n, lam, mean), t)
    else:
        n = min_agents_erlang_a(lam, mean, pat, t, target)
        model, rows = "Erlang A", _erlang_a_rows(erlang_a(n, lam, mean, pat), t)
    _print_rows(
        f"{model}: agents for {pct(target)} within {fmt_s(t)}",
        [
            ("offered load", f"{load:.2f} Erlangs"),
            ("agents needed", _count(n)),
            *(r for r in rows if r[0] != "offered load"),
            ("square-root rule (beta=1)", _count(sqrt_staffing(load, 1.0))),
        ],
    )
