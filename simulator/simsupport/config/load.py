"""YAML -> Scenario, with every error mapped to file, field path and line.

ruamel.yaml (YAML 1.2) is used rather than PyYAML because YAML 1.1 reads the language code
`no` as False and `on`/`off` as booleans, which silently breaks a multilingual desk; its
round-trip loader also remembers the line and column of every key. Pydantic reports errors as
`loc` tuples; `locate` walks the same path through the parsed tree to find the line.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import ScenarioError
from .checks import all_problems, check_scenario
from .schema import Scenario


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file into ruamel's round-trip tree (mappings remember their lines)."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block the read forever
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe or a device)"
        raise ScenarioError(f"this is {kind}; give a scenario YAML file", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"file not found (looked in {path.resolve().parent})", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file=str(path)) from None
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except RecursionError:
        raise ScenarioError(
            "the file nests too deeply to read; a scenario needs only a few levels", file=str(path)
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(
            f"this is not valid YAML ({problem}); check indentation, colons and quotes",
            file=str(path),
            line=line,
            column=col,
        ) from None
    except YAMLError as exc:
        position = getattr(exc, "position", None)  # ReaderError: a character index
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        reason = getattr(exc, "reason", None) or str(exc).split(" in ")[0]
        raise ScenarioError(
            f"this is not valid YAML ({reason}); a scenario file is plain UTF-8 text",
            file=str(path),
            line=line,
        ) from None
    except Exception as exc:  # noqa: BLE001 - ruamel fails on odd tags in many ways; all mean "unreadable"
        raise ScenarioError(
            f"this YAML cannot be read ({type(exc).__name__}: {exc}); check tags such as !!float",
            file=str(path),
        ) from None
    if tree is None:
        raise ScenarioError("the file is empty; a scenario is a YAML mapping", file=str(path))
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            "a scenario is a YAML mapping of keys such as name, horizon, channels and pools",
            file=str(path),
            line=1,
        )
    return tree


MAX_DEPTH = 40  # no scenario nests deeper; protects the recursion below
MAX_NODES = 200_000  # after expanding aliases; a "billion laughs" file stops here


class _TooBig(Exception):
    pass


def plain(node: Any, *, _depth: int = 0, _budget: list[int] | None = None, _path: tuple[int, ...] = ()) -> Any:
    """ruamel's tree as plain dicts, lists, str, int, float (pydantic sees nothing else).

    YAML aliases may point back at their own ancestors or multiply a small file into an
    enormous tree; both are refused here with a clear message instead of a RecursionError
    or an exhausted memory.
    """
    budget = _budget if _budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(f"the file expands to more than {MAX_NODES:,} values (YAML aliases?); a scenario is far smaller")
    if isinstance(node, (Mapping, list, tuple)):
        if _depth > MAX_DEPTH:
            raise _TooBig(f"the file nests more than {MAX_DEPTH} levels deep; a scenario needs a handful")
        if id(node) in _path:
            raise _TooBig("a YAML alias refers to a mapping or list that contains it")
        path = (*_path, id(node))
        kw = {"_depth": _depth + 1, "_budget": budget, "_path": path}
        if isinstance(node, Mapping):
            return {str(k) if not isinstance(k, (int, float, bool)) else k: plain(v, **kw) for k, v in node.items()}
        return [plain(v, **kw) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def locate(tree: Any, path: Sequence[Any]) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the deepest node on `path` that exists in the tree."""
    line = col = None
    node = tree
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, Mapping) and key in node:
            if lc is not None:
                try:
                    ln, cl = lc.key(key)
                    line, col = ln + 1, cl + 1
                except (KeyError, TypeError, AttributeError):
                    pass
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            if lc is not None:
                try:
                    ln, cl = lc.item(key)
                    line, col = ln + 1, cl + 1
                except (KeyError, TypeError, AttributeError, IndexError):
                    pass
            node = node[key]
        else:
            continue
    return line, col


def _data_path(data: Any, loc: Sequence[Any], keep_last: bool) -> list[Any]:
    """The part of a pydantic loc that names keys in the user's data.

    Pydantic puts union member names (`exponential`, `function-before[...]`) into loc; they
    mean nothing to a user, so only keys and indices present in the data are kept (plus the
    last element for a missing or unknown key).
    """
    out: list[Any] = []
    node = data
    for i, key in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, Mapping) and key in node or isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            out.append(key)
            node = node[key]
        elif last and keep_last:
            out.append(key)
    return out


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def dotted(path: Sequence[Any], data: Any = None) -> str:
    """`pools.l1-global.agents` style path; list items of named things go by their name."""
    parts: list[str] = []
    node = data
    for key in path:
        if isinstance(key, int):
            name = None
            if isinstance(node, list) and 0 <= key < len(node) and isinstance(node[key], Mapping):
                name = node[key].get("name")
            parts.append(str(name) if isinstance(name, str) else f"[{key}]")
        else:
            parts.append(str(key))
        if isinstance(node, Mapping) and key in node or isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            node = None
    text = ""
    for p in parts:
        if not p.startswith("[") and not _PLAIN_KEY.match(p):
            p = f"[{p!r}]"  # odd keys (spaces, newlines, empty) stay visible and on one line
        text += p if (not text or p.startswith("[")) else "." + p
    return text or "(top level)"


