"""The synthetic history (experiments/synthetic_history.py) that `simsupport fit` is tested on:
its files, their columns and types, conservation against the simulator's own counts, the
window, the price file, and the bot's deflection against the truth."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML
from simsupport.config.load import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DAYS, SCALE, SEED = 7, 0.3, 7


def _module():
    name = "synthetic_history"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / "synthetic_history.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


sh = _module()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("history")
    truth = sh.generate(out, days=DAYS, seed=SEED, scale=SCALE)
    return out, truth


@pytest.fixture(scope="module")
def tickets(history: tuple[Path, dict]) -> pd.DataFrame:
    return pd.read_csv(history[0] / "tickets.csv")


@pytest.fixture(scope="module")
def counts(history: tuple[Path, dict]) -> dict:
    return json.loads((history[0] / "simulator_counts.json").read_text())


START = datetime(2026, 1, 5, tzinfo=UTC)
HORIZON = timedelta(days=DAYS)


def test_files_and_truth(history: tuple[Path, dict]) -> None:
    out, truth = history
    for name in ("tickets.csv", "prices.csv", "truth.yaml", "volumes.csv", "simulator_counts.json"):
        assert (out / name).is_file(), name
    assert not list(out.glob("*.tmp")), "temporary files left behind"
    # truth.yaml is the returned dict, and a valid scenario with its price file beside it
    assert YAML(typ="safe").load((out / "truth.yaml").read_text()) == truth
    s = load_scenario(out / "truth.yaml")
    assert s.start == START and s.start.weekday() == 0
    assert s.horizon == HORIZON.total_seconds() and s.warmup == 0 and s.interval == 900 and s.replications == 1
    assert set(s.channels) == {"chat", "phone", "email"}
    assert s.market is not None and s.market.model == "replay"
    assert s.market.response.elasticity == {"chat": 0.8, "phone": 0.5, "email": 0.3}
    assert truth == sh.truth_scenario(DAYS, SEED, SCALE)  # the same truth every time
    assert truth["channels"]["chat"]["rate"] == f"{120 * SCALE:g}/h"


def test_ticket_columns_and_types(tickets: pd.DataFrame, history: tuple[Path, dict]) -> None:
    truth = history[1]
    required = ["created_at", "channel", "category", "language", "vip", "outcome", "wait_s", "handle_s",
                "escalated", "retry"]  # fmt: skip
    assert list(tickets.columns) == list(sh.TICKET_COLUMNS)
    assert set(required) <= set(tickets.columns)
    assert len(tickets) > 5000
    for col in ("ticket_id", "vip", "escalated", "retry", "attempt"):
        assert pd.api.types.is_integer_dtype(tickets[col]), col
    for col in ("wait_s", "handle_s"):
        assert pd.api.types.is_float_dtype(tickets[col]), col
    for col in ("created_at", "channel", "category", "language", "outcome"):
        assert pd.api.types.is_string_dtype(tickets[col]) or tickets[col].dtype == object, col
    assert tickets["created_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z").all()
    assert set(tickets["channel"]) == set(truth["channels"])
    assert set(tickets["category"]) == set(truth["categories"])
    assert set(tickets["language"]) == set(truth["customers"]["languages"])
    assert set(tickets["outcome"]) <= set(sh.OUTCOMES)
    for col in ("vip", "escalated", "retry"):
        assert set(tickets[col]) == {0, 1}, col
    assert (tickets["retry"] == (tickets["attempt"] > 0)).all()
    assert (tickets["wait_s"] >= 0).all() and (tickets["handle_s"] >= 0).all()
    answered = tickets["outcome"] == "answered"
    assert (tickets.loc[answered, "handle_s"] > 0).all()
    assert (tickets.loc[~answered, "handle_s"] == 0).all()
    assert (tickets.loc[~answered, "escalated"] == 0).all()  # only a served ticket escalates
    deflected = tickets["outcome"] == "deflected"
    assert set(tickets.loc[deflected, "channel"]) == {"chat"}  # the bot is on chat only
    assert (tickets.loc[deflected, "wait_s"] == 0).all()
    assert not (deflected & (tickets["retry"] == 1)).any()  # a retry is never deflected again
    assert set(tickets.loc[tickets["outcome"] == "blocked", "channel"]) <= {"phone"}  # only phone has lines
    assert not ((tickets["channel"] == "email") & (tickets["outcome"] == "abandoned")).any()  # patience none
    abandoned = tickets["outcome"] == "abandoned"
    assert (tickets.loc[abandoned, "wait_s"] > 0).all()


def test_conservation_against_the_simulator(tickets: pd.DataFrame, counts: dict) -> None:
    # one row per attempt: (customer, attempt) unique; a retry follows an abandoned attempt
    keys = list(zip(tickets["ticket_id"], tickets["attempt"]))
    assert len(set(keys)) == len(keys)
    by_key = tickets.set_index(["ticket_id", "attempt"])
    retries = tickets[tickets["attempt"] > 0]
    assert len(retries) > 0
    for tid, k, created in zip(retries["ticket_id"], retries["attempt"], retries["created_at"]):
        prev = by_key.loc[(tid, k - 1)]
        assert prev["outcome"] == "abandoned"
        assert prev["created_at"] < created
    # every outcome count equals the simulator's own (its collector, not its ticket log)
    assert counts["still_waiting_at_end"] == 0 and counts["journeys_open_at_end"] == 0
    for ch, sim in counts["by_channel"].items():
        rows = tickets[tickets["channel"] == ch]
        human = rows[rows["outcome"] != "deflected"]
        assert len(human) == sim["offered"], ch
        for outcome in ("answered", "abandoned", "blocked"):
            assert int((rows["outcome"] == outcome).sum()) == sim[outcome], (ch, outcome)
        assert int(rows["retry"].sum()) == sim["retrials"], ch
    bot = counts["chatbot"]["chat"]
    chat = tickets[tickets["channel"] == "chat"]
    assert len(chat) == bot["bot_handled"]  # every chat attempt talks to the bot first
    assert int((chat["outcome"] == "deflected").sum()) == bot["deflected"]
    assert int((tickets["outcome"] != "deflected").sum()) == counts["arrivals_counted"]
    assert counts["log_rows"] == len(tickets)


def test_window_and_order(tickets: pd.DataFrame) -> None:
    created = pd.to_datetime(tickets["created_at"], utc=True)
    assert created.is_monotonic_increasing
    assert created.min() >= pd.Timestamp(START)
    assert created.max() < pd.Timestamp(START + HORIZON)
    # the whole horizon is covered: contacts on every day, on every channel
    days = created.dt.floor("D").dt.date
    for ch in ("chat", "phone", "email"):
        assert days[tickets["channel"] == ch].nunique() == DAYS, ch


def test_the_desk_is_under_pressure_but_stable(tickets: pd.DataFrame) -> None:
    """The truth is staffed so that waits and abandonment are there to be estimated."""
    for ch in ("chat", "phone"):
        human = tickets[(tickets["channel"] == ch) & (tickets["outcome"] != "deflected")]
        share = (human["outcome"] == "abandoned").mean()
        assert 0.03 < share < 0.25, (ch, share)
        answered = human[human["outcome"] == "answered"]
        assert answered["wait_s"].mean() > 2.0, ch
        assert (answered["wait_s"] > 0).mean() > 0.05, ch


def test_price_file_covers_the_horizon(history: tuple[Path, dict]) -> None:
    prices = pd.read_csv(history[0] / "prices.csv")
    t = pd.to_datetime(prices.iloc[:, 0], utc=True)
    p = prices.iloc[:, 1].to_numpy(dtype=float)
    assert t.iloc[0] == pd.Timestamp(START)  # the replay plays its first row at the start
    assert t.iloc[-1] >= pd.Timestamp(START + HORIZON)
    assert (t.diff().dropna() == pd.Timedelta(minutes=1)).all()
    assert np.isfinite(p).all() and (p > 0).all()
    # calm and volatile stretches: hourly realised volatility against its median
    r = np.diff(np.log(p))
    hourly = np.sqrt((r[: len(r) // 60 * 60].reshape(-1, 60) ** 2).sum(axis=1) * 24)
    ratio = hourly / np.median(hourly)
    assert 0.03 < (ratio > 1.5).mean() < 0.5
    assert ratio.max() > 2.0


def test_deflection_matches_the_truth(tickets: pd.DataFrame) -> None:
    """First attempts on chat (retries are never deflected) by category, within 4 binomial
    standard errors of the configured deflection; the same for the whole channel."""
    first = tickets[(tickets["channel"] == "chat") & (tickets["attempt"] == 0)]
    expected_total = 0.0
    for cat, rows in first.groupby("category"):
        p = sh.deflection_p(cat)
        n = len(rows)
        got = (rows["outcome"] == "deflected").mean()
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n), (cat, got, p, n)
        expected_total += p * n
    n = len(first)
    p = expected_total / n
    got = (first["outcome"] == "deflected").mean()
    assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n), (got, p)


def test_escalation_matches_the_truth(tickets: pd.DataFrame) -> None:
    """First attempts answered at L1 (a retry keeps its customer's draw), by category."""
    answered = tickets[(tickets["outcome"] == "answered") & (tickets["attempt"] == 0)]
    for cat, rows in answered.groupby("category"):
        p = sh.escalation_p(cat)
        n = len(rows)
        got = rows["escalated"].mean()
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n), (cat, got, p, n)


