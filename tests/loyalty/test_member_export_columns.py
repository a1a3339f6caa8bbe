"""The member export carries the card level (its Chinese name), the points balance and the spend over the last 12
months and in all (issue 18, item 5), computed in the export's one member query, never a query per member."""

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from membercare.checkout.pipeline import ReturnLineIn, return_post
from membercare.loyalty.models import LoyaltyAccount
from membercare.members.exports import export_headers, export_members
from tests.factories import MemberFactory

from .test_checkout import at, buy

NOW = at(2026, 6, 10)
HEADERS = ["会员卡等级", "积分余额", "近12个月消费（元）", "累计消费（元）"]


def read(out):
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    return list(rows[0]), [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def shopping(chain, member):
    """王芳: ¥1,000 of shirts 14 months ago; a ¥5,000 suit (elite card) and two shirts at 8.5折 this year, one
    of them returned; 李雷: never bought."""
    with time_machine.travel(NOW, tick=False):
        buy(chain, lines=[("SHIRT", 1)], when=NOW - dt.timedelta(days=420))
        buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))
        shirts = buy(chain, lines=[("SHIRT", 2)], when=at(2026, 5, 1))
        return_post(original=shirts, lines=[ReturnLineIn(shirts.lines.get().pk, 1)], clerk=chain.clerk,
                    store=chain.shop, at=at(2026, 5, 3))
    return MemberFactory(name="李雷", phone="13900002222", home_store=chain.shop)


def test_card_level_points_and_spend_in_the_export(chain, member, shopping, specialist):
    with time_machine.travel(NOW, tick=False), translation.override("zh-hans"):
        header, rows = read(export_members(specialist)[0])
        name = export_headers()[1]
    assert header[9:13] == HEADERS  # after the registration store
    by_name = {r[name]: r for r in rows}
    wang, li = by_name["王芳"], by_name["李雷"]
    assert wang["会员卡等级"] == "精英卡"
    assert wang["积分余额"] == LoyaltyAccount.objects.get(member=member).points > 0
    assert Decimal(str(wang["近12个月消费（元）"])) == Decimal("5850.00")  # 5000 + 2 × 850 − 850
    assert Decimal(str(wang["累计消费（元）"])) == Decimal("6850.00")  # and the shirt 14 months ago
    assert (li["会员卡等级"], li["积分余额"], li["近12个月消费（元）"], li["累计消费（元）"]) == (None, 0, 0, 0)
    with translation.override("en"):
        assert export_headers()[9:13] == ["Card level", "Points balance", "Spend, last 12 months (yuan)",
                                          "Spend, all time (yuan)"]


def test_a_void_or_expired_card_is_not_the_members_level(chain, member, shopping, specialist):
    member.cards.update(valid_until=dt.date(2026, 1, 1))  # expired (an accumulation card's year, say)
    with time_machine.travel(NOW, tick=False):
        _header, rows = read(export_members(specialist)[0])
    assert {r[export_headers()[1]]: r[export_headers()[9]] for r in rows}["王芳"] is None


def test_the_export_reads_its_columns_in_the_same_queries_for_any_number_of_members(chain, specialist):
    def queries() -> int:
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            export_members(specialist)
        return len(ctx.captured_queries)

    with time_machine.travel(NOW, tick=False):
        for i in range(2):
            buy(chain, phone=MemberFactory(phone=f"1370000000{i}", home_store=chain.shop).phone,
                lines=[("SHIRT", 1)], when=at(2026, 5, 1 + i))
    few = queries()
    with time_machine.travel(NOW, tick=False):
        for i in range(2, 9):
            buy(chain, phone=MemberFactory(phone=f"1370000000{i}", home_store=chain.shop).phone,
                lines=[("SHIRT", 1)], when=at(2026, 5, 1 + i))
    assert queries() == few
