"""From a scenario's `market:` to what the desk needs: per-step arrival multipliers and mix shifts.

All market randomness comes from `market/...` streams, drawn before the desk runs, so the
market path, the daily busyness factors and hence every channel's intensity are identical
across scenarios that differ only in staffing (common random numbers).

Category mix under volatility: with r = vol / reference_vol, a category's share is weighted by
volatility_weight ** log2(r) and renormalised, so each doubling of volatility multiplies a
category's odds by its weight (trade_execution with weight 3 triples its odds against a
weight-1 category when volatility doubles; at calm, r = 1, the shares are as written).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import streams as stream_names
from ..config.market import GarchMarket, NoMarket, RegimeMarket, ReplayMarket
from ..config.schema import Scenario
from ..rng import Streams
from .paths import (
    DAY,
    MarketPath,
    apply_shocks,
    garch_vol,
    gaussian_returns,
    realised_vol,
    regime_vol,
)


@dataclass(frozen=True)
class Drive:
    """The market's effect on one replication."""

    path: MarketPath
    multiplier: dict[str, np.ndarray]  # channel -> arrival multiplier per step
    day_factor: np.ndarray  # busyness factor per simulated day
    log2_ratio: np.ndarray  # log2(vol / reference_vol) per step, for the mix shift
    mix_shift: bool  # any category with volatility_weight != 1


def reference_vol(m: RegimeMarket | GarchMarket | ReplayMarket | NoMarket, vol: np.ndarray) -> float:
    if m.response.reference_vol is not None:
        return m.response.reference_vol
    if isinstance(m, RegimeMarket):  # the first regime listed is the calm level, wherever the path starts
        return next(iter(m.regimes.values())).daily_vol
    if isinstance(m, GarchMarket):
        return m.daily_vol
    if isinstance(m, ReplayMarket):
        return float(np.median(vol)) if len(vol) else 1.0
    return 1.0


def market_path(scenario: Scenario, streams: Streams, n: int) -> MarketPath:
    """The price and volatility path of one replication on n steps."""
    m = scenario.market
    assert m is not None
    step = m.step
    first = m.start_price  # a replay starts at its recorded price instead
    if isinstance(m, RegimeMarket):
        names = list(m.regimes)
        vols = [m.regimes[k].daily_vol for k in names]
        durations = [m.regimes[k].mean_duration for k in names]
        trans = np.zeros((len(names), len(names)))
        for i, k in enumerate(names):
            nxt = m.regimes[k].next
            if nxt:
                for other, w in nxt.items():
                    trans[i, names.index(other)] = w
            else:
                trans[i] = 1.0
                trans[i, i] = 0.0 if len(names) > 1 else 1.0
            trans[i] /= trans[i].sum()
        initial = names.index(m.initial) if m.initial else 0
        vol, _ = regime_vol(n, step, vols, durations, trans, initial, streams(stream_names.market("regime")))
        returns = gaussian_returns(vol, step, streams(stream_names.market("returns")))
    elif isinstance(m, GarchMarket):
        vol, returns = garch_vol(n, step, m.daily_vol, m.alpha, m.beta, streams(stream_names.market("garch")))
    elif isinstance(m, ReplayMarket):
        vol, returns, recorded_ref, first = _replay(m, n, streams, scenario.start.timestamp())
    else:
        vol = np.full(n, m.response.reference_vol or 1.0)
        returns = np.zeros(n)
    vol = vol.copy()
    log_price = math.log(first) + np.cumsum(returns)
    # the calm level comes from the market as given, before shocks (and, for a replay,
    # from the recording itself, not from how much of it this run uses)
    ref = recorded_ref if isinstance(m, ReplayMarket) and m.response.reference_vol is None else reference_vol(m, vol)
    apply_shocks(log_price, vol, step, [(s.at, s.move, s.decay) for s in m.shocks])
    return MarketPath(step=step, price=np.exp(log_price), vol=vol, reference_vol=ref)


