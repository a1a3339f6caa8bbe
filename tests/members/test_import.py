"""Member import: dry-run preview, confirm, merges, and every kind of bad input. Real database rows."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from membercare.core.idnumber import id_check_char
from membercare.members.exports import export_headers
from membercare.members.imports import (
    ImportFileError,
    confirm_import,
    discard_import,
    error_report_xlsx,
    map_columns,
    preview_import,
)
from membercare.members.models import ImportJob, Member, MemberChange, Tag
from membercare.members.services import set_member_tags
from tests.factories import MemberFactory

HEADER = ["姓名", "手机号", "生日", "性别", "门店编码", "标签", "地址", "备注"]


def valid_id(prefix17: str = "11010519850321002") -> str:
    return prefix17 + id_check_char(prefix17)


def xlsx_bytes(rows, *, title="会员") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_upload(rows, name="members.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx_bytes(rows))


def csv_upload(rows, *, encoding="utf-8", name="members.csv", bom=False) -> SimpleUploadedFile:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    data = text.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    return SimpleUploadedFile(name, data)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # uploads kept by ImportJob go to a throw-away folder
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users


def errors_by_row(job):
    found = {}
    for error in job.summary["errors"]:
        found.setdefault(error["row"], []).append((error["column"], error["message"]))
    return found


def test_preview_counts_every_row_and_writes_no_member(store, manager):
    upload = xlsx_upload([
        HEADER,
        ["王小明", "13812345678", dt.date(1985, 3, 21), "男", "", "喜欢喝茶", "上海市黄浦区", ""],
        ["李晓红", "13900001111", "1990-01-02", "女", "SH01", "有车,60后", "", "老顾客"],
        ["", "13700002222", "1991-05-06", "女", "", "", "", ""],  # no name
    ])
    job = preview_import(upload=upload, default_store=store, user=manager)

    assert job.status == ImportJob.Status.PREVIEWED
    assert job.file and job.original_name == "members.xlsx"
    assert job.created_by == manager and job.default_store == store
    summary = job.summary
    assert (summary["rows"], summary["new"], summary["merge"], summary["bad"]) == (3, 2, 0, 1)
    assert list(errors_by_row(job)) == [4]
    assert errors_by_row(job)[4][0][0] == "姓名"
    # a dry run: nothing reached the archive
    assert Member.objects.count() == 0
    assert MemberChange.objects.count() == 0
    assert Tag.objects.count() == 0


def test_confirm_imports_the_valid_rows_only(store, manager):
    upload = xlsx_upload([
        HEADER + ["身份证号", "身高", "农历生日月", "农历生日日", "短信同意"],
        ["王小明", "13812345678", dt.date(1985, 3, 21), "男", "", "喜欢喝茶、有车", "上海市黄浦区", "",
         valid_id(), 175, 2, 15, "是"],
        ["李晓红", "13900001111", "1990-01-02", "女", "", "", "", "", "", "", "", "", ""],
        ["张伟", "13700002222", "not a date", "男", "", "", "", "", "", "", "", "", ""],
        ["赵敏", "12345", "1992-02-02", "女", "", "", "", "", "", "", "", "", ""],
    ])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert (job.summary["new"], job.summary["bad"]) == (2, 2)

    job = confirm_import(job=job, user=manager)

    assert job.status == ImportJob.Status.IMPORTED and job.imported_at is not None
    assert job.summary["result"]["created"] == 2 and job.summary["result"]["skipped"] == 2
    assert set(Member.objects.values_list("name", flat=True)) == {"王小明", "李晓红"}
    wang = Member.objects.get(phone="13812345678")
    assert wang.home_store == store
    assert wang.registered_by == manager and wang.owner is None
    assert wang.birthday == dt.date(1985, 3, 21) and wang.gender == "M"
    assert wang.id_number == valid_id() and wang.id_number_index
    assert wang.height_cm == 175 and (wang.lunar_birthday_month, wang.lunar_birthday_day) == (2, 15)
    assert wang.consent_sms is True
    assert wang.phone_last4 == "5678" and "小明" in wang.name_grams.split()
    assert wang.member_no.startswith("M") and len(wang.member_no) == 9
    assert sorted(t.name for t in wang.tags.all()) == ["喜欢喝茶", "有车"]
    change = MemberChange.objects.get(member=wang)
    assert change.action == MemberChange.Action.IMPORT_CREATE and change.changed_by == manager
    assert change.changes["id_number"][1].startswith("110") and "*" in change.changes["id_number"][1]
    assert Member.objects.get(phone="13900001111").tags.count() == 0
    assert len(set(Member.objects.values_list("member_no", flat=True))) == 2


def test_phones_with_spaces_dashes_and_country_code_are_normalised(store, manager):
    upload = xlsx_upload([
        ["姓名", "手机", "生日", "性别"],
        ["甲", "138 1234 5678", "1985-03-21", "女"],
        ["乙", "+86 139-0000-1111", "1985-03-21", "女"],
        ["丙", 13700002222, "1985-03-21", "女"],  # a number cell
        ["丁", "０１３６", "1985-03-21", "女"],
    ])
    job = confirm_import(job=preview_import(upload=upload, default_store=store, user=manager), user=manager)
    assert sorted(Member.objects.values_list("phone", flat=True)) == ["13700002222", "13812345678", "13900001111"]
    assert list(errors_by_row(job)) == [5]
    assert errors_by_row(job)[5][0][0] == "手机"


def test_duplicate_phone_inside_the_file_makes_the_later_row_bad(store, manager):
    upload = xlsx_upload([
        ["姓名", "手机号", "生日", "性别"],
        ["王小明", "13812345678", "1985-03-21", "男"],
        ["李晓红", "13900001111", "1990-01-02", "女"],
        ["王小明", "138-1234-5678", "1985-03-21", "男"],
    ])
    with translation.override("en"):
        job = preview_import(upload=upload, default_store=store, user=manager)
    assert job.summary["bad"] == 1 and job.summary["new"] == 2
    assert errors_by_row(job) == {4: [("手机号", "Same phone as row 2.")]}
    confirm_import(job=job, user=manager)
    assert Member.objects.filter(phone="13812345678").count() == 1
    assert Member.objects.count() == 2


def test_store_codes_unknown_foreign_and_default(store, other_store, manager):
    upload = xlsx_upload([
        ["姓名", "手机号", "生日", "性别", "门店编码"],
        ["甲", "13800000001", "1985-03-21", "女", "sh01"],
        ["乙", "13800000002", "1985-03-21", "女", "XX99"],
        ["丙", "13800000003", "1985-03-21", "女", "BJ01"],  # exists, but not the manager's store
        ["丁", "13800000004", "1985-03-21", "女", ""],
    ])
    with translation.override("en"):
        job = preview_import(upload=upload, default_store=store, user=manager)
    errors = errors_by_row(job)
    assert errors[3] == [("门店编码", "Unknown store code “XX99”.")]
    assert errors[4] == [("门店编码", "Store BJ01 is not one of your stores.")]
    assert set(errors) == {3, 4}
    confirm_import(job=job, user=manager)
    assert dict(Member.objects.values_list("name", "home_store__code")) == {"甲": "SH01", "丁": "SH01"}


def test_chain_wide_user_imports_into_any_store_by_code(store, other_store, specialist):
    upload = xlsx_upload([
        ["Name", "Mobile phone", "Birthday", "Gender", "Store code"],
        ["Ann", "13800000001", "1985-03-21", "F", "BJ01"],
        ["Bob", "13800000002", "1985-03-21", "M", ""],
    ])
    confirm_import(job=preview_import(upload=upload, default_store=store, user=specialist), user=specialist)
    assert dict(Member.objects.values_list("name", "home_store__code")) == {"Ann": "BJ01", "Bob": "SH01"}


def test_existing_phone_is_merged_not_doubled(store, manager):
    existing = MemberFactory(name="王小明", phone="13812345678", home_store=store, address="", occupation="教师",
                             consent_sms=False)
    set_member_tags(existing, ["老顾客"])
    upload = xlsx_upload([
        ["姓名", "手机号", "生日", "性别", "地址", "职业", "标签", "短信同意"],
        ["王晓明", "+86 138 1234 5678", "1970-01-01", "女", "上海市静安区", "医生", "老顾客，喜欢喝茶", "是"],
    ])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert (job.summary["new"], job.summary["merge"], job.summary["bad"]) == (0, 1, 0)
    assert job.summary["merges"][0]["member_no"] == existing.member_no
    existing.refresh_from_db()
    assert existing.address == ""  # preview changes nothing

    job = confirm_import(job=job, user=manager)

    assert Member.objects.count() == 1
    existing.refresh_from_db()
    assert existing.address == "上海市静安区"  # blank field filled
    assert existing.occupation == "教师"  # a filled field is kept
    assert existing.name == "王小明" and existing.gender == "F" and existing.birthday == dt.date(1985, 3, 21)
    assert existing.consent_sms is False  # consent is never switched on by a merge
    assert sorted(t.name for t in existing.tags.all()) == ["喜欢喝茶", "老顾客"]
    change = MemberChange.objects.get(member=existing)
    assert change.action == MemberChange.Action.IMPORT_MERGE and change.changed_by == manager
    assert change.changes["address"] == ["", "上海市静安区"]
    assert change.changes["tags"] == ["老顾客", "老顾客, 喜欢喝茶"]
    assert job.summary["result"]["merged"] == 1


def test_existing_member_with_nothing_new_is_counted_and_left_alone(store, manager):
    existing = MemberFactory(phone="13812345678", home_store=store)
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["王小明", "13812345678", "1985-03-21", "男"]])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert (job.summary["merge"], job.summary["unchanged"]) == (1, 1)
    job = confirm_import(job=job, user=manager)
    assert job.summary["result"]["unchanged"] == 1
    assert Member.objects.count() == 1 and not MemberChange.objects.filter(member=existing).exists()


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_csv_from_chinese_excel_is_read(store, manager, encoding):
    upload = csv_upload([
        ["姓名", "手机号", "生日", "性别", "标签", "决策类型"],
        ["欧阳娜娜", "13812345678", "1985/3/21", "女", "喜欢喝茶", "犹豫型"],
        ["诸葛亮", "13900001111", "1981年4月5日", "男", "", ""],
    ], encoding=encoding)
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert (job.summary["new"], job.summary["bad"]) == (2, 0), job.summary["errors"]
    confirm_import(job=job, user=manager)
    nana = Member.objects.get(phone="13812345678")
    assert nana.name == "欧阳娜娜" and nana.decision_style == "hesitant"
    assert [t.name for t in nana.tags.all()] == ["喜欢喝茶"]
    assert Member.objects.get(phone="13900001111").birthday == dt.date(1981, 4, 5)


@pytest.mark.parametrize("bom", [True, False])
def test_utf8_csv_with_or_without_bom(store, manager, bom):
    upload = csv_upload([["姓名", "手机号", "生日", "性别"], ["王小明", "13812345678", "1985-03-21", "男"]], bom=bom)
    job = confirm_import(job=preview_import(upload=upload, default_store=store, user=manager), user=manager)
    assert job.summary["columns"]["name"] == "姓名"
    assert Member.objects.get().name == "王小明"


def test_row_numbers_are_the_spreadsheet_rows(store, manager):
    upload = xlsx_upload([
        ["姓名", "手机号", "生日", "性别"],
        ["甲", "13800000001", "1985-03-21", "女"],
        [None, None, None, None],  # a blank row is skipped, but still counts as a row of the sheet
        ["乙", "13800000002", "2999-01-01", "女"],
    ])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert list(errors_by_row(job)) == [4]
    assert errors_by_row(job)[4][0][0] == "生日"
    assert job.summary["rows"] == 2


def test_error_messages_follow_the_users_language(store, manager):
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["", "13800000001", "1985-03-21", "女"]])
    job = preview_import(upload=upload, default_store=store, user=manager)  # zh-hans, the default
    assert errors_by_row(job)[2] == [("姓名", "这个字段是必填项。")]
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["甲", "1234", "1985-03-21", "x"]])
    with translation.override("en"):
        job = preview_import(upload=upload, default_store=store, user=manager)
    assert errors_by_row(job)[2] == [
        ("手机号", "“1234” is not a valid mainland mobile number (11 digits starting with 13–19)."),
        ("性别", "Gender must be female (女) or male (男)."),
    ]


def test_date_cells_and_number_cells(store, manager):
    upload = xlsx_upload([
        ["姓名", "手机号", "生日", "性别", "农历生日月", "农历生日日", "身高"],
        ["甲", 13800000001.0, dt.datetime(1985, 3, 21, 0, 0), "女", 3.0, 15.0, 162.0],
        ["乙", "13800000002", 31127, "女", "", "", ""],  # a date typed as a plain number (Excel serial)
    ])
    job = confirm_import(job=preview_import(upload=upload, default_store=store, user=manager), user=manager)
    assert job.summary["bad"] == 0, job.summary["errors"]
    first = Member.objects.get(phone="13800000001")
    assert first.birthday == dt.date(1985, 3, 21) and first.lunar_birthday_month == 3 and first.height_cm == 162
    assert Member.objects.get(phone="13800000002").birthday == dt.date(1985, 3, 21)


def test_wrong_columns_name_the_missing_and_the_unknown(store, manager):
    upload = xlsx_upload([["姓名", "电话号码", "星座", "Favourite colour"], ["甲", "13800000001", "白羊", "red"]])
    with translation.override("en"), pytest.raises(ImportFileError) as caught:
        preview_import(upload=upload, default_store=store, user=manager)
    message = caught.value.message
    assert "Missing required columns: 生日 / birthday、性别 / gender." in message
    assert "Unknown columns: “星座”、“Favourite colour”." in message
    assert "姓名" not in message.split("Unknown")[0].split("Missing")[1]
    assert ImportJob.objects.count() == 0 and Member.objects.count() == 0


def test_a_column_given_twice_is_refused(store, manager):
    upload = xlsx_upload([["姓名", "手机", "手机号", "生日", "性别"]])
    with pytest.raises(ImportFileError, match="手机 = 手机号"):
        preview_import(upload=upload, default_store=store, user=manager)


@pytest.mark.parametrize("name,data", [
    ("members.xlsx", b""),
    ("members.csv", b""),
    ("members.csv", b"\xef\xbb\xbf\r\n\r\n"),
    ("members.xlsx", xlsx_bytes([])),
])
def test_empty_files_are_refused(store, manager, name, data):
    with translation.override("en"), pytest.raises(ImportFileError, match="The file is empty"):
        preview_import(upload=SimpleUploadedFile(name, data), default_store=store, user=manager)
    assert ImportJob.objects.count() == 0


def test_header_without_rows_is_refused(store, manager):
    with translation.override("en"), pytest.raises(ImportFileError, match="no member rows"):
        preview_import(upload=xlsx_upload([HEADER]), default_store=store, user=manager)


@pytest.mark.parametrize("name,data", [
    ("members.xlsx", bytes(range(256)) * 40),
    ("members.xlsx", b"PK\x03\x04" + b"\x00" * 300),  # a broken zip
    ("members.xlsx", "姓名,手机号\n".encode()),  # a CSV renamed to .xlsx
])
def test_malformed_workbook_is_refused(store, manager, name, data):
    with translation.override("en"), pytest.raises(ImportFileError, match="not a readable Excel workbook"):
        preview_import(upload=SimpleUploadedFile(name, data), default_store=store, user=manager)
    assert ImportJob.objects.count() == 0 and Member.objects.count() == 0


def test_binary_file_named_csv_is_refused(store, manager):
    with translation.override("en"), pytest.raises(ImportFileError, match="cannot be read as text"):
        preview_import(upload=SimpleUploadedFile("m.csv", b"\x00\xff\xfe\x00" * 50), default_store=store,
                       user=manager)


def test_other_file_types_are_refused(store, manager):
    with translation.override("en"), pytest.raises(ImportFileError, match=r"\.xlsx"):
        preview_import(upload=SimpleUploadedFile("members.pdf", b"%PDF-1.4"), default_store=store, user=manager)


def test_file_over_the_size_limit_is_refused(store, manager, settings):
    settings.MEMBERCARE_IMPORT_MAX_BYTES = 1024
    upload = xlsx_upload([HEADER] + [["甲", f"138{i:08d}", "1985-03-21", "女", "", "", "", ""] for i in range(200)])
    assert upload.size > 1024
    with translation.override("en"), pytest.raises(ImportFileError, match="the limit is 1 KB"):
        preview_import(upload=upload, default_store=store, user=manager)
    assert ImportJob.objects.count() == 0


def test_too_many_rows_is_refused(store, manager, settings):
    settings.MEMBERCARE_IMPORT_MAX_ROWS = 3
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"]]
                         + [["甲", f"138{i:08d}", "1985-03-21", "女"] for i in range(4)])
    with translation.override("en"), pytest.raises(ImportFileError, match="more than 3 member rows"):
        preview_import(upload=upload, default_store=store, user=manager)


def test_confirm_revalidates_against_the_archive_of_now(store, manager):
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别", "地址"],
                          ["王小明", "13812345678", "1985-03-21", "男", "上海"],
                          ["李晓红", "13900001111", "1990-01-02", "女", ""]])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert job.summary["new"] == 2
    # registered at the counter between preview and confirm
    counter = MemberFactory(name="王小明", phone="13812345678", home_store=store)

    job = confirm_import(job=job, user=manager)

    assert Member.objects.count() == 2
    assert job.summary["result"]["created"] == 1 and job.summary["result"]["merged"] == 1
    counter.refresh_from_db()
    assert counter.address == "上海"


def test_a_job_is_imported_once(store, manager):
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["王小明", "13812345678", "1985-03-21", "男"]])
    job = preview_import(upload=upload, default_store=store, user=manager)
    confirm_import(job=job, user=manager)
    with pytest.raises(ImportFileError):
        confirm_import(job=ImportJob.objects.get(pk=job.pk), user=manager)
    with pytest.raises(ImportFileError):
        confirm_import(job=job, user=manager)  # a stale copy of the job is re-checked under lock
    assert Member.objects.count() == 1 and MemberChange.objects.count() == 1


def test_discard_deletes_the_file_and_imports_nothing(store, manager):
    job = preview_import(upload=xlsx_upload([["姓名", "手机号", "生日", "性别"],
                                             ["王小明", "13812345678", "1985-03-21", "男"]]),
                         default_store=store, user=manager)
    path = job.file.path
    job = discard_import(job=job, user=manager)
    assert job.status == ImportJob.Status.REJECTED and not job.file
    import os

    assert not os.path.exists(path)
    with pytest.raises(ImportFileError):
        confirm_import(job=job, user=manager)
    assert Member.objects.count() == 0


def test_clerk_may_not_import(store, clerk):
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["王小明", "13812345678", "1985-03-21", "男"]])
    with pytest.raises(PermissionDenied):
        preview_import(upload=upload, default_store=store, user=clerk)
    assert ImportJob.objects.count() == 0


def test_default_store_must_be_one_of_the_users_stores(store, other_store, manager):
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"], ["王小明", "13812345678", "1985-03-21", "男"]])
    with pytest.raises(PermissionDenied):
        preview_import(upload=upload, default_store=other_store, user=manager)


def test_error_report_lists_every_bad_row(store, manager, settings):
    rows = [["姓名", "手机号", "生日", "性别"]] + [["甲", "bad", "1985-03-21", "女"] for _ in range(5)]
    job = preview_import(upload=xlsx_upload(rows), default_store=store, user=manager)
    sheet = openpyxl.load_workbook(io.BytesIO(error_report_xlsx(job, user=manager))).active
    values = list(sheet.iter_rows(values_only=True))
    assert [v[0] for v in values[1:]] == [2, 3, 4, 5, 6]
    assert all(v[1] == "手机号" for v in values[1:])


def test_summary_keeps_the_first_errors_and_counts_all(store, manager, monkeypatch):
    from membercare.members import imports

    monkeypatch.setattr(imports, "SUMMARY_ERROR_LIMIT", 3)
    rows = [["姓名", "手机号", "生日", "性别"]] + [["甲", "bad", "1985-03-21", "女"] for _ in range(5)]
    job = preview_import(upload=xlsx_upload(rows), default_store=store, user=manager)
    assert job.summary["bad"] == 5 and job.summary["error_count"] == 5
    assert len(job.summary["errors"]) == 3 and job.summary["errors_truncated"] is True


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_export_headers_are_read_back_by_the_import(language):
    with translation.override(language):
        headers = export_headers()
    _by_index, columns, ignored = map_columns(headers)
    assert {"name", "phone", "birthday", "gender", "store_code", "tags", "id_number"} <= set(columns)
    assert len(ignored) == 8  # 4 facts of the member file, 4 of loyalty (card level, points, spend twice)


def test_member_deleted_after_the_preview_is_created_with_a_fresh_number(store, manager):
    gone = MemberFactory(phone="13812345678", home_store=store, member_no="M99999999")
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别"],
                          ["王小明", "13812345678", "1985-03-21", "男"],
                          ["李晓红", "13900001111", "1990-01-02", "女"]])
    job = preview_import(upload=upload, default_store=store, user=manager)
    assert (job.summary["new"], job.summary["merge"]) == (1, 1)
    gone.delete()
    confirm_import(job=job, user=manager)
    numbers = sorted(Member.objects.values_list("member_no", flat=True))
    assert len(numbers) == 2 and len(set(numbers)) == 2 and "M99999999" not in numbers


def test_other_databases_fall_back_to_bulk_create(store, manager, monkeypatch):
    from membercare.core import bulk

    monkeypatch.setattr(bulk, "FAST_INSERT_VENDORS", set())
    set_member_tags(MemberFactory(phone="13700002222", home_store=store, address=""), ["老顾客"])
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别", "标签", "身份证号", "地址"],
                          ["王小明", "13812345678", "1985-03-21", "男", "喜欢喝茶,有车", valid_id(), ""],
                          ["李晓红", "13900001111", "1990-01-02", "女", "", "", ""],
                          ["张伟", "13700002222", "1990-01-02", "男", "喜欢喝茶", "", "北京"]])
    job = confirm_import(job=preview_import(upload=upload, default_store=store, user=manager), user=manager)
    assert job.summary["result"]["created"] == 2 and job.summary["result"]["merged"] == 1
    wang = Member.objects.get(phone="13812345678")
    assert wang.id_number == valid_id() and sorted(t.name for t in wang.tags.all()) == ["喜欢喝茶", "有车"]
    assert sorted(t.name for t in Member.objects.get(phone="13700002222").tags.all()) == ["喜欢喝茶", "老顾客"]
    assert MemberChange.objects.filter(action="import").count() == 2
    assert MemberChange.objects.filter(action="merge").count() == 1


def test_fast_path_stores_what_the_orm_would(store, manager):
    """Dates, times, encrypted ID numbers and JSON history read back exactly through the ORM."""
    upload = xlsx_upload([["姓名", "手机号", "生日", "性别", "身份证号", "标签", "邮箱", "短信同意"],
                          ["王小明", "13812345678", dt.date(1985, 3, 21), "男", valid_id(), "喜欢喝茶", "w@example.com",
                           "是"]])
    job = confirm_import(job=preview_import(upload=upload, default_store=store, user=manager), user=manager)
    wang = Member.objects.get(phone="13812345678")
    assert wang.birthday == dt.date(1985, 3, 21)
    assert wang.created_at == job.imported_at and wang.updated_at == job.imported_at
    assert wang.id_number == valid_id() and Member.objects.filter(id_number_index=wang.id_number_index).count() == 1
    assert wang.email == "w@example.com" and wang.consent_sms is True and wang.consent_email is False
    assert wang.preferred_channel == "phone" and wang.preferred_time == "any"
    change = wang.changes.get()
    assert change.changed_at == job.imported_at
    assert change.changes["name"] == [None, "王小明"] and change.changes["tags"] == [None, "喜欢喝茶"]
    assert Member.objects.filter(tags__name="喜欢喝茶").get() == wang
