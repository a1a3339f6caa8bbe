"""Erasure on request (PIPL), end to end on the demo chain: the person is gone from every table, the chain's
books are not, and the erased member never comes back (search, lists, audiences, tasks, exports, the POS)."""

import datetime as dt

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.db.models import Sum
from django.utils import timezone
from openpyxl import load_workbook

from membercare.campaigns.models import Coupon
from membercare.care.daily import care_daily
from membercare.care.models import Task, TaskStatus
from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.core.crypto import blind_index
from membercare.loyalty.models import Card, CardStatus, LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.members.exports import export_members
from membercare.members.models import Member
from membercare.members.selectors import member_list, member_search
from membercare.messaging.bulk import audience_queryset
from membercare.messaging.models import Message, MessageStatus
from membercare.messaging.services import SendRefused, message_send
from membercare.org.models import Role, Staff
from membercare.privacy.models import Erasure
from membercare.privacy.services import PERSONAL_DATA, member_erase
from membercare.sales.models import Receipt
from membercare.service.models import Complaint
from tests.privacy.conftest import ADDRESS, EMAIL, ID_NUMBER, NAME, NOTE, NOW, TODAY, TZ, WECHAT

pytestmark = pytest.mark.django_db


def _text_columns():
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField | models.TextField | models.JSONField):
                yield model._meta.db_table, f.column


def _rows_containing(needle: str) -> list[str]:
    found = []
    with connection.cursor() as cur:
        for table, column in _text_columns():
            cur.execute(f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE %s', [f"%{needle}%"])
            if cur.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def test_every_model_pointing_at_a_member_is_named_in_the_erasure():
    pointing = {m._meta.label for m in apps.get_models() for f in m._meta.concrete_fields
                if f.is_relation and f.related_model is Member}
    assert pointing - set(PERSONAL_DATA) == set(), "say what erasure does with these models' rows"


def test_only_hq_may_erase_and_the_member_number_confirms(victim, specialist_):
    manager = Staff.objects.filter(role=Role.MANAGER, stores=victim.home_store).first()
    with pytest.raises(PermissionDenied):
        member_erase(member=victim, by=manager, reason="本人申请", confirm_member_no=victim.member_no)
    with pytest.raises(ValidationError) as refused:
        member_erase(member=victim, by=specialist_, reason="本人申请", confirm_member_no="M00000000")
    assert "confirm_member_no" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        member_erase(member=victim, by=specialist_, reason="  ", confirm_member_no=victim.member_no)
    assert "reason" in refused.value.message_dict
    assert Member.objects.filter(pk=victim.pk, name=NAME).exists()  # nothing happened


def test_erasure_removes_the_person_and_keeps_the_books(victim, specialist_):
    phone, member_no = victim.phone, victim.member_no
    cards = list(Card.objects.filter(member=victim).values_list("number", flat=True))
    for needle in (NAME, phone, EMAIL, ADDRESS, WECHAT, NOTE, blind_index(ID_NUMBER)):
        assert _rows_containing(needle), f"the fixture should have put {needle} somewhere"
    receipts_before = Receipt.objects.aggregate(n=models.Count("pk"), paid=Sum("total_paid"))
    mine_before = Receipt.objects.filter(member=victim).aggregate(n=models.Count("pk"), paid=Sum("total_paid"))
    points_before = LoyaltyAccount.objects.get(member=victim).points
    assert points_before > 0

    erasure = member_erase(member=victim, by=specialist_, reason="本人2025-06-15书面申请",
                           confirm_member_no=member_no.lower())

    for needle in (NAME, phone, EMAIL, ADDRESS, WECHAT, NOTE, blind_index(ID_NUMBER)):
        assert _rows_containing(needle) == [], needle
    erased = Member.all_objects.get(pk=victim.pk)
    assert erased.erased_at and erased.id_number == "" and erased.birthday == dt.date(1900, 1, 1)
    assert not erased.tags.exists() and erased.owner_id is None
    # the books: every receipt stays with its member; the points ledger still sums to the balance, now 0
    assert Receipt.objects.aggregate(n=models.Count("pk"), paid=Sum("total_paid")) == receipts_before
    assert Receipt.objects.filter(member_id=victim.pk).aggregate(
        n=models.Count("pk"), paid=Sum("total_paid")) == mine_before
    assert LoyaltyAccount.objects.get(member_id=victim.pk).points == 0 == ledger_sum(erased)
    assert erasure.points_forfeited == points_before
    assert PointsEntry.objects.filter(member_id=victim.pk, kind="expire", points=-points_before).exists()
    assert set(Card.objects.filter(number__in=cards).values_list("status", flat=True)) == {CardStatus.VOID}
    assert not Task.objects.filter(member_id=victim.pk, status=TaskStatus.OPEN).exists()
    assert not Message.objects.filter(member_id=victim.pk, status=MessageStatus.QUEUED).exists()
    assert Coupon.objects.filter(member_id=victim.pk, redeemed_at__isnull=True, expired_on__isnull=True).count() == 0
    assert not Complaint.objects.filter(member_id=victim.pk).exclude(state="closed").exists()
    assert Erasure.objects.get(member_id=victim.pk).erased_by == specialist_
    with pytest.raises(ValidationError):  # once is enough
        member_erase(member=erased, by=specialist_, reason="again", confirm_member_no=member_no)


def test_an_erased_member_never_reappears(victim, specialist_):
    phone, member_no, store = victim.phone, victim.member_no, victim.home_store
    card = Card.objects.filter(member=victim, status=CardStatus.ACTIVE).first()
    clerk = Staff.objects.filter(role=Role.CLERK, stores=store).first()
    member_erase(member=victim, by=specialist_, reason="本人申请", confirm_member_no=member_no)

    for query in (phone, phone[-4:], member_no, card.number, NAME, "已注销"):
        assert victim.pk not in {m.pk for m in member_search(query).members}, query
    assert not member_list(specialist_).filter(pk=victim.pk).exists()
    assert not audience_queryset({}).filter(pk=victim.pk).exists()
    assert not audience_queryset({"member_ids": [victim.pk]}).exists()
    out, _n = export_members(specialist_)
    cells = {str(c) for row in load_workbook(out).active.iter_rows(values_only=True) for c in row}
    assert member_no not in cells and phone not in cells
    # the care engine's next days give the erased member nothing to do
    for day in (TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=40)):
        with time_machine.travel(dt.datetime.combine(day, dt.time(6), TZ), tick=False):
            care_daily(day, force=True)
    assert not Task.objects.filter(member_id=victim.pk, status=TaskStatus.OPEN).exists()
    # no message reaches them
    erased = Member.all_objects.get(pk=victim.pk)
    with pytest.raises(SendRefused):
        message_send(member=erased, channel="sms", category="callback", sender=clerk, body="您好")
    # the counter does not find them by card or phone
    with pytest.raises(CheckoutError):
        checkout_post(store=store, clerk=clerk, card_number=card.number, lines=[LineIn(_a_sku(store), 1)])
    with pytest.raises(CheckoutError):
        checkout_post(store=store, clerk=clerk, phone=phone, lines=[LineIn(_a_sku(store), 1)])


