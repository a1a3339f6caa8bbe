"""Offline stores' sales upload: preview (dry run), confirm (each receipt posted as if live), late flag."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.checkout.upload_rows import parse_sold_at
from membercare.checkout.uploads import SalesUploadError, confirm_upload, discard_upload, preview_upload
from membercare.loyalty.models import BirthdayUse, Card, CardStatus, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.org.models import Role
from membercare.sales.models import Receipt, SalesUpload
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
HEADER = ["小票号", "销售日期", "卡号", "手机号", "货号", "数量", "促销价", "生日特权"]


def at(y, m, d, h=12, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


def xlsx(rows, header=HEADER, name="sales.xlsx"):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def csv_file(rows, header=HEADER, encoding="utf-8", name="sales.csv"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(encoding))


def test_valid_file_posts_receipts_that_earn_points_and_an_upgrade(offline, member):
    rows = [
        ("A001", dt.datetime(2026, 6, 1, 10, 30), "", "13800001234", "SUIT", 1, None, "否"),
        ("A002", dt.datetime(2026, 6, 2, 15, 0), "", "13800001234", "SHIRT", 2, None, ""),
        ("A002", dt.datetime(2026, 6, 2, 15, 0), "", "", "BELT", 1, 500, ""),  # blank member: same receipt's
    ]
    upload = preview_upload(upload=xlsx(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 3))
    s = upload.summary
    assert (s["rows"], s["receipts"], s["to_post"], s["bad_rows"], s["late"]) == (3, 2, 2, 0, 0)
    assert not Receipt.objects.exists()  # the preview posts nothing

    upload = confirm_upload(upload=upload, user=offline.clerk)
    assert upload.status == SalesUpload.Status.POSTED and upload.summary["result"]["posted"] == 2
    first = Receipt.objects.get(number="SH01/A001")
    assert first.source == Receipt.Source.UPLOAD and first.sold_at == at(2026, 6, 1, 10, 30)
    assert first.points_earned == 5000 and not first.late_upload
    card = Card.objects.get(member=member, status=CardStatus.ACTIVE)
    assert card.kind == "elite"  # one business receipt of ¥5,000, as at a live counter
    second = Receipt.objects.get(number="SH01/A002")
    assert second.lines.count() == 2 and second.tier == "elite"
    assert second.total_paid == Decimal("850.00") * 2 + Decimal("500.00")  # 8.5折 on full price, promo kept
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 5000 + 2200 == ledger_sum(member)
    assert set(upload.receipts.values_list("number", flat=True)) == {"SH01/A001", "SH01/A002"}


def test_re_uploading_the_same_file_posts_nothing_twice(offline, member):
    rows = [("B1", "2026-06-01 10:00", "", "13800001234", "SHIRT", 1, "", ""),
            ("B2", "2026-06-01 11:00", "", "13800001234", "BELT", 1, "", "")]
    first = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 2))
    confirm_upload(upload=first, user=offline.clerk)
    again = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 2))
    assert again.summary["already_posted"] == 2 and again.summary["to_post"] == 0
    again = confirm_upload(upload=again, user=offline.clerk)
    assert again.summary["result"]["posted"] == 0 and again.summary["result"]["skipped"] == 2
    assert Receipt.objects.count() == 2
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 1999 == ledger_sum(member)
    with pytest.raises(SalesUploadError) as exc:
        confirm_upload(upload=again, user=offline.clerk)
    assert exc.value.code == "upload_done"


def test_late_upload_is_flagged_by_working_days_across_national_day(offline, member):
    # uploaded Friday 10 Oct 2025. Sale of Tue 30 Sep: deadline Sat 11 Oct (a make-up working day): on time.
    # Sale of Fri 26 Sep: 28 Sep (make-up Sunday), 29, 30 Sep -> deadline 30 Sep: late.
    rows = [("C1", "2025-09-30 18:00", "", "13800001234", "SHIRT", 1, "", ""),
            ("C2", "2025-09-26 18:00", "", "13800001234", "BELT", 1, "", "")]
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2025, 10, 10))
    assert upload.summary["late"] == 1 and not upload.summary["deadline_estimated"]
    deadlines = {r["receipt"]: r["deadline"] for r in upload.summary["receipt_list"]}
    assert deadlines == {"C1": "2025-10-11", "C2": "2025-09-30"}
    confirm_upload(upload=upload, user=offline.clerk)
    assert not Receipt.objects.get(number="SH01/C1").late_upload
    assert Receipt.objects.get(number="SH01/C2").late_upload
    # the same sale of 30 Sep uploaded on Sunday 12 Oct is late
    rows = [("C3", "2025-09-30 18:00", "", "13800001234", "SHIRT", 1, "", "")]
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2025, 10, 12))
    confirm_upload(upload=upload, user=offline.clerk)
    assert Receipt.objects.get(number="SH01/C3").late_upload


def test_bad_rows_are_reported_with_row_column_and_reason_and_only_good_receipts_post(offline, member):
    MemberFactory(phone="13900000001", home_store=offline.shop)
    rows = [
        ("D1", "2026-06-01", "", "13800001234", "NOPE", 1, "", ""),  # row 2 unknown SKU
        ("D2", "2026-06-01", "", "13800001234", "SHIRT", 0, "", ""),  # row 3 zero quantity
        ("D3", "2026-06-01", "", "13800001234", "SHIRT", -2, "", ""),  # row 4 negative
        ("D4", "2026-06-01", "E999999", "", "SHIRT", 1, "", ""),  # row 5 unknown card
        ("D5", "2026-13-45", "", "13800001234", "SHIRT", 1, "", ""),  # row 6 bad date
        ("D6", "2026-06-01", "", "13800001234", "SHIRT", 1, "", ""),  # rows 7-8: members disagree
        ("D6", "2026-06-01", "", "13900000001", "BELT", 1, "", ""),
        ("D7", "2026-06-01", "", "13800001234", "BAG", 1, "", ""),  # row 9: the one good receipt
        ("D8", "2026-06-01", "", "13800001234", "SHIRT", 1, "9999", ""),  # row 10 promo above full price
        ("D9", "2026-06-01", "", "13800001234", "SHIRT", 1, "", "maybe"),  # row 11 bad flag
        ("", "2026-06-01", "", "13800001234", "SHIRT", 1, "", ""),  # row 12 no receipt number
        ("D10", "2026-06-01", "", "", "SHIRT", 1, "", ""),  # row 13 no member
    ]
    with translation.override("en"):
        upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 2))
    codes = {(e["row"], e["column"], e["code"]) for e in upload.summary["errors"]}
    assert {(2, "货号", "sku_unknown"), (3, "数量", "quantity_invalid"), (4, "数量", "quantity_invalid"),
            (5, "卡号", "card_unknown"), (6, "销售日期", "date_invalid"), (8, "手机号", "receipt_conflict"),
            (7, "小票号", "receipt_incomplete"), (10, "促销价", "price_invalid"), (11, "生日特权", "flag_invalid"),
            (12, "小票号", "receipt_missing"), (13, "卡号", "member_required")} <= codes
    messages = {e["row"]: e["message"] for e in upload.summary["errors"]}
    assert "Unknown SKU “NOPE”" in messages[2] and "Row 7" in messages[8]
    assert upload.summary["to_post"] == 1 and upload.summary["bad_receipts"] == 9
    upload = confirm_upload(upload=upload, user=offline.clerk)
    assert list(Receipt.objects.values_list("number", flat=True)) == ["SH01/D7"]


def test_gbk_csv_from_chinese_excel(offline, member):
    rows = [("G1", "2026/6/1 9:15", "", "13800001234", "POLO", "1", "", "否")]
    upload = preview_upload(upload=csv_file(rows, encoding="gbk"), store=offline.shop, user=offline.clerk,
                            now=at(2026, 6, 2))
    assert upload.summary["to_post"] == 1 and upload.summary["errors"] == []
    confirm_upload(upload=upload, user=offline.clerk)
    receipt = Receipt.objects.get(number="SH01/G1")
    assert receipt.sold_at == at(2026, 6, 1, 9, 15) and receipt.points_earned == 1500
    assert Card.objects.get(member=member).kind == "accumulation"  # ¥1,500 golf is below the ¥3,000 elite


def test_only_offline_stores_and_their_own_staff_or_hq_upload(offline, member, specialist):
    rows = [("N1", "2026-06-01", "", "13800001234", "SHIRT", 1, "", "")]
    with pytest.raises(SalesUploadError) as exc:
        preview_upload(upload=csv_file(rows), store=offline.shop2, user=specialist, now=at(2026, 6, 2))
    assert exc.value.code == "store_networked"
    other = StaffFactory(username="other", role=Role.MANAGER, stores=[offline.shop2])
    with pytest.raises(PermissionDenied):
        preview_upload(upload=csv_file(rows), store=offline.shop, user=other, now=at(2026, 6, 2))
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=specialist, now=at(2026, 6, 2))
    with pytest.raises(PermissionDenied):
        confirm_upload(upload=upload, user=other)
    assert SalesUpload.objects.count() == 1 and not Receipt.objects.exists()


def test_a_receipt_refused_at_posting_is_reported_and_the_others_post(offline, member):
    checkout_post(store=offline.shop2, clerk=None, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=at(2026, 2, 1))
    card = Card.objects.get(member=member)
    rows = [("R1", "2026-06-01", card.number, "", "SHIRT", 1, "", ""),
            ("R2", "2026-06-01", "", "13800001234", "BELT", 1, "", "")]
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 2))
    assert upload.summary["to_post"] == 2
    card.status = CardStatus.VOID  # the card is reported lost between the preview and the confirm
    card.save()
    points_before = PointsEntry.objects.count()
    upload = confirm_upload(upload=upload, user=offline.clerk)
    result = upload.summary["result"]
    assert result["posted"] == 1 and result["refused"] == 1
    assert result["refusals"][0]["code"] == "card_void" and result["refusals"][0]["rows"] == [2]
    assert not Receipt.objects.filter(number="SH01/R1").exists()  # nothing half-written
    posted = Receipt.objects.get(number="SH01/R2")
    assert PointsEntry.objects.count() == points_before + 1 and posted.points_earned == posted.total_paid


def test_birthday_privilege_twice_in_one_file_and_refused_at_posting(offline, member):
    checkout_post(store=offline.shop2, clerk=None, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=at(2026, 2, 1))
    rows = [("BD1", "2026-03-10", "", "13800001234", "SHIRT", 2, "", "是"),
            ("BD2", "2026-03-11", "", "13800001234", "SHIRT", 1, "", "是")]
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 3, 12))
    assert [(e["row"], e["code"]) for e in upload.summary["errors"]] == [(3, "birthday_used")]
    # meanwhile the member uses the privilege at a networked store: the upload's receipt is refused
    checkout_post(store=offline.shop2, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                  sold_at=at(2026, 3, 12), birthday=True)
    upload = confirm_upload(upload=upload, user=offline.clerk)
    assert upload.summary["result"]["refusals"][0]["code"] == "birthday_used"
    assert BirthdayUse.objects.count() == 1 and not Receipt.objects.filter(number__startswith="SH01/").exists()


def test_wrong_columns_and_empty_files_write_nothing(offline, member):
    with pytest.raises(SalesUploadError) as exc:
        preview_upload(upload=csv_file([("X", "2026-06-01")], header=["小票号", "销售日期"]), store=offline.shop,
                       user=offline.clerk)
    assert exc.value.code == "columns_invalid"
    with pytest.raises(SalesUploadError) as exc:
        preview_upload(upload=csv_file([]), store=offline.shop, user=offline.clerk)
    assert exc.value.code == "file_empty"
    with pytest.raises(SalesUploadError):
        preview_upload(upload=SimpleUploadedFile("sales.pdf", b"%PDF"), store=offline.shop, user=offline.clerk)
    assert not SalesUpload.objects.exists()


def test_future_sales_and_discard(offline, member):
    rows = [("F1", "2026-06-05", "", "13800001234", "SHIRT", 1, "", "")]
    upload = preview_upload(upload=csv_file(rows), store=offline.shop, user=offline.clerk, now=at(2026, 6, 2))
    assert [e["code"] for e in upload.summary["errors"]] == ["date_future"]
    upload = discard_upload(upload=upload, user=offline.clerk)
    assert upload.status == SalesUpload.Status.DISCARDED and not upload.file
    with pytest.raises(SalesUploadError):
        confirm_upload(upload=upload, user=offline.clerk)


@pytest.mark.parametrize("date,time,expected", [
    ("2025/9/30 14:05", None, (2025, 9, 30, 14, 5)),
    ("2025年9月30日", None, (2025, 9, 30, 12, 0)),
    ("20250930", "9:30", (2025, 9, 30, 9, 30)),
    (45930.75, None, (2025, 9, 30, 18, 0)),
    (dt.date(2025, 9, 30), dt.time(8, 0), (2025, 9, 30, 8, 0)),
    (dt.datetime(2025, 9, 30, 16, 45), None, (2025, 9, 30, 16, 45)),
])
def test_sale_dates_in_the_spellings_stores_use(date, time, expected):
    assert parse_sold_at(date, time) == at(*expected)


@pytest.mark.parametrize("date", ["2025-02-30", "yesterday", "1899-01-01", -5])
def test_bad_sale_dates(date):
    with pytest.raises(ValueError):
        parse_sold_at(date)


def test_an_id_number_column_serves_the_birthday_rule_and_the_file_is_not_kept(offline, member, specialist):
    """Seed 001: where the programme asks for the ID number on a birthday receipt, the offline store's file
    carries it in a 身份证号 column: the right number posts the privilege (checked), a wrong or malformed one is
    a row error naming the column and never echoing the number; once posted, the file is deleted."""
    from tests.loyalty.test_birthday_stores_and_id import ID_NUMBER, OTHER_ID, give_id, set_programme

    set_programme(specialist, id_number_required=True)
    give_id(member)
    checkout_post(store=offline.shop2, clerk=None, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=at(2026, 2, 1))  # an elite card
    header = [*HEADER, "身份证号"]
    rows = [("ID1", "2026-03-10", "", "13800001234", "SHIRT", 1, "", "是", ID_NUMBER.lower()),
            ("ID1", "2026-03-10", "", "", "BELT", 1, "", "", ""),  # blank: the receipt's first row's
            ("ID2", "2026-03-11", "", "13800001234", "SHIRT", 1, "", "是", OTHER_ID),
            ("ID3", "2026-03-11", "", "13800001234", "SHIRT", 1, "", "", "123456")]
    upload = preview_upload(upload=xlsx(rows, header=header), store=offline.shop, user=offline.clerk,
                            now=at(2026, 3, 12))
    with translation.override("zh-hans"):
        errors = {(e["row"], e["column"], e["code"]) for e in upload.summary["errors"]}
    assert errors == {(4, "身份证号", "birthday_id_mismatch"), (5, "身份证号", "id_invalid")}
    assert ID_NUMBER not in str(upload.summary) and OTHER_ID not in str(upload.summary)
    assert upload.file
    upload = confirm_upload(upload=upload, user=offline.clerk)
    assert upload.summary["result"]["posted"] == 1
    use = BirthdayUse.objects.get(receipt__number="SH01/ID1")
    assert use.id_number_checked is True and use.items == 2  # the receipt's two full-price items
    assert not upload.file and not SalesUpload.objects.get(pk=upload.pk).file
