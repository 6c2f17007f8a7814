"""Write scenarios/data/btc-synthetic.csv: a SYNTHETIC BTC-like price series (not market data).

    python experiments/make_synthetic_prices.py

No package on the registry ships historical BTC prices under a licence we could use, so the
replay scenario runs on this series: 10 days at 5-minute resolution from 2026-01-05 00:00 UTC,
GARCH(1,1) returns with Student-t innovations (fat tails, volatility clustering), and a
night-time crash in Asian hours on day 6 (-14% in 25 minutes, a partial rebound, volatility
decaying over hours). To replay your own exchange's data, export `timestamp,price` rows
(ISO 8601 with a time zone, sorted, no gaps longer than `max_gap`) and point `market.file` at it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "btc-synthetic.csv"
STEP_MIN = 5
DAYS = 10
DAILY_VOL = 0.03


def main(seed: int = 20260105) -> None:
    rng = np.random.default_rng(seed)
    n = DAYS * 24 * 60 // STEP_MIN
    per_step = DAILY_VOL**2 * STEP_MIN / 1440
    alpha, beta = 0.06, 0.92
    omega = per_step * (1 - alpha - beta)
    nu = 4.0
    z = rng.standard_t(nu, n) / math.sqrt(nu / (nu - 2))
    r = np.empty(n)
    v, prev = per_step, 0.0
    crash = (5 * 24 + 18) * 60 // STEP_MIN  # day 6, 02:00 Shanghai = 18:00 UTC on day 5
    for k in range(n):
        v = omega + alpha * prev * prev + beta * v
        if crash <= k < crash + 5:  # the fall: -14% over 25 minutes
            prev = -0.14 / 5 + math.sqrt(v) * z[k]
            v += 0.01**2  # and a volatility regime that decays through beta
        elif crash + 5 <= k < crash + 17:  # a partial rebound over the next hour
            prev = 0.05 / 12 + 2 * math.sqrt(v) * z[k]
        else:
            prev = math.sqrt(v) * z[k]
        r[k] = prev
    price = 42000.0 * np.exp(np.cumsum(r))
    start = datetime(2026, 1, 5, tzinfo=UTC)
    lines = ["timestamp,price_usd_SYNTHETIC"]
    for k in range(n):
        t = start + timedelta(minutes=STEP_MIN * k)
        lines.append(f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{price[k]:.2f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({n} rows, {price.min():,.0f}-{price.max():,.0f} USD, synthetic)")


if __name__ == "__main__":
    main()
