"""Points earning as the chain's data (issue 19 part 2): rates by series, the level's multiplier, dated
promotions; their checks; a sale and its returns; the ledger after any sequence (property test)."""

import copy
import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.earning import EarnLine, points_earned
from membercare.loyalty.models import LoyaltyAccount, PointsEntry, ProgrammeVersion
from membercare.loyalty.points import ledger_sum, points_expire_due
from membercare.loyalty.programme import DEFAULT_RULES, parse_programme, programme_at
from membercare.loyalty.programme_services import normalize_rules
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
MONDAY = dt.date(2026, 12, 7)


def rules(**changes):
    doc = copy.deepcopy(DEFAULT_RULES)
    tier_mult = changes.pop("tier_mult", {})
    doc.update(changes)
    for tier in doc["tiers"]:
        if tier["code"] in tier_mult:
            tier["points_multiplier"] = tier_mult[tier["code"]]
    return doc


def earn(programme_rules, lines, *, unearned="0", on=MONDAY, card="elite", store="SH01"):
    return points_earned(parse_programme(programme_rules), [EarnLine(s, D(a)) for s, a in lines], unearned=D(unearned),
                         on=on, card_kind=card, store_code=store)


PROMO = {"name": "会员日双倍积分", "from": "2026-12-01", "to": "2026-12-31", "multiplier": "2"}


# ------------------------------------------------------------------------------------------------ the rule


def test_a_stored_version_without_the_keys_earns_as_before():
    p = parse_programme({"points_per_yuan": 1})
    assert p.series_points_per_yuan == {} and p.points_promotions == () and p.accumulation_points_multiplier == 1
    assert all(t.points_multiplier == 1 for t in p.tiers)
    e = earn({}, [("business", "1234.99"), ("golf", "0.50")], unearned="100.20")
    assert e.points == math.floor(D("1234.99") + D("0.50") - D("100.20")) == 1135
    assert e.labels("精英卡") == []


def test_level_multiplier_and_accumulation_multiplier():
    r = rules(tier_mult={"elite": "1.5", "diamond": "2"}, accumulation_points_multiplier="0.5")
    assert earn(r, [("business", "999.99")], card="elite").points == 1499  # floor(1499.985)
    assert earn(r, [("business", "999.99")], card="diamond").points == 1999
    assert earn(r, [("business", "999.99")], card="accumulation").points == 499
    assert earn(r, [("business", "999.99")], card="knight").points == 999
    assert earn(r, [("business", "100")], card="elite").labels("精英卡") == ["精英卡 ×1.5"]


def test_series_rates_override_points_per_yuan_and_the_total_is_floored_once():
    r = rules(points_per_yuan=1, series_points_per_yuan={"leather": "2.5", "golf": "0"})
    # 0.3 + 0.3 + 0.3 at 2.5 = 2.25 (not 0+0+0 floored per line), + 1 business
    e = earn(r, [("leather", "0.30"), ("leather", "0.30"), ("leather", "0.30"), ("business", "1.00"),
                 ("golf", "500")])
    assert e.points == 3
    # what earns nothing is taken off every line in proportion: 1000 leather + 1000 business, ¥500 offset
    assert earn(r, [("leather", "1000"), ("business", "1000")], unearned="500").points == 2625


@pytest.mark.parametrize(("on", "card", "store", "series", "expected"), [
    (MONDAY, "elite", "SH01", "business", 200),  # everything matches
    (dt.date(2026, 11, 30), "elite", "SH01", "business", 100),  # before the first day
    (dt.date(2027, 1, 1), "elite", "SH01", "business", 100),  # after the last day
    (MONDAY + dt.timedelta(days=1), "elite", "SH01", "business", 100),  # a Tuesday
    (MONDAY, "knight", "SH01", "business", 100),  # another card
    (MONDAY, "elite", "BJ01", "business", 100),  # another store
    (MONDAY, "elite", "SH01", "golf", 100),  # another series
])
def test_a_promotion_applies_by_date_weekday_series_card_and_store(on, card, store, series, expected):
    promo = {**PROMO, "weekdays": [0, 6], "series": ["business"], "tiers": ["elite", "accumulation"],
             "stores": ["SH01"]}
    e = earn(rules(points_promotions=[promo]), [(series, "100")], on=on, card=card, store=store)
    assert e.points == expected
    assert e.labels("精英卡") == (["会员日双倍积分 ×2"] if expected == 200 else [])


