"""What `simsupport sweep` writes: tidy tables, the paired policy comparisons, and the curves.

- replications.parquet/.csv: one row per point and replication, every metric a column;
- points.parquet/.csv: one row per point and metric: mean, 95% CI half-width, n;
- points_long.csv: the channels' metrics tidily, one row per point, channel and metric (point,
  the swept values, channel: a channel's name or `all` for the whole desk, metric, mean, ci95),
  for a pivot or a plot without splitting dotted metric names;
- comparisons.parquet/.csv (with policies): per point group, each policy against the first, the
  paired difference (same replication k, same random streams) with its 95% CI;
- experiment.json: what the plots need to redraw (`simsupport plot DIR`);
- waiting_time_curves.png, sla_breach_curves.png, policy_comparison.png.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.spec import Experiment
from ..experiment.statistics import mean_ci95
from ..experiment.sweep import SweepRun
from .files import write_json, write_table


def label_value(v: Any) -> Any:
    """A swept value as the tables hold it: a scalar as is, a mapping or list as sorted JSON."""
    return v if isinstance(v, (int, float, str, bool)) or v is None else json.dumps(v, sort_keys=True)


def replication_frame(exp: Experiment, run: SweepRun) -> pd.DataFrame:
    rows = []
    for p in exp.points:
        for k, res in sorted(run.results[p.index].items()):
            row: dict[str, Any] = {"point": p.index, "point_key": p.key}
            row.update({d: label_value(p.labels.get(d)) for d in exp.dims})
            row.update(replication=k, wall_s=res.get("wall_s"), tickets=res.get("tickets"))
            row.update(res["metrics"])
            rows.append(row)
    df = pd.DataFrame(rows)
    undefined = [c for c in _metric_columns(df, exp.dims) if df[c].dtype == object]  # all null: undefined
    return df.astype({c: float for c in undefined})


RUN_COLUMNS = ("point", "point_key", "replication", "wall_s", "tickets")


def _metric_columns(df: pd.DataFrame, dims: list[str]) -> list[str]:
    """Metric columns: everything but the run's own columns and the swept paths (dotted too)."""
    return [c for c in df.columns if c not in RUN_COLUMNS and c not in dims]


