"""The JSON Schema's descriptions are what a scenario author reads in an editor: they speak of the
scenario file, never of simsupport's insides (modules, classes, the engine, pydantic, to-dos)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from simsupport.config.schema import Scenario

PACKAGE = Path(__file__).resolve().parents[1] / "simulator" / "simsupport"

# dotted module paths (scenario paths such as customers.languages or market.shocks are fine)
_MODULES = r"\b(?:simsupport|config|engine|plan|stats|theory|outputs|experiment|regression|cli|units|streams|rng)\.[a-z_]"
INTERNAL = [
    _MODULES,
    r"\bengine\b",
    r"\bplan\.",
    r"\bDeskPlan\b",
    r"pydantic",
    r"\bTODO\b",
    r"\bFIXME\b",
    r"\bXXX\b",
    r"\bloader\b",
    r"base_dir",
    r"validation context",
    r"\.py\b",
    r"\bself\.",
    r"model_construct",
    r"``",  # reStructuredText markup: editors show it raw
    r"\bsampler\b",
    r"\bstreams?\b",
]


def _descriptions(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield "/".join(path), value
            else:
                yield from _descriptions(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _descriptions(value, (*path, str(i)))


def _compound_class_names() -> set[str]:
    """Our classes with compound CamelCase names (DeskPlan, ScenarioError, LogNormal, ...): a user
    never writes them. Plain words such as SLA or CSAT are also what users call these things."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and re.fullmatch(r"_?[A-Z][a-z]+[A-Z]\w*", node.name):
                names.add(node.name.lstrip("_"))
    return names


def test_descriptions_speak_to_scenario_authors() -> None:
    descriptions = list(_descriptions(Scenario.model_json_schema()))
    assert len(descriptions) > 100
    classes = _compound_class_names()
    assert {"DeskPlan", "ScenarioError", "ClassPlan"} <= classes
    patterns = [re.compile(p) for p in INTERNAL] + [re.compile(rf"\b{name}\b") for name in sorted(classes)]
    leaks = [
        f"{where}: {pattern.pattern!r} in {text!r}"
        for where, text in descriptions
        for pattern in patterns
        if pattern.search(text)
    ]
    assert leaks == []


def test_the_scan_finds_what_it_looks_for() -> None:
    """The patterns catch the leaks they are for (and spare what a user writes)."""
    bad = [
        "the loader passes the validation context {'base_dir': Path}",
        "see plan.desk for the queues",
        "the engine draws it from its sampler",
        "validated by pydantic",
        "TODO: document",
        "``low`` and ``high``",
        "kept in config.checks",
    ]
    good = ["default: customers.languages", "market.shocks[0].at", "run `simsupport staff`", "e.g. 6min"]
    patterns = [re.compile(p) for p in INTERNAL]
    for text in bad:
        assert any(p.search(text) for p in patterns), text
    for text in good:
        assert not any(p.search(text) for p in patterns), text
