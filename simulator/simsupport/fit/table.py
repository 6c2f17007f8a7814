"""Every estimate of a fit as one tidy table (a row per number: what, value, 95% CI, n), the
same table the console prints in brief and the fit report lists in full."""

from __future__ import annotations

import math
from typing import Any

from .estimate import Estimate
from .learn import FitResult

COLUMNS = ("section", "channel", "item", "value", "lo", "hi", "se", "n", "basis", "unit", "note")


def _row(section: str, channel: str, item: str, e: Estimate, unit: str = "", note: str = "") -> dict[str, Any]:
    return {"section": section, "channel": channel, "item": item, "value": e.value, "lo": e.lo, "hi": e.hi, "se": e.se, "n": e.n,
            "basis": e.basis, "unit": unit, "note": note or "; ".join(e.warnings)}


def estimate_rows(res: FitResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, f in res.arrivals.items():
        rows.append(_row("arrivals", name, "rate (calm)" if res.prices is not None else "rate", f.rate, "/h"))
        days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        for d in range(7):
            rows.append(_row("arrivals", name, f"weekly {days[d]}",
                             Estimate(f.weekly[d], f.weekly_lo[d], f.weekly_hi[d], f.n_days, math.nan, "days")))
        for s in range(len(f.daily)):
            hh, mm = divmod(s * 1440 // len(f.daily), 60)
            rows.append(_row("arrivals", name, f"daily {hh:02d}:{mm:02d}",
                             Estimate(f.daily[s], f.daily_lo[s], f.daily_hi[s], f.n_days, math.nan, "days"),
                             note=f"raw {f.daily_raw[s]:.3f}"))
        if f.elasticity is not None:
            rows.append(_row("market", name, "elasticity", f.elasticity))
        rows.append(_row("arrivals", name, "overdispersion cv", f.cv))
        rows.append({"section": "arrivals", "channel": name, "item": "Pearson dispersion", "value": f.dispersion,
                     "lo": math.nan, "hi": math.nan, "se": math.nan, "n": len(f.expected), "basis": "intervals", "unit": "",
                     "note": "chi2/df of interval counts; 1 = Poisson given the day level"})
    if res.elasticity is not None:
        el = res.elasticity
        rows.append(_row("market", "", "elasticity (pooled)", el.pooled,
                         note=f"homogeneity p={el.p_value:.3g}; written {'per channel' if el.differ else 'pooled'}"))
    if res.overdispersion is not None:
        rows.append(_row("market", "", "overdispersion cv (pooled)", res.overdispersion))
    if res.mix is not None:
        for k, e in res.mix.shares.items():
            rows.append(_row("mix", "", f"share at calm: {k}", e))
        for k, e in res.mix.weights.items():
            rows.append(_row("mix", "", f"volatility_weight: {k}", e, note=f"relative to {res.mix.reference}"))
    for label, fit in (("category share", res.categories), ("language share", res.languages)):
        if fit is None:
            continue
        for k, e in fit.overall.items():
            rows.append(_row("shares", "", f"{label}: {k}", e))
        for ch, shares in fit.by_channel.items():
            note = "differs from overall" if fit.channel_differs.get(ch) else ""
            for k, e in shares.items():
                rows.append(_row("shares", ch, f"{label}: {k}", e, note=note))
    if res.vip is not None:
        rows.append(_row("shares", "", "vip share", res.vip))
    for cat, h in (res.handle or {}).items():
        fit = h.fit
        if fit.dist is None:
            continue
        note = f"{fit.dist} by AIC; KS p={fit.ks_p if fit.ks_p is not None else float('nan'):.3g}" + ("; " + "; ".join(fit.warnings) if fit.warnings else "")
        rows.append(_row("handle", "", f"{cat} mean", fit.mean, "s", note))
        if fit.cv is not None:
            rows.append(_row("handle", "", f"{cat} cv", fit.cv))
        for ch, e in getattr(h, "multipliers_all", h.by_channel).items():
            kept = "kept" if ch in h.by_channel else "dropped (not different from 1)"
            rows.append(_row("handle", ch, f"{cat} by_channel", e, note=kept))
    for name, e in res.aht.items():
        rows.append(_row("handle", name, "AHT (interval report)", e, "s"))
    for ch, p in (res.patience or {}).items():
        if p.dist is None:
            rows.append({"section": "patience", "channel": ch, "item": "patience", "value": math.inf, "lo": math.nan,
                         "hi": math.nan, "se": math.nan, "n": p.n_answered, "basis": "waits", "unit": "s", "note": "nobody abandoned"})
            continue
        rows.append(_row("patience", ch, "mean (censored fit)", p.mean, "s", f"{p.dist}; " + "; ".join(p.warnings)))
        if p.cv is not None:
            rows.append(_row("patience", ch, "cv", p.cv))
        if p.naive_mean is not None:
            rows.append(_row("patience", ch, "naive mean of abandoned waits", p.naive_mean, "s",
                             "biased low: shown for comparison only"))
    d = res.deflection
    if d is not None:
        rows.append(_row("chatbot", ",".join(d.channels), "deflection", d.default))
        for k, e in d.by_category.items():
            rows.append(_row("chatbot", ",".join(d.channels), f"deflection: {k}", e))
    esc = res.escalation
    if esc is not None:
        rows.append(_row("escalation", "", "escalated", esc.default))
        for k, e in esc.by_category.items():
            rows.append(_row("escalation", "", f"escalated: {k}", e))
    r = res.retry
    if r is not None:
        if getattr(r, "overall", None) is not None:
            rows.append(_row("retry", "", "retry probability", r.overall))
        for ch, e in (getattr(r, "by_channel", None) or {}).items():
            rows.append(_row("retry", ch, "retry probability", e))
    return rows