def _model_at(path: Sequence[Any], data: Any) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `path` (for listing allowed keys)."""
    current: Any = Scenario
    node = data
    for key in path:
        current = _unwrap_model(current, key, node)
        if current is None:
            return None
        node = node[key] if isinstance(node, (Mapping, list)) and _has(node, key) else None
    found = _unwrap_model(current, None, node)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _has(node: Any, key: Any) -> bool:
    if isinstance(node, Mapping):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)


def _matches(model: type[BaseModel], node: Any) -> bool:
    """Does a union member fit the data? By its literal tag (e.g. dist: lognormal) if it has one."""
    if not isinstance(node, Mapping):
        return False
    for name, field in model.model_fields.items():
        if typing.get_origin(field.annotation) is typing.Literal and name in node:
            return node[name] in typing.get_args(field.annotation)
    return True


def _unwrap_model(tp: Any, key: Any, node: Any = None) -> Any:
    """Follow one path step through annotations (Optional, Annotated, list, dict, unions)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(tp)[0], key, node)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(tp)
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        for m in models:  # the member the data's tag picks comes first
            if _matches(m, node):
                found = _unwrap_model(m, key, node)
                if found is not None:
                    return found
        for arg in members:
            if arg in models:
                continue
            found = _unwrap_model(arg, key, node)
            if found is not None:
                return found
        return None
    if key is None:
        return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(key))
        return field.annotation if field is not None else None
    if origin in (list, Sequence, tuple) and isinstance(key, int):
        return typing.get_args(tp)[0]
    if origin in (dict, Mapping):
        return typing.get_args(tp)[1]
    return None


