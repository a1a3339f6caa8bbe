"""Returns racing returns (repeated lines included) and returns racing redemptions, on PostgreSQL with threads:
per line returned <= sold, refunded <= paid, balance = ledger, never negative (issue 16)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum

from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.sales.models import Receipt, ReceiptLine
from tests.loyalty.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 8


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")


def _invariants(member, sale):
    for line in ReceiptLine.objects.filter(receipt=sale):
        back = ReceiptLine.objects.filter(original_line=line).aggregate(q=Sum("quantity"), p=Sum("paid_amount"))
        assert -(back["q"] or 0) <= line.quantity
        assert -(back["p"] or Decimal("0")) <= line.paid_amount
    refunded = -(Receipt.objects.filter(original=sale).aggregate(p=Sum("total_paid"))["p"] or Decimal("0"))
    assert refunded <= sale.total_paid
    account = LoyaltyAccount.objects.get(member=member)
    lots = PointsEntry.objects.filter(member=member).aggregate(r=Sum("remaining"))["r"] or 0
    assert account.points == ledger_sum(member) == lots >= 0


def test_returns_of_one_receipt_at_once_never_give_back_more_than_was_sold(chain, member):
    _postgres_only()
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                         lines=[LineIn("SHIRT", 3), LineIn("BELT", 1)], sold_at=dt.datetime(2026, 6, 1, 10, tzinfo=TZ))
    shirt = sale.lines.get(product__sku="SHIRT")
    belt = sale.lines.get(product__sku="BELT")

    def give_back(i):
        lines = [[ReturnLineIn(shirt.pk, 1), ReturnLineIn(shirt.pk, 1)],  # the same line twice in one return
                 [ReturnLineIn(shirt.pk, 2)], [ReturnLineIn(belt.pk, 1)], None][i % 4]
        return lambda: return_post(original=sale, lines=lines, clerk=chain.clerk, store=chain.shop,
                                   at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))

    results = run_together([give_back(i) for i in range(THREADS)])
    assert all(isinstance(r, Receipt | CheckoutError) for r in results), results
    assert any(isinstance(r, Receipt) for r in results)
    _invariants(member, sale)


def test_returns_racing_redemptions_keep_the_points_whole(chain, member):
    _postgres_only()
    earn = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                         sold_at=dt.datetime(2026, 6, 1, 10, tzinfo=TZ))  # 5000 points

    def job(i):
        if i % 2:
            return lambda: checkout_post(store=chain.shop2, clerk=chain.clerk, phone=member.phone,
                                         lines=[LineIn("BAG", 1)], redeem_points=1500,
                                         sold_at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))
        return lambda: return_post(original=earn, lines=None, clerk=chain.clerk, store=chain.shop,
                                   at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))

    results = run_together([job(i) for i in range(THREADS)])
    assert all(isinstance(r, Receipt | CheckoutError) for r in results), results
    assert sum(1 for r in results if isinstance(r, Receipt) and r.original_id) == 1  # one full return only
    _invariants(member, earn)
