"""The counter page like a POS (issue 18): a scanner or a typed SKU adds items without posting, a product
search, sales without a member, the payment method, the member's coupons and the most points offered, and the
receipt finder offering returns only where something is left to return."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, return_post
from membercare.sales.models import Product, Receipt
from tests.campaigns.conftest import give, make_batch  # noqa: F401
from tests.loyalty.conftest import chain, member  # noqa: F401
from tests.web.test_checkout_views import TZ, counter, elite, err, form, today  # noqa: F401


@pytest.fixture
def barcodes(chain):  # noqa: F811
    Product.objects.filter(sku="SHIRT").update(barcode="6901234567809")


def lines_in(html: str) -> list[tuple[str, str]]:
    """(SKU, quantity) of the basket's filled rows, as the page shows them."""
    skus = dict(re.findall(r'name="line-(\d+)-sku"[^>]*value="([^"]*)"', html))
    qtys = dict(re.findall(r'name="line-(\d+)-quantity"[^>]*value="([^"]*)"', html))
    return [(skus[i], qtys.get(i, "")) for i in sorted(skus, key=int) if skus[i]]


def test_a_scanners_enter_adds_the_item_and_never_posts(counter, chain, member, barcodes):  # noqa: F811
    # the scanner types the barcode and presses Enter: the form's first button (identify) is what the browser sends
    response = counter.post(reverse("checkout"), form(chain, phone=member.phone, scan="6901234567809\r\n",
                                                      action="identify"))
    html = response.content.decode()
    assert response.status_code == 200 and lines_in(html) == [("SHIRT", "1")]
    assert re.search(r'name="scan"[^>]*value=""[^>]*autofocus', html.replace("\n", " "))
    data = form(chain, phone=member.phone, lines=[("SHIRT", 1)], scan="shirt", action="post")
    again = counter.post(reverse("checkout"), data)  # a scan pending: the sale is not posted, the unit is added
    assert again.status_code == 200 and lines_in(again.content.decode()) == [("SHIRT", "2")]
    assert not Receipt.objects.exists()


def test_an_unknown_code_is_refused_next_to_the_box_and_a_name_part_lists_products(counter, chain, member):  # noqa: F811
    html = counter.post(reverse("checkout"), form(chain, scan="XYZ-404", action="identify")).content.decode()
    assert "No product has the SKU or barcode “XYZ-404”." in err(html, "scan") and lines_in(html) == []
    html = counter.post(reverse("checkout"), form(chain, scan="衫", action="identify")).content.decode()
    assert re.findall(r'name="pick" value="([^"]+)"', html) == ["POLO", "SHIRT"] and lines_in(html) == []
    picked = counter.post(reverse("checkout"), form(chain, lines=[("SUIT", 1)], pick="POLO", action="identify"))
    assert lines_in(picked.content.decode()) == [("SUIT", "1"), ("POLO", "1")]


def test_the_live_product_search(counter, chain):  # noqa: F811
    html = counter.get(reverse("checkout_products"), {"scan": "jd"}).content.decode()
    assert re.findall(r'name="pick" value="([^"]+)"', html) == ["JDCOAT", "JDTEE"] and "¥3000.00" in html
    none = counter.get(reverse("checkout_products"), {"scan": "nothing-like-it"}).content.decode()
    assert "No product matches" in none and 'name="pick"' not in none


def test_a_sale_without_a_member_is_posted_with_its_payment_method(counter, chain):  # noqa: F811
    page = counter.get(reverse("checkout")).content.decode()
    assert 'name="walk_in"' in page and re.findall(r'name="payment_method" value="([^"]+)"', page) == [
        "cash", "bank_card", "wechat_pay", "alipay"]
    quote = counter.post(reverse("checkout_quote"), form(chain, walk_in="on", lines=[("SUIT", 1)])).content.decode()
    assert "Sale without a member" in quote and '<dd class="total" id="to-pay">¥5000.00</dd>' in quote
    refused = counter.post(reverse("checkout"), form(chain, walk_in="on", lines=[("SUIT", 1)], redeem_points=10,
                                                     action="post"))
    assert refused.status_code == 422 and "for members" in err(refused.content.decode(), "redeem_points")
    response = counter.post(reverse("checkout"), form(chain, walk_in="on", lines=[("SUIT", 1)],
                                                      payment_method="wechat_pay", action="post", token="tok-2"))
    receipt = Receipt.objects.get()
    assert response.status_code == 302 and receipt.member_id is None and receipt.total_paid == Decimal("5000.00")
    assert list(receipt.payments.values_list("method__code", "amount")) == [("wechat_pay", Decimal("5000.00"))]
    html = counter.get(response.url).content.decode()
    assert 'id="no-member"' in html and '<dt>微信支付</dt><dd class="payment">¥5000.00</dd>' in html


