"""Tidy tables: one row per replication, interval and channel; one row per ticket if asked.

`start` is the interval's start as an instant (UTC offset of the scenario's `start`);
`local_time` the same moment on the display zone's wall clock (`config.derived.display_zone`),
naive, so that `.dt.hour` and spreadsheets read the desk's own clock without conversion.

The interval table is built as plain typed columns (`Columns`), which `files.write_columns`
writes as CSV and Parquet without pandas: importing pandas is a third of a second, as much as
simulating 100,000 tickets, and `simsupport run` needs nothing else from it. The files are the
ones pandas writes (tests/test_tables_io.py compares them byte for byte); whatever the plain
columns cannot say exactly (no rows, a start off whole seconds, a value of an unexpected type)
takes pandas' own path, `interval_frame`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from ..stats.result import ReplicationResult

if TYPE_CHECKING:
    import pandas as pd

# column type tags, named as pandas names their dtypes
INT, FLOAT, STR, TIME, LOCAL = "int64", "float64", "str", "datetime", "datetime_naive"
# the interval table's columns in file order (engine.report.interval_table, with `start` and
# `local_time` third and fourth)
INTERVAL_TYPES = {
    "replication": INT, "interval": INT, "start": TIME, "local_time": LOCAL, "start_s": FLOAT, "channel": STR,
    "offered": FLOAT, "answered": FLOAT, "abandoned": FLOAT, "asa_s": FLOAT, "service_level": FLOAT,
    "mean_queue": FLOAT, "agents_on_duty": FLOAT, "occupancy": FLOAT, "price": FLOAT, "volatility": FLOAT,
    "arrival_multiplier": FLOAT, "open_tickets": INT,
}  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
ADDED = ("start", "local_time")  # columns the writer adds to the engine's


@dataclass(frozen=True)
class Columns:
    """A table as columns of numpy chunks (one chunk per replication: the replications' own
    arrays, never concatenated), with a type tag per column (STR chunks are object arrays of
    str); TIME columns hold whole microseconds since the epoch (UTC), shown in `tz`; LOCAL
    columns hold wall-clock microseconds since a naive 1970-01-01 (a local clock reading)."""

    data: dict[str, list[np.ndarray]]
    types: dict[str, str]
    tz: tzinfo

    def __len__(self) -> int:
        return sum(len(c) for c in next(iter(self.data.values()), []))


_KINDS = {INT: "i", FLOAT: "f"}  # numpy dtype kinds the engine's columns must have


def interval_columns(results: Sequence[ReplicationResult], start: datetime, tz: str | None = None) -> Columns | None:
    """The interval table as plain columns, or None when only pandas can build it exactly.
    `local_time` is on the clock of `tz` (None: the start's own zone). Clock conversions are
    done once per distinct interval start, not per row."""
    names = [n for n in INTERVAL_TYPES if n not in ADDED]
    if not results or any(list(r.intervals) != names for r in results):
        return None
    data: dict[str, list[np.ndarray]] = {n: [np.asarray(r.intervals[n]) for r in results] for n in names}
    if not sum(len(c) for c in data["replication"]):
        return None
    for n in names:
        kind = INTERVAL_TYPES[n]
        if kind in _KINDS and any(c.dtype.kind != _KINDS[kind] for c in data[n]):
            return None
        if kind == STR and not all(type(v) is str for c in data[n] for v in c.tolist()):
            return None
    # pandas adds the seconds to the start as an instant (not on the wall clock); its text is
    # the same as Python's when every start is a whole second in a whole-minute offset
    tz_of_start = start.tzinfo
    offset = start.utcoffset()
    if tz_of_start is None or offset is None or offset.seconds % 60 or offset.microseconds or start.microsecond:
        return None
    if not all(np.all(np.isfinite(c)) and np.all(c == np.floor(c)) for c in data["start_s"]):
        return None
    t0 = (start - _EPOCH) // timedelta(microseconds=1)
    zone = ZoneInfo(tz) if tz else tz_of_start
    walls: dict[int, int] = {}  # instant -> wall clock, shared by the replications' chunks
    starts, locals_ = [], []
    for c in data["start_s"]:
        distinct, where = np.unique(t0 + c.astype(np.int64) * 1_000_000, return_inverse=True)
        for us in distinct.tolist():
            if us not in walls:
                if (o := local(us, tz_of_start).utcoffset()) is None or o.seconds % 60:
                    return None  # a zone's seconds-long offset of old (local mean time)
                walls[us] = wall(us, zone)
        starts.append(distinct[where])
        locals_.append(np.array([walls[us] for us in distinct.tolist()], dtype=np.int64)[where])
    cols = {n: data[n] for n in names[:2]}
    cols["start"] = starts
    cols["local_time"] = locals_
    cols.update({n: data[n] for n in names[2:]})
    return Columns(cols, dict(INTERVAL_TYPES), tz_of_start)


def local(us: int, tz: tzinfo) -> datetime:
    """Microseconds since the epoch as an aware datetime in `tz`."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


def wall(us: int, tz: tzinfo) -> int:
    """Microseconds since the epoch as the wall-clock reading of `tz` (naive microseconds)."""
    return (local(us, tz).replace(tzinfo=None) - _NAIVE_EPOCH) // timedelta(microseconds=1)


def naive(us: int) -> datetime:
    """Naive wall-clock microseconds (a LOCAL column's value) as a naive datetime."""
    return _NAIVE_EPOCH + timedelta(microseconds=us)


def interval_frame(results: Sequence[ReplicationResult], start: datetime, tz: str | None = None) -> pd.DataFrame:
    """The interval table with pandas; `local_time` on the clock of `tz` (None: the start's zone)."""
    import pandas as pd  # only for plots and the cases interval_columns leaves to pandas

    frames = [pd.DataFrame(r.intervals) for r in results]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not df.empty:
        df.insert(2, "start", pd.Timestamp(start) + pd.to_timedelta(df["start_s"], unit="s"))
        df.insert(3, "local_time", df["start"].dt.tz_convert(tz or start.tzinfo).dt.tz_localize(None))
    return df


def ticket_frame(results: Sequence[ReplicationResult]) -> pd.DataFrame:
    import pandas as pd  # only with --tickets

    frames = []
    for r in results:
        if r.tickets is None:
            continue
        f = pd.DataFrame(r.tickets)
        f.insert(0, "replication", r.replication)
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
