"""Gift cards through the POS API: a sale that activates cards (idempotent, refusals with nothing written),
spending as a checkout payment alone or split (a retry charges once), a return that credits the card back,
the OpenAPI schema saying so."""

import uuid
from decimal import Decimal

from membercare.core.crypto import decrypt
from membercare.storedvalue.giftcard_batches import batch_create
from membercare.storedvalue.giftcards import code_hash, display_code, new_code
from membercare.storedvalue.models import GiftCard, GiftCardEntry, GiftCardSale
from tests.api.conftest import Pos, clock, hq_admin, keys, pos  # noqa: F401

D = Decimal


def batch(hq_admin, n=2, scope="", face="500.00"):  # noqa: F811
    b = batch_create(by=hq_admin, name="礼品卡", face_value=D(face), count=n, valid_days=1095, scope=scope)
    return [decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=b).order_by("serial")]


def test_selling_gift_cards_is_idempotent_and_refusals_write_nothing(pos, hq_admin, clock):  # noqa: F811
    clock(2026, 6, 1)
    codes = batch(hq_admin)
    key = uuid.uuid4().hex
    body = {"codes": [display_code(c) for c in codes], "method": "wechat_pay"}
    status, out = pos.post("gift-cards/sell", body, idem=key)
    assert status == 201, out
    assert out["total"] == "1000.00" and [c["balance"] for c in out["cards"]] == ["500.00", "500.00"]
    assert out["cards"][0]["valid_until"] == "2029-05-31" and out["cards"][0]["code_last4"] == codes[0][-4:]
    assert pos.post("gift-cards/sell", body, idem=key) == (status, out)
    assert GiftCardSale.objects.count() == 1 and GiftCardEntry.objects.count() == 2
    status, refused = pos.post("gift-cards/sell", body)  # sold already
    assert status == 422 and refused["code"] == "gift_card_already_active" and "已于" in refused["message"]
    status, refused = pos.post("gift-cards/sell", {"codes": [new_code()], "method": "stored_value"})
    assert status == 422 and refused["code"] == "gift_card_method_invalid"
    status, refused = pos.post("gift-cards/sell", {"codes": ["x"] * 51, "method": "cash"})
    assert status == 422
    assert GiftCardSale.objects.count() == 1 and GiftCardEntry.objects.count() == 2


def test_a_gift_card_pays_split_with_wechat_retry_charges_once_and_a_return_credits_it(pos, hq_admin,  # noqa: F811
                                                                                       member, clock):  # noqa: F811
    clock(2026, 6, 1)
    codes = batch(hq_admin)
    pos.post("gift-cards/sell", {"codes": codes, "method": "cash"})
    key = uuid.uuid4().hex
    payments = [{"method": "gift_card", "amount": "400.00", "code": display_code(codes[0])},
                {"method": "wechat_pay", "amount": "600.00"}]
    status, receipt = pos.checkout(("SHIRT", 1), payments=payments, idem=key)
    assert status == 201, receipt
    assert [(p["method"], p["amount"]) for p in receipt["payments"]] == [("gift_card", "400.00"),
                                                                         ("wechat_pay", "600.00")]
    assert pos.checkout(("SHIRT", 1), payments=payments, idem=key)[1]["number"] == receipt["number"]
    card = GiftCard.objects.get(code_hash=code_hash(codes[0]))
    assert card.balance == D("100.00") and card.member.phone == member.phone
    status, refused = pos.checkout(("SHIRT", 1), payments=payments)
    assert status == 422 and refused["code"] == "gift_card_insufficient" and "100.00" in refused["message"]
    status, refused = pos.checkout(("SHIRT", 1), payments=[{"method": "gift_card", "code": new_code()}])
    assert status == 422 and refused["code"] == "gift_card_unknown" and refused["field"] == "payments"
    status, ret = pos.ret(receipt["number"])
    assert status == 201, ret
    card.refresh_from_db()
    assert card.balance == D("500.00")
    # a walk-in pays with the other card and cash; the card stays anonymous
    status, walk_in = pos.checkout(("BELT", 1), walk_in=True, payments=[
        {"method": "gift_card", "code": codes[1], "amount": "500.00"}, {"method": "cash", "amount": "499.00"}])
    assert status == 201 and walk_in["payments"][0]["amount"] == "500.00", walk_in
    other = GiftCard.objects.get(code_hash=code_hash(codes[1]))
    assert other.balance == D("0.00") and other.member is None


def test_the_openapi_schema_names_the_gift_card_endpoint_and_code(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/pos/gift-cards/sell" in schema["paths"]
    payment = schema["components"]["schemas"]["PaymentIn"]["properties"]
    assert "code" in payment


def test_a_gift_cards_balance_is_checked_by_its_code_in_the_body(pos, keys, client, hq_admin, clock):  # noqa: F811
    clock(2026, 6, 1)
    codes = batch(hq_admin, n=1)
    jd = batch(hq_admin, n=1, scope="JUEDU")
    status, out = pos.post("gift-cards/check", {"code": codes[0]}, idem=None)
    assert status == 200 and out["status"] == "new" and out["balance"] == "0.00"
    pos.post("gift-cards/sell", {"codes": codes, "method": "cash"})
    status, out = pos.post("gift-cards/check", {"code": display_code(codes[0]).lower()}, idem=None)
    assert status == 200 and out["balance"] == "500.00" and out["valid_until"] == "2029-05-31"
    status, out = pos.post("gift-cards/check", {"code": new_code()}, idem=None)
    assert status == 422 and out["code"] == "gift_card_unknown"
    status, out = pos.post("gift-cards/check", {"code": jd[0]}, idem=None)
    assert status == 422 and out["code"] == "gift_card_other_scope" and "爵度" in out["message"]
    assert GiftCardEntry.objects.count() == 1
