"""Arrival rates learned from counts: rate, daily and weekly profiles, market elasticity and
over-dispersion, on exactly the scenario's own definitions.

The model is the simulator's: the expected count in quarter hour i of a channel is

    rate * daily[slot(i)] * weekly[weekday(i)] * mean over the market steps in i of
    clip((vol / calm) ** elasticity, 1/max, max)

times a day factor of mean 1 (over-dispersion). It is fitted as a Poisson regression (log link,
slot and weekday dummies, the market term exactly as the replay computes it, not a linear
approximation) by Fisher scoring; intervals come from whole local days, so the profile weights
are in the channel's own clock. Standard errors are cluster-robust by day (sandwich), so a busy
or quiet day, which moves every interval of that day together, widens the intervals as it should.
The over-dispersion cv is what is left of the day totals' variation after the profile, the
market and Poisson noise: cv^2 = mean((O/E - 1)^2 - 1/E) over days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..market.drive import recorded_volatility
from .daymodel import cv_estimate, fit_day_model
from .estimate import Z95, Estimate

QUARTER = 900
DAY = 86400
VOLATILE_DAY = 1.25  # the simulator's default `volatile_above`
FEW_VOLATILE_DAYS = 10
THIN = 100.0  # contacts in a slot below which its weight leans on its neighbours


@dataclass(frozen=True)
class CountGrid:
    """Counts of one channel per interval of whole local days."""

    start: np.ndarray  # epoch seconds (UTC) of each interval
    counts: np.ndarray  # contacts in the interval
    slot: np.ndarray  # slot of the local day (0 .. slots-1)
    weekday: np.ndarray  # local weekday, Monday 0
    day: np.ndarray  # local calendar day, 0 for the first
    width: int  # interval length, seconds
    tz: str
    days: pd.DatetimeIndex  # the local dates, in order

    @property
    def slots(self) -> int:
        return DAY // self.width

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """[first interval's start, last interval's end) as UTC stamps."""
        return (pd.Timestamp(int(self.start[0]), unit="s", tz="UTC"),
                pd.Timestamp(int(self.start[-1]) + self.width, unit="s", tz="UTC"))


def day_window(first: pd.Timestamp, last: pd.Timestamp, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[local midnight of the first day, local midnight after the last day) as UTC stamps."""
    a = first.tz_convert(tz).normalize()
    b = last.tz_convert(tz).normalize() + pd.Timedelta(days=1)
    b = b.tz_localize(None).tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
    return a.tz_convert("UTC"), b.tz_convert("UTC")


