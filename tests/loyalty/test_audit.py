"""Birthday audit: every privilege use, each irregularity flagged; the export is logged."""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from membercare.checkout.pipeline import LineIn, checkout_post, return_post
from membercare.loyalty.audit import birthday_audit, birthday_audit_xlsx, flag_counts
from membercare.loyalty.models import BirthdayUse, Card
from membercare.members.models import ExportLog, MemberChange
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date
_numbers = itertools.count(1)


def at(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=TZ)


def elite(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=at(2026, 1, 5))
    return Card.objects.get(member=member)


def use_of(chain, member, *, when, period, items=2, tier="elite", store=None, late=False, exception=False,
           source=Receipt.Source.LIVE, clerk=None):
    """A privilege use recorded by another path than today's checkout (an upload, an exception, old data)."""
    store = store or chain.shop
    receipt = Receipt.objects.create(
        number=f"T{next(_numbers):05d}", store=store, member=member, card_number="E0001", sold_at=when,
        total_full_price=Decimal("2000.00"), total_paid=Decimal("1200.00"), tier=tier, birthday_privilege=True,
        late_upload=late, source=source, clerk=clerk)
    return BirthdayUse.objects.create(member=member, scope="MAIN", period=period, card_number="E0001", store=store,
                                      receipt=receipt, items=items, used_at=when, exception=exception)


def audit(**kw):
    kw.setdefault("since", D(2026, 1, 1))
    kw.setdefault("until", D(2026, 12, 31))
    return birthday_audit(**kw)


def test_a_regular_use_is_listed_with_its_facts_and_no_flag(chain, member):
    card = elite(chain, member)
    receipt = checkout_post(store=chain.shop2, clerk=chain.clerk, card_number=card.number,
                            lines=[LineIn("SHIRT", 2)], sold_at=at(2026, 3, 10), birthday=True)
    [row] = audit()
    assert (row.member, row.card_number, row.store, row.items, row.allowed_items) == (
        member, card.number, chain.shop2, 2, 2)
    assert row.receipt == receipt and row.amount == Decimal("1200.00") and row.used_at == at(2026, 3, 10)
    assert row.flags == []


def test_outside_the_birthday_month_and_exception(chain, member):
    use_of(chain, member, when=at(2026, 6, 2), period="2026-03", exception=True, source=Receipt.Source.UPLOAD)
    [row] = audit()
    assert row.flags == ["outside_month", "exception"]


def test_more_items_than_the_card_allows(chain, member):
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", items=3)  # elite: 2 items
    assert audit()[0].flags == ["too_many_items"]


def test_card_not_eligible(chain, member):
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", tier="accumulation")
    other = MemberFactory(phone="13900000002", birthday=D(1990, 4, 2), home_store=chain.shop)
    use_of(chain, other, when=at(2026, 4, 2), period="2026-04", store=chain.jd_shop)  # elite privilege: MAIN only
    rows = {r.member: r for r in audit()}
    assert rows[member].flags == ["not_eligible"] and rows[member].allowed_items is None
    assert rows[other].flags == ["not_eligible"] and rows[other].notes


def test_privilege_receipt_returned(chain, member):
    card = elite(chain, member)
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=card.number,
                            lines=[LineIn("SHIRT", 2)], sold_at=at(2026, 3, 10), birthday=True)
    assert audit()[0].flags == []
    line = receipt.lines.get()
    from membercare.checkout.pipeline import ReturnLineIn

    return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop,
                at=at(2026, 3, 12))
    assert audit()[0].flags == ["returned"]
    other = MemberFactory(phone="13900000003", birthday=D(1990, 5, 2), home_store=chain.shop)
    use = use_of(chain, other, when=at(2026, 5, 2), period="2026-05")
    use.reversed = True
    use.save()
    assert {r.member.pk: r.flags for r in audit()}[other.pk] == ["returned"]


def test_late_upload(chain, member):
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", late=True, source=Receipt.Source.UPLOAD)
    assert audit()[0].flags == ["late_upload"]


