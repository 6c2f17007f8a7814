"""One self-contained HTML page a planner opens: a `Page` of `Section`s, each a list of blocks
(paragraphs, facts, call-outs, tables, figures, inline SVG), rendered to a single file with
its CSS, a little JS for sortable tables, and every figure embedded as a data URI, so the
report works offline, attached to a mail or printed.

Tables hold raw values (rows as dicts, or a pandas DataFrame) and say per column how to show
them (`Column`: a unit, a range, a verdict), so the same table is written to the Excel
workbook with numbers as numbers (`outputs.workbook`). All text is escaped here; the builders
never write markup. Nothing here imports pandas: `simsupport run --no-plots` writes its report
without paying for it.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..units import format_duration
from .files import atomic_write
from .html_style import CSS, JS

SHARE = "share"  # a fraction, shown as a percentage
SECONDS = "s"  # a duration in seconds, shown as 1min 20s
PP = "pp"  # a difference of two shares, in percentage points
VERDICT_WORDS = ("pass", "fail")
CELL_UNITS = (SHARE, SECONDS, PP)  # read in every cell (92.3%, 1min 20s); other units go in the header


@dataclass(frozen=True)
class Column:
    """How one column is shown. `unit`: None for text, SHARE, SECONDS, PP, or a unit written
    after the number ("contacts", "agents", "/h", "" for a pure number). `unit_from`: each
    row's unit from that key (a table mixing shares and durations). `range_to`: the cell is
    the range key..range_to (a 95% interval). `verdict`: True/False shown as pass/fail."""

    key: str
    label: str | None = None
    unit: str | None = None
    unit_from: str | None = None
    range_to: str | None = None
    digits: int | None = None
    verdict: bool = False
    words: tuple[str, str] = VERDICT_WORDS
    prefix_from: str | None = None  # text put before each number, from that key ("≥ ")
    signed: bool = False  # a change: +4, -2

    @property
    def header(self) -> str:
        """The label; a plain unit (agents, contacts, /h) goes here, once, not in every cell."""
        label = self.label if self.label is not None else self.key
        return f"{label} ({self.unit})" if self.plain_unit and self.unit not in label.split() else label

    @property
    def plain_unit(self) -> bool:
        return bool(self.unit) and self.unit not in CELL_UNITS and self.unit_from is None


@dataclass
class Table:
    """A sortable table; `footer` rows (totals) stay at the bottom. `sheet`: the workbook sheet
    it also goes to (None: the page only); `page=False`: the workbook only (too long to read)."""

    title: str
    rows: Any  # list of dicts, or a pandas DataFrame
    columns: Sequence[Column] | None = None
    note: str = ""
    footer: Sequence[Mapping[str, Any]] = ()
    sheet: str | None = None
    page: bool = True
    collapsed: bool = False  # inside a <details> (opened for printing)

    def records(self) -> list[dict[str, Any]]:
        rows = self.rows
        if hasattr(rows, "to_dict"):
            return [dict(r) for r in rows.to_dict("records")]
        return [dict(r) for r in rows]

    def cols(self) -> list[Column]:
        if self.columns is not None:
            return list(self.columns)
        keys = list(self.rows.columns) if hasattr(self.rows, "columns") else list(dict.fromkeys(k for r in self.rows for k in r))
        first = self.records()[:1]
        return [Column(str(k), unit=None if first and isinstance(first[0].get(k), str) else "") for k in keys]


@dataclass(frozen=True)
class Figure:
    """A PNG (or SVG) file the command wrote, embedded as a data URI."""

    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Svg:
    """An inline SVG drawn by `outputs.svg_chart` (its text escaped there)."""

    markup: str
    caption: str = ""


@dataclass(frozen=True)
class Callout:
    """A highlighted list: warnings at the top of a report, or a plain 'no warnings'."""

    items: Sequence[str]
    kind: str = "warning"  # warning | ok | info
    title: str = ""


@dataclass(frozen=True)
class Facts:
    """Label: value pairs (what was run)."""

    items: Sequence[tuple[str, str]]


Block = str | Table | Figure | Svg | Callout | Facts


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    new_page: bool = True  # printed on a new page (short sections share the first one)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


@dataclass
class Page:
    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)

    def tables(self) -> Iterable[Table]:
        for s in self.sections:
            for b in s.blocks:
                if isinstance(b, Table):
                    yield b


# ----------------------------------------------------------------------------- numbers


def _missing(v: Any) -> bool:
    """None, NaN, pandas' NA and NaT: shown as a dash."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except (TypeError, ValueError):  # pandas.NA refuses to be a bool
        return True


