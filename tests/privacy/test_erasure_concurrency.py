"""Erasure racing sales and redemptions of the same member, on PostgreSQL with threads: the ledger stays whole
and nothing is earned or spent on the member once the erasure has committed."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.members.models import Member
from membercare.org.models import Role
from membercare.privacy.models import Erasure
from membercare.privacy.services import member_erase
from membercare.sales.models import Receipt
from tests.factories import StaffFactory
from tests.loyalty import conftest as loyalty_fixtures
from tests.loyalty.test_concurrency import run_together

chain = loyalty_fixtures.chain
member = loyalty_fixtures.member

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 8


@pytest.mark.parametrize("round_", range(3))
def test_erasure_racing_sales_and_redemptions(chain, member, round_):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")
    hq = StaffFactory(role=Role.SPECIALIST)
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 2)],
                  sold_at=dt.datetime(2026, 6, 1, 10, tzinfo=TZ))
    phone = member.phone
    card = member.cards.filter(status="active").values_list("number", flat=True).first()
    assert card, "the first sale gives the member a card"

    def job(i):
        if i == THREADS // 2:
            return lambda: member_erase(member=member, by=hq, reason="本人申请", confirm_member_no=member.member_no)
        who = {"phone": phone} if i % 4 < 2 else {"card_number": card}  # by phone and by card
        return lambda: checkout_post(store=chain.shop, clerk=chain.clerk, lines=[LineIn("SHIRT", 1)],
                                     redeem_points=100 if i % 2 else 0,
                                     sold_at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ), **who)

    results = run_together([job(i) for i in range(THREADS)])
    assert all(isinstance(r, Receipt | CheckoutError | Erasure) for r in results), results
    erasure = Erasure.objects.get(member_id=member.pk)
    erased = Member.all_objects.get(pk=member.pk)
    account = LoyaltyAccount.objects.get(member_id=member.pk)
    lots = PointsEntry.objects.filter(member_id=member.pk).aggregate(r=Sum("remaining"))["r"] or 0
    assert account.points == ledger_sum(erased) == lots == 0
    # every sale that counts for the member committed before the erasure took the member
    late = PointsEntry.objects.filter(member_id=member.pk, created_at__gt=erasure.erased_at)
    assert not late.exists(), list(late.values("kind", "points", "created_at"))
