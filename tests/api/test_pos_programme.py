"""DOMAIN.md's programme table, row by row, as acceptance tests through the POS API.

Chain (tests/loyalty/conftest.py): SH01 and BJ01 are main-brand stores, JD01 a 爵度 (sub-brand) store.
SUIT 5000 business, SHIRT 1000 business, BAG 3000 leather, BELT 999 leather, POLO 1500 golf,
JDCOAT 3000 and JDTEE 500 (爵度). 王芳 (13800001234) was born on 21 March.
"""

import pytest

from membercare.loyalty.models import BirthdayUse, Card, PointsEntry
from membercare.sales.models import Receipt


def card_of(body):
    return body["card"]["kind"], body["card"]["number"]


# ---------------------------------------------------------------- 累积卡 accumulation card


def test_any_purchase_gives_an_accumulation_card_valid_one_year(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("BELT", 1))
    assert status == 201, body
    assert body["card"]["kind"] == "accumulation" and body["card"]["valid_until"] == "2027-06-01"
    assert body["total_paid"] == "999.00" and body["points_earned"] == 999  # no discount on an accumulation card
    number = body["card"]["number"]
    clock(2027, 6, 1)
    assert pos.get(f"cards/{number}")[1]["usable_here"] is True
    clock(2027, 6, 2)
    status, body = pos.checkout(("BELT", 1), card=number)
    assert status == 422 and body["code"] == "card_expired" and body["field"] == "card"
    _s, state = pos.get(f"cards/{number}")
    assert state["usable_here"] is False and state["code"] == "card_expired"


def test_an_accumulation_card_has_no_birthday_privilege(pos, clock):
    clock(2026, 3, 2)
    pos.checkout(("SHIRT", 1))
    status, body = pos.checkout(("SHIRT", 1), birthday_privilege=True)
    assert status == 422 and body["code"] == "birthday_not_eligible"


# ---------------------------------------------------------------- 精英卡 elite