def _a_sku(store) -> str:
    from membercare.sales.models import Product

    return Product.objects.filter(brand=store.brand).values_list("sku", flat=True).first()


def test_a_receipt_of_an_erased_member_can_still_be_returned(victim, specialist_):
    card = Card.objects.filter(member=victim, status=CardStatus.ACTIVE).first()
    clerk = Staff.objects.filter(role=Role.CLERK, stores=victim.home_store).first()
    sale = checkout_post(store=victim.home_store, clerk=clerk, card_number=card.number,
                         lines=[LineIn(_a_sku(victim.home_store), 2)])
    assert sale.points_earned > 0
    member_erase(member=victim, by=specialist_, reason="本人申请", confirm_member_no=victim.member_no)
    line = sale.lines.first()
    ret = return_post(original=sale, lines=[ReturnLineIn(line.pk, 1)], clerk=sale.clerk, store=sale.store,
                      at=NOW + dt.timedelta(minutes=5))
    assert ret.total_paid < 0 and ret.member_id == victim.pk
    account = LoyaltyAccount.objects.get(member_id=victim.pk)
    assert account.points == ledger_sum(Member.all_objects.get(pk=victim.pk)) >= 0



def test_a_members_stored_value_stays_on_the_books_after_erasure(victim, specialist_):
    """Money the chain owes is not the member's personal data: erasure is never blocked by it, the card (its
    number a pseudonym that still pays or refunds it) and the ledger stay, balance = ledger."""
    from decimal import Decimal

    from django.db.models import Sum

    from membercare.storedvalue.models import StoredValueCard, StoredValueEntry
    from membercare.storedvalue.topup import top_up

    clerk = Staff.objects.filter(role=Role.CLERK, stores=victim.home_store).first()
    top_up(member=victim, amount=Decimal("300.00"), method="cash", store=victim.home_store, by=clerk)
    member_erase(member=victim, by=specialist_, reason="本人申请", confirm_member_no=victim.member_no)
    assert not Member.objects.filter(pk=victim.pk).exists()
    card = StoredValueCard.objects.get(member_id=victim.pk)
    ledger = StoredValueEntry.objects.filter(card=card).aggregate(p=Sum("principal"), b=Sum("bonus"))
    assert (card.principal, card.bonus) == (ledger["p"], ledger["b"]) and card.principal == Decimal("300.00")


def test_erasure_deletes_the_dates_the_member_gave(victim, specialist_):
    from membercare.members.models import MemberDate

    MemberDate.objects.create(member=victim, name="结婚纪念日", month=5, day=20, created_at=timezone.now())
    erasure = member_erase(member=victim, by=specialist_, reason="本人申请", confirm_member_no=victim.member_no)
    assert erasure.counts["member_dates_deleted"] == 1
    assert not MemberDate.objects.filter(member_id=victim.pk).exists()