def test_volumes_are_the_log_by_interval(history: tuple[Path, dict], tickets: pd.DataFrame) -> None:
    volumes = pd.read_csv(history[0] / "volumes.csv")
    assert list(volumes.columns) == list(sh.VOLUME_COLUMNS)
    n_intervals = DAYS * 96
    assert len(volumes) == 3 * n_intervals  # zero rows included
    starts = pd.to_datetime(volumes["interval_start"], utc=True)
    assert starts.min() == pd.Timestamp(START)
    assert starts.max() == pd.Timestamp(START + HORIZON - timedelta(minutes=15))
    assert (volumes.groupby("channel").size() == n_intervals).all()
    assert (volumes["offered"] == 0).any()
    created = pd.to_datetime(tickets["created_at"], utc=True).dt.floor("15min")
    log = tickets.assign(interval_start=created)
    human = log[log["outcome"] != "deflected"]
    expect = pd.DataFrame({
        "offered": human.groupby(["interval_start", "channel"]).size(),
        "answered": human[human["outcome"] == "answered"].groupby(["interval_start", "channel"]).size(),
        "abandoned": human[human["outcome"] == "abandoned"].groupby(["interval_start", "channel"]).size(),
        "aht_s": human[human["outcome"] == "answered"].groupby(["interval_start", "channel"])["handle_s"].mean(),
    })  # fmt: skip
    got = volumes.assign(interval_start=starts).set_index(["interval_start", "channel"])
    joined = got.join(expect.add_suffix("_log"))
    for col in ("offered", "answered", "abandoned"):
        assert (joined[col] == joined[f"{col}_log"].fillna(0)).all(), col
    both = joined["aht_s"].notna()
    assert (both == joined["aht_s_log"].notna()).all()
    assert np.allclose(joined.loc[both, "aht_s"], joined.loc[both, "aht_s_log"], rtol=0, atol=2e-3)