def test_phone_or_id_changed_shortly_before(chain, member):
    use_of(chain, member, when=at(2026, 3, 20), period="2026-03")
    MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_at=at(2026, 3, 5),
                                changes={"phone": ["13800000000", "13800001234"]})  # 15 days before: fine
    MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_at=at(2026, 3, 18),
                                changes={"address": ["", "上海"]})  # not a watched field
    assert audit()[0].flags == []
    MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_at=at(2026, 3, 15),
                                changes={"id_number": ["", "**************1234"]})
    [row] = audit()
    assert row.flags == ["recent_change"] and "2026-03-15" in row.notes[0]


def test_filters_period_store_flagged_only(chain, member):
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03")
    other = MemberFactory(phone="13900000004", birthday=D(1990, 5, 2), home_store=chain.shop)
    use_of(chain, other, when=at(2026, 5, 31, 23), period="2026-05", store=chain.shop2, late=True)
    assert len(audit()) == 2
    assert [r.member for r in audit(store=chain.shop2)] == [other]
    assert [r.member for r in audit(flagged_only=True)] == [other]
    assert [r.member for r in audit(since=D(2026, 5, 31), until=D(2026, 5, 31))] == [other]  # local day
    assert audit(since=D(2026, 6, 1), until=D(2026, 6, 30)) == []
    counts = dict((code, n) for code, _label, n in flag_counts(audit()))
    assert counts["late_upload"] == 1 and counts["returned"] == 0


def test_export_is_for_the_specialist_and_logged(chain, member, specialist):
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", items=3)
    with pytest.raises(PermissionDenied):
        birthday_audit_xlsx(chain.clerk, since=D(2026, 1, 1), until=D(2026, 12, 31))
    out, count = birthday_audit_xlsx(specialist, since=D(2026, 1, 1), until=D(2026, 12, 31), flagged_only=True)
    from openpyxl import load_workbook

    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert count == 1 and len(rows) == 2 and rows[1][1] == member.name and rows[1][6] == 3
    log = ExportLog.objects.get()
    assert log.kind == "birthday_audit" and log.row_count == 1 and log.exported_by == specialist
    assert log.filters["flagged_only"] is True


def test_the_audit_export_writes_a_formula_like_name_as_text(chain, member, specialist):
    from openpyxl import load_workbook

    from membercare.members.models import Member

    Member.objects.filter(pk=member.pk).update(name="=1+1")
    member.refresh_from_db()
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", items=3)
    out, _count = birthday_audit_xlsx(specialist, since=D(2026, 1, 1), until=D(2026, 12, 31))
    sheet = load_workbook(out).active
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"


def test_the_clerk_who_rang_up_each_use_is_named_on_the_page_the_print_and_the_export(chain, member, specialist,
                                                                                       client):
    """Seed 001: HQ checks the birthday purchases and holds the people responsible to account."""
    from openpyxl import load_workbook

    chain.clerk.display_name = "李导购"
    chain.clerk.save(update_fields=["display_name"])
    use_of(chain, member, when=at(2026, 3, 2), period="2026-03", clerk=chain.clerk)
    use_of(chain, member, when=at(2026, 4, 2), period="2026-04")  # an upload without a clerk
    rows = audit()
    assert [str(r.receipt.clerk) if r.receipt.clerk else None for r in rows] == [None, "李导购"]
    out, _count = birthday_audit_xlsx(specialist, since=D(2026, 1, 1), until=D(2026, 12, 31))
    sheet = load_workbook(out).active
    assert sheet["F1"].value == "店员" and [sheet["F2"].value, sheet["F3"].value] == [None, "李导购"]
    client.force_login(specialist)
    for name in ("birthday_audit", "analytics_birthday_print"):
        from django.urls import reverse

        html = client.get(reverse(name), {"since": "2026-01-01", "until": "2026-12-31"},
                          HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "<th>店员</th>" in html and "<td>李导购</td>" in html, name
