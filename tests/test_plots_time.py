"""What the run's plots show: clock times in the display zone (named on the axis), a one-off
market shock kept out of the "over the day" average, and linear axes where a value can be 0.

The figures are caught before they are written (plots._save) and their axes read back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from simsupport.config.load import scenario_from_dict
from simsupport.outputs import plots
from simsupport.outputs.report import SHOCK_DECAYS, shock_windows

HOUR = 3600.0
START = pd.Timestamp("2026-01-05 00:00", tz="UTC")  # a Monday


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    caught: list[Any] = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: caught.append(fig) or path)
    return caught


def _intervals(days: int = 2, shock: tuple[float, float] | None = None, reps: int = 2) -> pd.DataFrame:
    """Hourly intervals of one channel: service level 0.9 and 2 waiting, except 0.1 and 50 waiting
    inside `shock` (simulation seconds)."""
    rows = []
    for r in range(reps):
        for k in range(24 * days):
            s = k * HOUR
            hit = shock is not None and shock[0] <= s < shock[1]
            rows.append({"replication": r, "interval": k, "start": START + pd.Timedelta(seconds=s), "start_s": s,
                         "channel": "chat", "service_level": 0.1 if hit else 0.9, "mean_queue": 50.0 if hit else 2.0,
                         "offered": 10.0, "open_tickets": 5 + k, "price": 100.0, "volatility": 0.02})  # fmt: skip
    return pd.DataFrame(rows)


def _line(ax: Any, label_start: str) -> Any:
    return next(line for line in ax.get_lines() if line.get_label().startswith(label_start))


def test_daily_profile_is_on_the_local_clock(figures: list[Any]) -> None:
    plots.daily_profile_plot(_intervals(), {"chat": 0.8}, Path("x.png"), "t", tz="Asia/Shanghai")
    fig = figures[0]
    ax = fig.axes[0]
    assert fig.axes[-1].get_xlabel() == "time of day (Asia/Shanghai)"
    assert "Asia/Shanghai clock" in fig._suptitle.get_text()
    x = _line(ax, "mean").get_xdata()
    assert x[0] == 0.0 and x[-1] == 24.0  # every hour of the local day, drawn to midnight
    # the first interval (00:00 UTC) is 08:00 in Shanghai: the same values, shifted by the zone
    frame = _intervals()
    frame.loc[frame["start_s"] == 0, "service_level"] = 0.5
    figures.clear()
    plots.daily_profile_plot(frame, {"chat": 0.8}, Path("x.png"), "t", tz="Asia/Shanghai")
    mean = _line(figures[0].axes[0], "mean")
    y = dict(zip(mean.get_xdata(), mean.get_ydata()))
    assert y[8.0] == pytest.approx((0.5 + 0.9) / 2) and y[0.0] == pytest.approx(0.9)


def test_daily_profile_leaves_a_shock_out_of_the_day_and_shows_it(figures: list[Any]) -> None:
    """A crash on Tuesday 02:00-06:00 UTC (10:00-14:00 in Shanghai): the mean over the day stays at
    the ordinary level; the shocked hours are their own dashed line, named in legend and title."""
    shock = (26 * HOUR, 30 * HOUR)
    frame = _intervals(shock=shock)
    plots.daily_profile_plot(frame, {"chat": 0.8}, Path("x.png"), "t", tz="Asia/Shanghai", excluded=[shock])
    fig = figures[0]
    sl, queue = fig.axes[0], fig.axes[1]
    assert np.allclose(_line(sl, "mean").get_ydata(), 0.9)
    assert np.allclose(_line(queue, "mean").get_ydata(), 2.0)
    hit = _line(sl, "inside a shock window")
    y = dict(zip(hit.get_xdata(), hit.get_ydata()))
    assert [h for h, v in y.items() if np.isfinite(v)] == [10.0, 11.0, 12.0, 13.0]
    assert all(y[h] == pytest.approx(0.1) for h in (10.0, 11.0, 12.0, 13.0))
    assert "market shocks left out: Tue 10:00-14:00" in fig._suptitle.get_text()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "mean, shock windows left out" in labels and "inside a shock window (not in the mean)" in labels
    # without the windows, the shock bends the day (what the plot did before)
    figures.clear()
    plots.daily_profile_plot(frame, {"chat": 0.8}, Path("x.png"), "t", tz="Asia/Shanghai")
    assert _line(figures[0].axes[0], "mean").get_ydata().min() == pytest.approx((0.1 + 0.9) / 2)


def test_shock_windows_cover_the_decay() -> None:
    base = {"name": "w", "horizon": "2d", "categories": {"a": {"share": 1, "handle_time": {"dist": "exponential", "mean": "2min"}}},
            "channels": {"chat": {"rate": "10/h"}}, "pools": [{"name": "p", "agents": 2}]}  # fmt: skip
    assert shock_windows(scenario_from_dict(base)) == []
    market = {"model": "regime", "regimes": {"calm": {"daily_vol": 0.02, "mean_duration": "30d"}}, "initial": "calm",
              "shocks": [{"at": "1d 02:00", "move": -0.1, "decay": "2h"}]}  # fmt: skip
    s = scenario_from_dict({**base, "market": market})
    assert shock_windows(s) == [(26 * HOUR, 26 * HOUR + SHOCK_DECAYS * 2 * HOUR)]


def test_burst_timeline_and_backlog_are_on_the_local_clock(figures: list[Any]) -> None:
    frame = _intervals()
    plots.burst_timeline_plot(frame, [START + pd.Timedelta(hours=26)], {"chat": 0.8}, Path("x.png"), "t",
                              tz="America/New_York")  # fmt: skip
    ax = figures[0].axes[3]
    assert ax.get_xlabel() == "local time (America/New_York)"
    assert str(ax.xaxis.get_major_formatter().tz) == "America/New_York"
    figures.clear()
    doc = _journey_doc()
    plots.journey_plot(doc, frame, ["chat"], Path("x.png"), "t", tz="Europe/London")
    backlog = figures[0].axes[3]
    assert backlog.get_xlabel() == "local time (Europe/London)"
    assert str(backlog.xaxis.get_major_formatter().tz) == "Europe/London"


def _journey_doc() -> dict[str, Any]:
    def m(v: float, ci: float | None = 0.0) -> dict[str, Any]:
        return {"mean": v, "ci95": ci}

    chat = {k: m(v) for k, v in {"journeys": 100, "deflected": 20, "resolved": 70, "resolved_after_escalation": 10,
                                 "abandoned_journeys": 10, "blocked": 0}.items()}  # fmt: skip
    tiers = {"L1": {"visits": m(100), "asa_s": m(12.0, 2.0), "wait_p90_s": m(40.0, 5.0)},
             "L2": {"visits": m(10), "asa_s": m(0.0), "wait_p90_s": m(0.0)},
             "specialist": {"visits": m(5), "asa_s": m(3 * HOUR, HOUR), "wait_p90_s": m(6 * HOUR, 2 * HOUR)}}  # fmt: skip
    return {"by_channel": {"chat": chat}, "by_tier": tiers, "chatbot": {}}


def test_tier_waits_are_on_a_linear_axis_from_zero(figures: list[Any]) -> None:
    """Waits can be 0 (L2 here): a log axis has no 0 and bar lengths on it mean nothing."""
    plots.journey_plot(_journey_doc(), _intervals(), [], Path("x.png"), "t")
    tier = figures[0].axes[1]
    assert tier.get_yscale() == "linear" and tier.get_ylim()[0] == 0
    assert "log" not in tier.get_title()
    labels = {t.get_text() for t in tier.texts}
    assert {"12s", "0.0s", "3h"} <= labels, labels  # every bar says its value, 0 included


def test_no_plot_puts_a_zero_on_a_plain_log_axis(figures: list[Any]) -> None:
    """The only log-like axis of a run, the wait distribution's, is symlog: linear up to 1 s, so
    waits of 0 (answered at once) are on it, and its 0 is labelled."""
    hist = np.zeros(plots.N_BINS, dtype=np.int64)
    hist[0], hist[300] = 50, 50
    plots.wait_distribution_plot({"chat": hist}, {"chat": (20.0, 0.8)}, {"chat": 0.9}, Path("x.png"), "t")
    ax = figures[0].axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    figures[0].canvas.draw()
    assert ax.get_xticklabels()[0].get_text() == "0"
    assert "linear to 1s, log beyond" in ax.get_xlabel()
