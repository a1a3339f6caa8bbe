"""The stored-value books page: HQ sees the chain, a manager their stores only, a clerk is refused; the
liability per store and brand at the end of the chosen day, the day's movements, the .xlsx (the project's
writer), the reconciliation's alarm."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from membercare.org.models import Role
from membercare.storedvalue.reconcile import reconcile
from membercare.storedvalue.topup import top_up
from tests.factories import StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
DAY = dt.date(2026, 6, 1)


@pytest.fixture
def books(chain, member, hq):
    top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
           at=dt.datetime(2026, 6, 1, 10, tzinfo=TZ))
    top_up(member=member, amount=D("200.00"), method="cash", store=chain.shop2, by=hq,
           at=dt.datetime(2026, 6, 1, 11, tzinfo=TZ))
    return chain


def test_a_clerk_is_refused(client, books):
    client.force_login(books.clerk)
    assert client.get(reverse("stored_value_finance")).status_code == 403


def test_hq_sees_the_chain_per_store_and_brand_and_the_days_movements(client, books, hq):
    client.force_login(hq)
    html = client.get(reverse("stored_value_finance"), {"day": "2026-06-01"}).content.decode()
    assert books.shop.name in html and books.shop2.name in html
    assert 'data-figure="liability">¥1,300.00' in html and 'data-figure="sv_top_ups">¥1,200.00' in html
    before = client.get(reverse("stored_value_finance"), {"day": "2026-05-31"}).content.decode()
    assert 'data-figure="liability">¥0.00' in before


def test_a_manager_sees_their_stores_only(client, books):
    manager = StaffFactory(username="m1", role=Role.MANAGER, stores=[books.shop2])
    client.force_login(manager)
    html = client.get(reverse("stored_value_finance"), {"day": "2026-06-01"}).content.decode()
    assert books.shop2.name in html and books.shop.name not in html
    assert 'data-figure="liability">¥200.00' in html


def test_a_bad_or_future_day_is_said_and_today_shown(client, books, hq):
    client.force_login(hq)
    response = client.get(reverse("stored_value_finance"), {"day": "2026-13-01"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and "不是日期" in response.content.decode()
    response = client.get(reverse("stored_value_finance"), {"day": "2999-01-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "cannot be in the future" in response.content.decode()


def test_the_xlsx_holds_the_liability_and_the_movements(client, books, hq):
    client.force_login(hq)
    response = client.get(reverse("stored_value_finance"), {"day": "2026-06-01", "format": "xlsx"})
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    stores = list(book.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in stores] == ["BJ01", "SH01", None]  # the total row has no code
    assert [float(r[4]) for r in stores] == [200.0, 1100.0, 1300.0]
    kinds = {r[0]: r for r in book.worksheets[2].iter_rows(min_row=2, values_only=True)}
    assert len(kinds) == 8 and float(next(iter(kinds.values()))[1]) == 1200.0


def test_a_reconciliation_difference_is_a_warning_on_the_page(client, books, hq, member):
    client.force_login(hq)
    reconcile()
    assert "reconciliation-alarm" not in client.get(reverse("stored_value_finance")).content.decode()
    with connection.cursor() as cur:
        cur.execute("UPDATE storedvalue_storedvaluecard SET principal = principal - 1")
    reconcile()
    html = client.get(reverse("stored_value_finance")).content.decode()
    assert "reconciliation-alarm" in html
    # the reconciliation's chain-wide totals are HQ's: a store manager's page does not show them
    client.force_login(StaffFactory(username="m2", role=Role.MANAGER, stores=[books.shop2]))
    page = client.get(reverse("stored_value_finance"))
    assert page.status_code == 200 and page.context["run"] is None
    assert "reconciliation-alarm" not in page.content.decode()