def test_promotions_do_not_stack_the_best_applies_per_line():
    promos = [{**PROMO, "name": "双倍", "multiplier": "2"}, {**PROMO, "name": "三倍皮具", "multiplier": "3",
                                                           "series": ["leather"]}]
    r = rules(points_promotions=promos, tier_mult={"elite": "1.5"})
    e = earn(r, [("leather", "100"), ("business", "100")])
    assert e.points == 100 * 3 * D("1.5") + 100 * 2 * D("1.5")  # 450 + 300, never 2 × 3
    assert e.labels("精英卡") == ["双倍 ×2", "三倍皮具 ×3", "精英卡 ×1.5"]


def test_a_promotion_on_a_local_date_of_shanghai():
    r = rules(points_promotions=[{**PROMO, "from": "2026-12-08", "to": "2026-12-08"}])
    # 2026-12-07 17:00 UTC is 2026-12-08 01:00 in Shanghai: the sale's date is the local one
    assert dt.datetime(2026, 12, 7, 17, tzinfo=dt.UTC).astimezone(TZ).date() == dt.date(2026, 12, 8)
    assert earn(r, [("business", "10")], on=dt.date(2026, 12, 8)).points == 20


# ------------------------------------------------------------------------------------------------ the checks


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"points_promotions": [{**PROMO, "to": "2026-11-30"}]}, "points_promotions[0].to", "结束日期早于开始日期"),
    ({"points_promotions": [PROMO, {**PROMO, "from": "2026-13-01"}]}, "points_promotions[1].from", "YYYY-MM-DD"),
    ({"points_promotions": [{**PROMO, "multiplier": "0.5"}]}, "points_promotions[0].multiplier", "倍数"),
    ({"points_promotions": [{**PROMO, "multiplier": "11"}]}, "points_promotions[0].multiplier", "倍数"),
    ({"points_promotions": [{**PROMO, "multiplier": "1.555"}]}, "points_promotions[0].multiplier", "两位小数"),
    ({"points_promotions": [{**PROMO, "name": " "}]}, "points_promotions[0].name", "名称"),
    ({"points_promotions": [{**PROMO, "name": "双倍\x07"}]}, "points_promotions[0].name", "控制字符"),
    ({"points_promotions": [{**PROMO, "name": "倍" * 41}]}, "points_promotions[0].name", "40"),
    ({"points_promotions": [{**PROMO, "weekdays": [7]}]}, "points_promotions[0].weekdays", "星期"),
    ({"points_promotions": [{**PROMO, "tiers": ["gold"]}]}, "points_promotions[0].tiers", "gold"),
    ({"points_promotions": [{**PROMO, "colour": "red"}]}, "points_promotions[0].colour", "colour"),
    ({"points_promotions": [PROMO] * 51}, "points_promotions", "50"),
    ({"accumulation_points_multiplier": "10.5"}, "accumulation_points_multiplier", "倍数"),
    ({"tier_mult": {"diamond": "-1"}}, "tiers[1].points_multiplier", "倍数"),
    ({"series_points_per_yuan": {"golf": "abc"}}, "series_points_per_yuan.golf", "积分"),
])
def test_each_error_names_its_field_in_chinese(change, field, message):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        normalize_rules(rules(**change))
    assert field in exc.value.message_dict, exc.value.message_dict
    assert message in exc.value.message_dict[field][0]


