"""The FIT REPORT's plots (outputs.fit_plots) on a fit of a realistic synthetic history, and
`poor_fits`, the fits to distrust in words.

The history: three weeks of tickets in Europe/Berlin with a two-peaked day and quiet weekends,
arrivals that follow a recorded price's volatility (elasticity 0.6), exponential patience
(email: nobody abandons) and lognormal handle times, except the `tech` category's, which are a
two-humped mixture no single family fits (the deliberate poor fit).
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image
from simsupport.fit.estimate import Estimate
from simsupport.fit.history import TicketHistory
from simsupport.fit.learn import FitResult, Prices, learn_tickets
from simsupport.fit.market import ElasticityChoice, log2_ratio_at
from simsupport.outputs.fit_plots import FILES, poor_fits, write_fit_plots, zone_label

START = pd.Timestamp("2024-03-03 23:00", tz="UTC")  # Monday 4 March, midnight in Berlin
DAYS = 21
ELASTICITY = 0.6
CHANNELS = {  # rate per hour at calm, mean patience (None: nobody abandons), mean time to answer
    "chat": (24.0, 240.0, 90.0),
    "phone": (12.0, 400.0, 150.0),
    "email": (4.0, None, 600.0),
}
HANDLE = {"billing": 300.0, "tech": 600.0, "account": 420.0}
PRESENT = frozenset({"category", "language", "outcome", "wait_s", "handle_s"})


def price_series(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Minute prices from an hour before the history to an hour after, in volatility regimes."""
    n = DAYS * 1440 + 120
    epoch = int(START.timestamp()) - 3600 + 60 * np.arange(n, dtype=np.int64)
    level = np.ones(n)
    k = 0
    while k < n:
        length = int(rng.integers(60, 600))
        burst = rng.random() < 0.4
        level[k : k + length] = rng.choice([1.0, 2.0, 4.0, 6.0]) if burst else rng.uniform(0.6, 1.4)
        k += length
    return epoch, 100.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, n) * level))


def day_shape(hour: np.ndarray) -> np.ndarray:
    """Morning and afternoon peaks (local time) over a quiet night."""
    return 0.15 + np.exp(-0.5 * ((hour - 10.5) / 2.5) ** 2) + 0.8 * np.exp(-0.5 * ((hour - 16.0) / 2.0) ** 2)


