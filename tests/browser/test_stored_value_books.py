"""In a real browser at 1024x768 (zh-CN): HQ opens the stored-value books (liability per store and brand, the
day's movements) and the dashboard's stored-value tiles. Screenshots go to $SV_SCREENSHOTS when set."""

from decimal import Decimal

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.org.models import Role
from membercare.storedvalue.topup import top_up
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.browser.test_stored_value_flow import shot
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401


def test_hq_reads_the_stored_value_books_and_the_dashboard_tiles(page, login_as, chain, member):  # noqa: F811
    payment_methods_ensure_default()  # a database flushed by an earlier transactional test has the till's methods again
    hq = StaffFactory(username="hq_books", role=Role.SPECIALIST)
    top_up(member=member, amount=Decimal("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk)
    top_up(member=member, amount=Decimal("500.00"), method="cash", store=chain.shop2, by=hq)
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, hq)
    page.goto("/stored-value/finance/")
    assert page.locator("[data-figure=liability]").inner_text() == "¥1,600.00"
    assert "储值账目" in page.locator("h1").inner_text()
    shot(page, "books")
    page.goto("/analytics/")
    tile = page.locator(".an-tile[data-key=sv_top_ups]")
    tile.scroll_into_view_if_needed()
    assert tile.locator(".value").inner_text() == "¥1,500.00"
    shot(page, "dashboard-tile")
    page.problems.assert_none()
