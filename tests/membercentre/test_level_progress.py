"""Issue 22 (the electronic card: progress to the next level): per brand the member holds a card of, the next
card, what is paid towards its rolling threshold in the programme's window (returns counted, other brands and
older sales not), the single-receipt thresholds that upgrade at once, and the highest card saying so."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from membercare.loyalty.models import Card, CardKind, CardStatus
from membercare.loyalty.progress import level_progress
from membercare.membercentre.services import session_start
from tests.factories import MemberFactory, ReceiptFactory
from tests.loyalty.conftest import chain  # noqa: F401

NOW = timezone.make_aware(dt.datetime(2026, 6, 1, 12, 0))


def _card(member, kind, brand, number):
    return Card.objects.create(number=number, member=member, kind=kind, status=CardStatus.ACTIVE, brand=brand,
                               issued_at=NOW - dt.timedelta(days=400), activated_at=NOW - dt.timedelta(days=400))


def _paid(member, store, amount, days_ago):
    return ReceiptFactory(member=member, store=store, total_paid=Decimal(amount), total_full_price=abs(Decimal(amount)),
                          sold_at=NOW - dt.timedelta(days=days_ago))


@pytest.fixture
def member(chain):  # noqa: F811
    return MemberFactory(name="林小雨", phone="13912345678", home_store=chain.shop)


def test_an_elite_holder_sees_the_diamond_with_what_counts_in_the_window(chain, member):  # noqa: F811
    _card(member, CardKind.ELITE, chain.main, "E0001")
    _paid(member, chain.shop, "6000.00", 10)
    _paid(member, chain.shop2, "2500.00", 100)  # another store of the brand counts
    _paid(member, chain.shop, "-500.00", 5)  # a return counts against
    _paid(member, chain.shop, "9000.00", 400)  # outside the 365-day window
    _paid(member, chain.jd_shop, "3000.00", 10)  # the other brand's sales do not count
    [step] = level_progress(member, now=NOW)
    assert step.brand_name == "主品牌" and step.current_label == "精英卡"
    assert step.next_label == "钻石卡" and step.window_days == 365
    assert step.paid == Decimal("8000.00") and step.goal == Decimal("20000.00")
    assert step.short == Decimal("12000.00") and step.percent == 40
    assert step.single_receipt == Decimal("15000.00") and step.by_series == []


def test_a_member_without_a_card_sees_the_first_card_with_its_series_thresholds(chain, member):  # noqa: F811
    _paid(member, chain.shop, "9000.00", 30)
    [step] = level_progress(member, now=NOW)
    assert step.current_label == "" and step.next_label == "精英卡"
    assert step.paid == Decimal("9000.00") and step.short == 0 and step.percent == 100
    assert step.by_series == [("商务系列", Decimal("5000.00")), ("皮具系列", Decimal("3000.00")),
                              ("高尔夫系列", Decimal("3000.00"))]


def test_the_highest_card_has_no_next_and_each_brand_is_its_own(chain, member):  # noqa: F811
    _card(member, CardKind.DIAMOND, chain.main, "D0001")
    _card(member, CardKind.ELITE, chain.main, "E0002")  # the best card of the brand decides
    _card(member, CardKind.ACCUMULATION, chain.juedu, "A0001")
    _paid(member, chain.jd_shop, "-100.00", 3)  # a window below zero shows as nothing paid
    main, juedu = level_progress(member, now=NOW)
    assert (main.brand_name, main.current_label, main.next_label) == ("主品牌", "钻石卡", None)
    assert (juedu.brand_name, juedu.current_label, juedu.next_label) == ("爵度", "累积卡", "骑士卡")
    assert juedu.paid == 0 and juedu.goal == Decimal("8000.00") and juedu.single_receipt == Decimal("3000.00")


def test_the_card_page_shows_the_progress_in_chinese(client, chain, member):  # noqa: F811
    _card(member, CardKind.ELITE, chain.main, "E0003")
    _paid(member, chain.shop, "8000.00", 20)
    key = session_start(member=member)
    client.cookies["mc_member"] = key
    html = client.get("/m/card/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "升级进度" in html and "钻石卡" in html
    # the window is the programme's, ending now (the receipt above is within it whatever today is)
    assert "再消费 ¥12000.00 即可升级为钻石卡" in html
    assert "满 ¥15000.00" in html


def test_the_profile_shows_the_progress_for_the_staff(client, chain, member):  # noqa: F811
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    _card(member, CardKind.ELITE, chain.main, "E0004")
    _paid(member, chain.shop, "8000.00", 20)
    client.force_login(StaffFactory(role=Role.CLERK, stores=[chain.shop]))
    html = client.get(f"/members/{member.pk}/").content.decode()
    assert "升级进度" in html and "钻石卡：近 365 天已消费 ¥8000.00 / ¥20000.00，还差 ¥12000.00" in html


def test_the_card_page_calls_out_points_expiring_within_the_setting(client, chain, member, settings):  # noqa: F811
    from membercare.loyalty.models import LoyaltyAccount, PointsEntry

    LoyaltyAccount.objects.create(member=member, points=300)
    PointsEntry.objects.create(member=member, kind=PointsEntry.Kind.EARN, points=300, remaining=300, created_at=NOW,
                               expires_on=timezone.localdate() + dt.timedelta(days=20))
    client.cookies["mc_member"] = session_start(member=member)
    settings.MEMBERCARE_POINTS_EXPIRING_DAYS = 30
    assert "300 积分将于" in client.get("/m/card/").content.decode()
    settings.MEMBERCARE_POINTS_EXPIRING_DAYS = 10
    assert "300 积分将于" not in client.get("/m/card/").content.decode()


def test_a_member_session_lasts_the_setting(chain, member, settings):  # noqa: F811
    from membercare.membercentre.models import MemberSession

    settings.MEMBERCARE_MEMBER_SESSION_DAYS = 7
    session_start(member=member, now=NOW)
    assert MemberSession.objects.get().expires_at == NOW + dt.timedelta(days=7)