def _message(err: Mapping[str, Any], data: Any, path: list[Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        model = _model_at(path[:-1], data)
        allowed = ", ".join(f.alias or name for name, f in model.model_fields.items()) if model is not None else ""
        return f"unknown key {path[-1]!r}" + (f"; allowed keys here: {allowed}" if allowed else "")
    if kind == "missing":
        return "this key is required but missing"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    value = err.get("input")
    if kind not in ("value_error",) and not isinstance(value, (Mapping, list)) and value is not None:
        return f"{value!r}: {msg[0].lower() + msg[1:] if msg else msg}"
    return msg


_PREFERENCE = {"value_error": 0, "union_tag_invalid": 0, "extra_forbidden": 0, "missing": 1}


def _from_validation_error(
    exc: ValidationError, data: Any, tree: Any, file: str, overridden: frozenset[str] = frozenset()
) -> ScenarioError:
    """The first problem pydantic found, saying how many more there are."""
    problems = validation_problems(exc, data, tree, file, overridden)
    first, others = problems[0], len(problems) - 1
    if others == 0:
        return first
    message = first.message + f" ({others} more problem{'s' if others > 1 else ''} after this one)"
    return ScenarioError(message, file=file, field=first.field, line=first.line, column=first.column)


def validation_problems(
    exc: ValidationError, data: Any, tree: Any, file: str, overridden: frozenset[str] = frozenset()
) -> list[ScenarioError]:
    """Every problem pydantic found, one per place in the user's data, each with its line.

    A union (`3` or `{max: 3, stretch: [...]}`) reports one error per form it allows; the form the
    user wrote is the one that got deeper into their data, so errors at a place above another
    error's place are the other forms a union allowed there, not problems of their own. The first
    problem is at the first error's place, or the deepest place below it; the others follow in the
    order of the file.
    """
    errors = exc.errors(include_url=False)
    places: list[tuple[Any, ...]] = []
    for e in errors:
        if (p := _place(e, data)) not in places:
            places.append(p)
    first = _place(errors[0], data)
    first = max((p for p in places if p[: len(first)] == first), key=len)
    leaves = [p for p in places if p != first and not any(len(q) > len(p) and q[: len(p)] == p for q in places)]
    out = [_problem_at(first, errors, data, tree, file, overridden)]
    rest = [_problem_at(p, errors, data, tree, file, overridden) for p in leaves]
    rest.sort(key=lambda e: (e.line if e.line is not None else math.inf, e.column or 0))
    for problem in rest:
        if all(problem.render() != seen.render() for seen in out):
            out.append(problem)
    return out


def _place(error: Mapping[str, Any], data: Any) -> tuple[Any, ...]:
    """Where an error is in the user's data (keys and indices that exist, see `_data_path`)."""
    return tuple(_data_path(data, error["loc"], error.get("type") in ("missing", "extra_forbidden")))


def _problem_at(
    place: tuple[Any, ...], errors: list[Any], data: Any, tree: Any, file: str, overridden: frozenset[str]
) -> ScenarioError:
    """The problem at one place: among its errors, the one from our own validators is clearest."""
    same = [e for e in errors if _place(e, data) == place]
    best = min(same, key=lambda e: _PREFERENCE.get(e.get("type", ""), 2))
    path = list(place)
    missing = best.get("type") == "missing"
    line, col = locate(tree, path if not missing else path[:-1])
    if line is None and missing and hasattr(tree, "lc"):
        line, col = 1, None  # a key missing at the top of a file: point at its start
    message = _message(best, data, path)
    if path and path[0] in overridden:
        line, col = None, None
        message += " (given on the command line)"
    return ScenarioError(message, file=file, field=dotted(path, data), line=line, column=col)


def file_problems(path: str | Path) -> tuple[Scenario | None, list[ScenarioError]]:
    """A scenario file and every problem in it (for `simsupport validate`): an unreadable file has
    one; otherwise every validation problem, or, when there is none, every cross-field problem.
    The scenario is None unless the list is empty."""
    path = Path(path)
    try:
        tree, data = read_data(path)
    except ScenarioError as exc:
        return None, [exc]
    source = str(path)
    if not isinstance(data, Mapping):
        message = "a scenario is a mapping of keys such as name, horizon, channels and pools"
        return None, [ScenarioError(message, file=source)]
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": path.resolve().parent})
    except ValidationError as exc:
        return None, validation_problems(exc, data, tree, source)
    except (ValueError, TypeError, OSError, OverflowError) as exc:
        return None, [ScenarioError(str(exc), file=source)]
    except RecursionError:
        return None, [ScenarioError("the scenario nests too deeply to validate", file=source)]
    problems = []
    for where, message in all_problems(scenario):
        line, col = locate(tree, where)
        problems.append(ScenarioError(message, file=source, field=dotted(where, data), line=line, column=col))
    # the first is the one `load_scenario` stops at; the others in the order of the file
    problems[1:] = sorted(problems[1:], key=lambda e: (e.line if e.line is not None else math.inf, e.column or 0))
    return (scenario if not problems else None), problems


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<scenario>",
    tree: Any = None,
    base_dir: Path | None = None,
    overridden: frozenset[str] = frozenset(),
    staffing_as_given: bool = True,
) -> Scenario:
    """Validate plain data into a Scenario, raising ScenarioError with file/field/line.
    staffing_as_given=False skips the checks that judge headcounts (certain instability)."""
    tree = data if tree is None else tree
    if not isinstance(data, Mapping):
        raise ScenarioError("a scenario is a mapping of keys such as name, horizon, channels and pools", file=source)
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": base_dir or Path.cwd()})
    except ValidationError as exc:
        raise _from_validation_error(exc, data, tree, source, overridden) from None
    except (ValueError, TypeError, OSError, OverflowError) as exc:  # outside pydantic's wrapping
        raise ScenarioError(str(exc), file=source) from None
    except RecursionError:
        raise ScenarioError("the scenario nests too deeply to validate", file=source) from None
    problem = check_scenario(scenario, staffing_as_given=staffing_as_given)
    if problem is not None:
        path, message = problem
        line, col = locate(tree, path) if not (path and path[0] in overridden) else (None, None)
        raise ScenarioError(message, file=source, field=dotted(path, data), line=line, column=col)
    return scenario


def read_data(path: str | Path) -> tuple[Any, Any]:
    """A YAML file as (tree with line numbers, plain data); ScenarioError if it is unreadable."""
    tree = read_yaml(path)
    try:
        return tree, plain(tree)
    except _TooBig as exc:
        raise ScenarioError(str(exc), file=str(path)) from None


def load_scenario_with(
    path: str | Path, *, horizon: str | None = None, replications: int | None = None, seed: int | None = None,
    staffing_as_given: bool = True,
) -> Scenario:  # fmt: skip
    """A scenario file with the command line's usual overrides (None: as in the file)."""
    given = {"horizon": horizon, "replications": replications, "seed": seed}
    return load_scenario(
        path, overrides={k: v for k, v in given.items() if v is not None}, staffing_as_given=staffing_as_given
    )


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None, *, staffing_as_given: bool = True
) -> Scenario:
    """Read, validate and check a scenario file. `overrides` replaces top-level keys."""
    path = Path(path)
    tree, data = read_data(path)
    if overrides:
        data = {**data, **overrides}
    return scenario_from_dict(
        data,
        source=str(path),
        tree=tree,
        base_dir=path.resolve().parent,
        overridden=frozenset(overrides or ()),
        staffing_as_given=staffing_as_given,
    )
