"""The command line: the only package that knows about terminals and exit codes.

Exit codes: 0 ok, 2 bad input (a ScenarioError or a usage error: one paragraph, no
traceback), 1 anything else (a short message; the traceback only with --debug).

One module per command (`run`, `sweep` and `plot`, `baseline` and `check`, `staff`, `validate`
and `schema`, `erlang`), each imported only when its command runs or shows its own help (the
group's --help lists them from COMMANDS), so that `simsupport --help` imports none of them,
`simsupport erlang c ...` does not pay for pandas, and `simsupport run` not for the staffing search.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from typing import Any

import click
from click.utils import make_default_short_help

from .. import __version__
from ..errors import ScenarioError, SimsupportError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

# command -> (the module of simsupport.cli that defines it, as a function of the same name; the
# first paragraph of its help, which `simsupport --help` lists without importing every command:
# tests/test_cli.py checks that it is the command's own)
COMMANDS = {
    "backtest": ("fit", "Simulate the history's own window (the recorded prices replayed) and compare volumes per channel and day with what happened."),
    "baseline": ("regression", "Write or refresh the baselines that `simsupport check` compares against."),
    "check": ("regression", "Rerun scenarios and compare with their baselines: exit 0 pass, 1 regression, 2 bad input."),
    "erlang": ("erlang", "Erlang B, C and A for one queue in a steady state."),
    "fit": ("fit", "Learn a scenario from the desk's history: rates and profiles, handle times, patience, mixes and the market response."),
    "plot": ("sweep", "Redraw a sweep's plots from its stored tables, without rerunning anything."),
    "run": ("run", "Run a scenario's replications and write summary, tables and plots."),
    "schedule": ("schedule", "Choose shift start times, templates, breaks and days off that meet every target at least cost."),
    "schema": ("validate", "Print the JSON Schema of scenario files (for editor completion)."),
    "staff": ("staff", "Recommend the cheapest headcount per pool and shift that meets every staffing target with 95% confidence."),
    "sweep": ("sweep", "Run an experiment: every point's replications, resumable, on cores or a Dask cluster."),
    "validate": ("validate", "Check scenario files without running them."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported from their modules when they run (or show their
    own help); the group's --help lists them from their summaries in `lazy`."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module = importlib.import_module(f"{__name__}.{self.lazy[cmd_name][0]}")
            command = getattr(module, cmd_name)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise TypeError(f"{module.__name__}.{cmd_name} is not the click command {cmd_name!r}")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, with the summaries of commands not imported yet taken from `lazy`."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.lazy and name not in self.commands:
                rows.append((name, make_default_short_help(self.lazy[name][1], limit).strip()))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simsupport")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Simulate a multilingual support desk under market volatility."""
    ctx.ensure_object(dict)["debug"] = debug


class Terminated(BaseException):
    """SIGTERM (`timeout`, a cancelled CI job, `kill`): raised in the main thread like Ctrl-C, so
    the run stops where it is, its workers are killed and what finished stays stored."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the click group and turns errors into one message and an exit code."""
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    # Arrow's default allocator (mimalloc) keeps what a Parquet write used, about 900 bytes per
    # row of an interval table (a third of a long run's peak); the system allocator gives it
    # back. Set before pyarrow is imported (nothing on the way here imports it); the same
    # bytes are written; a value the user set stays.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # the arguments as typed, for the reports' "command" line (cli.report_options.command_line)
        cli.main(args=args, prog_name="simsupport", standalone_mode=False, obj={"argv": args})
    except Terminated:
        click.echo("terminated (SIGTERM): stopped, workers killed; what finished is kept, rerun to resume", err=True)
        sys.exit(143)
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
    except Exception as exc:  # noqa: BLE001 - a bug in simsupport, not the user's input: say so
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in simsupport "
            f"{__version__}; rerun with --debug for the traceback and please report it.",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    sys.exit(0)
