"""The counter's stored value: the top-up form on the member's profile (refusals shown with the reason, one
top-up per form) and stored value at the counter checkout, alone or split with another method."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from membercare.sales.models import Receipt
from membercare.storedvalue.models import StoredValueCard, StoredValueEntry
from tests.web.test_checkout_views import form

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def counter(client, chain):
    client.force_login(chain.clerk)
    return client


def top_up(counter, member, chain, amount, method="wechat_pay", token="t1"):
    return counter.post(reverse("stored_value_top_up", args=[member.pk]),
                        {"store": chain.shop.pk, "amount": amount, "method": method, "token": token}, follow=True)


def test_the_profile_offers_a_top_up_and_shows_the_balance(counter, chain, member):
    page = counter.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert 'id="stored-value"' in page and "尚无储值卡" in page and 'name="amount"' in page
    page = top_up(counter, member, chain, "1000.00").content.decode()
    assert "已充值 ¥1000.00（赠送 ¥100.00）" in page
    assert 'data-balance="1100.00"' in page and "本金" in page and "赠送金额" in page
    top_up(counter, member, chain, "1000.00")  # the same form posted twice: one top-up
    assert StoredValueEntry.objects.filter(member=member).count() == 1


def test_a_refused_top_up_shows_the_reason_and_writes_nothing(counter, chain, member):
    page = top_up(counter, member, chain, "6000").content.decode()
    assert "储值卡余额上限为 ¥5000.00" in page
    page = top_up(counter, member, chain, "abc", token="t2").content.decode()
    assert "请填写大于 0 的金额" in page
    assert not StoredValueCard.objects.exists()


def test_stored_value_split_with_cash_at_the_counter_checkout(counter, chain, member):
    top_up(counter, member, chain, "1000.00")
    page = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], phone=member.phone)).content.decode()
    assert 'id="stored-value-balance"' in page and "¥1100.00" in page and "储值卡" in page
    r = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], phone=member.phone, action="post",
                                                 payment_method="cash", stored_value_amount="250.00"))
    assert r.status_code == 302, re.sub(r"\s+", " ", r.content.decode())[:2000]
    receipt = Receipt.objects.get(member=member)
    assert {p.method.code: p.amount for p in receipt.payments.all()} == {"stored_value": D("250.00"),
                                                                          "cash": D("750.00")}
    assert StoredValueCard.objects.get(member=member).balance == D("850.00")


def test_stored_value_above_the_amount_due_is_refused_at_the_counter(counter, chain, member):
    top_up(counter, member, chain, "2000.00")
    r = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], phone=member.phone, action="post",
                                                 payment_method="cash", stored_value_amount="1500.00"))
    assert r.status_code == 422 and "储值卡最多支付应付的 ¥1000.00" in r.content.decode()
    r = counter.post(reverse("checkout"), form(chain, [("SUIT", 1)], token="tok-2", phone=member.phone,
                                                 action="post", payment_method="stored_value"))
    assert r.status_code == 422 and "储值卡余额仅剩 ¥2100.00" in r.content.decode()
    # stored value chosen as the method with an amount typed below what is due: refused, never the whole amount
    r = counter.post(reverse("checkout"), form(chain, [("SHIRT", 1)], token="tok-3", phone=member.phone,
                                                 action="post", payment_method="stored_value",
                                                 stored_value_amount="300.00"))
    assert r.status_code == 422, r.status_code
    assert not Receipt.objects.exists() and StoredValueCard.objects.get(member=member).balance == D("2100.00")


def test_every_movement_is_in_the_members_timeline(client, chain, member, hq):
    from membercare.members.selectors import member_timeline
    from membercare.storedvalue.refunds import approve_refund, request_refund
    from membercare.storedvalue.topup import top_up as stored_value_top_up

    card = stored_value_top_up(member=member, amount=Decimal("1000.00"), method="cash", store=chain.shop,
                               by=chain.clerk).card
    refund = request_refund(card=card, by=chain.clerk, reason="搬家", store=chain.shop)
    approve_refund(refund=refund, by=hq, method="cash")
    kinds = [e.title for e in member_timeline(member) if e.kind == "stored_value"]
    assert len(kinds) == 3  # top-up, refund of the principal, bonus forfeited
    client.force_login(chain.clerk)
    html = client.get(reverse("member_detail", args=[member.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert html.count('data-kind="stored_value"') == 3 and card.number in html
