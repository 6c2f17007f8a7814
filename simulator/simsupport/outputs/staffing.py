"""What `simsupport staff` writes: the staffing table, the achieved service levels, the scenario
with the recommended staffing (ready to run), the search's log, and the day plot."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from ..config.base import on_duty
from ..config.schema import Scenario
from ..staffing.requirements import PoolNeed, _coverage
from ..staffing.search import SearchResult
from ..staffing.variables import Variable, apply_to_tree, current
from .files import atomic_write, write_json, write_table


def staffing_frame(vars_: list[Variable], result: SearchResult) -> pd.DataFrame:
    rows = []
    for v in vars_:
        cur = v.current
        rec = result.x.get(v.label, cur)  # decisions the search did not judge are kept
        rows.append({
            "pool": v.pool, "shift": v.label.split("/", 1)[1] if "/" in v.label else "", "recommended": rec,
            "in_scenario": cur, "analytic_start": result.start.get(v.label, cur), "change": rec - cur,
            "hours_per_week": v.hours_per_week, "cost_per_hour": v.cost_per_hour,
            "weekly_cost": rec * v.weekly_cost, "weekly_cost_in_scenario": cur * v.weekly_cost,
            "at_bound": "max" if rec >= v.hi else ("min" if rec <= v.lo and v.lo > 0 else ""),
            "searched": v.label in result.x,
        })  # fmt: skip
    return pd.DataFrame(rows)


def achieved_frame(result: SearchResult) -> pd.DataFrame:
    e = result.evaluation
    rows = []
    for (ch, scope), (mean, half) in sorted(e.levels.items()):
        lb = e.lower((ch, scope))
        rows.append({"channel": ch, "scope": scope, "target": e.targets[ch], "service_level": mean, "ci95": half,
                     "lower_bound": lb, "met": bool(lb >= e.targets[ch])})  # fmt: skip
    return pd.DataFrame(rows)


def write_staffed_scenario(src: Path, vars_: list[Variable], x: dict[str, int], out: Path) -> Path:
    """The scenario file with the recommended headcounts, comments, quotes and layout kept;
    relative data files (empirical handle times, price series) still found from `out`."""
    yaml = YAML()
    yaml.preserve_quotes = True
    tree = yaml.load(src.read_text(encoding="utf-8"))
    apply_to_tree(tree, vars_, {k: v for k, v in x.items()})
    _relink(tree, src.resolve().parent, out.resolve().parent)

    def write(p: Path) -> None:
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(f"# staffing recommended by `simsupport staff` from {src.name}\n")
            yaml.dump(tree, fh)

    return atomic_write(out, write)


def _relink(node: Any, src_dir: Path, out_dir: Path) -> None:
    """Rewrite relative `file:` paths that exist beside the source so they work from out_dir."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "path") and isinstance(value, str) and not os.path.isabs(value):
                target = src_dir / value
                if target.exists():
                    node[key] = os.path.relpath(target, out_dir)
            else:
                _relink(value, src_dir, out_dir)
    elif isinstance(node, list):
        for item in node:
            _relink(item, src_dir, out_dir)


def on_duty_profile(s: Scenario, v_pool: str, x: dict[str, int], vars_: list[Variable], t: np.ndarray) -> np.ndarray:
    """Agents of a pool on duty in each hour of the first week under staffing x."""
    spec = s.pool(v_pool)
    mine = [v for v in vars_ if v.pool == v_pool]
    if len(mine) == 1 and mine[0].shift is None:  # 24x7, or follow_the_sun's three equal shifts
        return np.full(len(t), float(on_duty(x[mine[0].label], spec.shrinkage)))
    cover = _coverage(s, v_pool, t)
    return sum(cover[v.shift] * on_duty(x[v.label], spec.shrinkage) for v in mine)  # type: ignore[return-value]


def day_plot(s: Scenario, needs: list[PoolNeed], vars_: list[Variable], result: SearchResult, path: Path) -> Path:
    """Per pool, over the hours of the day (UTC, averaged over the week): the offered load, the
    agents the hourly Erlang estimate asks for, and the agents on duty in the recommendation."""
    # matplotlib only when the plot is drawn: `staff --no-plots` does without its import
    from matplotlib.figure import Figure

    from .plots import COLORS, _save

    shown = [n for n in needs if n.load.sum() > 0]
    cols = min(3, max(len(shown), 1))
    rows = int(math.ceil(max(len(shown), 1) / cols))
    fig = Figure(figsize=(4.4 * cols, 2.9 * rows + 0.9), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax, need in zip(axes, shown):
        hour = ((need.t + s.start.timestamp()) % 86400 // 3600).astype(int)

        def by_hour(values: np.ndarray) -> np.ndarray:
            return np.array([values[hour == h].mean() for h in range(24)])

        full = {v.label: result.x.get(v.label, v.current) for v in vars_}
        rec = on_duty_profile(s, need.pool, full, vars_, need.t)
        cur = on_duty_profile(s, need.pool, current(vars_), vars_, need.t)
        h = np.arange(24)
        ax.fill_between(h, 0, by_hour(need.load), step="post", color="0.85", label="offered load (Erlangs)")
        ax.step(h, by_hour(need.agents), where="post", color=COLORS[1], lw=1.4, ls="--", label="hourly Erlang estimate")
        ax.step(h, by_hour(cur), where="post", color="0.4", lw=1.2, ls=":", label="on duty now")
        ax.step(h, by_hour(rec), where="post", color=COLORS[0], lw=2.0, label="on duty, recommended")
        ax.set_title(need.pool, loc="left", fontsize=10)
        ax.set_xlim(0, 23)
        ax.set_xticks(range(0, 24, 3))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    if shown:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
        for ax in axes[max(0, len(shown) - cols) : len(shown)]:
            ax.set_xlabel("hour of day (UTC)")
    fig.suptitle(f"{s.name}: agents over the day, recommended against the load", fontsize=12)
    return _save(fig, path)


def write_staffing(
    s: Scenario, src: Path, vars_: list[Variable], needs: list[PoolNeed], result: SearchResult, out: Path,
    *, plots: bool = True, settings: dict[str, Any] | None = None,
) -> list[Path]:  # fmt: skip
    table = staffing_frame(vars_, result)
    achieved = achieved_frame(result)
    written = [
        write_table(out / "staffing.csv", table),
        write_table(out / "staffing.parquet", table),
        write_table(out / "achieved.csv", achieved),
        write_staffed_scenario(src, vars_, result.x, out / f"{s.name}-staffed.yaml"),
        write_json(out / "search.json", {
            "scenario": s.name, "feasible": result.feasible, "settings": settings or {},
            "weekly_cost": float(table["weekly_cost"].sum()),
            "weekly_cost_in_scenario": float(table["weekly_cost_in_scenario"].sum()),
            "evaluations": result.evaluations, "replications_run": result.replications_run,
            "replications_reused": result.replications_reused, "wall_s": result.wall_s,
            "binding": result.binding, "straddle": result.straddle, "history": result.history,
        }),  # fmt: skip
    ]
    if plots:
        written.append(day_plot(s, needs, vars_, result, out / "staffing.png"))
    return written