def test_the_members_coupons_and_the_most_points_are_offered_and_taken(counter, chain, member, elite,  # noqa: F811
                                                                       make_batch, give):  # noqa: F811
    coupon = give(make_batch(value=Decimal("100"), stacks_with_tier=True))
    other_brand = give(make_batch(brand=chain.juedu, name="爵度券"))
    html = counter.post(reverse("checkout_quote"),
                        form(chain, card=elite.number, lines=[("SHIRT", 1)])).content.decode()
    offered = re.findall(r'value="coupon:([^"]+)"', html)
    assert offered == [coupon.code[:4] + "-" + coupon.code[4:8] + "-" + coupon.code[8:]]
    assert other_brand.code[:4] not in "".join(offered)
    most = int(re.search(r'value="points:(\d+)"', html).group(1))
    assert most == 5000  # ¥850 × half = ¥425 = 42,500 points, within the balance of 5,000
    taken = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                   action=f"coupon:{offered[0]}")).content.decode()
    assert 'id="coupon-discount">−¥100.00' in taken and f'value="{offered[0]}"' in taken
    assert "value=\"coupon:" not in taken  # the coupon in use is not offered again
    points = counter.post(reverse("checkout"), form(chain, card=elite.number, lines=[("SHIRT", 1)],
                                                    action=f"points:{most}")).content.decode()
    assert f'name="redeem_points" value="{most}"' in points and "−¥50.00" in points


def test_the_finder_offers_a_return_only_while_something_is_left(counter, chain, member):  # noqa: F811
    from membercare.checkout.pipeline import checkout_post

    kept = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                         sold_at=dt.datetime(2026, 5, 30, 12, tzinfo=TZ))
    gone = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("BELT", 1)],
                         sold_at=dt.datetime(2026, 5, 31, 12, tzinfo=TZ))
    return_post(original=gone, lines=None, clerk=chain.clerk, store=chain.shop)
    html = counter.get(reverse("checkout_find_receipt"), {"q": member.phone}).content.decode()
    returnable = re.findall(r'href="/checkout/receipts/(\d+)/return/"', html)
    assert returnable == [str(kept.pk)]


def test_an_exchange_returns_then_opens_a_sale_for_the_same_customer(counter, chain, member):  # noqa: F811
    from membercare.checkout.pipeline import checkout_post

    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                            sold_at=dt.datetime(2026, 5, 30, 12, tzinfo=TZ))
    page = counter.get(reverse("checkout_receipt", args=[receipt.pk])).content.decode()
    assert f'href="/checkout/receipts/{receipt.pk}/return/?exchange=1"' in page
    assert 'name="exchange" id="id_exchange" checked' in counter.get(
        reverse("checkout_return", args=[receipt.pk]), {"exchange": "1"}).content.decode()
    line = receipt.lines.get()
    response = counter.post(reverse("checkout_return", args=[receipt.pk]), {
        f"qty_{line.pk}": "1", "action": "lines", "exchange": "on", "token": "ex-1"})
    assert Receipt.objects.filter(original=receipt).count() == 1
    assert response.status_code == 302 and response.url == f"/checkout/?card={receipt.card_number}"
    sale = counter.get(response.url).content.decode()
    assert f'name="card" value="{receipt.card_number}"' in sale
    walk_in = checkout_post(store=chain.shop, clerk=chain.clerk, walk_in=True, lines=[LineIn("BELT", 1)])
    response = counter.post(reverse("checkout_return", args=[walk_in.pk]), {"action": "all", "exchange": "on"})
    assert response.url == "/checkout/?walk_in=1"
    assert re.search(r'<input type="checkbox" name="walk_in"[^>]*checked>', counter.get(response.url).content.decode())
