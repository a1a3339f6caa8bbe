"""The HQ dashboard in a real browser: every chart is drawn by the locally served Chart.js (no CDN), with
no failed request or JavaScript error, and a chart's data downloads as CSV."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from membercare.analytics.facts import analytics_refresh
from membercare.org.models import Role
from tests.factories import MemberFactory, ReceiptFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_hq_dashboard_draws_its_charts_locally(page, login_as, live_server):
    store = StoreFactory(code="SH01", name="上海南京路店")
    now = timezone.now()
    for i in range(3):
        member = MemberFactory(home_store=store, created_at=now - dt.timedelta(days=40 * i + 1))
        ReceiptFactory(member=member, store=store, sold_at=now - dt.timedelta(days=30 * i + 1),
                       total_paid=Decimal("800.00"), total_full_price=Decimal("1000.00"))
    analytics_refresh()
    hq = StaffFactory(username="hq_browser", role=Role.SPECIALIST)
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    login_as(page, hq)
    page.goto("/analytics/?period=last_12m")
    assert page.locator("figure.an-chart canvas").count() >= 3
    page.wait_for_function("() => window.Chart && [...document.querySelectorAll('figure.an-chart canvas')]"
                           ".every(c => window.Chart.getChart(c))")  # every chart drawn
    with page.expect_download() as download:
        page.locator("figure.an-chart [data-csv]").first.click()
    assert download.value.suggested_filename.endswith(".csv")
    assert all(url.startswith((live_server.url, "data:", "blob:")) for url in requested), requested  # no CDN
    page.problems.assert_none()
