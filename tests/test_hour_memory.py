"""Memory flat in the horizon: the worst hour's histograms are let go once an hour is settled
(stats.hours), the interval table and snapshots are numpy columns (engine.report), and none of
it changes a number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simsupport.config.load import load_scenario
from simsupport.engine.desk import Engine
from simsupport.stats.hours import HourHistograms
from simsupport.stats.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))


def _run(path: Path, keep_all: bool = False, **overrides: str) -> tuple[Engine, object]:
    s = load_scenario(path, overrides={"horizon": "2d", "interval": "15min", **overrides})
    e = Engine(s, 0)
    if keep_all:  # the dense reference: every hour's histogram kept to the end
        e.sink.hours.settle = lambda now, counters: None  # type: ignore[method-assign]
    return e, e.run()


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_worst_hour_is_the_dense_one_and_nothing_is_lost(path: Path) -> None:
    """Every bundled scenario (plain, journey with a bot on either SLA clock, live start,
    market, roster, surge): the worst hours and their wait quantiles are exactly those of
    histograms kept for every hour, no hour is reached after it was let go, and at the end
    only the open hours and one a scope are held."""
    e, r = _run(path)
    dense_e, dense = _run(path, keep_all=True)
    assert _same(summarize(r).get("worst_hour"), summarize(dense).get("worst_hour"))
    hours = e.sink.hours
    assert hours.lost == set()
    assert len(hours.kept) <= len(e.channels) + 1
    assert len(dense_e.sink.hours.live) >= 40  # (the reference really kept them all)
    # an hour still held is one that had not ended or still owed facts at the last settling
    assert set(hours.live) <= set(hours.pending) | set(range(hours.passed, hours.n_hours))
    if path.stem != "bull-run":
        assert len(hours.live) <= 12, sorted(hours.live)  # the drain's last hours, not all 48
    else:  # an overloaded email backlog: tickets of every hour still wait, so every hour is open
        assert e.channel_by_name["email"].counted_waiting > 0


def test_held_hours_do_not_grow_with_the_horizon() -> None:
    path = ROOT / "scenarios" / "exchange-baseline.yaml"
    held = []
    for horizon in ("1d", "6d"):
        e, r = _run(path, horizon=horizon)
        held.append(len(r.hour_hist))
        assert e.sink.hours.lost == set()
    assert held[1] <= max(held[0], len(e.channels) + 3)


def test_bot_on_the_arrival_clock_promises_at_entry(tmp_path: Path) -> None:
    """With the SLA clock at the first contact, a ticket reaches a human minutes after it
    arrived: its fact belongs to an earlier hour, which must wait for it (promised when the
    journey starts, since the plan already says whether the bot deflects it)."""
    text = (ROOT / "scenarios" / "exchange-journey.yaml").read_text()
    assert "sla_clock: handover" in text
    path = tmp_path / "arrival-clock.yaml"
    path.write_text(text.replace("sla_clock: handover", "sla_clock: arrival"))
    e, r = _run(path, horizon="3d")
    assert e.journey is not None
    assert any(ch.jr.clock_arrival for ch in e.channels if getattr(ch, "jr", None) is not None)
    assert e.sink.hours.lost == set()
    assert len(e.sink.hours.live) <= 12
    # promised at the handover instead (when the visit starts), an hour would settle while
    # its tickets still talk to the bot, and their facts would come too late
    e2 = Engine(load_scenario(path, overrides={"horizon": "3d", "interval": "15min"}), 0)
    j, real = e2.journey, e2.promise
    deferred: dict[int, float] = {}
    enter, visit = j.enter, j.visit

    def late_enter(jt, plan, now):  # type: ignore[no-untyped-def]
        if jt.cls.bot is not None:  # (without a bot the visit starts at once)
            e2.promise = lambda arrival: deferred.__setitem__(id(jt), arrival)
        enter(jt, plan, now)
        e2.promise = real

    def late_visit(t, now):  # type: ignore[no-untyped-def]
        if id(t) in deferred:
            real(deferred.pop(id(t)))
        visit(t, now)

    j.enter, j.visit = late_enter, late_visit
    e2.run()
    assert e2.sink.hours.lost


def test_settling_rules() -> None:
    """An hour settles once it has passed and its promised facts are in; the worst hour of a
    scope is held, a better one let go; ties go to the earlier hour."""
    n_ch, n_hours = 2, 6
    cols = 4  # sl_num, sl_den, offered, spare
    hh = HourHistograms(n_ch, n_hours, 0, 0, 1, 2)
    counters = np.zeros((n_hours * n_ch, cols))

    def fact(hour: int, ch: int, met: bool, wait_bin: int = 3) -> None:
        counters[hour * n_ch + ch, [1, 2]] += 1
        counters[hour * n_ch + ch, 0] += met
        hh.add(np.array([hour * n_ch + ch]), np.array([wait_bin]))

    for hour in range(3):
        for _ in range(2):
            hh.p_buf.append(hour * 3600.0 + 10)
    fact(0, 0, True)
    fact(0, 1, True)
    fact(1, 0, False)  # hour 1: one of its two facts still owed
    fact(2, 0, True)
    fact(2, 1, False)
    hh.settle(3 * 3600.0, counters)
    assert hh.pending.tolist() == [1]
    assert 1 in hh.live
    # hour 0 (level 1.0) was the desk's worst until hour 2 (0.5): hour 0 let go unless a
    # channel still holds it (channel 0's best is hour 0, tie with hour 2 at 1.0: the earlier)
    assert hh.best[0] == (0.5, 2)
    assert hh.best[1] == (1.0, 0) and hh.best[2] == (0.0, 2)
    assert set(hh.kept) == {0, 2}
    fact(1, 1, False)
    hh.settle(3 * 3600.0, counters)
    assert not len(hh.pending) and hh.best[0] == (0.0, 1) and hh.best[1] == (0.0, 1)
    assert set(hh.kept) == {1} and hh.dropped[0] and hh.dropped[2]
    # a fact for an hour let go is counted as lost, never added to a wrong histogram
    hh.add(np.array([0]), np.array([1]))
    assert hh.lost == {0}


def test_interval_table_is_numpy_columns() -> None:
    e, r = _run(ROOT / "scenarios" / "exchange-baseline.yaml", horizon="1d")
    iv = r.intervals
    n = len(iv["start_s"])
    assert n == 96 * len(e.channels)
    assert all(isinstance(v, np.ndarray) and len(v) == n for v in iv.values())
    assert iv["replication"].dtype == np.int64 and iv["open_tickets"].dtype == np.int64
    assert iv["channel"][: len(e.channels)].tolist() == [ch.name for ch in e.channels]
    row_bytes = sum(v.nbytes for v in iv.values()) / n
    assert row_bytes <= 16 * 8
    # the snapshots' edges bound every interval, and the table's sums are the counters'
    assert len(r.snapshots["t"]) == 96 + 1
    assert iv["offered"].sum() == pytest.approx(summarize(r)["overall"]["all"]["offered"])


def _same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return a == b


def _stale(e: Engine) -> int:
    """Tickets no longer waiting that queues still hold (lazy deletion's leftovers)."""
    from simsupport.engine.tickets import WAITING

    queues = {id(q): q for c in e.classes for q in (c.queue, *(r.queue for r in c.routes))}
    return sum(1 for q in queues.values() for t in q if t.state != WAITING)


def test_queues_nobody_scans_do_not_keep_their_tickets(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the baseline, Vietnamese tickets wait in class queues no pool serves at their rank
    (the English pool takes them through a route): before routing.compact every one of them
    stayed in memory for the rest of the run. Now what queues hold besides waiting tickets is
    bounded (a queue is filtered when it doubles), not growing with the horizon."""
    path = ROOT / "scenarios" / "exchange-baseline.yaml"
    kept = [_stale(_run(path, horizon=h)[0]) for h in ("2d", "8d")]
    import simsupport.engine.desk as desk

    monkeypatch.setattr(desk, "compact", lambda queues, sizes: None)
    leaked = [_stale(_run(path, horizon=h)[0]) for h in ("2d", "8d")]
    assert leaked[1] >= 2.5 * leaked[0] > 2_000  # what used to stay: a few hundred tickets a day
    assert kept[1] <= 1.5 * kept[0] + 500 and kept[1] < leaked[1] / 5, (kept, leaked)


def test_snapshots_grow_past_the_rows_planned() -> None:
    from simsupport.engine.report import Snapshots

    snaps = Snapshots(2, n_channels=2, n_pools=1)
    for i in range(7):
        snaps.add(float(i), [i, 2 * i], [0.5 * i], [i], [i, i + 1])
    a = snaps.arrays()
    assert a["t"].tolist() == [float(i) for i in range(7)]
    assert a["queue"][:, 1].tolist() == [2.0 * i for i in range(7)] and a["open"].dtype == np.int64
    assert a["busy"].shape == (7, 1) and a["open"][6].tolist() == [6, 7]


@pytest.mark.parametrize("scope", ["every_hour", "every_interval"])
def test_replications_hand_over_a_slim_result(scope: str) -> None:
    """A worker summarises its replication and lets go of what only the summary reads; the
    target tallies keep their interval grid only for an every_interval target."""
    from ruamel.yaml import YAML

    from simsupport.config.load import scenario_from_dict
    from simsupport.engine import simulate
    from simsupport.experiment.replications import run_replications

    data = YAML(typ="safe").load((ROOT / "scenarios" / "textbook.yaml").read_text())
    data.update(horizon="1d", interval="30min", staffing={"targets": [{"channel": "phone", "scope": scope}]})
    s = scenario_from_dict(data)
    results = run_replications(s, 2)
    for k, r in enumerate(results):
        full = simulate(s, k)
        assert r.snapshots is None and r.hour_counters is None and r.hour_hist is None
        assert _same(summarize(r), summarize(full)) and summarize(r) is not r.summary
        assert r.targets is not None and full.targets is not None
        assert np.array_equal(r.targets.hours, full.targets.hours)
        if scope == "every_interval":
            assert np.array_equal(r.targets.intervals, full.targets.intervals) and full.targets.intervals.shape[1] > 0
        else:
            assert r.targets.intervals.shape[1] == 0
        assert all(np.array_equal(r.intervals[n], full.intervals[n]) for n in ("offered", "asa_s", "occupancy"))
