"""Returns never give back more than was sold: a line named twice in one return counts once, summed."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.sales.models import Receipt, ReceiptLine
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
SKUS = ["SHIRT", "BELT", "BAG", "POLO", "SUIT"]
WHEN = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)


def test_a_line_named_twice_cannot_return_more_than_was_sold(chain, member):
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                         sold_at=WHEN)
    line = sale.lines.get()
    with pytest.raises(CheckoutError) as refused:
        return_post(original=sale, lines=[ReturnLineIn(line.pk, 1), ReturnLineIn(line.pk, 1)], clerk=chain.clerk,
                    store=chain.shop, at=WHEN + dt.timedelta(hours=1))
    assert refused.value.error_code == "return_too_many"
    assert not Receipt.objects.filter(original=sale).exists()
    # named twice within what is left, it is one return of the sum
    sale2 = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 3)],
                          sold_at=WHEN + dt.timedelta(hours=2))
    line2 = sale2.lines.get()
    ret = return_post(original=sale2, lines=[ReturnLineIn(line2.pk, 1), ReturnLineIn(line2.pk, 1)],
                      clerk=chain.clerk, store=chain.shop, at=WHEN + dt.timedelta(hours=3))
    assert ret.lines.get().quantity == -2 and ret.total_paid == Decimal("-2000.00")


def test_a_pos_return_naming_a_line_twice_is_refused_and_records_nothing(client, chain, member):
    from membercare.loyalty.apikeys import apikey_issue
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    admin = StaffFactory(role=Role.ADMIN)
    key = apikey_issue(store=chain.shop, name="till", by=admin)[1]
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                         sold_at=WHEN)
    line = sale.lines.get()
    r = client.post(f"/api/pos/receipts/{sale.number}/return",
                    {"lines": [{"line_id": line.pk, "quantity": 1}, {"line_id": line.pk, "quantity": 1}]},
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "dup-line-1"})
    assert r.status_code == 422 and r.json()["code"] == "return_too_many"
    assert not Receipt.objects.filter(original=sale).exists()


buy = st.tuples(st.just("buy"), st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1,
                                         max_size=3), st.integers(0, 2000))
give_back = st.tuples(st.just("return"), st.integers(0, 20),
                      st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=4))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(buy, give_back), min_size=1, max_size=10))
def test_per_line_returned_never_exceeds_sold_and_refunded_never_exceeds_paid(chain, ops):
    member = MemberFactory(home_store=chain.shop)
    now = WHEN
    sales: list[Receipt] = []
    for step in ops:
        now += dt.timedelta(hours=5)
        try:
            if step[0] == "buy":
                balance = LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first() or 0
                sales.append(checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                                           lines=[LineIn(s, q) for s, q in step[1]],
                                           redeem_points=min(step[2], balance), sold_at=now))
            elif sales:
                sale = sales[step[1] % len(sales)]
                lines = list(sale.lines.order_by("pk"))
                return_post(original=sale, lines=[ReturnLineIn(lines[i % len(lines)].pk, q) for i, q in step[2]],
                            clerk=chain.clerk, store=chain.shop, at=now)
        except CheckoutError:
            pass
    for line in ReceiptLine.objects.filter(receipt__member=member, original_line__isnull=True):
        back = ReceiptLine.objects.filter(original_line=line)
        assert -sum(b.quantity for b in back) <= line.quantity
        assert -sum((b.paid_amount for b in back), Decimal("0")) <= line.paid_amount
    for sale in sales:
        assert -sum((r.total_paid for r in sale.returns.all()), Decimal("0")) <= sale.total_paid
    account = LoyaltyAccount.objects.filter(member=member).first()
    if account:
        assert account.points == ledger_sum(member) >= 0
        assert account.points == sum(e.remaining for e in PointsEntry.objects.filter(member=member))
