"""Small inline SVG line charts for the report (hour of day on x, a value with its unit on y):
drawn in Python, escaped here, no matplotlib, so a report can chart what the command did not
plot (and `run --no-plots` still gets one)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from .html import SHARE, show

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
STEPS = (1, 2, 2.5, 5, 10)
SECOND_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)


def nice_ticks(lo: float, hi: float, unit: str | None, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi] (durations at round minutes and hours)."""
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    raw = span / n
    if unit == "s" and raw >= 1:
        step = next((s for s in SECOND_STEPS if s >= raw), SECOND_STEPS[-1] * math.ceil(raw / SECOND_STEPS[-1]))
    else:
        mag = 10 ** math.floor(math.log10(raw))
        step = next(s * mag for s in STEPS if s * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    k = 0
    while start + k * step <= hi + step * 1e-9:
        ticks.append(round(start + k * step, 12))
        k += 1
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


def line_chart(
    x: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    *,
    unit: str | None,
    title: str,
    x_label: str,
    x_ticks: Sequence[tuple[float, str]],
    goals: Mapping[str, float] | None = None,
    x_range: tuple[float, float] | None = None,
    width: int = 720,
    height: int = 270,
) -> str:
    """Lines through (x, y) per series (None: a gap), dashed goal lines in the series' colour."""
    goals = goals or {}
    left, right, top, bottom = 64, 24, 40, 42
    pw, ph = width - left - right, height - top - bottom
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)] + list(goals.values())
    lo = 0.0 if not values or min(values) >= 0 else min(values)
    hi = max(values, default=1.0)
    if unit == SHARE:
        lo, hi = (0.0, 1.0) if lo >= 0 else (lo, max(hi, 1.0))
    ticks = nice_ticks(lo, hi if hi > lo else lo + 1, unit)
    y0, y1 = ticks[0], ticks[-1]
    x0, x1 = x_range if x_range is not None else (min(x), max(x))

    def px(v: float) -> float:
        return left + (v - x0) / ((x1 - x0) or 1) * pw

    def py(v: float) -> float:
        return top + ph - (v - y0) / ((y1 - y0) or 1) * ph

    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{html.escape(title)}" font-family="system-ui,sans-serif" font-size="12">',
           f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="#1d2430">{html.escape(title)}</text>']  # fmt: skip
    for t in ticks:
        y = py(t)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ec"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6472">{html.escape(show(t, unit, 0))}</text>')
    for v, label in x_ticks:
        xx = px(v)
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#5b6472"/>')
        out.append(f'<text x="{xx:.1f}" y="{top + ph + 16}" text-anchor="middle" fill="#5b6472">{html.escape(label)}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#5b6472">{html.escape(x_label)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#c5ccd6"/>')
    legend_x = left + pw
    for i, name in enumerate(reversed(list(series))):
        color = COLORS[(len(series) - 1 - i) % len(COLORS)]
        label = html.escape(name)
        legend_x -= 24 + 7 * len(name)
        out.append(f'<line x1="{legend_x:.0f}" x2="{legend_x + 16:.0f}" y1="30" y2="30" stroke="{color}" stroke-width="2.5"/>')
        out.append(f'<text x="{legend_x + 20:.0f}" y="34" fill="#1d2430">{label}</text>')
    for i, (name, ys) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        if name in goals:
            g = py(goals[name])
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{g:.1f}" y2="{g:.1f}" stroke="{color}" '
                       f'stroke-dasharray="5 4" stroke-width="1.2"><title>{label_goal(name, goals[name], unit)}</title></line>')  # fmt: skip
        run: list[str] = []
        runs: list[list[str]] = []
        for xv, yv in zip(x, ys, strict=True):
            if yv is None or not math.isfinite(yv):
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{px(xv):.1f},{py(yv):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            if len(r) == 1:
                cx, cy = r[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
            else:
                out.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{color}" stroke-width="2"/>')
    out.append("</svg>")
    return "".join(out)


def label_goal(name: str, goal: float, unit: str | None) -> str:
    return html.escape(f"{name}: goal {show(goal, unit)}")
