"""The counter like a POS, in Chromium at 1024×768 (issue 18's acceptance): a scanner types a barcode and
presses Enter, the clerk takes the member's coupon and the most points offered, picks the payment method and
posts; the receipt shows each adjustment, the payment and the new points balance and prints on 80 mm paper; the
sale is found again by the member's phone and returned; a sale without a member brings the members' share of
sales below 100 %."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from membercare.analytics.facts import refresh_store_days
from membercare.analytics.measures import sales_summary
from membercare.analytics.scope import Scope
from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import LoyaltyAccount
from membercare.sales.models import Product, Receipt
from tests.campaigns.conftest import give, make_batch  # noqa: F401
from tests.loyalty.conftest import chain, member  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]

BARCODE = "6901234567809"  # the shirt's


def scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code fast into the focused box, then Enter."""
    box = page.locator("#id_scan")
    box.click()
    box.press_sequentially(code, delay=5)
    with page.expect_navigation():
        box.press("Enter")


def test_a_sale_with_scanner_coupon_and_points_prints_and_is_returned_by_phone(page, login_as, chain, member,  # noqa: F811
                                                                               make_batch, give):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1024, "height": 768})
    Product.objects.filter(sku="SHIRT").update(barcode=BARCODE)
    today = timezone.localdate()
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=timezone.now() - dt.timedelta(days=3))  # an elite card and 5,000 points
    coupon = give(make_batch(value=Decimal("100"), stacks_with_tier=True, valid_from=today,
                             valid_to=today + dt.timedelta(days=30)))
    login_as(page, chain.clerk)

    page.goto("/checkout/")
    assert page.locator("header.top").bounding_box()["height"] <= 64
    page.fill("#id_phone", member.phone)
    scan(page, BARCODE)
    expect(page.locator("input[name=line-0-sku]")).to_have_value("SHIRT")
    assert not Receipt.objects.filter(store=chain.shop, sold_at__date=today).exists()  # Enter never posts
    scan(page, BARCODE)  # a second scan: one more unit on the same line
    expect(page.locator("input[name=line-0-quantity]")).to_have_value("2")

    offers = page.locator("#offers")
    expect(offers).to_be_visible()
    with page.expect_navigation():
        offers.locator(f"[data-coupon='{coupon.code[:4]}-{coupon.code[4:8]}-{coupon.code[8:]}']").click()
    expect(page.locator("#coupon-discount")).to_contain_text("¥100.00")
    with page.expect_navigation():
        page.click("#use-most-points")
    expect(page.locator("#id_redeem_points")).to_have_value("5000")
    page.locator("label.pay", has_text="微信支付").click()
    expect(page.locator("#to-pay")).to_have_text("¥1550.00")  # 2 × 850 − 100 (coupon) − 50 (5,000 points)
    with page.expect_navigation():
        page.click("button[name=action][value=post]")

    receipt = Receipt.objects.get(member=member, coupon_redemption__isnull=False)
    assert receipt.total_paid == Decimal("1550.00") and receipt.points_redeemed == 5000
    main = page.locator("main")
    for label, amount in (("会员卡折扣", "300.00"), ("优惠券", "100.00"), ("积分抵现", "50.00")):
        expect(main.locator("dt", has_text=label).first).to_be_visible()
        expect(main).to_contain_text(f"−¥{amount}")
    expect(page.locator(".payment")).to_have_text("¥1550.00")
    expect(main.locator("dt", has_text="微信支付")).to_be_visible()
    balance = LoyaltyAccount.objects.get(member=member).points
    expect(page.locator("#points-balance")).to_have_text(str(balance))
    # the print layout: the receipt alone, 80 mm wide
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#receipt-number")).to_be_visible()
    page.emulate_media(media="screen")

    # the member comes back without the slip: found by the phone from the checkout page's box
    page.goto("/checkout/")
    page.fill("input[name=q]", member.phone)
    with page.expect_navigation():
        page.locator("input[name=q]").press("Enter")
    row = page.locator("tr", has_text=receipt.number)
    expect(row).to_be_visible()
    with page.expect_navigation():
        row.locator("a.btn").click()
    with page.expect_navigation():
        page.click("button[name=action][value=all]")
    ret = Receipt.objects.get(original=receipt)
    assert ret.total_paid == Decimal("-1550.00")
    assert list(ret.payments.values_list("method__code", "amount")) == [("wechat_pay", Decimal("-1550.00"))]
    page.problems.assert_none()


def test_a_sale_without_a_member_brings_the_members_share_below_100_percent(page, login_as, chain, member):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1024, "height": 768})
    today = timezone.localdate()
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 3)])
    scope = Scope((chain.shop.pk,), today, today)
    refresh_store_days(rebuild=True)
    assert sales_summary(scope)["vip_share"] == Decimal("1")

    login_as(page, chain.clerk)
    page.goto("/checkout/")
    page.check("#id_walk_in")
    scan(page, "shirt")
    expect(page.locator("#member-panel")).to_contain_text("非会员销售")
    with page.expect_navigation():
        page.click("button[name=action][value=post]")
    expect(page.locator("#no-member")).to_have_text("非会员销售")
    expect(page.locator(".payment")).to_have_text("¥1000.00")  # cash, the first method, preselected

    refresh_store_days(rebuild=True)
    share = sales_summary(scope)["vip_share"]
    assert share == Decimal("0.75")
    page.problems.assert_none()
