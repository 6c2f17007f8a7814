"""Reading a recorded price series (CSV: timestamp, price) for `market: {model: replay}`.

Every problem names the file and the row (1-based, header included), because a price file is
usually an export someone will fix by hand: a malformed timestamp or price, a row out of
order, a gap longer than `max_gap`, a timestamp without a time zone when none is configured.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ..units import format_duration


def read_prices(
    path: Path, shown: str, timezone: str | None, max_gap: float
) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """(seconds since the first row, price, the first row's time in epoch seconds) of a
    timestamp,price CSV (header optional)."""
    if path.is_dir():
        raise ValueError(f"price file {shown!r} is a folder, not a CSV file (looked in {path.parent})")
    if not path.is_file():
        raise ValueError(f"price file {shown!r} not found (looked in {path.parent})")
    tz = ZoneInfo(timezone) if timezone else None
    times: list[float] = []
    prices: list[float] = []
    first: datetime | None = None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for row_no, row in enumerate(csv.reader(fh), start=1):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != 2:
                    raise ValueError(f"{shown} row {row_no}: expected two cells, timestamp,price, but found "
                                     f"{len(row)}: {','.join(row)!r}")
                stamp_text, price_text = row[0].strip(), row[1].strip()
                try:
                    stamp = datetime.fromisoformat(stamp_text.replace("Z", "+00:00"))
                except ValueError:
                    if row_no == 1 and not times:
                        continue  # a header
                    raise ValueError(
                        f"{shown} row {row_no}: {stamp_text!r} is not a timestamp; write ISO 8601 "
                        "such as 2024-03-12T02:15:00Z"
                    ) from None
                if stamp.tzinfo is None:
                    if tz is None:
                        raise ValueError(
                            f"{shown} row {row_no}: timestamp {stamp_text!r} has no time zone; add one "
                            "(2024-03-12T02:15:00Z) or set market.timezone"
                        )
                    stamp = stamp.replace(tzinfo=tz)
                stamp = stamp.astimezone(UTC)  # subtract in UTC: wall clocks jump at daylight saving
                try:
                    price = float(price_text)
                except ValueError:
                    raise ValueError(f"{shown} row {row_no}: price {price_text!r} is not a number") from None
                if not math.isfinite(price) or price <= 0:
                    raise ValueError(f"{shown} row {row_no}: price {price_text!r} must be a positive number")
                if first is None:
                    first = stamp
                t = (stamp - first).total_seconds()
                if times:
                    if t <= times[-1]:
                        raise ValueError(
                            f"{shown} row {row_no}: {stamp_text} is not after the row before; rows must be "
                            "sorted by time with no repeats"
                        )
                    if t - times[-1] > max_gap:
                        raise ValueError(
                            f"{shown} row {row_no}: a gap of {format_duration(t - times[-1])} before "
                            f"{stamp_text}, longer than max_gap ({format_duration(max_gap)})"
                        )
                times.append(t)
                prices.append(price)
    except UnicodeDecodeError:
        raise ValueError(f"price file {shown!r} is not UTF-8 text") from None
    if len(times) < 2:
        raise ValueError(f"price file {shown!r} has fewer than two prices")
    assert first is not None
    return tuple(times), tuple(prices), first.timestamp()
