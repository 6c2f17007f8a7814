"""A SYNTHETIC desk history made by our own simulator from KNOWN parameters, for `simsupport fit`.

    python experiments/synthetic_history.py --out /tmp/history --days 28 --seed 7 --scale 1

writes into the folder

- `truth.yaml`: the scenario the history was simulated from (the truth every estimate is
  checked against; `truth_scenario()` returns the same dict);
- `prices.csv`: the minute price path its replay market plays (regime-switching volatility
  with GARCH clustering inside the regimes and Student-t returns, after
  `experiments/make_synthetic_prices.py`), from the scenario's start to one day past the horizon;
- `tickets.csv`: the ticket log, one row per contact attempt (columns in `TICKET_COLUMNS`);
- `volumes.csv`: the same log as a 15-minute interval report (`VOLUME_COLUMNS`), zero rows included;
- `simulator_counts.json`: the simulator's own counts over the window (its collector's, not
  recomputed from the log), what the log is checked against.

How the log is made from the simulator's ticket rows (`engine.state.TicketLog`, one row per
visit: `id, attempt, channel, category, language, vip, priority, tier, arrival_s, outcome,
wait_s, pool, handle_s`):

- one output row per (id, attempt): the attempt's FIRST row, its visit to the entry tier (L1)
  or the bot. A customer keeps its id across retries (attempt 0, 1, ...); `retry` = attempt > 0.
- outcomes: `answered`, `abandoned`, `blocked` (phone lines full) and `deflected` (the bot
  resolved it; never offered to a human). There is no announcement, so no `balked`.
- `escalated` = 1 when the same (id, attempt) has a later row at another tier (L2): the
  simulator logs each visit of a journey as its own row with the same id and attempt.
- `created_at` = scenario start + the contact's arrival. On a bot channel the simulator's row
  of a handed-over contact carries the HANDOVER time as `arrival_s` (the SLA clock starts at
  handover), while a deflected row carries the contact's arrival; the bot's time is fixed
  (`BOT_TIME_S`), so the contact's arrival is `arrival_s - BOT_TIME_S` exactly. `wait_s` is
  the time in the human queue (from the handover on a bot channel), `handle_s` the first
  tier's handling time (0 unless answered).
- the window is the whole horizon (warm-up 0): attempts created at or after the horizon (the
  simulator keeps generating arrivals while it drains) are dropped. Tickets of the window that
  were still waiting when the run stopped have no outcome and no row; they are dropped too and
  counted in `simulator_counts.json` (`still_waiting_at_end`; 0 on this stable desk, whose run
  ends only when every counted journey has ended).

`volumes.csv` counts attempts by `created_at` in 15-minute intervals per channel, with the
definitions of the simulator's own interval table: `offered` = attempts that reached the human
queue (answered + abandoned + blocked; bot-deflected chats are not offered), `aht_s` the mean
first-tier handle time of the interval's answered attempts (empty when none). Phone and email
equal the simulator's table interval by interval; the simulator files a chat under its
handover (BOT_TIME_S later), so its chat intervals equal these shifted by the bot's time.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC
INTERVAL_S = 900
BOT_TIME_S = 30.0  # the chatbot's (fixed) conversation time
TICKET_COLUMNS = ("ticket_id", "created_at", "channel", "category", "language", "vip", "outcome",
                  "wait_s", "handle_s", "escalated", "retry", "attempt")  # fmt: skip
VOLUME_COLUMNS = ("interval_start", "channel", "offered", "answered", "abandoned", "aht_s")
OUTCOMES = ("answered", "abandoned", "deflected", "blocked")

# -- the truth ------------------------------------------------------------------------------
# chat: Asia/Shanghai, a morning and an evening peak (24 hourly weights, normalised to mean 1)
CHAT_DAY = [0.45, 0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.9, 1.2, 1.4, 1.45,
            1.3, 1.25, 1.3, 1.35, 1.3, 1.25, 1.3, 1.5, 1.7, 1.75, 1.4, 0.9]  # fmt: skip
CHAT_WEEK = [1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75]  # Monday first: quieter weekends
PHONE_DAY = "business_hours"
PHONE_WEEK = "weekdays"
RATES = {"chat": 120.0, "phone": 60.0, "email": 30.0}  # per hour at scale 1, before the market
CATEGORIES: dict[str, dict[str, Any]] = {
    "account": {"share": 0.35, "handle_time": {"dist": "exponential", "mean": "4min"}},
    "payments": {"share": 0.30, "handle_time": {"dist": "gamma", "mean": "6min", "cv": 0.7},
                 "by_channel": {"phone": 1.3}},
    "trading": {"share": 0.20, "handle_time": {"dist": "lognormal", "mean": "8min", "cv": 0.9},
                "volatility_weight": 2.0},
    "kyc": {"share": 0.15, "handle_time": {"dist": "lognormal", "mean": "5min", "cv": 0.5}},
}  # fmt: skip
MEAN_HANDLE_MIN = {k: float(v["handle_time"]["mean"].removesuffix("min")) for k, v in CATEGORIES.items()}
PHONE_FACTOR = {k: v["by_channel"]["phone"] for k, v in CATEGORIES.items() if "phone" in v.get("by_channel", {})}
DEFLECTION = {"default": 0.2, "by_category": {"account": 0.45, "kyc": 0.3, "trading": 0.05}}
ESCALATION = {"default": 0.05, "trading": 0.2, "payments": 0.1}
LANGUAGES = {"en": 0.6, "zh": 0.3, "es": 0.1}
VIP_SHARE = 0.05
# staffing: each shift block gets the fewest agents whose Erlang A abandonment at the block's
# mean load is at most ABANDON_TARGET (peaks inside a block and volatile spells push the
# realised share above it); email and L2 run at most MAX_OCCUPANCY busy
ABANDON_TARGET = {"chat": 0.05, "phone": 0.08}
PATIENCE_MIN = {"chat": 5.0, "phone": 3.0}
MAX_OCCUPANCY = {"email": 0.75, "l2": 0.6}
PHONE_LINES_EXTRA = 4
MARKET_LOAD = 1.1  # the replay's mean arrival multiplier, roughly (volatile spells, day factors)


def deflection_p(category: str) -> float:
    return DEFLECTION["by_category"].get(category, DEFLECTION["default"])


def escalation_p(category: str) -> float:
    return ESCALATION.get(category, ESCALATION["default"])


def _norm(w: Sequence[float]) -> list[float]:
    m = sum(w) / len(w)
    return [x / m for x in w]


def _named(profile: str | Sequence[float], daily: bool) -> list[float]:
    from simsupport.profiles import DAILY_PROFILES, WEEKLY_PROFILES

    if isinstance(profile, str):
        return _norm((DAILY_PROFILES if daily else WEEKLY_PROFILES)[profile])
    return _norm(profile)


def _work_min(channel: str, human_only: bool) -> float:
    """Mean first-tier work (minutes) per contact of a channel (bot-deflected ones take none)."""
    total = 0.0
    for cat, spec in CATEGORIES.items():
        share = spec["share"]
        if human_only:
            share *= 1 - deflection_p(cat)
        total += share * MEAN_HANDLE_MIN[cat] * (PHONE_FACTOR.get(cat, 1.0) if channel == "phone" else 1.0)
    return total


def _erlang_a_agents(rate_h: float, work_min: float, patience_min: float, target: float) -> int:
    from simsupport.theory.erlang import erlang_a

    if rate_h <= 0:
        return 1
    n = max(1, int(rate_h * work_min / 60.0 * 0.5))
    while erlang_a(n, rate_h / 60.0, work_min, patience_min).p_abandon > target:
        n += 1
    return n


def _occupancy_agents(load: float, channel: str) -> int:
    return max(1, math.ceil(load / MAX_OCCUPANCY[channel]))


def _shifts(channel: str, rate_h: float, day: list[float], week: list[float], human_only: bool) -> list[dict]:
    """Three 8-hour blocks a day (local time), weekdays and weekends apart, each staffed for
    its mean load by Erlang A (see ABANDON_TARGET)."""
    work = _work_min(channel, human_only)
    human = sum(s["share"] * (1 - deflection_p(c)) for c, s in CATEGORIES.items()) if human_only else 1.0
    blocks = []
    for name, (a, b) in {"night": (0, 8), "day": (8, 16), "evening": (16, 24)}.items():
        for days, tag, w in ((["mon", "tue", "wed", "thu", "fri"], "wk", sum(week[:5]) / 5),
                             (["sat", "sun"], "we", sum(week[5:]) / 2)):  # fmt: skip
            lam = rate_h * MARKET_LOAD * sum(day[a:b]) / (b - a) * w * human
            n = _erlang_a_agents(lam, work / human, PATIENCE_MIN[channel], ABANDON_TARGET[channel])
            blocks.append({"name": f"{name}-{tag}", "start": f"{a:02d}:00", "end": f"{b:02d}:00",
                           "agents": n, "days": days})  # fmt: skip
    return blocks


def truth_scenario(days: int = 28, seed: int = 7, scale: float = 1.0) -> dict:
    """The scenario the history is simulated from, as plain (YAML-able) data. Its replay
    market reads `prices.csv` beside it (`prices_csv`)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    rates = {k: v * scale for k, v in RATES.items()}
    chat_day, chat_week = _norm(CHAT_DAY), _norm(CHAT_WEEK)
    phone_day, phone_week = _named(PHONE_DAY, True), _named(PHONE_WEEK, False)
    esc_rate_h = sum(
        rates[ch] * sum(s["share"] * (1 - (deflection_p(c) if ch == "chat" else 0.0)) * escalation_p(c)
                        * MEAN_HANDLE_MIN[c] * (PHONE_FACTOR.get(c, 1.0) if ch == "phone" else 1.0)
                        for c, s in CATEGORIES.items())
        for ch in rates
    ) / 60.0  # fmt: skip
    chat_shifts = _shifts("chat", rates["chat"], chat_day, chat_week, True)
    phone_shifts = _shifts("phone", rates["phone"], phone_day, phone_week, False)
    # phone lines (calls waiting plus in service): a busy peak with a market spell fills them
    lines = max(b["agents"] for b in phone_shifts) + PHONE_LINES_EXTRA
    return {
        "name": "synthetic-history",
        "description": f"SYNTHETIC desk history for testing `simsupport fit` (days={days}, seed={seed}, scale={scale:g})",
        "start": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "horizon": f"{days}d",
        "warmup": "0s",
        "interval": "15min",
        "replications": 1,
        "seed": seed,
        "customers": {"languages": dict(LANGUAGES), "vip_share": VIP_SHARE},
        "categories": copy.deepcopy(CATEGORIES),
        "channels": {
            "chat": {
                "rate": f"{rates['chat']:g}/h", "daily_profile": list(CHAT_DAY), "weekly_profile": list(CHAT_WEEK),
                "timezone": "Asia/Shanghai", "patience": {"dist": "exponential", "mean": "5min"},
                "retry": {"prob": 0.3, "after": "10min"}, "sla": {"answer_within": "60s", "target": 0.8},
            },
            "phone": {
                "rate": f"{rates['phone']:g}/h", "daily_profile": PHONE_DAY, "weekly_profile": PHONE_WEEK,
                "timezone": "Europe/London", "patience": {"dist": "lognormal", "mean": "3min", "cv": 1.0},
                "retry": {"prob": 0.15, "after": "20min"}, "sla": {"answer_within": "30s", "target": 0.8},
                "lines": lines,
            },
            "email": {
                "rate": f"{rates['email']:g}/h", "patience": "none",
                "sla": {"first_response_within": "4h", "target": 0.9},
            },
        },
        "pools": [
            {"name": "l1-chat", "tier": "L1", "channels": ["chat"], "timezone": "Asia/Shanghai",
             "shifts": chat_shifts},
            {"name": "l1-phone", "tier": "L1", "channels": ["phone"], "timezone": "Europe/London",
             "shifts": phone_shifts},
            {"name": "l1-email", "tier": "L1", "channels": ["email"],
             "agents": _occupancy_agents(rates["email"] * MARKET_LOAD * _work_min("email", False) / 60.0, "email")},
            {"name": "l2", "tier": "L2", "agents": _occupancy_agents(esc_rate_h * MARKET_LOAD, "l2")},
        ],
        "chatbot": {
            "channels": ["chat"],
            "handle_time": f"{BOT_TIME_S:g}s",
            "deflection": copy.deepcopy(DEFLECTION),
        },
        "escalation": {"L1": {"to": "L2", "prob": dict(ESCALATION)}},
        "market": {
            "model": "replay",
            "file": "prices.csv",
            "step": "1min",
            "window": "1h",
            "max_gap": "10min",
            "response": {
                "elasticity": {"chat": 0.8, "phone": 0.5, "email": 0.3},
                "overdispersion": {"cv": 0.1},
            },
        },
    }


