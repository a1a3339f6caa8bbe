"""The counter's points mall page (/service/mall/): a clerk redeems for a member at their own store and hands
over pickup vouchers there only; HQ adds items and sees the donations per charity item; refusals in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse

from membercare.campaigns.mall import mall_item_save, mall_redeem
from membercare.campaigns.models import MallItem, MallRedemption
from membercare.loyalty.donations import points_donate
from membercare.loyalty.models import LoyaltyAccount, ProgrammeVersion
from membercare.loyalty.points import lock_account, points_earn
from membercare.loyalty.programme_services import normalize_rules
from membercare.service.models import GiftIssue, GiftStock

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(gift, stocked, specialist):
    return mall_item_save(by=specialist, kind="gift", name="真丝方巾", points=500, gift=gift)


@pytest.fixture
def rich(member):
    with transaction.atomic():
        points_earn(lock_account(member), 800, expires_on=None)
    return member


def test_a_clerk_redeems_a_gift_for_a_member_from_the_stores_stock(login, clerk, rich, item, store):
    client = login(clerk)
    page = client.get(reverse("service_mall") + f"?member={rich.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and "真丝方巾" in page.content.decode() and "800" in page.content.decode()
    done = client.post(reverse("service_mall") + f"?store={store.pk}",
                       {"action": "redeem", "r-member": rich.pk, "r-item": item.pk})
    assert done.status_code == 302
    issue = GiftIssue.objects.get(member=rich)
    assert issue.reason == "points" and issue.clerk == clerk
    assert GiftStock.objects.get(store=store).quantity == 2
    assert LoyaltyAccount.objects.get(member=rich).points == 300
    refused = client.post(reverse("service_mall") + f"?store={store.pk}",
                          {"action": "redeem", "r-member": rich.pk, "r-item": item.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 400 and "积分不足" in refused.content.decode()


def test_a_pickup_voucher_is_handed_over_at_its_store_only(login, clerk, other_clerk, rich, item, store):
    voucher = mall_redeem(member=rich, item=item, channel="member_centre", store=store)
    page = login(other_clerk).post(reverse("service_mall"), {"action": "pickup", "p-code": voucher.code},
                                   HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 400 and "上海南京路店" in page.content.decode()
    page = login(clerk).post(reverse("service_mall") + f"?store={store.pk}", {"action": "pickup",
                                                                              "p-code": voucher.code})
    assert page.status_code == 302
    assert MallRedemption.objects.get(pk=voucher.pk).status == "collected"


def test_a_clerk_cannot_redeem_at_another_store_nor_add_items(login, other_clerk, rich, item, store, gift):
    client = login(other_clerk)
    page = client.post(reverse("service_mall") + f"?store={store.pk}",
                       {"action": "redeem", "r-member": rich.pk, "r-item": item.pk})
    assert page.status_code in (400, 403)
    assert not MallRedemption.objects.exists()
    page = client.post(reverse("service_mall"), {"action": "item", "i-kind": "gift", "i-name": "x", "i-points": 1,
                                                 "i-gift": gift.pk})
    assert page.status_code == 403 and MallItem.objects.count() == 1


def test_hq_adds_an_item_and_sees_the_donations(login, specialist, rich, gift):
    rules = normalize_rules({"charities": [{"code": "school", "name": "希望工程助学"}]})
    ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1),
                                    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), rules=rules)
    points_donate(member=rich, charity="school", points=300)
    client = login(specialist)
    page = client.post(reverse("service_mall"), {"action": "item", "i-kind": "gift", "i-name": "方巾", "i-points": 900,
                                                 "i-gift": gift.pk})
    assert page.status_code == 302 and MallItem.objects.get().points == 900
    html = client.get(reverse("service_mall"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "希望工程助学" in html and "300" in html and "积分捐赠汇总" in html


def test_hq_adjusts_a_members_points_with_a_category_and_a_reason(login, specialist, clerk, rich, store):
    from membercare.loyalty.models import PointsEntry

    url = reverse("service_mall") + f"?store={store.pk}&member={rich.pk}"
    assert login(clerk).post(url, {"action": "adjust", "a-points": 50, "a-category": "goodwill",
                                   "a-reason": "x"}).status_code == 403
    client = login(specialist)
    page = client.post(url, {"action": "adjust", "a-points": 50, "a-category": "goodwill", "a-reason": ""})
    assert page.status_code == 400
    page = client.post(url, {"action": "adjust", "a-points": -900, "a-category": "correction", "a-reason": "重复"},
                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 400 and "800" in page.content.decode()  # only 800 available
    page = client.post(url, {"action": "adjust", "a-points": 50, "a-category": "goodwill", "a-reason": "生日补发"})
    assert page.status_code == 302
    entry = PointsEntry.objects.filter(member=rich).latest("pk")
    assert (entry.kind, entry.source, entry.points, entry.operator) == ("adjust", "goodwill", 50, specialist)
    assert "生日补发" in entry.reason
    assert LoyaltyAccount.objects.get(member=rich).points == 850


def test_hq_takes_an_item_off_sale_and_back(login, specialist, clerk, item, store):
    url = reverse("service_mall") + f"?store={store.pk}"
    assert login(clerk).post(url, {"action": "toggle", "item_id": item.pk}).status_code == 403
    client = login(specialist)
    assert client.post(url, {"action": "toggle", "item_id": item.pk}).status_code == 302
    assert not MallItem.objects.get(pk=item.pk).is_active
    assert client.post(url, {"action": "toggle", "item_id": item.pk}).status_code == 302
    assert MallItem.objects.get(pk=item.pk).is_active


def test_a_double_tap_at_the_counter_redeems_once(login, clerk, rich, item, store):
    client = login(clerk)
    body = {"action": "redeem", "r-member": rich.pk, "r-item": item.pk, "token": "tap-1"}
    url = reverse("service_mall") + f"?store={store.pk}"
    assert client.post(url, body).status_code == 302
    assert client.post(url, body).status_code == 302  # the same form again: the first result
    assert MallRedemption.objects.count() == 1 and LoyaltyAccount.objects.get(member=rich).points == 300
