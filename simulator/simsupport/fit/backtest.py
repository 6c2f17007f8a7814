"""The fitted model against what happened: simulated volumes over the history's own window
(the recorded prices replayed), per channel and day, with the 5-95% band and its coverage.

Volumes are simulated from the scenario's own arrival model: the market drive of each
replication (the replay, the day factors from the `market/busyness` stream, exactly what a run
draws) and the channel's piecewise rate, integrated per interval and drawn as Poisson counts.
That is the same distribution of first contacts as the event simulation's arrival process, at
a fraction of its cost, so 30 replications of months of history take seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import streams as stream_names
from ..config.load import read_data, scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.replications import run_replications
from ..market.drive import build_drive
from ..plan.rates import make_rate
from ..rng import Streams
from .arrivals import CountGrid, day_bounds, keep_days
from .kpis import BAND, actual_kpis, compare_kpis, simulated_kpis
from .history import TicketHistory, VolumeHistory, read_price_history
from .learn import ticket_grids, volume_grids



def expected_coverage(replications: int) -> float:
    """Chance that a new draw of the same model lands inside the simulated band: with R
    replications the 5% and 95% quantiles (linear interpolation) sit at order statistics
    1 + 0.05 (R - 1) and 1 + 0.95 (R - 1), which hold (0.9 (R - 1)) / (R + 1) of the
    probability between them (84% for 30 replications, 89% for 300), not 90%."""
    return 0.9 * (replications - 1) / (replications + 1)


def simulated_counts(scenario: Scenario, grids: dict[str, CountGrid], replications: int) -> dict[str, np.ndarray]:
    """Simulated first contacts per interval of each channel's grid: (replications, intervals)."""
    start = scenario.start.timestamp()
    until = max(float(g.start[-1]) + g.width - start for g in grids.values())
    step = scenario.market.step if scenario.market is not None else 60.0
    out = {name: np.zeros((replications, len(g.counts))) for name, g in grids.items()}
    for r in range(replications):
        streams = Streams(scenario.seed, r)
        drive = build_drive(scenario, streams, until)
        for name, g in grids.items():
            ch = scenario.channels[name]
            mult = drive.multiplier[name] if drive is not None else None
            rate = make_rate(ch.rate, ch.daily_profile, ch.weekly_profile, ch.timezone, scenario.start, mult, step)
            t0 = g.start.astype(float) - start
            expected = np.array([rate.integral(a, a + g.width) for a in t0])
            out[name][r] = streams(stream_names.arrivals(name)).poisson(expected)
    return out


@dataclass(frozen=True)
class Backtest:
    days: pd.DataFrame  # channel, date, actual, sim_p05, sim_p50, sim_p95, inside
    intervals: pd.DataFrame  # channel, start (UTC), local_start, actual, sim_p05, sim_p95, inside
    coverage: pd.DataFrame  # channel, days, days_inside, day_coverage, intervals, interval_coverage
    missing: list[str] = field(default_factory=list)  # scenario channels the history does not have
    kpis: pd.DataFrame | None = None  # channel, date, metric, actual, sim_p05, sim_p50, sim_p95, inside


def compare(names: list[str], grids: dict[str, CountGrid], sims: dict[str, np.ndarray]) -> Backtest:
    """Actual against the simulated band, per day and per interval, and the share inside.

    A day or interval the model keeps closed (every replication 0) where nothing happened is
    neither a hit nor a miss: counting the nights and weekends of a closed desk as hits would
    flatter any model. They stay in the tables with `closed` set."""
    day_rows, int_rows, cov_rows = [], [], []
    lo_q, hi_q = BAND
    for name in names:
        g, sim = grids[name], sims[name]
        ndays = len(g.days)
        actual_d = np.bincount(g.day, weights=g.counts, minlength=ndays)
        sim_d = np.stack([np.bincount(g.day, weights=s, minlength=ndays) for s in sim])
        q = np.quantile(sim_d, [lo_q, 0.5, hi_q], axis=0)
        inside_d = (actual_d >= q[0]) & (actual_d <= q[2])
        closed_d = (sim_d.max(axis=0) == 0) & (actual_d == 0)
        day_rows.append(pd.DataFrame({
            "channel": name, "date": g.days.date, "actual": actual_d, "sim_p05": q[0], "sim_p50": q[1],
            "sim_p95": q[2], "inside": inside_d, "closed": closed_d,
        }))  # fmt: skip
        qi = np.quantile(sim, [lo_q, hi_q], axis=0)
        inside_i = (g.counts >= qi[0]) & (g.counts <= qi[1])
        closed_i = (sim.max(axis=0) == 0) & (g.counts == 0)
        start = pd.to_datetime(g.start, unit="s", utc=True)
        int_rows.append(pd.DataFrame({
            "channel": name, "start": start, "local_start": start.tz_convert(g.tz).tz_localize(None),
            "actual": g.counts, "sim_p05": qi[0], "sim_p95": qi[1], "inside": inside_i, "closed": closed_i,
        }))  # fmt: skip
        open_d, open_i = ~closed_d, ~closed_i
        cov_rows.append({
            "channel": name, "days": int(open_d.sum()), "days_inside": int(inside_d[open_d].sum()),
            "day_coverage": float(inside_d[open_d].mean()) if open_d.any() else math.nan,
            "intervals": int(open_i.sum()),
            "interval_coverage": float(inside_i[open_i].mean()) if open_i.any() else math.nan,
            "expected_coverage": expected_coverage(sim.shape[0]),
            "closed_days": int(closed_d.sum()), "closed_intervals": int(closed_i.sum()),
        })  # fmt: skip
    return Backtest(pd.concat(day_rows, ignore_index=True), pd.concat(int_rows, ignore_index=True), pd.DataFrame(cov_rows))