# -- the price path -------------------------------------------------------------------------
CALM_VOL, VOLATILE_VOL = 0.025, 0.05  # daily
CALM_MEAN_S, VOLATILE_MEAN_S = 2.0 * 86400, 8 * 3600.0
FIRST_CALM_S = 1.5 * 86400  # the first volatile spell begins on day 2 (every history has one)


def price_path(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(minutes since start, price) over days + 1 days at 1-minute steps: a two-regime Markov
    chain of volatility (calm 2.5%/day, volatile 5%/day; mean spells 2 days and 8 hours),
    GARCH(1,1) clustering inside (alpha 0.05, beta 0.90, unconditional variance 1) and
    Student-t(5) innovations. SYNTHETIC, not market data."""
    rng = np.random.default_rng([seed, 20260105])
    n = (days + 1) * 1440
    regime_vol = np.empty(n)
    t, volatile = 0, False
    first = True
    while t < n:
        if first:
            length = int(FIRST_CALM_S // 60)
            first = False
        else:
            length = max(30, int(rng.exponential((VOLATILE_MEAN_S if volatile else CALM_MEAN_S) / 60)))
        regime_vol[t : t + length] = VOLATILE_VOL if volatile else CALM_VOL
        t += length
        volatile = not volatile
    sd = regime_vol / math.sqrt(1440.0)
    nu = 5.0
    z = rng.standard_t(nu, n) / math.sqrt(nu / (nu - 2))
    alpha, beta = 0.05, 0.90
    r = np.empty(n)
    h, prev = 1.0, 0.0
    for k in range(n):
        h = (1 - alpha - beta) + alpha * prev * prev + beta * h
        prev = math.sqrt(h) * z[k]
        r[k] = sd[k] * prev
    r[0] = 0.0
    price = 42000.0 * np.exp(np.cumsum(r))
    return np.arange(n, dtype=np.int64), price


def prices_csv(days: int, seed: int) -> str:
    minutes, price = price_path(days, seed)
    t0 = int(START.timestamp())
    lines = ["timestamp,price_usd_SYNTHETIC"]
    for m, p in zip(minutes.tolist(), price.tolist()):
        lines.append(f"{datetime.fromtimestamp(t0 + 60 * m, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')},{p:.2f}")
    return "\n".join(lines) + "\n"


# -- files ----------------------------------------------------------------------------------
def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_frame(path: Path, frame: Any) -> None:
    _atomic_write(path, frame.to_csv(index=False, lineterminator="\n"))


_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""}


def _yaml_text(data: dict) -> str:
    """Block YAML in the dict's own key order, lists of numbers inline. Strings that another
    YAML reader could take for something else (clock times such as 16:00 are numbers in YAML
    1.1, `no` a boolean) are quoted."""
    import io
    import re

    from ruamel.yaml import YAML
    from ruamel.yaml.representer import RoundTripRepresenter

    def plain_or_quoted(rep: Any, value: str) -> Any:
        risky = ":" in value or value.lower() in _YAML11_WORDS or re.fullmatch(r"[-+.\d_eE]+", value) is not None
        return rep.represent_scalar("tag:yaml.org,2002:str", value, style='"' if risky else None)

    def flow_numbers(rep: Any, value: list) -> Any:
        flow = all(isinstance(v, (int, float, str)) for v in value)
        return rep.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)

    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.representer.add_representer(str, plain_or_quoted)
    yaml.representer.add_representer(list, flow_numbers)
    assert isinstance(yaml.representer, RoundTripRepresenter)
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


# -- the run --------------------------------------------------------------------------------
def simulate_truth(scenario_dict: dict, base_dir: Path) -> tuple[Any, Any]:
    """Validate the scenario (its prices.csv in base_dir) and run its one replication with the
    ticket log: (Scenario, ReplicationResult)."""
    from simsupport.config.load import scenario_from_dict
    from simsupport.engine.desk import simulate

    scenario = scenario_from_dict(scenario_dict, source=str(base_dir / "truth.yaml"), base_dir=base_dir)
    return scenario, simulate(scenario, 0, record_tickets=True)


def ticket_log(raw: dict[str, list[Any]], horizon_s: float, bot_channels: Sequence[str]) -> Any:
    """The simulator's per-visit rows as the fit's ticket log, one row per attempt (see the
    module docstring)."""
    import pandas as pd

    df = pd.DataFrame(raw)
    df["seq"] = np.arange(len(df))
    # a journey's visits share (id, attempt); the first logged is the entry visit (or the bot's)
    first = df.groupby(["id", "attempt"], sort=False).head(1).copy()
    later = df.drop(index=first.index)
    first_tier = dict(zip(zip(first["id"], first["attempt"]), first["tier"]))
    escalated_keys = {
        key for key, tier in zip(zip(later["id"], later["attempt"]), later["tier"]) if tier != first_tier[key]
    }
    arrival = first["arrival_s"].to_numpy(dtype=float).copy()
    on_bot = first["channel"].isin(list(bot_channels)).to_numpy() & (first["outcome"] != "deflected").to_numpy()
    arrival[on_bot] -= BOT_TIME_S  # the handover time back to the contact's arrival
    arrival = np.round(arrival, 6)  # float noise of the subtraction
    first["arrival"] = arrival
    first = first[(first["arrival"] >= 0) & (first["arrival"] < horizon_s)]
    first = first.sort_values(["arrival", "seq"], kind="stable")
    keys = list(zip(first["id"], first["attempt"]))
    created = pd.Timestamp(START) + pd.to_timedelta(first["arrival"].to_numpy(), unit="s")
    out = pd.DataFrame(
        {
            "ticket_id": first["id"].astype("int64").to_numpy(),
            "created_at": [s[:23] + "Z" for s in created.strftime("%Y-%m-%dT%H:%M:%S.%f")],
            "channel": first["channel"].to_numpy(),
            "category": first["category"].to_numpy(),
            "language": first["language"].to_numpy(),
            "vip": first["vip"].astype("int64").to_numpy(),
            "outcome": first["outcome"].to_numpy(),
            "wait_s": first["wait_s"].astype(float).round(3).to_numpy(),
            "handle_s": first["handle_s"].astype(float).round(3).to_numpy(),
            "escalated": np.array([int(k in escalated_keys) for k in keys], dtype=np.int64),
            "retry": (first["attempt"].to_numpy() > 0).astype(np.int64),
            "attempt": first["attempt"].astype("int64").to_numpy(),
        }
    )
    out["_arrival_s"] = first["arrival"].to_numpy()
    return out.reset_index(drop=True)


def volume_report(log: Any, channels: Sequence[str], horizon_s: float) -> Any:
    """The log as a 15-minute interval report per channel (every interval, zero rows too)."""
    import pandas as pd

    n = math.ceil(horizon_s / INTERVAL_S)
    k = (log["_arrival_s"].to_numpy() // INTERVAL_S).astype(np.int64)
    frames = []
    for ch in channels:
        sel = (log["channel"] == ch).to_numpy()
        outcome = log["outcome"].to_numpy()[sel]
        kk = k[sel]
        human = outcome != "deflected"
        ans = outcome == "answered"
        offered = np.bincount(kk[human], minlength=n)
        answered = np.bincount(kk[ans], minlength=n)
        abandoned = np.bincount(kk[outcome == "abandoned"], minlength=n)
        handle = np.bincount(kk[ans], weights=log["handle_s"].to_numpy()[sel][ans], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            aht = np.where(answered > 0, handle / np.maximum(answered, 1), np.nan)
        starts = pd.Timestamp(START) + pd.to_timedelta(np.arange(n) * INTERVAL_S, unit="s")
        frames.append(pd.DataFrame({
            "interval_start": starts.strftime("%Y-%m-%dT%H:%M:%SZ"), "channel": ch,
            "offered": offered.astype(np.int64), "answered": answered.astype(np.int64),
            "abandoned": abandoned.astype(np.int64), "aht_s": np.round(aht, 3),
        }))  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["interval_start", "channel"], kind="stable").reset_index(drop=True)


def simulator_counts(scenario: Any, result: Any) -> dict[str, Any]:
    """What the simulator itself counted over the window: per channel offered (to a human),
    answered, abandoned, blocked, retrials (its collector) and, per bot channel, contacts
    the bot handled and deflected (its journey sink)."""
    from simsupport.stats import summarize

    doc = summarize(result)
    counts: dict[str, Any] = {"by_channel": {}, "chatbot": {}}
    for ch in scenario.channels:
        block = doc["by_channel"][ch]
        counts["by_channel"][ch] = {
            k: round(block[k]) for k in ("offered", "answered", "abandoned", "blocked", "retrials") if k in block
        }
    for ch, block in (doc.get("chatbot") or {}).items():
        if ch == "all":
            continue
        counts["chatbot"][ch] = {k: round(block[k]) for k in ("bot_handled", "deflected") if k in block}
    j = result.journey
    counts["still_waiting_at_end"] = int(result.in_queue_end)
    counts["journeys_open_at_end"] = int(getattr(j, "open_at_end", 0) or 0) if j is not None else 0
    counts["arrivals_counted"] = int(result.arrivals_counted)
    counts["sim_end_s"] = float(result.sim_end)
    return counts


def generate(out_dir: Path, days: int = 28, seed: int = 7, scale: float = 1.0) -> dict:
    """Writes out_dir/tickets.csv, out_dir/prices.csv, out_dir/truth.yaml (the scenario used)
    and out_dir/volumes.csv (the same history as a 15-minute interval report: interval_start,
    channel, offered, answered, abandoned, aht_s), and simulator_counts.json (the simulator's
    own counts, for checks); returns the truth dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = truth_scenario(days, seed, scale)
    _atomic_write(out_dir / "prices.csv", prices_csv(days, seed))
    _atomic_write(out_dir / "truth.yaml", "# SYNTHETIC: the scenario this history was simulated from\n" + _yaml_text(truth))
    scenario, result = simulate_truth(truth, out_dir)
    horizon_s = float(scenario.horizon)
    log = ticket_log(result.tickets, horizon_s, scenario.chatbot.channels if scenario.chatbot else ())
    volumes = volume_report(log, list(scenario.channels), horizon_s)
    counts = simulator_counts(scenario, result)
    counts["log_rows"] = len(log)
    _atomic_frame(out_dir / "tickets.csv", log[list(TICKET_COLUMNS)])
    _atomic_frame(out_dir / "volumes.csv", volumes[list(VOLUME_COLUMNS)])
    _atomic_write(out_dir / "simulator_counts.json", json.dumps(counts, indent=2) + "\n")
    return truth


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every arrival rate (staffing follows)")
    args = ap.parse_args(argv)
    wall = time.perf_counter()
    generate(args.out, args.days, args.seed, args.scale)
    counts = json.loads((args.out / "simulator_counts.json").read_text())
    print(f"wrote {args.out}/: tickets.csv ({counts['log_rows']:,} rows), volumes.csv, prices.csv, truth.yaml, "
          f"simulator_counts.json in {time.perf_counter() - wall:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
