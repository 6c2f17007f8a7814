"""Reading and checking a desk's history for `simsupport fit`: ticket logs, interval reports
and recorded prices (CSV, gzipped CSV or Parquet).

Every bad cell would become a wrong rate or share in the fitted scenario, silently, so a file
that cannot be read as meant is refused with the file, the column and the row(s) to fix: rows
are counted as a spreadsheet shows them, the header being row 1 (the first data row is row 2;
Parquet rows likewise); blank lines count, and are skipped. The frame keeps the file row in
`row` (int64) so later stages can name rows too. Extra columns are ignored; `--columns
ours=theirs` maps ours to the file's names (names the reader does not use are ignored, so one
mapping can serve both files), and a column also matches ours up to case, spaces and hyphens.

Normalised dtypes, chosen so later stages meet no surprises (no categorical zero counts):
timestamps datetime64[ns, UTC]; labels (channel, category, language, outcome, escalated_to)
object holding Python str, None where empty; flags (vip, escalated, retry) bool; seconds and
counts float64 (NaN where empty) except `offered`, int64. Flags read 0/1, true/false, yes/no
in any case; an empty `escalated` means no, an empty `vip` or `retry` is refused.

Time zones: stamps either all carry a UTC offset ('Z', '+08:00'; the distinct offsets are
kept in `offsets`) or none does, and then `--timezone` names the wall clock they were written
in. Daylight saving, for wall-clock stamps: a time inside the hour skipped in spring moves
forward to the end of the gap (02:30 -> 03:00, pandas' `shift_forward`); a time in the hour
repeated in autumn is read as its first occurrence (summer time) until the log steps back in
time within that night, and as the second from then on (a newest-first log is read from its
end), which is exact for a log in time order and at worst misplaces tickets by one hour.
Stamps with offsets avoid both.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..config.prices import read_prices
from ..errors import ScenarioError
from ..units import format_duration

TICKET_REQUIRED = ("created_at", "channel")
TICKET_OPTIONAL = ("category", "language", "vip", "outcome", "wait_s", "handle_s", "escalated", "retry")
VOLUME_REQUIRED = ("interval_start", "channel", "offered")
VOLUME_OPTIONAL = ("answered", "abandoned", "aht_s")
COLUMN_NAMES = tuple(dict.fromkeys(TICKET_REQUIRED + TICKET_OPTIONAL + VOLUME_REQUIRED + VOLUME_OPTIONAL))
OUTCOMES = ("answered", "abandoned", "deflected", "blocked")
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_YES, _NO = ("1", "true", "yes"), ("0", "false", "no")
_FLAG_TEXT = "write 1/0, true/false or yes/no (any case)"
_ISO = "write ISO 8601 such as 2024-03-12T02:15:00Z or 2024-03-12T10:15:00+08:00"
_OFFSET = r"[Tt ][0-9:.,]+\s*(?P<off>Z|[+-]\d{2}(?::?\d{2})?)$"  # the offset after a time of day
_EARLIEST, _LATEST = pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC")
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True, eq=False)  # eq=False: a DataFrame has no truth value to compare by
class TicketHistory:
    """One row per ticket, checked and normalised (columns and dtypes: module docstring)."""

    frame: pd.DataFrame  # sorted by created_at (stable)
    path: str  # as shown to the user
    timezone: str | None  # the IANA zone given with --timezone, or None
    offsets: tuple[int, ...]  # distinct UTC offsets (s) the stamps carried; () when localised
    present: frozenset[str]  # optional columns the file had (our names)


@dataclass(frozen=True, eq=False)
class VolumeHistory:
    """One row per (interval, channel) of an interval report, checked and normalised."""

    frame: pd.DataFrame  # interval_start, channel, offered, answered, abandoned, aht_s, row
    path: str
    interval_s: float  # the report's interval length, inferred from the starts
    timezone: str | None
    present: frozenset[str]


@dataclass(frozen=True)
class _Rows:
    """Where each frame position came from, so every complaint names file rows."""

    shown: str
    rows: np.ndarray  # file row number (header = 1) per position

    def check(self, bad: np.ndarray | pd.Series, field: str | None, problem: str, allowed: str,
              texts: pd.Series | Callable[[int], str] | None = None) -> None:
        """Raise naming the first five bad rows (with their text) and how many there are."""
        idx = np.flatnonzero(np.asarray(bad, dtype=bool))
        if not len(idx):
            return
        shown = []
        for i in idx[:5]:
            cell = "" if texts is None else texts.iloc[i] if isinstance(texts, pd.Series) else texts(i)
            shown.append(f"row {self.rows[i]}" + (f" ({str(cell)[:40]!r})" if texts is not None else ""))
        listing = ", ".join(shown)
        many = f"{len(idx):,} rows{': ' if len(idx) <= 5 else ', the first '}"
        where = f"in {listing}" if len(idx) == 1 else f"in {many}{listing}"
        raise ScenarioError(f"{problem} {where}; {allowed}", file=self.shown, field=field, line=int(self.rows[idx[0]]))


def parse_columns(spec: str | None) -> dict[str, str]:
    """'created_at=Created,channel=Via' -> {'created_at': 'Created', 'channel': 'Via'}: our
    name on the left, the file's column on the right (exports name their columns freely)."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue  # a trailing comma
        ours, eq, theirs = (p.strip() for p in part.partition("="))
        if not eq or not ours or not theirs:
            raise ScenarioError(f"{part.strip()!r} is not ours=theirs; write for example "
                                "--columns created_at=Created,channel=Via (our name on the left, the file's "
                                "column on the right, pairs separated by commas)", field="--columns")
        if ours not in COLUMN_NAMES:
            raise ScenarioError(f"{ours!r} is not a column simsupport reads; the names on the left of = are "
                                f"{', '.join(COLUMN_NAMES)}", field="--columns")
        if ours in out:
            raise ScenarioError(f"{ours} is mapped twice ({out[ours]!r} and {theirs!r}); map each name once",
                                field="--columns")
        out[ours] = theirs
    return out


