"""The counter checkout page: identify, live quote (no writes), post, refusals next to the field, returns."""

import datetime as dt
import os
import re
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connections
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import BirthdayUse, Card, CardStatus
from membercare.loyalty.points import ledger_sum
from membercare.sales.models import Receipt
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.loyalty.conftest import chain, member  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today(request):
    if "page" in request.fixturenames:  # the browser test runs in real time
        yield
        return
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
    html = counter.post(reverse("checkout_quote"), form(chain, card=elite.number)).content.decode()
    assert "王芳" in html and elite.number in html and "Elite card" in html
    assert '<dd id="points-balance">5000</dd>' in html
    assert err(html, "card") == ""


def test_identify_by_phone(counter, chain, member, elite):  # noqa: F811
    html = counter.post(reverse("checkout_quote"), form(chain, phone="138 0000 1234")).content.decode()
    assert "王芳" in html and elite.number in html


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
    html = counter.post(reverse("checkout_quote"), form(
        chain, card=elite.number, lines=[("SHIRT", 2), ("BELT", 1, "500")], redeem_points=1000)).content.decode()
    # 2 x 850 (8.5折) + 500 promotion = 2200; 1000 points = ¥10 off
    assert "2 × ¥850.00" in html and "1 × ¥500.00" in html
    assert '<dd class="total" id="to-pay">¥2190.00</dd>' in html
    assert '<dd id="points-earned">2190</dd>' in html
    assert Receipt.objects.count() == receipts
    elite.member.loyalty.refresh_from_db()
    assert elite.member.loyalty.points == 5000


def test_quote_shows_the_birthday_items(counter, chain, member, elite):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=TZ), tick=False):
        html = counter.post(reverse("checkout_quote"), form(
            chain, card=elite.number, lines=[("SHIRT", 3)], birthday="on")).content.decode()
    assert "2 × ¥600.00" in html and "1 × ¥850.00" in html and "Birthday month" in html
    assert '<dd id="points-earned">850</dd>' in html


def test_post_records_the_receipt_and_shows_it(counter, chain, member):  # noqa: F811
    response = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SUIT", 1)],
                                                      action="post"))
    receipt = Receipt.objects.get(member=member)
    assert response.status_code == 302 and response.url == reverse("checkout_receipt", args=[receipt.pk])
    assert receipt.total_paid == Decimal("5000.00") and receipt.points_earned == 5000 and receipt.clerk == chain.clerk
    html = counter.get(response.url).content.decode()
    card = Card.objects.get(member=member)
    assert receipt.number in html and "¥5000.00" in html and '<dd id="points-earned">5000</dd>' in html
    assert f"Upgraded with this sale to Elite card (card {card.number})." in html
    # the same form posted again (a double tap) does not post twice
    again = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SUIT", 1)], action="post"))
    assert again.url == response.url and Receipt.objects.count() == 1
    assert member.loyalty.points == 5000 == ledger_sum(member)


def test_a_refusal_is_shown_next_to_the_field_and_the_input_stays(counter, chain, member, elite):  # noqa: F811
    response = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHRIT", 2)],
                                                      redeem_points=7, action="post"))
    html = response.content.decode()
    assert response.status_code == 422 and Receipt.objects.count() == 1
    assert "unknown SKU “SHRIT”" in err(html, "lines")
    assert 'value="SHRIT"' in html and f'value="{elite.number}"' in html and 'value="7"' in html
    elite.status = CardStatus.VOID
    elite.save()
    html = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                  action="post")).content.decode()
    assert f"Card {elite.number} is void" in err(html, "card") and 'value="SHIRT"' in html
    assert Receipt.objects.count() == 1


