"""The demo's coupons: a running batch with a hold-out and a few used coupons, an ended batch expired."""

import datetime as dt

import pytest

from membercare.campaigns.models import Coupon, CouponBatch, CouponHoldout, CouponRedemption
from membercare.campaigns.selectors import coupon_batch_results
from membercare.demo.campaigns import demo_campaigns
from membercare.demo.generator import GenConfig, generate

pytestmark = pytest.mark.django_db
TODAY = dt.date(2025, 6, 15)


def test_demo_campaigns():
    generate(GenConfig(members=300, seed=11, today=TODAY))
    counts = demo_campaigns(TODAY)
    assert counts["coupons"] == Coupon.objects.count() > 0
    assert counts["coupons_used"] == CouponRedemption.objects.count() >= 5
    assert CouponHoldout.objects.exists()
    running, ended = CouponBatch.objects.order_by("valid_from").reverse()
    assert running.valid_from <= TODAY <= running.valid_to and ended.valid_to < TODAY
    assert counts["coupons_expired"] == Coupon.objects.filter(batch=ended, redeemed_at__isnull=True).count() > 0
    result = coupon_batch_results(running)
    assert result["responded"] >= 1 and result["sales"] > 0 and result["holdout_size"] > 0
    assert demo_campaigns(TODAY) == {}  # once