def read_tickets(path: Path, shown: str | None = None, columns: dict[str, str] | None = None,
                 timezone: str | None = None) -> TicketHistory:
    """The ticket log at `path`, checked cell by cell and normalised (see the module docstring)."""
    shown = shown or str(path)
    zone = _zone(timezone, shown)
    raw, rows, present = _open(path, shown, "log", TICKET_REQUIRED, TICKET_OPTIONAL, columns)
    created, offsets = _stamps(raw["created_at"], "created_at", rows, zone)
    out: dict[str, object] = {"created_at": created, "channel": _labels(raw["channel"], "channel", rows, True)}
    for name in TICKET_OPTIONAL:
        if name not in present:
            continue
        if name in ("category", "language"):
            out[name] = _labels(raw[name], name, rows)
        elif name in ("wait_s", "handle_s"):
            out[name] = _numbers(raw[name], name, rows)
        elif name == "outcome":
            text = _text(raw[name])
            low = text.str.lower()
            rows.check(~low.isin(OUTCOMES), name, "outcome is not a known outcome",
                       f"the outcomes are {', '.join(OUTCOMES)} (any case)", text)
            out[name] = pd.Series(low.to_numpy(dtype=object), dtype=object)
        elif name == "escalated":
            out[name], out["escalated_to"] = _flags(raw[name], name, rows, tiers=True)
        else:
            out[name] = _flags(raw[name], name, rows)[0]
    out["row"] = rows.rows
    frame = pd.DataFrame(out)
    _no_repeats(frame, [c for c in frame.columns if c != "row"], rows, "a repeated row counts one ticket twice "
                "(a real second ticket differs at least in its created_at); remove the repeats")
    frame = frame.sort_values("created_at", kind="stable", ignore_index=True)
    return TicketHistory(frame, shown, zone, offsets, present)


def read_volumes(path: Path, shown: str | None = None, columns: dict[str, str] | None = None,
                 timezone: str | None = None) -> VolumeHistory:
    """The interval report at `path` (offered/answered/abandoned per interval and channel),
    checked, with its interval length inferred from the starts."""
    shown = shown or str(path)
    zone = _zone(timezone, shown)
    raw, rows, present = _open(path, shown, "report", VOLUME_REQUIRED, VOLUME_OPTIONAL, columns)
    n = len(raw)
    start, _ = _stamps(raw["interval_start"], "interval_start", rows, zone)
    offered = _numbers(raw["offered"], "offered", rows, whole=True, required=True)
    counts = {name: _numbers(raw[name], name, rows, whole=True) if name in present else np.full(n, np.nan)
              for name in ("answered", "abandoned")}
    total = np.nan_to_num(counts["answered"]) + np.nan_to_num(counts["abandoned"])
    rows.check(total > offered, "answered", "answered + abandoned is more than offered",
               "each contact offered is answered, abandoned or still waiting, so the two add up to at most offered",
               lambda i: f"{counts['answered'][i]:g} + {counts['abandoned'][i]:g} > {offered[i]:g}")
    frame = pd.DataFrame({
        "interval_start": start, "channel": _labels(raw["channel"], "channel", rows, True),
        "offered": offered.astype(np.int64), **counts,
        "aht_s": _numbers(raw["aht_s"], "aht_s", rows) if "aht_s" in present else np.full(n, np.nan),
        "row": rows.rows,
    })
    _no_repeats(frame, ["interval_start", "channel"], rows, "each channel has one row per interval; remove "
                "the repeats or add them up")
    step = _interval(frame, rows, _text(raw["interval_start"]))
    frame = frame.sort_values(["interval_start", "channel"], kind="stable", ignore_index=True)
    return VolumeHistory(frame, shown, step, zone, present)