def point_frame(exp: Experiment, reps: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI of every metric per point (long: one row per point and metric)."""
    rows = []
    metrics = _metric_columns(reps, exp.dims)
    for p in exp.points:
        sub = reps[reps["point"] == p.index]
        if sub.empty:
            continue
        labels = {d: label_value(p.labels.get(d)) for d in exp.dims}
        for m in metrics:
            vals = sub[m].to_numpy(dtype=float)
            mean, half = mean_ci95(vals)
            n = int(np.isfinite(vals).sum())
            rows.append({"point": p.index, **labels, "metric": m, "mean": mean, "ci95": half, "n": n})
    return pd.DataFrame(rows)


def points_long_frame(exp: Experiment, points: pd.DataFrame) -> pd.DataFrame:
    """points_long.csv: `overall.all.X` and `by_channel.C.X` of the points table as rows
    (point, swept values, channel, metric, mean, ci95); channel `all` is the whole desk."""
    cols = ["point", *exp.dims, "channel", "metric", "mean", "ci95"]
    if points.empty:
        return pd.DataFrame(columns=cols)
    parts = points["metric"].str.extract(r"^(overall|by_channel)\.(.+)\.([^.]+)$")  # names may hold dots
    keep = ((parts[0] == "overall") & (parts[1] == "all")) | (parts[0] == "by_channel")
    out = points.loc[keep, ["point", *exp.dims, "mean", "ci95"]].copy()
    out.insert(1 + len(exp.dims), "channel", parts.loc[keep, 1])
    out.insert(2 + len(exp.dims), "metric", parts.loc[keep, 2])
    return out[cols].reset_index(drop=True)


def comparison_frame(exp: Experiment, reps: pd.DataFrame) -> pd.DataFrame:
    """Each policy against the first, paired by replication within each group of other labels."""
    if "policy" not in exp.dims or reps.empty:
        return pd.DataFrame()
    policies = list(exp.spec.sweep.policies)
    ref = policies[0]
    others = [d for d in exp.dims if d != "policy"]
    metrics = _metric_columns(reps, exp.dims)
    rows = []
    groups = reps.groupby(others, dropna=False, sort=False) if others else [((), reps)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        base = g[g["policy"] == ref].set_index("replication")
        for pol in policies[1:]:
            alt = g[g["policy"] == pol].set_index("replication")
            common = base.index.intersection(alt.index)
            if len(common) == 0:
                continue
            diffs = alt.loc[common, metrics].to_numpy(dtype=float) - base.loc[common, metrics].to_numpy(dtype=float)
            for j, m in enumerate(metrics):
                mean, half = mean_ci95(diffs[:, j])
                rows.append({**dict(zip(others, key)), "policy": pol, "reference": ref, "metric": m,
                             "difference": mean, "ci95": half, "n": int(np.isfinite(diffs[:, j]).sum())})  # fmt: skip
    return pd.DataFrame(rows)


def manifest(exp: Experiment, run: SweepRun) -> dict[str, Any]:
    return {
        "experiment": exp.spec.name,
        "description": exp.spec.description,
        "base": str(exp.spec.base),
        "dims": exp.dims,
        "x": exp.x,
        "lines": exp.lines,
        "policies": list(exp.spec.sweep.policies),
        "channels": list(exp.points[0].scenario.channels) if exp.points else [],
        "targets": {
            name: ch.sla.target for name, ch in (exp.points[0].scenario.channels.items() if exp.points else []) if ch.sla
        },
        "points": [
            {"point": p.index, "key": p.key, "labels": {k: label_value(v) for k, v in p.labels.items()},
             "replications": len(run.results[p.index])}  # fmt: skip
            for p in exp.points
        ],
        "failures": [{"point": p.index, "label": p.label, "replication": k, "error": e} for p, k, e in run.failures],
        "unmet_precision": [{"point": p.index, "label": p.label, "metric": m, "half_width": h} for p, m, h in run.unmet],
        "tasks_run": run.ran,
        "tasks_reused": run.reused,
        "wall_s": run.wall_s,
    }


def write_sweep(exp: Experiment, run: SweepRun, out: Path, *, plots: bool = True) -> list[Path]:
    """experiment.json and the tables; with failed tasks only what finished (experiment.json
    naming the failures, replications.*): no points, comparisons or curves from partial data."""
    reps = replication_frame(exp, run)
    written = [write_json(out / "experiment.json", manifest(exp, run))]
    if reps.empty:
        return written
    if run.failures:
        written.append(write_table(out / "replications.parquet", reps))
        written.append(write_table(out / "replications.csv", reps))
        return written
    points = point_frame(exp, reps)
    comps = comparison_frame(exp, reps)
    for name, frame in (("replications", reps), ("points", points), ("comparisons", comps)):
        if frame.empty:
            continue
        written.append(write_table(out / f"{name}.parquet", frame))
        written.append(write_table(out / f"{name}.csv", frame))
        if name == "points":
            written.append(write_table(out / "points_long.csv", points_long_frame(exp, frame)))
    if plots:
        written += draw(out)
    return written


def draw(out: Path) -> list[Path]:
    """(Re)draw a sweep's plots from its stored tables."""
    from .sweep_plots import breach_curves, policy_chart, waiting_curves

    info = json.loads((out / "experiment.json").read_text(encoding="utf-8"))
    points = pd.read_parquet(out / "points.parquet")
    written = []
    if info["x"] is not None:
        written.append(waiting_curves(points, info, out / "waiting_time_curves.png"))
        written.append(breach_curves(points, info, out / "sla_breach_curves.png"))
    comp = out / "comparisons.parquet"
    if comp.is_file():
        written.append(policy_chart(pd.read_parquet(comp), info, out / "policy_comparison.png"))
    return written


def metric_names(results: Sequence[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for r in results:
        names |= set(r["metrics"])
    return names

