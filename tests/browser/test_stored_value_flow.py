"""In a real browser at 1024x768: the clerk tops up a member's stored value on the profile, then sells with
stored value split with cash at the counter. Screenshots go to $SV_SCREENSHOTS when set (to look at)."""

import os
from decimal import Decimal
from pathlib import Path

from membercare.sales.models import Receipt
from membercare.storedvalue.models import StoredValueCard
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.loyalty.conftest import chain, member  # noqa: F401


def shot(page, name):  # noqa: F811
    folder = os.environ.get("SV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def test_top_up_on_the_profile_then_pay_with_stored_value_at_the_counter(page, login_as, chain, member):  # noqa: F811
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, chain.clerk)
    page.goto(f"/members/{member.pk}/#stored-value")
    page.fill("#top-up-form input[name=amount]", "1000.00")
    page.check("#top-up-form input[value=wechat_pay]")
    with page.expect_navigation():
        page.click("#top-up-form button[type=submit]")
    page.locator("#stored-value").scroll_into_view_if_needed()
    assert page.locator("#stored-value [data-balance]").inner_text() == "¥1100.00"
    assert "已充值" in page.locator(".messages").inner_text()
    shot(page, "1-profile-top-up")

    page.goto(f"/checkout/?phone={member.phone}")
    page.fill("input[name=line-0-sku]", "SHIRT")
    page.fill("input[name=line-0-quantity]", "1")
    page.locator("#stored-value-balance").wait_for()
    assert "¥1100.00" in page.locator("#stored-value-balance").inner_text()
    page.locator("button[name=action][value=post]:not([disabled])").wait_for()
    page.fill("input[name=stored_value_amount]", "300.00")
    page.check("input[name=payment_method][value=cash]")
    page.locator("#stored-value-split").scroll_into_view_if_needed()
    shot(page, "2-checkout-split")
    with page.expect_navigation():
        page.click("button[name=action][value=post]")
    shot(page, "3-receipt")
    receipt = Receipt.objects.get(member=member)
    assert {p.method.code: p.amount for p in receipt.payments.all()} == {"stored_value": Decimal("300.00"),
                                                                          "cash": Decimal("700.00")}
    assert StoredValueCard.objects.get(member=member).balance == Decimal("800.00")
    page.problems.assert_none()
