"""Property: after any sequence of sales, returns, redemptions, expiries and adjustments the ledger holds."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum, points_adjust, points_expire_due
from membercare.loyalty.tiers import rolling_paid
from membercare.org.models import Role
from membercare.sales.models import Receipt, ReceiptLine
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
SKUS = ["SHIRT", "BELT", "BAG", "POLO", "SUIT"]

op = st.one_of(
    st.tuples(st.just("buy"), st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3),
              st.integers(0, 3000), st.booleans()),
    st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("adjust"), st.integers(-500, 500).filter(bool)),
    st.tuples(st.just("expire"), st.integers(30, 800)),
)


def check_invariants(member):
    account = LoyaltyAccount.objects.get(member=member)
    lots = PointsEntry.objects.filter(member=member, remaining__gt=0).aggregate(s=Sum("remaining"))["s"] or 0
    assert account.points == ledger_sum(member) == lots
    assert account.points >= 0
    receipts = Receipt.objects.filter(member=member)
    cent = Decimal("0.01")  # SQLite sums decimals as floats: compare in exact cents
    paid = (receipts.aggregate(s=Sum("total_paid"))["s"] or Decimal("0")).quantize(cent)
    lines = (ReceiptLine.objects.filter(receipt__member=member).aggregate(s=Sum("paid_amount"))["s"]
             or Decimal("0")).quantize(cent)
    assert paid == lines  # every receipt's total is its lines
    assert rolling_paid(member, "MAIN", until=dt.datetime(2040, 1, 1, tzinfo=TZ), days=36500) == paid
    for sale in receipts.filter(original__isnull=True):
        returned = -sum((r.total_paid for r in sale.returns.all()), Decimal("0"))
        assert Decimal("0") <= returned <= sale.total_paid
        bought = sum(line.quantity for line in sale.lines.all())
        back = -sum(line.quantity for r in sale.returns.all() for line in r.lines.all())
        if back == bought:  # fully returned: money and points are all back
            assert returned == sale.total_paid
            earned_back = -sum(e.points for e in PointsEntry.objects.filter(receipt__original=sale, kind="reverse"))
            refunded = sum(e.points for e in PointsEntry.objects.filter(receipt__original=sale, kind="refund"))
            assert refunded == sale.points_redeemed
            assert earned_back <= sale.points_earned


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=12))
def test_ledger_invariants_hold_after_any_sequence(chain, ops):
    member = MemberFactory(home_store=chain.shop)
    specialist = StaffFactory(role=Role.SPECIALIST)
    now = dt.datetime(2026, 1, 5, 12, tzinfo=TZ)
    sales: list[Receipt] = []
    for step in ops:
        now += dt.timedelta(days=1)
        try:
            if step[0] == "buy":
                _, lines, redeem, use_phone = step
                balance = LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first() or 0
                sales.append(checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                                           lines=[LineIn(s, q) for s, q in lines], redeem_points=min(redeem, balance),
                                           sold_at=now))
            elif step[0] == "return" and sales:
                _, which, qty, full = step
                sale = sales[which % len(sales)]
                line = sale.lines.first()
                return_post(original=sale, lines=None if full else [ReturnLineIn(line.pk, qty)], clerk=chain.clerk,
                            store=chain.shop, at=now)
            elif step[0] == "adjust":
                points_adjust(member=member, points=step[1], reason="盘点更正", by=specialist, category="correction")
            elif step[0] == "expire":
                now += dt.timedelta(days=step[1])
                points_expire_due(today=now.date())
        except CheckoutError:
            pass  # a refusal (too many returned, over the redeem limit...) must leave everything consistent
        except Exception as exc:  # a refused adjustment below zero is a ValidationError: also consistent
            from django.core.exceptions import ValidationError

            if not isinstance(exc, ValidationError):
                raise
        if LoyaltyAccount.objects.filter(member=member).exists():
            check_invariants(member)
