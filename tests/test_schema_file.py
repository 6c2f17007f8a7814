"""The committed JSON Schema (for editors) is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from simsupport.config.schema import Scenario

SCHEMA = Path(__file__).resolve().parents[1] / "simulator" / "simsupport" / "scenario.schema.json"


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert committed == Scenario.model_json_schema(), (
        "scenario.schema.json is stale: run `simsupport schema --out simulator/simsupport/scenario.schema.json`"
    )
