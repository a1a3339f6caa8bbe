"""A level bought with points where the programme allows it (seed 003: 积分可以……升级会员等级)."""

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import Card, CardApplication, LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum, lock_account, points_earn
from membercare.loyalty.points_upgrade import points_upgrades, upgrade_with_points
from membercare.loyalty.programme import DEFAULT_RULES, parse_programme
from membercare.loyalty.programme_services import programme_update

from .test_concurrency import _postgres_only, run_together

TZ = ZoneInfo("Asia/Shanghai")
PRICE = 20000


def _rules(price=PRICE):
    doc = copy.deepcopy(DEFAULT_RULES)
    for tier in doc["tiers"]:
        if tier["code"] == "diamond":
            tier["upgrade_points"] = price
    return doc


@pytest.fixture
def priced(specialist):
    with time_machine.travel(dt.datetime(2026, 1, 1, 9, tzinfo=TZ), tick=False):
        programme_update(rules=_rules(), effective_from=dt.date(2026, 1, 1), by=specialist)


@pytest.fixture
def elite(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 2, 1, 12, tzinfo=TZ))  # ¥5,000 of business wear: elite, 5,000 points
    return Card.objects.get(member=member)


def _give(member, points, specialist):
    """Points earned outside a sale (a manual adjustment is capped by the programme), as one lot."""
    with transaction.atomic():
        points_earn(lock_account(member), points, expires_on=None, reason="测试")


def test_the_level_is_bought_with_points_and_the_card_keeps_its_number(chain, member, elite, priced, specialist):
    _give(member, PRICE, specialist)
    when = dt.datetime(2026, 3, 1, 12, tzinfo=TZ)
    [offer] = points_upgrades(member, balance=LoyaltyAccount.objects.get(member=member).points)
    assert (offer.tier.code, offer.points, offer.affordable, offer.card.number) == ("diamond", PRICE, True,
                                                                                    elite.number)
    card = upgrade_with_points(member=member, card_number=elite.number, tier_code="diamond", store=chain.shop,
                               by=chain.clerk, at=when)
    card.refresh_from_db()
    assert (card.number, card.kind, card.previous_kind) == (elite.number, "diamond", "elite")
    account = LoyaltyAccount.objects.get(member=member)
    assert account.points == 5000 == ledger_sum(member)
    entry = PointsEntry.objects.get(member=member, kind="redeem")
    assert entry.points == -PRICE and "钻石卡" in entry.reason
    app = CardApplication.objects.get(member=member, card_kind="diamond")
    assert app.status == "done" and app.filed_by == chain.clerk and "20,000" in app.note
    assert points_upgrades(member, balance=account.points) == []  # nothing above diamond for points


@pytest.mark.parametrize(("setup", "code"), [
    ("short", "upgrade_points_short"),
    ("not_for_points", "upgrade_not_for_points"),
    ("no_card", "upgrade_no_card"),
])
def test_refusals_say_why_and_write_nothing(chain, member, elite, priced, specialist, setup, code):
    if setup != "short":
        _give(member, PRICE, specialist)
    number, tier = elite.number, "diamond"
    if setup == "not_for_points":
        tier = "knight"
    if setup == "no_card":
        number = "E9999999"
    before = (PointsEntry.objects.count(), CardApplication.objects.count(), LoyaltyAccount.objects.get(
        member=member).points)
    with pytest.raises(CheckoutError) as exc:
        upgrade_with_points(member=member, card_number=number, tier_code=tier, store=chain.shop, by=chain.clerk)
    assert exc.value.error_code == code and any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.text)
    assert (PointsEntry.objects.count(), CardApplication.objects.count(), LoyaltyAccount.objects.get(
        member=member).points) == before
    assert Card.objects.get(pk=elite.pk).kind == "elite"


def test_the_price_is_bounded_and_named():
    for bad in (0, -5, "abc", True, 10_000_001):
        with pytest.raises(ValidationError) as exc:
            parse_programme(_rules(price=bad))
        assert any(k.endswith(".upgrade_points") for k in exc.value.message_dict), bad
    assert parse_programme(_rules(price="")).tier("diamond").upgrade_points is None


def test_the_profile_offers_it_and_the_editor_sets_it(client, chain, member, elite, priced, specialist):
    _give(member, PRICE, specialist)
    client.force_login(chain.clerk)
    page = client.get(reverse("member_detail", args=[member.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "可用 20000 积分升级为钻石卡" in page and "积分升级</button>" in page
    page = client.get(client.post(reverse("member_points_upgrade", args=[member.pk]),
                                  {"card": elite.number, "tier": "diamond"})["Location"],
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"会员卡 {elite.number} 已升级为钻石卡。" in page
    assert Card.objects.get(pk=elite.pk).kind == "diamond"


@pytest.mark.django_db(transaction=True)
def test_two_counters_buying_at_once_spend_the_points_once(chain, member, elite, specialist):
    _postgres_only()
    with time_machine.travel(dt.datetime(2026, 1, 1, 9, tzinfo=TZ), tick=False):
        programme_update(rules=_rules(), effective_from=dt.date(2026, 1, 1), by=specialist)
    _give(member, PRICE, specialist)  # 25,000: enough for one upgrade only
    jobs = [lambda i=i: upgrade_with_points(member=member, card_number=elite.number, tier_code="diamond",
                                            store=(chain.shop, chain.shop2)[i % 2], by=chain.clerk)
            for i in range(6)]
    results = run_together(jobs)
    won = [r for r in results if isinstance(r, Card)]
    assert len(won) == 1, results
    assert all(isinstance(r, CheckoutError) for r in results if not isinstance(r, Card)), results
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*), COALESCE(SUM(points), 0) FROM loyalty_pointsentry "
                    "WHERE member_id = %s AND kind = 'redeem'", [member.pk])
        assert cur.fetchone() == (1, -PRICE)
    assert LoyaltyAccount.objects.get(member=member).points == 5000 == ledger_sum(member)
    assert CardApplication.objects.filter(member=member, card_kind="diamond").count() == 1