def read_price_history(path: Path, shown: str | None, timezone: str | None,
                       max_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds UTC, price) of a recorded price CSV, read by config.prices.read_prices
    (so `fit` and `market: {model: replay}` accept the same files), its ValueError as ours."""
    shown = shown or str(path)
    zone = _zone(timezone, shown)
    try:
        res = read_prices(path, shown, zone, max_gap)  # (times, prices) or (times, prices, first)
    except ValueError as exc:
        text = str(exc)
        row = re.search(r"\brow (\d+)", text)
        raise ScenarioError(text.removeprefix(f"{shown} "), file=shown,
                            line=int(row.group(1)) if row else None) from None
    times, prices = res[0], res[1]
    return _first_price_epoch(path, zone) + np.asarray(times, dtype=np.float64), np.asarray(prices, dtype=np.float64)


def _first_price_epoch(path: Path, zone: str | None) -> float:
    """The first price row's stamp, by read_prices' own rules (its times count from it)."""
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if not row or all(not c.strip() for c in row):
                continue
            try:
                stamp = datetime.fromisoformat(row[0].strip())  # 'Z' too
            except ValueError:
                continue  # the header: read_prices has refused any other non-stamp
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=ZoneInfo(zone or "UTC"))
            return stamp.astimezone(UTC).timestamp()
    raise AssertionError("read_prices accepted a price file without prices")


def _zone(timezone: str | None, shown: str) -> str | None:
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScenarioError(f"{timezone!r} is not a time zone; give the IANA name of the zone the stamps were "
                            "written in, such as Europe/Berlin, America/New_York or UTC", file=shown,
                            field="--timezone") from None
    return timezone


def _open(path: Path, shown: str, kind: str, required: Sequence[str], optional: Sequence[str],
          columns: dict[str, str] | None) -> tuple[pd.DataFrame, _Rows, frozenset[str]]:
    """The file's cells under our column names (CSV as text), where each row came from, and
    which optional columns it has."""
    if not path.is_file():
        raise ScenarioError(f"{path} is a folder; give the {kind} file itself" if path.is_dir() else
                            f"the {kind} file is not there (looked for {path})", file=shown)
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise ScenarioError(f"cannot tell how to read {path.name!r}; the {kind} must be a file ending in "
                            f"{', '.join(SUFFIXES)}", file=shown)
    parquet = name.endswith((".parquet", ".pq"))
    try:
        if parquet:
            header = [str(c) for c in pq.read_schema(path).names]
            mapping = _resolve(header, shown, kind, required, optional, columns or {})
            data = pd.read_parquet(path, columns=list(dict.fromkeys(mapping.values()))).reset_index(drop=True)
        else:  # every column, not usecols: only then does pandas refuse a row with too many cells
            with warnings.catch_warnings():  # (an unquoted comma, shifting the cells after it)
                warnings.simplefilter("error", pd.errors.ParserWarning)
                full = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, index_col=False,
                                   encoding="utf-8").fillna("")
            header = [str(c) for c in full.columns]
            mapping = _resolve(header, shown, kind, required, optional, columns or {})
            data = full[list(dict.fromkeys(mapping.values()))]
    except UnicodeDecodeError:
        raise ScenarioError(f"the {kind} is not UTF-8 text; save it as UTF-8 (in Excel: 'CSV UTF-8')",
                            file=shown) from None
    except pd.errors.EmptyDataError:
        raise ScenarioError(f"the {kind} file is empty: no header and no rows", file=shown) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        at = re.search(r"(line|row) (\d+)", str(exc))  # pandas: 'line' counts from 1, 'row' from 0
        row = int(at.group(2)) + (at.group(1) == "row") if at else None
        why = (f"{f'row {row}' if row else 'a row'} has more cells than the header, often from a comma inside a cell "
               "that is not in quotes" if "Expected" in str(exc) or isinstance(exc, Warning) else
               f"near row {row}: {str(exc).strip()}")
        raise ScenarioError(f"the {kind} is not well-formed CSV: {why}", file=shown, line=row) from None
    except (OSError, EOFError, ValueError, pa.ArrowException) as exc:
        what = "a readable Parquet file" if parquet else "readable CSV"
        raise ScenarioError(f"the {kind} is not {what}: {exc}", file=shown) from None
    rows = np.arange(2, len(data) + 2, dtype=np.int64)
    if not parquet and len(data):
        blank = (data == "").all(axis=1).to_numpy().copy()
        blank[blank] = (full.loc[blank] == "").all(axis=1).to_numpy()  # a blank line, not a row of empty cells
        data, rows = data.loc[~blank].reset_index(drop=True), rows[~blank]
    if not len(data):
        raise ScenarioError(f"the {kind} has no rows, only a header; export it with its data", file=shown)
    raw = pd.DataFrame({ours: data[theirs] for ours, theirs in mapping.items()})
    return raw, _Rows(shown, rows), frozenset(mapping) & frozenset(optional)


def _resolve(header: list[str], shown: str, kind: str, required: Sequence[str], optional: Sequence[str],
             columns: dict[str, str]) -> dict[str, str]:
    """Our name -> the file's column: mapped by --columns, else ours up to case and spacing."""
    if unknown := sorted(set(columns) - set(COLUMN_NAMES)):
        raise ScenarioError(f"{', '.join(unknown)}: not columns simsupport reads; the names are "
                            f"{', '.join(COLUMN_NAMES)}", file=shown, field="--columns")
    listing = ", ".join(repr(h) for h in header[:20]) + (f" ... ({len(header)} columns)" if len(header) > 20 else "")
    if all(h.startswith("Unnamed: ") for h in header):
        listing = "none (the first line is blank or has no names; the header must be the first line)"
    elif len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        listing += " (one column holding all the names: save the file with commas between columns)"
    out: dict[str, str] = {}
    for ours in (*required, *optional):
        found = _find(header, columns.get(ours, ours))
        if found is not None:
            out[ours] = found
        elif ours in columns:
            raise ScenarioError(f"--columns maps {ours} to {columns[ours]!r}, but the {kind} has no column "
                                f"{columns[ours]!r}; its columns are {listing}", file=shown, field="--columns")
    missing = [r for r in required if r not in out]
    if missing:
        hint = ",".join(f"{m}=<your column>" for m in missing)
        raise ScenarioError(f"the {kind} has no {' or '.join(missing)} column; its columns are {listing}. If "
                            f"yours are named differently, say which with --columns {hint}", file=shown,
                            field=missing[0])
    return out