def test_elite_by_one_business_receipt_of_5000(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SHIRT", 5))  # 5 x 1000 in the business series
    assert status == 201 and body["card"]["kind"] == "elite"


def test_no_elite_when_the_business_series_is_under_5000_on_one_receipt(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SHIRT", 4), ("BELT", 1))  # 4999 paid, 4000 of it business
    assert status == 201 and body["total_paid"] == "4999.00" and body["card"]["kind"] == "accumulation"


@pytest.mark.parametrize("lines", [[("BAG", 1)], [("POLO", 2)]], ids=["leather", "golf"])
def test_elite_by_3000_in_leather_or_golf_on_one_receipt(pos, clock, lines):
    clock(2026, 6, 1)
    status, body = pos.checkout(*lines)
    assert status == 201 and body["card"]["kind"] == "elite"


def test_no_elite_by_leather_and_golf_added_together(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("BAG", {"quantity": 1, "promo_price": "2999.00"}), ("POLO", 1))
    assert status == 201 and body["card"]["kind"] == "accumulation"  # 2999 leather + 1500 golf


def test_elite_by_8000_paid_within_12_months(pos, clock):
    clock(2026, 1, 10)
    assert pos.checkout(("SHIRT", 4))[1]["card"]["kind"] == "accumulation"  # 4000
    clock(2026, 8, 1)
    assert pos.checkout(("SHIRT", 3))[1]["card"]["kind"] == "accumulation"  # 7000
    clock(2026, 12, 20)
    status, body = pos.checkout(("BELT", 1))  # 7999: one yuan short
    assert body["card"]["kind"] == "accumulation"
    status, body = pos.checkout(("SHIRT", 1))  # 8999 within 12 months
    assert status == 201 and body["card"]["kind"] == "elite"


def test_no_elite_when_the_8000_are_spread_over_more_than_12_months(pos, clock):
    clock(2026, 1, 10)
    pos.checkout(("SHIRT", 4))
    clock(2027, 1, 20)  # the first receipt is out of the window (and its card has expired)
    status, body = pos.checkout(("SHIRT", 4))
    assert status == 201 and body["card"]["kind"] == "accumulation"


def test_returns_count_against_the_8000(pos, clock):
    clock(2026, 1, 10)
    _s, first = pos.checkout(("SHIRT", 4))
    pos.ret(first["number"], [{"line_id": first["lines"][0]["id"], "quantity": 1}])  # 3000 left
    clock(2026, 2, 10)
    status, body = pos.checkout(("SHIRT", 4))  # 7000 paid after the return
    assert status == 201 and body["card"]["kind"] == "accumulation"


def test_elite_pays_85_percent_on_full_price_items_and_promotions_keep_their_price(pos, clock):
    clock(2026, 6, 1)
    _s, body = pos.checkout(("SUIT", 1))
    kind, number = card_of(body)
    assert kind == "elite"
    status, quote = pos.quote(("SHIRT", 2), card=number)
    assert status == 200 and quote["total_paid"] == "1700.00" and quote["lines"][0]["unit_prices"] == ["850.00"] * 2
    status, body = pos.checkout(("SHIRT", 2), ("BELT", {"quantity": 1, "promo_price": "600"}), card=number)
    assert status == 201
    assert [ln["paid"] for ln in body["lines"]] == ["1700.00", "600.00"] and body["total_paid"] == "2300.00"
    assert body["total_full_price"] == "2999.00" and body["tier"] == "elite"


def test_elite_birthday_two_items_at_60_percent_no_points_on_them(pos, clock):
    clock(2026, 2, 1)
    _s, body = pos.checkout(("SUIT", 1))
    number = body["card"]["number"]
    clock(2026, 3, 10)
    status, body = pos.checkout(("SHIRT", 3), card=number, birthday_privilege=True)
    assert status == 201, body
    # two items at 6折, the third at the elite 8.5折; only the third earns points
    assert body["total_paid"] == "2050.00" and body["points_earned"] == 850 and body["birthday_privilege"] is True
    assert body["lines"][0]["birthday_items"] == 2


def test_elite_birthday_only_on_full_price_items(pos, clock):
    clock(2026, 2, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    clock(2026, 3, 10)
    status, body = pos.checkout(("SHIRT", {"quantity": 1, "promo_price": "500"}), card=number, birthday_privilege=True)
    assert status == 422 and body["code"] == "birthday_no_items"


def test_elite_birthday_once_per_month_across_stores_and_the_refusal_says_where_and_when(pos, pos2, clock):
    clock(2026, 2, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    clock(2026, 3, 10, 15)
    assert pos.checkout(("SHIRT", 1), card=number, birthday_privilege=True)[0] == 201
    clock(2026, 3, 20)
    pos2.lang = "en"
    status, body = pos2.checkout(("SHIRT", 1), card=number, birthday_privilege=True)
    assert status == 422 and body["code"] == "birthday_used" and body["field"] == "birthday"
    assert "上海南京西路店" in body["message"] and "2026" in body["message"] and "03" in body["message"]
    assert BirthdayUse.objects.count() == 1
    status, quote = pos2.quote(("SHIRT", 1), card=number, birthday_privilege=True)  # the quote says so too
    assert status == 422 and quote["code"] == "birthday_used"
    assert pos2.checkout(("SHIRT", 1), card=number)[0] == 201  # without the privilege the sale goes on


def test_elite_birthday_only_in_the_birthday_month_and_again_next_year(pos, clock):
    clock(2026, 2, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    clock(2026, 3, 10)
    assert pos.checkout(("SHIRT", 1), card=number, birthday_privilege=True)[0] == 201
    clock(2026, 4, 1)
    status, body = pos.checkout(("SHIRT", 1), card=number, birthday_privilege=True)
    assert status == 422 and body["code"] == "birthday_not_month"
    clock(2027, 3, 1)
    assert pos.checkout(("SHIRT", 1), card=number, birthday_privilege=True)[0] == 201


def test_at_most_two_birthday_items_for_elite(pos, clock):
    clock(2026, 2, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    clock(2026, 3, 10)
    _s, body = pos.checkout(("SUIT", 1), ("SHIRT", 2), card=number, birthday_privilege=True)
    # the two dearest units get the privilege: SUIT 3000 and one SHIRT 600; the other SHIRT 850
    assert body["total_paid"] == "4450.00" and body["points_earned"] == 850


# ---------------------------------------------------------------- 钻石卡 diamond


def test_diamond_for_an_elite_holder_with_20000_within_12_months(pos, clock):
    clock(2026, 1, 5)
    _s, body = pos.checkout(("SUIT", 1))  # 5000 -> elite
    number = body["card"]["number"]
    clock(2026, 4, 5)
    _s, body = pos.checkout(("SUIT", 3), card=number)  # 3 x 4250 = 12750, total 17750
    assert body["card"]["kind"] == "elite"
    clock(2026, 9, 5)
    _s, body = pos.checkout(("SHIRT", 3), card=number)  # 2550, total 20300
    assert body["card"]["kind"] == "diamond" and body["card"]["number"] == number


def test_diamond_by_one_receipt_of_15000(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SUIT", 3))
    assert status == 201 and body["total_paid"] == "15000.00" and body["card"]["kind"] == "diamond"


def test_no_diamond_by_one_receipt_just_under_15000(pos, clock):
    clock(2026, 6, 1)
    _s, body = pos.checkout(("SUIT", 2), ("BAG", 1), ("BELT", 1))  # 13999
    assert body["card"]["kind"] == "elite"


def test_diamond_pays_80_percent_and_birthday_three_items_at_half_price(pos, clock):
    clock(2026, 2, 1)
    number = pos.checkout(("SUIT", 3))[1]["card"]["number"]
    _s, body = pos.checkout(("SHIRT", 1), card=number)
    assert body["total_paid"] == "800.00" and body["points_earned"] == 800
    clock(2026, 3, 5)
    _s, body = pos.checkout(("SHIRT", 4), card=number, birthday_privilege=True)
    assert body["total_paid"] == "2300.00" and body["points_earned"] == 800  # 3 x 500 + 800


# ---------------------------------------------------------------- 骑士卡 knight (sub-brand)


def test_knight_by_one_receipt_of_3000_at_a_sub_brand_store(jd_pos, pos, clock):
    clock(2026, 6, 1)
    status, body = jd_pos.checkout(("JDCOAT", 1))
    assert status == 201 and body["card"]["kind"] == "knight"
    number = body["card"]["number"]
    _s, body = jd_pos.checkout(("JDTEE", 1), card=number)
    assert body["total_paid"] == "425.00"  # 8.5折
    # seed 001: XXXX系列享有8.5折优惠 — the main brand's stores honour it too, and it stays a knight card
    status, body = pos.checkout(("SHIRT", 1), card=number)
    assert status == 201 and body["total_paid"] == "850.00" and body["card"]["kind"] == "knight"
    assert body["level_card"] is None
    status, body = pos.get(f"cards/{number}")
    assert status == 200 and body["usable_here"] is True
    # ¥17,000 on one receipt there: the main brand's diamond card for the member, the knight card kept
    status, body = pos.checkout(("SUIT", 4), card=number)
    assert status == 201 and body["card"]["number"] == number and body["card"]["kind"] == "knight"
    assert body["level_card"]["kind"] == "diamond" and body["level_card"]["number"] != number
    assert Card.objects.get(number=body["level_card"]["number"]).brand.code == "MAIN"


def test_knight_by_8000_within_12_months_at_sub_brand_stores(jd_pos, clock):
    clock(2026, 1, 1)
    for month in (1, 3, 5):
        clock(2026, month, 1)
        assert jd_pos.checkout(("JDTEE", 5))[1]["card"]["kind"] == "accumulation"  # 2500 each
    clock(2026, 7, 1)
    _s, body = jd_pos.checkout(("JDTEE", 5))  # 10000 within 12 months
    assert body["card"]["kind"] == "knight"


def test_main_brand_spend_does_not_make_a_knight(pos, jd_pos, clock):
    clock(2026, 6, 1)
    pos.checkout(("SHIRT", 4))
    _s, body = jd_pos.checkout(("JDTEE", 2))
    assert body["card"]["kind"] == "accumulation"
    assert not Card.objects.filter(kind="knight").exists()


def test_knight_birthday_at_own_stores_only(jd_pos, pos, clock):
    clock(2026, 2, 1)
    number = jd_pos.checkout(("JDCOAT", 1))[1]["card"]["number"]
    clock(2026, 3, 10)
    _s, body = jd_pos.checkout(("JDTEE", 3), card=number, birthday_privilege=True)
    assert body["total_paid"] == "1025.00" and body["points_earned"] == 425  # 300 + 300 + 425
    # an elite card works at 爵度 stores, but its birthday privilege is the main brand's (two suits at the knight
    # card's 8.5折: ¥8,500 in the business series make the member an elite card of the main brand)
    elite = pos.checkout(("SUIT", 2))[1]["level_card"]["number"]
    status, body = jd_pos.checkout(("JDTEE", 1), card=elite, birthday_privilege=True)
    assert status == 422 and body["code"] == "birthday_wrong_store"


# ---------------------------------------------------------------- group purchase, points


def test_a_group_purchase_earns_at_most_an_elite_card(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SUIT", 4), group_purchase=True)  # 20000 on one receipt
    assert status == 201 and body["group_purchase"] is True and body["card"]["kind"] == "elite"


def test_one_point_per_yuan_paid_rounded_down(pos, clock):
    clock(2026, 6, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    _s, body = pos.checkout(("BELT", 1), card=number)  # 999 x 0.85 = 849.15
    assert body["total_paid"] == "849.15" and body["points_earned"] == 849
    assert body["points_balance"] == 5000 + 849
    _s, points = pos.get(f"members/{body['member_no']}/points")
    assert points["balance"] == 5849 and [e["points"] for e in points["entries"]] == [849, 5000]


def test_points_redeemed_as_cash_earn_nothing_themselves(pos, clock):
    clock(2026, 6, 1)
    pos.checkout(("SHIRT", 2))  # 2000 points
    _s, body = pos.checkout(("BAG", 1), redeem_points=1000)  # ¥10 off
    assert body["points_offset"] == "10.00" and body["total_paid"] == "2990.00" and body["points_earned"] == 2990
    assert body["points_change"] == 1990 and body["points_balance"] == 3990
    assert sum(PointsEntry.objects.values_list("points", flat=True)) == 3990
    assert Receipt.objects.count() == 2


# ---------------------------------------------------------------- returns drop below a threshold


def test_returning_the_receipt_that_made_an_elite_card_drops_it(pos, clock):
    clock(2026, 6, 1)
    _s, sale = pos.checkout(("SUIT", 1))
    assert sale["card"]["kind"] == "elite"
    clock(2026, 6, 3)
    status, ret = pos.ret(sale["number"])
    assert status == 201 and ret["card"]["kind"] == "accumulation" and ret["points_balance"] == 0
    status, quote = pos.quote(("SHIRT", 1), card=sale["card"]["number"])
    assert quote["total_paid"] == "1000.00"  # no elite price any more


def test_a_return_below_20000_drops_a_diamond_back_to_elite(pos, clock):
    clock(2026, 1, 5)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    clock(2026, 4, 5)
    pos.checkout(("SUIT", 3), card=number)
    clock(2026, 9, 5)
    _s, sale = pos.checkout(("SHIRT", 3), card=number)
    assert sale["card"]["kind"] == "diamond"
    clock(2026, 9, 6)
    _s, ret = pos.ret(sale["number"], [{"line_id": sale["lines"][0]["id"], "quantity": 1}])  # 19450 paid
    assert ret["card"]["kind"] == "elite"
