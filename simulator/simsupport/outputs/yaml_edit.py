"""Edit a scenario file's text where a ruamel round-trip tree points, and nowhere else.

`staff` and `schedule` write the author's scenario back with new headcounts or rosters. A ruamel
dump keeps comments and quotes but not the layout: it joins a flow mapping written over several
lines, drops the spaces that align columns (`day,     start: ...`) and re-indents. So the writers
change the text itself: a scalar is replaced where the tree says it stands, a block of lines (a
pool's `shifts`) is replaced by lines indented and styled as the file's own, and every other
character stays as the author wrote it. What cannot be edited in place (a key added inside a
flow mapping) falls back to a ruamel dump with the file's own indentation, no line wrapping and
no trailing spaces.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

# words YAML 1.1 readers (PyYAML) take for booleans or null: quoted when written
_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*|[0-9]+(?:\.[0-9]+)?(?:s|min|h|d)")


class NotInPlace(Exception):
    """An edit the text cannot take in place (the caller dumps the tree instead)."""


def scalar_text(value: Any) -> str:
    """A value as a YAML flow scalar or collection, read the same by YAML 1.1 and 1.2: clock
    times and anything else a reader could take for a number, date or boolean double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {scalar_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar_text(v) for v in value) + "]"
    text = str(value)
    return text if _PLAIN.fullmatch(text) and text.lower() not in _WORDS else json.dumps(text)


