"""The POS endpoints' answers: lookup, quote (writes nothing), card status, points history, clerk, OpenAPI."""

from membercare.loyalty.models import Card, LoyaltyAccount, PointsEntry
from membercare.org.models import Role
from membercare.sales.models import Receipt
from tests.factories import StaffFactory


def test_lookup_of_a_member_without_a_card_yet(pos):
    status, body = pos.get("members/lookup", {"phone": "13800001234"})
    assert status == 200
    assert body == {"member_no": body["member_no"], "name": "王芳", "phone": "138****1234", "card": None, "tier": "",
                    "points": 0, "stored_value": None,  # no stored-value card yet (issue 21)
                    "progress": [{"brand": "MAIN", "next_tier": "elite", "window_days": 365, "paid": "0.00",
                                  "goal": "8000.00", "short": "8000.00", "single_receipt": None}],
                    "perks": []}  # an accumulation card (none yet) has no perks


def test_lookup_shows_the_progress_to_the_next_card(pos, clock):
    clock(2026, 6, 1)
    pos.checkout(("SUIT", 1))  # ¥5,000 in the business series: an elite card at once
    clock(2026, 6, 2)
    status, body = pos.get("members/lookup", {"phone": "13800001234"})
    assert status == 200 and body["tier"] == "elite"
    assert body["progress"] == [{"brand": "MAIN", "next_tier": "diamond", "window_days": 365, "paid": "5000.00",
                                 "goal": "20000.00", "short": "15000.00", "single_receipt": "15000.00"}]


def test_a_quote_writes_nothing(pos, clock):
    clock(2026, 6, 1)
    number = pos.checkout(("SUIT", 1))[1]["card"]["number"]
    before = (Receipt.objects.count(), PointsEntry.objects.count(), Card.objects.count())
    status, quote = pos.quote(("SHIRT", 1), ("BELT", 2), card=number, redeem_points=1000)
    assert status == 200
    assert quote["total_full_price"] == "2998.00" and quote["total_paid"] == "2548.30"
    assert quote["points_offset"] == "10.00" and quote["to_pay"] == "2538.30" and quote["points_earned"] == 2538
    assert quote["member"]["points"] == 5000 and quote["tier"] == "elite"
    assert (Receipt.objects.count(), PointsEntry.objects.count(), Card.objects.count()) == before
    assert LoyaltyAccount.objects.get().points == 5000


def test_card_status(pos, clock):
    clock(2026, 6, 1)
    number = pos.checkout(("SHIRT", 1))[1]["card"]["number"]
    status, body = pos.get(f"cards/{number.lower()}")
    assert status == 200 and body["usable_here"] is True and body["code"] is None
    assert body["card"]["kind"] == "accumulation" and body["card"]["status"] == "active"


def test_points_history_is_paginated_newest_first(pos, clock):
    for day in (1, 2, 3):
        clock(2026, 6, day)
        pos.checkout(("BELT", 1))
    member_no = pos.get("members/lookup", {"phone": "13800001234"})[1]["member_no"]
    status, page1 = pos.get(f"members/{member_no}/points", {"page_size": 2})
    assert status == 200 and page1["total"] == 3 and page1["balance"] == 2997
    assert len(page1["entries"]) == 2 and page1["entries"][0]["created_at"].startswith("2026-06-03")
    assert page1["entries"][0]["kind"] == "earn" and page1["entries"][0]["receipt"].startswith("SH01-")
    _s, page2 = pos.get(f"members/{member_no}/points", {"page_size": 2, "page": 2})
    assert [e["created_at"][:10] for e in page2["entries"]] == ["2026-06-01"]


def test_the_clerk_is_recorded_when_given(pos, chain, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SHIRT", 1), clerk="c1")
    assert status == 201 and Receipt.objects.get().clerk == chain.clerk
    StaffFactory(username="far", role=Role.CLERK, stores=[chain.shop2])
    status, body = pos.checkout(("SHIRT", 1), clerk="far")
    assert status == 422 and body["code"] == "clerk_unknown" and body["field"] == "clerk"
    assert Receipt.objects.count() == 1


def test_money_is_a_string_with_two_decimals(pos, clock):
    clock(2026, 6, 1)
    _s, body = pos.checkout(("SHIRT", 2))
    assert body["total_paid"] == "2000.00" and body["lines"][0]["full_price"] == "2000.00"
    assert body["points_offset"] == "0.00"


def test_openapi_documents_the_pos_api(client, db):
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/pos/checkout", "/api/pos/quote", "/api/pos/members/lookup", "/api/pos/cards/{number}",
                 "/api/pos/members/{member_no}/points", "/api/pos/receipts/{number}/return"):
        assert path in schema["paths"], path
    params = {p["name"] for p in schema["paths"]["/api/pos/checkout"]["post"]["parameters"]}
    assert "Idempotency-Key" in params
    assert client.get("/api/docs").status_code == 200
