"""report.xlsx: the report's tables as one Excel workbook (`--xlsx`), numbers as numbers.

Each `Table` with a `sheet` goes to that sheet (several on one sheet are stacked, each under
its title); a column's unit goes into its header ("(s)" for durations), shares are written as
fractions formatted as percentages, a 95% interval as two columns (low, high), a verdict as
pass/fail. pandas writes through openpyxl (the optional `xlsx` extra), both imported only here."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SimsupportError
from .files import atomic_write
from .html import PP, SECONDS, SHARE, Column, Facts, Page, Table

MISSING = "--xlsx needs openpyxl, which is not installed: pip install 'simsupport[xlsx]' (or pip install openpyxl)"
PERCENT = "0.0%"


def xlsx_available() -> bool:
    return importlib.util.find_spec("openpyxl") is not None


def _header(c: Column, unit: str | None) -> str:
    if unit is None or unit == "" or c.verdict or c.plain_unit:
        return c.header
    word = {SHARE: "share", SECONDS: "s", PP: "difference of shares"}.get(unit, unit)
    return f"{c.header} ({word})"


def columns(t: Table) -> Iterator[tuple[str, str, Any]]:
    """(header, frame key, how) per workbook column: how is 'range-lo', 'range-hi', 'verdict' or a unit."""
    unit_cols: list[str] = []
    for c in t.cols():
        unit = None if c.unit_from else c.unit
        if c.unit_from and c.unit_from not in unit_cols:
            unit_cols.append(c.unit_from)
        if c.verdict:
            yield c.header, c.key, "verdict"
        elif c.range_to is not None:
            yield f"{_header(c, unit)} low", c.key, unit
            yield f"{_header(c, unit)} high", c.range_to, unit
        else:
            if c.prefix_from:
                yield f"{c.header}: must be", c.prefix_from, None
            yield _header(c, unit), c.key, unit
    for key in unit_cols:
        yield "unit", key, "unit"


def frame(t: Table) -> Any:
    import pandas as pd

    cols = list(columns(t))
    rows = []
    for r in [*t.records(), *(dict(f) for f in t.footer)]:
        row = {}
        for header, key, how in cols:
            v = r.get(key)
            if how == "verdict":
                v = None if v is None else (t_words(t, key)[0] if v else t_words(t, key)[1])
            elif how == "unit":
                v = {SHARE: "share", SECONDS: "s"}.get(v, v)
            row[header] = v
        rows.append(row)
    return pd.DataFrame(rows, columns=[h for h, _, _ in cols])


def t_words(t: Table, key: str) -> tuple[str, str]:
    return next((c.words for c in t.cols() if c.key == key and c.verdict), ("pass", "fail"))


def sheets(page: Page) -> dict[str, list[Table]]:
    """Sheet -> its tables; "summary" starts with what was run (the page's first facts)."""
    out: dict[str, list[Table]] = {}
    facts = next((b for sec in page.sections for b in sec.blocks if isinstance(b, Facts)), None)
    if facts is not None:
        out["summary"] = [Table("What was run", [{"what": k, "value": v} for k, v in facts.items],
                                [Column("what"), Column("value")])]  # fmt: skip
    for t in page.tables():
        if t.sheet is not None:
            out.setdefault(t.sheet[:31], []).append(t)
    return out


def _write(page: Page, path: Path) -> None:
    import pandas as pd
    from openpyxl.styles import Font

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, tables in sheets(page).items():
            row = 0
            for t in tables:
                df = frame(t)
                pd.DataFrame([[t.title]]).to_excel(writer, sheet_name=name, startrow=row, index=False, header=False)
                df.to_excel(writer, sheet_name=name, startrow=row + 1, index=False)
                ws = writer.sheets[name]
                ws.cell(row=row + 1, column=1).font = Font(bold=True)
                for j, (_, _, how) in enumerate(columns(t), start=1):
                    if how in (SHARE, PP):
                        for i in range(len(df)):
                            ws.cell(row=row + 3 + i, column=j).number_format = PERCENT
                row += len(df) + 4
            ws = writer.sheets[name]
            for col in ws.columns:
                width = max((len(str(c.value)) for c in col if c.value is not None and c.row > 1), default=8)
                ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 8), 48)
        if not sheets(page):
            pd.DataFrame([["no tables"]]).to_excel(writer, sheet_name="summary", index=False, header=False)


def write_workbook(page: Page, path: Path) -> Path:
    """The page's tables as report.xlsx, atomically; a clear error if openpyxl is missing."""
    if not xlsx_available():
        raise SimsupportError(MISSING)
    return atomic_write(path, lambda p: _write(page, p))
