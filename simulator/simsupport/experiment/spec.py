"""Experiment files: a base scenario and the variants to sweep over.

    name: staffing-vs-volatility
    base: ../scenarios/exchange-baseline.yaml     # relative to this file
    set: {horizon: 2d, warmup: 6h}                # overrides for every point
    replications: 5
    sweep:
      grid: {staffing: {from: 0.8, to: 1.2, step: 0.1}}      # cartesian product
      zip: {pools.l2.agents: [30, 34], pools.security.agents: [8, 10]}   # side by side
      policies:                                    # named sets of overrides, compared pairwise
        calm: {}
        volatile: {market: {model: regime, ...}}
    precision: {metrics: [by_channel.chat.service_level], half_width: 0.01, max_replications: 40}
    plot: {x: staffing, lines: policy}

Paths are dotted scenario paths; list items go by name (`pools.l1-asia.agents`,
`pools.l1-asia.shifts.day.agents`) or index. Each point applies `set`, then its policy, then its
swept values (so `staffing` scales a policy's pools too). Two experiment-only leaves scale headcounts:
`staffing` (every pool) and `pools.NAME.staffing` (one pool) multiply `agents` and every
shift's `agents`, rounded. A value of null removes a key (back to its default). Every point
is validated as a scenario before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from ..config.base import Frozen, Name
from ..config.derived import staffing_targets
from ..config.load import _model_at, locate, read_data, scenario_from_dict
from ..config.schema import Scenario
from ..errors import ScenarioError

STAFFING = "staffing"


class Range(Frozen):
    """Numbers from `from` to `to` (inclusive) in steps of `step`."""

    start: float = Field(alias="from")
    to: float
    step: float

    @field_validator("step")
    @classmethod
    def _forward(cls, v: float) -> float:
        if not v > 0 or not math.isfinite(v):
            raise ValueError(f"step {v:g} never reaches `to`; write a positive step, e.g. step: 0.1")
        return v

    def values(self) -> list[float | int]:
        n = int(math.floor((self.to - self.start) / self.step + 1e-9)) + 1
        if n < 1 or n > 10_000:
            raise ValueError(f"from {self.start:g} to {self.to:g} in steps of {self.step:g} gives {n} values")
        out = [round(self.start + i * self.step, 10) for i in range(n)]
        whole = all(float(v).is_integer() for v in (self.start, self.step))
        return [int(v) for v in out] if whole else out


def _which(v: Any) -> str:
    """A mapping is a range ({from, to, step}), anything else a list: so a bad range is reported
    as a range, not as 'should be a valid list'."""
    return "range" if isinstance(v, dict) else "list"


Values = Annotated[Annotated[list[Any], Tag("list")] | Annotated[Range, Tag("range")], Discriminator(_which)]


class Sweep(Frozen):
    grid: dict[str, Values] = {}
    zip: dict[str, Values] = {}
    policies: dict[Name, dict[str, Any]] = {}


class Precision(Frozen):
    """Run replications until every listed metric's 95% CI half-width is below the target
    (`half_width` absolute, or `relative` to the mean), at most `max_replications`."""

    metrics: Annotated[list[str], Field(min_length=1)]
    half_width: Annotated[float, Field(gt=0)] | None = None
    relative: Annotated[float, Field(gt=0, lt=1)] | None = None
    min_replications: Annotated[int, Field(ge=2)] = 5
    max_replications: Annotated[int, Field(ge=2, le=10_000)] = 100

    @model_validator(mode="after")
    def _one(self) -> Precision:
        if (self.half_width is None) == (self.relative is None):
            raise ValueError("give exactly one of half_width (absolute) or relative (a share of the mean)")
        if self.min_replications > self.max_replications:
            raise ValueError(f"min_replications ({self.min_replications}) is above max_replications "
                             f"({self.max_replications}); raise max_replications or lower min_replications")
        return self


class PlotSpec(Frozen):
    """What the curves show: `x` (a swept path, default the first grid path) against the
    metrics, one line per value of `lines` (`policy` or another swept path)."""

    x: str | None = None
    lines: str | None = None


class ExperimentSpec(Frozen):
    name: Name
    description: str = ""
    base: str
    set: dict[str, Any] = {}
    sweep: Sweep = Sweep()
    replications: Annotated[int, Field(ge=1, le=100_000)] | None = None
    precision: Precision | None = None
    plot: PlotSpec = PlotSpec()


@dataclass
class Point:
    """One variant of the base scenario."""

    index: int
    labels: dict[str, Any]  # swept path -> value (and "policy" -> name)
    scenario: Scenario
    key: str  # hash of the validated scenario: where its results are stored

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in self.labels.items()) or "base"


@dataclass
class Experiment:
    spec: ExperimentSpec
    path: Path
    base: Path
    points: list[Point]
    dims: list[str] = field(default_factory=list)  # label columns, in sweep order

    @property
    def replications(self) -> int:
        if self.spec.replications is not None:
            return self.spec.replications
        return self.points[0].scenario.replications if self.points else 1

    @property
    def x(self) -> str | None:
        if self.spec.plot.x is not None:
            return self.spec.plot.x
        numeric = [d for d in self.dims if d != "policy"]
        return numeric[0] if numeric else None

    @property
    def lines(self) -> str | None:
        if self.spec.plot.lines is not None:
            return self.spec.plot.lines
        others = [d for d in self.dims if d != self.x]
        return "policy" if "policy" in others else (others[0] if others else None)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (dict, list)):
        return "{...}" if isinstance(v, dict) else "[...]"
    return str(v)


# -- paths ----------------------------------------------------------------------------------------
def split_path(path: str) -> list[str]:
    return [p for p in path.split(".") if p != ""]


def _step(node: Any, seg: str) -> Any:
    """The child of `node` a path segment names (a key, a list item's name, or an index)."""
    if isinstance(node, Mapping):
        return node.get(seg, _MISSING)
    if isinstance(node, list):
        for item in node:
            if isinstance(item, Mapping) and item.get("name") == seg:
                return item
        if seg.lstrip("-").isdigit() and -len(node) <= int(seg) < len(node):
            return node[int(seg)]
    return _MISSING


_MISSING = object()


def _children(node: Any, at: list[Any], data: Any) -> list[str]:
    """What could come next at a place: existing keys, item names, and the schema's fields."""
    names: list[str] = []
    if isinstance(node, Mapping):
        names += [str(k) for k in node]
        model = _model_at(at, data)
        if model is not None:
            names += [f.alias or n for n, f in model.model_fields.items()]
    elif isinstance(node, list):
        names += [str(i.get("name")) for i in node if isinstance(i, Mapping) and "name" in i]
    return list(dict.fromkeys(names))


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in scenario data (in place); ValueError names the nearest valid paths."""
    segs = split_path(path)
    if not segs:
        raise ValueError("an empty path")
    if segs == [STAFFING]:
        for pool in data.get("pools", []):
            _scale_pool(pool, value, path)
        return
    node: Any = data
    at: list[Any] = []
    for i, seg in enumerate(segs[:-1]):
        nxt = _step(node, seg)
        if nxt is _MISSING and isinstance(node, Mapping):
            model = _model_at(at, data)
            fields = {f.alias or n for n, f in model.model_fields.items()} if model is not None else set()
            if seg in fields:  # a section the base leaves out: start it empty
                node[seg] = {}
                nxt = node[seg]
        if nxt is _MISSING or not isinstance(nxt, (Mapping, list)):
            _no_such(path, segs[: i + 1], node, at, data)
        at.append(seg if isinstance(node, Mapping) else node.index(nxt))
        node = nxt
    last = segs[-1]
    if last == STAFFING and isinstance(node, Mapping) and "name" in node and at and at[0] == "pools":
        _scale_pool(node, value, path)
        return
    if isinstance(node, Mapping):
        model = _model_at(at, data)
        fields = {f.alias or n for n, f in model.model_fields.items()} if model is not None else None
        if last not in node and (fields is None or last not in fields) and model is not None:
            _no_such(path, segs, node, at, data)
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
        return
    target = _step(node, last)
    if target is _MISSING:
        _no_such(path, segs, node, at, data)
    node[node.index(target)] = copy.deepcopy(value)


def _no_such(path: str, upto: list[str], node: Any, at: list[Any], data: Any) -> None:
    options = _children(node, at, data)
    prefix = ".".join(upto[:-1])
    near = difflib.get_close_matches(upto[-1], options, n=3, cutoff=0.5) or options[:6]
    shown = ", ".join(f"{prefix + '.' if prefix else ''}{o}" for o in near)
    raise ValueError(
        f"path {path!r} does not exist in the scenario: no {upto[-1]!r} at "
        f"{prefix or 'the top level'}; nearest valid: {shown or '(nothing here)'}"
    )


def _scale_pool(pool: dict[str, Any], factor: Any, path: str) -> None:
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 0:
        raise ValueError(f"{path}: a staffing factor is a number of 0 or more, not {factor!r}")
    def scaled(n: float) -> int:  # half up (not to even), after forgiving float noise
        return int(math.floor(round(n * factor, 9) + 0.5))

    if isinstance(pool.get("agents"), (int, float)):
        pool["agents"] = scaled(pool["agents"])
    if isinstance(pool.get("shifts"), list):
        for sh in pool["shifts"]:
            if isinstance(sh, dict) and isinstance(sh.get("agents"), (int, float)):
                sh["agents"] = scaled(sh["agents"])


# -- loading --------------------------------------------------------------------------------------
def _values(v: Values) -> list[Any]:
    return v.values() if isinstance(v, Range) else list(v)


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file and every point it defines."""
    path = Path(path)
    tree, raw = read_data(path)
    if not isinstance(raw, Mapping):
        raise ScenarioError("an experiment is a mapping with name, base and sweep", file=str(path))

    def fail(where: Sequence[Any], message: str) -> ScenarioError:
        line, col = locate(tree, list(where))
        return ScenarioError(message, file=str(path), field=".".join(str(w) for w in where) or None, line=line, column=col)

    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper())]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}; allowed: {', '.join(f.alias or n for n, f in _spec_model(loc[:-1]).model_fields.items())}"
        raise fail(loc, msg) from None
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        raise fail(["base"], f"base scenario {spec.base!r} not found (looked for {base})")
    _, base_data = read_data(base)
    sweep = spec.sweep

    def values(kind: str, key: str, v: Values) -> list[Any]:
        try:
            return _values(v)
        except ValueError as exc:
            raise fail(["sweep", kind, key], str(exc)) from None

    grid = {k: values("grid", k, v) for k, v in sweep.grid.items()}
    zipped = {k: values("zip", k, v) for k, v in sweep.zip.items()}
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        raise fail(["sweep", "zip"], f"zip lists must have one length; they have {sorted(lengths)}")
    for key, vals in [*grid.items(), *zipped.items()]:
        if not vals:
            raise fail(["sweep", "grid" if key in grid else "zip", key], "an empty list of values")
    dims = [*grid, *zipped] + (["policy"] if sweep.policies else [])
    combos: list[dict[str, Any]] = []
    zip_rows = [dict(zip(zipped, row)) for row in zip(*zipped.values())] if zipped else [{}]
    for g in itertools.product(*grid.values()) if grid else [()]:
        for z in zip_rows:
            for pol in sweep.policies or [None]:
                labels = {**dict(zip(grid, g)), **z}
                if pol is not None:
                    labels["policy"] = pol
                combos.append(labels)
    points: list[Point] = []
    seen: dict[str, int] = {}
    for labels in combos:
        data = copy.deepcopy(base_data)
        # set, then the policy (a structural variant), then the swept values on top of it
        steps: list[tuple[list[Any], str, Any]] = [(["set", k], k, v) for k, v in spec.set.items()]
        if "policy" in labels:
            pol = labels["policy"]
            steps += [(["sweep", "policies", pol, k], k, v) for k, v in sweep.policies[pol].items()]
        steps += [(["sweep", "grid" if k in grid else "zip", k], k, v) for k, v in labels.items() if k != "policy"]
        for where, key, value in steps:
            try:
                set_path(data, key, value)
            except ValueError as exc:
                raise fail(where, str(exc)) from None
        label = ", ".join(f"{k}={_short(v)}" for k, v in labels.items()) or "base"
        scenario = scenario_from_dict(data, source=f"{path} (point {label}; base {spec.base})", base_dir=base.parent)
        if spec.replications is not None:
            scenario = scenario.model_copy(update={"replications": spec.replications})
        key = point_key(scenario)
        if key in seen:
            raise fail(["sweep"], f"points {combos[seen[key]]} and {labels} are the same scenario; drop one")
        seen[key] = len(points)
        points.append(Point(len(points), labels, scenario, key))
    for name in ("x", "lines"):  # checked now, not after the whole sweep ran
        value = getattr(spec.plot, name)
        if value is not None and value not in dims:
            raise fail(["plot", name], f"{value!r} is not swept here; the swept dimensions are {', '.join(dims) or 'none'}")
    return Experiment(spec, path, base, points, dims)


def point_key(scenario: Scenario) -> str:
    """Where a point's results live: the hash of what the model sees, whatever the number of
    replications asked for (replication k does not depend on how many there are) and whatever
    the costs and bounds the staffing search reads."""
    doc = scenario.model_dump(mode="json", exclude_defaults=True)
    doc["replications"] = 1
    doc.pop("staffing", None)  # what `simsupport staff` aims at, not what the model runs ...
    targets = [t.label for t in staffing_targets(scenario)]  # ... but its targets are tallied in the
    if scenario.staffing is not None and targets != [t.label for t in staffing_targets(scenario.model_copy(update={"staffing": None}))]:
        doc["staffing_targets"] = targets  # stored records: other targets, other records
    for pool in doc.get("pools", []):
        pool.pop("cost", None)
        pool.pop("bounds", None)
    text = json.dumps(doc, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _spec_model(loc: Sequence[Any]) -> Any:
    """The model whose keys are allowed at `loc` of an experiment file."""

    model: Any = ExperimentSpec
    for key in loc:
        f = getattr(model, "model_fields", {}).get(str(key))
        if f is None:
            break
        members = typing.get_args(f.annotation) or (f.annotation,)
        found = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if found:
            model = found[0]
    return model
