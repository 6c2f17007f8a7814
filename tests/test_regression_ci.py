"""The project's own regression check: the bundled scenarios against results/baselines/.

This is what a user's CI job does (README, "Regression checks in CI"). A change to the model
that moves a bundled scenario's outputs beyond replication noise fails here; refresh the
baselines deliberately when the change is intended:

    simsupport baseline scenarios/textbook.yaml --out results/baselines --horizon 200h -r 6
    (and the others, with the horizon and replications stored in each baseline file)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simsupport.cli import cli

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "results" / "baselines"
SCENARIOS = sorted(p.stem for p in BASELINES.glob("*.json"))


def test_every_bundled_journey_and_core_scenario_has_a_baseline() -> None:
    assert {"textbook", "exchange-baseline", "flash-crash", "exchange-journey", "live-start"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_bundled_scenario_matches_its_baseline(name: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    junit = tmp_path / "report.xml"
    result = CliRunner().invoke(
        cli,
        ["check", str(ROOT / "scenarios" / f"{name}.yaml"), "--baseline", str(BASELINES),
         "--report", str(report), "--junit", str(junit), "--workers", "2"],
    )  # fmt: skip
    doc = json.loads(report.read_text())
    failures = doc["scenarios"][0]["failures"]
    assert result.exit_code == 0, (result.output, failures)
    assert doc["passed"] and doc["scenarios"][0]["compared"] > 20
    assert not doc["scenarios"][0]["scenario_changed"], "the scenario changed: refresh its baseline"
    assert junit.read_text().startswith("<?xml")