@pytest.mark.django_db
def test_unknown_series_and_store_codes_are_refused(chain):
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as exc:
            normalize_rules(rules(series_points_per_yuan={"leather": "2", "shoes": "3"}))
        assert exc.value.message_dict["series_points_per_yuan.shoes"] == ["未知系列“shoes”。"]
        with pytest.raises(ValidationError) as exc:
            normalize_rules(rules(points_promotions=[PROMO, {**PROMO, "stores": ["SH01", "XX99"]}]))
        assert "XX99" in exc.value.message_dict["points_promotions[1].stores"][0]
        with pytest.raises(ValidationError) as exc:
            normalize_rules(rules(points_promotions=[{**PROMO, "series": ["shoes"]}]))
        assert "points_promotions[0].series" in exc.value.message_dict
    doc = normalize_rules(rules(series_points_per_yuan={"leather": 2}, tier_mult={"elite": 1.5},
                                points_promotions=[{**PROMO, "name": " 会员日 ", "weekdays": [6, 0, 6]}]))
    assert doc["series_points_per_yuan"] == {"leather": "2.00"}
    assert doc["tiers"][0]["points_multiplier"] == "1.50"
    assert doc["points_promotions"] == [{"name": "会员日", "from": "2026-12-01", "to": "2026-12-31",
                                         "multiplier": "2.00", "weekdays": [0, 6]}]


# ------------------------------------------------------------------------------------------------ a sale


def _programme(rules_doc):
    return ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), rules=normalize_rules(rules_doc),
                                           created_at=dt.datetime(2026, 1, 1, tzinfo=TZ))


def test_a_sale_earns_the_promotion_and_the_level_and_its_returns_reverse_exactly(chain, member):
    _programme(rules(points_promotions=[{**PROMO, "series": ["leather"]}], series_points_per_yuan={"golf": "3"},
                     accumulation_points_multiplier="1.25"))
    at = dt.datetime(2026, 12, 7, 15, tzinfo=TZ)
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, sold_at=at,
                         lines=[LineIn("BELT", 1), LineIn("POLO", 1), LineIn("SHIRT", 1)])
    assert sale.tier == "accumulation"
    # (999 × 2 + 1500 × 3 + 1000) × 1.25
    assert sale.points_earned == math.floor((999 * 2 + 1500 * 3 + 1000) * D("1.25")) == 9372
    entry = PointsEntry.objects.get(receipt=sale, kind="earn")
    with translation.override("zh-hans"):
        assert entry.reason == "会员日双倍积分 ×2、累积卡 ×1.25"
    assert sale.points_note == entry.reason
    lines = list(sale.lines.order_by("pk"))
    back = 0
    for i, line in enumerate(lines):
        ret = return_post(original=sale, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop,
                          at=at + dt.timedelta(hours=i + 1))
        back += -sum(e.points for e in PointsEntry.objects.filter(receipt=ret, kind="reverse"))
        assert back <= sale.points_earned
    assert back == sale.points_earned
    account = LoyaltyAccount.objects.get(member=member)
    assert account.points == ledger_sum(member) == 0


# ------------------------------------------------------------------------------------------------ the property

SKUS = ["SHIRT", "BELT", "BAG", "POLO", "SUIT"]
SERIES = ["business", "leather", "golf"]
CARDS = ["accumulation", "elite", "diamond", "knight"]
mult = st.decimals(min_value=0, max_value=10, places=2)
promotion = st.fixed_dictionaries({
    "name": st.sampled_from(["会员日双倍积分", "周末三倍", "皮具月"]),
    "from": st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 1)).map(str),
    "to": st.dates(dt.date(2026, 3, 1), dt.date(2026, 6, 1)).map(str),
    "multiplier": st.decimals(min_value=1, max_value=10, places=2).map(str),
}, optional={
    "weekdays": st.lists(st.integers(0, 6), max_size=3),
    "series": st.lists(st.sampled_from(SERIES), max_size=2),
    "tiers": st.lists(st.sampled_from(CARDS), max_size=2),
    "stores": st.lists(st.sampled_from(["SH01", "BJ01"]), max_size=1),
})
programme_st = st.fixed_dictionaries({
    "points_per_yuan": st.integers(0, 3),
    "tier_mult": st.fixed_dictionaries({c: mult.map(str) for c in ("elite", "diamond", "knight")}),
    "accumulation_points_multiplier": mult.map(str),
    "series_points_per_yuan": st.dictionaries(st.sampled_from(SERIES),
                                              st.decimals(min_value=0, max_value=5, places=2).map(str), max_size=3),
    "points_promotions": st.lists(promotion, max_size=3),
})
op = st.one_of(
    st.tuples(st.just("buy"), st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3),
              st.integers(0, 3000), st.booleans()),
    st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("expire"), st.integers(5, 200)),
)


