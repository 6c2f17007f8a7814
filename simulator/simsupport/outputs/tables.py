"""Tidy tables: one row per replication, interval and channel; one row per ticket if asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from ..stats.result import ReplicationResult


def interval_frame(results: Sequence[ReplicationResult], start: datetime) -> pd.DataFrame:
    frames = [pd.DataFrame(r.intervals) for r in results]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not df.empty:
        df.insert(2, "start", pd.Timestamp(start) + pd.to_timedelta(df["start_s"], unit="s"))
    return df


def ticket_frame(results: Sequence[ReplicationResult]) -> pd.DataFrame:
    frames = []
    for r in results:
        if r.tickets is None:
            continue
        f = pd.DataFrame(r.tickets)
        f.insert(0, "replication", r.replication)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
