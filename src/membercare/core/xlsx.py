"""The one writer of .xlsx files users download (exports, reports, error lists): text is always text.

A value a member typed — an occupation, an address, a note — that starts with = + - @ (or with a tab or a
carriage return before one of them) would be stored by openpyxl as a formula and run when the file is opened
(a HYPERLINK formula can send a specialist's full phone numbers away). Every string is written as a string
cell here; numbers, dates and amounts keep their types.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Sheet = tuple[str, list[Any], Iterable[list[Any]]]  # (title, headers, rows)


def cell(sheet, value: Any, *, bold: bool = False):
    """A write-only cell of `value`; a string is always a string cell (never a formula)."""
    from openpyxl.cell import WriteOnlyCell

    c = WriteOnlyCell(sheet, value=None if value == "" else value)
    if isinstance(value, str) and value:
        c.data_type = "s"  # openpyxl would take a leading "=" for a formula
    if bold:
        from openpyxl.styles import Font

        c.font = Font(bold=True)
    return c


def row_cells(sheet, values: Iterable[Any]) -> list[Any]:
    return [cell(sheet, v) for v in values]


def write_xlsx(sheets: list[Sheet], out: IO[bytes] | None = None) -> IO[bytes]:
    """Sheets of (title, headers, rows) to an .xlsx in `out` (default a temporary file), rewound; the header
    row bold and frozen."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(str(title)[:31])
        sheet.freeze_panes = "A2"
        sheet.append([cell(sheet, str(h), bold=True) for h in headers])
        for row in rows:
            sheet.append(row_cells(sheet, row))
    out = out or tempfile.TemporaryFile()
    workbook.save(out)
    out.seek(0)
    return out