def brute_force(doc, receipt) -> int:
    """The points of a receipt from the rules document itself, unit by unit, in fractions: each unit at the
    catalogue price less the card's discount (the receipt's lines carry the points offset spread over them)."""
    tiers = {t["code"]: t for t in doc["tiers"]}
    card = tiers.get(receipt.tier, {})
    level = Fraction(str(doc["accumulation_points_multiplier"] if receipt.tier == "accumulation"
                         else card.get("points_multiplier", "1")))
    discount = Decimal(str(card.get("discount", "0")))
    on = receipt.sold_at.astimezone(TZ).date()
    total, base = Fraction(0), Fraction(0)
    for line in receipt.lines.select_related("product__series"):
        series = line.product.series.code
        rate = Fraction(str(doc["series_points_per_yuan"].get(series, doc["points_per_yuan"])))
        best = Fraction(1)
        for p in doc["points_promotions"]:
            if (dt.date.fromisoformat(p["from"]) <= on <= dt.date.fromisoformat(p["to"])
                    and (not p.get("weekdays") or on.weekday() in p["weekdays"])
                    and (not p.get("series") or series in p["series"])
                    and (not p.get("tiers") or receipt.tier in p["tiers"])
                    and (not p.get("stores") or receipt.store.code in p["stores"])):
                best = max(best, Fraction(p["multiplier"]))
        unit = Fraction((line.product.full_price * (1 - discount)).quantize(Decimal("0.01"), ROUND_HALF_UP))
        for _unit in range(line.quantity):
            total += unit * rate * level * best
            base += unit
    if not base:
        return 0
    return math.floor(total * (base - Fraction(receipt.points_offset)) / base)


def check_ledger(member):
    account = LoyaltyAccount.objects.get(member=member)
    lots = PointsEntry.objects.filter(member=member, remaining__gt=0).aggregate(s=Sum("remaining"))["s"] or 0
    assert account.points == ledger_sum(member) == lots >= 0
    for sale in Receipt.objects.filter(member=member, original__isnull=True):
        reversals = PointsEntry.objects.filter(receipt__original=sale, kind="reverse")
        back = -sum(e.points for e in reversals)
        short = sum(int(n) for e in reversals for n in re.findall(r"[(（]\D*?(\d+)", e.reason))
        assert back + short <= sale.points_earned  # partial returns never reverse more than the sale earned
        bought = sum(line.quantity for line in sale.lines.all())
        if bought == -sum(line.quantity for r in sale.returns.all() for line in r.lines.all()):
            assert back + short == sale.points_earned  # a full return reverses exactly what it earned


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programme=programme_st, ops=st.lists(op, min_size=1, max_size=10))
def test_points_earned_match_a_brute_force_and_the_ledger_holds(chain, programme, ops):
    doc = normalize_rules(rules(**copy.deepcopy(programme)))
    version = ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), rules=doc,
                                              created_at=dt.datetime(2026, 1, 1, tzinfo=TZ))
    try:
        member = MemberFactory(home_store=chain.shop)
        now = dt.datetime(2026, 1, 5, 12, tzinfo=TZ)
        sales: list[Receipt] = []
        for n, step in enumerate(ops):
            now += dt.timedelta(days=1)
            store = chain.shop if n % 2 else chain.shop2
            try:
                if step[0] == "buy":
                    _, lines, redeem, _flag = step
                    balance = LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first()
                    assert programme_at(now.date()) == parse_programme(doc)
                    sale = checkout_post(store=store, clerk=chain.clerk, phone=member.phone, sold_at=now,
                                         lines=[LineIn(s, q) for s, q in lines],
                                         redeem_points=min(redeem, balance or 0))
                    assert sale.points_earned == brute_force(doc, sale)
                    sales.append(sale)
                elif step[0] == "return" and sales:
                    _, which, qty, full = step
                    sale = sales[which % len(sales)]
                    line = sale.lines.first()
                    return_post(original=sale, lines=None if full else [ReturnLineIn(line.pk, qty)],
                                clerk=chain.clerk, store=store, at=now)
                elif step[0] == "expire":
                    now += dt.timedelta(days=step[1])
                    points_expire_due(today=now.date())
            except CheckoutError:
                pass  # a refusal (too many returned, over the redeem limit...) leaves everything consistent
            if LoyaltyAccount.objects.filter(member=member).exists():
                check_ledger(member)
    finally:
        version.delete()


