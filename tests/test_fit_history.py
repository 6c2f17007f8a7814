"""Reading and checking a desk's history (simsupport.fit.history): ticket logs, interval
reports and price files.

Every refusal is checked for what a user needs to fix the file: the exception type, the file
as shown, the column (`.field`) and the row number (header = row 1) in the message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsupport.errors import ScenarioError
from simsupport.fit.history import (
    COLUMN_NAMES,
    OUTCOMES,
    TicketHistory,
    VolumeHistory,
    parse_columns,
    read_price_history,
    read_tickets,
    read_volumes,
)

FULL = """\
created_at,channel,category,language,vip,outcome,wait_s,handle_s,escalated,retry,agent
2024-03-12T10:05:00+01:00,chat,billing,de,yes,answered,12.5,300,0,false,ann
2024-03-12T08:00:00Z, phone ,,en,0,Abandoned,40,,tier2,1,bob
2024-03-12T09:30:00+01:00,email,tech,,TRUE,deflected,,,true,no,ann
2024-03-12T08:00:00Z,chat,billing,en,No,blocked,0,0,,0,bob
"""


def _write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _tickets(tmp_path: Path, text: str, **kw: object) -> TicketHistory:
    return read_tickets(_write(tmp_path, text), "log.csv", **kw)  # type: ignore[arg-type]


def _refused(tmp_path: Path, text: str, field: str | None, row: int | None, **kw: object) -> str:
    """The message of the refusal of `text`, checked for file, field and row."""
    with pytest.raises(ScenarioError) as info:
        _tickets(tmp_path, text, **kw)
    err = info.value
    assert err.file == "log.csv"
    assert err.field == field, err
    if row is not None:
        assert err.line == row and f"row {row}" in err.message, err
    return err.message


# ---------------------------------------------------------------- a good log


def test_a_log_with_every_column_is_normalised_and_sorted(tmp_path: Path) -> None:
    h = _tickets(tmp_path, FULL)
    f = h.frame
    assert list(f.columns) == ["created_at", "channel", "category", "language", "vip", "outcome", "wait_s",
                               "handle_s", "escalated", "escalated_to", "retry", "row"]
    assert h.present == {"category", "language", "vip", "outcome", "wait_s", "handle_s", "escalated", "retry"}
    assert h.path == "log.csv" and h.timezone is None
    assert h.offsets == (0, 3600)
    assert str(f["created_at"].dtype) == "datetime64[ns, UTC]"
    for col in ("channel", "category", "language", "outcome", "escalated_to"):
        assert f[col].dtype == object, col
    for col in ("vip", "escalated", "retry"):
        assert f[col].dtype == bool, col
    assert f["wait_s"].dtype == np.float64 and f["handle_s"].dtype == np.float64 and f["row"].dtype == np.int64
    # sorted by created_at, ties (rows 3 and 5, both 08:00Z) kept in file order
    assert f["row"].tolist() == [3, 5, 4, 2]
    assert f["created_at"].tolist() == [pd.Timestamp("2024-03-12T08:00Z")] * 2 + [
        pd.Timestamp("2024-03-12T08:30Z"), pd.Timestamp("2024-03-12T09:05Z")]
    assert f["channel"].tolist() == ["phone", "chat", "email", "chat"]  # stripped
    assert f["category"].tolist() == [None, "billing", "tech", "billing"]
    assert f["language"].tolist() == ["en", "en", None, "de"]
    assert f["vip"].tolist() == [False, False, True, True]
    assert f["outcome"].tolist() == ["abandoned", "blocked", "deflected", "answered"]
    np.testing.assert_array_equal(f["wait_s"], [40, 0, np.nan, 12.5])
    np.testing.assert_array_equal(f["handle_s"], [np.nan, 0, np.nan, 300])
    assert f["escalated"].tolist() == [True, False, True, False]
    assert f["escalated_to"].tolist() == ["tier2", None, None, None]
    assert f["retry"].tolist() == [True, False, False, False]
    assert "agent" not in f.columns


def test_only_the_required_columns(tmp_path: Path) -> None:
    h = _tickets(tmp_path, "created_at,channel\n2024-03-12T02:15:00Z,chat\n\n2024-03-12T02:16:00Z,chat\n\n")
    assert list(h.frame.columns) == ["created_at", "channel", "row"]
    assert h.present == frozenset()
    assert h.frame["row"].tolist() == [2, 4]  # a blank line still counts as a row of the file


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "created_at": pd.to_datetime(["2024-03-10 10:00", "2024-03-10 09:00"]).tz_localize("America/New_York"),
        "channel": ["chat", "phone"], "vip": [True, False], "wait_s": [1.5, np.nan],
        "escalated": pd.array([True, None], dtype="boolean"), "retry": [1, 0], "outcome": ["answered", "ABANDONED"],
    })
    path = tmp_path / "log.parquet"
    df.to_parquet(path)
    h = read_tickets(path)
    f = h.frame
    assert h.path == str(path) and h.offsets == (-4 * 3600,)  # EDT on the day clocks went forward
    assert f["created_at"].tolist() == [pd.Timestamp("2024-03-10T13:00Z"), pd.Timestamp("2024-03-10T14:00Z")]
    assert f["row"].tolist() == [3, 2] and f["channel"].tolist() == ["phone", "chat"]
    assert f["vip"].tolist() == [False, True] and f["retry"].tolist() == [False, True]
    assert f["escalated"].tolist() == [False, True] and f["outcome"].tolist() == ["abandoned", "answered"]
    np.testing.assert_array_equal(f["wait_s"], [np.nan, 1.5])


def test_parquet_refusals_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "log.pq"
    pd.DataFrame({"created_at": ["2024-03-12T02:15:00Z"] * 3, "channel": ["a", "b", "c"],
                  "wait_s": [1.0, -2.0, 3.0]}).to_parquet(path)
    with pytest.raises(ScenarioError) as info:
        read_tickets(path, "log.pq")
    assert info.value.file == "log.pq" and info.value.field == "wait_s" and "row 3" in info.value.message


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    pd.DataFrame({"created_at": ["2024-03-12T02:15:00Z"], "channel": ["chat"]}).to_csv(path, index=False)
    assert read_tickets(path).frame["channel"].tolist() == ["chat"]


# ---------------------------------------------------------------- --columns


def test_columns_mapping(tmp_path: Path) -> None:
    text = "Created,Via,Wait (s),channel\n2024-03-12T02:15:00Z,chat,5,ignored\n"
    mapping = parse_columns(" created_at = Created,channel=Via, wait_s=Wait (s),")
    assert mapping == {"created_at": "Created", "channel": "Via", "wait_s": "Wait (s)"}
    h = _tickets(tmp_path, text, columns={**mapping, "interval_start": "Start"})  # the report's: ignored
    assert h.frame["channel"].tolist() == ["chat"] and h.frame["wait_s"].tolist() == [5.0]
    assert parse_columns(None) == {} and parse_columns("") == {}


def test_columns_match_ours_up_to_case_and_spacing(tmp_path: Path) -> None:
    h = _tickets(tmp_path, "Created At,Channel,Handle-S\n2024-03-12T02:15:00Z,chat,7\n")
    assert h.frame["handle_s"].tolist() == [7.0]


@pytest.mark.parametrize("spec,says", [
    ("created_at", "not ours=theirs"),
    ("created_at=", "not ours=theirs"),
    ("=Created", "not ours=theirs"),
    ("created=Created", "the names on the left"),
    ("channel=A,channel=B", "mapped twice"),
])
def test_bad_columns_option(spec: str, says: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_columns(spec)
    assert info.value.field == "--columns" and says in info.value.message
    if "left" in says:
        assert all(name in info.value.message for name in COLUMN_NAMES)


def test_a_mapped_column_missing_from_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        _tickets(tmp_path, "Created,channel\n2024-03-12T02:15:00Z,chat\n", columns={"created_at": "Opened"})
    err = info.value
    assert err.file == "log.csv" and err.field == "--columns"
    assert "created_at to 'Opened'" in err.message and "'Created'" in err.message


def test_missing_required_column_lists_the_files_columns(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        _tickets(tmp_path, "Created,channel,agent\n2024-03-12T02:15:00Z,chat,ann\n")
    err = info.value
    assert err.file == "log.csv" and err.field == "created_at"
    assert "'Created', 'channel', 'agent'" in err.message and "--columns created_at=<your column>" in err.message


# ---------------------------------------------------------------- time zones


def test_naive_stamps_with_a_timezone(tmp_path: Path) -> None:
    """Europe/Berlin: on 2024-03-31 02:00-03:00 does not exist, on 2024-10-27 02:00-03:00 happens
    twice. A skipped time moves to the end of the gap (03:00 CEST); a repeated time is summer
    time until the log steps back within that night, winter time from then on."""
    text = ("created_at,channel\n"
            "2024-03-31T02:30:00,chat\n"  # row 2: in the gap -> 03:00 CEST = 01:00Z
            "2024-10-27T02:30:00,chat\n"  # row 3: first pass, CEST -> 00:30Z
            "2024-10-27T02:50:00,chat\n"  # row 4: still the first pass -> 00:50Z
            "2024-10-27T02:10:00,chat\n"  # row 5: stepped back: second pass, CET -> 01:10Z
            "2024-10-27T02:40:00,chat\n"  # row 6: second pass -> 01:40Z
            "2024-07-01,chat\n")  # row 7: a date alone is midnight, CEST -> 22:00Z the day before
    h = _tickets(tmp_path, text, timezone="Europe/Berlin")
    assert h.timezone == "Europe/Berlin" and h.offsets == ()
    got = dict(zip(h.frame["row"], h.frame["created_at"], strict=True))
    assert got == {2: pd.Timestamp("2024-03-31T01:00Z"), 3: pd.Timestamp("2024-10-27T00:30Z"),
                   4: pd.Timestamp("2024-10-27T00:50Z"), 5: pd.Timestamp("2024-10-27T01:10Z"),
                   6: pd.Timestamp("2024-10-27T01:40Z"), 7: pd.Timestamp("2024-06-30T22:00Z")}
    assert str(h.frame["created_at"].dtype) == "datetime64[ns, UTC]"


def test_a_newest_first_log_reads_the_repeated_hour_from_its_end(tmp_path: Path) -> None:
    text = ("created_at,channel\n2024-10-27T04:00:00,a\n"
            "2024-10-27T02:40:00,a\n2024-10-27T02:10:00,a\n"  # rows 3-4: the second pass (CET)
            "2024-10-27T02:50:00,a\n2024-10-27T02:30:00,a\n"  # rows 5-6: the first pass (CEST)
            "2024-10-27T01:00:00,a\n")
    h = _tickets(tmp_path, text, timezone="Europe/Berlin")
    got = dict(zip(h.frame["row"], h.frame["created_at"], strict=True))
    assert [got[r] for r in (3, 4, 5, 6)] == [pd.Timestamp("2024-10-27T01:40Z"), pd.Timestamp("2024-10-27T01:10Z"),
                                              pd.Timestamp("2024-10-27T00:50Z"), pd.Timestamp("2024-10-27T00:30Z")]
    assert h.frame["row"].tolist() == [7, 6, 5, 4, 3, 2]


def test_offsets_are_recorded(tmp_path: Path) -> None:
    h = _tickets(tmp_path, "created_at,channel\n2024-03-12T02:15:00+08:00,a\n2024-03-12T02:15:00-0530,a\n"
                           "2024-03-12T02:15:00Z,a\n2024-03-12 02:15:00+08:00,b\n")
    assert h.offsets == (-(5 * 3600 + 1800), 0, 8 * 3600)
    assert h.frame["created_at"].iloc[0] == pd.Timestamp("2024-03-11T18:15Z")


def test_naive_stamps_without_a_timezone(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel\n2024-03-12T02:15:00,chat\n", "created_at", 2)
    assert "--timezone" in msg and "'2024-03-12T02:15:00'" in msg


def test_naive_and_offset_stamps_mixed(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel\n2024-03-12T02:15:00Z,a\n2024-03-12T02:16:00Z,a\n"
                             "2024-03-12T02:17:00,a\n", "created_at", 4)
    assert "no UTC offset" in msg and "row 2" in msg


def test_bad_timezone_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        _tickets(tmp_path, "created_at,channel\n2024-03-12T02:15:00,a\n", timezone="Mars/Olympus")
    assert info.value.field == "--timezone" and "'Mars/Olympus'" in info.value.message


def test_unparseable_timestamp_names_row_and_text(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel\n2024-03-12T02:15:00Z,a\n12/03/2024 02:15,a\n", "created_at", 3)
    assert "'12/03/2024 02:15'" in msg and "ISO 8601" in msg


def test_a_year_typo_is_refused(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel\n0204-03-12T02:15:00Z,a\n", "created_at", 2)
    assert "1900" in msg


def test_empty_timestamp(tmp_path: Path) -> None:
    _refused(tmp_path, "created_at,channel\n2024-03-12T02:15:00Z,a\n,a\n", "created_at", 3)


# ---------------------------------------------------------------- bad cells


def test_negative_wait(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel,wait_s\n2024-03-12T02:15:00Z,a,3\n2024-03-12T02:16:00Z,a,-1\n",
                   "wait_s", 3)
    assert "negative" in msg and "'-1'" in msg


def test_non_numeric_handle(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel,handle_s\n2024-03-12T02:15:00Z,a,4:30\n", "handle_s", 2)
    assert "'4:30'" in msg and "not a number" in msg


def test_infinite_handle(tmp_path: Path) -> None:
    _refused(tmp_path, "created_at,channel,handle_s\n2024-03-12T02:15:00Z,a,inf\n", "handle_s", 2)


def test_many_bad_rows_name_five_and_count_them(tmp_path: Path) -> None:
    body = "".join(f"2024-03-12T02:{m:02d}:00Z,a,-{m + 1}\n" for m in range(12))
    msg = _refused(tmp_path, "created_at,channel,wait_s\n2024-03-12T01:00:00Z,a,1\n" + body, "wait_s", 3)
    assert "12 rows" in msg and "row 7" in msg and "row 8" not in msg


def test_unknown_outcome_names_the_allowed_values(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel,outcome\n2024-03-12T02:15:00Z,a,answered\n"
                             "2024-03-12T02:16:00Z,a,resolved\n", "outcome", 3)
    assert "'resolved'" in msg and all(o in msg for o in OUTCOMES)


def test_bad_vip_flag(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at,channel,vip\n2024-03-12T02:15:00Z,a,maybe\n", "vip", 2)
    assert "'maybe'" in msg and "yes/no" in msg


def test_empty_channel(tmp_path: Path) -> None:
    _refused(tmp_path, "created_at,channel\n2024-03-12T02:15:00Z,a\n2024-03-12T02:15:00Z, \n", "channel", 3)


def test_duplicated_rows_name_both_rows(tmp_path: Path) -> None:
    text = ("created_at,channel,wait_s\n"
            "2024-03-12T02:15:00Z,a,3\n"  # row 2
            "2024-03-12T02:15:00Z,a,4\n"  # row 3: same time, another ticket
            "2024-03-12T03:15:00+01:00,a,3.0\n")  # row 4: row 2 again, written differently
    msg = _refused(tmp_path, text, None, 4)
    assert "row 4 repeats row 2" in msg


# ---------------------------------------------------------------- bad files


def test_header_only(tmp_path: Path) -> None:
    assert "no rows" in _refused(tmp_path, "created_at,channel\n", None, None)


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in _refused(tmp_path, "", None, None)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("created_at,channel\n2024-03-12T02:15:00Z,Kündigung\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        read_tickets(path, "log.csv")
    assert info.value.file == "log.csv" and "UTF-8" in info.value.message


@pytest.mark.parametrize("name", ["log.xlsx", "log.json", "log"])
def test_unknown_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read_tickets(_write(tmp_path, FULL, name), name)
    assert info.value.file == name and ".csv, .csv.gz, .parquet, .pq" in info.value.message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        read_tickets(tmp_path / "nope.csv", "nope.csv")
    assert info.value.file == "nope.csv" and "not there" in info.value.message
    with pytest.raises(ScenarioError) as info:
        read_tickets(tmp_path, "here")
    assert info.value.file == "here" and "folder" in info.value.message


def test_a_row_with_more_cells_than_the_header(tmp_path: Path) -> None:
    """An unquoted comma shifts the cells after it; refused, not read with shifted values."""
    text = "created_at,category,channel\n2024-03-12T02:15:00Z,a,chat\n2024-03-12T02:16:00Z,billing, refunds,chat\n"
    msg = _refused(tmp_path, text, None, 3)
    assert "quotes" in msg


def test_a_row_of_empty_cells_is_not_a_blank_line(tmp_path: Path) -> None:
    _refused(tmp_path, "created_at,channel,agent\n2024-03-12T02:15:00Z,a,ann\n,,bob\n", "created_at", 3)


def test_semicolon_separated_file_gets_a_hint(tmp_path: Path) -> None:
    msg = _refused(tmp_path, "created_at;channel\n2024-03-12T02:15:00Z;a\n", "created_at", None)
    assert "commas" in msg


# ---------------------------------------------------------------- interval reports


def _report(starts: list[str], channel: str = "chat") -> str:
    return "".join(f"{s},{channel},{i % 7}\n" for i, s in enumerate(starts))


def _volumes(tmp_path: Path, text: str, **kw: object) -> VolumeHistory:
    return read_volumes(_write(tmp_path, text, "vol.csv"), "vol.csv", **kw)  # type: ignore[arg-type]


def _volumes_refused(tmp_path: Path, text: str, field: str | None, row: int | None) -> str:
    with pytest.raises(ScenarioError) as info:
        _volumes(tmp_path, text)
    err = info.value
    assert err.file == "vol.csv" and err.field == field, err
    if row is not None:
        assert err.line == row and f"row {row}" in err.message, err
    return err.message


def test_a_15_minute_report(tmp_path: Path) -> None:
    starts = [f"2024-03-12T{h:02d}:{m:02d}:00Z" for h in range(8, 10) for m in (0, 15, 30, 45)]
    text = ("interval_start,channel,offered,answered,abandoned,aht_s\n"
            + "".join(f"{s},chat,10,8,2,240.5\n" for s in starts[::-1])
            + f"{starts[0]},phone,3,,,\n{starts[4]},phone,5,5,0,\n")  # a gap of an hour: still 15 min
    h = _volumes(tmp_path, text)
    f = h.frame
    assert h.interval_s == 900.0 and h.present == {"answered", "abandoned", "aht_s"} and h.timezone is None
    assert list(f.columns) == ["interval_start", "channel", "offered", "answered", "abandoned", "aht_s", "row"]
    assert str(f["interval_start"].dtype) == "datetime64[ns, UTC]" and f["channel"].dtype == object
    assert f["offered"].dtype == np.int64 and f["row"].dtype == np.int64
    assert all(f[c].dtype == np.float64 for c in ("answered", "abandoned", "aht_s"))
    assert f["interval_start"].is_monotonic_increasing
    assert f[["channel", "row"]].iloc[:2].values.tolist() == [["chat", 9], ["phone", 10]]
    assert np.isnan(f["answered"].iloc[1]) and f["aht_s"].iloc[0] == 240.5


def test_a_5_minute_report_in_local_time(tmp_path: Path) -> None:
    starts = [f"2024-07-01 09:{m:02d}" for m in range(0, 60, 5)]
    h = _volumes(tmp_path, "interval_start,channel,offered\n" + _report(starts), timezone="Asia/Tokyo")
    assert h.interval_s == 300.0 and h.present == frozenset() and h.timezone == "Asia/Tokyo"
    assert h.frame["interval_start"].iloc[0] == pd.Timestamp("2024-07-01T00:00Z")
    assert h.frame["answered"].isna().all() and h.frame["aht_s"].isna().all()


def test_report_duplicates(tmp_path: Path) -> None:
    starts = ["2024-03-12T08:00Z", "2024-03-12T08:15Z", "2024-03-12T08:30Z", "2024-03-12T08:15Z"]
    msg = _volumes_refused(tmp_path, "interval_start,channel,offered\n" + _report(starts), None, 5)
    assert "row 5 repeats row 3" in msg


def test_report_misaligned_start(tmp_path: Path) -> None:
    starts = [f"2024-03-12T08:{m:02d}Z" for m in (0, 15, 30, 45)] + ["2024-03-12T09:07Z", "2024-03-12T09:15Z"]
    msg = _volumes_refused(tmp_path, "interval_start,channel,offered\n" + _report(starts), "interval_start", 6)
    assert "'2024-03-12T09:07Z'" in msg and "15min" in msg


def test_report_interval_must_divide_a_day(tmp_path: Path) -> None:
    starts = [f"2024-03-12T08:{m:02d}Z" for m in (0, 7, 14, 21)]
    msg = _volumes_refused(tmp_path, "interval_start,channel,offered\n" + _report(starts), "interval_start", None)
    assert "7min" in msg


def test_report_with_one_interval_per_channel(tmp_path: Path) -> None:
    text = "interval_start,channel,offered\n2024-03-12T08:00Z,chat,3\n2024-03-12T08:15Z,phone,3\n"
    assert "two" in _volumes_refused(tmp_path, text, "interval_start", None)


def test_answered_and_abandoned_above_offered(tmp_path: Path) -> None:
    text = ("interval_start,channel,offered,answered,abandoned\n2024-03-12T08:00Z,chat,5,3,2\n"
            "2024-03-12T08:15Z,chat,5,4,2\n")
    assert "'4 + 2 > 5'" in _volumes_refused(tmp_path, text, "answered", 3)


def test_offered_must_be_a_whole_number(tmp_path: Path) -> None:
    text = "interval_start,channel,offered\n2024-03-12T08:00Z,chat,5\n2024-03-12T08:15Z,chat,2.5\n"
    assert "'2.5'" in _volumes_refused(tmp_path, text, "offered", 3)


def test_report_missing_offered(tmp_path: Path) -> None:
    msg = _volumes_refused(tmp_path, "interval_start,channel,calls\n2024-03-12T08:00Z,chat,5\n", "offered", None)
    assert "--columns offered=<your column>" in msg


# ---------------------------------------------------------------- prices


def test_price_history_in_epoch_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,price\n2024-03-12T10:00:00,100\n2024-03-12T10:01:00,101.5\n", "p.csv")
    times, prices = read_price_history(path, "p.csv", "Europe/Berlin", 3600.0)
    first = datetime(2024, 3, 12, 9, 0, tzinfo=UTC).timestamp()
    assert times.dtype == np.float64 and prices.dtype == np.float64
    np.testing.assert_array_equal(times, [first, first + 60])
    np.testing.assert_array_equal(prices, [100.0, 101.5])
    times, _ = read_price_history(_write(tmp_path, "2024-03-12T09:00:00Z,1\n2024-03-12T09:00:05Z,2\n", "q.csv"),
                                  None, None, 60.0)
    np.testing.assert_array_equal(times, [first, first + 5])


def test_price_gap_longer_than_max_gap(tmp_path: Path) -> None:
    path = _write(tmp_path, "timestamp,price\n2024-03-12T09:00Z,1\n2024-03-12T09:01Z,1\n2024-03-12T11:00Z,1\n",
                  "p.csv")
    with pytest.raises(ScenarioError) as info:
        read_price_history(path, "p.csv", None, 600.0)
    assert info.value.file == "p.csv" and info.value.line == 4 and "row 4" in info.value.message
    assert "max_gap" in info.value.message


def test_price_file_refusals(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        read_price_history(tmp_path / "none.csv", "none.csv", None, 60.0)
    assert info.value.file == "none.csv" and "not found" in info.value.message
    path = _write(tmp_path, "2024-03-12T09:00,1\n2024-03-12T09:01,1\n", "p.csv")
    with pytest.raises(ScenarioError) as info:
        read_price_history(path, "p.csv", None, 600.0)
    assert info.value.line == 1 and "row 1" in info.value.message
    with pytest.raises(ScenarioError) as info:
        read_price_history(path, "p.csv", "Not/AZone", 600.0)
    assert info.value.field == "--timezone"


def test_price_history_accepts_read_prices_with_its_first_stamp(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """read_prices may also return the first stamp (epoch s) as a third element."""
    path = _write(tmp_path, "2024-03-12T09:00:00Z,1\n2024-03-12T09:00:05Z,2\n", "p.csv")
    monkeypatch.setattr("simsupport.fit.history.read_prices", lambda *a: ((0.0, 5.0), (1.0, 2.0), 1710234000.0))
    times, prices = read_price_history(path, "p.csv", None, 60.0)
    np.testing.assert_array_equal(times, [1710234000.0, 1710234005.0])
    np.testing.assert_array_equal(prices, [1.0, 2.0])
