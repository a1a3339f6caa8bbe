"""The member code (会员密码): a stored-value spend above `member_code_above` needs the member's right code; a
wrong one is refused with the reason and counted in its own transaction (the refused sale's rollback keeps the
count), the code locks after `member_code_tries` wrong tries for `member_code_lock_minutes`, and the lock runs
out. Transactional tests: the count is written on a connection of its own, which sees only committed rows."""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.hashers import check_password
from django.db import connection

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, checkout_post
from membercare.core.sequences import reserve_numbers
from membercare.sales.models import Receipt
from membercare.storedvalue.member_code import member_code_set
from membercare.storedvalue.models import StoredValueCard, StoredValueEntry
from membercare.storedvalue.topup import top_up
from membercare.storedvalue.writes import StoredValueError
from tests.api.conftest import Pos, hq_admin, keys  # noqa: F401
from tests.loyalty.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
CODE = "482915"
START = dt.datetime(2026, 6, 2, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _ready(db):
    reserve_numbers("receipt")
    reserve_numbers("stored_value_card")
    payment_methods_ensure_default()


@pytest.fixture
def card(chain, member):
    done = top_up(member=member, amount=D("2000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
                  at=START - dt.timedelta(days=1))
    return member_code_set(card=done.card, code=CODE, by=chain.clerk, store=chain.shop)


def fresh(card):
    return StoredValueCard.objects.get(pk=card.pk)


def refused(call) -> CheckoutError:
    with pytest.raises(CheckoutError) as info:
        call()
    return info.value


def test_a_new_code_keeps_an_active_lock_and_only_the_stores_own_card(chain, member, card):
    from django.utils import timezone

    locked_until = timezone.now() + dt.timedelta(minutes=20)
    StoredValueCard.objects.filter(pk=card.pk).update(code_failures=5, code_locked_until=locked_until)
    member_code_set(card=fresh(card), code="481592", by=chain.clerk, store=chain.shop)
    after = fresh(card)
    assert after.code_failures == 0 and after.code_locked_until == locked_until  # no bypass by resetting
    other = StoredValueCard.objects.filter(pk=card.pk)
    other.update(scope="OTHER")  # a card of another brand's scope
    with pytest.raises(StoredValueError) as refused:
        member_code_set(card=fresh(card), code="481593", by=chain.clerk, store=chain.shop)
    assert refused.value.error_code == "stored_value_other_scope"


def test_the_code_is_kept_hashed_and_must_be_six_digits(chain, card):
    stored = fresh(card).code_hash
    assert CODE not in stored and stored.startswith(("pbkdf2", "argon2", "bcrypt", "md5", "scrypt"))
    assert check_password(CODE, stored)
    for bad, code in (("12345", "member_code_invalid"), ("12a456", "member_code_invalid"),
                      ("111111", "member_code_too_simple"), ("123456", "member_code_too_simple")):
        exc = refused(lambda b=bad: member_code_set(card=card, code=b, by=chain.clerk, store=chain.shop))
        assert exc.error_code == code and "会员密码" in exc.text
    assert fresh(card).code_hash == stored  # nothing written


def test_at_or_below_the_limit_no_code_is_asked(chain, member, card):
    with time_machine.travel(START, tick=False):
        receipt = checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                                payments=[PaymentIn("stored_value")])  # ¥1000.00: not above ¥1000
    assert receipt.pk and fresh(card).balance == D("1100.00")


def test_the_right_code_passes_and_a_missing_code_is_refused(chain, member, card):
    with time_machine.travel(START, tick=False):
        exc = refused(lambda: checkout_post(store=chain.shop, clerk=None, phone=member.phone,
                                            lines=[LineIn("SHIRT", 2)], payments=[PaymentIn("stored_value")]))
        assert exc.error_code == "member_code_required" and "会员密码" in exc.text and "1000.00" in exc.text
        assert not Receipt.objects.exists() and fresh(card).code_failures == 0
        receipt = checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                                payments=[PaymentIn("stored_value")], member_code=CODE)
    assert receipt.pk and fresh(card).balance < D("2100.00")


def test_a_member_without_a_code_is_told_to_set_one(chain, member):
    top_up(member=member, amount=D("2000.00"), method="bank_card", store=chain.shop, by=chain.clerk)
    exc = refused(lambda: checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                                        payments=[PaymentIn("stored_value")], member_code="482915"))
    assert exc.error_code == "member_code_not_set" and not Receipt.objects.exists()