def number(v: float, digits: int | None = None) -> str:
    """1,234 for counts, 12.3 or 0.123 otherwise (three significant figures by default)."""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if digits is not None:
        return f"{v:,.{digits}f}"
    if float(v).is_integer() or abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:.3g}" if abs(v) >= 0.001 or v == 0 else f"{v:.2e}"


def show(v: Any, unit: str | None, digits: int | None = None) -> str:
    """A value as read, with its unit: 92.3%, 1min 20s, 1,234 contacts, 12.5/h."""
    if _missing(v):
        return "–"
    if unit is None or isinstance(v, str):
        return str(v)
    if type(v).__name__ in ("bool", "bool_"):  # numpy's too
        return "yes" if v else "no"
    v = float(v)
    if unit == SHARE:
        return "∞" if math.isinf(v) else f"{100 * v:.{1 if digits is None else digits}f}%"
    if unit == SECONDS:
        if math.isinf(v):
            return "∞"
        return format_duration(v) if v >= 1 else f"{v:.1f}s"
    if unit == PP:
        return f"{100 * v:+.{1 if digits is None else digits}f} pp"
    text = number(v, digits)
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith(("/", "%", "×")) else f"{text} {unit}"


def _sort_key(v: Any) -> str | None:
    if _missing(v) or isinstance(v, str):
        return None
    if type(v).__name__ in ("bool", "bool_"):
        return "1" if v else "0"
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return repr(x) if math.isfinite(x) else ("1e308" if x > 0 else "-1e308")


# ----------------------------------------------------------------------------- rendering


def _cell(col: Column, row: Mapping[str, Any], footer: bool = False) -> str:
    v = row.get(col.key)
    if footer and _missing(v):
        return "<td></td>"
    unit = row.get(col.unit_from, col.unit) if col.unit_from else col.unit
    if col.verdict:
        if _missing(v):
            return '<td class="na">–</td>'
        word = ("✔ " + col.words[0]) if v else ("✘ " + col.words[1])
        return f'<td class="verdict {"pass" if v else "fail"}" data-sort="{0 if v else 1}">{html.escape(word)}</td>'
    if col.range_to is not None:
        hi = row.get(col.range_to)
        if _missing(v) or _missing(hi):
            return '<td class="num">–</td>'
        text = f"{show(v, unit, col.digits)} – {show(hi, unit, col.digits)}"
        return f'<td class="num" data-sort="{_sort_key(v)}">{html.escape(text)}</td>'
    key = _sort_key(v)
    text = show(v, "" if col.plain_unit else unit, col.digits)
    if col.signed and key is not None and float(v) > 0:
        text = "+" + text
    if col.prefix_from and not _missing(v) and row.get(col.prefix_from):
        text = f"{row[col.prefix_from]} {text}"
    if unit is None or key is None:
        cls = ' class="num"' if unit is not None else (' class="short"' if len(text) <= 24 else "")
        return f"<td{cls}>{html.escape(text)}</td>"
    return f'<td class="num" data-sort="{key}">{html.escape(text)}</td>'