def recorded_volatility(times: np.ndarray, prices: np.ndarray, step: float, window: float) -> tuple[np.ndarray, np.ndarray, float]:
    """A price recording on the step grid (forward-filled): (log price, realised volatility,
    calm level = the median realised volatility of the whole recording). `simsupport fit`
    uses the same numbers, so a fitted elasticity means what the replay will do with it."""
    grid = np.arange(int(times[-1] // step) + 1) * step
    idx = np.searchsorted(times, grid, side="right") - 1
    log_p = np.log(prices[idx])
    vol = realised_vol(log_p, step, window)
    return log_p, vol, float(np.median(vol))


def replay_volatility(m: ReplayMarket) -> tuple[np.ndarray, np.ndarray, float]:
    times, prices = (np.asarray(a) for a in m.series)
    return recorded_volatility(times, prices, m.step, m.window)


def _replay(m: ReplayMarket, n: int, streams: Streams, start: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Grid volatility and returns of the recorded series (forward-filled), optionally
    block-bootstrapped, the median realised volatility of the recording and the first price.
    With align: clock the run starts `start - first row` into the recording, with the
    volatility window already filled by the recording before it."""
    log_p, recorded_vol, recorded_ref = replay_volatility(m)
    step = m.step
    returns = np.diff(log_p, prepend=log_p[0])
    if m.align == "clock":
        k0 = min(max(0, int(round((start - m.first_epoch) / step))), len(log_p) - 1)
        vol, returns, first = recorded_vol[k0:], returns[k0:].copy(), float(math.exp(log_p[k0]))
        returns[0] = 0.0
    else:
        first = float(math.exp(log_p[0]))
        if m.bootstrap is not None:
            block = max(1, int(round(m.bootstrap.block / step)))
            rng = streams(stream_names.market("bootstrap"))
            pieces, total = [], 0
            while total < n:
                at = int(rng.integers(0, max(1, len(returns) - block + 1)))
                piece = returns[at : at + block]
                pieces.append(piece)
                total += len(piece)
            returns = np.concatenate(pieces)[:n]
        vol = realised_vol(np.cumsum(returns), step, m.window)
    if len(returns) < n:  # past the recording: a flat price, the last volatility held
        vol = np.concatenate([vol, np.full(n - len(vol), vol[-1])])
        returns = np.concatenate([returns, np.zeros(n - len(returns))])
    return vol[:n], returns[:n], recorded_ref, first


def build_drive(scenario: Scenario, streams: Streams, until: float) -> Drive | None:
    """The market's multipliers up to simulation time `until`; None without a market."""
    m = scenario.market
    if m is None:
        return None
    n = int(math.ceil(until / m.step)) + 2
    path = market_path(scenario, streams, n)
    resp = m.response
    ratio = np.maximum(path.vol / path.reference_vol, 1e-12)
    days = int(math.ceil(n * m.step / DAY)) + 1
    if resp.overdispersion is not None and resp.overdispersion.cv > 0:
        cv2 = resp.overdispersion.cv ** 2
        day_factor = streams(stream_names.market("busyness")).gamma(1.0 / cv2, cv2, days)
    else:
        day_factor = np.ones(days)
    per_step_day = day_factor[(np.arange(n) * m.step // DAY).astype(np.int64)]
    multiplier = {}
    for name in scenario.channels:
        e = resp.elasticity_for(name)
        mult = np.clip(ratio**e, 1.0 / resp.max_multiplier, resp.max_multiplier)
        multiplier[name] = mult * per_step_day
    mix_shift = any(c.volatility_weight != 1.0 for c in scenario.categories.values())
    return Drive(path, multiplier, day_factor, np.log2(ratio), mix_shift)


def mix_weights(shares: np.ndarray, weights: np.ndarray, log2_ratio: float) -> np.ndarray:
    """Category probabilities at a volatility ratio r (log2 r given): share * weight**log2(r)."""
    w = shares * np.power(weights, log2_ratio)
    return w / w.sum()
