"""The member code of a stored-value spend may be a one-time SMS code instead of the card's PIN: sent from the
counter's "发送验证码" button or `POST /api/pos/members/{no}/stored-value/code`, bound to the member, used once;
a wrong one counts toward the card's lock-out like a wrong PIN. Transactional tests: the SMS leaves after the
commit, and the count of wrong tries is written on a connection of its own."""

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, checkout_post
from membercare.core.sequences import reserve_numbers
from membercare.messaging.backends import reset_backends
from membercare.messaging.models import Message, OneTimeCode
from membercare.sales.models import Receipt
from membercare.storedvalue.lost_cards import freeze, unfreeze
from membercare.storedvalue.member_code import member_code_send, member_code_set
from membercare.storedvalue.models import StoredValueCard
from membercare.storedvalue.topup import top_up
from tests.api.conftest import Pos, hq_admin, keys  # noqa: F401
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
START = dt.datetime(2026, 6, 2, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _ready(db, settings, tmp_path):
    reserve_numbers("receipt")
    reserve_numbers("stored_value_card")
    payment_methods_ensure_default()
    settings.MESSAGING_BACKENDS = {**settings.MESSAGING_BACKENDS, "sms": {
        "class": "membercare.messaging.backends.outbox.OutboxBackend", "path": str(tmp_path / "sms.jsonl")}}
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def sms(tmp_path):
    def read():
        path = tmp_path / "sms.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return read


@pytest.fixture
def card(chain, member):  # ¥2,100 on the card and no PIN set: only an SMS code can pay above ¥1,000
    return top_up(member=member, amount=D("2000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
                  at=START - dt.timedelta(days=1)).card


def fresh(card):
    return StoredValueCard.objects.get(pk=card.pk)


def last_code(sms) -> str:
    return re.search(r"\d{6}", sms()[-1]["body"]).group()


def pay(chain, member, code, store=None):
    return checkout_post(store=store or chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                         payments=[PaymentIn("stored_value")], member_code=code)


def refused(call) -> CheckoutError:
    with pytest.raises(CheckoutError) as info:
        call()
    return info.value


def test_an_sms_code_pays_once_for_its_member_without_a_pin(chain, member, card, sms):
    with time_machine.travel(START, tick=False):
        assert refused(lambda: pay(chain, member, "")).error_code == "member_code_not_set"  # no PIN, no code out
        sent = member_code_send(member=member, store=chain.shop, by=chain.clerk, ip="10.1.1.1")
        assert sent.sent and sms()[-1]["to"] == member.phone and "储值卡支付" in sms()[-1]["body"]
        code = last_code(sms)
        assert refused(lambda: pay(chain, member, "")).error_code == "member_code_required"
        receipt = pay(chain, member, code)
        assert receipt.pk and fresh(card).balance == D("100.00")
        assert OneTimeCode.objects.get().used_at is not None
        # used up: the same code pays no second sale (and with no PIN and no code out, the member is told)
        top_up(member=member, amount=D("2000.00"), method="bank_card", store=chain.shop, by=chain.clerk)
        assert refused(lambda: pay(chain, member, code)).error_code == "member_code_not_set"
    message = Message.objects.get(category="verification")
    assert code not in message.body and message.member == member and message.store == chain.shop


def test_the_code_is_bound_to_its_member(chain, member, card, sms):
    other = MemberFactory(name="李雷", phone="13900005555", home_store=chain.shop)
    top_up(member=other, amount=D("2000.00"), method="bank_card", store=chain.shop, by=chain.clerk)
    member_code_set(card=other.stored_value_cards.get(), code="482915", by=chain.clerk, store=chain.shop)
    with time_machine.travel(START, tick=False):
        member_code_send(member=member, store=chain.shop, by=chain.clerk)
        exc = refused(lambda: pay(chain, other, last_code(sms)))
    assert exc.error_code == "member_code_wrong" and other.stored_value_cards.get().code_failures == 1


def test_wrong_sms_codes_count_toward_the_same_lock_out_and_a_locked_card_gets_no_code(chain, member, card, sms):
    member_code_set(card=card, code="482915", by=chain.clerk, store=chain.shop)  # with a PIN set too
    with time_machine.travel(START, tick=False):
        member_code_send(member=member, store=chain.shop, by=chain.clerk)
        code = last_code(sms)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        wrong = wrong if wrong != "482915" else f"{(int(code) + 2) % 1_000_000:06d}"
        codes = [refused(lambda: pay(chain, member, wrong)).error_code for _ in range(5)]
        assert codes == ["member_code_wrong"] * 4 + ["member_code_locked"]
        assert fresh(card).code_failures == 5
        assert refused(lambda: pay(chain, member, code)).error_code == "member_code_locked"  # even the right one
        exc = refused(lambda: member_code_send(member=member, store=chain.shop, by=chain.clerk))
        assert exc.error_code == "member_code_locked"
    assert len(sms()) == 1 and not Receipt.objects.exists()


def test_sending_is_refused_with_the_reason(chain, member, card, sms):
    no_card = MemberFactory(name="韩梅梅", phone="13900006666", home_store=chain.shop)
    assert refused(lambda: member_code_send(member=no_card, store=chain.shop, by=chain.clerk)
                   ).error_code == "stored_value_none"
    freeze(card=card, by=chain.clerk, reason="挂失", store=chain.shop)
    assert refused(lambda: member_code_send(member=member, store=chain.shop, by=chain.clerk)
                   ).error_code == "stored_value_frozen"
    unfreeze(card=card, by=chain.clerk, store=chain.shop)
    with time_machine.travel(START, tick=False):
        member_code_send(member=member, store=chain.shop, by=chain.clerk)
    with time_machine.travel(START + dt.timedelta(seconds=30), tick=False):
        exc = refused(lambda: member_code_send(member=member, store=chain.shop, by=chain.clerk))
    assert exc.error_code == "code_too_soon" and exc.retry_after == 31 and "31 秒" in exc.text
    assert len(sms()) == 1


def test_the_pos_api_sends_the_code_and_the_checkout_takes_it(client, chain, member, card, keys, sms):  # noqa: F811
    pos = Pos(client, keys[chain.shop.code])
    key = uuid.uuid4().hex
    status, out = pos.post(f"members/{member.member_no}/stored-value/code", {}, idem=key)
    assert status == 201, out
    assert out["member_no"] == member.member_no and out["phone"] == f"{member.phone[:3]}****{member.phone[-4:]}"
    assert out["valid_minutes"] == 5 and dt.datetime.fromisoformat(out["valid_until"]) > timezone.now()
    assert len(sms()) == 1
    again = pos.post(f"members/{member.member_no}/stored-value/code", {}, idem=key)
    assert again == (status, out) and len(sms()) == 1  # a retry never sends a second code
    status, limited = pos.post(f"members/{member.member_no}/stored-value/code", {})
    assert status == 429 and limited["code"] == "code_too_soon" and "秒" in limited["message"]
    body = {"phone": member.phone, "lines": [{"sku": "SHIRT", "quantity": 2}],
            "payments": [{"method": "stored_value"}], "member_code": last_code(sms)}
    status, receipt = pos.post("checkout", body)
    assert status == 201, receipt
    assert fresh(card).balance == D("100.00")
    status, unknown = pos.post("members/M999999999/stored-value/code", {})
    assert status == 404 and unknown["code"] == "member_unknown"
    assert len(sms()) == 1


def test_the_pos_api_documents_the_endpoint(client):
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"]["/api/pos/members/{member_no}/stored-value/code"]["post"]
    assert {"201", "404", "422", "429"} <= set(op["responses"])
    assert "SMS" in op["description"] and "Idempotency-Key" in op["description"]


def test_the_counter_button_sends_the_code(client, chain, member, card, sms):
    client.force_login(chain.clerk)
    page = client.get("/checkout/").content.decode()
    assert "发送验证码" in page and 'hx-post="/checkout/member-code/"' in page
    form = {"store": chain.shop.pk, "phone": member.phone, "line-TOTAL_FORMS": "0", "line-INITIAL_FORMS": "0"}
    response = client.post("/checkout/member-code/", form)
    text = response.content.decode()
    assert response.status_code == 200 and "验证码已发送至" in text and member.phone[-4:] in text
    assert member.phone not in text and len(sms()) == 1
    again = client.post("/checkout/member-code/", form).content.decode()
    assert "秒" in again and len(sms()) == 1  # the limit, said in Chinese
    nobody = client.post("/checkout/member-code/", {"store": chain.shop.pk}).content.decode()
    assert "请先查找会员" in nobody
