"""The interval table written without pandas is the very file pandas writes.

`simsupport run` writes intervals.csv and intervals.parquet from plain columns
(outputs.tables.interval_columns, outputs.files.write_columns) so that it never imports pandas;
these tests hold those files byte for byte to what `DataFrame.to_csv` / `to_parquet` write for
the same table, across time zones (fixed offsets and a zone crossing a daylight-saving change),
several replications, market columns and empty ones (NaN, null in Parquet), and check that
what pandas alone can build exactly still goes through pandas.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pytest

from simsupport.config.load import load_scenario
from simsupport.engine import simulate
from simsupport.outputs.files import columns_as_pandas_writes, write_columns, write_table
from simsupport.outputs.report import write_run
from simsupport.outputs.tables import interval_columns, interval_frame
from simsupport.stats.result import ReplicationResult

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "scenarios" / "textbook.yaml"
MARKET = ROOT / "scenarios" / "flash-crash.yaml"

pytestmark = pytest.mark.skipif(not columns_as_pandas_writes(), reason="the plain writer follows pandas 3")


def _results(path: Path, reps: int = 2, **overrides: object) -> tuple[list[ReplicationResult], datetime]:
    s = load_scenario(path, overrides={"replications": reps, **overrides})
    return [simulate(s, r) for r in range(reps)], s.start


def _both(
    tmp_path: Path, results: list[ReplicationResult], start: datetime, tz: str | None = None
) -> dict[str, tuple[bytes, bytes]]:
    """{suffix: (plain writer's bytes, pandas' bytes)} for CSV and Parquet."""
    cols = interval_columns(results, start, tz)
    assert cols is not None
    frame = interval_frame(results, start, tz)
    out = {}
    for suffix in ("csv", "parquet"):
        plain = write_columns(tmp_path / f"plain.{suffix}", cols)
        ref = write_table(tmp_path / f"pandas.{suffix}", frame)
        out[suffix] = (plain.read_bytes(), ref.read_bytes())
    return out


def _assert_same(tmp_path: Path, results: list[ReplicationResult], start: datetime, tz: str | None = None) -> None:
    for suffix, (plain, ref) in _both(tmp_path, results, start, tz).items():
        assert plain == ref, suffix
    back = pd.read_parquet(tmp_path / "plain.parquet")
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "pandas.parquet"))
    assert str(back["start"].dtype).startswith("datetime64[")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "plain.csv"), pd.read_csv(tmp_path / "pandas.csv"))


def test_utc_start_two_replications(tmp_path: Path) -> None:
    results, start = _results(TEXTBOOK, horizon="10h")
    _assert_same(tmp_path, results, start)


def test_fixed_offset_and_odd_interval(tmp_path: Path) -> None:
    results, start = _results(
        TEXTBOOK, horizon="30h", warmup="1.5h", interval="20min", start="2026-03-28T22:17:00+05:30"
    )
    assert start.utcoffset() is not None and start.utcoffset().total_seconds() == 5.5 * 3600
    _assert_same(tmp_path, results, start)


def test_zone_across_daylight_saving(tmp_path: Path) -> None:
    try:
        berlin = ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    results, _ = _results(TEXTBOOK, reps=1, horizon="6h", warmup="0s", interval="30min")
    start = datetime(2026, 3, 28, 23, 0, tzinfo=berlin)  # clocks go forward at 02:00 on the 29th
    _assert_same(tmp_path, results, start)
    text = (tmp_path / "plain.csv").read_text(encoding="utf-8")
    assert "+01:00" in text and "+02:00" in text


def _local_matches_start(frame: pd.DataFrame, tz: str) -> None:
    """local_time is `start` (an instant, kept in its own offset) read on the clock of `tz`, naive."""
    assert str(frame["local_time"].dtype) == "datetime64[us]"
    assert str(frame["start"].dt.tz) != tz or tz == "UTC"
    want = pd.to_datetime(frame["start"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    assert (frame["local_time"] == want).all()


def test_local_time_in_another_zone(tmp_path: Path) -> None:
    """UTC instants in `start`, Shanghai wall-clock in `local_time`: the same file either way."""
    results, start = _results(TEXTBOOK, horizon="10h", warmup="0s")
    _assert_same(tmp_path, results, start, "Asia/Shanghai")
    back = pd.read_parquet(tmp_path / "plain.parquet")
    _local_matches_start(back, "Asia/Shanghai")
    assert back["local_time"].iloc[0] == pd.Timestamp("2026-01-05 08:00")  # Monday 00:00 UTC
    assert list(back.columns[:5]) == ["replication", "interval", "start", "local_time", "start_s"]
    text = (tmp_path / "plain.csv").read_text(encoding="utf-8").splitlines()
    assert text[1].split(",")[2:4] == ["2026-01-05 00:00:00+00:00", "2026-01-05 08:00:00"]


def test_local_time_across_daylight_saving(tmp_path: Path) -> None:
    """A London display clock across the March change: wall times skip 01:00-02:00, instants don't."""
    try:
        ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    results, _ = _results(TEXTBOOK, reps=1, horizon="4h", warmup="0s", interval="30min")
    start = datetime(2026, 3, 29, 0, 0, tzinfo=ZoneInfo("UTC"))
    _assert_same(tmp_path, results, start, "Europe/London")
    back = pd.read_parquet(tmp_path / "plain.parquet")
    _local_matches_start(back, "Europe/London")
    clock = [str(v.time())[:5] for v in back["local_time"]]
    assert clock[:4] == ["00:00", "00:30", "02:00", "02:30"]


