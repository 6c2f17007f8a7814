"""Everything `simsupport run` writes for one scenario, each file atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import Scenario
from ..stats.result import ReplicationResult
from .files import columns_as_pandas_writes, write_columns, write_json, write_table
from .summary import summary_document
from .tables import interval_columns, interval_frame, ticket_frame

if TYPE_CHECKING:
    import pandas as pd


def write_run(
    scenario: Scenario,
    results: Sequence[ReplicationResult],
    out: Path,
    *,
    plots: bool = True,
    tickets: bool = False,
) -> tuple[dict, list[Path]]:
    """Write summary.json, interval tables, optional tickets and plots; return the summary."""
    written: list[Path] = []
    doc = summary_document(scenario, results)
    written.append(write_json(out / "summary.json", doc))
    # plain columns written without pandas (a third of a second to import) when they can be
    # the very files pandas writes; the frame only for the plots or else
    cols = interval_columns(results, scenario.start) if columns_as_pandas_writes() else None
    intervals = interval_frame(results, scenario.start) if cols is None or plots else None
    for name in ("intervals.parquet", "intervals.csv"):
        written.append(write_columns(out / name, cols) if cols is not None else write_table(out / name, intervals))
    if tickets:
        written.append(write_table(out / "tickets.parquet", ticket_frame(results)))
    if plots:
        assert intervals is not None
        written += write_plots(scenario, results, doc, intervals, out)
    return doc, written


def write_plots(
    scenario: Scenario, results: Sequence[ReplicationResult], doc: dict, intervals: pd.DataFrame, out: Path
) -> list[Path]:
    """The PNG plots of a run: waits, the daily profile, the journey and the market's bursts."""
    # matplotlib only when plots are drawn: its import is a third of `simsupport run --no-plots`
    import pandas as pd

    from .plots import (
        burst_timeline_plot,
        channel_wait_histograms,
        daily_profile_plot,
        journey_plot,
        wait_distribution_plot,
    )

    written: list[Path] = []
    sla = {
        name: (ch.sla.threshold, ch.sla.target) if ch.sla is not None else None
        for name, ch in scenario.channels.items()
    }
    levels = {name: block["service_level"]["mean"] for name, block in doc["by_channel"].items()}
    written.append(
        wait_distribution_plot(
            channel_wait_histograms(results), sla, levels, out / "wait_distribution.png", scenario.name
        )
    )
    targets = {name: (s[1] if s else None) for name, s in sla.items()}
    tz = scenario.start.tzname() or "UTC"
    written.append(daily_profile_plot(intervals, targets, out / "daily_profile.png", scenario.name, tz))
    if scenario.has_journey:
        backlog = [name for name, ch in scenario.channels.items() if ch.is_backlog and ch.rate > 0]
        written.append(journey_plot(doc, intervals, backlog, out / "journey.png", scenario.name))
    if scenario.market is not None:
        shocks = [pd.Timestamp(scenario.start) + pd.Timedelta(seconds=sh.at) for sh in scenario.market.shocks]
        starts: dict[str, list[pd.Timestamp]] = {}
        for r in results:
            for log in r.extra.get("surge", []):
                starts.setdefault(log["name"], []).extend(
                    pd.Timestamp(scenario.start) + pd.Timedelta(seconds=t) for t in log["starts"]
                )
        written.append(
            burst_timeline_plot(intervals, shocks, targets, out / "burst_timeline.png", scenario.name, activations=starts)
        )
    return written