def quoted(value: Any) -> Any:
    """Plain data for a ruamel tree, with the strings `scalar_text` quotes double-quoted (a dump
    would write a clock time `08:00` bare, which YAML 1.1 reads as 480)."""
    if isinstance(value, Mapping):
        return {k: quoted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [quoted(v) for v in value]
    if isinstance(value, str) and scalar_text(value).startswith('"'):
        return DoubleQuotedScalarString(value)
    return value


def _token_end(line: str, col: int, flow: bool) -> int:
    """Where the scalar starting at `col` ends (exclusive)."""
    quote = line[col] if col < len(line) else ""
    if quote == '"':
        i = col + 1
        while i < len(line) and line[i] != '"':
            i += 2 if line[i] == "\\" else 1
        return i + 1
    if quote == "'":
        i = col + 1
        while i < len(line):
            if line[i] == "'" and line[i + 1 : i + 2] != "'":
                return i + 1
            i += 2 if line[i] == "'" else 1
        return i
    stops = [len(line.rstrip("\r\n"))]
    comment = line.find(" #", col)
    if comment >= 0:
        stops.append(comment)
    if flow:
        stops += [j for j in (line.find(c, col) for c in ",}]") if j >= 0]
    end = min(stops)
    return len(line[:end].rstrip())


def _same(old: Mapping[str, Any], new: Mapping[str, Any], but: str) -> bool:
    """Do two mappings say the same but for key `but` (values compared as plain data)?"""
    plain = json.loads(json.dumps({k: v for k, v in old.items() if k != but}, default=str))
    return plain == json.loads(json.dumps({k: v for k, v in new.items() if k != but}, default=str))


def _patched(item: CommentedMap, first: int, text: list[str], key: str, value: Any) -> list[str]:
    """An item's lines (from line `first` of the file) with `key`'s scalar replaced in place."""
    if key not in item:
        raise NotInPlace(f"no {key!r} to change in place")
    line, col = item.lc.value(key)
    out = list(text)
    k = line - first
    if not 0 <= k < len(out):
        raise NotInPlace(f"{key!r} is outside its item's lines")
    end = _token_end(out[k], col, bool(item.fa.flow_style()))
    out[k] = out[k][:col] + scalar_text(value) + out[k][end:]
    return out


def _dash(lines: Sequence[str], line: int, col: int) -> int:
    """The column of the `-` of the sequence item whose content starts at (line, col)."""
    return lines[line].rfind("-", 0, col)


def detect_indent(tree: Any, lines: Sequence[str]) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel's `YAML.indent` takes them, read from the file's
    first nested block mapping and first block sequence (`lines`: the file's); the bundled
    scenarios' (2, 4, 2) where the file has none."""
    mapping = sequence = offset = None

    def walk(node: Any, col: int) -> None:
        nonlocal mapping, sequence, offset
        if isinstance(node, CommentedMap) and not node.fa.flow_style():
            for key, value in node.items():
                kcol = node.lc.key(key)[1]
                if isinstance(value, CommentedMap) and not value.fa.flow_style() and value and mapping is None:
                    mapping = value.lc.key(next(iter(value)))[1] - kcol
                if isinstance(value, CommentedSeq) and not value.fa.flow_style() and value and sequence is None:
                    line, item = value.lc.item(0)
                    sequence, offset = item - kcol, _dash(lines, line, item) - kcol
                walk(value, kcol)
        elif isinstance(node, CommentedSeq) and not node.fa.flow_style():
            for i, value in enumerate(node):
                walk(value, node.lc.item(i)[1])

    walk(tree, 0)
    return (mapping if mapping and mapping > 0 else 2, sequence if sequence and sequence > 0 else 4,
            offset if offset is not None and offset >= 0 else 2)  # fmt: skip


class YamlText:
    """A YAML document's lines and its round-trip tree; edits are collected and applied
    bottom-up, so the tree's line and column numbers stay valid while editing."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.yaml = YAML()
        self.yaml.preserve_quotes = True
        self.tree = self.yaml.load(text)
        self.indent = detect_indent(self.tree, self.lines)  # before any edit: new nodes have no positions
        self._edits: list[tuple[int, int, int, int, list[str]]] = []  # (line0, col0, line1, col1, new)

    # -- scalars
    def set_value(self, node: CommentedMap, key: str, value: Any) -> None:
        """Give `key` of `node` a new scalar value, in the tree and in the text (the old token
        replaced where it stands; a quoted string keeps its quotes' style)."""
        if key not in node:
            raise NotInPlace(f"no key {key!r} to change in place")
        line, col = node.lc.value(key)
        old = self.lines[line]
        end = _token_end(old, col, bool(node.fa.flow_style()))
        if old[col] in "|>" or end <= col:
            raise NotInPlace(f"{key!r} is not a one-line scalar")
        if old[col] == "'" and isinstance(value, str):
            new = "'" + value.replace("'", "''") + "'"
        elif old[col] == '"' and isinstance(value, str):
            new = json.dumps(value)
        else:
            new = scalar_text(value)
        node[key] = value
        if new != old[col:end]:
            self._edits.append((line, col, line, end, [new]))

    # -- blocks of lines
    def block_end(self, first: int, col: int, sequence_value: bool = False) -> int:
        """The line after the last content line of the block that starts at line `first` with
        its key (or `- `) at column `col`: lines indented deeper belong to it (and, for a key
        holding a sequence, `- ` items at the key's own column); blank and comment lines
        between blocks do not."""
        last = first
        for i in range(first + 1, len(self.lines)):
            text = self.lines[i]
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            indent = len(text) - len(text.lstrip(" "))
            if indent > col or (sequence_value and indent == col and stripped.startswith("- ")):
                last = i
                continue
            break
        return last + 1

    def replace_lines(self, first: int, end: int, new: Sequence[str]) -> None:
        """Lines first..end-1 replaced by `new` (each without its line break)."""
        self._edits.append((first, 0, end, 0, [*new, ""]))

    def insert_lines(self, before: int, new: Sequence[str]) -> None:
        self._edits.append((before, 0, before, 0, [*new, ""]))

    def set_items(
        self, node: CommentedMap, key: str, items: Sequence[Mapping[str, Any]], patch: str,
        drop: Sequence[str] = (),
    ) -> None:  # fmt: skip
        """Give block mapping `node` the block sequence `items` under `key` (replacing its value,
        or the first of `drop` keys, or added at the end of `node`), and remove the `drop` keys.
        An old item equal to a new one but for `patch` keeps its own lines, `patch` changed in
        place; new items are written one a line in the style of the old ones (flow mappings,
        as the bundled scenarios write shifts, unless the old items are block mappings)."""
        if node.fa.flow_style() or not node:
            raise NotInPlace("a flow mapping cannot take a block sequence in place")
        col = node.lc.key(next(iter(node)))[1]
        _, sequence, offset = self.indent
        old = node.get(key)
        dash, content = col + offset, col + sequence
        spans: list[tuple[CommentedMap, int, list[str]]] = []  # (item, its first line, its lines)
        block_items = False
        if isinstance(old, CommentedSeq) and not old.fa.flow_style() and old:
            line, content = old.lc.item(0)
            dash = _dash(self.lines, line, content)
            block_items = any(isinstance(v, CommentedMap) and not v.fa.flow_style() for v in old)
            for i, item in enumerate(old):
                first = old.lc.item(i)[0]
                end = self.block_end(first, dash)
                if isinstance(item, CommentedMap):
                    spans.append((item, first, [line.rstrip("\r\n") for line in self.lines[first:end]]))
        lines = [" " * col + f"{key}:"]
        bullet = " " * dash + "-" + " " * max(content - dash - 1, 1)
        used: set[int] = set()
        for new in items:
            j = next((j for j, (item, _, _) in enumerate(spans) if j not in used and _same(item, new, patch)), None)
            if j is not None:
                used.add(j)
                item, first, text = spans[j]
                lines += _patched(item, first, text, patch, new[patch]) if patch in new else text
            elif block_items:
                first, *rest = [f"{k}: {scalar_text(v)}" for k, v in new.items()]
                lines += [bullet + first, *(" " * content + r for r in rest)]
            else:
                lines.append(bullet + scalar_text(new))
        where = [k for k in (key, *drop) if k in node]
        if where:
            first_line = node.lc.key(where[0])[0]
            self.replace_lines(first_line, self.block_end(first_line, col, sequence_value=True), lines)
        else:
            last = node.lc.key(list(node)[-1])[0]
            self.insert_lines(self.block_end(last, col, sequence_value=True), lines)
        for k in drop:
            if k in node and k not in where[:1]:
                line = node.lc.key(k)[0]
                self.replace_lines(line, self.block_end(line, col, sequence_value=True), [])
        node[key] = CommentedSeq(items)
        for k in drop:
            node.pop(k, None)

    # -- the result
    def text(self) -> str:
        """The edited document, every line without trailing spaces."""
        lines = list(self.lines)
        newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
        for line0, col0, line1, col1, new in sorted(self._edits, key=lambda e: (e[0], e[1]), reverse=True):
            head = lines[line0][:col0] if line0 < len(lines) else ""
            tail = lines[line1][col1:] if line1 < len(lines) else ""
            lines[line0 : line1 + 1] = [head + newline.join(new) + tail]
        out = "".join(lines)
        return "".join(line.rstrip() + newline for line in out.splitlines())

    def dump(self) -> str:
        """The tree dumped by ruamel in the file's own indentation, lines never wrapped and
        never with trailing spaces: for edits the text cannot take in place."""
        mapping, sequence, offset = self.indent
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 1_000_000  # no wrapped flow mappings or long strings
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        buf = io.StringIO()
        yaml.dump(self.tree, buf)
        return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def relink(node: Any, src_dir: Path, out_dir: Path, setter: Callable[[Any, str, str], None]) -> None:
    """Rewrite relative `file:` / `path:` values that exist beside the source so that they work
    from out_dir (an empirical handle-time CSV, a replayed price file), through `setter(mapping,
    key, value)`: YamlText.set_value in place, or a plain assignment on a tree."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in ("file", "path") and isinstance(value, str) and not os.path.isabs(value):
                if (src_dir / value).exists():
                    setter(node, key, os.path.relpath(src_dir / value, out_dir))
            else:
                relink(value, src_dir, out_dir, setter)
    elif isinstance(node, list):
        for item in node:
            relink(item, src_dir, out_dir, setter)