def _find(header: list[str], want: str) -> str | None:
    if want in header:
        return want
    loose = re.sub(r"[\s\-]+", "_", want.strip().lower())
    hits = [h for h in header if re.sub(r"[\s\-]+", "_", h.strip().lower()) == loose]
    return hits[0] if len(hits) == 1 else None


def _text(raw: pd.Series) -> pd.Series:
    """The cells as stripped text, '' where missing, whatever type the file stored."""
    if pd.api.types.is_float_dtype(raw):  # Parquet floats holding whole numbers read as written
        f = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.all(np.isnan(f) | (np.isfinite(f) & (f == np.floor(f)))):
            raw = raw.astype("Int64")
    text = raw if isinstance(raw.dtype, pd.StringDtype) else raw.astype("str")
    return text.where(raw.notna(), "").str.strip().reset_index(drop=True)


def _labels(raw: pd.Series, field: str, rows: _Rows, required: bool = False) -> pd.Series:
    """Text labels as an object array of str, None where empty."""
    text = _text(raw)
    empty = (text == "").to_numpy()
    if required:
        rows.check(empty, field, f"{field} is empty", f"every row needs its {field}")
    out = text.to_numpy(dtype=object)
    out[empty] = None
    return pd.Series(out, dtype=object)  # a bare array of str would become pandas 3's `str` dtype


