"""Delivery: provider failures (timeouts, 5xx, rate limits) against a fake provider on 127.0.0.1, email
against a real SMTP server on 127.0.0.1, and a bulk send killed half-way that resumes without sending
anyone the same message twice."""

import datetime as dt
import socket

import pytest
import time_machine
from aiosmtpd.controller import Controller

from membercare.messaging.backends import reset_backends
from membercare.messaging.bulk import bulk_enqueue, bulk_preview, bulk_progress, bulk_schedule
from membercare.messaging.delivery import deliver_all, deliver_due, recover_interrupted
from membercare.messaging.models import BulkSend, Message, MessageStatus, MessageTemplate
from membercare.messaging.services import message_send
from tests.factories import MemberFactory, StaffFactory

from .conftest import at
from .fake_provider import SECRET, FakeProvider


@pytest.fixture
def aliyun(settings):
    def use(provider, timeout=0.5):
        settings.MESSAGING_BACKENDS = {**settings.MESSAGING_BACKENDS, "sms": {
            "class": "membercare.messaging.backends.aliyun.AliyunSmsBackend", "access_key_id": "test-id",
            "access_key_secret": SECRET, "sign_name": "会员之家", "endpoint": provider.url, "timeout": timeout}}
        reset_backends()
    return use


@pytest.fixture
def coded_template(db):
    return MessageTemplate.objects.create(name="生日", category="birthday", channel="sms",
                                          sms_template_code="SMS_1234", updated_at=at(2026, 11, 1),
                                          body="{title}，祝您生日快乐！{store} {clerk}")


def _queue(template, n=1):
    clerk = StaffFactory(display_name="李娜")
    return [message_send(member=MemberFactory(owner=clerk), channel="sms", template=template, category="",
                         sender=None) for _i in range(n)]


@pytest.mark.django_db
def test_provider_gets_template_code_params_and_a_valid_signature(aliyun, coded_template):
    with FakeProvider() as provider, time_machine.travel(at(2026, 11, 2, 10), tick=True):
        aliyun(provider)
        (message,) = _queue(coded_template)
        assert deliver_all()["sent"] == 1
    assert provider.bad_signatures == 0
    (sent,) = provider.accepted
    assert sent["TemplateCode"] == "SMS_1234" and sent["SignName"] == "会员之家"
    assert sent["OutId"] == str(message.pk) and sent["PhoneNumbers"] == message.to
    assert '"clerk": "李娜"' in sent["TemplateParam"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == "biz1" and message.segments == 1


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["500", "503", "429", "limit"])
def test_temporary_failures_are_retried_with_backoff(aliyun, coded_template, failure):
    with FakeProvider([failure, failure]) as provider:
        aliyun(provider)
        with time_machine.travel(at(2026, 11, 2, 10), tick=False):
            (message,) = _queue(coded_template)
            assert deliver_all() == {"sent": 0, "retry": 1, "failed": 0, "skipped": 0}
            message.refresh_from_db()
            first_wait = message.send_after - at(2026, 11, 2, 10)
            assert message.status == MessageStatus.QUEUED and message.attempts == 1 and message.last_error
            assert first_wait == dt.timedelta(seconds=7 if failure == "429" else 30)  # Retry-After, else backoff
        with time_machine.travel(message.send_after, tick=False):
            assert deliver_all()["retry"] == 1
            message.refresh_from_db()
            second_wait = message.send_after - dt.datetime.now(dt.UTC)
            assert second_wait == dt.timedelta(seconds=7 if failure == "429" else 120)  # 30 s x 4
        with time_machine.travel(message.send_after, tick=False):
            assert deliver_all()["sent"] == 1
    assert len(provider.accepted) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 3


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt(aliyun, coded_template):
    with FakeProvider(["500"] * 10) as provider:
        aliyun(provider)
        with time_machine.travel(at(2026, 11, 2, 10), tick=False):
            (message,) = _queue(coded_template)
        for _attempt in range(5):
            message.refresh_from_db()
            with time_machine.travel(message.send_after, tick=False):
                deliver_all()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 5 and "500" in message.last_error