def ticket_log(seed: int = 4) -> tuple[pd.DataFrame, Prices]:
    """A ticket log as fit.history normalises it, and its price recording."""
    rng = np.random.default_rng(seed)
    epoch, price = price_series(rng)
    minutes = int(START.timestamp()) + 60 * np.arange(DAYS * 1440)
    x = log2_ratio_at(minutes, epoch, price)
    local = (minutes - minutes[0]) / 3600.0
    weekly = np.array([1.15, 1.1, 1.05, 1.0, 0.95, 0.7, 0.6])[(local // 24).astype(int) % 7]
    shape = day_shape(local % 24) / day_shape(np.arange(0, 24, 0.01)).mean()
    frames = []
    for ch, (rate, patience, answer) in CHANNELS.items():
        k = rng.poisson(rate / 60.0 * shape * weekly * np.exp2(ELASTICITY * x))
        t = np.repeat(minutes, k) + rng.random(k.sum()) * 60.0
        m = t.size
        cat = rng.choice(list(HANDLE), m, p=[0.5, 0.3, 0.2])
        start = rng.exponential(answer, m)
        patient = rng.exponential(patience, m) if patience else np.full(m, np.inf)
        gone = patient < start  # an abandoned customer's wait is their patience
        wait = np.minimum(patient, start)
        s2 = math.log1p(0.7**2)
        mean = np.array([HANDLE[c] for c in cat]) * (1.25 if ch == "phone" else 1.0)
        handle = rng.lognormal(np.log(mean) - s2 / 2, math.sqrt(s2))
        tech = cat == "tech"  # half quick fixes, half long investigations: no single family fits
        handle[tech] = np.abs(np.where(rng.random(tech.sum()) < 0.5, rng.normal(120.0, 15.0, tech.sum()),
                                       rng.normal(1500.0, 100.0, tech.sum())))
        frames.append(pd.DataFrame({
            "created_at": pd.to_datetime(t, unit="s", utc=True), "channel": ch, "category": cat,
            "language": rng.choice(["en", "de"], m, p=[0.7, 0.3]), "outcome": np.where(gone, "abandoned", "answered"),
            "wait_s": wait, "handle_s": np.where(gone, np.nan, handle)}))
    log = pd.concat(frames, ignore_index=True).sort_values("created_at", kind="stable").reset_index(drop=True)
    for c in ("channel", "category", "language", "outcome"):
        log[c] = log[c].astype(object)
    log["row"] = np.arange(2, len(log) + 2, dtype=np.int64)
    return log, Prices("prices.csv", epoch, price)


@pytest.fixture(scope="module")
def fitted() -> tuple[FitResult, pd.DataFrame]:
    log, prices = ticket_log()
    history = TicketHistory(frame=log, path="history/tickets.csv", timezone="Europe/Berlin", offsets=(),
                            present=PRESENT)
    return learn_tickets(history, prices), log


@pytest.fixture(scope="module")
def plots(fitted: tuple[FitResult, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    res, log = fitted
    return write_fit_plots(res, tmp_path_factory.mktemp("fit-report"), log)


def test_the_fit_behind_the_plots_is_realistic(fitted: tuple[FitResult, pd.DataFrame]) -> None:
    res, _ = fitted
    assert res.timezone == "Europe/Berlin" and set(res.arrivals) == set(CHANNELS)
    assert res.elasticity is not None and res.elasticity.pooled.lo < ELASTICITY < res.elasticity.pooled.hi + 0.05
    assert res.handle is not None and res.handle["tech"].fit.ks_p < 0.01
    assert res.handle["billing"].fit.ks_p > 0.01 and "phone" in res.handle["billing"].by_channel
    assert res.patience is not None and res.patience["email"].dist is None and res.patience["chat"].dist is not None


def test_every_plot_is_a_readable_png(plots: list[Path]) -> None:
    assert [p.name for p in plots] == list(FILES.values())
    for path in plots:
        assert path.exists() and path.stat().st_size > 10_000, path.name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = image.imread(path).shape[:2]
        assert width > 600 and height > 400, (path.name, width, height)
    assert not list(plots[0].parent.glob(".*.tmp"))  # written atomically: no temporary files left


def test_plots_without_the_data_for_them_are_skipped(fitted: tuple[FitResult, pd.DataFrame], tmp_path: Path) -> None:
    res, log = fitted
    # no log given: handle times cannot be drawn (the fit does not keep them); the rest can
    names = [p.name for p in write_fit_plots(res, tmp_path / "no-log")]
    assert names == [FILES[k] for k in ("daily", "weekly", "patience", "volatility")]
    # an interval report: no tickets, no prices
    volumes = dataclasses.replace(res, kind="volumes", prices=None, elasticity=None, handle=None, patience=None)
    names = [p.name for p in write_fit_plots(volumes, tmp_path / "volumes", log)]
    assert names == [FILES["daily"], FILES["weekly"]]
    assert sorted(p.name for p in (tmp_path / "volumes").iterdir()) == sorted(names)


def test_poor_fits_names_the_bimodal_handle_times_only(fitted: tuple[FitResult, pd.DataFrame]) -> None:
    res, _ = fitted
    msgs = poor_fits(res)
    handle = [m for m in msgs if m.startswith("handle times")]
    assert len(handle) == 1 and "tech" in handle[0] and "KS p" in handle[0]
    assert all(w in msgs for w in res.warnings)
    assert len(msgs) == len(set(msgs))
    assert not any(m.startswith(("patience", "arrivals", "market")) for m in msgs)


def test_poor_fits_covers_every_kind_of_poor_fit(fitted: tuple[FitResult, pd.DataFrame]) -> None:
    res, _ = fitted
    chat = res.arrivals["chat"]
    flat = Estimate.normal(0.05, 0.1, 21, "days")
    patience = dict(res.patience)
    patience["phone"] = dataclasses.replace(patience["phone"], km_gap=0.12)
    patience["chat"] = dataclasses.replace(patience["chat"], n_abandoned=7)
    handle = dict(res.handle)
    handle["account"] = dataclasses.replace(handle["account"], fit=dataclasses.replace(handle["account"].fit, n=12))
    bad = dataclasses.replace(
        res, arrivals={**res.arrivals, "chat": dataclasses.replace(chat, dispersion=4.2)},
        elasticity=ElasticityChoice(flat, {"chat": flat}, False, 0.5), patience=patience, handle=handle,
        warnings=[*res.warnings, "a warning of the fit"])
    msgs = poor_fits(bad)
    assert any("chat" in m and "vary more within a day than Poisson" in m and "profile misses structure" in m
               for m in msgs)
    assert any(m.startswith("market elasticity") and "includes 0" in m for m in msgs)
    assert any(m.startswith("patience on phone") and "12%" in m for m in msgs)
    assert any(m.startswith("patience on chat") and "only 7 abandons" in m for m in msgs)
    assert any(m.startswith("handle times of account") and "only 12" in m for m in msgs)
    assert msgs[-1] == "a warning of the fit"


def test_zone_label_reads_posix_zones_the_right_way_round() -> None:
    assert zone_label("Etc/GMT-8") == "UTC+8"
    assert zone_label("Etc/GMT+5") == "UTC-5"
    assert zone_label("UTC") == "UTC" and zone_label("Europe/Berlin") == "Europe/Berlin"


def test_importing_the_plots_module_does_not_load_matplotlib() -> None:
    """`fit` without plots, and `poor_fits` for the console, never pay for matplotlib."""
    code = "import sys, simsupport.outputs.fit_plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
