"""The FIT REPORT's pictures: does what `simsupport fit` learned follow the desk's history?

One PNG per question a planner asks of a fit (each skipped when the history cannot answer it):

* fit-daily-profile.png   arrivals by time of day: the data, the fitted weights, the scenario's profile
* fit-weekly-profile.png  arrivals by weekday, observed against fitted with 95% intervals
* fit-handle-times.png    handle times per category against the fitted distribution
* fit-patience.png        how long customers would wait: Kaplan-Meier against the fitted survival
* fit-volatility.png      contacts against market volatility, with the fitted elasticity

`poor_fits` says in words which fits to distrust (console and report). matplotlib (and our
plots module, which imports it) is imported only when a plot is drawn, so a fit without plots
never pays for it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..fit.arrivals import ArrivalFit, CountGrid, market_steps, market_term
from ..fit.estimate import Estimate
from ..fit.learn import FitResult
from ..fit.patience import PatienceFit, patience_survival
from ..fit.service import CategoryHandle, answered_handle_rows, frozen_law
from ..units import format_duration

POOR_KS_P = 0.01  # handle times: KS p-value below this is a poor fit
POOR_KM_GAP = 0.05  # patience: fitted survival this far from Kaplan-Meier
FEW_HANDLE = 30
FEW_ABANDONS = 20
HIGH_DISPERSION = 3.0  # Pearson chi2/df of the interval counts
MAX_PANELS = 12  # categories drawn (the busiest); the rest are named in the title
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FILES = {"daily": "fit-daily-profile.png", "weekly": "fit-weekly-profile.png", "handle": "fit-handle-times.png",
         "patience": "fit-patience.png", "volatility": "fit-volatility.png"}
POOR = "#c00000"
NICE_RATIOS = ((0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 30, 50),  # log-axis ticks,
               (0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2))  # finer for a narrow range


def write_fit_plots(res: FitResult, out: Path, log: pd.DataFrame | None = None) -> list[Path]:
    """Draw every plot the fit has data for into folder `out`; the files written, in order. `log`
    is the ticket log the fit read (the FitResult keeps no handle times): without it, no handle plot."""
    out = Path(out)
    written: list[Path] = []
    if res.arrivals:
        written.append(_daily(res, out / FILES["daily"]))
        written.append(_weekly(res, out / FILES["weekly"]))
    if res.handle and log is not None and "handle_s" in log.columns:
        written.append(_handle(res, log, out / FILES["handle"]))
    if res.patience:
        written.append(_patience(res, log, out / FILES["patience"]))
    if res.prices is not None and any(f.elasticity is not None for f in res.arrivals.values()):
        written.append(_volatility(res, out / FILES["volatility"]))
    return written


# ----------------------------------------------------------------------------- in words


def poor_fits(res: FitResult) -> list[str]:
    """One sentence per fit to distrust, then every warning of the fit (no repeats)."""
    msgs: list[str] = []
    for name, ch in (res.handle or {}).items():
        f = ch.fit
        if f.dist is None:
            msgs.append(f"handle times of {name}: no distribution could be fitted ({f.n} times)")
            continue
        if f.ks_p is not None and f.ks_p < POOR_KS_P:
            msgs.append(f"handle times of {name}: the fitted {f.dist} does not match the data (KS p{_p(f.ks_p)} on "
                        f"{f.ks_n:,} times), so the simulated spread of handle times will be off; see "
                        f"{FILES['handle']}")
        if f.n < FEW_HANDLE:
            msgs.append(f"handle times of {name}: only {f.n} answered tickets, too few to trust the {f.dist} fit")
    for name, p in (res.patience or {}).items():
        if p.dist is None:
            continue
        if p.km_gap is not None and p.km_gap > POOR_KM_GAP:
            msgs.append(f"patience on {name}: the fitted {p.dist} survival departs from the observed (Kaplan-Meier) "
                        f"by up to {p.km_gap:.0%}, so simulated abandonment will be off; see {FILES['patience']}")
        if p.n_abandoned < FEW_ABANDONS:
            msgs.append(f"patience on {name}: only {p.n_abandoned} abandons, too few to trust the {p.dist} fit")
    for name, f in res.arrivals.items():
        if f.dispersion > HIGH_DISPERSION:
            msgs.append(f"arrivals on {name}: Pearson dispersion {f.dispersion:.1f} (Poisson: 1): counts vary more "
                        "within a day than Poisson: the profile misses structure (holidays, campaigns, "
                        f"incidents?); see {FILES['daily']}")
    for name, e in _stated(res).items():
        if _includes_zero(e):
            msgs.append(f"market elasticity{'' if name == 'pooled' else ' of ' + name}: {e.value:.2f} with a 95% CI "
                        f"of {e.lo:.2f} to {e.hi:.2f}, which includes 0: the history does not show that "
                        "volatility drives contacts")
    msgs.extend(res.warnings)
    return list(dict.fromkeys(msgs))


def _stated(res: FitResult) -> dict[str, Estimate]:
    """The elasticities the scenario will state: pooled, or one per channel when they differ."""
    el = res.elasticity
    return {} if el is None else dict(el.per_channel) if el.differ else {"pooled": el.pooled}


def _includes_zero(e: Estimate | None) -> bool:
    return e is not None and e.covers and e.lo <= 0.0 <= e.hi


# ----------------------------------------------------------------------------- shared


def _mpl() -> tuple[list[str], Any, Any]:
    from .plots import COLORS, _duration_axis, _save

    return COLORS, _save, _duration_axis


def _source(res: FitResult) -> str:
    return Path(res.source).name or res.source


def zone_label(tz: str) -> str:
    """The zone as a planner reads it: Etc/GMT-8 (POSIX signs, inverted) is UTC+8."""
    if tz in ("Etc/GMT", "Etc/UTC", "Etc/GMT0", "UTC"):
        return "UTC"
    return f"UTC{-int(tz[7:]):+d}" if tz.startswith("Etc/GMT") else tz


def _panels(n: int, cols: int, width: float, height: float, extra: float = 1.0, **kw: Any) -> tuple[Any, list[Any]]:
    """A constrained figure with n panels, `cols` a row, each about width x height inches."""
    from matplotlib.figure import Figure

    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(max(width * cols, 7.5), height * rows + extra), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, list(axes[:n])


def _figure_legend(fig: Any, axes: list[Any]) -> None:
    """One legend under the panels, from the panel with the most entries."""
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[1]))
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=2 if fig.get_figwidth() >= 9 else 1, fontsize=8.5,
                   frameon=False)


def _p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"={p:.2g}"


def _mark_poor(ax: Any) -> None:
    for spine in ax.spines.values():
        spine.set(edgecolor=POOR, linewidth=2.0)


def _note(ax: Any, text: str, color: str = "black") -> None:
    ax.text(0.98, 0.96, text, transform=ax.transAxes, ha="right", va="top", fontsize=8, color=color,
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.7", "alpha": 0.9})


def _mean_by(key: np.ndarray, counts: np.ndarray, used: np.ndarray, n: int) -> np.ndarray:
    """Mean count per used interval for each value of `key` (NaN: none used), scaled to mean 1."""
    tot = np.bincount(key[used], weights=counts[used], minlength=n)
    k = np.bincount(key[used], minlength=n)
    mean = np.where(k > 0, tot / np.maximum(k, 1), np.nan)
    scale = float(np.nanmean(mean)) if (k > 0).any() else 0.0
    return mean / scale if scale > 0 else mean


def _ci(e: Any, fmt: str = "{:.3g}") -> str:
    return f"95% CI {fmt.format(e.lo)}-{fmt.format(e.hi)}" if e is not None and e.covers else "no CI"


# ----------------------------------------------------------------------------- arrivals


def _daily(res: FitResult, path: Path) -> Path:
    COLORS, _save, _ = _mpl()
    chans = list(res.arrivals)
    cols = 1 if len(chans) <= 3 else 2
    fig, axes = _panels(len(chans), cols, 11 if cols == 1 else 7.5, 2.9, 1.3, sharex=True)
    per = "calm market, average weekday" if res.prices is not None else "average weekday"
    for i, (ch, ax) in enumerate(zip(chans, axes, strict=True)):
        f, g = res.arrivals[ch], res.grids[ch]
        color = COLORS[i % len(COLORS)]
        obs = _mean_by(g.slot, g.counts, f.used, g.slots)
        step = 24.0 / g.slots
        ax.bar(np.arange(g.slots) * step, np.nan_to_num(obs), width=step, align="edge", color="0.86", lw=0,
               label="observed: mean count per interval over all days (scaled to mean 1; market included)")
        x = (np.arange(len(f.daily)) + 0.5) * 24.0 / len(f.daily)
        ax.fill_between(x, f.daily_lo, f.daily_hi, color=color, alpha=0.22, lw=0, label="95% CI of the fitted weight")
        ax.plot(x, f.daily_raw, "o", ms=2.6, color=color, alpha=0.75,
                label="fitted weight per quarter hour (weekday and market taken out)")
        ax.plot(x, f.daily, color="black", lw=1.5, label="smoothed: the scenario's daily profile")
        ax.set_xlim(0, 24)
        ax.set_ylim(0, max(1.15 * float(np.nanmax(np.r_[obs, f.daily_hi, f.daily])), 1.5))
        ax.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
        ax.grid(alpha=0.3)
        ax.set_ylabel("weight (1 = day average)")
        rate = f.rate.value
        if rate > 0:
            sec = ax.secondary_yaxis("right", functions=(lambda w, r=rate: w * r, lambda c, r=rate: c / r))
            sec.set_ylabel(f"contacts per hour\n({per})", fontsize=8.5)
        title = (f"{ch}: {rate:.1f} contacts/hour ({_ci(f.rate, '{:.1f}')}); {f.n_contacts:,} contacts, {f.n_days} days; "
                 f"{zone_label(g.tz)} clock")
        poor = f.dispersion > HIGH_DISPERSION
        ax.set_title(title + (f"; dispersion {f.dispersion:.1f}: profile misses structure" if poor else ""),
                     loc="left", fontsize=10, fontweight="bold", color=POOR if poor else "black")
        if poor:
            _mark_poor(ax)
    zones = {g.tz for g in res.grids.values()}
    for ax in axes[-cols:]:
        ax.set_xlabel(f"time of day ({zone_label(next(iter(zones))) if len(zones) == 1 else 'each channel in its own clock'})")
        ax.xaxis.set_tick_params(labelbottom=True)
    _figure_legend(fig, axes)
    fig.suptitle(f"{_source(res)}: arrivals by time of day", fontsize=12)
    return _save(fig, path)


def _weekly(res: FitResult, path: Path) -> Path:
    COLORS, _save, _ = _mpl()
    chans = list(res.arrivals)
    cols = min(3, len(chans))
    fig, axes = _panels(len(chans), cols, 4.6, 3.4, 1.1)
    x = np.arange(7)
    for i, (ch, ax) in enumerate(zip(chans, axes, strict=True)):
        f, g = res.arrivals[ch], res.grids[ch]
        color = COLORS[i % len(COLORS)]
        obs = _mean_by(g.weekday, g.counts, f.used, 7)
        days = np.round(np.bincount(g.weekday[f.used], minlength=7) / g.slots, 1)  # partial days count part
        ax.bar(x, np.nan_to_num(obs), 0.6, color="0.82",
               label="observed: mean contacts per day (scaled to mean 1; market included)")
        err = np.vstack([f.weekly - f.weekly_lo, f.weekly_hi - f.weekly])
        ax.errorbar(x, f.weekly, yerr=np.maximum(err, 0), fmt="o", color=color, ms=6, capsize=4, lw=1.5,
                    label="fitted weekday weight with 95% CI (market taken out)")
        for d in np.flatnonzero(days <= 0):
            ax.text(d, 0.05, "no data", rotation=90, ha="center", va="bottom", fontsize=8, color="0.4")
        ticks = [f"{w}\n{n:.3g} day{'' if n == 1 else 's'}" for w, n in zip(WEEKDAYS, days.tolist(), strict=True)]
        ax.set_xticks(x, ticks, fontsize=8.5)
        ax.set_ylim(0, max(1.2 * float(np.nanmax(np.r_[obs, f.weekly_hi])), 1.4))
        ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
        ax.grid(axis="y", alpha=0.3)
        if i % cols == 0:
            ax.set_ylabel("weight (1 = week average)")
        per_day = f.rate.value * 24
        if per_day > 0:
            sec = ax.secondary_yaxis("right", functions=(lambda w, r=per_day: w * r, lambda c, r=per_day: c / r))
            if i % cols == cols - 1 or i == len(chans) - 1:
                sec.set_ylabel("contacts per day", fontsize=9)
        ax.set_title(f"{ch}: {per_day:,.0f} contacts/day on average", loc="left", fontsize=10, fontweight="bold")
    _figure_legend(fig, axes)
    zones = {zone_label(g.tz) for g in res.grids.values()}
    fig.suptitle(f"{_source(res)}: arrivals by weekday ({', '.join(sorted(zones))} days; "
                 "ticks: days of history behind each)", fontsize=12)
    return _save(fig, path)


# ----------------------------------------------------------------------------- handle times


def _handle(res: FitResult, log: pd.DataFrame, path: Path) -> Path:
    COLORS, _save, duration_axis = _mpl()
    cat, chan, h, _ = answered_handle_rows(log)
    cat = cat.to_numpy(dtype=object)
    handles = sorted(res.handle.items(), key=lambda kv: -kv[1].n)
    shown, hidden = handles[:MAX_PANELS], handles[MAX_PANELS:]
    cols = min(3, len(shown))
    fig, axes = _panels(len(shown), cols, 4.8, 3.3)
    for i, ((name, ch), ax) in enumerate(zip(shown, axes, strict=True)):
        sel = cat == name
        mult = chan[sel].map({k: e.value for k, e in ch.by_channel.items()}).fillna(1.0).to_numpy(dtype=float)
        t = h[sel] / mult
        t = t[np.isfinite(t) & (t > 0)]
        _handle_panel(ax, name, ch, t, COLORS[i % len(COLORS)])
        duration_axis(ax)
        ax.set_xlabel("handle time (on the reference channel)")
        if i % cols == 0:
            ax.set_ylabel("share of tickets per minute")
    more = f"; {len(hidden)} smaller categories not shown" if hidden else ""
    fig.suptitle(f"{_source(res)}: handle times of answered tickets (bars) and the fitted distribution (line)\n"
                 "times on other channels divided by the channel multiplier the scenario uses; x axis cut at the "
                 f"99th percentile; red frame: poor fit{more}", fontsize=11)
    return _save(fig, path)


def _handle_panel(ax: Any, name: str, ch: CategoryHandle, t: np.ndarray, color: str) -> None:
    from matplotlib.ticker import PercentFormatter

    f = ch.fit
    n = t.size
    poor = f.dist is None or n < FEW_HANDLE or (f.ks_p is not None and f.ks_p < POOR_KS_P)
    if n == 0:
        ax.set_title(f"{name}: no answered handle times", loc="left", fontsize=10, fontweight="bold", color=POOR)
        _mark_poor(ax)
        return
    top = float(np.quantile(t, 0.99)) if n > 1 else float(t[0]) * 1.5
    edges = np.linspace(0.0, top, int(np.clip(np.sqrt(n), 10, 60)) + 1)
    counts, _ = np.histogram(t[t <= top], edges)
    dens = counts / (n * np.diff(edges)) * 60.0  # share of all tickets per minute
    ax.bar(edges[:-1], dens, np.diff(edges), align="edge", color=color, alpha=0.45, lw=0)
    label = "no fit"
    if f.dist is not None:
        xs = np.linspace(top / 400, top, 400)
        ax.plot(xs, frozen_law(f.dist, f.params).pdf(xs) * 60.0, color="black", lw=1.6)
        label = f"{f.dist}, KS p{_p(f.ks_p)}" if f.ks_p is not None else f.dist
    ax.set_xlim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.grid(alpha=0.3)
    ax.set_title(f"{name}: {label}", loc="left", fontsize=10, fontweight="bold", color=POOR if poor else "black")
    lines = [f"n={n:,}"]
    if f.mean is not None:
        lines.append(f"mean {format_duration(f.mean.value)} (95% CI {format_duration(f.mean.lo)}-"
                     f"{format_duration(f.mean.hi)})" if f.mean.covers else f"mean {format_duration(f.mean.value)}")
    if f.cv is not None:
        lines.append(f"cv {f.cv.value:.2f}")
    if ch.by_channel:
        lines.append(f"reference channel {ch.reference_channel}")
        lines += [f"{c} times \u00f7 {e.value:.2f}" for c, e in ch.by_channel.items()]
    if poor:
        lines.append("POOR FIT" if n >= FEW_HANDLE else f"FEW TICKETS (< {FEW_HANDLE})")
    _note(ax, "\n".join(lines), color=POOR if poor else "black")
    if poor:
        _mark_poor(ax)


# ----------------------------------------------------------------------------- patience


def _patience(res: FitResult, log: pd.DataFrame | None, path: Path) -> Path:
    COLORS, _save, duration_axis = _mpl()
    chans = list(res.patience or {})
    tails = _wait_tails(log)
    cols = min(3, len(chans))
    fig, axes = _panels(len(chans), cols, 4.8, 3.7, 0.9)
    for i, (ch, ax) in enumerate(zip(chans, axes, strict=True)):
        p = res.patience[ch]
        if p.dist is None:
            ax.text(0.5, 0.5, f"nobody abandoned\nin {p.n_answered:,} waits\n(scenario: patience none)",
                    ha="center", va="center", fontsize=11, transform=ax.transAxes)
            ax.set(xticks=[], yticks=[])
            ax.set_title(ch, loc="left", fontsize=10, fontweight="bold")
            continue
        _patience_panel(ax, ch, p, COLORS[i % len(COLORS)], tails.get(ch))
        duration_axis(ax)
        ax.set_xlabel("time waited in the queue")
        if i % cols == 0:
            ax.set_ylabel("share who would still wait")
    _figure_legend(fig, axes)
    fig.suptitle(f"{_source(res)}: customer patience, observed (Kaplan-Meier: answered customers count as still "
                 "willing to wait) against fitted", fontsize=11)
    return _save(fig, path)


def _wait_tails(log: pd.DataFrame | None) -> dict[str, float]:
    """Per channel, the wait only 5% of queued customers exceeded (beyond it the KM steps are noise)."""
    if log is None or not {"channel", "outcome", "wait_s"} <= set(log.columns):
        return {}
    rows = log.loc[log["outcome"].isin(("answered", "abandoned")) & log["wait_s"].notna(), ["channel", "wait_s"]]
    return {str(k): float(v) for k, v in rows.groupby("channel")["wait_s"].quantile(0.95).items()}


def _patience_panel(ax: Any, ch: str, p: PatienceFit, color: str, tail: float | None) -> None:
    from matplotlib.ticker import PercentFormatter

    end = max(float(p.km_t.max()) if p.km_t.size else 1.0, 1.0)
    ax.step(p.km_t, p.km_s, where="post", color=color, lw=1.8, label="observed (Kaplan-Meier)")
    xs = np.linspace(0.0, end, 400)
    with np.errstate(divide="ignore", invalid="ignore"):  # a mean of 0 (everyone left at once) draws nothing
        ax.plot(xs, patience_survival(p, xs), color="black", lw=1.3, label="fitted (family in each title)")
    mean = p.mean.value if p.mean is not None else math.nan
    if math.isfinite(mean) and mean <= end:
        ax.axvline(mean, color="black", ls="--", lw=1.2, label="fitted mean patience")
    if p.naive_mean is not None and p.naive_mean.value <= end:
        ax.axvline(p.naive_mean.value, color="0.45", ls=":", lw=1.4, label="mean wait of those who left (biased low)")
    if tail is not None and 0 < tail < end:
        ax.axvspan(tail, end * 1.02, color="0.5", alpha=0.09, lw=0,
                   label="the longest 5% of waits: few left to observe")
    ax.set_xlim(0, end * 1.02)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)
    poor = (p.km_gap is not None and p.km_gap > POOR_KM_GAP) or p.n_abandoned < FEW_ABANDONS
    ax.set_title(f"{ch}: {p.dist} patience, mean {format_duration(mean)}", loc="left", fontsize=10,
                 fontweight="bold", color=POOR if poor else "black")
    lines = [f"{p.n_abandoned:,} abandoned, {p.n_answered:,} answered"]
    if p.mean is not None and p.mean.covers:
        lines.append(f"mean patience 95% CI {format_duration(p.mean.lo)}-{format_duration(p.mean.hi)}")
    if mean > end:
        lines.append(f"(fitted mean {format_duration(mean)} lies beyond the longest wait)")
    if p.naive_mean is not None:
        lines.append(f"mean wait of those who left {format_duration(p.naive_mean.value)}")
    if p.km_gap is not None:
        lines.append(f"largest gap fitted vs observed {p.km_gap:.1%}")
    if poor:
        lines.append("POOR FIT" if p.n_abandoned >= FEW_ABANDONS else f"FEW ABANDONS (< {FEW_ABANDONS})")
        _mark_poor(ax)
    _note(ax, "\n".join(lines), color=POOR if poor else "black")


# ----------------------------------------------------------------------------- market


def _volatility(res: FitResult, path: Path) -> Path:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    COLORS, _save, _ = _mpl()
    chans = [c for c, f in res.arrivals.items() if f.elasticity is not None]
    cols = min(3, len(chans))
    fig, axes = _panels(len(chans), cols, 4.8, 3.8)
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    pooled = res.elasticity.pooled if res.elasticity is not None and not res.elasticity.differ else None
    for i, (ch, ax) in enumerate(zip(chans, axes, strict=True)):
        f, g = res.arrivals[ch], res.grids[ch]
        color = COLORS[i % len(COLORS)]
        x, mult, err = _binned_multiplier(res, g, f)
        e = f.elasticity
        if x.size:
            ax.errorbar(x, mult, yerr=err, fmt="o", color=color, ms=5, capsize=3,
                        label=f"observed: the {format_duration(g.width)} intervals in 20 equal groups by volatility "
                              "(95% CI)")
            xs = np.geomspace(min(x.min(), 0.9), max(x.max(), 1.1), 200)
            cap = res.prices.max_multiplier
            ax.plot(xs, np.clip(xs**e.value, 1 / cap, cap), color="black", lw=1.5,
                    label="fitted: (volatility / calm) ** elasticity")
            if e.covers:
                a, b = xs**e.lo, xs**e.hi
                ax.fill_between(xs, np.minimum(a, b), np.maximum(a, b), color="black", alpha=0.12, lw=0,
                                label="95% CI of the elasticity")
            if pooled is not None and len(chans) > 1:
                ax.plot(xs, xs**pooled.value, color="0.4", ls="--", lw=1.1,
                        label=f"pooled elasticity {pooled.value:.2f}, which the scenario uses")
        else:
            ax.text(0.5, 0.5, "no intervals with prices", ha="center", va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = axis.get_view_interval()
            ticks = [[v for v in nice if lo <= v <= hi] for nice in NICE_RATIOS]
            best = ticks[0] if len(ticks[0]) >= 3 or len(ticks[1]) < 3 else ticks[1]
            if len(best) >= 2:  # else matplotlib's own log ticks
                axis.set_major_locator(FixedLocator(best))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax.grid(alpha=0.3, which="major")
        ax.set_xlabel("market volatility / its calm level")
        if i % cols == 0:
            ax.set_ylabel("contacts / expected from\nthe profiles alone")
        stated = _stated(res)
        ci_bad = _includes_zero(stated.get("pooled", stated.get(ch)))  # the value the scenario will use
        ax.set_title(f"{ch}: elasticity {e.value:.2f} ({_ci(e, '{:.2f}')})", loc="left", fontsize=10,
                     fontweight="bold", color=POOR if ci_bad else "black")
        if ci_bad:
            _mark_poor(ax)
    _figure_legend(fig, axes)
    fig.suptitle(f"{_source(res)}: contacts follow market volatility (log-log; calm = median volatility of "
                 "the price recording)", fontsize=11)
    return _save(fig, path)


def _binned_multiplier(res: FitResult, g: CountGrid, f: ArrivalFit, bins: int = 20
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vol/calm, observed multiplier, 95% error bars [2, k]) per quantile bin of the quarter
    hours: contacts over the profile-only expectation (the fitted market term divided out),
    Poisson error bars widened by the channel's dispersion."""
    p = res.prices
    m = market_steps(g, p.epoch, p.price, p.step, p.window, p.max_multiplier)
    n = len(g.counts)
    term, _ = market_term(m, f.elasticity.value, n)
    base = f.expected / np.exp(term)
    ratio = np.bincount(m.interval, weights=np.exp(m.log_ratio), minlength=n) / np.maximum(m.steps_in, 1)
    ok = f.used & (m.steps_in > 0) & np.isfinite(base) & (base > 0)
    x, y, b = ratio[ok], g.counts[ok], base[ok]
    if not x.size:
        return x, x, np.zeros((2, 0))
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)))
    k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
    size = int(k.max()) + 1
    cnt = np.bincount(k, minlength=size)
    keep = cnt > 0
    obs = np.bincount(k, weights=y, minlength=size)[keep]
    exp_ = np.bincount(k, weights=b, minlength=size)[keep]
    xm = np.exp(np.bincount(k, weights=np.log(x), minlength=size)[keep] / cnt[keep])
    mult = obs / exp_
    half = 1.96 * np.sqrt(max(f.dispersion, 1.0) * np.maximum(obs, 1.0)) / exp_
    lo = np.maximum(mult - half, mult * 0.05)
    return xm, mult, np.vstack([mult - lo, half])
