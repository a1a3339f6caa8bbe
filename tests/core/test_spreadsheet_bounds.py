"""Spreadsheet bombs (issue 16, defect 2): every kind is refused before it is read, in < 1 s and < 100 MB."""

import io
import time
import tracemalloc
import zipfile

import openpyxl
import pytest

from membercare.core import spreadsheet
from membercare.core.spreadsheet import SpreadsheetError, read_table


def _workbook(cells: dict[str, str]) -> bytes:
    wb = openpyxl.Workbook()
    for ref, value in cells.items():
        wb.active[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite(data: bytes, change) -> bytes:
    """A copy of the .xlsx with each part passed through change(name, bytes) -> bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info.filename)))
    return out.getvalue()


def _read(data: bytes, filename: str) -> None:
    table = read_table(data, filename)
    for _row in table.rows:
        pass


def _refused(data: bytes, filename: str) -> str:
    """The refusal's message; timed alone, then its peak memory measured (tracemalloc slows what it traces)."""
    started = time.perf_counter()
    with pytest.raises(SpreadsheetError) as refused:
        _read(data, filename)
    seconds = time.perf_counter() - started
    assert seconds < 1.0, seconds
    tracemalloc.start()
    try:
        with pytest.raises(SpreadsheetError):
            _read(data, filename)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, peak
    return refused.value.message


def test_cells_at_a1_and_the_last_cell_of_the_sheet():
    data = _workbook({"A1": "姓名", "XFD1048576": "x"})
    assert len(data) < 10_000
    message = _refused(data, "members.xlsx")
    assert "1048576" in message


def test_a_declared_dimension_of_the_whole_sheet():
    data = _rewrite(_workbook({"A1": "姓名", "B2": "x"}), lambda name, body: body.replace(
        b'<dimension ref="A1:B2"', b'<dimension ref="A1:XFD3"') if name.endswith("sheet1.xml") else body)
    assert b"XFD3" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert "XFD" in _refused(data, "members.xlsx")


def test_too_many_parts_and_too_much_unpacked():
    base = _workbook({"A1": "姓名"})
    many = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(many, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        for i in range(1500):
            dst.writestr(f"xl/media/p{i}.bin", b"")
    assert "1" in _refused(many.getvalue(), "members.xlsx")
    big = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED,
                                                                      compresslevel=1) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/media/zeros.bin", b"\0" * (spreadsheet.MAX_UNPACKED + 1))
    assert len(big.getvalue()) < 2_000_000
    assert "MB" in _refused(big.getvalue(), "members.xlsx")


def test_too_many_cells(monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_CELLS", 500)
    data = _workbook({f"A{i}": "x" for i in range(1, 1001)})
    assert "500" in _refused(data, "members.xlsx")


def test_a_csv_with_too_many_rows_or_a_line_too_long():
    rows = ("姓名,手机号\n" + "王,1\n" * (spreadsheet.MAX_ROWS + 5)).encode()
    assert str(spreadsheet.MAX_ROWS) in _refused(rows, "members.csv")
    long_line = ("姓名,手机号\n王,1\n王," + "9" * (spreadsheet.MAX_LINE + 10) + "\n").encode()
    assert "3" in _refused(long_line, "members.csv")
    quoted = ('姓名,备注\n"王","一\n二"\n' + "王,1\n" * (spreadsheet.MAX_ROWS + 5)).encode()  # counted as read
    assert str(spreadsheet.MAX_ROWS) in _refused(quoted, "members.csv")


def test_an_ordinary_workbook_still_reads():
    data = _workbook({"A1": "姓名", "B1": "手机号", "A2": "王芳", "B2": "13800001234"})
    table = read_table(data, "members.xlsx")
    assert table.headers == ["姓名", "手机号"] and [v for _n, v in table.rows] == [["王芳", "13800001234"]]
