"""Perks that are entitlements (issue 19 part 1): programme data, uses counted per period, refused past the quota."""

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import CheckoutError, LineIn, basket_quote, checkout_post, identify, return_post
from membercare.loyalty.models import Card, PerkUse
from membercare.loyalty.perks import period_of, perk_use, perk_use_reverse, perks_left
from membercare.loyalty.programme import DEFAULT_RULES, parse_programme
from membercare.loyalty.programme_services import normalize_rules, programme_update

from .test_checkout import at, buy

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def elite(chain, member):
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))  # ¥5,000 of business wear: elite card
    return Card.objects.get(member=member)


def use(chain, member, code="alteration", when=None, store=None):
    return perk_use(member=member, perk_code=code, store=store or chain.shop, clerk=chain.clerk,
                    at=when or at(2026, 5, 10))


# ------------------------------------------------------------------------------------------- programme data


def test_default_programme_has_seed_001_perks():
    programme = parse_programme(DEFAULT_RULES)
    elite, diamond, knight = (programme.tier(c) for c in ("elite", "diamond", "knight"))
    assert [(p.code, p.name, p.quota, p.period) for p in elite.perks] == [("alteration", "免费改衣", 2, "season")]
    assert [(p.code, p.quota, p.period) for p in knight.perks] == [("alteration", 2, "season")]
    assert {p.code: (p.name, p.quota, p.period) for p in diamond.perks} == {
        "alteration": ("免费改衣", 4, "season"), "airport": ("机场绿色通道", 2, "year"),
        "magazine": ("邮寄会刊", None, "none")}


def test_a_stored_version_without_perks_has_none():
    rules = copy.deepcopy(DEFAULT_RULES)
    for tier in rules["tiers"]:
        del tier["perks"]
    programme = parse_programme(rules)
    assert all(t.perks == () for t in programme.tiers)
    assert "perks" not in normalize_rules(rules)["tiers"][0]


def _with_perks(perks, tier=0):
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["tiers"][tier]["perks"] = perks
    return rules


@pytest.mark.parametrize(("perks", "field", "words"), [
    ([{"code": "a", "name": "改衣", "quota": 2, "period": "season"},
      {"code": "a", "name": "再改", "quota": 1, "period": "year"}], "tiers[0].perks[1].code", "两次"),
    ([{"code": "a", "name": "", "quota": 2, "period": "season"}], "tiers[0].perks[0].name", "名称"),
    ([{"code": "a", "name": "改" * 41, "quota": 2, "period": "season"}], "tiers[0].perks[0].name", "40"),
    ([{"code": "a", "name": "改\x07衣", "quota": 2, "period": "season"}], "tiers[0].perks[0].name", "控制字符"),
    ([{"code": "a", "name": "改衣", "quota": 0, "period": "season"}], "tiers[0].perks[0].quota", "整数"),
    ([{"code": "a", "name": "改衣", "quota": 1.5, "period": "season"}], "tiers[0].perks[0].quota", "整数"),
    ([{"code": "a", "name": "改衣", "quota": True, "period": "season"}], "tiers[0].perks[0].quota", "整数"),
    ([{"code": "a", "name": "改衣", "quota": 2, "period": "week"}], "tiers[0].perks[0].period", "week"),
    ([{"code": "A B", "name": "改衣", "quota": 2, "period": "year"}], "tiers[0].perks[0].code", "代码"),
    ([{"code": "a", "name": "改衣", "quota": 2, "period": "year", "x": 1}], "tiers[0].perks[0].x", "x"),
    ("改衣", "tiers[0].perks", "列表"),
    ([{"code": f"p{i}", "name": "改衣", "quota": 1, "period": "year"} for i in range(21)], "tiers[0].perks", "20"),
])
def test_perk_validation_names_the_field_in_chinese(perks, field, words):
    with pytest.raises(ValidationError) as exc:
        normalize_rules(_with_perks(perks))
    assert field in exc.value.message_dict, exc.value.message_dict
    assert words in exc.value.message_dict[field][0]


