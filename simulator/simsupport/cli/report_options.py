"""The options every report-writing command shares (`--tz`, `--no-report`, `--xlsx`) and the
command line as typed, which the report shows under "what was run"."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ..outputs.workbook import MISSING, xlsx_available

F = TypeVar("F", bound=Callable[..., Any])


def valid_zone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An IANA zone name (Europe/London, Asia/Shanghai, UTC), or a usage error (exit 2)."""
    if value is None:
        return None
    name = value.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} is not an IANA time zone such as Europe/London or Asia/Shanghai") from None
    return name


def _xlsx(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and not xlsx_available():  # before any simulation: say so at once
        raise click.BadParameter(MISSING)
    return value


def report_options(f: F) -> F:
    """--tz, --no-report and --xlsx, for run, sweep, staff and schedule."""
    f = click.option("--xlsx", is_flag=True, callback=_xlsx,
                     help="Also write report.xlsx: the report's tables as an Excel workbook (needs openpyxl).")(f)  # fmt: skip
    f = click.option("--no-report", is_flag=True, help="Skip report.html (one self-contained page of the results).")(f)
    f = click.option("--tz", "tz", callback=valid_zone, metavar="ZONE",
                     help="Time zone of times in the report and plots, e.g. Europe/London "
                     "[the scenario's report.timezone, else the zone most pools and channels use].")(f)  # fmt: skip
    return f


def command_line() -> str:
    """`simsupport ...` as typed (through `main`), else rebuilt from the parsed parameters."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return "simsupport"
    root = ctx.find_root()
    argv = (root.obj or {}).get("argv") if isinstance(root.obj, dict) else None
    if argv is not None:
        return "simsupport " + shlex.join(argv)
    parts = ["simsupport", ctx.info_name or ""]
    for name, value in ctx.params.items():
        if value is None or value is False or value == ():
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, (list, tuple)):
            parts.extend(f"{flag} {shlex.quote(str(v))}" for v in value)
        elif any(p.name == name and isinstance(p, click.Argument) for p in ctx.command.params):
            parts.append(shlex.quote(str(value)))
        else:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    return " ".join(parts)
