"""The POS API: a top-up (idempotent), the balance at the member lookup, stored value as one of a checkout's
payments (alone or split), a retried checkout that never charges twice, a return that gives it back."""

import uuid
from decimal import Decimal

from membercare.sales.models import Receipt
from membercare.storedvalue.models import StoredValueCard, StoredValueEntry
from tests.api.conftest import Pos, clock, hq_admin, keys, pos  # noqa: F401

D = Decimal


def card_of(member):
    return StoredValueCard.objects.get(member=member)


def test_a_top_up_through_the_pos_is_idempotent_and_shows_at_the_lookup(pos, member, clock):  # noqa: F811
    clock(2026, 6, 1)
    key = uuid.uuid4().hex
    status, body = pos.post(f"members/{member.member_no}/stored-value/top-up",
                            {"amount": "1000.00", "method": "wechat_pay"}, idem=key)
    assert status == 201, body
    assert body["principal"] == "1000.00" and body["bonus"] == "100.00"
    assert body["stored_value"]["balance"] == "1100.00" and body["stored_value"]["status"] == "active"
    again_status, again = pos.post(f"members/{member.member_no}/stored-value/top-up",
                                   {"amount": "1000.00", "method": "wechat_pay"}, idem=key)
    assert (again_status, again) == (status, body)
    assert StoredValueEntry.objects.filter(member=member).count() == 1
    status, found = pos.get("members/lookup", {"phone": member.phone})
    assert status == 200 and found["stored_value"]["balance"] == "1100.00"
    assert found["stored_value"]["principal"] == "1000.00" and found["stored_value"]["bonus"] == "100.00"


def test_a_top_up_over_the_limit_is_refused_in_chinese_and_writes_nothing(pos, member, clock):  # noqa: F811
    clock(2026, 6, 1)
    status, body = pos.post(f"members/{member.member_no}/stored-value/top-up",
                            {"amount": "6000.00", "method": "bank_card"})
    assert status == 422 and body["code"] == "top_up_over_limit"
    assert "5000.00" in body["message"] and "储值" in body["message"]
    status, body = pos.post(f"members/{member.member_no}/stored-value/top-up", {"amount": "-1", "method": "cash"})
    assert status == 422
    assert not StoredValueCard.objects.exists() and not StoredValueEntry.objects.exists()
    status, found = pos.get("members/lookup", {"phone": member.phone})
    assert found["stored_value"] is None


def test_stored_value_split_with_wechat_pay_at_checkout_and_a_retry_charges_once(pos, member, clock):  # noqa: F811
    clock(2026, 6, 1)
    pos.post(f"members/{member.member_no}/stored-value/top-up", {"amount": "1000.00", "method": "cash"})
    key = uuid.uuid4().hex
    payments = [{"method": "stored_value", "amount": "600.00"}, {"method": "wechat_pay", "amount": "400.00"}]
    status, body = pos.checkout(("SHIRT", 1), payments=payments, idem=key)
    assert status == 201, body
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("stored_value", "600.00"),
                                                                       ("wechat_pay", "400.00")]
    assert sum(D(p["amount"]) for p in body["payments"]) == D(body["total_paid"])
    replay_status, replay = pos.checkout(("SHIRT", 1), payments=payments, idem=key)
    assert (replay_status, replay["number"]) == (201, body["number"])
    assert card_of(member).balance == D("500.00")
    assert Receipt.objects.filter(member=member).count() == 1
    # 600 x 100/1100 = 54.55 bonus: points on 1000 - 54.55
    assert body["points_earned"] == 945
    status, back = pos.ret(body["number"])
    assert status == 201, back
    assert {p["method"]: p["amount"] for p in back["payments"]} == {"stored_value": "-600.00",
                                                                     "wechat_pay": "-400.00"}
    card = card_of(member)
    assert (card.principal, card.bonus) == (D("1000.00"), D("100.00"))


def test_a_spend_beyond_the_balance_is_refused_with_the_reason(pos, member, clock):  # noqa: F811
    clock(2026, 6, 1)
    pos.post(f"members/{member.member_no}/stored-value/top-up", {"amount": "100.00", "method": "cash"})
    status, body = pos.checkout(("SHIRT", 1), payments=[{"method": "stored_value"}])
    assert status == 422 and body["code"] == "stored_value_insufficient" and "100.00" in body["message"]
    assert card_of(member).balance == D("100.00") and not Receipt.objects.exists()


def test_the_members_stored_value_movements_paginated_and_bounded(pos, member, clock):  # noqa: F811
    clock(2026, 6, 1)
    for amount in ("1000.00", "200.00", "300.00"):
        status, _body = pos.post(f"members/{member.member_no}/stored-value/top-up",
                                 {"amount": amount, "method": "wechat_pay"}, idem=uuid.uuid4().hex)
        assert status == 201
    url = f"members/{member.member_no}/stored-value/movements"
    status, page1 = pos.get(url, {"page_size": 2})
    assert status == 200 and page1["total"] == 3 and len(page1["entries"]) == 2
    assert [e["amount"] for e in page1["entries"]] == ["300.00", "200.00"]  # newest first
    _s, page2 = pos.get(url, {"page_size": 2, "page": 2})
    [first] = page2["entries"]
    assert (first["kind"], first["principal"], first["bonus"]) == ("top_up", "1000.00", "100.00")
    assert first["card"].startswith("SV") and first["kind_label"]
    status, body = pos.get(url, {"page_size": 101})
    assert status == 422 and body["code"] == "invalid_parameter"
    status, body = pos.get("members/NOSUCH/stored-value/movements")
    assert status == 404


def test_movements_show_only_the_cards_the_keys_store_serves(pos, member, clock):  # noqa: F811
    from membercare.storedvalue.models import StoredValueCard, StoredValueEntry

    clock(2026, 6, 1)
    status, _body = pos.post(f"members/{member.member_no}/stored-value/top-up",
                             {"amount": "500.00", "method": "wechat_pay"}, idem=uuid.uuid4().hex)
    assert status == 201
    url = f"members/{member.member_no}/stored-value/movements"
    assert pos.get(url)[1]["total"] == 1
    StoredValueCard.objects.filter(member=member).update(scope="OTHERBRAND")  # another brand's card (brand scopes)
    status, body = pos.get(url)
    assert status == 200 and body["total"] == 0 and body["entries"] == []
    assert StoredValueEntry.objects.filter(member=member).count() == 1
