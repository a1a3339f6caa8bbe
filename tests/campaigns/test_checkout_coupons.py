"""Coupons at checkout (the service): pricing, stacking, restrictions, one use, refusals that write nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from membercare.campaigns.codes import ALPHABET
from membercare.campaigns.models import Coupon, CouponRedemption
from membercare.checkout.pipeline import CheckoutError, LineIn, basket_quote, checkout_post, identify, return_post
from membercare.loyalty.models import PointsEntry
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

from .conftest import at

pytestmark = pytest.mark.django_db


def sell(chain, member, *lines, coupon="", when=None, store=None, **kw):
    return checkout_post(store=store or chain.shop, clerk=chain.clerk, phone=member.phone,
                         lines=[LineIn(sku, qty) for sku, qty in lines], coupon_code=coupon,
                         sold_at=when or at(2026, 6, 10), **kw)


def test_amount_off_lowers_the_price_and_the_points(chain, member, make_batch, give):
    coupon = give(make_batch(value=Decimal("100"), min_spend=Decimal("500")))
    receipt = sell(chain, member, ("SHIRT", 1), coupon=coupon.code.lower())  # case does not matter
    assert receipt.total_full_price == Decimal("1000.00") and receipt.total_paid == Decimal("900.00")
    assert receipt.points_earned == 900  # points on what was paid after the coupon
    redemption = CouponRedemption.objects.get()
    assert (redemption.coupon_id, redemption.receipt_id, redemption.store_id, redemption.amount) == (
        coupon.pk, receipt.pk, chain.shop.pk, Decimal("100.00"))
    coupon.refresh_from_db()
    assert coupon.redeemed_at == at(2026, 6, 10)


def test_dashes_and_spaces_in_the_code_are_ignored(chain, member, make_batch, give):
    coupon = give(make_batch())
    typed = f" {coupon.code[:4]}-{coupon.code[4:8]} {coupon.code[8:]} "
    assert sell(chain, member, ("SHIRT", 1), coupon=typed).total_paid == Decimal("900.00")


def test_amount_off_is_spread_over_the_units_in_proportion(chain, member, make_batch, give):
    coupon = give(make_batch(value=Decimal("100")))
    receipt = sell(chain, member, ("SHIRT", 1), ("BAG", 1), coupon=coupon.code)
    paid = {ln.product.sku: ln.paid_amount for ln in receipt.posted_lines}
    assert paid == {"SHIRT": Decimal("975.00"), "BAG": Decimal("2925.00")}
    assert receipt.total_paid == Decimal("3900.00")


def test_percentage_stacks_with_the_card_discount(chain, member, make_batch, give):
    sell(chain, member, ("SUIT", 1), when=at(2026, 6, 2))  # elite card: 15% off full-price items
    coupon = give(make_batch(kind="percent", value=Decimal("10"), stacks_with_tier=True))
    receipt = sell(chain, member, ("SHIRT", 1), coupon=coupon.code)
    assert receipt.total_paid == Decimal("765.00")  # 1000 x 0.85 x 0.9
    assert CouponRedemption.objects.get().amount == Decimal("85.00")


def test_a_coupon_that_does_not_stack_is_taken_off_the_full_price(chain, member, make_batch, give):
    sell(chain, member, ("SUIT", 1), when=at(2026, 6, 2))  # elite
    coupon = give(make_batch(value=Decimal("400")))
    receipt = sell(chain, member, ("SHIRT", 1), ("BELT", 1), coupon=coupon.code)
    # 1999 full price - 400 = 1599 and no card discount on those lines (the card alone: 1699.15)
    assert receipt.total_paid == Decimal("1599.00")
    assert CouponRedemption.objects.get().amount == Decimal("400.00")


def test_a_coupon_worse_than_the_card_discount_is_refused_and_stays_unused(chain, member, make_batch, give):
    sell(chain, member, ("SUIT", 1), when=at(2026, 6, 2))  # elite: a shirt costs 850
    coupon = give(make_batch(value=Decimal("100")))  # does not stack: 1000 - 100 = 900 > 850
    with pytest.raises(CheckoutError) as info:
        sell(chain, member, ("SHIRT", 1), coupon=coupon.code)
    assert info.value.error_code == "coupon_no_benefit" and info.value.field == "coupon_code"
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None and Receipt.objects.count() == 1


def test_restricted_to_a_series_only_its_items_get_the_discount(chain, member, make_batch, give):
    coupon = give(make_batch(kind="percent", value=Decimal("20"), series=[chain.leather]))
    receipt = sell(chain, member, ("SHIRT", 1), ("BELT", 1), coupon=coupon.code)
    paid = {ln.product.sku: ln.paid_amount for ln in receipt.posted_lines}
    assert paid == {"SHIRT": Decimal("1000.00"), "BELT": Decimal("799.20")}


def test_restricted_to_skus_and_promotion_items_are_left_out(chain, member, make_batch, give):
    coupon = give(make_batch(kind="percent", value=Decimal("50"), skus=["shirt"]))
    lines = [LineIn("SHIRT", 1, promo_price=Decimal("600")), LineIn("BAG", 1)]
    with pytest.raises(CheckoutError) as info:
        checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=lines, coupon_code=coupon.code,
                      sold_at=at(2026, 6, 10))
    assert info.value.error_code == "coupon_no_items"
    receipt = sell(chain, member, ("SHIRT", 2), ("BAG", 1), coupon=coupon.code)
    assert receipt.total_paid == Decimal("4000.00")  # 2 shirts at half price, the bag at full price


def test_a_quote_prices_the_coupon_and_writes_nothing(chain, member, make_batch, give):
    coupon = give(make_batch())
    ident = identify(store=chain.shop, phone=member.phone, on=dt.date(2026, 6, 10))
    quote = basket_quote(store=chain.shop, ident=ident, lines=[LineIn("SHIRT", 1)], coupon_code=coupon.code,
                         on=dt.date(2026, 6, 10))
    assert quote.to_pay == Decimal("900.00") and quote.coupon_discount == Decimal("100.00")
    assert quote.coupon.pk == coupon.pk and quote.points_earned == 900
    coupon.refresh_from_db()
    assert coupon.redeemed_at is None and not CouponRedemption.objects.exists()


def test_without_a_code_the_checkout_makes_no_coupon_query(chain, member, make_batch, give):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    give(make_batch())
    ident = identify(store=chain.shop, phone=member.phone, on=dt.date(2026, 6, 10))
    with CaptureQueriesContext(connection) as quoted:
        quote = basket_quote(store=chain.shop, ident=ident, lines=[LineIn("SHIRT", 1)], on=dt.date(2026, 6, 10))
    with CaptureQueriesContext(connection) as posted:
        sell(chain, member, ("SHIRT", 1))
    assert quote.coupon is None and quote.coupon_discount == 0
    assert quoted.captured_queries and posted.captured_queries
    assert not [q for q in quoted.captured_queries + posted.captured_queries if "campaigns_" in q["sql"]]


def test_a_coupon_is_used_once(chain, member, make_batch, give):
    coupon = give(make_batch())
    sell(chain, member, ("SHIRT", 1), coupon=coupon.code)
    with pytest.raises(CheckoutError) as info:
        sell(chain, member, ("SHIRT", 1), coupon=coupon.code, store=chain.shop2, when=at(2026, 6, 11))
    assert info.value.error_code == "coupon_used"
    assert Receipt.objects.count() == 1 and CouponRedemption.objects.count() == 1


def _mistype(code: str) -> str:
    wrong = ALPHABET[(ALPHABET.index(code[3]) + 1) % len(ALPHABET)]
    return code[:3] + wrong + code[4:]


@pytest.mark.parametrize("case, code", [
    ("expired", "coupon_expired"), ("not_yet", "coupon_not_yet_valid"), ("other_member", "coupon_other_member"),
    ("other_brand", "coupon_wrong_brand"), ("below_minimum", "coupon_below_minimum"), ("unknown", "coupon_unknown"),
    ("mistyped", "coupon_code_invalid"), ("garbage", "coupon_code_invalid"),
])
def test_bad_coupons_are_refused_with_a_code_and_nothing_is_written(chain, member, make_batch, give, case, code):
    batch = make_batch(value=Decimal("100"), min_spend=Decimal("1500"))
    coupon = give(batch)
    when, store, typed, lines = at(2026, 6, 10), chain.shop, coupon.code, [("SHIRT", 2)]
    if case == "expired":
        when = at(2026, 7, 1, 0, 1)
    elif case == "not_yet":
        when = at(2026, 5, 31, 23, 59)
    elif case == "other_member":
        typed = give(batch, to=MemberFactory(phone="13900009999", home_store=chain.shop)).code
    elif case == "other_brand":
        store, lines = chain.jd_shop, [("JDCOAT", 1)]
    elif case == "below_minimum":
        lines = [("SHIRT", 1)]
    elif case == "unknown":
        other = make_batch(name="另一批")
        unknown = give(other, to=MemberFactory(phone="13900008888", home_store=chain.shop))
        typed = unknown.code
        unknown.delete()
    elif case == "mistyped":
        typed = _mistype(coupon.code)
    else:
        typed = "HELLO"
    before = (Receipt.objects.count(), PointsEntry.objects.count(), CouponRedemption.objects.count(),
              Coupon.objects.filter(redeemed_at__isnull=False).count())
    with translation.override("en"), pytest.raises(CheckoutError) as info:
        sell(chain, member, *lines, coupon=typed, when=when, store=store)
    assert info.value.error_code == code and info.value.field == "coupon_code"
    assert info.value.text and "%(" not in info.value.text
    assert (Receipt.objects.count(), PointsEntry.objects.count(), CouponRedemption.objects.count(),
            Coupon.objects.filter(redeemed_at__isnull=False).count()) == before


def test_a_mistyped_code_is_refused_before_any_database_lookup(chain, member, make_batch, give,
                                                               django_assert_num_queries):
    from membercare.campaigns.redeem import coupon_for_basket

    coupon = give(make_batch())
    ident = identify(store=chain.shop, phone=member.phone, on=dt.date(2026, 6, 10))
    with django_assert_num_queries(0), pytest.raises(CheckoutError) as info:
        coupon_for_basket(_mistype(coupon.code), ident=ident, store=chain.shop, on=dt.date(2026, 6, 10))
    assert info.value.error_code == "coupon_code_invalid"


def test_the_refusal_message_names_the_reason(chain, member, make_batch, give):
    coupon = give(make_batch(min_spend=Decimal("1500")))
    with translation.override("en"), pytest.raises(CheckoutError) as info:
        sell(chain, member, ("SHIRT", 1), coupon=coupon.code)
    assert "needs a spend of ¥1500.00" in info.value.text and "¥1000.00" in info.value.text


def test_a_full_return_refunds_what_was_paid_and_the_coupon_stays_used(chain, member, make_batch, give):
    coupon = give(make_batch())
    receipt = sell(chain, member, ("SHIRT", 1), ("BELT", 1), coupon=coupon.code)
    ret = return_post(original=receipt, lines=None, clerk=None, store=chain.shop, at=at(2026, 6, 12))
    assert ret.total_paid == -receipt.total_paid == Decimal("-1899.00")
    coupon.refresh_from_db()
    assert coupon.redeemed_at is not None
    with pytest.raises(CheckoutError) as info:
        sell(chain, member, ("SHIRT", 1), coupon=coupon.code, when=at(2026, 6, 13))
    assert info.value.error_code == "coupon_used"
