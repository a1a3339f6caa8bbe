"""The card review queue shows, per application, the member's spending against the card's thresholds and why
the application was made (issue 18, item 5), in a few queries whatever the page's length."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.cards import card_apply
from membercare.loyalty.models import CardApplication, ProgrammeVersion
from membercare.loyalty.programme import DEFAULT_RULES
from membercare.loyalty.selectors import application_list, with_spend_context
from tests.factories import MemberFactory
from tests.loyalty import conftest as loyalty_fixtures

chain, member = loyalty_fixtures.chain, loyalty_fixtures.member
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 10, 12, tzinfo=TZ)


def sale(chain, member, sku, quantity, when, store=None):
    return checkout_post(store=store or chain.shop, clerk=chain.clerk, phone=member.phone,
                         lines=[LineIn(sku, quantity)], sold_at=when)


def apply(chain, member, card_kind, note=""):
    return card_apply(member=member, kind=CardApplication.Kind.NEW, card_kind=card_kind, store=chain.shop,
                      by=chain.clerk, note=note)


@pytest.fixture
def history(chain, member):
    """¥3,000 of shirts (business) and a ¥999 belt at the main brand this year, one shirt returned; a coat at
    爵度 (another brand) and ¥4,000 of shirts 14 months ago (outside the 12 months): neither counts for elite."""
    with time_machine.travel(NOW, tick=False):
        sale(chain, member, "SHIRT", 4, NOW - dt.timedelta(days=430))
        shirts = sale(chain, member, "SHIRT", 3, NOW - dt.timedelta(days=40))
        sale(chain, member, "BELT", 1, NOW - dt.timedelta(days=20))
        sale(chain, member, "JDCOAT", 1, NOW - dt.timedelta(days=10), store=chain.jd_shop)
        return_post(original=shirts, lines=[ReturnLineIn(shirts.lines.get().pk, 1)], clerk=chain.clerk,
                    store=chain.shop, at=NOW - dt.timedelta(days=5))
    return shirts


def test_spending_against_each_threshold_of_the_card_applied_for(chain, member, history, specialist):
    with time_machine.travel(NOW, tick=False):
        elite = apply(chain, member, "elite", note="老顾客，下月还会来买西装")
        diamond = apply(chain, member, "diamond")
        apps = {a.card_kind: a for a in with_spend_context(list(application_list(specialist)))}
    spend = apps["elite"].spend
    assert spend.brand == "主品牌" and spend.twelve_months and not spend.qualifies
    checks = {(c.kind, c.series): c for c in spend.checks}
    rolling = checks[("rolling", "")]
    paid = history.total_paid * 2 / 3 + Decimal("999.00")  # two shirts kept, the belt; not 爵度, not last year
    assert rolling.paid == paid.quantize(Decimal("0.01")) and rolling.threshold == Decimal("8000.00")
    assert rolling.short == Decimal("8000.00") - rolling.paid and not rolling.met
    assert checks[("series", "商务系列")].paid == (history.total_paid * 2 / 3).quantize(Decimal("0.01"))
    assert checks[("series", "皮具系列")].paid == Decimal("999.00")
    assert checks[("series", "商务系列")].threshold == Decimal("5000.00")
    # diamond: its rolling rule needs the elite card first; one receipt of ¥15,000 would do
    diamond_checks = {c.kind: c for c in apps["diamond"].spend.checks}
    assert diamond_checks["rolling"].needs_card == "精英卡" and not diamond_checks["rolling"].met
    # the best single receipt is the shirts' net of the returned shirt (¥2,000, not ¥3,000)
    assert diamond_checks["receipt"].paid == (history.total_paid * 2 / 3).quantize(Decimal("0.01"))
    assert apps["diamond"].spend.checks[0].kind == "rolling"

    client_html = _queue_html(specialist)
    row = client_html.split(f'id="app-{elite.pk}"')[1].split("</tr>")[0]
    assert "近12个月在主品牌门店的消费" in row and "未达到精英卡的任何门槛" in row
    assert "累计：¥2999 / ¥8000" in row and "（还差 ¥5001）" in row and "商务系列单张小票最高：¥2000 / ¥5000" in row
    assert f"{chain.clerk}在上海南京西路店申请。" in row and "申请备注：老顾客，下月还会来买西装" in row
    row = client_html.split(f'id="app-{diamond.pk}"')[1].split("</tr>")[0]
    assert "需先持有精英卡" in row
    # the member's cards page lists the same applications with the same context
    assert "累计：¥2999 / ¥8000" in _queue_html(specialist, reverse("card_member", args=[member.pk]))


def _queue_html(user, url: str = ""):
    client = Client()
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(url or reverse("card_applications"))
    assert response.status_code == 200
    return response.content.decode()


def test_an_application_the_rules_proposed_names_its_receipt(chain, member, specialist):
    ProgrammeVersion.objects.create(effective_from=dt.date(2026, 1, 1), created_at=NOW,
                                    rules={**DEFAULT_RULES, "auto_approve_upgrades": False})
    with time_machine.travel(NOW, tick=False):
        receipt = sale(chain, member, "SUIT", 1, NOW - dt.timedelta(days=1))
    app = CardApplication.objects.get(member=member)
    assert app.proposed_by_rules and app.receipt == receipt
    row = _queue_html(specialist).split(f'id="app-{app.pk}"')[1].split("</tr>")[0]
    assert f"系统规则根据小票 {receipt.number}（¥5000，" in row and "上海南京西路店" in row
    assert "达到精英卡的门槛" in row


def test_the_queue_reads_spending_in_a_few_queries_whatever_its_length(chain, specialist, login):
    client = login(specialist)

    def queries(n_members: int) -> int:
        with time_machine.travel(NOW, tick=False):
            for i in range(n_members):
                m = MemberFactory(phone=f"1390000{CardApplication.objects.count():04d}", home_store=chain.shop)
                sale(chain, m, "SHIRT", 1, NOW - dt.timedelta(days=3 + i))
                sale(chain, m, "BELT", 1, NOW - dt.timedelta(days=2 + i))
                apply(chain, m, "elite")
                apply(chain, m, "diamond")
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("card_applications")).status_code == 200
        return len(ctx.captured_queries)

    few = queries(1)
    many = queries(6)
    assert many == few, (few, many)
