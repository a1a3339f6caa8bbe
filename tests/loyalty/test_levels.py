"""Card levels as the chain's data (issue 19): any level code with its name and colour, amount OR purchase-days
rules (any/all), the progress towards them and what keeps a level."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from membercare.checkout.pipeline import LineIn, checkout_post, return_post
from membercare.loyalty.models import Card
from membercare.loyalty.programme import DEFAULT_RULES, card_label, parse_programme
from membercare.loyalty.progress import level_progress
from membercare.loyalty.tiers import purchase_days
from tests.loyalty.levels import four_levels, store_programme

TZ = ZoneInfo("Asia/Shanghai")


def at(d, h=12, m=6):
    return dt.datetime(2026, m, d, h, tzinfo=TZ)


def buy(chain, when, lines=(("BELT", 1),), store=None):
    return checkout_post(store=store or chain.shop, clerk=chain.clerk, phone="13800001234",
                         lines=[LineIn(sku, qty) for sku, qty in lines], sold_at=when)


def test_a_programme_names_its_own_levels_and_colours():
    programme = parse_programme(four_levels())
    assert [programme.label(c) for c, _ in programme.levels()] == ["普通卡", "银卡", "金卡", "钻石卡"]
    assert programme.color("gold") == "#c9a227" and programme.color("accumulation") == "#4a6fa5"
    assert programme.positions() == {"accumulation": 1, "silver": 2, "gold": 3, "diamond": 4}
    default = parse_programme(DEFAULT_RULES)  # stored documents without names keep the translated ones
    assert [default.label(c) for c in ("accumulation", "elite", "diamond", "knight")] == [
        "累积卡", "精英卡", "钻石卡", "骑士卡"]
    assert default.positions() == {"accumulation": 1, "knight": 2, "elite": 3, "diamond": 4}
    assert default.label("gone") == "gone"  # a card of a level since removed shows its code


@pytest.mark.parametrize(("change", "field"), [
    ({"silver": {"name": ""}}, "tiers[0].name"),
    ({"silver": {"name": "银" * 21}}, "tiers[0].name"),
    ({"silver": {"name": "银\x07卡"}}, "tiers[0].name"),
    ({"gold": {"color": "gold"}}, "tiers[1].color"),
    ({"gold": {"code": "Gold"}}, "tiers[1].code"),
    ({"gold": {"code": "a" * 21}}, "tiers[1].code"),
    ({"gold": {"purchase_days": 0}}, "tiers[1].purchase_days"),
    ({"gold": {"purchase_days": "x"}}, "tiers[1].purchase_days"),
    ({"gold": {"qualify": "some"}}, "tiers[1].qualify"),
])
def test_bad_levels_are_refused_naming_the_field(change, field):
    with pytest.raises(ValidationError) as exc:
        parse_programme(four_levels(**change))
    assert field in exc.value.message_dict


def test_accumulation_name_is_checked():
    with pytest.raises(ValidationError) as exc:
        parse_programme({**four_levels(), "accumulation_name": "普" * 21})
    assert "accumulation_name" in exc.value.message_dict


def test_purchase_days_count_distinct_local_days_with_returns_netted(chain, member):
    store_programme(four_levels())
    buy(chain, at(1, 10))
    buy(chain, at(1, 23, ))  # 23:00 Shanghai: the same local day
    late = buy(chain, dt.datetime(2026, 6, 2, 16, 30, tzinfo=dt.UTC))  # 00:30 on the 3rd in Shanghai
    returned = buy(chain, at(5))
    return_post(original=returned, lines=None, clerk=chain.clerk, store=chain.shop, at=at(6))
    assert purchase_days(member, "MAIN", until=at(7), days=365) == 2
    assert late.sold_at.astimezone(TZ).date() == dt.date(2026, 6, 3)
    buy(chain, at(7), store=chain.jd_shop, lines=(("JDTEE", 1),))  # the sub-brand's stores do not count
    assert purchase_days(member, "MAIN", until=at(8), days=365) == 2


def test_three_purchase_days_make_a_silver_card_with_its_letter(chain, member):
    store_programme(four_levels())
    buy(chain, at(1))
    buy(chain, at(2))
    card = Card.objects.get(member=member)
    assert card.kind == "accumulation"
    receipt = buy(chain, at(3))  # ¥2,997 would do too (2,000): the third day is what counts here either way
    card.refresh_from_db()
    assert card.kind == "silver" and receipt.card.kind == "silver"
    assert card_label(card.kind) == "银卡"
    from membercare.loyalty.cards import new_card_number
    assert new_card_number("silver").startswith("S") and new_card_number("elite").startswith("E")


def test_any_means_one_rule_and_all_means_every_rule(chain, member):
    # 金卡: ¥5,000 or 6 days (any); 钻石卡: ¥10,000 and 10 days (all), or one receipt of ¥15,000
    store_programme(four_levels(silver={"purchase_days": None}))
    buy(chain, at(1), lines=(("SUIT", 1),))  # ¥5,000 in one day: gold by the amount alone
    card = Card.objects.get(member=member)
    assert card.kind == "gold"
    buy(chain, at(2), lines=(("SUIT", 1),))  # ¥10,000 on 2 days (card discount aside): not diamond, days short
    card.refresh_from_db()
    assert card.kind == "gold"


def test_all_rules_upgrade_when_both_are_met(chain, member):
    store_programme(four_levels(diamond={"rolling_paid": "3000", "purchase_days": 3, "single_receipt": None},
                                gold={"rolling_paid": None, "purchase_days": 5},
                                silver={"rolling_paid": None, "purchase_days": 4}))
    for day in (1, 2):
        buy(chain, at(day), lines=(("SHIRT", 1),))
    card = Card.objects.get(member=member)
    assert card.kind == "accumulation"  # ¥2,000 on 2 days
    buy(chain, at(3), lines=(("SHIRT", 1),))  # ¥3,000 on 3 days: both of diamond's rules
    card.refresh_from_db()
    assert card.kind == "diamond"


def test_progress_says_amount_or_days_to_the_next_level_and_what_keeps_the_current(chain, member):
    store_programme(four_levels())
    buy(chain, at(1), lines=(("SHIRT", 1),))
    buy(chain, at(2), lines=(("SHIRT", 1),))  # ¥2,000: silver by the amount
    card = Card.objects.get(member=member)
    assert card.kind == "silver"
    buy(chain, at(3), lines=(("SHIRT", 1), ("SHIRT", 1)), )  # ¥1,900 at 5% off
    [p] = level_progress(member, now=at(4))
    assert (p.current_label, p.next_label, p.paid, p.goal, p.days, p.days_goal) == (
        "银卡", "金卡", Decimal("3900.00"), Decimal("5000.00"), 3, 6)
    assert p.steps == "再消费 ¥1,100 或再购物 3 天升级金卡"
    assert p.deadline == dt.date(2027, 6, 1)  # the first purchase counted leaves the 365-day window then
    assert p.keep == "保级银卡：365 天内消费 ¥2,000 或购物 3 天"
    # 钻石卡 asks for every rule: its single receipt too, and no "or at once with one receipt"
    from dataclasses import replace
    diamond = replace(p, next_label="钻石卡", goal=Decimal("10000"), days_goal=10, qualify="all",
                      single_receipt=Decimal("15000"))
    assert diamond.steps == "再消费 ¥6,100 并再购物 7 天 并单张小票满 ¥15,000升级钻石卡"


def test_a_programme_without_purchase_days_reads_no_purchase_days(chain, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buy(chain, at(1))
    with CaptureQueriesContext(connection) as ctx:
        [p] = level_progress(member, now=at(2))
    assert p.days_goal is None and p.steps == "再消费 ¥7,001升级精英卡"
    assert not [q for q in ctx.captured_queries if "MIN(" in q["sql"].upper()]


# ------------------------------------------------------------------------------------------ protecting members

@pytest.fixture
def specialist(db):
    from membercare.org.models import Role
    from tests.factories import StaffFactory

    return StaffFactory(username="vip", role=Role.SPECIALIST)


def _update(rules, by):
    from django.utils import timezone

    from membercare.loyalty.programme_services import programme_update

    return programme_update(rules=rules, effective_from=timezone.localdate(), by=by)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"gold": {"rank": 1}}, "tiers[1].rank", "级别同为 1"),
    ({"silver": {"requires": "gold"}, "gold": {"requires": "silver"}}, "tiers[0].requires", "循环"),
    ({"silver": {"requires": "silver"}}, "tiers[0].requires", "循环"),
    ({"silver": {"requires": "platinum"}}, "tiers[0].requires", "不存在"),
    ({"diamond": {"rolling_paid": "1000", "single_receipt": "100"},
      "gold": {"single_receipt": "5000"}}, "tiers[2].rolling_paid", "门槛却更低"),
])
def test_an_edit_that_cannot_order_the_levels_is_refused_and_nothing_saved(specialist, change, field, words):
    from membercare.loyalty.models import ProgrammeVersion

    with pytest.raises(ValidationError) as exc:
        _update(four_levels(**change), specialist)
    assert field in exc.value.message_dict and words in exc.value.message_dict[field][0]
    assert not ProgrammeVersion.objects.exists()


def test_removing_a_level_that_cards_hold_is_refused(chain, member, specialist):
    from membercare.loyalty.models import ProgrammeVersion

    store_programme(four_levels())
    buy(chain, at(1), lines=(("SUIT", 1),))
    assert Card.objects.get(member=member).kind == "gold"
    rules = four_levels()
    rules["tiers"] = [t for t in rules["tiers"] if t["code"] != "gold"]
    with pytest.raises(ValidationError) as exc:
        _update(rules, specialist)
    assert "金卡" not in exc.value.message_dict["tiers"][0] and "gold" in exc.value.message_dict["tiers"][0]
    assert ProgrammeVersion.objects.count() == 1
    rules["tiers"] = [t for t in four_levels()["tiers"] if t["code"] != "silver"]  # nobody holds silver
    rules["tiers"][0]["rank"], rules["tiers"][1]["rank"] = 1, 2
    _update(rules, specialist)
    assert ProgrammeVersion.objects.count() == 2
