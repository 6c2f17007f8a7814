"""Service KPIs per channel and local day, from a ticket log and from simulated interval tables,
on the same definitions, so a backtest can set what happened against the simulated band.

ASA is the mean wait of answered contacts; the service level is answered within the channel's
`answer_within` over answered and abandoned (the scenario's default formula; `answered` and
`offered` formulas follow the SLA's own), with abandons within `short_abandon` left out of both;
abandonment is abandoned over offered (answered, abandoned, blocked: deflected contacts never
reach the queue). Retries count as the contacts they are, as the simulator counts them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..config.schema import Scenario
from ..stats.result import ReplicationResult

METRICS = ("asa_s", "service_level", "abandoned_share")
BAND = (0.05, 0.95)  # the simulated band: 5% to 95% of the replications


def _local_date(stamps: pd.Series, tz: str) -> pd.Series:
    return stamps.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def actual_kpis(log: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """channel, date, asa_s, service_level, abandoned_share from a ticket log with waits."""
    rows = []
    for name, ch in scenario.channels.items():
        sub = log.loc[log["channel"] == name]
        if sub.empty:
            continue
        outcome = sub["outcome"].to_numpy(dtype=object)
        wait = sub["wait_s"].to_numpy(dtype=float)
        date = _local_date(sub["created_at"], ch.timezone).to_numpy()
        sla = ch.sla
        t = sla.answer_within if sla is not None else None
        short = sla.short_abandon if sla is not None else 0.0
        frame = pd.DataFrame({
            "date": date,
            "answered": outcome == "answered",
            "abandoned": (outcome == "abandoned") & ~(wait <= short),
            "offered": np.isin(outcome, ("answered", "abandoned", "blocked")),
            "wait": np.where(outcome == "answered", wait, 0.0),
            "in_time": (outcome == "answered") & (wait <= (t if t is not None else np.inf)),
            "ab_in_time": (outcome == "abandoned") & (wait <= (t if t is not None else np.inf)) & ~(wait <= short),
        })  # fmt: skip
        g = frame.groupby("date").sum(numeric_only=True)
        out = pd.DataFrame({"channel": name, "date": g.index})
        out["asa_s"] = (g["wait"] / g["answered"].where(g["answered"] > 0)).to_numpy()
        out["abandoned_share"] = (g["abandoned"] / g["offered"].where(g["offered"] > 0)).to_numpy()
        if t is not None:
            formula = sla.formula if sla is not None else "answered_and_abandoned"
            if formula == "answered":
                num, den = g["in_time"], g["answered"]
            elif formula == "offered":
                num, den = g["in_time"] + g["ab_in_time"], g["offered"]
            else:
                num, den = g["in_time"], g["answered"] + g["abandoned"]
            out["service_level"] = (num / den.where(den > 0)).to_numpy()
        else:
            out["service_level"] = np.nan
        rows.append(out)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["channel", "date", *METRICS])


def simulated_kpis(scenario: Scenario, results: Sequence[ReplicationResult]) -> pd.DataFrame:
    """replication, channel, date and the three KPIs, from each replication's interval table."""
    frames = []
    for r in results:
        f = pd.DataFrame(r.intervals)
        f["replication"] = r.replication
        frames.append(f)
    iv = pd.concat(frames, ignore_index=True)
    iv["start"] = pd.Timestamp(scenario.start) + pd.to_timedelta(iv["start_s"], unit="s")
    out = []
    for name, ch in scenario.channels.items():
        sub = iv.loc[iv["channel"] == name].copy()
        if sub.empty:
            continue
        sub["date"] = _local_date(sub["start"], ch.timezone)
        sub["wait"] = sub["asa_s"].fillna(0.0) * sub["answered"]
        den = sub["answered"] + sub["abandoned"]
        sub["sl_num"] = sub["service_level"].fillna(0.0) * den
        sub["sl_den"] = den.where(sub["service_level"].notna(), 0.0)
        g = sub.groupby(["replication", "date"])[["wait", "answered", "abandoned", "offered", "sl_num", "sl_den"]].sum()
        k = g.reset_index()
        k["channel"] = name
        k["asa_s"] = g["wait"].to_numpy() / g["answered"].where(g["answered"] > 0).to_numpy()
        k["abandoned_share"] = g["abandoned"].to_numpy() / g["offered"].where(g["offered"] > 0).to_numpy()
        k["service_level"] = g["sl_num"].to_numpy() / g["sl_den"].where(g["sl_den"] > 0).to_numpy()
        out.append(k[["replication", "channel", "date", *METRICS]])
    return pd.concat(out, ignore_index=True)


def compare_kpis(actual: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """channel, date, metric, actual, sim_p05, sim_p50, sim_p95, inside: long format."""
    lo, hi = BAND
    long = simulated.melt(id_vars=["replication", "channel", "date"], value_vars=list(METRICS), var_name="metric")
    q = long.groupby(["channel", "date", "metric"])["value"].quantile([lo, 0.5, hi]).unstack()
    q.columns = ["sim_p05", "sim_p50", "sim_p95"]
    act = actual.melt(id_vars=["channel", "date"], value_vars=list(METRICS), var_name="metric", value_name="actual")
    both = act.merge(q.reset_index(), on=["channel", "date", "metric"], how="inner").dropna(subset=["actual"])
    both["inside"] = (both["actual"] >= both["sim_p05"]) & (both["actual"] <= both["sim_p95"])
    return both.sort_values(["channel", "metric", "date"], ignore_index=True)
