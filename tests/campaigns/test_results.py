"""Campaign results on a hand-built data set: the right answers are written out below."""

import datetime as dt
from decimal import Decimal

import pytest

from membercare.campaigns.models import Coupon, CouponHoldout, CouponIssue, CouponRedemption
from membercare.campaigns.selectors import campaign_results, coupon_batch_results, uplift
from tests.factories import MemberFactory, ReceiptFactory

from .conftest import TZ, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(chain, make_batch):
    batch = make_batch(name="六月券")  # valid 2026-06-01 .. 2026-06-30, main brand
    issue = CouponIssue.objects.create(batch=batch, audience={}, holdout_share=Decimal("0.4"), seed="x",
                                       issued=3, held_out=2, issued_at=at(2026, 6, 1))
    a, b = MemberFactory(home_store=chain.shop), MemberFactory(home_store=chain.shop)
    c = MemberFactory(home_store=chain.shop2)
    h1, h2 = MemberFactory(home_store=chain.shop), MemberFactory(home_store=chain.shop2)
    outsider = MemberFactory(home_store=chain.shop2)
    coupons = {m: Coupon.objects.create(batch=batch, issue=issue, member=m, code=f"CODE{i:08d}",
                                        issued_at=at(2026, 6, 1)) for i, m in enumerate((a, b, c))}
    for m in (h1, h2):
        CouponHoldout.objects.create(batch=batch, issue=issue, member=m)

    def sale(member, store, when, paid, **kw):
        return ReceiptFactory(member=member, store=store, sold_at=when, total_paid=Decimal(paid),
                              total_full_price=Decimal(paid), **kw)

    used_on = sale(a, chain.shop, at(2026, 6, 10), "900.00")
    Coupon.objects.filter(pk=coupons[a].pk).update(redeemed_at=at(2026, 6, 10))
    CouponRedemption.objects.create(coupon=coupons[a], receipt=used_on, store=chain.shop, amount=Decimal("100"),
                                    redeemed_at=at(2026, 6, 10))
    sale(a, chain.shop2, at(2026, 6, 20), "500.00")
    sale(a, chain.shop, at(2026, 6, 25), "-300.00", original=used_on)  # a partial return of the coupon sale
    sale(b, chain.shop, at(2026, 5, 31, 23, 59), "1000.00")  # before the window
    sale(b, chain.jd_shop, at(2026, 6, 15), "2000.00")  # another brand
    sale(c, chain.shop2, dt.datetime(2026, 6, 30, 23, 59, tzinfo=TZ), "200.00")  # the window's last minute
    sale(c, chain.shop2, dt.datetime(2026, 7, 1, 0, 0, tzinfo=TZ), "800.00")  # after it
    sale(h1, chain.shop, at(2026, 6, 5), "600.00")
    sale(outsider, chain.shop, at(2026, 6, 10), "5000.00")  # neither group
    return batch


def test_coupon_batch_results_for_the_chain(data):
    assert coupon_batch_results(data) == {
        "reached": 3, "responded": 1, "sales": Decimal("1300.00"),  # a: 900 + 500 - 300; c: 200
        "holdout_size": 2, "holdout_sales": Decimal("600.00"),
        "window_start": dt.date(2026, 6, 1), "window_end": dt.date(2026, 6, 30),
        "redeemed_sales": Decimal("600.00"), "discount": Decimal("100.00"),
    }
    result = uplift(coupon_batch_results(data))
    assert result["per_member"] == Decimal("433.33") and result["holdout_per_member"] == Decimal("300.00")
    assert result["uplift_per_member"] == Decimal("133.33")
    assert result["response_rate"] == pytest.approx(1 / 3)


def test_a_manager_sees_their_stores_members(data, chain):
    result = coupon_batch_results(data, stores=[chain.shop2])  # c and h2 are registered at shop2
    assert (result["reached"], result["responded"], result["sales"], result["holdout_size"],
            result["holdout_sales"]) == (1, 0, Decimal("200.00"), 1, Decimal("0.00"))
    assert uplift(result)["uplift_per_member"] == Decimal("200.00")


def test_the_results_list_has_every_coupon_batch(data, make_batch):
    make_batch(name="空批次", valid_from=dt.date(2026, 8, 1), valid_to=dt.date(2026, 8, 31))
    rows = campaign_results()
    coupons = [r for r in rows if r["kind"] == "coupon"]
    assert [r["name"] for r in coupons] == ["空批次", "六月券"]
    assert coupons[0]["reached"] == 0 and coupons[0]["uplift_per_member"] is None
    assert coupons[1]["uplift_per_member"] == Decimal("133.33")
    assert {r["kind"] for r in rows} <= {"coupon", "event", "bulk"}


def test_the_results_list_takes_bulk_sends_from_messaging_but_not_the_coupon_messages(chain, member, make_batch):
    from django.utils import timezone

    from membercare.campaigns.services import coupon_issue
    from membercare.messaging.models import BulkSend
    from membercare.messaging.services import template_save

    template = template_save(by=None, name="券", category="promotion", body="{coupon_code}")
    plain = BulkSend.objects.create(name="中秋问候", template=template, audience={}, scheduled_at=timezone.now(),
                                    created_at=timezone.now())
    batch = make_batch(template=template)
    issue = coupon_issue(batch=batch, audience={"member_ids": [member.pk]}, holdout_share=0, by=None,
                         send_message=True, at=at(2026, 6, 1))
    rows = campaign_results()
    kinds = {(r["kind"], r["obj"].pk) for r in rows}
    assert ("coupon", batch.pk) in kinds
    assert ("bulk", plain.pk) in kinds and ("bulk", issue.bulk_id) not in kinds
    assert not any(r["kind"] == "bulk" for r in campaign_results(stores=[chain.shop]))  # bulk sends are HQ's
    for r in rows:
        assert {"reached", "responded", "sales", "holdout_size", "holdout_sales", "uplift_per_member"} <= set(r)


def test_the_results_list_takes_only_campaigns_of_the_period(data, make_batch):
    make_batch(name="八月券", valid_from=dt.date(2026, 8, 1), valid_to=dt.date(2026, 8, 31))
    june = [r["name"] for r in campaign_results(start=dt.date(2026, 6, 15), end=dt.date(2026, 7, 15))]
    august = [r["name"] for r in campaign_results(start=dt.date(2026, 7, 20), end=dt.date(2026, 8, 1))]
    assert (june, august) == (["六月券"], ["八月券"])


def test_uplift_divides_by_the_whole_treated_group_where_there_is_one():
    bulk_like = {"reached": 2, "group_size": 4, "sales": Decimal("400"), "holdout_size": 2,
                 "holdout_sales": Decimal("100")}
    result = uplift(bulk_like)  # 4 treated (2 of them never reached) against 2 held out
    assert (result["per_member"], result["holdout_per_member"], result["uplift_per_member"]) == (
        Decimal("100.00"), Decimal("50.00"), Decimal("50.00"))
    assert uplift({**bulk_like, "group_size": None} | {"group_size": 0})["per_member"] is None