def test_a_wrong_code_is_refused_counted_and_nothing_else_written(chain, member, card):
    entries = StoredValueEntry.objects.count()
    with time_machine.travel(START, tick=False):
        exc = refused(lambda: checkout_post(store=chain.shop, clerk=None, phone=member.phone,
                                            lines=[LineIn("SHIRT", 2)], payments=[PaymentIn("stored_value")],
                                            member_code="000001"))
    assert exc.error_code == "member_code_wrong" and "会员密码错误" in exc.text and "4" in exc.text
    after = fresh(card)
    assert after.code_failures == 1 and after.code_locked_until is None  # kept although the sale rolled back
    assert (after.principal, after.bonus) == (card.principal, card.bonus)
    assert not Receipt.objects.exists() and StoredValueEntry.objects.count() == entries


def test_the_code_locks_after_the_tries_and_the_lock_runs_out(chain, member, card):
    suit = {"store": chain.shop, "clerk": None, "phone": member.phone, "lines": [LineIn("SHIRT", 2)],
            "payments": [PaymentIn("stored_value")]}
    with time_machine.travel(START, tick=False):
        codes = [refused(lambda: checkout_post(**suit, member_code="999990")).error_code for _ in range(5)]
        assert codes == ["member_code_wrong"] * 4 + ["member_code_locked"]
        locked = fresh(card)
        assert locked.code_failures == 5 and locked.code_locked_until == START + dt.timedelta(minutes=30)
        exc = refused(lambda: checkout_post(**suit, member_code=CODE))  # even the right code, while locked
        assert exc.error_code == "member_code_locked" and "10:30" in exc.text
        assert fresh(card).code_failures == 5  # a try while locked is not evaluated
    with time_machine.travel(START + dt.timedelta(minutes=29), tick=False):
        assert refused(lambda: checkout_post(**suit, member_code=CODE)).error_code == "member_code_locked"
    with time_machine.travel(START + dt.timedelta(minutes=31), tick=False):
        assert refused(lambda: checkout_post(**suit, member_code="999990")).error_code == "member_code_wrong"
        assert fresh(card).code_failures == 1  # the count started again when the lock ran out
        receipt = checkout_post(**suit, member_code=CODE)
    after = fresh(card)
    assert receipt.pk and after.code_failures == 0 and after.code_locked_until is None  # right code: reset


def test_a_wrong_code_through_the_pos_api_is_a_clear_422(client, chain, member, card, keys):  # noqa: F811
    pos = Pos(client, keys[chain.shop.code])
    body = {"phone": member.phone, "lines": [{"sku": "SHIRT", "quantity": 2}],
            "payments": [{"method": "stored_value"}], "member_code": "000001"}
    status, out = pos.post("checkout", body, idem=uuid.uuid4().hex)
    assert status == 422 and out["code"] == "member_code_wrong" and "会员密码错误" in out["message"]
    assert fresh(card).code_failures == 1 and not Receipt.objects.exists()
    key = uuid.uuid4().hex
    status, out = pos.post("checkout", {**body, "member_code": CODE}, idem=key)
    assert status == 201, out
    assert fresh(card).code_failures == 0
    # the member code is left out of the stored request hash (no offline guessing of the PIN against it): a retry
    # with the same key is the same request whatever code it carries — the first answer, nothing counted
    status, again = pos.post("checkout", {**body, "member_code": "000001"}, idem=key)
    assert status == 201 and again == out and fresh(card).code_failures == 0


def test_concurrent_wrong_tries_never_pass_the_threshold_unseen(chain, member, card):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions are tested on PostgreSQL")
    tries = 12  # more than member_code_tries (5), from two stores at once

    def attempt(i):
        store = chain.shop if i % 2 else chain.shop2
        return lambda: checkout_post(store=store, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 2)],
                                     payments=[PaymentIn("stored_value")], member_code=f"{900000 + i}")

    results = run_together([attempt(i) for i in range(tries)])
    codes = [getattr(r, "error_code", repr(r)) for r in results]
    assert set(codes) <= {"member_code_wrong", "member_code_locked"}, codes
    with connection.cursor() as cur:  # the invariant in SQL: at most `tries` wrong codes were evaluated
        cur.execute("SELECT code_failures, code_locked_until IS NOT NULL FROM storedvalue_storedvaluecard "
                    "WHERE id = %s", [card.pk])
        failures, locked = cur.fetchone()
        cur.execute("SELECT count(*) FROM sales_receipt")
        assert cur.fetchone()[0] == 0
    assert failures == 5 and locked
    assert codes.count("member_code_wrong") == 4 and codes.count("member_code_locked") == tries - 4