def test_a_clerk_cannot_sell_at_another_store_or_type_absurd_quantities(counter, chain, member):  # noqa: F811
    data = form(chain, phone=member.phone, lines=[("SHIRT", 1)], action="post")
    data["store"] = str(chain.shop2.pk)  # not the clerk's store
    response = counter.post(reverse("checkout"), data)
    assert response.status_code == 422 and err(response.content.decode(), "store")
    huge = counter.post(reverse("checkout_quote"), form(chain, phone=member.phone, lines=[("SHIRT", 10**9)]))
    assert "Line 1, Quantity" in err(huge.content.decode(), "lines")
    assert not Receipt.objects.exists()


def test_birthday_privilege_used_elsewhere_is_refused_at_the_checkbox(counter, chain, member, elite):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=TZ), tick=False):
        checkout_post(store=chain.shop2, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)],
                      birthday=True)
        response = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                          birthday="on", action="post"))
    html = response.content.decode()
    assert "already used" in err(html, "birthday") and chain.shop2.name in err(html, "birthday")
    assert '<input type="checkbox" name="birthday" id="id_birthday" checked>' in html
    assert BirthdayUse.objects.count() == 1


def test_add_line_keeps_what_was_typed(counter, chain, member):  # noqa: F811
    html = counter.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SHIRT", 1)],
                                                  action="add_line")).content.decode()
    assert 'name="line-4-sku"' in html and 'value="SHIRT"' in html and 'value="13800001234"' in html


def test_partial_return_from_the_receipt(counter, chain, member, elite):  # noqa: F811
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=elite.number,
                            lines=[LineIn("SHIRT", 2), LineIn("BELT", 1)])
    shirt = receipt.lines.get(product__sku="SHIRT")
    url = reverse("checkout_return", args=[receipt.pk])
    html = counter.get(url).content.decode()
    assert f'name="qty_{shirt.pk}"' in html
    too_many = counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "3", "action": "lines"})
    assert too_many.status_code == 422 and "Only 2 of SHIRT can still be returned" in too_many.content.decode()
    assert 'value="3"' in too_many.content.decode() and receipt.returns.count() == 0
    done = counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "1", "action": "lines"})
    ret = receipt.returns.get()
    assert done.status_code == 302 and done.url == reverse("checkout_receipt", args=[ret.pk])
    assert ret.total_paid == Decimal("-850.00")
    shown = counter.get(done.url).content.decode()
    assert "Return " + ret.number in shown and "Reversed" in shown and "-849" in shown
    assert counter.post(url, {"token": "r1", f"qty_{shirt.pk}": "1", "action": "lines"}).url == done.url
    assert receipt.returns.count() == 1
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 5000 + 2549 - 849 == ledger_sum(member)  # 849 = 2549 x 850 / 2549.15
    everything = counter.post(url, {"token": "r2", "action": "all"})
    assert everything.status_code == 302 and receipt.returns.count() == 2
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 5000 == ledger_sum(member)
    assert "Return items" not in counter.get(reverse("checkout_receipt", args=[receipt.pk])).content.decode()


def test_receipts_of_other_stores_are_not_shown(counter, chain, member, elite):  # noqa: F811
    other = checkout_post(store=chain.shop2, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)])
    assert counter.get(reverse("checkout_receipt", args=[other.pk])).status_code == 404
    assert counter.get(reverse("checkout_return", args=[other.pk])).status_code == 404
    refused = counter.get(reverse("checkout_find_receipt"), {"number": other.number})
    assert refused.status_code == 200 and 'id="receipt-results"' not in refused.content.decode()
    mine = checkout_post(store=chain.shop, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)])
    found = counter.get(reverse("checkout_find_receipt"), {"number": mine.number.lower()})
    assert found.url == reverse("checkout_receipt", args=[mine.pk])