def render_table(t: Table) -> str:
    cols = t.cols()
    rows = t.records()
    head = "".join(
        f'<th scope="col" tabindex="0"{" class=num" if c.unit is not None or c.unit_from else ""}>{html.escape(c.header)}</th>'
        for c in cols
    )
    body = "".join("<tr>" + "".join(_cell(c, r) for c in cols) + "</tr>" for r in rows)
    foot = "".join("<tr>" + "".join(_cell(c, dict(r), footer=True) for c in cols) + "</tr>" for r in t.footer)
    parts = ['<div class="table">' + (f"<h3>{html.escape(t.title)}</h3>" if t.title else "")]
    if t.note:
        parts.append(f'<p class="note">{html.escape(t.note)}</p>')
    if not rows:
        parts.append('<p class="empty">(no rows)</p></div>')
        return "".join(parts)
    tall = " tall" if len(rows) > 25 else ""
    parts.append(f'<div class="scroll{tall}"><table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>')
    if foot:
        parts.append(f"<tfoot>{foot}</tfoot>")
    parts.append("</table></div>" + (f'<p class="count">{len(rows):,} rows; click a header to sort</p>' if len(rows) > 1 else "") + "</div>")
    text = "".join(parts)
    if t.collapsed:
        return f"<details><summary>{html.escape(t.title)} ({len(rows):,} rows)</summary>{text}</details>"
    return text


_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_block(b: Block) -> str:
    if isinstance(b, str):
        return f"<p>{html.escape(b)}</p>"
    if isinstance(b, Table):
        return render_table(b) if b.page else ""
    if isinstance(b, Figure):
        if not b.path.is_file():
            return f'<p class="note">({html.escape(b.path.name)} was not drawn)</p>'
        cap = html.escape(b.caption or b.path.name)
        return (f'<figure><img src="{data_uri(b.path)}" alt="{cap}">'
                f"<figcaption>{cap} <span class=file>({html.escape(b.path.name)})</span></figcaption></figure>")  # fmt: skip
    if isinstance(b, Svg):
        cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure class="svg">{b.markup}{cap}</figure>'
    if isinstance(b, Callout):
        title = f"<strong>{html.escape(b.title)}</strong>" if b.title else ""
        items = "".join(f"<li>{html.escape(i)}</li>" for i in b.items)
        return f'<div class="callout {html.escape(b.kind)}" role="note">{title}<ul>{items}</ul></div>' if items else (
            f'<div class="callout {html.escape(b.kind)}" role="note">{title}</div>')  # fmt: skip
    if isinstance(b, Facts):
        rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in b.items)
        return f'<dl class="facts">{rows}</dl>'
    raise TypeError(f"not a report block: {type(b).__name__}")


def render_blocks(section: Section) -> str:
    """A section's blocks; charts side by side where the screen is wide enough; a table's
    title left out where it would repeat the section's."""
    out: list[str] = []
    charts: list[str] = []
    for b in section.blocks:
        if isinstance(b, Svg):
            charts.append(render_block(b))
            continue
        if charts:
            out.append(f'<div class="charts">{"".join(charts)}</div>')
            charts = []
        if isinstance(b, Table) and b.title == section.title:
            b = replace(b, title="")
        out.append(render_block(b))
    if charts:
        out.append(f'<div class="charts">{"".join(charts)}</div>')
    return "".join(out)


def render(page: Page) -> str:
    """The whole page as one HTML document (no external references)."""
    toc = "".join(f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in page.sections)
    body = "".join(
        f'<section id="{s.anchor}"{"" if s.new_page else " class=same-page"}><h2>{html.escape(s.title)}</h2>'
        f"{render_blocks(s)}</section>"
        for s in page.sections
    )
    sub = f'<p class="subtitle">{html.escape(page.subtitle)}</p>' if page.subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(page.title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{html.escape(page.title)}</h1>{sub}<nav class="toc"><ul>{toc}</ul></nav></header>'
        f"<main>{body}</main><script>{JS}</script></body></html>\n"
    )


def write_html(page: Page, path: Path) -> Path:
    text = render(page)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
