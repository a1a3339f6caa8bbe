"""Every error of the POS API: JSON {"code", "message", "field"} with a stable code, and nothing written."""

import pytest

from membercare.loyalty.models import BirthdayUse, Card, CardStatus, IdempotencyRecord, PointsEntry
from membercare.members.models import Member
from membercare.sales.models import Receipt
from tests.factories import MemberFactory


def assert_error(result, status, code, field=...):
    got_status, body = result
    assert (got_status, body.get("code")) == (status, code), body
    assert set(body) == {"code", "message", "field"} and body["message"]
    if field is not ...:
        assert body["field"] == field


@pytest.fixture
def elite(pos, clock):
    clock(2026, 2, 1)
    return pos.checkout(("SUIT", 1))[1]["card"]["number"]


# ------------------------------------------------------------------------------------- identification


def test_identification_errors(pos, elite, clock):
    clock(2026, 6, 1)
    assert_error(pos.checkout(("SHIRT", 1), card="X123"), 422, "card_unknown", "card")
    assert_error(pos.checkout(("SHIRT", 1), phone=""), 422, "member_required", "card")
    assert_error(pos.checkout(("SHIRT", 1), phone="12345"), 422, "phone_invalid", "phone")
    assert_error(pos.checkout(("SHIRT", 1), phone="13900000000"), 422, "member_unknown", "phone")
    assert_error(pos.checkout(("SHIRT", 1), phone="13800001234", name="王芳", birthday="1985-03-22"), 422,
                 "member_mismatch", "name")
    card = Card.objects.get(number=elite)
    card.status = CardStatus.PENDING
    card.save()
    assert_error(pos.checkout(("SHIRT", 1), card=elite), 422, "card_not_active", "card")
    card.status = CardStatus.VOID
    card.save()
    assert_error(pos.checkout(("SHIRT", 1), card=elite), 422, "card_void", "card")
    assert Receipt.objects.count() == 1 and IdempotencyRecord.objects.filter(status_code=201).count() == 1


def test_forgotten_card_by_name_phone_and_birthday(pos, elite):
    status, body = pos.get("members/lookup", {"name": "王芳", "phone": "138 0000 1234", "birthday": "1985-03-21"})
    assert status == 200 and body["card"]["number"] == elite and body["phone"] == "138****1234"
    assert body["tier"] == "elite" and body["points"] == 5000
    assert_error(pos.get("members/lookup", {"name": "王芳", "phone": "13800001234", "birthday": "1985-01-01"}),
                 422, "member_mismatch")
    assert_error(pos.get("members/lookup", {"card": "NOPE"}), 422, "card_unknown", "card")


def test_a_card_of_another_brand_scope(jd_pos, pos, clock):
    clock(2026, 6, 1)
    sub_brands = jd_pos.checkout(("JDTEE", 1))[1]["card"]["number"]  # the sub-brand's accumulation card
    assert_error(pos.checkout(("SHIRT", 1), card=sub_brands), 422, "card_wrong_brand", "card")
    status, body = pos.get(f"cards/{sub_brands}")
    assert status == 200 and body["usable_here"] is False and body["code"] == "card_wrong_brand"
    assert Receipt.objects.count() == 1


# ------------------------------------------------------------------------------------------- basket


@pytest.mark.parametrize("lines,code", [
    ([], "basket_empty"),
    ([{"sku": "NOPE", "quantity": 1}], "sku_unknown"),
    ([{"sku": "SHIRT", "quantity": 0}], "quantity_invalid"),
    ([{"sku": "SHIRT", "quantity": -2}], "quantity_invalid"),
    ([{"sku": "SHIRT", "quantity": 1, "full_price": "900.00"}], "price_mismatch"),
    ([{"sku": "SHIRT", "quantity": 1, "promo_price": "1200"}], "price_invalid"),
    ([{"sku": "SHIRT", "quantity": 1, "promo_price": "-1"}], "price_invalid"),
])
def test_bad_baskets_are_refused_and_write_nothing(pos, lines, code, clock):
    clock(2026, 6, 1)
    assert_error(pos.post("checkout", {"phone": "13800001234", "lines": lines}), 422, code, "lines")
    assert_error(pos.post("quote", {"phone": "13800001234", "lines": lines}, idem=None), 422, code, "lines")
    assert not Receipt.objects.exists() and not Card.objects.exists() and not PointsEntry.objects.exists()


def test_points_errors(pos, clock):
    clock(2026, 6, 1)
    pos.checkout(("SHIRT", 1))  # 1000 points
    assert_error(pos.checkout(("SHIRT", 1), redeem_points=-5), 422, "points_invalid", "redeem_points")
    assert_error(pos.checkout(("SHIRT", 1), redeem_points=1001), 422, "points_insufficient", "redeem_points")
    # at most half of a receipt in points: ¥10 paid, 1000 points are ¥10
    assert_error(pos.checkout(("BELT", {"quantity": 1, "promo_price": "10"}), redeem_points=1000), 422,
                 "points_over_limit", "redeem_points")
    assert Receipt.objects.count() == 1 and PointsEntry.objects.count() == 1


