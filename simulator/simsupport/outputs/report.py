"""Everything `simsupport run` writes for one scenario, each file atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.derived import display_zone
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
    tz: str | None = None,
) -> tuple[dict, list[Path]]:
    """Write summary.json, interval tables, optional tickets and plots; return the summary.
    Times are shown on the clock of `tz` (None: `display_zone(scenario)`); stored instants stay UTC."""
    zone = display_zone(scenario, tz)
    written: list[Path] = []
    doc = summary_document(scenario, results, tz=zone)
    written.append(write_json(out / "summary.json", doc))
    # plain columns written without pandas (a third of a second to import) when they can be
    # the very files pandas writes; the frame only for the plots or else
    cols = interval_columns(results, scenario.start, zone) if columns_as_pandas_writes() else None
    intervals = interval_frame(results, scenario.start, zone) if cols is None or plots else None
    for name in ("intervals.parquet", "intervals.csv"):
        written.append(write_columns(out / name, cols) if cols is not None else write_table(out / name, intervals))
    if tickets:
        written.append(write_table(out / "tickets.parquet", ticket_frame(results)))
    if plots:
        assert intervals is not None
        written += write_plots(scenario, results, doc, intervals, out, tz=zone)
    return doc, written


def write_plots(
    scenario: Scenario,
    results: Sequence[ReplicationResult],
    doc: dict,
    intervals: pd.DataFrame,
    out: Path,
    tz: str | None = None,
) -> list[Path]:
    """The PNG plots of a run: waits, the daily profile, the journey and the market's bursts,
    their clock times in `tz` (None: `display_zone(scenario)`)."""
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
    zone = display_zone(scenario, tz)
    written.append(
        daily_profile_plot(
            intervals, targets, out / "daily_profile.png", scenario.name, zone, excluded=shock_windows(scenario)
        )
    )
    if scenario.has_journey:
        backlog = [name for name, ch in scenario.channels.items() if ch.is_backlog and ch.rate > 0]
        written.append(journey_plot(doc, intervals, backlog, out / "journey.png", scenario.name, tz=zone))
    if scenario.market is not None:
        shocks = [pd.Timestamp(scenario.start) + pd.Timedelta(seconds=sh.at) for sh in scenario.market.shocks]
        starts: dict[str, list[pd.Timestamp]] = {}
        for r in results:
            for log in r.extra.get("surge", []):
                starts.setdefault(log["name"], []).extend(
                    pd.Timestamp(scenario.start) + pd.Timedelta(seconds=t) for t in log["starts"]
                )
        written.append(
            burst_timeline_plot(
                intervals, shocks, targets, out / "burst_timeline.png", scenario.name, activations=starts, tz=zone
            )
        )
    return written


SHOCK_DECAYS = 4  # a shock's excess volatility is down to e^-4 (2%) of its move after 4 decay times


def shock_windows(scenario: Scenario) -> list[tuple[float, float]]:
    """The time a one-off market shock bends (simulation seconds): from the shock to
    SHOCK_DECAYS decay times after it. An average "over the day" leaves the intervals that touch
    it out: they are one day's accident, not the time of day's."""
    if scenario.market is None:
        return []
    return [(sh.at, sh.at + SHOCK_DECAYS * sh.decay) for sh in scenario.market.shocks]
