"""What the commands share: the rich console, number formats, tables and the progress bar."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Self

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ..outputs.folder import OutputFolder
from ..units import format_duration


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 132)  # logs and pipes: don't squeeze tables
    return out


def print_warnings(warnings: list[str], prefix: str = "") -> None:
    """Each warning on a line of its own, unwrapped (so it can be searched for and copied)."""
    out = console()
    for w in warnings:
        out.print(f"[yellow]warning:[/] {escape(prefix + w)}", soft_wrap=True)


def fmt_s(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format_duration(v) if v >= 1 else f"{v:.1f}s"


def pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{100 * v:.1f}%"


def num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:,.0f}"


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def mean(block: dict, metric: str) -> float:
    """The mean of a metric in a summary block ({"mean", "ci95"} per metric), NaN if absent."""
    m = block.get(metric)
    return math.nan if m is None or m["mean"] is None else m["mean"]


class ProgressBar:
    """A rich progress bar on stderr (prints once, without frames, when not a terminal); called
    with (done, total) as the runners report. It redraws at each report and twice a second
    between them: rich's default ten a second costs the simulation in the same process a few
    percent."""

    def __init__(self, total: int, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console(stderr=True), transient=False, refresh_per_second=2,
        )  # fmt: skip
        self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> Self:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total, refresh=True)


def own_folder(out: Path) -> OutputFolder:
    """This run's hold on its output folder (see outputs.folder), released when the command ends
    however it ends (a SIGKILLed run leaves a stale lock the next run takes over)."""
    folder = OutputFolder(out, "simsupport " + " ".join(sys.argv[1:])).open()
    click.get_current_context().call_on_close(folder.release)
    return folder


def interrupted(what: str) -> SystemExit:
    """Say on stderr what a Ctrl-C kept and how to resume; the SystemExit(130) to raise."""
    console(stderr=True).print(f"interrupted: {what}; run the same command again to resume")
    return SystemExit(130)