def test_birthday_errors(pos, jd_pos, elite, clock):
    clock(2026, 6, 1)
    assert_error(pos.checkout(("SHIRT", 1), card=elite, birthday_privilege=True), 422, "birthday_not_month",
                 "birthday")
    clock(2026, 3, 2)
    assert_error(jd_pos.checkout(("JDTEE", 1), card=elite, birthday_privilege=True), 422, "birthday_wrong_store")
    assert_error(pos.checkout(("SHIRT", {"quantity": 1, "promo_price": "1"}), card=elite, birthday_privilege=True),
                 422, "birthday_no_items")
    other = MemberFactory(phone="13900009999", birthday=member_birthday(3), home_store_id=Member.objects.get(
        phone="13800001234").home_store_id)
    pos.checkout(("SHIRT", 1), phone=other.phone)  # an accumulation card only
    assert_error(pos.checkout(("SHIRT", 1), phone=other.phone, birthday_privilege=True), 422,
                 "birthday_not_eligible")
    assert pos.checkout(("SHIRT", 1), card=elite, birthday_privilege=True)[0] == 201
    assert_error(pos.checkout(("SHIRT", 1), card=elite, birthday_privilege=True), 422, "birthday_used")
    assert BirthdayUse.objects.count() == 1


def member_birthday(month):
    import datetime as dt

    return dt.date(1990, month, 5)


# ------------------------------------------------------------------------------------------ returns


def test_return_errors(pos, pos2, jd_pos, clock):
    clock(2026, 6, 1)
    _s, sale = pos.checkout(("SHIRT", 2))
    line = sale["lines"][0]["id"]
    assert_error(pos.ret("SH01-9999999999"), 404, "receipt_unknown", "number")
    assert_error(jd_pos.ret(sale["number"]), 422, "receipt_other_brand", "number")
    assert_error(pos.ret(sale["number"], [{"line_id": 999999, "quantity": 1}]), 422, "return_line_unknown", "lines")
    assert_error(pos.ret(sale["number"], [{"line_id": line, "quantity": 0}]), 422, "quantity_invalid", "lines")
    assert_error(pos.ret(sale["number"], [{"line_id": line, "quantity": 3}]), 422, "return_too_many", "lines")
    status, ret = pos2.ret(sale["number"])  # a full return, at another store of the brand
    assert status == 201 and ret["total_paid"] == "-2000.00" and ret["original"] == sale["number"]
    assert ret["store"] == "BJ01" and ret["points_change"] == -2000 and ret["points_balance"] == 0
    assert_error(pos.ret(sale["number"]), 422, "return_nothing", "lines")
    assert_error(pos.ret(ret["number"]), 422, "return_of_return", "receipt")
    assert Receipt.objects.count() == 2


def test_a_partial_return_by_line_ids(pos, clock):
    clock(2026, 6, 1)
    _s, sale = pos.checkout(("SHIRT", 3), ("BELT", 1))
    shirt = sale["lines"][0]["id"]
    status, ret = pos.ret(sale["number"], [{"line_id": shirt, "quantity": 1}])
    assert status == 201 and ret["total_paid"] == "-1000.00" and ret["lines"][0]["original_line_id"] == shirt
    assert ret["points_change"] == -1000 and ret["points_balance"] == 2999
    status, detail = pos.get(f"receipts/{sale['number']}")
    assert status == 200 and [ln["id"] for ln in detail["lines"]] == [ln["id"] for ln in sale["lines"]]


# ----------------------------------------------------------------------------------- malformed bodies


def test_malformed_json_is_refused_with_a_readable_message(pos):
    status, body = pos.post("checkout", None, raw='{"phone": "13800001234", "lines": [')
    assert status == 422 and body["code"] == "invalid_body" and "JSON" in body["message"]
    assert not Receipt.objects.exists() and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("body,field", [
    ({"phone": "13800001234"}, "lines"),
    ({"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": "two"}]}, "lines.0.quantity"),
    ({"phone": "13800001234", "lines": [{"quantity": 1}]}, "lines.0.sku"),
    ({"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": 1.5}]}, "lines.0.quantity"),
    ({"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": 10**12}]}, "lines.0.quantity"),
    ({"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": 1, "full_price": "abc"}]},
     "lines.0.full_price"),
    ({"phone": "13800001234", "lines": "SHIRT"}, "lines"),
    ({"phone": "13800001234", "lines": [], "redeem_points": "many"}, "redeem_points"),
])
def test_a_malformed_body_names_the_field(pos, body, field):
    pos.lang = "en"
    status, out = pos.post("checkout", body)
    assert status == 422 and out["code"] == "invalid_body" and out["field"] == field
    assert out["message"].startswith("The request body is invalid") and (field or "") in out["message"]
    assert not Receipt.objects.exists()


def test_a_body_that_is_not_an_object(pos):
    status, out = pos.post("checkout", [1, 2])
    assert status == 422 and out["code"] == "invalid_body"
    assert not Receipt.objects.exists()


def test_a_bad_query_parameter(pos, member):
    assert_error(pos.get(f"members/{member.member_no}/points", {"page": "x"}), 422, "invalid_parameter", "page")
    assert_error(pos.get(f"members/{member.member_no}/points", {"page_size": 500}), 422, "invalid_parameter",
                 "page_size")
    assert_error(pos.get(f"members/{member.member_no}/points", {"page": 10**7}), 422, "invalid_parameter", "page")
    assert_error(pos.get("members/M-NOPE/points"), 404, "member_unknown", "member_no")


# --------------------------------------------------------------------------------- language, not found


def test_messages_follow_accept_language(pos):
    pos.lang = "en"
    _s, en = pos.checkout(("SHIRT", 1), phone="12345")
    pos.lang = "zh-hans"
    _s, zh = pos.checkout(("SHIRT", 1), phone="12345")
    assert en["code"] == zh["code"] == "phone_invalid"
    assert "not a valid mainland mobile number" in en["message"] and en["message"] != zh["message"]


def test_unknown_paths_and_cards(pos):
    assert_error(pos.get("cards/NOPE"), 404, "card_unknown", "number")
    assert_error(pos.get("receipts/NOPE"), 404, "receipt_unknown")