def run_backtest(path: Path, h: TicketHistory | VolumeHistory, replications: int, since: pd.Timestamp | None = None,
                 prices: Path | None = None, kpis: bool = False, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> Backtest:
    """Simulate the history's window with the scenario (its replay aligned to the clock) and
    compare volumes; with `kpis`, also run the whole desk (the scenario's pools taken as the
    real roster) and compare ASA, service level and abandonment per day."""
    tree, data = read_data(path)
    data = dict(data)
    if prices is not None:
        market = dict(data.get("market") or {})
        market.update({"model": "replay", "file": str(prices.resolve()), "align": "clock"})
        data["market"] = market
    zones = {name: (ch or {}).get("timezone", "UTC") for name, ch in (data.get("channels") or {}).items()}
    if isinstance(h, TicketHistory):
        _, grids = ticket_grids(h, zones, since)
    else:
        rep, grids = volume_grids(h, zones, since)
        for name, g in list(grids.items()):  # a day missing from a report is missing, not quiet
            sub = rep.loc[rep["channel"] == name, "interval_start"]
            seen = set(sub.dt.tz_convert(g.tz).dt.tz_localize(None).dt.normalize())
            grids[name] = keep_days(g, np.array([d in seen for d in g.days]))
    missing = sorted(set(zones) - set(grids))
    market = data.get("market") or {}
    if market.get("model") == "replay" and market.get("align") == "clock":
        # whole days only, from the first one the recording covers to the last
        epoch, _ = read_price_history(path.resolve().parent / str(market.get("file")), str(market.get("file")),
                                      market.get("timezone"), 1e18)
        for name, g in list(grids.items()):
            day_start, day_end = day_bounds(g)
            keep = (day_start >= epoch[0]) & (day_end <= epoch[-1] + 60)
            if keep.any():
                grids[name] = keep_days(g, keep)
            else:
                del grids[name]
    if not grids:
        raise ScenarioError(f"none of the scenario's channels ({', '.join(zones)}) appears in the history", file=h.path)
    lo = min(g.window[0] for g in grids.values())
    hi = max(g.window[1] for g in grids.values())
    data.update({"start": lo.to_pydatetime(), "horizon": f"{int((hi - lo).total_seconds())}s", "warmup": "0s"})
    scenario = scenario_from_dict(data, source=str(path), tree=tree, base_dir=path.resolve().parent,
                                  overridden=frozenset({"start", "horizon", "warmup"}), staffing_as_given=False)
    sims = simulated_counts(scenario, grids, replications)
    bt = compare(list(grids), grids, sims)
    table = None
    if kpis:
        if not isinstance(h, TicketHistory) or not {"wait_s", "outcome"} <= set(h.frame.columns):
            raise ScenarioError("--kpis needs a ticket log with outcome and wait_s columns", file=h.path)
        results = run_replications(scenario, replications, workers=workers, progress=progress)
        log = h.frame.loc[(h.frame["created_at"] >= lo) & (h.frame["created_at"] < hi)]
        keep = {(c, d) for c, g in grids.items() for d in g.days}
        table = compare_kpis(actual_kpis(log, scenario), simulated_kpis(scenario, results))
        table = table.loc[[(c, d) in keep for c, d in zip(table["channel"], table["date"], strict=True)]]
    return Backtest(bt.days, bt.intervals, bt.coverage, missing, table)
