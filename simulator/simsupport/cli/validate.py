"""`simsupport validate` (check scenario files without running them) and `simsupport schema`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..config.load import load_scenario
from ..config.schema import Scenario
from ..outputs.files import atomic_write
from ..units import format_duration
from .console import console, plural


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario files without running them."""
    for f in files:
        s = load_scenario(f)
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
            f"{plural(s.replications, 'replication')}"
        )


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def schema(out: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