def test_same_seed_same_history_and_cli(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sh.generate(a, days=1, seed=3, scale=0.2)
    assert sh.main(["--out", str(b), "--days", "1", "--seed", "3", "--scale", "0.2"]) == 0
    for name in ("tickets.csv", "volumes.csv", "prices.csv", "truth.yaml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_against_the_simulators_own_tables(history: tuple[Path, dict], tickets: pd.DataFrame) -> None:
    """The same run again, in process: its interval table (the collector's, bucketed by the
    time a contact reached the human queue) is the log's, and its raw ticket rows are the log's
    attempts. On chat the queue is reached BOT_TIME_S after the contact: the log's created_at
    is the contact's own time, so the simulator's buckets are the log's shifted by the bot."""
    out, truth = history
    _, result = sh.simulate_truth(truth, out)
    iv = pd.DataFrame(result.intervals)
    created = pd.to_datetime(tickets["created_at"], utc=True)
    human = tickets["outcome"] != "deflected"
    queued = created + pd.to_timedelta(np.where(tickets["channel"] == "chat", sh.BOT_TIME_S, 0.0), unit="s")
    k = ((queued - pd.Timestamp(START)).dt.total_seconds() // 900).astype(int).clip(upper=DAYS * 96 - 1)
    for ch in ("chat", "phone", "email"):
        sim = iv[iv["channel"] == ch].sort_values("interval")
        assert len(sim) == DAYS * 96
        sel = human & (tickets["channel"] == ch)
        for col, rows in (("offered", sel), ("answered", sel & (tickets["outcome"] == "answered")),
                          ("abandoned", sel & (tickets["outcome"] == "abandoned"))):  # fmt: skip
            mine = np.bincount(k[rows], minlength=DAYS * 96)
            assert np.array_equal(mine, sim[col].to_numpy().astype(int)), (ch, col)
    # the raw rows: one first row per (id, attempt) inside the window, nothing else
    raw = pd.DataFrame(result.tickets)
    first = raw.groupby(["id", "attempt"], sort=False).head(1)
    arrival = first["arrival_s"] - np.where((first["channel"] == "chat") & (first["outcome"] != "deflected"),
                                            sh.BOT_TIME_S, 0.0)  # fmt: skip
    inside = first[(arrival >= 0) & (arrival < HORIZON.total_seconds())]
    assert set(zip(inside["id"], inside["attempt"])) == set(zip(tickets["ticket_id"], tickets["attempt"]))
    assert (inside["tier"] == "L1").all()
    assert set(raw.loc[raw.duplicated(["id", "attempt"]), "tier"]) == {"L2"}  # escalations are extra rows
