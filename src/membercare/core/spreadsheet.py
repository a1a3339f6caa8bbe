"""Reading spreadsheets users upload (.xlsx through calamine, .csv in UTF-8, UTF-16 or GBK/GB18030).

Shared by every import (members here; offline stores' sales later): the first non-blank row is the
header, and every data row keeps the row number the user sees in Excel, for error messages.

Bounds before reading (a few KB can declare a sheet of 17 billion cells, which a reader would allocate): an
.xlsx is checked as a zip first — its number of parts, their unpacked size — then every worksheet's XML is
scanned as a stream for the farthest row and column any cell names and the number of cells, and refused with
the row or column named when it goes beyond MAX_ROWS, MAX_COLUMNS or MAX_CELLS. A CSV is refused past
MAX_ROWS rows or a line longer than MAX_LINE. The scan is written by hand: no library bounds a workbook
before loading it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
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



MAX_ROWS = 200_000  # rows of a sheet or a CSV file (a member import of 100,000 rows fits)
MAX_COLUMNS = 200
MAX_CELLS = 5_000_000
MAX_PARTS = 1_000  # files inside an .xlsx (a workbook has a few dozen)
MAX_UNPACKED = 200 * 1024 * 1024  # bytes of all the parts together, unpacked
MAX_LINE = 64 * 1024  # characters of one CSV line
_LONG_LINE = re.compile(f"[^\n]{{{MAX_LINE + 1}}}")
_CELL_REF = re.compile(rb"<(?:\w+:)?(c|row)\b[^>]*?\br=\"([A-Z]*)([0-9]+)\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"(?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)\"")


def column_name(number: int) -> str:
    """1 -> A, 27 -> AA (as Excel names columns)."""
    name = ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _too_far(row: int, column: int) -> None:
    if row > MAX_ROWS:
        raise SpreadsheetError(_("The sheet has data down to row %(row)d; at most %(max)d rows can be read. Delete "
                                 "the rows below your data (or what sits in them) and save again.") % {
            "row": row, "max": MAX_ROWS})
    if column > MAX_COLUMNS:
        raise SpreadsheetError(_("The sheet has data as far right as column %(column)s; at most %(max)d columns "
                                 "can be read. Delete the columns to the right of your data and save again.") % {
            "column": column_name(column), "max": MAX_COLUMNS})


def check_xlsx(data: bytes) -> None:
    """Refuse a workbook that would cost more to read than any real import: checked on the zip's directory
    and by streaming each worksheet's XML (never more than a chunk in memory)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SpreadsheetError(
            _("The file is not a readable Excel workbook (.xlsx). Open it in Excel and save it again as .xlsx.")
        ) from exc
    if len(parts) > MAX_PARTS:
        raise SpreadsheetError(_("The workbook holds %(n)d parts; at most %(max)d can be read.") % {
            "n": len(parts), "max": MAX_PARTS})
    if sum(p.file_size for p in parts) > MAX_UNPACKED:
        raise SpreadsheetError(_("The workbook unpacks to more than %(size)s; save only the data to import.") % {
            "size": size_text(MAX_UNPACKED)})
    unpacked = 0
    for part in parts:
        if not (part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml")):
            continue
        cells, tail = 0, b""
        try:
            with archive.open(part) as stream:
                while chunk := stream.read(1 << 20):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED:  # the directory understated the sizes
                        raise SpreadsheetError(_("The workbook unpacks to more than %(size)s; save only the data "
                                                 "to import.") % {"size": size_text(MAX_UNPACKED)})
                    text = tail + chunk
                    cut = text.rfind(b"<")
                    body, tail = (text[:cut], text[cut:]) if cut > 0 else (text, b"")
                    if len(tail) > 4096:  # no tag is that long
                        body, tail = text, b""
                    for m in _DIMENSION.finditer(body):
                        _too_far(int(m.group(2)), _column_number(m.group(1)))
                    for m in _CELL_REF.finditer(body):
                        _too_far(int(m.group(3)), _column_number(m.group(2)) if m.group(2) else 0)
                        if m.group(1) == b"c":
                            cells += 1
                    if cells > MAX_CELLS:
                        raise SpreadsheetError(_("The sheet holds more than %(max)d cells; save only the data to "
                                                 "import.") % {"max": MAX_CELLS})
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SpreadsheetError(_("The file is not a readable Excel workbook (.xlsx). Open it in Excel and save "
                                     "it again as .xlsx.")) from exc


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
    long_line = _LONG_LINE.search(text)
    if long_line:
        raise SpreadsheetError(_("Row %(row)d is longer than %(size)s.") % {
            "row": text.count("\n", 0, long_line.start()) + 1, "size": size_text(MAX_LINE)})
    if text.count("\n", 0, len(text) - 1) >= MAX_ROWS and '"' not in text:  # no quoted line breaks: lines are rows
        raise SpreadsheetError(_("The file has more than %(max)d rows; import it in parts.") % {"max": MAX_ROWS})
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    # no line is longer than MAX_LINE (checked above), so csv's own field limit (128 KB) is never the bound; it is
    # process-wide state and is left alone
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if reader.line_num > MAX_ROWS:
                raise SpreadsheetError(_("The file has more than %(max)d rows; import it in parts.") % {
                    "max": MAX_ROWS})
            if sum(len(v) for v in row) > MAX_LINE:
                raise SpreadsheetError(_("Row %(row)d is longer than %(size)s.") % {
                    "row": reader.line_num, "size": size_text(MAX_LINE)})
            yield row
    except csv.Error as exc:
        raise SpreadsheetError(_("Row %(row)d: the CSV file is malformed: %(error)s") % {
            "row": reader.line_num, "error": exc}) from exc


def read_xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    check_xlsx(data)
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