def test_receipts_are_found_without_the_slip(counter, chain, member, elite):  # noqa: F811
    """Issue 18: by the member's phone, its last four digits, the name, part of the number, the day; never
    another store's receipt."""
    import datetime as dt
    import re

    from django.utils import timezone

    mine = [checkout_post(store=chain.shop, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)])
            for _ in range(3)]
    other = checkout_post(store=chain.shop2, clerk=None, card_number=elite.number, lines=[LineIn("SHIRT", 1)])
    url = reverse("checkout_find_receipt")

    def numbers(**params):
        html = counter.get(url, params).content.decode()
        return set(re.findall(r'<td class="nowrap"><a href="[^"]+">([^<]+)</a>', html))

    from membercare.sales.models import Receipt

    all_mine = set(Receipt.objects.filter(member=member, store=chain.shop).values_list("number", flat=True))
    assert {r.number for r in mine} <= all_mine
    assert numbers(q=member.phone) == all_mine
    assert numbers(q=member.phone[-4:]) == all_mine
    assert numbers(q=member.name) == all_mine
    assert numbers(q=elite.number) == all_mine
    assert numbers(q=mine[1].number[-5:]) == {mine[1].number}  # part of the number
    assert numbers(q="", day=timezone.localdate().isoformat()) == set(Receipt.objects.filter(
        store=chain.shop, sold_at__date=timezone.localdate()).values_list("number", flat=True))
    assert numbers(q="", day=(timezone.localdate() - dt.timedelta(days=1)).isoformat()) == set()
    assert other.number not in numbers(q=member.phone)
    assert 'class="errorlist"' in counter.get(url, {"q": member.phone, "day": "2026-13-40"}).content.decode()
    # the member's timeline links the receipts of the clerk's stores, not the others
    profile = counter.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert reverse("checkout_receipt", args=[mine[0].pk]) in profile
    assert other.number in profile and reverse("checkout_receipt", args=[other.pk]) not in profile


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_tap_posts_once_even_at_the_same_moment(chain, member):  # noqa: F811
    """On PostgreSQL: two posts of the same form in two threads at once give one receipt, the same to both."""
    from django.db import connection
    from django.test import Client

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writes are tested on PostgreSQL")
    barrier, results = threading.Barrier(2), []

    def tap():
        client = Client()
        client.force_login(chain.clerk)
        barrier.wait()
        results.append(client.post(reverse("checkout"), form(chain, phone=member.phone, lines=[("SHIRT", 1)],
                                                             token="same-form", action="post")))
        connections.close_all()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    receipt = Receipt.objects.get(member=member)
    assert [r.status_code for r in results] == [302, 302]
    assert {r.url for r in results} == {reverse("checkout_receipt", args=[receipt.pk])}
    assert ledger_sum(member) == 1000

@pytest.mark.browser
@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")
def test_in_a_browser_the_quote_follows_the_typing_and_post_shows_the_receipt(page, login_as, chain,  # noqa: F811
                                                                              member):  # noqa: F811
    from playwright.sync_api import expect

    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)])
    card = Card.objects.get(member=member)
    page.set_viewport_size({"width": 1280, "height": 800})  # a 10-inch tablet, landscape
    login_as(page, chain.clerk)
    page.goto("/checkout/")
    page.fill("#id_card", card.number)
    expect(page.locator("#member-panel")).to_contain_text("王芳")
    expect(page.locator("#points-balance")).to_have_text("5000")
    page.fill("#id_line-0-sku", "SHIRT")
    page.fill("#id_line-0-quantity", "2")
    expect(page.locator("#to-pay")).to_have_text("¥1700.00")
    page.fill("#id_line-1-sku", "NOPE")
    expect(page.locator("#err-lines")).to_contain_text("NOPE")
    page.fill("#id_line-1-sku", "")
    expect(page.locator("#err-lines")).to_be_empty()
    expect(page.locator("#to-pay")).to_have_text("¥1700.00")
    if os.environ.get("CHECKOUT_SCREENSHOT"):
        page.screenshot(path=os.environ["CHECKOUT_SCREENSHOT"], full_page=True)
    with page.expect_navigation():
        page.click("button[value=post]")
    expect(page.locator("#paid")).to_have_text("¥1700.00")
    receipt = Receipt.objects.filter(member=member).latest("pk")
    assert receipt.total_paid == Decimal("1700.00") and receipt.number in page.locator("#receipt-number").inner_text()
    page.problems.assert_none()


