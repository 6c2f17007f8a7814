"""Plots a planner would rather look at than read.

matplotlib's object API (`Figure`) with the Agg canvas: no pyplot global state, safe in worker
processes; PNGs are written without a timestamp so identical results give identical files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, Locator, PercentFormatter

from ..stats.histogram import N_BINS, PER_E, W0
from ..stats.result import ReplicationResult
from ..units import format_duration
from .files import atomic_write

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110, metadata={"Software": None}))


class DurationLocator(Locator):
    """Ticks at round durations (15s, 1min, 5min, 1h, ...) on a linear axis of seconds."""

    STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600,
             43200, 86400, 172800, 604800)  # fmt: skip

    def __call__(self) -> np.ndarray:
        vmin, vmax = self.axis.get_view_interval()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        lo, hi = min(vmin, vmax), max(vmin, vmax)
        span = hi - lo
        step = next((s for s in self.STEPS if span / s <= 6), self.STEPS[-1] * max(1.0, np.ceil(span / (6 * self.STEPS[-1]))))
        return np.arange(np.ceil(lo / step) * step, hi + step * 1e-9, step)


def _duration_axis(ax, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda v, _: format_duration(v) if v > 0 else "0")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(fmt)
    if (ax.get_xscale() if axis == "x" else ax.get_yscale()) == "linear":
        target.set_major_locator(DurationLocator())


def bin_upper_edges() -> np.ndarray:
    """Upper edge (seconds) of each wait-histogram bin; bin 0 holds waits of exactly 0."""
    k = np.arange(N_BINS)
    return np.where(k == 0, 0.0, W0 * np.exp(k / PER_E))


def channel_wait_histograms(results: Sequence[ReplicationResult]) -> dict[str, np.ndarray]:
    """Answered-wait histogram per channel, summed over replications."""
    out: dict[str, np.ndarray] = {}
    for r in results:
        for i, key in enumerate(r.class_keys):
            ch = key[0]
            out[ch] = out.get(ch, np.zeros(N_BINS, dtype=np.int64)) + r.class_hist[i]
    return out


NICE_TICKS = (0, 1, 5, 15, 60, 300, 1800, 2 * 3600, 8 * 3600, 86400, 7 * 86400)


def wait_distribution_plot(
    hists: Mapping[str, np.ndarray],
    sla: Mapping[str, tuple[float, float] | None],
    levels: Mapping[str, float | None],
    path: Path,
    title: str,
) -> Path:
    """Share of answered customers served within t, per channel, with the SLA marked.

    The curve counts answered customers only; the box quotes the channel's service level as
    reported (its SLA formula may count abandons too), so the two numbers can differ.
    """
    chans = [c for c in hists if hists[c].sum() > 0]
    n = max(1, len(chans))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(max(4.8 * cols, 6.5), 3.5 * rows), layout="constrained")
    edges = bin_upper_edges()
    for i, ch in enumerate(chans):
        ax = fig.add_subplot(rows, cols, i + 1)
        h = hists[ch]
        cdf = np.cumsum(h) / h.sum()
        last = int(np.nonzero(h)[0].max())
        upper = max(edges[min(last + 1, N_BINS - 1)], 1.0)
        t = np.concatenate([[0.0], edges[1 : last + 2]])
        y = np.concatenate([[cdf[0]], cdf[1 : last + 2]])
        color = COLORS[i % len(COLORS)]
        ax.plot(t, y, color=color, lw=2, drawstyle="steps-post")
        ax.fill_between(t, 0, y, color=color, alpha=0.12, step="post")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, upper * 1.05)
        ax.set_xticks([v for v in NICE_TICKS if v <= upper * 1.05])
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _duration_axis(ax)
        ax.grid(alpha=0.3)
        ax.set_title(ch, fontsize=11, loc="left", fontweight="bold")
        ax.set_xlabel("wait until answered (linear to 1s, log beyond)")
        if i % cols == 0:
            ax.set_ylabel("answered within")
        s = sla.get(ch)
        if s is not None:
            threshold, target = s
            within = float(np.interp(threshold, t, y)) if threshold < t[-1] else 1.0
            ax.axvline(threshold, color="0.3", ls="--", lw=1)
            ax.axhline(target, color="0.3", ls=":", lw=1)
            level = levels.get(ch)
            text = f"{within:.0%} of answered within {format_duration(threshold)}"
            if level is not None and not np.isnan(level):
                text += f"\nservice level {level:.1%} (target {target:.0%})"
            ax.plot([threshold], [within], "o", color=color, ms=5)
            ax.text(
                0.97, 0.06, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.7"),
            )
    fig.suptitle(f"{title}: how long answered customers waited", fontsize=12)
    return _save(fig, path)


def daily_profile_plot(
    intervals: pd.DataFrame,
    targets: Mapping[str, float | None],
    path: Path,
    title: str,
    tz: str = "UTC",
    excluded: Sequence[tuple[float, float]] = (),
) -> Path:
    """Service level and queue length by time of day (the clock of `tz`), per channel, with
    bands across replications.

    Each replication's intervals are averaged by time of day first (the days of one run), and
    the band spans the 10th to 90th percentile of those replication averages around their mean.
    Intervals that touch an `excluded` window (simulation seconds: a one-off market shock and
    its decay) are left out of that average, which is about an ordinary day; they are drawn
    on their own, dashed grey, so the shock stays visible without bending the day.
    """
    df = intervals.copy()
    clock = df["start"].dt.tz_convert(tz)
    df["tod"] = (clock.dt.hour * 60 + clock.dt.minute) / 60.0
    starts = df["start_s"].to_numpy(dtype=float)
    steps = np.diff(np.unique(starts))
    step = float(steps.min()) if len(steps) else 0.0  # the reporting interval
    shocked = np.zeros(len(df), dtype=bool)
    for lo, hi in excluded:
        shocked |= (starts < hi) & (starts + step > lo)
    grid = np.sort(df["tod"].unique())
    x = np.append(grid, 24.0)  # the last interval drawn to midnight, not as a bare step
    chans = list(dict.fromkeys(df["channel"]))
    fig = Figure(figsize=(11, 2.6 * len(chans) + 0.9), layout="constrained")
    axes = fig.subplots(len(chans), 2, squeeze=False, sharex=True)
    for i, ch in enumerate(chans):
        mine = (df["channel"] == ch).to_numpy()
        sub = df[mine & ~shocked]
        per_rep = sub.groupby(["replication", "tod"]).agg(sl=("service_level", "mean"), queue=("mean_queue", "mean"))
        hit = df[mine & shocked].groupby("tod").agg(sl=("service_level", "mean"), queue=("mean_queue", "mean"))
        color = COLORS[i % len(COLORS)]
        for j, (col, label) in enumerate((("sl", "service level"), ("queue", "waiting (mean)"))):
            ax = axes[i][j]
            wide = per_rep[col].unstack("replication").reindex(grid)
            ax.fill_between(x, _to_24(wide.quantile(0.1, axis=1)), _to_24(wide.quantile(0.9, axis=1)),
                            color=color, alpha=0.2, step="post", lw=0, label="10-90% of replications")  # fmt: skip
            ax.plot(x, _to_24(wide.mean(axis=1)), color=color, lw=1.8, drawstyle="steps-post",
                    label="mean" + (", shock windows left out" if len(excluded) else ""))  # fmt: skip
            if len(hit):
                ax.plot(x, _to_24(hit[col].reindex(grid)), color="0.3", lw=1.0, ls="--", drawstyle="steps-post",
                        label="inside a shock window (not in the mean)")  # fmt: skip
            ax.grid(alpha=0.3)
            ax.set_xlim(0, 24)
            ax.set_xticks(range(0, 25, 3))
            if j == 0:
                ax.set_ylim(0, 1.02)
                ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
                target = targets.get(ch)
                if target is not None:
                    ax.axhline(target, color="0.25", ls=":", lw=1)
                    ax.text(0.2, target, f" target {target:.0%}", va="bottom", fontsize=8, color="0.25")
                ax.set_ylabel(ch, fontsize=11, fontweight="bold")
            else:
                ax.set_ylim(bottom=0)
            if i == 0:
                ax.set_title(label, fontsize=11)
            if i == len(chans) - 1:
                ax.set_xlabel(f"time of day ({tz})")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    what = f"{title}: over the day, {tz} clock"
    if len(excluded):
        t0 = (df["start"] - pd.to_timedelta(df["start_s"], unit="s")).iloc[0]
        spans = ", ".join(
            f"{(t0 + pd.Timedelta(seconds=lo)).tz_convert(tz):%a %H:%M}-{(t0 + pd.Timedelta(seconds=hi)).tz_convert(tz):%H:%M}"
            for lo, hi in excluded
        )
        what += f" (market shocks left out: {spans})"
    fig.suptitle(what, fontsize=12)
    return _save(fig, path)


def _to_24(values: pd.Series) -> np.ndarray:
    """A time-of-day series with its last value repeated at 24:00 (for steps-post)."""
    v = values.to_numpy(dtype=float)
    return np.append(v, v[-1:])


def burst_timeline_plot(
    intervals: pd.DataFrame,
    shocks: Sequence[pd.Timestamp],
    targets: Mapping[str, float | None],
    path: Path,
    title: str,
    activations: Mapping[str, Sequence[pd.Timestamp]] | None = None,
    tz: str = "UTC",
) -> Path:
    """The market and the desk over time (clock times in `tz`): what a burst does, interval by interval.

    Surge activations (when each rule was triggered, in any replication) are ticks along the
    top of the arrivals panel, one row per rule.

    Top: price and volatility. Below: arrivals, tickets waiting and service level per channel.
    Lines are means across replications, bands the 10-90% range; shocks are dashed lines.
    """
    df = intervals
    chans = list(dict.fromkeys(df["channel"]))
    fig = Figure(figsize=(12, 11), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [1.1, 1, 1, 1]})

    def band(ax, frame: pd.DataFrame, col: str, color: str, label: str | None) -> None:
        wide = frame.pivot_table(index="start", columns="replication", values=col, aggfunc="mean")
        x = wide.index
        ax.fill_between(x, wide.quantile(0.1, axis=1), wide.quantile(0.9, axis=1), color=color, alpha=0.18, lw=0)
        ax.plot(x, wide.mean(axis=1), color=color, lw=1.6, label=label)

    first = df[df["channel"] == chans[0]]
    ax = axes[0]
    band(ax, first, "price", "0.15", "price")
    ax.set_ylabel("price")
    ax2 = ax.twinx()
    band(ax2, first, "volatility", "#d62728", "volatility")
    ax2.set_ylabel("daily volatility", color="#d62728")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title("market: price (black) and volatility (red)", loc="left", fontsize=10)
    for i, ch in enumerate(chans):
        sub = df[df["channel"] == ch]
        color = COLORS[i % len(COLORS)]
        band(axes[1], sub, "offered", color, ch)
        band(axes[2], sub, "mean_queue", color, ch)
        band(axes[3], sub, "service_level", color, ch)
        target = targets.get(ch)
        if target is not None:
            axes[3].axhline(target, color=color, ls=":", lw=0.9)
    axes[1].set_ylabel("arrivals per interval")
    axes[2].set_ylabel("waiting (mean)")
    axes[3].set_ylabel("service level")
    axes[3].set_ylim(0, 1.02)
    axes[3].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[1].legend(ncol=len(chans), fontsize=8, loc="upper left")
    axes[3].set_title("dotted: each channel's target", loc="left", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
        for shock in shocks:
            ax.axvline(shock, color="0.2", ls="--", lw=1)
    for shock in shocks:
        axes[0].annotate("shock", xy=(shock, 1.0), xycoords=("data", "axes fraction"), fontsize=8,
                         xytext=(3, -10), textcoords="offset points")  # fmt: skip
    for j, (rule, times) in enumerate((activations or {}).items()):
        if times:
            y = 0.97 - 0.06 * j
            axes[1].plot(times, [y] * len(times), "v", ms=6, color="0.25", alpha=0.6,
                         transform=axes[1].get_xaxis_transform())  # fmt: skip
            axes[1].text(1.0, y, f" {rule}", transform=axes[1].transAxes, fontsize=8, va="center")
    _clock_axis(axes[3], tz)
    fig.suptitle(f"{title}: burst timeline (lines: mean; bands: 10-90% of replications)", fontsize=12)
    return _save(fig, path)


def _clock_axis(ax, tz: str, fontsize: float | None = None) -> None:
    """Date ticks on the clock of `tz` (weekday and time), the zone named in the label."""
    import matplotlib.dates as mdates

    zone = ZoneInfo(tz)
    locator = mdates.AutoDateLocator(tz=zone, minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=zone))
    ax.set_xlabel(f"local time ({tz})", fontsize=fontsize)


def journey_plot(
    doc: Mapping, intervals: pd.DataFrame, backlog: Sequence[str], path: Path, title: str, tz: str = "UTC"
) -> Path:
    """The service journey on one page: how journeys end per channel, the wait at each tier,
    what the bot takes off the humans, and backlog channels' open tickets over time (clock
    times in `tz`).

    Waits are on a linear axis from 0, each bar labelled with its value: a log axis has no 0, and
    a bar's length would say nothing about how long anyone waited."""
    fig = Figure(figsize=(13, 9), layout="constrained")
    (ax_end, ax_tier), (ax_bot, ax_open) = fig.subplots(2, 2)

    def mean(block: Mapping, metric: str) -> float:
        m = block.get(metric)
        return float("nan") if m is None or m["mean"] is None else float(m["mean"])

    # how journeys end, per channel (shares of journeys)
    chans = list(doc["by_channel"])
    parts = [
        ("deflected by the bot", "#2ca02c", lambda b: mean(b, "deflected")),
        ("resolved at the first tier", "#1f77b4", lambda b: mean(b, "resolved") - mean(b, "resolved_after_escalation")),
        ("resolved after escalation", "#9467bd", lambda b: mean(b, "resolved_after_escalation")),
        ("abandoned (at any tier)", "#d62728", lambda b: mean(b, "abandoned_journeys")),
        ("blocked", "0.4", lambda b: mean(b, "blocked")),
    ]
    left = np.zeros(len(chans))
    for label, color, f in parts:
        vals = []
        for ch in chans:
            b = doc["by_channel"][ch]
            n = mean(b, "journeys")
            v = f(b) / n if n and n > 0 else 0.0
            vals.append(max(v, 0.0) if np.isfinite(v) else 0.0)
        ax_end.barh(chans, vals, left=left, color=color, label=label)
        left += np.array(vals)
    ax_end.set_xlim(0, 1)
    ax_end.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax_end.invert_yaxis()
    ax_end.set_title("how journeys end (share of each channel's contacts)", loc="left", fontsize=10)
    ax_end.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, frameon=False)

    # waits per tier: ASA and p90 with 95% CI
    tiers = [t for t, b in doc.get("by_tier", {}).items() if mean(b, "visits") > 0]
    x = np.arange(len(tiers))
    top = 1.0
    for k, (metric, label, color) in enumerate((("asa_s", "mean wait (answered)", "#1f77b4"),
                                                ("wait_p90_s", "90th percentile", "#ff7f0e"))):  # fmt: skip
        vals = [mean(doc["by_tier"][t], metric) for t in tiers]
        errs = [doc["by_tier"][t][metric]["ci95"] or 0.0 for t in tiers]
        errs = [e if np.isfinite(e) else 0.0 for e in errs]
        ax_tier.bar(x + (k - 0.5) * 0.38, vals, 0.38, yerr=errs, color=color, label=label, capsize=3)
        top = max([top, *(v + e for v, e in zip(vals, errs) if np.isfinite(v))])
        for xi, v, e in zip(x + (k - 0.5) * 0.38, vals, errs):
            if np.isfinite(v):  # above the error bar, where nothing crosses it
                ax_tier.annotate(format_duration(v) if v >= 1 else f"{v:.1f}s", (xi, v + e), ha="center",
                                 va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    ax_tier.set_xticks(x, [f"{t}\n{mean(doc['by_tier'][t], 'visits'):,.0f} visits" for t in tiers])
    ax_tier.set_ylim(0, top * 1.12)
    _duration_axis(ax_tier, "y")
    ax_tier.set_title("wait at each tier (every visit; error bars: 95% CI)", loc="left", fontsize=10)
    ax_tier.legend(fontsize=8)

    # the chatbot: human workload with and without it
    bot = {k: v for k, v in doc.get("chatbot", {}).items() if k != "all"}
    if bot:
        names = list(bot)
        x = np.arange(len(names))
        without = [mean(bot[n], "workload_erlangs_without_bot") for n in names]
        with_ = [mean(bot[n], "workload_erlangs_with_bot") for n in names]
        ax_bot.bar(x - 0.19, without, 0.38, color="0.6", label="human workload without the bot")
        ax_bot.bar(x + 0.19, with_, 0.38, color="#2ca02c", label="with the bot")
        for i, n in enumerate(names):
            ax_bot.annotate(
                f"deflects {100 * mean(bot[n], 'deflection_rate'):.0f}% of contacts,\n"
                f"{100 * mean(bot[n], 'workload_reduction'):.0f}% of the work",
                (x[i], max(without[i], with_[i])), ha="center", va="bottom", fontsize=8,
                xytext=(0, 3), textcoords="offset points",
            )  # fmt: skip
        ax_bot.set_xticks(x, names)
        ax_bot.set_ylabel("agents kept busy (Erlangs)")
        ax_bot.set_ylim(0, max(without + with_) * 1.3)
        ax_bot.legend(fontsize=8, loc="upper right")
    else:
        ax_bot.text(0.5, 0.5, "no chatbot in this scenario", ha="center", va="center", transform=ax_bot.transAxes)
        ax_bot.set_axis_off()
    ax_bot.set_title("what the chatbot takes off the humans", loc="left", fontsize=10)

    # backlog channels: open tickets over time
    if backlog:
        for i, ch in enumerate(backlog):
            sub = intervals[intervals["channel"] == ch]
            wide = sub.pivot_table(index="start", columns="replication", values="open_tickets", aggfunc="mean")
            color = COLORS[i % len(COLORS)]
            ax_open.fill_between(wide.index, wide.quantile(0.1, axis=1), wide.quantile(0.9, axis=1),
                                 color=color, alpha=0.18, lw=0)  # fmt: skip
            ax_open.plot(wide.index, wide.mean(axis=1), color=color, lw=1.5, label=ch)
        ax_open.set_ylabel("open tickets (waiting, in service\nor waiting on the customer)")
        ax_open.legend(fontsize=8)
        ax_open.tick_params(axis="x", labelrotation=30, labelsize=8)
        _clock_axis(ax_open, tz, fontsize=8)
    else:
        ax_open.text(0.5, 0.5, "no backlog channels", ha="center", va="center", transform=ax_open.transAxes)
        ax_open.set_axis_off()
    ax_open.set_title("backlog over time (line: mean; band: 10-90% of replications)", loc="left", fontsize=10)
    fig.suptitle(f"{title}: the service journey", fontsize=12)
    return _save(fig, path)


def schedule_plot(coverage: pd.DataFrame, path: Path, title: str) -> Path:
    """A panel per rostered pool over the planning week in the pool's own clock (the clock its
    roster is written in), the zone named beside the pool: the requirement, the agents on duty
    the roster gives (breaks taken off) and those scheduled, with the simulated service level of
    the pool's channel on a second axis."""
    pools = list(dict.fromkeys(coverage["pool"]))
    fig = Figure(figsize=(12, 2.7 * len(pools) + 0.9))
    axes = fig.subplots(len(pools), 1, squeeze=False, sharex=True)[:, 0]
    for ax, name in zip(axes, pools):
        d = coverage[coverage["pool"] == name]
        x = np.arange(len(d)) * (7 * 24 / len(d))  # hours since local midnight of day 1
        lines = [
            ax.step(x, d["required"], where="post", color=COLORS[1], lw=1.4, label="required")[0],
            ax.step(x, d["scheduled"], where="post", color="#aaaaaa", lw=1.0, label="scheduled (breaks included)")[0],
            ax.step(x, d["on_duty"], where="post", color=COLORS[0], lw=1.2, label="on duty (roster, breaks off)")[0],
        ]
        zone = d["timezone"].iloc[0] if "timezone" in d else ""
        ax.set_ylabel(f"{name}\nagents ({zone} clock)" if zone else f"{name}\nagents", fontsize=9)
        ax.set_ylim(0, max(float(d[["required", "scheduled", "on_duty"]].to_numpy().max()), 1.0) * 1.12)
        ax.grid(alpha=0.3)
        sl = d["service_level"].to_numpy(dtype=float)
        if np.isfinite(sl).any():
            ax2 = ax.twinx()
            channel = d["service_level_of"].iloc[0] if "service_level_of" in d else "channel"
            lines.append(ax2.plot(x, sl, color=COLORS[2], lw=0.9, alpha=0.8, label=f"{channel} service level (simulated)")[0])
            ax2.set_ylim(0, 1.05)
            ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax2.set_ylabel("service level", color=COLORS[2])
        ax.legend(handles=lines, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=4, frameon=False)
    names = list(coverage.loc[coverage["pool"] == pools[0], "weekday"].iloc[:: max(1, len(x) // 7)])[:7] \
        if "weekday" in coverage else [f"day {k + 1}" for k in range(7)]  # fmt: skip
    axes[-1].set_xticks(np.arange(0, 7 * 24 + 1, 24), [*names, ""])
    axes[-1].set_xticks(np.arange(0, 7 * 24, 6), minor=True)
    axes[-1].set_xlim(0, 7 * 24)
    zones = set(coverage["timezone"]) if "timezone" in coverage else set()
    clock = f"{next(iter(zones))} clock" if len(zones) == 1 else "each pool's own clock (named beside it)"
    axes[-1].set_xlabel(f"planning week, {clock} (ticks at midnight, minor ticks every 6 h)")
    fig.suptitle(f"{title}: roster against requirement")
    fig.tight_layout()
    return _save(fig, path)
