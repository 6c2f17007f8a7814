"""What `simsupport staff` writes: the staffing table, every target's achieved level, the scenario
with the recommended staffing (ready to run), the search's log, and the day plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config.base import on_duty
from ..config.derived import display_zone
from ..config.schema import Scenario
from ..staffing.requirements import PoolNeed, _coverage
from ..staffing.search import SearchResult
from ..staffing.targets import achieved_frame
from ..staffing.variables import Variable, apply_to_tree, current
from .files import atomic_write, write_json, write_table
from .yaml_edit import NotInPlace, YamlText, relink


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


def achieved(result: SearchResult) -> pd.DataFrame:
    """achieved.csv: every measure of every staffing target, always (NaN and met False where the
    staffing could not be judged), plus a row per failing hour or interval of per-period targets."""
    return achieved_frame(result.evaluation.results)


def write_staffed_scenario(src: Path, vars_: list[Variable], x: dict[str, int], out: Path) -> Path:
    """The scenario file with the recommended headcounts and nothing else changed: each number
    replaced where it stands, so comments, quotes, flow mappings over several lines, aligned
    columns and indentation stay the author's (a diff shows the new headcounts only, under a
    first line saying where the file came from); relative data files (empirical handle times,
    price series) still found from `out`."""
    text = src.read_text(encoding="utf-8")
    src_dir, out_dir = src.resolve().parent, out.resolve().parent
    try:
        doc = YamlText(text)
        for pool in doc.tree.get("pools", []):
            for v in vars_:
                if pool.get("name") == v.pool and v.label in x:
                    node = pool if v.shift is None else pool["shifts"][v.shift]
                    doc.set_value(node, "agents", int(x[v.label]))
        relink(doc.tree, src_dir, out_dir, doc.set_value)
        body = doc.text()
    except NotInPlace:  # e.g. a pool without an `agents` line to change: ruamel writes it all
        doc = YamlText(text)
        apply_to_tree(doc.tree, vars_, dict(x))
        relink(doc.tree, src_dir, out_dir, lambda node, key, value: node.__setitem__(key, value))
        body = doc.dump()
    header = f"# staffing recommended by `simsupport staff` from {src.name}\n"
    return atomic_write(out, lambda p: p.write_text(header + body, encoding="utf-8"))


def on_duty_profile(s: Scenario, v_pool: str, x: dict[str, int], vars_: list[Variable], t: np.ndarray) -> np.ndarray:
    """Agents of a pool on duty in each hour of the first week under staffing x."""
    spec = s.pool(v_pool)
    mine = [v for v in vars_ if v.pool == v_pool]
    if len(mine) == 1 and mine[0].shift is None:  # 24x7, or follow_the_sun's three equal shifts
        return np.full(len(t), float(on_duty(x[mine[0].label], spec.shrinkage)))
    cover = _coverage(s, v_pool, t)
    return sum(cover[v.shift] * on_duty(x[v.label], spec.shrinkage) for v in mine)  # type: ignore[return-value]


def _tier_rows(s: Scenario, width: int) -> list[list[str]]:
    """Pools grouped by tier (tiers in order of first appearance), at most `width` a row."""
    tiers: dict[str, list[str]] = {}
    for p in s.pools:
        tiers.setdefault(p.tier, []).append(p.name)
    return [names[i : i + width] for names in tiers.values() for i in range(0, len(names), width)]


def day_figure(
    s: Scenario, needs: list[PoolNeed], vars_: list[Variable], result: SearchResult, tz: str | None = None
) -> Any:
    """The figure of `day_plot`: one panel per pool (searched, kept or idle), a row per tier, hours
    on the clock of `tz` (None: display_zone(s)), the planners' clock rather than UTC."""
    # matplotlib only when the plot is drawn: `staff --no-plots` does without its import
    from matplotlib.figure import Figure

    from .plots import COLORS

    by_pool = {n.pool: n for n in needs}
    rows = _tier_rows(s, 4)
    cols = max(len(r) for r in rows)
    fig = Figure(figsize=(max(3.9 * cols, 7.0), 2.6 * len(rows) + 1.3), layout="constrained")
    grid = fig.subplots(len(rows), cols, squeeze=False)
    full = {v.label: result.x.get(v.label, v.current) for v in vars_}
    searched = {v.pool for v in vars_ if v.label in result.x}
    h = np.arange(25)
    zone = display_zone(s, tz)
    for r, names in enumerate(rows):
        for c in range(cols):
            ax = grid[r][c]
            if c >= len(names):
                fig.delaxes(ax)
                continue
            name = names[c]
            spec, need = s.pool(name), by_pool[name]
            hour = pd.to_datetime(need.t + s.start.timestamp(), unit="s", utc=True).tz_convert(zone).hour.to_numpy()

            def by_hour(values: np.ndarray, hour: np.ndarray = hour) -> np.ndarray:
                day = np.array([values[hour == k].mean() if (hour == k).any() else 0.0 for k in range(24)])
                return np.append(day, day[-1])  # the last hour drawn to 24:00

            rec = on_duty_profile(s, name, full, vars_, need.t)
            cur = on_duty_profile(s, name, current(vars_), vars_, need.t)
            ax.fill_between(h, 0, by_hour(need.load), step="post", color="0.86", label="offered load (Erlangs)")
            ax.step(h, by_hour(need.agents), where="post", color=COLORS[1], lw=1.3, ls="--", zorder=5,
                    label="hourly Erlang estimate")  # fmt: skip
            ax.step(h, by_hour(cur), where="post", color="0.35", lw=1.2, ls=":", label="on duty now")
            ax.step(h, by_hour(rec), where="post", color=COLORS[0], lw=2.0, clip_on=False, zorder=4,
                    label="on duty, recommended" if result.feasible else "on duty, best found")  # fmt: skip
            status = "searched" if name in searched else "kept as is"
            if need.load.sum() <= 0:
                status += ", no work reaches it"
            ax.set_title(f"{name}  (tier {spec.tier}; {status})", loc="left", fontsize=9)
            ax.set_xlim(0, 24)
            ax.set_xticks(range(0, 25, 6))
            ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]))
            ax.grid(alpha=0.3)
            if c == 0:
                ax.set_ylabel("agents / Erlangs", fontsize=8)
            if r == len(rows) - 1 or c >= len(rows[r + 1]):
                ax.set_xlabel(f"hour of day ({zone})", fontsize=8)
            ax.tick_params(labelsize=8)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4 if cols > 1 else 2, fontsize=8, frameon=False)
    what = "recommended" if result.feasible else "best staffing found (it misses a target)"
    fig.suptitle(f"{s.name}: agents on duty over the day, {what}\n(hourly means over the week, by tier)", fontsize=11)
    return fig


