"""`simsupport validate` (check scenario files without running them) and `simsupport schema`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config.load import file_problems
from ..config.schema import Scenario
from ..config.warnings import scenario_warnings
from ..outputs.files import atomic_write
from ..units import format_duration
from . import EXIT_BAD_INPUT
from .console import console, plural, print_warnings


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario files without running them."""
    # every file, and every problem of each (one line each, first the one `run` would stop at)
    failed = 0
    for f in files:
        s, problems = file_problems(f)
        if s is None:
            failed += 1
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
            continue
        counts = ", ".join(
            plural(n, word)
            for n, word in (
                (len(s.channels), "channel"),
                (len(s.categories), "category"),
                (len(s.customers.languages), "language"),
                (len(s.pools), "pool"),
            )
        )
        console().print(
            f"ok: {f} — {s.name}: {counts}; horizon {format_duration(s.horizon)}, "
            f"{plural(s.replications, 'replication')}",
            soft_wrap=True,
        )
        print_warnings(scenario_warnings(s), prefix=f"{f}: ")
    if failed:
        if len(files) > 1:
            console().print(f"{failed} of {len(files)} files {'has' if failed == 1 else 'have'} problems")
        sys.exit(EXIT_BAD_INPUT)


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
