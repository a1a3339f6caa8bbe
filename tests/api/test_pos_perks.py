"""The POS API's perks (issue 19 part 1): the lookup says what is left, a use is recorded once per
Idempotency-Key and refused past the quota, a checkout may use perks and its receipt lists them."""

import uuid

from membercare.loyalty.models import PerkUse
from tests.api.conftest import Pos, clock, hq_admin, keys, pos  # noqa: F401


def _elite(pos):  # noqa: F811
    status, body = pos.checkout(("SUIT", 1))  # ¥5,000 of business wear: elite card
    assert status == 201, body
    return body["card"]["number"]


def test_the_lookup_lists_the_perks_left_and_a_use_is_idempotent(pos, member, clock):  # noqa: F811
    clock(2026, 5, 10)
    card = _elite(pos)
    status, found = pos.get("members/lookup", {"card": card})
    assert status == 200
    assert found["perks"] == [{"code": "alteration", "name": "免费改衣", "quota": 2, "period": "season", "used": 0,
                               "left": 2, "period_end": "2026-06-30"}]
    key = uuid.uuid4().hex
    path = f"members/{member.member_no}/perks/alteration/use"
    status, body = pos.post(path, {"note": "裤脚改短", "clerk": "c1"}, idem=key)
    assert status == 201, body
    assert body["perk"]["used"] == 1 and body["perk"]["left"] == 1 and body["card_number"] == card
    assert pos.post(path, {"note": "裤脚改短", "clerk": "c1"}, idem=key) == (status, body)  # replayed
    assert PerkUse.objects.count() == 1
    status, body = pos.post(path, {"note": "袖长"}, idem=key)  # same key, another request
    assert status == 409
    assert pos.post(path, {})[0] == 201
    status, body = pos.post(path, {})
    assert status == 422
    assert body["code"] == "perk_quota_used" and body["message"] == "本季度免费改衣已用 2 次（每季度 2 次）。"
    assert PerkUse.objects.count() == 2
    assert pos.get("members/lookup", {"card": card})[1]["perks"][0]["left"] == 0


def test_refusals_and_bounds(pos, member, clock):  # noqa: F811
    clock(2026, 5, 10)
    status, body = pos.post(f"members/{member.member_no}/perks/alteration/use", {})
    assert (status, body["code"]) == (422, "perk_no_card")
    _elite(pos)
    status, body = pos.post(f"members/{member.member_no}/perks/airport/use", {})
    assert (status, body["code"]) == (422, "perk_not_on_card")
    status, body = pos.post(f"members/{member.member_no}/perks/{'x' * 31}/use", {})
    assert status == 422
    status, body = pos.post(f"members/{member.member_no}/perks/alteration/use", {"note": "x" * 201})
    assert status == 422
    assert pos.post(f"members/{member.member_no}/perks/alteration/use", {}, idem=None)[0] in (400, 422)
    assert pos.post("members/M99999999/perks/alteration/use", {})[0] == 404
    assert not PerkUse.objects.exists()


def test_a_checkout_uses_perks_and_the_receipt_lists_them(pos, member, clock):  # noqa: F811
    clock(2026, 5, 10)
    card = _elite(pos)
    status, body = pos.checkout(("SHIRT", 1), card=card, perks=["alteration", "alteration"])
    assert (status, body["code"]) == (422, "perks_invalid")
    status, body = pos.checkout(("SHIRT", 1), card=card, perks=["alteration"])
    assert status == 201, body
    assert body["perks_used"] == ["alteration"]
    status, detail = pos.get(f"receipts/{body['number']}")
    assert detail["perks_used"] == ["alteration"]
    status, body = pos.checkout(("SHIRT", 1), card=card, perks=[f"p{i}" for i in range(11)])
    assert status == 422
    assert PerkUse.objects.count() == 1


def test_a_quote_checks_the_perks_and_writes_nothing(pos, member, clock):  # noqa: F811
    clock(2026, 5, 10)
    card = _elite(pos)
    assert pos.quote(("SHIRT", 1), card=card, perks=["alteration"])[0] == 200
    status, body = pos.quote(("SHIRT", 1), card=card, perks=["airport"])
    assert (status, body["code"]) == (422, "perk_not_on_card")
    assert not PerkUse.objects.exists()
