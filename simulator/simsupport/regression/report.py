"""Machine-readable check reports: JSON for scripts, JUnit XML for CI systems."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ..outputs.files import atomic_write, write_json
from .compare import FAILING, MetricResult, ScenarioCheck


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def row_doc(r: MetricResult) -> dict[str, Any]:
    return {"metric": r.metric, "old": _num(r.old), "new": _num(r.new), "delta": _num(r.delta),
            "relative": _num(r.relative), "p_value": _num(r.p_value), "verdict": r.verdict}  # fmt: skip


def report_doc(checks: Sequence[ScenarioCheck]) -> dict[str, Any]:
    return {
        "passed": all(c.passed for c in checks),
        "scenarios": [
            {
                "scenario": c.scenario,
                "baseline": c.baseline_path,
                "baseline_version": c.baseline_version,
                "mode": c.mode,
                "alpha": c.alpha,
                "scenario_changed": c.scenario_changed,
                "passed": c.passed,
                "compared": len(c.rows),
                "failures": [row_doc(r) for r in c.failures],
                "metrics": [row_doc(r) for r in c.rows],
            }
            for c in checks
        ],
    }


def write_json_report(path: Path, checks: Sequence[ScenarioCheck]) -> Path:
    return write_json(path, report_doc(checks))


def write_junit(path: Path, checks: Sequence[ScenarioCheck]) -> Path:
    """One test suite per scenario, one test case per metric compared."""
    root = ET.Element("testsuites", name="simsupport check")
    for c in checks:
        suite = ET.SubElement(
            root, "testsuite", name=c.scenario, tests=str(len(c.rows)), failures=str(len(c.failures)), errors="0"
        )
        props = ET.SubElement(suite, "properties")
        for k, v in (("mode", c.mode), ("alpha", c.alpha), ("scenario_changed", c.scenario_changed),
                     ("baseline", c.baseline_path), ("baseline_version", c.baseline_version)):  # fmt: skip
            ET.SubElement(props, "property", name=k, value=str(v))
        for r in c.rows:
            case = ET.SubElement(suite, "testcase", classname=f"simsupport.{c.scenario}", name=r.metric)
            if r.verdict in FAILING:
                msg = f"{r.verdict}: {r.old:.6g} -> {r.new:.6g}" + (
                    f" (p = {r.p_value:.2g})" if math.isfinite(r.p_value) else ""
                )
                if c.scenario_changed:
                    msg += "; the scenario file changed since the baseline"
                ET.SubElement(case, "failure", message=msg, type=r.verdict).text = msg
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return atomic_write(path, lambda p: tree.write(p, encoding="utf-8", xml_declaration=True))
