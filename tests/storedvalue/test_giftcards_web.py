"""Gift-card pages: HQ makes a batch (refusals next to the field), sees sold/spent/outstanding and exports the
codes once; the counter sells cards (one sale per form) and moves a bound card; clerks cannot reach HQ's pages."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, PaymentIn, checkout_post
from membercare.core.crypto import decrypt
from membercare.members.models import ExportLog
from membercare.storedvalue.giftcard_batches import batch_create, gift_cards_sell
from membercare.storedvalue.giftcards import display_code, new_code
from membercare.storedvalue.models import GiftCard, GiftCardBatch, GiftCardSale
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield


def test_hq_makes_a_batch_sees_it_and_exports_the_codes_once(client, chain, hq):
    client.force_login(hq)
    page = client.get(reverse("gift_card_batch_new"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "新建礼品卡批次" in page and "1000.00" in page
    refused = client.post(reverse("gift_card_batch_new"), {"name": "春节卡", "face_value": "1500", "count": 5,
                                                           "valid_days": 1095, "scope": ""},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 422 and "不记名卡面值最高" in refused.content.decode()
    assert not GiftCardBatch.objects.exists()
    made = client.post(reverse("gift_card_batch_new"), {"name": "春节卡", "face_value": "500", "count": 5,
                                                        "valid_days": 1095, "scope": "MAIN"}, follow=True,
                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    batch = GiftCardBatch.objects.get()
    assert made.status_code == 200 and GiftCard.objects.filter(batch=batch).count() == 5
    text = made.content.decode()
    assert "主品牌" in text and "导出卡密（仅一次）" in text and "****-****-****-" in text
    export = client.post(reverse("gift_card_batch_export", args=[batch.pk]))
    assert export.status_code == 200 and "attachment" in export["Content-Disposition"]
    assert ExportLog.objects.filter(kind="gift_card_codes").count() == 1
    again = client.post(reverse("gift_card_batch_export", args=[batch.pk]), follow=True,
                        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "不能再次导出" in again.content.decode() and ExportLog.objects.count() == 1
    listing = client.get(reverse("gift_card_batches"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "春节卡" in listing


def test_the_counter_sells_cards_once_per_form_and_clerks_cannot_open_hq_pages(client, chain, hq):
    batch = batch_create(by=hq, name="端午卡", face_value=D("300.00"), count=2, valid_days=1095)
    codes = [decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=batch)]
    client.force_login(chain.clerk)
    assert client.get(reverse("gift_card_batches")).status_code == 403
    assert client.post(reverse("gift_card_batch_export", args=[batch.pk])).status_code == 403
    form = {"codes": "\n".join(display_code(c) for c in codes), "method": "wechat_pay",
            "store": chain.shop.pk, "token": "tok1"}
    sold = client.post(reverse("gift_card_sell"), form, HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = sold.content.decode()
    assert sold.status_code == 200 and "已收款 ¥600.00" in text and "以下礼品卡已激活" in text
    twice = client.post(reverse("gift_card_sell"), form, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "这笔销售已记录" in twice.content.decode() and GiftCardSale.objects.count() == 1
    refused = client.post(reverse("gift_card_sell"), {**form, "token": "tok2"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 422 and "已于" in refused.content.decode()
    other = client.post(reverse("gift_card_sell"), {**form, "token": "tok3", "store": chain.jd_shop.pk})
    assert other.status_code == 422 and GiftCardSale.objects.count() == 1  # not a store of the clerk


def test_staff_move_a_bound_card_on_its_page(client, chain, hq, member):
    batch = batch_create(by=hq, name="端午卡", face_value=D("300.00"), count=1, valid_days=1095)
    code = decrypt(GiftCard.objects.get(batch=batch).code_sealed)
    gift_cards_sell(codes=[code], method="cash", store=chain.shop, by=chain.clerk)
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("BELT", 1)],
                  payments=[PaymentIn("gift_card", D("100.00"), code), PaymentIn("cash", D("899.00"))])
    card = GiftCard.objects.get()
    other = MemberFactory(phone="13900009999", name="李娜")
    client.force_login(chain.clerk)
    url = reverse("gift_card_detail", args=[card.serial])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "王芳" in page and "¥200.00" in page and "收银消费" in page or "消费" in page
    wrong = client.post(url, {"member_no": "NOPE"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert wrong.status_code == 422 and "没有此会员编号的会员" in wrong.content.decode()
    moved = client.post(url, {"member_no": other.member_no}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "现已转给 李娜" in moved.content.decode()
    card.refresh_from_db()
    assert card.member == other


def test_the_stored_value_books_show_the_gift_cards_line(client, chain, hq, member):
    batch = batch_create(by=hq, name="端午卡", face_value=D("500.00"), count=2, valid_days=1095)
    codes = [decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=batch)]
    gift_cards_sell(codes=codes, method="cash", store=chain.shop, by=None)
    checkout_post(store=chain.shop2, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                  payments=[PaymentIn("gift_card", D("100.00"), codes[0]), PaymentIn("cash", D("899.00"))])
    client.force_login(hq)
    page = client.get(reverse("stored_value_finance"), {"day": "2026-06-01"},
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'id="gift-card-books"' in page and "礼品卡" in page
    import re

    figure = re.search(r'data-figure="gift_liability">([^<]+)<', page).group(1)
    assert "900.00" in figure
    xlsx = client.get(reverse("stored_value_finance"), {"day": "2026-06-01", "format": "xlsx"})
    assert xlsx.status_code == 200


def test_the_demo_has_a_batch_with_a_few_sold_cards(client, chain):
    from membercare.demo.storedvalue import demo_gift_cards
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    StaffFactory(username="clerk", role=Role.CLERK, stores=[chain.shop])
    specialist = StaffFactory(username="specialist", role=Role.SPECIALIST)
    assert demo_gift_cards(dt.date(2026, 6, 1)) == {"gift_cards_sold": 5}
    assert demo_gift_cards(dt.date(2026, 6, 1)) == {}  # once
    batch = GiftCardBatch.objects.get()
    assert GiftCard.objects.filter(batch=batch, status="active").count() == 5
    client.force_login(specialist)
    page = client.get(reverse("gift_card_batch", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "新春礼品卡" in page and "¥2500.00" in page


def test_a_gift_card_pays_part_at_the_counter_checkout_and_refusals_say_why(client, chain, hq, member):
    import re

    from membercare.sales.models import Receipt
    from tests.web.test_checkout_views import form

    batch = batch_create(by=hq, name="端午卡", face_value=D("500.00"), count=1, valid_days=1095)
    code = decrypt(GiftCard.objects.get(batch=batch).code_sealed)
    gift_cards_sell(codes=[code], method="cash", store=chain.shop, by=chain.clerk)
    client.force_login(chain.clerk)
    page = client.get(reverse("checkout"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "礼品卡卡密" in page
    refused = client.post(reverse("checkout"), form(chain, [("SHIRT", 1)], phone=member.phone, action="post",
                                                    payment_method="cash", gift_card_code=new_code(),
                                                    gift_card_amount="300.00"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 422 and "没有与此卡密对应的礼品卡" in refused.content.decode()
    over = client.post(reverse("checkout"), form(chain, [("SHIRT", 1)], token="tok-2", phone=member.phone,
                                                 action="post", payment_method="cash", gift_card_code=code,
                                                 gift_card_amount="600.00"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert over.status_code == 422 and "礼品卡 GC" in over.content.decode()
    assert not Receipt.objects.exists()
    r = client.post(reverse("checkout"), form(chain, [("SHIRT", 1)], token="tok-3", phone=member.phone,
                                              action="post", payment_method="cash",
                                              gift_card_code=display_code(code).lower(),
                                              gift_card_amount="300.00"))
    assert r.status_code == 302, re.sub(r"\s+", " ", r.content.decode())[:1500]
    receipt = Receipt.objects.get(member=member)
    assert {p.method.code: p.amount for p in receipt.payments.all()} == {"gift_card": D("300.00"),
                                                                          "cash": D("700.00")}
    card = GiftCard.objects.get()
    assert card.balance == D("200.00") and card.member == member