# ------------------------------------------------------------------------------------------------ cost and output


def _sale_queries(chain, member, minute):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        receipt = checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                                sold_at=dt.datetime(2026, 12, 7, 12, minute, tzinfo=TZ))
    return receipt, len(ctx.captured_queries)


def test_earning_rules_cost_a_sale_no_query_and_the_receipt_says_what_raised_the_points(chain, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from membercare.api.pos import receipt_out

    plain = _programme(rules())
    _sale_queries(chain, member, 1)  # warm: the sequences, the programme, the methods
    _r, without = _sale_queries(chain, member, 2)
    plain.delete()
    _programme(rules(tier_mult={"elite": "1.5"}, accumulation_points_multiplier="1.2",
                     series_points_per_yuan={"leather": "2"},
                     points_promotions=[{**PROMO, "name": "周一", "weekdays": [1]}, PROMO] * 10))
    _sale_queries(chain, member, 3)
    receipt, with_rules = _sale_queries(chain, member, 4)
    assert with_rules == without
    assert receipt.points_earned == math.floor(999 * 2 * 2 * D("1.2"))
    with CaptureQueriesContext(connection) as ctx:
        out = receipt_out(receipt, points_change=receipt.points_earned)
    assert out["points_note"] == receipt.points_note
    assert "会员日双倍积分 ×2" in out["points_note"]
    assert not [q for q in ctx.captured_queries if "loyalty_pointsentry" in q["sql"]]  # just written: no read
    again = Receipt.objects.select_related("store", "member", "original").get(pk=receipt.pk)
    assert receipt_out(again, points_change=0)["points_note"] == receipt.points_note  # read back from the ledger


def test_returning_the_line_of_a_richer_series_takes_back_what_that_line_earned(chain, member):
    """Golf earns 3 points per yuan, business 1: returning the golf shirt takes back its 4,500 points, not a
    share by amount (5,500 × 1,500 / 2,500 = 3,300); the business line's return then takes back the rest."""
    _programme(rules(series_points_per_yuan={"golf": "3"}))
    at = dt.datetime(2026, 12, 7, 15, tzinfo=TZ)
    sale = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, sold_at=at,
                         lines=[LineIn("POLO", 1), LineIn("SHIRT", 1)])
    assert sale.points_earned == 1500 * 3 + 1000
    polo, shirt = (sale.lines.get(product__sku=sku) for sku in ("POLO", "SHIRT"))
    ret = return_post(original=sale, lines=[ReturnLineIn(polo.pk, 1)], clerk=chain.clerk, store=chain.shop,
                      at=at + dt.timedelta(hours=1))
    assert -sum(e.points for e in PointsEntry.objects.filter(receipt=ret, kind="reverse")) == 4500
    ret = return_post(original=sale, lines=[ReturnLineIn(shirt.pk, 1)], clerk=chain.clerk, store=chain.shop,
                      at=at + dt.timedelta(hours=2))
    assert -sum(e.points for e in PointsEntry.objects.filter(receipt=ret, kind="reverse")) == 1000
    assert LoyaltyAccount.objects.get(member=member).points == ledger_sum(member) == 0
