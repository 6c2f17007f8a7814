"""Baseline files: `<DIR>/<scenario name>.json`.

A baseline keeps, per metric, the value of every replication (the statistical check needs the
spread, not just the mean) and what it was run with: scenario hash, seed, replications, the
horizon override if any, the simsupport version and the date. `check` reruns the scenario with
exactly those settings, so a baseline made with `--horizon 1d --replications 5` is checked the
same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..config.load import load_scenario_with
from ..config.schema import Scenario
from ..errors import ScenarioError
from ..experiment.replications import run_replications
from ..experiment.sweep import flatten
from ..stats.summary import summarize
from ..outputs.files import write_json
from ..outputs.summary import scenario_hash

FORMAT = 1


@dataclass
class Baseline:
    scenario: str
    scenario_hash: str
    seed: int
    replications: int
    horizon: str | None
    version: str
    created: str
    metrics: dict[str, list[float]]  # metric -> value per replication (nan where undefined)
    path: Path | None = None


def run_metrics(scenario: Scenario, workers: int = 1) -> dict[str, list[float]]:
    """Every metric of every replication: metric -> [value of replication 0, 1, ...]."""
    results = run_replications(scenario, scenario.replications, workers=workers)
    flat = [flatten(summarize(r)) for r in results]
    names = sorted(set().union(*flat))
    return {m: [float(f.get(m, math.nan)) for f in flat] for m in names}


load_for_run = load_scenario_with


def make_baseline(path: Path, *, horizon: str | None, replications: int | None, workers: int) -> Baseline:
    s = load_for_run(path, horizon=horizon, replications=replications)
    return Baseline(
        scenario=s.name,
        scenario_hash=scenario_hash(s),
        seed=s.seed,
        replications=s.replications,
        horizon=horizon,
        version=__version__,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        metrics=run_metrics(s, workers),
    )


def baseline_path(folder: Path, scenario_name: str) -> Path:
    return folder / f"{scenario_name}.json"


def write_baseline(b: Baseline, folder: Path) -> Path:
    doc = {
        "format": FORMAT,
        "scenario": b.scenario,
        "scenario_hash": b.scenario_hash,
        "seed": b.seed,
        "replications": b.replications,
        "horizon": b.horizon,
        "simsupport_version": b.version,
        "created": b.created,
        "metrics": b.metrics,
    }
    return write_json(baseline_path(folder, b.scenario), doc)


def read_baseline(path: Path) -> Baseline:
    """A baseline file, or a ScenarioError (exit 2) saying what is wrong with it."""
    if not path.is_file():
        raise ScenarioError(
            f"no baseline for this scenario (looked for {path}); write one with `simsupport baseline "
            f"SCENARIO --out {path.parent}`",
            file=str(path),
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScenarioError(f"the baseline is not readable JSON ({exc}); write it again with `simsupport baseline`", file=str(path)) from None
    need = {"scenario": str, "scenario_hash": str, "seed": int, "replications": int, "metrics": dict}
    for key, kind in need.items():
        if not isinstance(doc, dict) or not isinstance(doc.get(key), kind) or isinstance(doc.get(key), bool):
            raise ScenarioError(
                f"the baseline is corrupt: `{key}` is missing or not a {kind.__name__}; write it again with `simsupport baseline`",
                file=str(path), field=key,
            )  # fmt: skip
    fmt = doc.get("format", FORMAT)
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise ScenarioError("the baseline is corrupt: `format` must be a whole number", file=str(path), field="format")
    if not doc["metrics"]:
        raise ScenarioError(
            "the baseline is corrupt: it has no metrics; write it again with `simsupport baseline`",
            file=str(path), field="metrics",
        )
    if fmt > FORMAT:
        raise ScenarioError(f"the baseline has format {doc['format']}, newer than this simsupport reads ({FORMAT})", file=str(path))
    metrics: dict[str, list[float]] = {}
    for name, values in doc["metrics"].items():
        if not isinstance(values, list) or len(values) != doc["replications"] or not all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            raise ScenarioError(
                f"the baseline is corrupt: metric {name!r} needs {doc['replications']} numbers (one per replication)",
                file=str(path), field=f"metrics.{name}",
            )  # fmt: skip
        metrics[name] = [math.nan if v is None else float(v) for v in values]
    return Baseline(
        scenario=doc["scenario"],
        scenario_hash=doc["scenario_hash"],
        seed=doc["seed"],
        replications=doc["replications"],
        horizon=doc.get("horizon"),
        version=str(doc.get("simsupport_version", "?")),
        created=str(doc.get("created", "?")),
        metrics=metrics,
        path=path,
    )