def day_plot(
    s: Scenario, needs: list[PoolNeed], vars_: list[Variable], result: SearchResult, path: Path, tz: str | None = None
) -> Path:
    """Per pool, over the hours of the day (the clock of `tz`, averaged over the week): the
    offered load, the agents the hourly Erlang estimate asks for, and the agents on duty now and
    recommended."""
    from .plots import _save

    return _save(day_figure(s, needs, vars_, result, tz), path)


def write_staffing(
    s: Scenario, src: Path, vars_: list[Variable], needs: list[PoolNeed], result: SearchResult, out: Path,
    *, plots: bool = True, settings: dict[str, Any] | None = None, tz: str | None = None,
) -> list[Path]:  # fmt: skip
    """Everything `staff` writes; the plot's hours on the clock of `tz` (None: display_zone(s))."""
    table = staffing_frame(vars_, result)
    judged = achieved(result)
    written = [
        write_table(out / "staffing.csv", table),
        write_table(out / "staffing.parquet", table),
        write_table(out / "achieved.csv", judged),
        write_staffed_scenario(src, vars_, result.x, out / f"{s.name}-staffed.yaml"),
        write_json(out / "search.json", {
            "scenario": s.name, "feasible": result.feasible, "settings": settings or {},
            "weekly_cost": float(table["weekly_cost"].sum()),
            "weekly_cost_in_scenario": float(table["weekly_cost_in_scenario"].sum()),
            "evaluations": result.evaluations, "replications_run": result.replications_run,
            "replications_reused": result.replications_reused, "wall_s": result.wall_s,
            "targets": [r.label for r in result.evaluation.results],
            "missed": [r.label for r in result.evaluation.missed()], "error": result.evaluation.error,
            "stop": result.stop, "swap": result.swap,
            "binding": result.binding, "straddle": result.straddle, "history": result.history,
        }),  # fmt: skip
    ]
    if plots:
        written.append(day_plot(s, needs, vars_, result, out / "staffing.png", tz))
    return written