def test_valid_perks_are_normalised(db):
    rules = normalize_rules(_with_perks([{"code": "vip_lane", "name": "  机场绿色通道 ", "quota": "3",
                                          "period": "year"}, {"code": "mag", "name": "会刊", "quota": "",
                                                              "period": "none"}]))
    assert rules["tiers"][0]["perks"] == [
        {"code": "vip_lane", "name": "机场绿色通道", "quota": 3, "period": "year"},
        {"code": "mag", "name": "会刊", "quota": None, "period": "none"}]
    version = programme_update(rules=rules, effective_from=timezone.localdate(), by=None)
    assert version.rules["tiers"][0]["perks"][0]["quota"] == 3


# ------------------------------------------------------------------------------------------------ periods


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31),
                    timezones=st.just(TZ)))
@settings(max_examples=300, deadline=None)
def test_periods_are_calendar_periods_in_shanghai(moment):
    on = timezone.localtime(moment, TZ).date()
    for period in ("month", "quarter", "season", "year"):
        key, end = period_of(period, on, "E1")
        # the period holds the day, ends on its last day, and the next day is another period
        assert end >= on
        assert period_of(period, end, "E1")[0] == key
        assert period_of(period, end + dt.timedelta(days=1), "E1")[0] != key
        start = {"month": on.replace(day=1), "year": on.replace(month=1, day=1)}.get(
            period, on.replace(month=(on.month - 1) // 3 * 3 + 1, day=1))
        assert period_of(period, start, "E1")[0] == key
        assert period_of(period, start - dt.timedelta(days=1), "E1")[0] != key
    assert period_of("season", on, "E1") == period_of("quarter", on, "E1")
    assert period_of("none", on, "E1") == ("card:E1", None)


def test_a_use_at_midnight_counts_in_the_shanghai_day(chain, member, elite):
    # 2026-06-30 16:30 UTC is 2026-07-01 00:30 in Shanghai: the third quarter
    use(chain, member, when=dt.datetime(2026, 6, 30, 16, 30, tzinfo=dt.UTC))
    assert PerkUse.objects.get().period_key == "2026-Q3"


# ------------------------------------------------------------------------------------------- the quota


def test_quota_per_season_refuses_the_third_with_a_clear_message_and_writes_nothing(chain, member, elite):
    use(chain, member, when=at(2026, 4, 1))
    use(chain, member, when=at(2026, 6, 30))
    with pytest.raises(CheckoutError) as exc:
        use(chain, member, when=at(2026, 6, 30, 20))
    assert exc.value.error_code == "perk_quota_used"
    assert exc.value.text == "本季度免费改衣已用 2 次（每季度 2 次）。"
    with translation.override("en"):
        with pytest.raises(CheckoutError) as exc:
            use(chain, member, when=at(2026, 5, 1))
        assert exc.value.text == "免费改衣 used 2 times this quarter (2 a quarter)."
    assert PerkUse.objects.count() == 2
    use(chain, member, when=at(2026, 7, 1, 0))  # the next season starts again
    assert PerkUse.objects.filter(period_key="2026-Q3").count() == 1


def test_perks_left_counts_the_period_and_a_reversed_use_gives_it_back(chain, member, elite):
    first = use(chain, member, when=at(2026, 5, 1))
    [left] = perks_left(member, elite, dt.date(2026, 5, 2))
    assert (left.perk.code, left.used, left.quota, left.left, left.period_end) == (
        "alteration", 1, 2, 1, dt.date(2026, 6, 30))
    perk_use_reverse(use=first, by=chain.clerk, reason="误操作")
    assert perks_left(member, elite, dt.date(2026, 5, 2))[0].left == 2
    assert perks_left(member, elite, dt.date(2026, 7, 2))[0].used == 0


def test_unknown_perk_and_no_card_are_refused(chain, member):
    with pytest.raises(CheckoutError) as exc:
        use(chain, member)
    assert exc.value.error_code == "perk_no_card"
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))
    with pytest.raises(CheckoutError) as exc:
        use(chain, member, code="airport")  # the diamond card's
    assert exc.value.error_code == "perk_not_on_card"
    assert "airport" in exc.value.text
    assert not PerkUse.objects.exists()


