"""Price and volatility paths on a fixed time grid.

A path is generated once per replication, before the desk runs, from its own random stream
(`market/...`), so the market of replication k is the same in every scenario that differs only
in staffing (common random numbers). Volatility is expressed as a daily standard deviation of
log returns ("daily_vol"), whatever the model's step.

Models:
- regime: a continuous-time Markov chain of volatility regimes (exponential holding times with
  each regime's mean duration; the next regime by the transition weights, default uniform over
  the others); log returns are Gaussian with the regime's volatility.
- garch: GARCH(1,1) on the grid's returns, r_k = s_k z_k, s_k^2 = w + a r_{k-1}^2 + b s_{k-1}^2,
  with w set so the long-run variance matches `daily_vol`.
- replay: a recorded price series (read by config.prices, replayed by market.drive), realised volatility over a rolling window.
- none: a flat price at the reference volatility.
Shocks add a jump to the log price and an excess volatility |move| * exp(-(t - at)/decay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DAY = 86400.0


@dataclass(frozen=True)
class MarketPath:
    """A market path on the grid t_k = k * step, k = 0..n-1 (the value holds on [t_k, t_k+1))."""

    step: float
    price: np.ndarray
    vol: np.ndarray  # daily-equivalent volatility
    reference_vol: float  # the "calm" level arrivals are measured against

    def index(self, t: float) -> int:
        return min(int(t / self.step), len(self.vol) - 1)

    def __len__(self) -> int:
        return len(self.vol)


def regime_vol(
    n: int,
    step: float,
    vols: list[float],
    durations: list[float],
    transitions: np.ndarray,
    initial: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Volatility on the grid and the regime index of each step, by exact holding times."""
    out = np.empty(n)
    state = np.empty(n, dtype=np.int64)
    t_end = n * step
    t = 0.0
    r = initial
    while t < t_end:
        hold = rng.exponential(durations[r])
        k0 = int(math.ceil(t / step - 1e-9)) if t > 0 else 0
        t_next = t + hold
        k1 = min(n, int(math.ceil(t_next / step - 1e-9)))
        out[k0:k1] = vols[r]
        state[k0:k1] = r
        t = t_next
        r = int(rng.choice(len(vols), p=transitions[r]))
    return out, state


def garch_vol(n: int, step: float, daily_vol: float, alpha: float, beta: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """GARCH(1,1) conditional volatility (daily-equivalent) and the returns on the grid."""
    per_step = daily_vol**2 * step / DAY  # long-run variance of one step's return
    omega = per_step * (1.0 - alpha - beta)
    z = rng.standard_normal(n)
    var = np.empty(n)
    ret = np.empty(n)
    v = per_step
    r_prev = 0.0
    for k in range(n):  # a short recursion; n is minutes of the run, not tickets
        v = omega + alpha * r_prev * r_prev + beta * v
        var[k] = v
        r_prev = math.sqrt(v) * z[k]
        ret[k] = r_prev
    return np.sqrt(var * DAY / step), ret


def gaussian_returns(vol: np.ndarray, step: float, rng: np.random.Generator) -> np.ndarray:
    return vol * math.sqrt(step / DAY) * rng.standard_normal(len(vol))


def apply_shocks(
    log_price: np.ndarray,
    vol: np.ndarray,
    step: float,
    shocks: list[tuple[float, float, float]],
) -> None:
    """Add each shock (at, move, decay): a jump in log price and a decaying excess volatility."""
    t = np.arange(len(vol)) * step
    for at, move, decay in shocks:
        after = t >= at
        log_price[after] += move
        vol[after] += abs(move) * np.exp(-(t[after] - at) / decay)


def price_from_returns(returns: np.ndarray, start_price: float) -> np.ndarray:
    return start_price * np.exp(np.cumsum(returns))


def realised_vol(log_price: np.ndarray, step: float, window: float) -> np.ndarray:
    """Rolling realised volatility (daily-equivalent) of log returns over `window`.

    Step k uses the returns of steps k-w+1..k (w = window / step); early steps, with fewer
    returns behind them, use those they have; step 0, with none, takes step 1's value.
    """
    n = len(log_price)
    r = np.diff(log_price, prepend=log_price[0])  # r[0] = 0 is not a return
    w = max(1, int(round(window / step)))
    sq = np.cumsum(r * r)
    shifted = np.concatenate([np.zeros(w), sq])[:n]
    rolled = sq - shifted
    count = np.minimum(np.arange(n), w).astype(float)  # returns in the window, r[0] excluded
    count[0] = 1.0
    vol = np.sqrt(rolled / (count * step) * DAY)
    if n > 1:
        vol[0] = vol[1]
    return vol


def mean_over(values: np.ndarray, step: float, t0: np.ndarray | float, t1: np.ndarray | float) -> np.ndarray:
    """Time-weighted mean of a step function (values[k] on [k*step, (k+1)*step)) over [t0, t1)."""
    area = np.concatenate([[0.0], np.cumsum(values) * step])

    def integral(t: np.ndarray) -> np.ndarray:
        k = np.minimum((t // step).astype(np.int64), len(values) - 1)
        return area[k] + values[k] * (t - k * step)

    a = np.asarray(t0, dtype=float)
    b = np.asarray(t1, dtype=float)
    return (integral(b) - integral(a)) / np.maximum(b - a, 1e-12)
