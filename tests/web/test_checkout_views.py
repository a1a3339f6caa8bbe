"""The counter checkout page: identify, live quote (no writes), post, refusals next to the field, returns."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from membercare.loyalty.checkout import LineIn, checkout_post
from membercare.loyalty.models import BirthdayUse, Card, CardStatus
from membercare.loyalty.points import ledger_sum
from membercare.sales.models import Receipt
from tests.loyalty.conftest import chain, member  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def counter(client, chain):  # noqa: F811
    client.force_login(chain.clerk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def elite(chain, member):  # noqa: F811
    """王芳 with an elite card (one business receipt of ¥5,000) and 5,000 points."""
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 5, 20, 12, tzinfo=TZ))
    return Card.objects.get(member=member)


def form(chain, lines=(), token="tok-1", **fields):  # noqa: F811
    data = {"token": token, "store": str(chain.shop.pk), "line-TOTAL_FORMS": "4", "line-INITIAL_FORMS": "0",
            "line-MIN_NUM_FORMS": "0", "line-MAX_NUM_FORMS": "50"}
    for i, line in enumerate(lines):
        sku, qty, *promo = line
        data[f"line-{i}-sku"], data[f"line-{i}-quantity"] = sku, str(qty)
        if promo:
            data[f"line-{i}-promo_price"] = str(promo[0])
    data.update({k: str(v) for k, v in fields.items()})
    return data


def err(html: str, field: str) -> str:
    """The text of the error box next to a field."""
    match = re.search(rf'<div id="err-{field}" class="errs"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def test_the_page_needs_a_login_and_a_store(client, db, specialist):
    assert client.get(reverse("checkout")).status_code == 302
    client.force_login(specialist)  # HQ without a store and no store in the chain yet
    assert client.get(reverse("checkout")).status_code == 403


def test_identify_by_card_shows_member_card_tier_and_points(counter, chain, member, elite):  # noqa: F811
    page = counter.post(reverse("checkout_quote"), form(chain, card=elite.number)).content.decode()
    assert "王芳" in page and elite.number in page and "Elite card" in page
    assert '<dd id="points-balance">5000</dd>' in page
    assert err(page, "card") == ""


def test_identify_by_phone(counter, chain, member, elite):  # noqa: F811
    page = counter.post(reverse("checkout_quote"), form(chain, phone="138 0000 1234")).content.decode()
    assert "王芳" in page and elite.number in page


def test_identify_by_name_phone_and_birthday_when_the_card_is_forgotten(counter, chain, member, elite):  # noqa: F811
    ok = counter.post(reverse("checkout_quote"), form(chain, phone=member.phone, name="王芳",
                                                      birthday_date="1985-03-21")).content.decode()
    assert "王芳" in ok and elite.number in ok
    bad = counter.post(reverse("checkout_quote"), form(chain, phone=member.phone, name="王芳",
                                                       birthday_date="1985-03-22")).content.decode()
    assert "do not match one member" in err(bad, "name") and 'id="member-panel"' not in bad
    half = counter.post(reverse("checkout_quote"), form(chain, phone=member.phone, name="王芳")).content.decode()
    assert "name, phone and birthday together" in err(half, "birthday_date")


def test_quote_prices_the_basket_and_writes_nothing(counter, chain, member, elite):  # noqa: F811
    receipts = Receipt.objects.count()
    page = counter.post(reverse("checkout_quote"), form(
        chain, card=elite.number, lines=[("SHIRT", 2), ("BELT", 1, "500")], redeem_points=1000)).content.decode()
    # 2 x 850 (8.5折) + 500 promotion = 2200; 1000 points = ¥10 off
    assert "2 × ¥850.00" in page and "1 × ¥500.00" in page
    assert '<dd class="total" id="to-pay">¥2190.00</dd>' in page
    assert '<dd id="points-earned">2190</dd>' in page
    assert Receipt.objects.count() == receipts
    elite.member.loyalty.refresh_from_db()
    assert elite.member.loyalty.points == 5000


def test_quote_shows_the_birthday_items(counter, chain, member, elite):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=TZ), tick=False):
        page = counter.post(reverse("checkout_quote"), form(
            chain, card=elite.number, lines=[("SHIRT", 3)], birthday="on")).content.decode()
    assert "2 × ¥600.00" in page and "1 × ¥850.00" in page and "Birthday month" in page
    assert '<dd id="points-earned">850</dd>' in page


def test_post_records_the_receipt_and_shows_it(counter, chain, member):  # noqa: F811
    response = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SUIT", 1)],
                                                      action="post"))
    receipt = Receipt.objects.get(member=member)
    assert response.status_code == 302 and response.url == reverse("checkout_receipt", args=[receipt.pk])
    assert receipt.total_paid == Decimal("5000.00") and receipt.points_earned == 5000 and receipt.clerk == chain.clerk
    page = counter.get(response.url).content.decode()
    card = Card.objects.get(member=member)
    assert receipt.number in page and "¥5000.00" in page and '<dd id="points-earned">5000</dd>' in page
    assert f"Upgraded with this sale to Elite card (card {card.number})." in page
    # the same form posted again (a double tap) does not post twice
    again = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SUIT", 1)], action="post"))
    assert again.url == response.url and Receipt.objects.count() == 1
    assert member.loyalty.points == 5000 == ledger_sum(member)


def test_a_refusal_is_shown_next_to_the_field_and_the_input_stays(counter, chain, member, elite):  # noqa: F811
    response = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHRIT", 2)],
                                                      redeem_points=7, action="post"))
    page = response.content.decode()
    assert response.status_code == 422 and Receipt.objects.count() == 1
    assert "unknown SKU “SHRIT”" in err(page, "lines")
    assert 'value="SHRIT"' in page and f'value="{elite.number}"' in page and 'value="7"' in page
    elite.status = CardStatus.VOID
    elite.save()
    page = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                  action="post")).content.decode()
    assert f"Card {elite.number} is void" in err(page, "card") and 'value="SHIRT"' in page
    assert Receipt.objects.count() == 1


def test_birthday_privilege_used_elsewhere_is_refused_at_the_checkbox(counter, chain, member, elite):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=TZ), tick=False):
        checkout_post(store=chain.shop2, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)],
                      birthday=True)
        response = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                          birthday="on", action="post"))
    page = response.content.decode()
    assert "already used" in err(page, "birthday") and chain.shop2.name in err(page, "birthday")
    assert '<input type="checkbox" name="birthday" id="id_birthday" checked>' in page
    assert BirthdayUse.objects.count() == 1


def test_add_line_keeps_what_was_typed(counter, chain, member):  # noqa: F811
    page = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SHIRT", 1)],
                                                  action="add_line")).content.decode()
    assert 'name="line-4-sku"' in page and 'value="SHIRT"' in page and 'value="13800001234"' in page


def test_partial_return_from_the_receipt(counter, chain, member, elite):  # noqa: F811
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=elite.number,
                            lines=[LineIn("SHIRT", 2), LineIn("BELT", 1)])
    shirt = receipt.lines.get(product__sku="SHIRT")
    url = reverse("checkout_return", args=[receipt.pk])
    page = counter.get(url).content.decode()
    assert f'name="qty_{shirt.pk}"' in page
    too_many = counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "3", "action": "lines"})
    assert too_many.status_code == 422 and "Only 2 of SHIRT can still be returned" in too_many.content.decode()
    assert 'value="3"' in too_many.content.decode() and receipt.returns.count() == 0
    done = counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "1", "action": "lines"})
    ret = receipt.returns.get()
    assert done.status_code == 302 and done.url == reverse("checkout_receipt", args=[ret.pk])
    assert ret.total_paid == Decimal("-850.00")
    assert counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "1", "action": "lines"}).url == done.url
    assert receipt.returns.count() == 1
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 5000 + 2549 - 849 == ledger_sum(member)  # 849 = 2549 x 850 / 2549.15


def test_receipts_of_other_stores_are_not_shown(counter, chain, member, elite):  # noqa: F811
    other = checkout_post(store=chain.shop2, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)])
    assert counter.get(reverse("checkout_receipt", args=[other.pk])).status_code == 404
    assert counter.get(reverse("checkout_return", args=[other.pk])).status_code == 404
    assert counter.get(reverse("checkout_find_receipt"), {"number": other.number}).url == reverse("checkout")
