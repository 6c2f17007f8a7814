"""Curves of a sweep, with 95% confidence bands: what a planner reads off an experiment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ..units import format_duration
from .plots import COLORS, DurationLocator, _duration_axis, _save

def _pp(v: float, _pos: object = None) -> str:
    """A difference of two shares in percentage points: 0.02 -> "+2 pp" (never "+2%", which
    would read as 2% of the reference)."""
    x = 100 * v
    if abs(x) < 1e-9:
        return "0"
    return f"{x:+.0f} pp" if abs(x - round(x)) < 1e-9 else f"{x:+.1f} pp"


PP = FuncFormatter(_pp)


def _series(points: pd.DataFrame, info: Mapping[str, Any], metric: str) -> list[tuple[str, pd.DataFrame]]:
    """One (label, frame sorted by x) per line for a metric."""
    x, lines = info["x"], info["lines"]
    df = points[points["metric"] == metric]
    if df.empty:
        return []
    if lines is None or lines not in df.columns:
        return [("", df.sort_values(x))]
    order = info["policies"] if lines == "policy" and info.get("policies") else list(dict.fromkeys(df[lines]))
    return [(f"{lines}={v}" if lines != "policy" else str(v), df[df[lines] == v].sort_values(x)) for v in order]


def _band(ax: Any, frame: pd.DataFrame, x: str, color: str, label: str, scale: float = 1.0,
          limits: tuple[float, float] = (-np.inf, np.inf)) -> None:
    """Mean and 95% band; the band kept inside what the metric can be (a wait is never below 0,
    a share never above 100%), which a wide interval from few replications would cross."""
    xs = frame[x].to_numpy(dtype=float)
    if len(xs) and np.all(np.mod(xs, 1) == 0):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    mean = frame["mean"].to_numpy(dtype=float) * scale
    half = np.nan_to_num(frame["ci95"].to_numpy(dtype=float)) * scale
    ax.fill_between(xs, np.clip(mean - half, *limits), np.clip(mean + half, *limits), color=color, alpha=0.2, lw=0)
    ax.plot(xs, mean, color=color, lw=1.6, marker="o", ms=3.5, label=label or None)


def _title(info: Mapping[str, Any], what: str) -> str:
    return f"{info['experiment']}: {what} (bands: 95% CI over replications)"


def waiting_curves(points: pd.DataFrame, info: Mapping[str, Any], path: Path) -> Path:
    """Mean wait (ASA) and the 90th percentile of the wait against x, per channel."""
    chans = [c for c in info["channels"] if not points[points["metric"] == f"by_channel.{c}.asa_s"].empty]
    fig = Figure(figsize=(11, 2.6 * max(len(chans), 1) + 0.8), layout="constrained")
    axes = np.atleast_2d(fig.subplots(max(len(chans), 1), 2, sharex=True, squeeze=False))
    for i, ch in enumerate(chans):
        for j, (metric, what) in enumerate((("asa_s", "mean wait (ASA)"), ("wait_p90_s", "90th percentile wait"))):
            ax = axes[i, j]
            for c, (label, frame) in enumerate(_series(points, info, f"by_channel.{ch}.{metric}")):
                _band(ax, frame, info["x"], COLORS[c % len(COLORS)], label, limits=(0.0, np.inf))
            _duration_axis(ax, "y")
            ax.set_ylim(bottom=0)
            ax.set_title(f"{ch}: {what}", loc="left", fontsize=10)
            ax.grid(alpha=0.3)
            if i == 0 and j == 0 and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel(info["x"])
    fig.suptitle(_title(info, "waiting time against " + str(info["x"])), fontsize=12)
    return _save(fig, path)


def breach_curves(points: pd.DataFrame, info: Mapping[str, Any], path: Path) -> Path:
    """Share of customers outside the SLA against x, per channel, the target's limit dotted."""
    chans = [c for c in info["channels"] if not points[points["metric"] == f"by_channel.{c}.sla_breach_rate"].empty]
    cols = min(3, max(len(chans), 1))
    rows = int(np.ceil(max(len(chans), 1) / cols))
    fig = Figure(figsize=(max(4.2 * cols, 8.0), 3.2 * rows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for i, ch in enumerate(chans):
        ax = axes[i]
        for c, (label, frame) in enumerate(_series(points, info, f"by_channel.{ch}.sla_breach_rate")):
            _band(ax, frame, info["x"], COLORS[c % len(COLORS)], label, limits=(0.0, 1.0))
        target = info.get("targets", {}).get(ch)
        if target is not None:
            ax.axhline(1 - target, color="0.3", ls=":", lw=1, label="allowed by the target")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(bottom=0)
        ax.set_title(f"{ch}: SLA breach rate", loc="left", fontsize=10)
        ax.set_xlabel(info["x"])
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    for ax in axes[len(chans) :]:
        ax.set_axis_off()
    fig.suptitle(_title(info, "SLA breaches against " + str(info["x"])), fontsize=12)
    return _save(fig, path)


def policy_chart(comps: pd.DataFrame, info: Mapping[str, Any], path: Path) -> Path:
    """Each policy minus the reference, paired replication by replication: service level (top,
    in percentage points: a difference of two percentages is not a percentage) and ASA (bottom)
    per channel, against x when there is one, else as bars."""
    chans = [c for c in info["channels"] if not comps[comps["metric"] == f"by_channel.{c}.service_level"].empty]
    policies = [p for p in info["policies"][1:] if p in set(comps["policy"])]
    ref = info["policies"][0] if info["policies"] else ""
    x = info["x"] if info["x"] in comps.columns else None
    cols = max(len(chans), 1)
    fig = Figure(figsize=(max(3.3 * cols, 8.0), 6.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, cols, squeeze=False))
    signed = FuncFormatter(lambda v, _: "0" if v == 0 else ("-" if v < 0 else "+") + format_duration(abs(v)))
    for row, (metric, what) in enumerate((("service_level", "service level (pp)"), ("asa_s", "ASA"))):
        for j, ch in enumerate(chans):
            ax = axes[row, j]
            for c, pol in enumerate(policies):
                df = comps[(comps["policy"] == pol) & (comps["metric"] == f"by_channel.{ch}.{metric}")]
                color = COLORS[(c + 1) % len(COLORS)]
                if x is not None:
                    _band(ax, df.sort_values(x).rename(columns={"difference": "mean"}), x, color, pol)
                else:
                    ax.bar([c], [df["difference"].mean()], yerr=[np.nan_to_num(df["ci95"].mean())], capsize=3,
                           color=color, label=pol)  # fmt: skip
            ax.axhline(0, color="0.3", lw=0.8)
            if metric == "service_level":
                ax.yaxis.set_major_formatter(PP)
            else:
                ax.yaxis.set_major_formatter(signed)
                ax.yaxis.set_major_locator(DurationLocator())
            if x is None:
                ax.set_xticks(range(len(policies)), policies, fontsize=8)
            elif row == 1:
                ax.set_xlabel(x)
            ax.set_title(f"{ch}: {what}", loc="left", fontsize=10)
            ax.grid(alpha=0.3)
    if policies and x is not None:
        axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"{info['experiment']}: each policy minus {ref}, paired by replication (bands: 95% CI)", fontsize=12
    )
    return _save(fig, path)