def _flags(raw: pd.Series, field: str, rows: _Rows, tiers: bool = False) -> tuple[np.ndarray, pd.Series]:
    """Yes/no flags as bool; with `tiers`, other text is the tier escalated to (empty = no)."""
    text = _text(raw)
    low = text.str.lower()
    yes, other = low.isin(_YES).to_numpy(), ~low.isin(_YES + _NO).to_numpy()
    if not tiers:
        rows.check(other, field, f"{field} is not a yes/no flag", _FLAG_TEXT, text)
    tier = other & (text != "").to_numpy()
    to = np.full(len(text), None, dtype=object)
    to[tier] = text[tier].to_numpy(dtype=object)
    return yes | tier, pd.Series(to, dtype=object)


def _numbers(raw: pd.Series, field: str, rows: _Rows, whole: bool = False, required: bool = False) -> np.ndarray:
    """Numbers >= 0 (seconds or counts) as float64, NaN where empty."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        vals = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        text = raw.astype("str").reset_index(drop=True)
        missing = np.isnan(vals)
    else:
        text = _text(raw)
        missing = (text == "").to_numpy()
        vals = _floats(text)
        rows.check(~missing & np.isnan(vals), field, f"{field} is not a number",
                   "write plain numbers such as 42 or 3.5 (a dot for decimals), or leave the cell empty", text)
    what = "whole numbers" if whole else "numbers"
    if required:
        rows.check(missing, field, f"{field} is empty", f"every row needs {what} >= 0 in {field}")
    rows.check(np.isinf(vals), field, f"{field} is not finite", f"write {what} >= 0", text)
    rows.check(vals < 0, field, f"{field} is negative", f"{field} must be {what} >= 0", text)
    if whole:
        rows.check(~missing & (vals != np.floor(vals)), field, f"{field} is not a whole number",
                   "counts are whole numbers >= 0", text)
    return vals


def _floats(text: pd.Series) -> np.ndarray:
    """Text to float64, NaN where empty or not a number: Arrow's cast (ten times pandas'
    to_numeric) when every cell is a number, to_numeric to find the ones that are not."""
    arr = pa.array(text, type=pa.large_string())
    try:
        return np.asarray(pc.cast(pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr),
                                  pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    except pa.ArrowInvalid:
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _stamps(raw: pd.Series, field: str, rows: _Rows, zone: str | None) -> tuple[pd.Series, tuple[int, ...]]:
    """UTC instants of a timestamp column, and the distinct UTC offsets the stamps carried."""
    raw = raw.reset_index(drop=True)
    offsets: tuple[int, ...] = ()
    if pd.api.types.is_datetime64_any_dtype(raw):  # Parquet timestamps
        text = raw.astype("str")
        rows.check(raw.isna(), field, f"{field} is empty", f"every row needs its {field}")
    if isinstance(raw.dtype, pd.DatetimeTZDtype):  # with a zone: exact already
        utc = raw.dt.tz_convert("UTC")
        wall, instant = (t.dt.tz_localize(None).to_numpy("datetime64[ns]") for t in (raw, utc))
        offsets = tuple(int(s) for s in np.unique((wall - instant).astype("timedelta64[s]").astype(np.int64)))
    elif pd.api.types.is_datetime64_dtype(raw):  # without: wall clock
        utc = _localise(raw, field, rows, zone, text)
    else:
        text = _text(raw)
        rows.check(text == "", field, f"{field} is empty", f"every row needs its {field}; {_ISO}")
        off = pc.struct_field(pc.extract_regex(pa.array(text, type=pa.large_string()), pattern=_OFFSET), "off")
        has = np.asarray(pc.is_valid(off), dtype=bool)
        parsed = pd.to_datetime(text, utc=bool(has.any()), format="ISO8601", errors="coerce")
        rows.check(parsed.isna(), field, f"{field} is not a timestamp", _ISO, text)
        if has.any():
            rows.check(~has, field, f"{field} has no UTC offset", f"other rows carry one (the first is row "
                       f"{rows.rows[np.argmax(has)]}); write every stamp with its offset, or every stamp without "
                       "one and pass --timezone", text)
            utc = parsed
            offsets = tuple(sorted({_offset_seconds(o) for o in pc.unique(off).to_pylist()}))
        else:
            utc = _localise(parsed, field, rows, zone, text)
    rows.check((utc < _EARLIEST) | (utc >= _LATEST), field, f"{field} is outside the years 1900-2199",
               "check for a typo in the year", text)
    return utc.dt.as_unit("ns"), offsets


def _offset_seconds(text: str) -> int:
    digits = "0000" if text == "Z" else text[1:].replace(":", "")
    return (-1 if text[0] == "-" else 1) * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)


def _localise(naive: pd.Series, field: str, rows: _Rows, zone: str | None, text: pd.Series) -> pd.Series:
    """Wall-clock stamps to UTC in `zone`; daylight saving as the module docstring says."""
    if zone is None:
        rows.check(np.ones(len(naive), dtype=bool), field, f"{field} has no UTC offset",
                   "add one to every stamp (2024-03-12T02:15:00Z, 2024-03-12T10:15:00+08:00) or pass "
                   "--timezone with the IANA zone the stamps were written in, such as Europe/Berlin", text)
    first = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
    ambiguous = first.isna().to_numpy()
    if not ambiguous.any():
        return first.dt.tz_convert("UTC")
    walls = naive.to_numpy("datetime64[ns]").view(np.int64)
    idx = np.flatnonzero(ambiguous)
    if np.count_nonzero(np.diff(walls) < 0) > len(walls) // 2:
        idx = idx[::-1]  # a newest-first log: read it from its end
    wall = walls[idx]
    order = np.argsort(wall // _DAY_NS, kind="stable")  # each night's repeated hour, in file order
    w, day = wall[order], wall[order] // _DAY_NS
    night = np.r_[True, day[1:] != day[:-1]]
    back = np.r_[False, (w[1:] < w[:-1]) & ~night[1:]]  # the log stepped back: the second pass
    steps = np.cumsum(back)
    summer = np.ones(len(naive), dtype=bool)
    summer[idx[order]] = steps == np.maximum.accumulate(np.where(night, steps, 0))
    return naive.dt.tz_localize(zone, ambiguous=summer, nonexistent="shift_forward").dt.tz_convert("UTC")


def _no_repeats(frame: pd.DataFrame, keys: list[str], rows: _Rows, why: str) -> None:
    """Refuse rows equal to an earlier row in `keys`, naming each with the row it repeats."""
    sub = frame.loc[frame[keys[0]].duplicated(keep=False).to_numpy(), [*keys, "row"]]  # repeats share a time
    later = sub.duplicated(subset=keys, keep="first").to_numpy()
    if not later.any():
        return
    first = sub.groupby(keys, dropna=False, sort=False)["row"].transform("first").to_numpy()[later]
    again = sub["row"].to_numpy()[later]
    pairs = ", ".join(f"row {a} repeats row {b}" for a, b in zip(again[:5], first[:5], strict=True))
    more = f" ({len(again):,} repeated rows in all)" if len(again) > 5 else ""
    what = "every column" if len(keys) > 2 else " and ".join(keys)
    raise ScenarioError(f"rows repeat an earlier row in {what}: {pairs}{more}; {why}", file=rows.shown,
                        line=int(again[0]))


def _interval(frame: pd.DataFrame, rows: _Rows, text: pd.Series) -> float:
    """The most common positive step between a channel's starts, checked to divide a day and
    to put every start on its channel's grid (a misaligned row is a mis-keyed start)."""
    ns = frame["interval_start"].to_numpy("datetime64[ns]").view(np.int64)
    codes = pd.factorize(frame["channel"])[0]
    order = np.lexsort((ns, codes))
    s, ch = ns[order], codes[order]
    new = np.r_[True, ch[1:] != ch[:-1]]
    steps = np.diff(s)[~new[1:]]
    steps = steps[steps > 0]
    if not len(steps):
        raise ScenarioError("cannot tell the interval length: no channel has two intervals; the report needs at "
                            "least two consecutive intervals of one channel", file=rows.shown, field="interval_start")
    values, counts = np.unique(steps, return_counts=True)
    common = values[counts == counts.max()]
    fits = common[(common % 10**9 == 0) & (_DAY_NS % common == 0)]  # a tie goes to a real interval length
    step = int(fits[0] if len(fits) else common[0])
    if step % 10**9 or _DAY_NS % step:
        raise ScenarioError(f"the intervals are most often {format_duration(step / 1e9)} apart, which does not "
                            "divide a day into whole intervals; reports come in intervals such as 5, 15, 30 or 60 "
                            "minutes", file=rows.shown, field="interval_start")
    first = s[np.maximum.accumulate(np.where(new, np.arange(len(s)), 0))]
    off_grid = np.zeros(len(s), dtype=bool)
    off_grid[order] = (s - first) % step != 0
    rows.check(off_grid, "interval_start", "interval_start is off the report's grid",
               f"the intervals are {format_duration(step / 1e9)} long, so every start of a channel must be a whole "
               "number of intervals after its first", text)
    return step / 1e9
