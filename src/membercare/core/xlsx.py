"""The one writer of .xlsx files users download (exports, reports, error lists): text is always text.

A value a member typed — an occupation, an address, a note — that starts with = + - @ (or with a tab or a
carriage return before one of them) would be taken for a formula by a writer that guesses types, and run
when the file is opened (a HYPERLINK formula can send a specialist's full phone numbers away). Here every
string is written as a string cell (an inline string: never a formula); numbers, dates and amounts keep
their types.

Why written by hand (issue 17, measured): the export of 1,000,000 members × 39 columns must finish in two
minutes. openpyxl's write-only mode took 56 s per 100,000 rows of the member export and XlsxWriter's
constant-memory mode 30 s on this machine (≈ 560 s and 300 s for the million, before any database work); an
.xlsx is a zip of a few XML parts, and this module writes them directly — one formatter per Python type,
the sheet's XML streamed into the zip entry in large blocks (zlib releases the GIL while it compresses) —
at about a tenth of that. What it writes is the plain core of SpreadsheetML (ECMA-376): inline strings,
numbers, booleans, dates as serial numbers with a date format, a bold and frozen header row. Files are read
back in the tests with openpyxl, as the member import and every spreadsheet program read them.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import quoteattr

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # an .xlsx download
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Sheet = tuple[str, list[Any], Iterable[list[Any]]]  # (title, headers, rows)

MAX_ROWS = 1_048_576  # Excel's sheet limit: more rows cannot be opened
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell's text

# characters XML 1.0 cannot carry (control characters but tab, line feed and carriage return): dropped
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_DATE = _EPOCH.date()
_FIRST_DATE = dt.date(1900, 1, 1)
_LEAP_BUG_END = dt.date(1900, 3, 1)
_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

STYLE_HEADER, STYLE_DATE, STYLE_DATETIME = 1, 2, 3


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _text(ref: str, value: str) -> str:
    if not value:
        return ""
    if len(value) > MAX_CELL_TEXT:
        value = value[:MAX_CELL_TEXT]
    body = _escape(value)
    if value[0].isspace() or value[-1].isspace():
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{body}</t></is></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{body}</t></is></c>'


def _number(ref: str, value: Any) -> str:
    return f'<c r="{ref}"><v>{value}</v></c>'


def _float(ref: str, value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):  # NaN and infinities: no number in a sheet
        return ""
    return f'<c r="{ref}"><v>{float(value)!r}</v></c>'  # float(): numpy's repr is "np.float64(…)"


def _integral(ref: str, value: Any) -> str:
    return f'<c r="{ref}"><v>{int(value)}</v></c>'  # numpy's integers and other numbers.Integral


def _decimal(ref: str, value: Decimal) -> str:
    if not value.is_finite():
        return ""
    return f'<c r="{ref}"><v>{value:f}</v></c>'


def _bool(ref: str, value: bool) -> str:
    return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'


def _serial_days(value: dt.date) -> int | None:
    """Excel's day number of a date (1900 date system), None before 1900-01-01 (it has none). Excel counts a
    29 February 1900 that never was, so from 1900-03-01 on the day numbers run from 1899-12-30 and before it
    from 1899-12-31."""
    if value < _FIRST_DATE:
        return None
    days = (value - _EPOCH_DATE).days
    return days if value >= _LEAP_BUG_END else days - 1


def _date(ref: str, value: dt.date) -> str:
    days = _serial_days(value)
    if days is None:
        return _text(ref, value.isoformat())
    return f'<c r="{ref}" s="{STYLE_DATE}"><v>{days}</v></c>'


def _datetime(ref: str, value: dt.datetime) -> str:
    if value.tzinfo is not None:  # Excel has no time zones: the local wall-clock time
        from django.utils import timezone

        value = timezone.localtime(value).replace(tzinfo=None)
    days = _serial_days(value.date())
    if days is None:
        return _text(ref, value.isoformat(sep=" "))
    delta = value - dt.datetime.combine(value.date(), dt.time())
    serial = days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return f'<c r="{ref}" s="{STYLE_DATETIME}"><v>{serial!r}</v></c>'


def _time(ref: str, value: dt.time) -> str:
    return _text(ref, value.isoformat())


def _none(ref: str, value: Any) -> str:
    return ""


def _other(ref: str, value: Any) -> str:
    return _text(ref, str(value))  # lazy translations, enums and anything else: their text


_FORMATTERS: dict[type, Callable[[str, Any], str]] = {
    str: _text, int: _number, float: _float, Decimal: _decimal, bool: _bool, dt.datetime: _datetime,
    dt.date: _date, dt.time: _time, type(None): _none,
}


def _formatter(kind: type) -> Callable[[str, Any], str]:
    found = _FORMATTERS.get(kind)
    if found is None:
        # a subclass (SafeString, a choices member…): the first known base in its MRO; numpy's numbers by
        # the numbers ABCs they register with
        found = next((_FORMATTERS[base] for base in kind.__mro__ if base in _FORMATTERS), None)
        if found is None:
            found = (_integral if issubclass(kind, numbers.Integral) else
                     _float if issubclass(kind, numbers.Real) else _other)
        _FORMATTERS[kind] = found
    return found


def cell_xml(ref: str, value: Any) -> str:
    """One cell's XML ("" for an empty cell), by the value's type."""
    return _formatter(type(value))(ref, value)


def _header_row(headers: list[Any]) -> str:
    cells = "".join(f'<c r="{column_letter(i)}1" t="inlineStr" s="{STYLE_HEADER}"><is><t>{_escape(str(h))}</t></is></c>'
                    for i, h in enumerate(headers))
    return f'<row r="1">{cells}</row>'


_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
               'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               '<sheetViews><sheetView workbookViewId="0"{selected}><pane ySplit="1" topLeftCell="A2" '
               'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
               'sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
_BLOCK = 1 << 20  # characters gathered before a write into the zip entry


def _write_sheet(stream: IO[bytes], headers: list[Any], rows: Iterable[list[Any]], first: bool) -> None:
    letters = [column_letter(i) for i in range(max(len(headers), 1))]
    formatter = _formatter
    buffer: list[str] = [_SHEET_HEAD.format(selected=' tabSelected="1"' if first else ""), _header_row(headers)]
    size = 0
    number = 1
    for row in rows:
        number += 1
        if number > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS - 1:,} rows do not fit in one sheet")
        if len(row) > len(letters):
            letters += [column_letter(i) for i in range(len(letters), len(row))]
        suffix = str(number)
        line = "".join([formatter(type(value))(letter + suffix, value)
                        for letter, value in zip(letters, row, strict=False)])
        text = f'<row r="{suffix}">{line}</row>'
        buffer.append(text)
        size += len(text)
        if size >= _BLOCK:
            stream.write("".join(buffer).encode())
            buffer.clear()
            size = 0
    buffer.append(_SHEET_TAIL)
    stream.write("".join(buffer).encode())


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '{sheets}'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '</Types>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/>'
    '</Relationships>')
_CORE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
         'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>MemberCare</dc:creator>'
         '<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created></cp:coreProperties>')
_APP = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>MemberCare</Application></Properties>')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_INVALID_TITLE = re.compile(r"[\\/*?:\[\]]")


def _workbook_xml(titles: list[str]) -> str:
    sheets = "".join(f'<sheet name={quoteattr(t)} sheetId="{n}" r:id="rId{n}"/>' for n, t in enumerate(titles, 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets></workbook>')


def _workbook_rels(count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{n}.xml"/>' for n in range(1, count + 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{sheets}<Relationship Id="rId{count + 1}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/></Relationships>')


def _titles(sheets: list[Sheet]) -> list[str]:
    titles: list[str] = []
    for title, _headers, _rows in sheets:
        # Excel refuses a name that starts or ends with an apostrophe, and "History" (its own)
        name = _ILLEGAL.sub("", _INVALID_TITLE.sub("_", str(title)))[:31].strip("'") or "Sheet"
        if name.lower() == "history":
            name = "History_1"
        base, n = name, 1
        while name.lower() in (t.lower() for t in titles):  # sheet names are unique, case-insensitively
            n += 1
            name = f"{base[:31 - len(str(n)) - 1]}_{n}"
        titles.append(name)
    return titles


def write_xlsx(sheets: list[Sheet], out: IO[bytes] | None = None) -> IO[bytes]:
    """Sheets of (title, headers, rows) to an .xlsx in `out` (default a temporary file), rewound; the header
    row bold and frozen. Rows are consumed as they come (a generator of a million rows is never held)."""
    from django.utils import timezone

    out = out or tempfile.TemporaryFile()
    titles = _titles(sheets)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
            sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("docProps/core.xml", _CORE.format(now=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")))
        archive.writestr("docProps/app.xml", _APP)
        archive.writestr("xl/workbook.xml", _workbook_xml(titles))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        archive.writestr("xl/styles.xml", _STYLES)
        for n, (_title, headers, rows) in enumerate(sheets, 1):
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as stream:
                _write_sheet(stream, [str(h) for h in headers], rows, first=n == 1)
    out.seek(0)
    return out


def _csv_str(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        from django.utils import timezone

        value = timezone.localtime(value).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="seconds")


# what a CSV cell needs beyond str(): text that a spreadsheet would run as a formula gets a leading
# apostrophe (OWASP's advice for CSV injection); times in local time. None is written empty, dates as ISO.
_CSV: dict[type, Callable[[Any], Any]] = {str: _csv_str, dt.datetime: _csv_datetime}


def _same(value: Any) -> Any:
    return value


def _csv_converter(kind: type) -> Callable[[Any], Any]:
    found = _CSV.get(kind)
    if found is None:
        if issubclass(kind, str):
            found = _csv_str
        elif issubclass(kind, dt.datetime):
            found = _csv_datetime
        elif kind.__module__ == "django.utils.functional":  # a lazy translation: its text
            def found(value: Any) -> str:
                return _csv_str(str(value))
        else:
            found = _same
        _CSV[kind] = found
    return found


def csv_text(value: Any) -> Any:
    """A CSV cell's value (see _CSV)."""
    return _csv_converter(type(value))(value)


def write_csv(headers: list[Any], rows: Iterable[list[Any]], out: IO[bytes] | None = None) -> IO[bytes]:
    """One table to a UTF-8 CSV with a byte-order mark (so Excel reads Chinese), rewound."""
    import codecs
    import csv
    import io

    out = out or tempfile.TemporaryFile()
    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text)
    writer.writerow([csv_text(str(h)) for h in headers])
    batch: list[list[Any]] = []
    converter = _csv_converter
    for row in rows:
        batch.append([convert(v) for v in row for convert in (converter(type(v)),)])
        if len(batch) >= 5000:
            writer.writerows(batch)
            batch.clear()
    writer.writerows(batch)
    text.flush()
    text.detach()
    out.seek(0)
    return out
