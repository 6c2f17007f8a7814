"""The fitted scenario as a YAML tree: every estimate with its 95% interval and n as a comment.

Without a base scenario the desk is a starting point: one pool per channel and language group,
staffed hour by hour from the analytic (Erlang A, or C where nobody abandons) requirement for a
default service level. With a base scenario its pools, routing, SLAs and everything the data do
not speak to stay as written; only what the history says is replaced.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..theory.staffing import min_agents_erlang_a, min_agents_erlang_c
from .estimate import Estimate
from .learn import FitResult
from .patience import scenario_patience
from .service import scenario_distribution

OWN_POOL_SHARE = 0.15  # a language with at least this share of a channel gets its own pool
LIVE_SLA = {"answer_within": "60s", "target": 0.8}
BACKLOG_SLA = {"first_response_within": "8h", "target": 0.9}


def _flow(values: list[float] | dict[str, Any]) -> Any:
    if isinstance(values, dict):
        m = CommentedMap(values)
        m.fa.set_flow_style()
        return m
    s = CommentedSeq(values)
    s.fa.set_flow_style()
    return s


def _note(m: CommentedMap, key: str, text: str) -> None:
    m.yaml_add_eol_comment(text, key)


def _secs(x: float) -> str:
    return f"{x:.1f}s" if x < 600 else f"{x / 60:.2f}min"


def _dist(d: dict[str, Any]) -> CommentedMap:
    out = {"dist": d["dist"], "mean": _secs(float(d["mean"]))}
    if d.get("cv") is not None:
        out["cv"] = round(float(d["cv"]), 3)
    return _flow(out)


def _ci(e: Estimate, fmt: str = "{:.4g}", unit: str = "") -> str:
    return e.comment(fmt, unit)


def _weights(w: np.ndarray) -> CommentedSeq:
    return _flow([round(float(v), 3) for v in w])


def _shares_of(fit: Any, channel: str | None = None) -> dict[str, Estimate] | None:
    """Shares (overall, or one channel's) from a shares fit."""
    if fit is None:
        return None
    if channel is None:
        return dict(fit.overall)
    return dict(fit.by_channel.get(channel, {})) or None


def _round_shares(shares: dict[str, Estimate]) -> dict[str, float]:
    """Shares rounded to 4 places that still sum to exactly 1 (the largest takes the rest)."""
    vals = {k: round(max(e.value, 0.0), 4) for k, e in shares.items() if e.value > 0}
    big = max(vals, key=lambda k: vals[k])
    vals[big] = round(1.0 - sum(v for k, v in vals.items() if k != big), 4)
    return vals


def build_tree(res: FitResult, base: Any | None = None, name: str = "fitted", price_file: str | None = None) -> CommentedMap:
    """The scenario tree; `base` is the base scenario's round-trip tree (ruamel) or None."""
    tree = base if base is not None else CommentedMap()
    lo, hi = _run_window(res)
    days = (hi - lo).days or 1
    if base is None:
        tree["name"] = name
        tree["description"] = (
            f"Fitted by simsupport fit from {res.source} ({lo:%Y-%m-%d} to {hi - pd.Timedelta(seconds=1):%Y-%m-%d}). "
            "A starting point: the pools are staffed hour by hour from analytic requirements for default "
            "service levels; replace them with the real roster, or use `simsupport staff` / `schedule`."
        )
        tree["start"] = lo.to_pydatetime().isoformat().replace("+00:00", "Z")
        tree["horizon"] = f"{min(days, 7)}d"
        tree["warmup"] = "0s"
        tree["interval"] = "15min"
        tree["replications"] = 10
        tree["seed"] = 1
    _customers(tree, res)
    _categories(tree, res)
    _channels(tree, res, base is None)
    if res.prices is not None:
        _market(tree, res, price_file or res.prices.path)
    elif res.overdispersion is not None and res.overdispersion.value > 0 and "market" not in tree:
        # no prices: no market to replay, but busy and quiet days still happen
        m = CommentedMap()
        m["model"] = "none"
        resp = m.setdefault("response", CommentedMap())
        _overdispersion(resp, res)
        tree["market"] = m
    if res.deflection is not None and getattr(res.deflection, "channels", None):
        _chatbot(tree, res)
    escalates = _escalates(res)
    if escalates:
        _escalation(tree, res, base is None)
    if base is None:
        tree["pools"] = _pools(res)
        if escalates:
            tree["pools"].append(_second_tier(res))
    return tree


def _escalates(res: FitResult) -> bool:
    e = res.escalation
    return e is not None and e.n_escalated > 0


def _escalation(tree: CommentedMap, res: FitResult, fresh: bool) -> None:
    """Escalation probabilities by category out of the entry tier (L1, or the base's first rule)."""
    e = res.escalation
    esc = tree.setdefault("escalation", CommentedMap())
    entry = "L1" if fresh or not esc else next(iter(esc))
    rule = esc.setdefault(entry, CommentedMap())
    if "to" not in rule:
        rule["to"] = "L2"
    prob = {"default": round(e.default.value, 4)}
    prob.update({k: round(v.value, 4) for k, v in e.by_category.items()})
    rule["prob"] = _flow(prob)
    _note(rule, "prob", f"default {_ci(e.default, '{:.3f}')}; "
          + "; ".join(f"{k} {_ci(v, '{:.3f}')}" for k, v in e.by_category.items()))


def _second_tier(res: FitResult) -> CommentedMap:
    """An L2 pool for every channel and language, sized for the escalated work (the category's
    handle time: the log does not say how long the second tier takes) at 85% occupancy."""
    e = res.escalation
    load = 0.0
    for name, f in res.arrivals.items():
        human = 1.0
        if res.deflection is not None and name in res.deflection.channels:
            human = 1.0 - res.deflection.default.value
        load += f.rate.value / 3600.0 * float(np.max(f.weekly)) * float(np.max(f.daily)) * human * e.default.value * _channel_work(res, name)
    pool = CommentedMap()
    pool["name"] = "l2"
    pool["tier"] = "L2"
    pool["agents"] = max(1, math.ceil(load / 0.85))
    pool.yaml_add_eol_comment("escalated load at the busiest quarter hour / 85% occupancy: a placeholder", "agents")
    return pool


def _run_window(res: FitResult) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The history's window moved on by whole days until the price recording covers its start
    (a replay aligned to the clock cannot start before its first price)."""
    lo, hi = res.window
    if res.prices is not None:
        first = pd.Timestamp(float(res.prices.epoch[0]), unit="s", tz="UTC")
        last = pd.Timestamp(float(res.prices.epoch[-1]), unit="s", tz="UTC")
        while lo < first:
            lo += pd.Timedelta(days=1)
        hi = min(hi, last)
    return lo, max(hi, lo + pd.Timedelta(days=1))


def _customers(tree: CommentedMap, res: FitResult) -> None:
    cust = tree.setdefault("customers", CommentedMap())
    shares = _shares_of(res.languages)
    if shares:
        old = list(cust.get("languages") or {})
        # a base language nobody wrote in stays, at share 0 (its pools still name it)
        cust["languages"] = _flow({**_round_shares(shares), **{k: 0.0 for k in old if k not in shares}})
        n = next(iter(shares.values())).n
        _note(cust, "languages", f"observed shares, n={n:,} contacts"
              + ("; 0: not in the history" if any(k not in shares for k in old) else ""))
    if res.vip is not None and math.isfinite(res.vip.value):
        cust["vip_share"] = round(res.vip.value, 4)
        _note(cust, "vip_share", _ci(res.vip, "{:.3f}"))
    if not cust:
        del tree["customers"]


def _category_names(res: FitResult) -> list[str]:
    if res.categories is not None:
        return sorted(res.categories.overall)
    if res.handle:
        return sorted(res.handle)
    return ["general"]


def _categories(tree: CommentedMap, res: FitResult) -> None:
    cats = tree.setdefault("categories", CommentedMap())
    names = _category_names(res)
    calm = res.mix.shares if res.mix is not None else _shares_of(res.categories)
    rounded = _round_shares(calm) if calm else {names[0]: 1.0}
    for cname in [k for k in cats if k not in names]:
        cats[cname]["share"] = 0.0  # a base category nobody asked about in the history
        _note(cats[cname], "share", "not in the history")
    for cname in names:
        c = cats.setdefault(cname, CommentedMap())
        c["share"] = rounded.get(cname, 0.0)
        if calm and cname in calm:
            _note(c, "share", ("at calm volatility, " if res.mix is not None else "") + _ci(calm[cname], "{:.3f}"))
        h = (res.handle or {}).get(cname)
        if h is not None and h.fit.dist is not None:
            c["handle_time"] = _dist(scenario_distribution(h.fit))
            _note(c, "handle_time", f"{h.fit.dist} by AIC; mean {_ci(h.fit.mean, '{:.0f}', 's')}")
            kept = {ch: v for ch, v in (c.get("by_channel") or {}).items() if ch not in h.multipliers_all}
            kept.update({ch: round(e.value, 3) for ch, e in h.by_channel.items()})
            if kept:
                c["by_channel"] = _flow(kept)
                _note(c, "by_channel", "; ".join(f"{ch} {_ci(e, '{:.2f}')}" for ch, e in h.by_channel.items())
                      or "as in the base scenario")
            elif "by_channel" in c:
                del c["by_channel"]  # the history shows no channel differing
        elif "handle_time" not in c:
            mean = _mean_aht(res)
            c["handle_time"] = _dist({"dist": "exponential", "mean": mean})
            _note(c, "handle_time", "from the interval report's AHT (exponential assumed)" if res.aht else
                  "no handle times in the history: a placeholder, set it")
        if res.mix is not None and cname in res.mix.weights and cname != res.mix.reference:
            w = res.mix.weights[cname]
            c["volatility_weight"] = round(w.value, 3)
            _note(c, "volatility_weight", f"relative to {res.mix.reference}; {_ci(w, '{:.2f}')}")


def _mean_aht(res: FitResult) -> float:
    if not res.aht:
        return 300.0
    n = sum(e.n for e in res.aht.values())
    return sum(e.value * e.n for e in res.aht.values()) / max(n, 1)


LIVE_WORDS = ("phone", "call", "voice", "chat", "social")


def _live(res: FitResult, channel: str) -> bool:
    """A channel answered while the customer waits: somebody abandoned it, or (an interval
    report without waits) its name says phone or chat."""
    p = (res.patience or {}).get(channel)
    if p is not None:
        return p.dist is not None
    return channel in res.abandons or any(w in channel.lower() for w in LIVE_WORDS)


def _channels(tree: CommentedMap, res: FitResult, fresh: bool) -> None:
    chans = tree.setdefault("channels", CommentedMap())
    cat_fit, lang_fit = res.categories, res.languages
    for name, f in res.arrivals.items():
        c = chans.setdefault(name, CommentedMap())
        c["rate"] = f"{f.rate.value:.2f}/h"
        _note(c, "rate", ("at calm volatility; " if res.prices is not None else "") + "mean over day and week; "
              + _ci(f.rate, "{:.1f}", "/h"))
        c["daily_profile"] = _weights(f.daily)
        _note(c, "daily_profile", f"96 quarter hours from 00:00 {res.zones.get(name, res.timezone)}, mean 1; {f.n_days} days")
        c["weekly_profile"] = _weights(f.weekly)
        band = ", ".join(f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(f.weekly_lo, f.weekly_hi, strict=True))
        _note(c, "weekly_profile", f"Mon..Sun; 95% CIs {band}")
        c["timezone"] = res.zones.get(name, res.timezone)
        if res.patience is not None and name in res.patience:
            p = res.patience[name]
            spec = scenario_patience(p)
            c["patience"] = spec if isinstance(spec, str) else _dist(spec)
            if p.dist is None:
                _note(c, "patience", f"nobody abandoned in {p.n_answered:,} waits")
            else:
                _note(c, "patience", f"{p.dist}, censored fit; mean {_ci(p.mean, '{:.0f}', 's')}; "
                      f"{p.n_abandoned:,} abandoned, {p.n_answered:,} answered")
        elif fresh:
            c["patience"] = "none"
            _note(c, "patience", "no waits in the history: nobody abandons until you say otherwise")
        if fresh and "sla" not in c:
            c["sla"] = _flow(dict(LIVE_SLA if _live(res, name) else BACKLOG_SLA))
            _note(c, "sla", "a default target: set the desk's own")
        if cat_fit is not None and name in cat_fit.channel_differs and cat_fit.channel_differs[name]:
            c["categories"] = _flow(_round_shares(cat_fit.by_channel[name]))
            _note(c, "categories", "this channel's own mix (differs from the overall mix, chi-square p < 0.001)")
        if lang_fit is not None and name in lang_fit.channel_differs and lang_fit.channel_differs[name]:
            c["languages"] = _flow(_round_shares(lang_fit.by_channel[name]))
            _note(c, "languages", "this channel's own mix (differs from the overall mix)")
        r = _retry_for(res, name)
        if r is not None:
            retry = c.setdefault("retry", CommentedMap())
            retry["prob"] = round(min(r.value, 0.99), 3)
            retry.setdefault("after", "10min")
            _note(retry, "prob", _ci(r, "{:.3f}") + " (retries per failed contact)")
            c["retry"] = _flow(dict(retry)) if fresh else retry


def _retry_for(res: FitResult, channel: str) -> Estimate | None:
    r = res.retry
    if r is None:
        return None
    per = getattr(r, "by_channel", None)
    e = per.get(channel) if per else getattr(r, "overall", None)
    if e is None or not math.isfinite(e.value) or e.value <= 0:
        return None
    return e


def _market(tree: CommentedMap, res: FitResult, price_file: str) -> None:
    assert res.prices is not None
    m = tree.get("market")
    if m is None or m.get("model") != "replay":
        m = CommentedMap()
        tree["market"] = m
    m["model"] = "replay"
    m["file"] = price_file
    m["align"] = "clock" if _inside_recording(tree, res) else "start"
    m["step"] = f"{res.prices.step:g}s"
    m["window"] = f"{res.prices.window:g}s"
    resp = m.setdefault("response", CommentedMap())
    if res.elasticity is not None:
        el = res.elasticity
        resp["elasticity"] = _flow(el.value()) if el.differ else el.value()
        if el.differ:
            text = "; ".join(f"{c} {_ci(e, '{:.3f}')}" for c, e in el.per_channel.items())
            _note(resp, "elasticity", f"per channel (homogeneity p={el.p_value:.2g}): {text}")
        else:
            _note(resp, "elasticity", f"pooled over channels (homogeneity p={el.p_value:.2g}); {_ci(el.pooled, '{:.3f}')}")
    _overdispersion(resp, res)


def _overdispersion(resp: CommentedMap, res: FitResult) -> None:
    if res.overdispersion is not None and res.overdispersion.value > 0:
        resp["overdispersion"] = _flow({"cv": round(res.overdispersion.value, 3)})
        _note(resp, "overdispersion", "day-level cv after profile, market and Poisson noise; "
              + _ci(res.overdispersion, "{:.3f}"))


def _inside_recording(tree: CommentedMap, res: FitResult) -> bool:
    """Does the scenario start inside the price recording? (A base scenario planning a future
    week replays the recording from its first row instead: align: start.)"""
    assert res.prices is not None
    try:
        start = pd.Timestamp(str(tree.get("start", "")))
    except ValueError:
        return False
    if start is pd.NaT or str(tree.get("start", "")) == "":
        return False
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    return float(res.prices.epoch[0]) <= start.timestamp() <= float(res.prices.epoch[-1])


def _chatbot(tree: CommentedMap, res: FitResult) -> None:
    d = res.deflection
    bot = tree.setdefault("chatbot", CommentedMap())
    bot["channels"] = _flow(list(d.channels))
    dfl = CommentedMap()
    dfl["default"] = round(d.default.value, 3)
    _note(dfl, "default", _ci(d.default, "{:.3f}"))
    by = {k: round(e.value, 3) for k, e in d.by_category.items()}
    if by:
        dfl["by_category"] = _flow(by)
        _note(dfl, "by_category", "; ".join(f"{k} {_ci(e, '{:.3f}')}" for k, e in d.by_category.items()))
    bot["deflection"] = dfl


# -- a starting desk -----------------------------------------------------------------------------
def _groups(shares: dict[str, float]) -> list[list[str]]:
    """Languages with a large share alone, the rest together."""
    big = [k for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= OWN_POOL_SHARE]
    rest = [k for k in shares if k not in big]
    groups = [[k] for k in big]
    if rest:
        groups.append(rest)
    return groups or [list(shares)]


def _channel_work(res: FitResult, channel: str) -> float:
    """Mean handle time (s) of a human contact on a channel, over its category mix."""
    shares = _shares_of(res.categories, channel) or _shares_of(res.categories) or {}
    if not res.handle:
        return _mean_aht(res) if channel not in res.aht else res.aht[channel].value
    total = weight = 0.0
    for cat, h in res.handle.items():
        if h.fit.dist is None:
            continue
        w = shares[cat].value if cat in shares else (1.0 if not shares else 0.0)
        mult = h.by_channel[channel].value if channel in h.by_channel else 1.0
        total += w * h.fit.mean.value * mult
        weight += w
    return total / weight if weight > 0 else _mean_aht(res)


def _hourly(f: Any) -> np.ndarray:
    """Peak-weekday rate per hour of day (per second)."""
    hours = f.daily.reshape(24, -1).mean(axis=1) if len(f.daily) % 24 == 0 else np.full(24, 1.0)
    return f.rate.value / 3600.0 * hours * float(np.max(f.weekly))


def _pools(res: FitResult) -> CommentedSeq:
    pools = CommentedSeq()
    lang_all = {k: e.value for k, e in (_shares_of(res.languages) or {}).items()}
    for name, f in res.arrivals.items():
        langs = {k: e.value for k, e in (_shares_of(res.languages, name) or {}).items()} or lang_all
        work = _channel_work(res, name)
        human = 1.0
        if res.deflection is not None and name in getattr(res.deflection, "channels", ()):
            human = 1.0 - res.deflection.default.value
        p = (res.patience or {}).get(name)
        patience = p.mean.value if p is not None and p.dist is not None else math.inf
        live = _live(res, name)
        threshold, target = (60.0, 0.8) if live else (8 * 3600.0, 0.9)
        for group in _groups(langs) if langs else [[]]:
            share = sum(langs.get(k, 0.0) for k in group) if group else 1.0
            shifts = CommentedSeq()
            agents = []
            for lam in _hourly(f) * share * human:
                if lam <= 0:
                    agents.append(0)
                elif math.isinf(patience):
                    agents.append(min_agents_erlang_c(lam, work, threshold, target))
                else:
                    agents.append(min_agents_erlang_a(lam, work, patience, threshold, target))
            h = 0
            while h < 24:
                k = h
                while k + 1 < 24 and agents[k + 1] == agents[h]:
                    k += 1
                shifts.append(_flow({"start": f"{h:02d}:00", "end": f"{(k + 1) % 24:02d}:00" if k < 23 else "24:00",
                                     "agents": int(agents[h])}))
                h = k + 1
            pool = CommentedMap()
            pool["name"] = f"{name}-{'-'.join(group)}" if group else name
            if group:
                pool["languages"] = _flow(list(group))
            pool["channels"] = _flow([name])
            pool["timezone"] = res.zones.get(name, res.timezone)
            pool["shifts"] = shifts
            pools.append(pool)
            pool.yaml_add_eol_comment(f"analytic requirement per hour for {threshold:g}s/{target:.0%}" if live
                                      else "analytic requirement per hour (backlog)", "shifts")
    return pools
