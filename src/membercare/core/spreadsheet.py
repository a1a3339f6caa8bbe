"""Reading spreadsheets users upload (.xlsx through calamine, .csv in UTF-8, UTF-16 or GBK/GB18030).

Shared by every import (members here; offline stores' sales later): the first non-blank row is the
header, and every data row keeps the row number the user sees in Excel, for error messages.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.utils.translation import gettext as _


class SpreadsheetError(Exception):
    """The file as a whole cannot be read or imported (empty, unreadable, too large, wrong columns)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message



def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def file_kind(filename: str) -> str:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise SpreadsheetError(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))


def decode_text(data: bytes) -> str:
    """CSV from Chinese Excel is GBK/GB18030; from elsewhere UTF-8 with or without a BOM."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", data)]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [("utf-16", data)]
    else:
        candidates = [("utf-8", data), ("gb18030", data)]
    for encoding, raw in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise SpreadsheetError(
        _("The file cannot be read as text: save it from Excel as “CSV (comma delimited)” or as .xlsx.")
    )


def read_csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise SpreadsheetError(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc


def read_xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [
            i for i, meta in enumerate(workbook.sheets_metadata)
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
        ] or [0]
        sheet = workbook.get_sheet_by_index(sheets[0])
        # iter_rows starts at A1 (leading blank rows included), so indexes are the rows the user sees
        rows = sheet.iter_rows()
    except PasswordError as exc:
        raise SpreadsheetError(_("The workbook is protected with a password: remove the password first.")) from exc
    except Exception as exc:  # calamine raises several kinds for a damaged or foreign file
        raise SpreadsheetError(
            _("The file is not a readable Excel workbook (.xlsx). Open it in Excel and save it again as .xlsx.")
        ) from exc
    yield from rows


def cell_value(value: Any) -> Any:
    """Spreadsheet cell -> the raw value clean_member_data expects."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return value


def is_blank(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


@dataclass
class Table:
    headers: list[str]  # as written
    header_row: int
    rows: Iterator[tuple[int, list[Any]]]  # (spreadsheet row number, values)


def read_table(data: bytes, filename: str) -> Table:
    """The header row (the first non-blank row) and an iterator over the data rows with their numbers."""
    if not data or not data.strip():
        raise SpreadsheetError(_("The file is empty."))
    kind = file_kind(filename)
    source = read_xlsx_rows(data) if kind == "xlsx" else read_csv_rows(data)
    numbered = enumerate(source, start=1)
    for number, values in numbered:
        if not is_blank(values):
            headers = [str(v).strip() if v is not None else "" for v in values]
            return Table(headers=headers, header_row=number, rows=numbered)
    raise SpreadsheetError(_("The file is empty."))


def columns_problem(title: str, *, missing: list[str], unknown: list[str], twice: list[str], outcome: str) -> str:
    """One message for a header row that does not fit an import: what is missing, unknown or doubled."""
    parts = [title]
    if missing:
        parts.append(_("Missing required columns: %(columns)s.") % {"columns": "、".join(missing)})
    if unknown:
        parts.append(_("Unknown columns: %(columns)s.") % {"columns": "、".join(f"“{h}”" for h in unknown)})
    if twice:
        parts.append(_("Columns given twice: %(columns)s.") % {"columns": "、".join(twice)})
    parts.append(outcome)
    return " ".join(parts)