@pytest.mark.django_db
def test_a_permanent_refusal_is_not_retried(aliyun, coded_template):
    with FakeProvider(["illegal"]) as provider, time_machine.travel(at(2026, 11, 2, 10), tick=True):
        aliyun(provider)
        (message,) = _queue(coded_template)
        assert deliver_all()["failed"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "MOBILE_NUMBER_ILLEGAL" in message.last_error
    assert provider.requests == ["SendSms"]


@pytest.mark.django_db
def test_a_timeout_after_the_provider_took_the_message_does_not_send_it_twice(aliyun, coded_template):
    with FakeProvider(["timeout"], delay=1.0) as provider, time_machine.travel(at(2026, 11, 2, 10), tick=True):
        aliyun(provider, timeout=0.3)
        (message,) = _queue(coded_template)
        assert deliver_all()["sent"] == 1  # the backend asked the provider, which had it
    assert len(provider.accepted) == 1 and provider.requests == ["SendSms", "QuerySendDetails"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_is_retried(aliyun, coded_template):
    with FakeProvider() as provider:
        url = provider.url
    aliyun(type("Gone", (), {"url": url})())  # nothing listens there any more
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        (message,) = _queue(coded_template)
        assert deliver_all()["retry"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and "connection" in message.last_error


class _Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.mark.django_db
def test_email_goes_through_a_real_smtp_server(settings):
    handler = _Collect()
    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        member = MemberFactory(email="wang@example.com", owner=StaffFactory(display_name="李娜"))
        with time_machine.travel(at(2026, 11, 2, 10), tick=True):
            message = message_send(member=member, channel="email", category="holiday", sender=None,
                                   subject="{title}，立冬快乐", body="{title}，立冬快乐，注意保暖。{store} {clerk}")
            assert deliver_all()["sent"] == 1
    finally:
        controller.stop()
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == ["wang@example.com"]
    text = envelope.content.decode()
    assert f"X-MemberCare-Message: {message.pk}" in text


@pytest.mark.django_db
def test_email_server_down_is_a_temporary_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: nothing listens
    member = MemberFactory(email="wang@example.com", owner=StaffFactory())
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        message_send(member=member, channel="email", category="holiday", sender=None, subject="你好",
                     body="{title}，冬至快乐。{store} {clerk}")
        assert deliver_all()["retry"] == 1


@pytest.mark.django_db
def test_bulk_send_killed_half_way_and_restarted_sends_everyone_exactly_once(outbox, promo_template, store,
                                                                              specialist):
    clerk = StaffFactory(display_name="李娜", stores=[store])
    members = [MemberFactory(home_store=store, owner=clerk, consent_sms=i % 5 != 0) for i in range(50)]
    audience = {"store_ids": [store.pk]}
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        preview = bulk_preview(template=promo_template, audience=audience, at=at(2026, 11, 2, 10))
        assert preview["total"] == 50 and preview["excluded"]["no_consent"] == 10 and preview["receive"] == 40
        assert len(preview["samples"]) == 3 and store.name in preview["samples"][0]["body"]
        bulk = bulk_schedule(name="秋季新品", template=promo_template, audience=audience,
                             scheduled_at=at(2026, 11, 2, 10), by=specialist)
        bulk_enqueue(bulk, chunk=7, stop_after_chunks=3)  # the process dies after 3 chunks
        assert Message.objects.filter(bulk=bulk).count() == 21
        deliver_due(limit=5)  # and a worker sends a few of them
        # a worker dies after claiming a batch, before recording the outcome: 4 messages stay "sending"
        claimed = list(Message.objects.filter(bulk=bulk, status=MessageStatus.QUEUED)[:4])
        Message.objects.filter(pk__in=[m.pk for m in claimed]).update(status=MessageStatus.SENDING,
                                                                      claimed_at=at(2026, 11, 2, 10))
        from membercare.messaging.backends import get_backend

        get_backend("sms").send_many(claimed[:2])  # two of them reached the outbox before the crash
    with time_machine.travel(at(2026, 11, 2, 10, 30), tick=True):  # restart
        bulk_enqueue(BulkSend.objects.get(pk=bulk.pk), chunk=7)
        assert recover_interrupted() == 4
        deliver_all()
        progress = bulk_progress(bulk)
    sent_to = [line["to"] for line in outbox()]
    eligible = [m.phone for m in members if m.consent_sms]
    assert sorted(sent_to) == sorted(eligible)  # every consenting member exactly once, nobody else
    assert progress["by_status"] == {"sent": 40, "skipped": 10} and progress["done_share"] == 1
    assert progress["skipped_by_reason"] == {"no_consent": 10}
    assert BulkSend.objects.get(pk=bulk.pk).status == BulkSend.Status.DONE  # nothing waits any more
