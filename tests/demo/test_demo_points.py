"""The demo's points agree with its programme and its sales (issue 23: the demo issued 7.6 M points on
¥1.2 M of sales, which its own programme cannot produce). Each purchase earns on its own receipt and day, as
at a counter: what the ledger issued in a month is the programme's rate times what was paid with a card that
month (receipts whose points are still valid), plus the few non-purchase points (events, referrals); the
balances are what remains of it."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from membercare.analytics import measures
from membercare.analytics.measures import Scope
from membercare.analytics.sql import add_months
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.programme import programme_at
from membercare.sales.models import Receipt

TODAY = dt.date(2025, 6, 15)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("demo_load", members=300, seed=7, today=TODAY, stdout=io.StringIO())


def _card_points(first: dt.date, last: dt.date) -> int:
    """The programme's points on the card receipts sold from `first` to `last` whose points are still valid."""
    programme = programme_at(TODAY)
    total = 0
    for receipt in Receipt.objects.filter(original__isnull=True).exclude(card_number=""):
        day = receipt.sold_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        expires = programme.points_expire_on(day)
        if first <= day <= last and (expires is None or expires >= TODAY):
            total += int(receipt.total_paid * programme.points_per_yuan // Decimal(1))
    return total


def test_points_issued_each_month_follow_that_months_card_sales(demo):
    rate = programme_at(TODAY).points_per_yuan
    first_sale = Receipt.objects.order_by("sold_at").first().sold_at.date()
    month, checked = first_sale.replace(day=1), 0
    while month <= TODAY:
        scope = Scope(None, month, min(add_months(month, 1) - dt.timedelta(days=1), TODAY))
        issued = measures.points_summary(scope)["issued"]
        sales = measures.sales_summary(scope)
        other = PointsEntry.objects.filter(kind="earn", receipt__isnull=True, created_at__date__gte=scope.start,
                                           created_at__date__lte=scope.end).aggregate(p=Sum("points"))["p"] or 0
        assert issued - other == _card_points(scope.start, scope.end), month
        assert issued - other <= sales["net_sales"] * rate + 1, month  # never more than the sales can earn
        checked += issued > 0
        month = add_months(month, 1)
    assert checked >= 12  # points earned over the last year and a half are still valid (end of next year)


def test_points_are_earned_on_their_receipts_and_the_balance_is_what_remains(demo):
    purchase = PointsEntry.objects.filter(kind="earn", receipt__isnull=False)
    other = PointsEntry.objects.filter(kind="earn", receipt__isnull=True).aggregate(p=Sum("points"))["p"] or 0
    issued = PointsEntry.objects.filter(kind="earn").aggregate(p=Sum("points"))["p"]
    assert issued and other <= issued // 100  # the purchase history earns; events and referrals add a little
    for entry in purchase.select_related("receipt")[:200]:
        assert entry.receipt.points_earned == entry.points and entry.created_at == entry.receipt.sold_at
    balances = LoyaltyAccount.objects.aggregate(p=Sum("points"))["p"]
    assert balances == PointsEntry.objects.aggregate(p=Sum("points"))["p"] <= issued