def test_unlimited_perk_has_no_quota(chain, member):
    buy(chain, lines=[("SUIT", 3)], when=at(2026, 2, 1))  # ¥15,000 on one receipt: diamond
    for day in range(1, 6):
        use(chain, member, code="magazine", when=at(2026, 3, day))
    [magazine] = [p for p in perks_left(member, Card.objects.get(member=member, kind="diamond"),
                                        dt.date(2026, 3, 9)) if p.perk.code == "magazine"]
    assert (magazine.used, magazine.left, magazine.period_end) == (5, None, None)


# ---------------------------------------------------------------------------------------------- on a sale


def test_a_sale_uses_a_perk_and_the_receipt_has_it(chain, member, elite):
    receipt = buy(chain, card=elite.number, when=at(2026, 5, 3), perks=["alteration"])
    perk = PerkUse.objects.get()
    assert (perk.receipt_id, perk.card_number, perk.tier, perk.perk_name, perk.store_id, perk.clerk_id) == (
        receipt.pk, elite.number, "elite", "免费改衣", chain.shop.pk, chain.clerk.pk)
    buy(chain, card=elite.number, when=at(2026, 5, 4), perks=["alteration"])
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=elite.number, when=at(2026, 5, 5), perks=["alteration"])
    assert exc.value.error_code == "perk_quota_used" and exc.value.field == "perks"
    assert PerkUse.objects.count() == 2
    # a return leaves the perk used (the alteration was done)
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=at(2026, 5, 6))
    assert PerkUse.objects.filter(reversed=False).count() == 2


def test_a_quote_refuses_a_perk_past_the_quota_and_a_walk_in_has_none(chain, member, elite):
    use(chain, member, when=timezone.now())
    use(chain, member, when=timezone.now())
    ident = identify(store=chain.shop, card_number=elite.number)
    with pytest.raises(CheckoutError) as exc:
        basket_quote(store=chain.shop, ident=ident, lines=[LineIn("SHIRT", 1)], perks=["alteration"])
    assert exc.value.error_code == "perk_quota_used"
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop, clerk=chain.clerk, walk_in=True, lines=[LineIn("SHIRT", 1)],
                      perks=["alteration"])
    assert exc.value.error_code == "member_required_for_option"


@pytest.mark.parametrize("perks", [["alteration", "alteration"], ["x" * 31], ["a\x00"], [f"p{i}" for i in range(11)]])
def test_a_sale_bounds_its_perks(chain, member, elite, perks):
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=elite.number, when=at(2026, 5, 3), perks=perks)
    assert exc.value.error_code == "perks_invalid"
    assert not PerkUse.objects.exists()


def test_a_first_version_stored_without_perks_shows_no_perk_change_in_the_history(db):
    from membercare.loyalty.models import ProgrammeVersion
    from membercare.loyalty.programme_selectors import programme_changes, programme_history

    rules = copy.deepcopy(DEFAULT_RULES)
    for tier in rules["tiers"]:
        del tier["perks"]
    version = ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), rules=rules,
                                              created_at=timezone.now())
    assert programme_changes(version) == []
    assert programme_history()[0].changes == []
    rules["tiers"][0]["perks"] = []
    version.rules = rules
    version.save()
    # an empty list is a choice: the default's free alterations are shown as removed
    paths = [path for path, _old, _new in programme_changes(version)]
    assert "tiers.elite.perks.alteration.quota" in paths and all(".elite." in p for p in paths)