def test_the_receipt_shows_every_adjustment_and_the_new_balance(client, chain, member, elite):  # noqa: F811
    """Issue 18: the card discount, the points offset, the points earned and the balance after the sale, in
    Chinese, and a print button (the 80 mm print stylesheet is app.css's @media print)."""
    from membercare.loyalty.models import LoyaltyAccount

    client.force_login(chain.clerk)
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=elite.number,
                         lines=[LineIn("SHIRT", 2)], redeem_points=1000)
    html = client.get(reverse("checkout_receipt", args=[sale.pk])).content.decode()
    adjustments = dict(re.findall(r"<dt>([^<]+)</dt><dd class=\"adjustment\">−¥([\d.]+)</dd>", html))
    assert set(adjustments) == {"会员卡折扣", "积分抵现"}, adjustments
    assert Decimal(adjustments["积分抵现"]) == sale.points_offset
    assert sale.total_full_price - sum(map(Decimal, adjustments.values())) == sale.total_paid
    balance = re.search(r'id="points-balance">(\d+)<', html).group(1)
    assert int(balance) == LoyaltyAccount.objects.get(member=member).points
    assert "data-print" in html


def test_the_counter_shows_the_progress_to_the_next_card(counter, chain, member, elite):  # noqa: F811
    """Issue 19/22: what the member paid towards the next card, with what is left, beside the tier."""
    html = counter.post(reverse("checkout_quote"), form(chain, card=elite.number)).content.decode()
    panel = re.search(r'<dd id="level-progress">(.*?)</dd>', html, re.S).group(1)
    assert "Diamond card: ¥5000.00 of ¥20000.00 paid in 365 days, ¥15000.00 to go" in panel
    assert "¥15000.00 or more" in panel  # one receipt that large upgrades at once


def test_the_receipt_shows_the_progress_after_the_sale(counter, chain, member, elite):  # noqa: F811
    receipt = Receipt.objects.get()
    html = counter.get(reverse("checkout_receipt", args=[receipt.pk])).content.decode()
    panel = re.search(r'<dd id="level-progress">(.*?)</dd>', html, re.S).group(1)
    assert "Diamond card: ¥5000.00 of ¥20000.00 paid in 365 days, ¥15000.00 to go" in panel
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                  sold_at=dt.datetime(2026, 5, 30, 12, tzinfo=TZ))  # a later sale: this receipt's figure stays
    html = counter.get(reverse("checkout_receipt", args=[receipt.pk])).content.decode()
    assert "¥15000.00 to go" in html


def test_the_quote_and_the_receipt_show_the_points_promotion(counter, chain, member, elite):  # noqa: F811
    from membercare.loyalty.programme import DEFAULT_RULES
    from membercare.loyalty.programme_services import programme_update

    rules = {**DEFAULT_RULES, "points_promotions": [{"name": "会员日双倍积分", "from": "2026-06-01", "to": "2026-06-30",
                                                     "multiplier": "2", "series": ["leather"]}]}
    programme_update(rules=rules, effective_from=dt.date(2026, 6, 1), by=None)
    html = counter.post(reverse("checkout_quote"), form(chain, card=elite.number, lines=[("BELT", 1), ("SHIRT", 1)])
                        ).content.decode()
    # BELT 999 × 0.85 = 849.15 at 2 points per ¥1, SHIRT 850 at 1: floor(1698.30 + 850)
    assert '<dd id="points-earned">2548 <span class="tag" id="points-note">会员日双倍积分 ×2</span></dd>' in html
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=elite.number,
                            lines=[LineIn("BELT", 1)], sold_at=dt.datetime(2026, 6, 1, 9, tzinfo=TZ))
    html = counter.get(reverse("checkout_receipt", args=[receipt.pk])).content.decode()
    assert receipt.points_earned == 1698
    assert '1698 <span class="tag" id="points-note">会员日双倍积分 ×2</span>' in html
