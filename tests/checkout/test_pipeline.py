"""The sale pipeline's shape: the declared order of the providers, and a new kind of adjustment added by its
own module and registration alone (quoted, written in the sale's transaction, rolled back with it, reversed)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from membercare.checkout.pipeline import CheckoutError, LineIn, basket_quote, checkout_post, identify, return_post
from membercare.loyalty.models import PointsEntry
from membercare.sales import pipeline
from membercare.sales.models import Receipt

TZ = ZoneInfo("Asia/Shanghai")


def test_the_providers_run_in_the_declared_order():
    assert [(p.stage, p.name) for p in pipeline.providers()] == [
        ("adjustment", "promotion"), ("adjustment", "tier_discount"), ("adjustment", "exclusive_sale"),
        ("adjustment", "birthday"), ("adjustment", "coupon"), ("tender", "points_offset"), ("tender", "stored_value"),
        ("tender", "gift_card"),
        ("reward", "points_earned"), ("reward", "tier_evaluation"), ("reward", "perks")]


def test_a_provider_of_an_unknown_stage_is_refused():
    class Odd(pipeline.Adjustment):
        name, stage = "odd", "gift_wrap"

    with pytest.raises(ValueError, match="gift_wrap"):
        pipeline.register(Odd())
    assert pipeline.provider("odd") is None


class StaffDay(pipeline.Adjustment):
    """A toy kind of adjustment: ¥10 off each full-price unit, after the card's discount and before the
    birthday privilege; refuses to commit a sale of more than 3 units; remembers its commits and reversals."""

    name, stage, order = "staff_day", "adjustment", 15

    def __init__(self):
        self.committed, self.reversed = [], []

    def quote(self, sale):
        for ql in sale.lines:
            if not ql.on_promotion:
                ql.unit_prices = [price - Decimal("10") for price in ql.unit_prices]
        sale.parts[self.name] = sum(ql.quantity for ql in sale.lines if not ql.on_promotion)

    def commit(self, sale, receipt):
        if sale.parts[self.name] > 3:
            raise CheckoutError("staff_day_limit", "at most 3 units on a staff day", "lines")
        self.committed.append(receipt.number)

    def reverse(self, ret):
        self.reversed.append(ret.original.number)


@pytest.fixture
def staff_day():
    provider = StaffDay()
    pipeline.register(provider)
    yield provider
    pipeline.unregister(provider.name)


def test_a_new_adjustment_needs_only_its_module_and_registration(chain, member, staff_day):
    when = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)
    ident = identify(store=chain.shop, phone="13800001234")
    quote = basket_quote(store=chain.shop, ident=ident, lines=[LineIn("SHIRT", 2)], on=when.date())
    assert quote.total_paid == Decimal("1980.00") and quote.parts["staff_day"] == 2
    assert [p.name for p in pipeline.providers()].index("staff_day") == 2  # after the card's discount

    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone="13800001234",
                            lines=[LineIn("SHIRT", 2)], sold_at=when)
    assert receipt.total_paid == Decimal("1980.00") and receipt.points_earned == 1980
    assert staff_day.committed == [receipt.number]
    # its commit refuses: the whole sale rolls back (no receipt, no points)
    before = (Receipt.objects.count(), PointsEntry.objects.count())
    with pytest.raises(CheckoutError) as refused:
        checkout_post(store=chain.shop, clerk=chain.clerk, phone="13800001234", lines=[LineIn("SHIRT", 4)],
                      sold_at=when + dt.timedelta(hours=1))
    assert refused.value.error_code == "staff_day_limit"
    assert (Receipt.objects.count(), PointsEntry.objects.count()) == before
    # a return runs it backwards
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=when + dt.timedelta(hours=2))
    assert staff_day.reversed == [receipt.number]
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 0


def test_without_the_registration_the_sale_is_as_before(chain, member):
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone="13800001234", lines=[LineIn("SHIRT", 2)],
                            sold_at=dt.datetime(2026, 6, 1, 12, tzinfo=TZ))
    assert receipt.total_paid == Decimal("2000.00") and "staff_day" not in [p.name for p in pipeline.providers()]