def count_grid(epoch: np.ndarray, weights: np.ndarray | None, lo: pd.Timestamp, hi: pd.Timestamp, tz: str,
               width: int = QUARTER) -> CountGrid:
    """Counts (or summed `weights`) of events at `epoch` seconds per `width` interval of [lo, hi)."""
    idx = pd.date_range(lo, hi, freq=f"{width}s", inclusive="left")
    t0 = int(lo.timestamp())
    bins = ((np.asarray(epoch, dtype=np.int64) - t0) // width).astype(np.int64)
    ok = (bins >= 0) & (bins < len(idx))
    counts = np.bincount(bins[ok], weights=None if weights is None else np.asarray(weights)[ok], minlength=len(idx))
    local = idx.tz_convert(tz)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    dates = local.tz_localize(None).normalize()
    days = pd.DatetimeIndex(pd.unique(dates))
    return CountGrid(
        start=idx.as_unit("s").asi8.astype(np.int64),
        counts=counts.astype(float),
        slot=np.asarray(seconds // width, dtype=np.int64),
        weekday=np.asarray(local.day_of_week, dtype=np.int64),
        day=np.asarray(days.get_indexer(dates), dtype=np.int64),
        width=width,
        tz=tz,
        days=days,
    )


def day_bounds(grid: CountGrid) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) epoch seconds of each local day of the grid."""
    first = np.full(len(grid.days), np.iinfo(np.int64).max)
    last = np.full(len(grid.days), np.iinfo(np.int64).min)
    np.minimum.at(first, grid.day, grid.start)
    np.maximum.at(last, grid.day, grid.start + grid.width)
    return first, last


def whole_days(grid: CountGrid, lo: float, hi: float) -> CountGrid:
    """Only the local days that [lo, hi] covers whole (an export cut mid-day in the channel's
    clock would otherwise read as a quiet day); all of them if none is whole."""
    start, end = day_bounds(grid)
    keep = (start >= lo - grid.width) & (end <= hi + grid.width)
    return keep_days(grid, keep) if keep.any() and not keep.all() else grid


def keep_days(grid: CountGrid, keep: np.ndarray) -> CountGrid:
    """The grid restricted to the days where `keep` (per day) holds, days renumbered."""
    rows = keep[grid.day]
    new_index = np.cumsum(keep) - 1
    return CountGrid(grid.start[rows], grid.counts[rows], grid.slot[rows], grid.weekday[rows],
                     new_index[grid.day[rows]], grid.width, grid.tz, grid.days[keep])


@dataclass(frozen=True)
class MarketSteps:
    """log(vol / calm) per market step, with the interval each step falls in (-1: outside)."""

    log_ratio: np.ndarray
    interval: np.ndarray
    steps_in: np.ndarray  # steps per interval (0: no price covers it)
    calm: float  # the calm level (median realised volatility of the recording)
    max_multiplier: float = 50.0


def market_steps(grid: CountGrid, price_epoch: np.ndarray, prices: np.ndarray, step: float = 60.0,
                 window: float = 3600.0, max_multiplier: float = 50.0) -> MarketSteps:
    """The replay's own volatility ratio on its own step grid, binned into the count intervals."""
    times = np.asarray(price_epoch, dtype=float) - float(price_epoch[0])
    _, vol, calm = recorded_volatility(times, np.asarray(prices, dtype=float), step, window)
    at = float(price_epoch[0]) + np.arange(len(vol)) * step
    interval = np.floor((at - grid.start[0]) / grid.width).astype(np.int64)
    interval[(interval < 0) | (interval >= len(grid.counts))] = -1
    inside = interval >= 0
    steps_in = np.bincount(interval[inside], minlength=len(grid.counts))
    log_ratio = np.log(np.maximum(vol / calm, 1e-12))
    return MarketSteps(log_ratio[inside], interval[inside], steps_in, calm, max_multiplier)


def market_term(m: MarketSteps, e: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(log of the mean clipped multiplier per interval, its derivative in e)."""
    lim = math.log(m.max_multiplier)
    x = np.clip(e * m.log_ratio, -lim, lim)
    r = np.exp(x)
    free = np.abs(e * m.log_ratio) < lim
    total = np.bincount(m.interval, weights=r, minlength=n)
    slope = np.bincount(m.interval, weights=np.where(free, r * m.log_ratio, 0.0), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / np.maximum(m.steps_in, 1)
        return np.log(np.where(m.steps_in > 0, mean, 1.0)), np.where(total > 0, slope / total, 0.0)


@dataclass(frozen=True)
class ArrivalFit:
    """One channel's arrival model as the scenario states it, with uncertainty."""

    rate: Estimate  # per hour, average over day and week at calm volatility
    daily: np.ndarray  # 96 quarter-hour weights, mean 1 (smoothed where thin)
    daily_raw: np.ndarray  # the unsmoothed estimates (mean 1)
    daily_lo: np.ndarray
    daily_hi: np.ndarray
    weekly: np.ndarray  # 7 weights, Monday first, mean 1
    weekly_lo: np.ndarray
    weekly_hi: np.ndarray
    elasticity: Estimate | None
    cv: Estimate  # over-dispersion of the daily level
    expected: np.ndarray  # fitted mean per interval (NaN where left out)
    used: np.ndarray  # intervals the fit used
    day_ratio: np.ndarray  # observed / expected per day (NaN for days left out)
    n_contacts: int
    n_days: int
    dispersion: float  # Pearson chi2 / df of interval counts within days (1: Poisson given the day)
    warnings: list[str] = field(default_factory=list)


def _design(grid: CountGrid, use: np.ndarray, slots_on: np.ndarray, days_on: np.ndarray,
            ref_slot: int, ref_day: int) -> tuple[np.ndarray, list[int], list[int]]:
    slot_cols = [s for s in np.flatnonzero(slots_on) if s != ref_slot]
    day_cols = [d for d in np.flatnonzero(days_on) if d != ref_day]
    n = int(use.sum())
    X = np.zeros((n, 1 + len(slot_cols) + len(day_cols)))
    X[:, 0] = 1.0
    s = grid.slot[use]
    w = grid.weekday[use]
    for j, k in enumerate(slot_cols):
        X[s == k, 1 + j] = 1.0
    for j, k in enumerate(day_cols):
        X[w == k, 1 + len(slot_cols) + j] = 1.0
    return X, slot_cols, day_cols


def _smooth(weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Lean thin slots on a circular kernel average of their neighbours (closed hours stay 0)."""
    k = np.array([0.06, 0.24, 0.4, 0.24, 0.06])
    padded = np.concatenate([weights[-2:], weights, weights[:2]])
    smooth = np.convolve(padded, k, mode="valid")
    lam = counts / (counts + THIN)
    out = lam * weights + (1 - lam) * smooth
    out[weights == 0] = 0.0  # a slot where nobody ever came stays closed
    return out


def _expand(weights: np.ndarray, slots: int) -> np.ndarray:
    """Weights of a coarser day (e.g. 48 half hours) repeated onto 96 quarter hours."""
    if slots >= 96 or 96 % slots:
        return weights
    return np.repeat(weights, 96 // slots)


def fit_arrivals(grid: CountGrid, market: MarketSteps | None = None, min_day_share: float = 0.5) -> ArrivalFit:
    """Fit one channel; days far below their expectation (outages, partial first or last day of
    an export) are left out and named in the warnings."""
    warnings: list[str] = []
    n = len(grid.counts)
    use = np.ones(n, dtype=bool)
    if market is not None:
        use &= market.steps_in > 0
        if not use.all():
            warnings.append(f"{int((~use).sum())} intervals without prices behind them left out")
    dropped: list[str] = []
    res = None
    for round_ in range(3):  # at most two rounds of leaving days out, each followed by a refit
        res = _solve(grid, market, use)
        if res is None or round_ == 2:
            break
        mu_all, ndays = res[0], len(grid.days)
        day_exp = np.bincount(grid.day[use], weights=mu_all[use], minlength=ndays)
        day_obs = np.bincount(grid.day[use], weights=grid.counts[use], minlength=ndays)
        low = (day_exp > 20) & (day_obs < min_day_share * day_exp)
        if not low.any():
            break
        for d in np.flatnonzero(low):
            dropped.append(f"{grid.days[d]:%Y-%m-%d} ({int(day_obs[d])} contacts, {day_exp[d]:.0f} expected)")
        use &= ~low[grid.day]
    if market is not None:
        day_of_step = grid.day[market.interval]
        mean_ratio = np.bincount(day_of_step, weights=np.exp(market.log_ratio), minlength=len(grid.days)) / np.maximum(
            np.bincount(day_of_step, minlength=len(grid.days)), 1)
        volatile = int((mean_ratio > VOLATILE_DAY).sum())
        if volatile < FEW_VOLATILE_DAYS:
            warnings.append(f"only {volatile} volatile days (mean volatility above {VOLATILE_DAY}x calm): the "
                            "elasticity rests on few episodes and its interval is optimistic")
    if dropped:
        warnings.append("days left out as outages or partial days: " + ", ".join(dropped[:8])
                        + (f" and {len(dropped) - 8} more" if len(dropped) > 8 else ""))
    if res is None:
        raise ValueError("no contacts in the window")
    return _final(grid, market, use, res, warnings)


def _solve(grid: CountGrid, market: MarketSteps | None, use: np.ndarray):
    slots = grid.slots
    slot_tot = np.bincount(grid.slot[use], weights=grid.counts[use], minlength=slots)
    wd_tot = np.bincount(grid.weekday[use], weights=grid.counts[use], minlength=7)
    if slot_tot.sum() <= 0:
        return None
    slots_on, days_on = slot_tot > 0, wd_tot > 0
    fit_use = use & slots_on[grid.slot] & days_on[grid.weekday]
    ref_slot, ref_day = int(np.argmax(slot_tot)), int(np.argmax(wd_tot))
    X, slot_cols, day_cols = _design(grid, fit_use, slots_on, days_on, ref_slot, ref_day)
    y = grid.counts[fit_use]
    rows = np.flatnonzero(fit_use)

    def offset(e: float) -> tuple[np.ndarray, np.ndarray]:
        if market is None:
            return np.zeros(len(y)), np.zeros(len(y))
        g, dg = market_term(market, e, len(grid.counts))
        return g[rows], dg[rows]

    day_level = 1 + len(day_cols) + (market is not None)
    b, e, k, mu, cov, phi = fit_day_model(y, X, offset, market is not None, grid.day[rows], day_level)
    mu_all = np.full(len(grid.counts), np.nan)
    mu_all[rows] = mu
    mu_all[use & ~fit_use] = 0.0
    return mu_all, b, e, k, cov, phi, X, y, rows, slot_cols, day_cols, slots_on, days_on, ref_slot, ref_day


def _final(grid: CountGrid, market: MarketSteps | None, use: np.ndarray, res: tuple, warnings: list[str]) -> ArrivalFit:
    """The estimates as the scenario states them, from the last fit (`res`, of `use`)."""
    mu_all, b, e, k, cov, phi, X, y, rows, slot_cols, day_cols, slots_on, days_on, ref_slot, ref_day = res
    with_e = market is not None
    slots = grid.slots
    delta = np.full(slots, -np.inf)
    delta[ref_slot] = 0.0
    delta[slot_cols] = b[1 : 1 + len(slot_cols)]
    omega = np.full(7, -np.inf)
    omega[ref_day] = 0.0
    omega[day_cols] = b[1 + len(slot_cols) : 1 + len(slot_cols) + len(day_cols)]
    ed, ew = np.exp(delta), np.exp(omega)
    md, mw = ed.mean(), ew.mean()
    per_hour = 3600.0 / grid.width
    rate_value = math.exp(b[0]) * md * mw * per_hour
    # delta method for log rate: d/d a = 1, d/d delta_s = e^delta_s / sum e^delta, same for days
    grad = np.zeros(cov.shape[0])
    grad[0] = 1.0
    grad[1 : 1 + len(slot_cols)] = ed[slot_cols] / ed.sum()
    grad[1 + len(slot_cols) : 1 + len(slot_cols) + len(day_cols)] = ew[day_cols] / ew.sum()
    se_log_rate = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    n_days = int(len(np.unique(grid.day[rows])))
    n_contacts = int(grid.counts[use].sum())
    rate = Estimate.log_normal(rate_value, se_log_rate, n_contacts, "contacts")
    daily_raw = ed / md
    weekly = ew / mw
    d_lo, d_hi = _weight_band(daily_raw, cov, slot_cols, 1, ref_slot)
    w_lo, w_hi = _weight_band(weekly, cov, day_cols, 1 + len(slot_cols), ref_day)
    slot_tot = np.bincount(grid.slot[use], weights=grid.counts[use], minlength=slots)
    daily = _smooth(daily_raw, slot_tot)
    daily = daily / daily.mean()
    thin = int(((slot_tot > 0) & (slot_tot < THIN)).sum())
    if n_days < 14 and (weekly == 0).any():
        closed = ", ".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in np.flatnonzero(weekly == 0))
        warnings.append(f"no contacts on {closed} in {n_days} days of history: written as closed days")
    if thin:
        warnings.append(f"{thin} of {slots} daily slots have fewer than {THIN:.0f} contacts: smoothed")
    elasticity = None
    if with_e:
        se_e = math.sqrt(max(float(cov[-1, -1]), 0.0))
        elasticity = Estimate.normal(e, se_e, n_days, "days")
    mu = mu_all[rows]
    dispersion = phi  # within days, given each day's factor: what the model does not capture
    cv = cv_estimate(y, mu, grid.day[rows], k)
    ratio = _day_ratio(grid, mu_all, use)
    if cv.warnings:
        warnings.extend(cv.warnings)
    return ArrivalFit(
        rate=rate, daily=_expand(daily, slots), daily_raw=_expand(daily_raw, slots), daily_lo=_expand(d_lo, slots),
        daily_hi=_expand(d_hi, slots), weekly=weekly, weekly_lo=w_lo, weekly_hi=w_hi, elasticity=elasticity, cv=cv,
        expected=mu_all, used=use, day_ratio=ratio, n_contacts=n_contacts, n_days=n_days, dispersion=dispersion,
        warnings=warnings,
    )


def _weight_band(w: np.ndarray, cov: np.ndarray, cols: list[int], first: int, ref: int) -> tuple[np.ndarray, np.ndarray]:
    """95% band of each normalised weight w_k = e^b_k / mean(e^b) (delta method on log w_k)."""
    k = len(cols)
    block = cov[first : first + k, first : first + k]
    ew = w / w.sum()  # d log mean / d b_j = e^b_j / sum e^b = normalised share
    share = ew[cols]
    lo, hi = np.zeros_like(w), np.zeros_like(w)
    for idx in np.flatnonzero(w > 0):
        g = -share.copy()
        if idx != ref:
            g[cols.index(idx)] += 1.0
        se = math.sqrt(max(float(g @ block @ g), 0.0))
        lo[idx], hi[idx] = w[idx] * math.exp(-Z95 * se), w[idx] * math.exp(Z95 * se)
    return lo, hi


def _day_ratio(grid: CountGrid, mu_all: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Observed / expected total per day (NaN for days left out): the day factors' estimates."""
    ndays = len(grid.days)
    exp_d = np.bincount(grid.day[use], weights=np.nan_to_num(mu_all[use]), minlength=ndays)
    obs_d = np.bincount(grid.day[use], weights=grid.counts[use], minlength=ndays)
    ratio = np.full(ndays, np.nan)
    ratio[exp_d > 0] = obs_d[exp_d > 0] / exp_d[exp_d > 0]
    return ratio
