"""The coupon pages, the checkout page's coupon field, the profile panel, the campaign results page."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from membercare.campaigns.codes import display_code
from membercare.campaigns.models import Coupon, CouponBatch, CouponHoldout, CouponIssue, CouponRedemption
from membercare.care.models import MemberSegments
from membercare.org.models import Role
from membercare.sales.models import Receipt
from tests.factories import MemberFactory, StaffFactory

from .conftest import TZ

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def as_user(client):
    def _as(user):
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return _as


@pytest.fixture
def hq(chain):
    return StaffFactory(username="vip", role=Role.SPECIALIST)


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_who_may_open_which_page(as_user, chain, hq, make_batch):
    batch = make_batch()
    manager = StaffFactory(username="mgr", role=Role.MANAGER, stores=[chain.shop2])
    pages = [reverse("coupon_batches"), reverse("coupon_batch_new"), reverse("coupon_batch", args=[batch.pk]),
             reverse("coupon_batch_issue", args=[batch.pk])]
    client = as_user(chain.clerk)
    assert [client.get(url).status_code for url in [*pages, reverse("campaign_results")]] == [403] * 5
    client = as_user(manager)
    assert [client.get(url).status_code for url in pages] == [403] * 4
    assert client.get(reverse("campaign_results")).status_code == 200
    client = as_user(hq)
    assert [client.get(url).status_code for url in [*pages, reverse("campaign_results")]] == [200] * 5
    assert reverse("coupon_batches") in client.get(reverse("member_search")).content.decode()  # the nav link


def test_define_then_issue_to_a_segment_with_a_preview(as_user, chain, hq):
    members = [MemberFactory(home_store=chain.shop) for _ in range(10)]
    for m in members:
        MemberSegments.objects.create(member=m, computed_on=dt.date(2026, 6, 1), lifecycle="active")
    client = as_user(hq)
    bad = client.post(reverse("coupon_batch_new"), {"name": "夏季券", "brand": chain.main.pk, "kind": "amount",
                                                    "value": "100", "valid_from": "2026-06-30",
                                                    "valid_to": "2026-06-01", "skus": "NOPE"})
    assert bad.status_code == 422 and not CouponBatch.objects.exists()
    assert "Unknown SKUs: NOPE" in text(bad) and "must end on or after" in text(bad)
    response = client.post(reverse("coupon_batch_new"), {
        "name": "夏季券", "brand": chain.main.pk, "kind": "percent", "value": "10", "min_spend": "500",
        "valid_from": "2026-06-01", "valid_to": "2026-06-30", "series": [chain.leather.pk]})
    batch = CouponBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("coupon_batch_issue", args=[batch.pk])
    assert list(batch.series.all()) == [chain.leather] and batch.value == Decimal("10.00")
    form = {"source": "segment", "lifecycle": ["active"], "holdout_percent": "20", "action": "preview"}
    preview = client.post(reverse("coupon_batch_issue", args=[batch.pk]), form)
    assert preview.status_code == 200 and not Coupon.objects.exists()
    html = preview.content.decode()
    assert re.search(r'id="preview-total">10<', html) and re.search(r'id="preview-holdout">2<', html)
    assert re.search(r'id="preview-issue">8<', html)
    done = client.post(reverse("coupon_batch_issue", args=[batch.pk]), {**form, "action": "issue"})
    assert done.status_code == 302
    assert Coupon.objects.count() == 8 and CouponHoldout.objects.count() == 2
    assert CouponIssue.objects.get().bulk is None  # no message: send_message unticked
    detail = text(client.get(reverse("coupon_batch", args=[batch.pk])))
    code = Coupon.objects.first().code
    assert code not in detail and f"{code[:4]}-****-**{code[-2:]}" in detail  # codes masked in the list


def test_issue_to_a_pasted_list_refuses_unknown_entries(as_user, chain, hq, member, make_batch):
    batch = make_batch()
    client = as_user(hq)
    form = {"source": "list", "pasted": f"{member.phone}\n13900007777", "holdout_percent": "0", "action": "issue"}
    response = client.post(reverse("coupon_batch_issue", args=[batch.pk]), form)
    assert response.status_code == 422 and "13900007777" in text(response) and not Coupon.objects.exists()
    response = client.post(reverse("coupon_batch_issue", args=[batch.pk]), {**form, "pasted": member.phone})
    assert response.status_code == 302 and Coupon.objects.get().member == member


def test_checkout_page_redeems_a_coupon_and_shows_refusals_next_to_the_field(as_user, chain, member, make_batch,
                                                                            give):
    coupon = give(make_batch(value=Decimal("100"), min_spend=Decimal("500")))
    client = as_user(chain.clerk)
    base = {"token": "t1", "store": str(chain.shop.pk), "line-TOTAL_FORMS": "4", "line-INITIAL_FORMS": "0",
            "line-MIN_NUM_FORMS": "0", "line-MAX_NUM_FORMS": "50", "phone": member.phone, "line-0-sku": "SHIRT",
            "line-0-quantity": "1"}
    quote = client.post(reverse("checkout_quote"), {**base, "coupon_code": display_code(coupon.code)})
    assert 'id="coupon-discount"' in quote.content.decode() and "¥900.00" in quote.content.decode()
    wrong = client.post(reverse("checkout"), {**base, "coupon_code": coupon.code[:-1] + "Z"
                                              if coupon.code[-1] != "Z" else coupon.code[:-1] + "Y",
                                              "action": "post"})
    assert wrong.status_code == 422 and "mistyped" in text(wrong) and not Receipt.objects.exists()
    assert 'id="err-coupon_code"' in wrong.content.decode()
    done = client.post(reverse("checkout"), {**base, "coupon_code": coupon.code, "action": "post"})
    assert done.status_code == 302
    receipt = Receipt.objects.get()
    assert receipt.total_paid == Decimal("900.00") and CouponRedemption.objects.get().receipt == receipt


def test_profile_panel_lists_valid_used_and_expired_coupons(as_user, chain, member, make_batch, give):
    valid = give(make_batch(name="有效券"))
    used = give(make_batch(name="已用券"))
    Coupon.objects.filter(pk=used.pk).update(redeemed_at=dt.datetime(2026, 6, 5, tzinfo=TZ))
    expired = give(make_batch(name="过期券", valid_from=dt.date(2026, 5, 1), valid_to=dt.date(2026, 5, 31)))
    html = as_user(chain.clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    panel = html[html.index('id="coupons"'):]
    assert display_code(valid.code) in panel  # the valid code in full: the clerk needs it at the till
    assert display_code(used.code) not in panel and display_code(expired.code) not in panel
    states = re.findall(r'data-state="(\w+)"', panel)
    assert sorted(states) == ["expired", "used", "valid"]


def test_results_page_lists_coupon_batches_with_uplift(as_user, chain, hq, member, make_batch, give):
    batch = make_batch(name="六月券")
    give(batch)
    holdout = MemberFactory(home_store=chain.shop)
    CouponHoldout.objects.create(batch=batch, issue=CouponIssue.objects.get(), member=holdout)
    page = as_user(hq).get(reverse("campaign_results"))
    html = page.content.decode()
    assert page.status_code == 200 and 'data-kind="coupon"' in html and "六月券" in html