def test_local_time_of_whole_days_is_written_as_pandas_does(tmp_path: Path) -> None:
    """Every local time a midnight: pandas writes dates alone, and so must the plain writer."""
    results, start = _results(TEXTBOOK, reps=1, horizon="3d", warmup="0s", interval="1d")
    _assert_same(tmp_path, results, start, "UTC")
    text = (tmp_path / "plain.csv").read_text(encoding="utf-8").splitlines()
    assert text[1].split(",")[3] == "2026-01-05"


def test_run_writes_local_time_in_the_display_zone(tmp_path: Path) -> None:
    """write_run: report.timezone names the clock of local_time; tz= overrides it; start stays UTC."""
    s = load_scenario(TEXTBOOK, overrides={"replications": 1, "horizon": "3h", "warmup": "0s",
                                           "report": {"timezone": "America/New_York"}})  # fmt: skip
    results = [simulate(s, 0)]
    write_run(s, results, tmp_path / "a", plots=False)
    write_run(s, results, tmp_path / "b", plots=False, tz="Asia/Kolkata")
    a = pd.read_csv(tmp_path / "a" / "intervals.csv")
    b = pd.read_parquet(tmp_path / "b" / "intervals.parquet")
    assert a["start"].iloc[0] == "2026-01-05 00:00:00+00:00" and a["local_time"].iloc[0] == "2026-01-04 19:00:00"
    assert str(b["start"].dt.tz) == "UTC" and b["local_time"].iloc[0] == pd.Timestamp("2026-01-05 05:30")


def test_market_columns(tmp_path: Path) -> None:
    results, start = _results(MARKET, reps=1, horizon="6h")
    assert not pd.isna(results[0].intervals["price"]).all()
    _assert_same(tmp_path, results, start)


def test_what_only_pandas_builds_exactly_goes_through_pandas(tmp_path: Path) -> None:
    assert interval_columns([], datetime(2026, 1, 5, tzinfo=ZoneInfo("UTC"))) is None
    results, start = _results(TEXTBOOK, reps=1, horizon="2h", warmup="0.5s")
    assert results[0].intervals["start_s"][0] == 0.5
    assert interval_columns(results, start) is None
    s = load_scenario(TEXTBOOK, overrides={"replications": 1, "horizon": "2h", "warmup": "0.5s"})
    write_run(s, results, tmp_path / "run", plots=False)
    frame = interval_frame(results, start)
    write_table(tmp_path / "ref.csv", frame)
    assert (tmp_path / "run" / "intervals.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_run_without_plots_does_not_import_pandas(tmp_path: Path) -> None:
    """pandas is a third of a second of `simsupport run`'s start-up: the run path must not need it."""
    code = (
        "import sys\n"
        "from simsupport.cli import main\n"
        "try:\n"
        f"    main(['run', {str(TEXTBOOK)!r}, '--horizon', '2h', '-r', '1', '-w', '1', '--no-plots', "
        f"'--out', {str(tmp_path / 'out')!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print(sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
    # the report is written without pandas too
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"summary.json", "intervals.parquet", "intervals.csv", "report.html", "manifest.json"}


def test_long_tables_of_many_replications_as_pandas_writes(tmp_path: Path) -> None:
    """Chunks (one per replication, never concatenated) cross Parquet's page and dictionary
    limits and the CSV writer's blocks: still pandas' bytes. Long tables are made by tiling a
    real replication's rows (a year of them would take a minute to simulate)."""
    import dataclasses

    import numpy as np

    (r,), start = _results(TEXTBOOK, reps=1, horizon="1d", interval="15min")
    reps = []
    for k, n in enumerate((400, 7, 1100)):  # 38,400 / 672 / 105,600 rows: past a 1 MB page
        iv = {name: np.tile(np.asarray(col), n) for name, col in r.intervals.items()}
        iv["replication"] = np.full(len(iv["replication"]), k, dtype=np.int64)
        iv["start_s"] = iv["start_s"] + np.repeat(np.arange(n) * 86_400.0, len(r.intervals["start_s"]))
        iv["interval"] = (iv["start_s"] // 900).astype(np.int64)
        iv["asa_s"] = iv["asa_s"] * (1 + np.arange(len(iv["asa_s"])) / 7.0)  # distinct floats: plain pages
        reps.append(dataclasses.replace(r, replication=k, intervals=iv))
    _assert_same(tmp_path, reps, start)
