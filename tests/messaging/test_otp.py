"""One-time SMS codes (messaging.otp): 6 digits, only a hash kept, expiry, single use, a few wrong tries,
rate limits per phone and per client address with clear refusals, sent at once as a transactional message
(no consent, no cap, no quiet hours, recorded like other messages, the code never in the record), verified in
constant time and consumed atomically (two verifies at once: one wins, on PostgreSQL)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from membercare.messaging import otp
from membercare.messaging.models import Message, MessageStatus, OneTimeCode, OptOut
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = dt.datetime(2026, 6, 1, 23, 30, tzinfo=TZ)  # inside quiet hours: a code goes anyway
PHONE = "13812345678"


@pytest.fixture
def member(db):
    return MemberFactory(phone=PHONE, consent_sms=False)  # no marketing consent


def send(member, outbox, capture, **kw):
    with capture(execute=True):
        result = otp.code_send(member.phone if member else PHONE, kw.pop("purpose", "member_login"), **kw)
    sms = outbox()
    code = re.search(r"\d{6}", sms[-1]["body"]).group() if result.sent else None
    return result, code


def test_a_code_is_sent_at_once_recorded_without_the_code_and_kept_hashed(member, outbox,
                                                                          django_capture_on_commit_callbacks):
    OptOut.objects.create(member=member, channel="sms", at=NIGHT)  # the member asked for it: it still goes
    with time_machine.travel(NIGHT, tick=False):
        result, code = send(member, outbox, django_capture_on_commit_callbacks, ip="10.0.0.8")
    assert result.sent and result.expires_at == NIGHT + dt.timedelta(minutes=5)
    sms = outbox()
    assert len(sms) == 1 and sms[0]["to"] == PHONE and "验证码" in sms[0]["body"] and "5分钟" in sms[0]["body"]
    message = Message.objects.get(pk=result.message_id)
    assert message.category == "verification" and not message.is_marketing and message.member == member
    assert message.status == MessageStatus.SENT and message.sent_at is not None
    assert code not in message.body and code not in str(message.params) and "******" in message.body
    row = OneTimeCode.objects.get()
    assert code not in row.code_hash and row.ip == "10.0.0.8" and row.member == member
    assert len(code) == 6 and code.isdigit()


def test_verify_is_single_use_bound_and_counts_wrong_tries(member, outbox, django_capture_on_commit_callbacks):
    _result, code = send(member, outbox, django_capture_on_commit_callbacks)
    other = MemberFactory(phone="13900001111")
    assert not otp.code_verify(PHONE, "stored_value_spend", code)  # another purpose
    assert not otp.code_verify(PHONE, "member_login", code, member=other)  # bound to the member
    assert otp.code_pending(PHONE, "member_login", member=member)
    assert otp.code_verify(PHONE, "member_login", code, member=member)
    assert not otp.code_verify(PHONE, "member_login", code)  # used once
    assert not otp.code_pending(PHONE, "member_login")


def test_wrong_tries_use_the_code_up_and_it_expires(member, outbox, django_capture_on_commit_callbacks):
    start = dt.datetime(2026, 6, 2, 10, tzinfo=TZ)
    with time_machine.travel(start, tick=False):
        _r, code = send(member, outbox, django_capture_on_commit_callbacks)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert not otp.code_verify(PHONE, "member_login", wrong)
        assert OneTimeCode.objects.get().failures == 5
        assert not otp.code_verify(PHONE, "member_login", code)  # no tries left: even the right code fails
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        _r, code = send(member, outbox, django_capture_on_commit_callbacks)
    with time_machine.travel(start + dt.timedelta(minutes=7, seconds=1), tick=False):
        assert not otp.code_verify(PHONE, "member_login", code)  # expired after 5 minutes
        assert OneTimeCode.objects.filter(used_at__isnull=False).count() == 0


def test_rate_limits_per_phone_and_per_address_with_clear_refusals(member, outbox,
                                                                   django_capture_on_commit_callbacks):
    start = dt.datetime(2026, 6, 3, 10, tzinfo=TZ)
    with time_machine.travel(start, tick=False):
        send(member, outbox, django_capture_on_commit_callbacks)
    with time_machine.travel(start + dt.timedelta(seconds=20), tick=False), pytest.raises(otp.CodeRefused) as exc:
        send(member, outbox, django_capture_on_commit_callbacks)
    assert exc.value.code == "code_too_soon" and exc.value.retry_after == 41 and "41" in exc.value.message
    assert "秒" in exc.value.message
    for i in range(1, 5):
        with time_machine.travel(start + dt.timedelta(minutes=2 * i), tick=False):
            send(member, outbox, django_capture_on_commit_callbacks)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False), pytest.raises(otp.CodeRefused) as exc:
        send(member, outbox, django_capture_on_commit_callbacks)
    assert exc.value.code == "code_too_many" and "小时" in exc.value.message
    assert OneTimeCode.objects.count() == 5 and len(outbox()) == 5  # a refusal writes and sends nothing
    # one address asking for many phones
    for i in range(20):
        with time_machine.travel(start + dt.timedelta(minutes=20, seconds=i), tick=False):
            otp.code_send(f"1390000{i:04d}", "member_login", ip="192.0.2.9")
    with time_machine.travel(start + dt.timedelta(minutes=21), tick=False), pytest.raises(otp.CodeRefused) as exc:
        otp.code_send("13700000000", "member_login", ip="192.0.2.9")
    assert exc.value.code == "code_too_many_from_address"


def test_bad_input_is_refused_and_a_phone_without_a_member_gets_nothing(db, outbox,
                                                                        django_capture_on_commit_callbacks):
    with pytest.raises(otp.CodeRefused) as exc:
        otp.code_send("12345", "member_login")
    assert exc.value.code == "phone_invalid" and exc.value.field == "phone"
    with pytest.raises(otp.CodeRefused) as exc:
        otp.code_send(PHONE, "DROP TABLE")
    assert exc.value.code == "code_purpose_unknown"
    assert not OneTimeCode.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        result = otp.code_send("13911112222", "member_login")  # nobody's phone: same answer, nothing sent
    assert not result.sent and outbox() == [] and not Message.objects.exists()
    assert not otp.code_verify("13911112222", "member_login", "000000")
    assert not otp.code_verify("not a phone", "member_login", "000000")


def test_the_marketing_cap_and_quiet_hours_do_not_hold_a_code(member, outbox, django_capture_on_commit_callbacks,
                                                             settings):
    settings.MEMBERCARE_OTP_PER_PHONE_MINUTE = 0  # limits off for this test: codes in a row
    settings.MEMBERCARE_OTP_PER_PHONE_HOUR = 0
    with time_machine.travel(NIGHT, tick=False):
        for _ in range(4):  # more than the weekly cap of 2
            send(member, outbox, django_capture_on_commit_callbacks)
    assert len(outbox()) == 4
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_two_verifies_at_once_one_wins(member, outbox):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions are tested on PostgreSQL")
    from tests.loyalty.test_concurrency import run_together

    otp.code_send(PHONE, "member_login")  # autocommit: sent at once
    code = re.search(r"\d{6}", outbox()[-1]["body"]).group()
    results = run_together([lambda: otp.code_verify(PHONE, "member_login", code) for _ in range(8)])
    assert sorted(results) == [False] * 7 + [True], results
    assert OneTimeCode.objects.get().used_at is not None
