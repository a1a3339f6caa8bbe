"""Coupons through the POS API: quote and checkout with coupon_code, refusals as JSON with a stable code."""

from decimal import Decimal

import pytest

from membercare.campaigns.models import Coupon, CouponRedemption
from membercare.sales.models import Receipt

pytestmark = pytest.mark.django_db


def test_checkout_with_a_coupon(pos, clock, make_batch, give):
    coupon = give(make_batch(value=Decimal("100")))
    clock(2026, 6, 10)
    status, quote = pos.quote(("SHIRT", 1), coupon_code=coupon.code)
    assert status == 200 and quote["to_pay"] == "900.00" and quote["coupon_discount"] == "100.00"
    assert quote["coupon_code"] == coupon.code and not CouponRedemption.objects.exists()
    status, body = pos.checkout(("SHIRT", 1), coupon_code=coupon.code)
    assert status == 201, body
    assert body["total_paid"] == "900.00" and body["points_earned"] == 900
    assert body["coupon_code"] == coupon.code and body["coupon_discount"] == "100.00"
    redemption = CouponRedemption.objects.get()
    assert redemption.receipt.number == body["number"] and redemption.store.code == "SH01"


def test_a_retry_with_the_same_key_replays_and_does_not_use_the_coupon_twice(pos, clock, make_batch, give):
    coupon = give(make_batch())
    clock(2026, 6, 10)
    first = pos.checkout(("SHIRT", 1), coupon_code=coupon.code, idem="k1")
    again = pos.checkout(("SHIRT", 1), coupon_code=coupon.code, idem="k1")
    assert first == again and first[0] == 201
    assert Receipt.objects.count() == 1 and CouponRedemption.objects.count() == 1


def test_refusals_are_json_with_a_stable_code_and_write_nothing(pos, jd_pos, clock, make_batch, give):
    coupon = give(make_batch(min_spend=Decimal("2000")))
    clock(2026, 6, 10)
    cases = [
        (pos, ("SHIRT", 1), coupon.code, "coupon_below_minimum"),
        (pos, ("SHIRT", 3), coupon.code[:-1] + ("2" if coupon.code[-1] != "2" else "3"), "coupon_code_invalid"),
        (jd_pos, ("JDCOAT", 1), coupon.code, "coupon_wrong_brand"),
    ]
    for client, line, code, expected in cases:
        status, body = client.checkout(line, coupon_code=code)
        assert status == 422 and body["code"] == expected and body["field"] == "coupon_code", body
        assert body["message"]
    clock(2026, 7, 1)
    status, body = pos.checkout(("SHIRT", 3), coupon_code=coupon.code)
    assert status == 422 and body["code"] == "coupon_expired"
    assert not Receipt.objects.exists() and Coupon.objects.get().redeemed_at is None
