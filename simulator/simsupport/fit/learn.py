"""From a read history to every estimate the scenario needs (no files written here).

The order matters only for arrivals: counts per channel and quarter hour of whole local days,
the market term from the price recording where there is one, then the elasticity choice and
the pooled over-dispersion; the ticket-level estimators (handle, patience, shares) each take
the log as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .arrivals import QUARTER, ArrivalFit, CountGrid, MarketSteps, count_grid, day_window, fit_arrivals, market_steps, whole_days
from .estimate import Z95, Estimate
from .history import TicketHistory, VolumeHistory
from .market import ElasticityChoice, MixFit, choose_elasticity, fit_mix, log2_ratio_at
from .patience import PatienceFit, fit_patience_by_channel
from .service import fit_handle_by_category
from .shares import category_shares, deflection, escalation, language_shares, retry_fit, vip_share


@dataclass(frozen=True)
class Prices:
    """A price recording as the replay will read it."""

    path: str  # as written into the scenario (relative to it)
    epoch: np.ndarray
    price: np.ndarray
    step: float = 60.0
    window: float = 3600.0
    max_multiplier: float = 50.0


@dataclass
class FitResult:
    source: str
    kind: str  # "tickets" or "volumes"
    timezone: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    grids: dict[str, CountGrid]
    arrivals: dict[str, ArrivalFit]
    prices: Prices | None = None
    elasticity: ElasticityChoice | None = None
    overdispersion: Estimate | None = None
    mix: MixFit | None = None
    handle: dict | None = None
    patience: dict[str, PatienceFit] | None = None
    categories: object | None = None
    languages: object | None = None
    vip: Estimate | None = None
    deflection: object | None = None
    escalation: object | None = None
    retry: object | None = None
    aht: dict[str, Estimate] = field(default_factory=dict)  # volumes: mean handle per channel
    zones: dict[str, str] = field(default_factory=dict)  # each channel's own clock
    abandons: set[str] = field(default_factory=set)  # channels an interval report shows abandons on
    warnings: list[str] = field(default_factory=list)


def zone_of(offsets: tuple[int, ...], given: str | None, warnings: list[str]) -> str:
    """The channels' time zone: the one given, else the single fixed offset the stamps carry
    (as Etc/GMT-8 for +08:00), else UTC with a warning (daylight saving moves the offset, and an
    offset does not name a zone)."""
    if given:
        return given
    if len(offsets) == 1 and offsets[0] % 3600 == 0:
        h = offsets[0] // 3600
        return "UTC" if h == 0 else f"Etc/GMT{-h:+d}"
    if len(offsets) > 1:
        warnings.append("the timestamps carry several UTC offsets (daylight saving?); profiles are in UTC: pass "
                        "--timezone Europe/London (the desk's zone) to fit them in local time")
    return "UTC"


def _slice(frame: pd.DataFrame, column: str, since: pd.Timestamp | None, until: pd.Timestamp | None) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    if since is not None:
        keep &= (frame[column] >= since).to_numpy()
    if until is not None:
        keep &= (frame[column] < until).to_numpy()
    return frame.loc[keep]


def _epoch(s: pd.Series) -> np.ndarray:
    return s.dt.as_unit("s").astype("int64").to_numpy()


def _market(grid: CountGrid, prices: Prices | None) -> MarketSteps | None:
    if prices is None:
        return None
    return market_steps(grid, prices.epoch, prices.price, prices.step, prices.window, prices.max_multiplier)


def _finish_arrivals(res: FitResult) -> None:
    if res.prices is not None:
        per = {c: f.elasticity for c, f in res.arrivals.items() if f.elasticity is not None}
        if per:
            res.elasticity = choose_elasticity(per)
    res.overdispersion = pooled_cv([f.cv for f in res.arrivals.values() if math.isfinite(f.cv.value)])
    for name, f in res.arrivals.items():
        res.warnings.extend(f"{name}: {w}" for w in f.warnings)


def first_contacts(log: pd.DataFrame) -> pd.DataFrame:
    """The log without retries (the scenario's own retry process makes those)."""
    return log.loc[~log["retry"].to_numpy(dtype=bool)] if "retry" in log.columns else log


def _channel_grids(stamps: pd.Series, epoch: np.ndarray, channel: np.ndarray, weights: np.ndarray | None,
                   tz: str | dict[str, str], width: int) -> dict[str, CountGrid]:
    """Counts (or summed weights) per channel over whole local days of its own clock (`tz` a
    zone, or channel -> zone with "*" for the rest; a channel without a zone is left out)."""
    grids = {}
    for name in sorted(pd.unique(channel)):
        zone = tz if isinstance(tz, str) else tz.get(name, tz.get("*"))
        if zone is None:
            continue
        lo, hi = day_window(stamps.min(), stamps.max(), zone)
        sel = channel == name
        grids[name] = count_grid(epoch[sel], None if weights is None else weights[sel], lo, hi, zone, width)
    return grids


def ticket_grids(h: TicketHistory, tz: str | dict[str, str], since: pd.Timestamp | None = None,
                 until: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict[str, CountGrid]]:
    """First contacts (retries are the scenario's own retry process) per channel and quarter
    hour of whole local days; also the log sliced to the window."""
    log = _slice(h.frame, "created_at", since, until)
    if log.empty:
        raise ValueError("no contacts in the window")
    first = first_contacts(log)
    epoch = _epoch(first["created_at"])
    grids = _channel_grids(first["created_at"], epoch, first["channel"].to_numpy(), None, tz, QUARTER)
    # an export cut mid-day in a channel's clock would read as a quiet day: whole days only
    grids = {name: whole_days(g, float(epoch.min()), float(epoch.max())) for name, g in grids.items()}
    return log, grids


def volume_grids(h: VolumeHistory, tz: str | dict[str, str], since: pd.Timestamp | None = None,
                 until: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict[str, CountGrid]]:
    """Offered contacts per channel on quarter hours (finer reports summed; coarser ones kept at
    their own width), over whole local days; intervals missing from the report count 0."""
    rep = _slice(h.frame, "interval_start", since, until)
    if rep.empty:
        raise ValueError("no intervals in the window")
    width = QUARTER if QUARTER % h.interval_s == 0 else int(h.interval_s)
    grids = _channel_grids(rep["interval_start"], _epoch(rep["interval_start"]), rep["channel"].to_numpy(),
                           rep["offered"].to_numpy(dtype=float), tz, width)
    return rep, grids


def pooled_cv(fits: list[Estimate]) -> Estimate | None:
    """One day factor for every channel (the simulator shares it): the channels' cv^2 pooled by
    inverse variance, its interval on the cv^2 scale (se of cv^2 = 2 cv se(cv)); a single
    channel's estimate as it is."""
    if not fits:
        return None
    if len(fits) == 1:
        return fits[0]
    v = np.array([f.value**2 for f in fits])
    se = np.array([2 * max(f.value, 1e-6) * f.se if math.isfinite(f.se) and f.se > 0 else math.nan for f in fits])
    w = np.where(np.isfinite(se), 1 / np.where(np.isfinite(se), se, 1.0) ** 2, 0.0)
    if w.sum() == 0:
        return Estimate(math.sqrt(float(v.mean())), math.nan, math.nan, max(f.n for f in fits), math.nan, "days")
    mean = float((w * v).sum() / w.sum())
    se2 = float(1 / math.sqrt(w.sum()))
    cv = math.sqrt(max(mean, 0.0))
    lo, hi = math.sqrt(max(mean - Z95 * se2, 0.0)), math.sqrt(max(mean + Z95 * se2, 0.0))
    return Estimate(cv, lo, hi, max(f.n for f in fits), se2 / (2 * cv) if cv > 0 else math.nan, "days")


def learn_tickets(h: TicketHistory, prices: Prices | None = None, timezone: str | None = None,
                  since: pd.Timestamp | None = None, until: pd.Timestamp | None = None,
                  zones: dict[str, str] | None = None) -> FitResult:
    """`zones`: a channel's own clock (its profiles' zone) where it differs from `timezone`."""
    warnings: list[str] = []
    tz = zone_of(h.offsets, timezone or h.timezone, warnings)
    log, grids = ticket_grids(h, {**(zones or {}), "*": tz}, since, until)
    fits = {name: fit_arrivals(g, _market(g, prices)) for name, g in grids.items()}
    first = first_contacts(log)
    lo = min(g.window[0] for g in grids.values())
    hi = max(g.window[1] for g in grids.values())
    res = FitResult(h.path, "tickets", tz, (lo, hi), grids, fits, prices, warnings=warnings,
                    zones={c: g.tz for c, g in grids.items()})
    _finish_arrivals(res)
    if prices is not None and "category" in log.columns:
        x = log2_ratio_at(_epoch(first["created_at"]), prices.epoch, prices.price, prices.step, prices.window)
        res.mix = fit_mix(first["category"].to_numpy(dtype=object), x)
    if "category" in log.columns:
        res.categories = category_shares(log)
    if "language" in log.columns:
        res.languages = language_shares(log)
    if "vip" in log.columns:
        res.vip = vip_share(log)
    if "handle_s" in log.columns and "outcome" in log.columns:
        res.handle = fit_handle_by_category(log)
    if "wait_s" in log.columns and "outcome" in log.columns:
        res.patience = fit_patience_by_channel(log)
    if "outcome" in log.columns:
        res.deflection = deflection(log)
        res.retry = retry_fit(log) if "retry" in log.columns else None
    if "escalated" in log.columns:
        res.escalation = escalation(log)
    return res


def learn_volumes(h: VolumeHistory, prices: Prices | None = None, timezone: str | None = None,
                  since: pd.Timestamp | None = None, until: pd.Timestamp | None = None,
                  zones: dict[str, str] | None = None) -> FitResult:
    warnings: list[str] = []
    tz = timezone or h.timezone or "UTC"
    rep, grids = volume_grids(h, {**(zones or {}), "*": tz}, since, until)
    fits = {name: fit_arrivals(g, _market(g, prices)) for name, g in grids.items()}
    channel = rep["channel"].to_numpy()
    lo = min(g.window[0] for g in grids.values())
    hi = max(g.window[1] for g in grids.values())
    res = FitResult(h.path, "volumes", tz, (lo, hi), grids, fits, prices, warnings=warnings,
                    zones={c: g.tz for c, g in grids.items()})
    _finish_arrivals(res)
    if "abandoned" in rep.columns:
        res.abandons = set(rep.loc[rep["abandoned"].fillna(0) > 0, "channel"])
    if "aht_s" in rep.columns and rep["aht_s"].notna().any():
        for name in sorted(pd.unique(channel)):
            sub = rep.loc[(channel == name) & rep["aht_s"].notna()]
            weight = sub["answered"].fillna(sub["offered"]).to_numpy(dtype=float) if "answered" in sub else sub["offered"].to_numpy(dtype=float)
            if weight.sum() > 0:
                mean = float(np.average(sub["aht_s"].to_numpy(dtype=float), weights=weight))
                n = int(weight.sum())
                # exponential handle times: se of the mean = mean / sqrt(n)
                res.aht[name] = Estimate.log_normal(mean, 1 / math.sqrt(n), n, "answered")
    return res
