"""The files of `simsupport fit --report` and `simsupport backtest`: tidy tables (CSV, Parquet)
and the plots, each written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..fit.backtest import Backtest
from ..fit.learn import FitResult
from ..fit.table import COLUMNS
from .files import atomic_write
from .fit_plots import poor_fits, write_fit_plots


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda p: frame.to_csv(p, index=False))


def write_estimates(res: FitResult, rows: list[dict[str, Any]], out: Path, log: pd.DataFrame | None) -> list[Path]:
    """estimates.csv (every estimate with its 95% CI and n), warnings.txt and the fit plots."""
    out.mkdir(parents=True, exist_ok=True)
    written = [_csv(pd.DataFrame(rows, columns=list(COLUMNS)), out / "estimates.csv")]
    warnings = poor_fits(res)
    text = "".join(f"- {w}\n" for w in warnings) or "no warnings\n"
    written.append(atomic_write(out / "warnings.txt", lambda p: p.write_text(text, encoding="utf-8")))
    written += write_fit_plots(res, out, log)
    return written


def write_backtest(bt: Backtest, out: Path) -> list[Path]:
    """days.csv, intervals.parquet, coverage.csv and backtest.png."""
    out.mkdir(parents=True, exist_ok=True)
    written = [_csv(bt.coverage, out / "coverage.csv"), _csv(bt.days, out / "days.csv")]
    written.append(atomic_write(out / "intervals.parquet", lambda p: bt.intervals.to_parquet(p, index=False)))
    written.append(plot_backtest(bt, out / "backtest.png"))
    if bt.kpis is not None and not bt.kpis.empty:
        written.append(_csv(bt.kpis, out / "kpis.csv"))
        written.append(plot_kpis(bt.kpis, out / "backtest-kpis.png"))
    return written


KPI_LABELS = {"asa_s": "ASA (s)", "service_level": "service level", "abandoned_share": "abandoned"}


def plot_kpis(kpis: pd.DataFrame, path: Path) -> Path:
    """Per channel (rows) and KPI (columns): actual per day over the simulated 5-95% band."""
    import matplotlib  # noqa: PLC0415 - only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415

    channels = sorted(kpis["channel"].unique())
    fig, axes = plt.subplots(len(channels), 3, figsize=(14, 2.6 * len(channels) + 0.8), squeeze=False)
    for i, ch in enumerate(channels):
        for j, metric in enumerate(KPI_LABELS):
            ax = axes[i, j]
            d = kpis[(kpis["channel"] == ch) & (kpis["metric"] == metric)]
            if d.empty:
                ax.text(0.5, 0.5, "no answer_within SLA on this channel", ha="center", va="center", transform=ax.transAxes, color="0.4")
                ax.set_axis_off()
                continue
            x = pd.to_datetime(d["date"])
            ax.fill_between(x, d["sim_p05"], d["sim_p95"], step="mid", color="#9ecae1", alpha=0.7)
            ax.plot(x, d["sim_p50"], color="#3182bd", lw=1)
            inside = d["inside"].to_numpy(dtype=bool)
            ax.plot(x[inside], d["actual"][inside], "o", ms=3.5, color="#222222")
            ax.plot(x[~inside], d["actual"][~inside], "o", ms=4.5, color="#d62728")
            ax.set_title(f"{ch}: {KPI_LABELS[metric]} ({inside.mean():.0%} of days inside)", fontsize=10, loc="left")
            if metric != "asa_s":
                ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.suptitle("Backtest of service: actual per day (dots; red outside) against the simulated 5-95% band",
                 fontsize=12, x=0.01, ha="left")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return path


def plot_backtest(bt: Backtest, path: Path) -> Path:
    """Actual daily volume over the simulated 5-95% band, one panel per channel."""
    import matplotlib  # noqa: PLC0415 - only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    channels = list(bt.coverage["channel"])
    fig, axes = plt.subplots(len(channels), 1, figsize=(11, 2.6 * len(channels) + 1.1), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[:, 0], channels, strict=True):
        d = bt.days[(bt.days["channel"] == name) & ~bt.days["closed"]]
        x = pd.to_datetime(d["date"])
        ax.fill_between(x, d["sim_p05"], d["sim_p95"], step="mid", color="#9ecae1", alpha=0.7, label="simulated 5-95%")
        ax.plot(x, d["sim_p50"], color="#3182bd", lw=1, label="simulated median")
        inside = d["inside"].to_numpy(dtype=bool)
        ax.plot(x[inside], d["actual"][inside], "o", ms=3.5, color="#222222", label="actual, inside")
        ax.plot(x[~inside], d["actual"][~inside], "o", ms=4.5, color="#d62728", label="actual, outside")
        cov = bt.coverage.set_index("channel").loc[name]
        ax.set_title(f"{name}: {int(cov['days_inside'])} of {int(cov['days'])} days inside the band ({cov['day_coverage']:.0%}; "
                     f"intervals {cov['interval_coverage']:.0%}; a correct model: {cov['expected_coverage']:.0%})", fontsize=10, loc="left")
        ax.set_ylabel("contacts per day")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8.5, frameon=False)
    fig.suptitle("Backtest: actual daily volume against the simulated band (local days; closed days left out)",
                 fontsize=12, x=0.01, ha="left")
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return path
