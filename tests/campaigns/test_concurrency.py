"""One coupon, two stores, the same moment (PostgreSQL: real row locks, real threads): accepted once."""

import pytest

from membercare.campaigns.models import Coupon, CouponRedemption
from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.sales.models import Receipt
from tests.loyalty.test_concurrency import _postgres_only, run_together

from .conftest import at

pytestmark = [pytest.mark.django_db(transaction=True)]
THREADS = 6


def test_a_coupon_redeemed_from_two_stores_at_once_is_accepted_once(chain, member, make_batch, give):
    _postgres_only()
    coupon = give(make_batch())
    stores = [chain.shop, chain.shop2]

    def redeem(i):
        return lambda: checkout_post(store=stores[i % 2], clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                                     coupon_code=coupon.code, sold_at=at(2026, 6, 10, 12, i))

    results = run_together([redeem(i) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) == 1 and len(refused) == THREADS - 1, results
    assert {r.error_code for r in refused} == {"coupon_used"}
    assert Receipt.objects.count() == 1 and CouponRedemption.objects.get().receipt_id == ok[0].pk
    assert Coupon.objects.get().redeemed_at is not None


def test_the_claim_holds_without_the_member_lock(chain, member, make_batch, give):
    """coupon_redeem itself (the conditional UPDATE) accepts one of many concurrent claims."""
    _postgres_only()
    from django.db import transaction

    from membercare.campaigns.redeem import coupon_redeem
    from membercare.checkout.pipeline import Quote
    from tests.factories import ReceiptFactory

    coupon = give(make_batch())
    receipts = [ReceiptFactory(store=chain.shop, member=member) for _ in range(THREADS)]

    def claim(i):
        def job():
            with transaction.atomic():
                quote = Quote(member=member, card=None, tier="", lines=[], total_full_price=0, total_paid=0,
                              points_redeemed=0, points_offset=0, to_pay=0, points_earned=0, birthday_items=0,
                              coupon=Coupon.objects.get(pk=coupon.pk), coupon_discount=100)
                return coupon_redeem(quote, receipt=receipts[i], store=chain.shop, at=at(2026, 6, 10))
        return job

    results = run_together([claim(i) for i in range(THREADS)])
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert {r.error_code for r in results if isinstance(r, CheckoutError)} == {"coupon_used"}
    assert CouponRedemption.objects.count() == 1
