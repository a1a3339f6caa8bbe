"""Opt-out (TD / 退订 / STOP), consent per channel, quiet hours, preferred time, weekly cap, SMS segments."""

import pytest
import time_machine
from django.core.exceptions import ValidationError

from membercare.messaging.config import DEFAULTS
from membercare.messaging.delivery import deliver_all
from membercare.messaging.models import InboundMessage, MessageStatus, OptOut
from membercare.messaging.policy import in_quiet_hours, send_time, sms_segments
from membercare.messaging.services import inbound_receive, message_send
from tests.factories import MemberFactory, StaffFactory

from .conftest import at


@pytest.mark.django_db
@pytest.mark.parametrize("reply", ["TD", "td", " 退订 ", "STOP", "Stop"])
def test_a_reply_opts_the_member_out_of_that_channel_only(reply, birthday_template, outbox):
    member = MemberFactory(phone="13900001111", email="wang@example.com", consent_sms=True, consent_email=True,
                           owner=StaffFactory())
    inbound = inbound_receive(channel="sms", sender="+8613900001111", body=reply)
    assert inbound.member == member and inbound.action == "opted_out"
    member.refresh_from_db()
    assert not member.consent_sms and member.consent_email  # withdrawn on SMS only
    assert member.changes.filter(changes__has_key="consent_sms").exists()  # recorded in the history
    with pytest.raises(ValidationError) as exc:  # no message of any kind on SMS any more
        message_send(member=member, channel="sms", template=birthday_template, category="birthday", sender=None)
    assert exc.value.reason == "opted_out"
    email = message_send(member=member, channel="email", category="birthday", sender=None, subject="生日快乐",
                         body="{title}，生日快乐！{store} {clerk}")
    assert email.status == MessageStatus.QUEUED


@pytest.mark.django_db
def test_other_replies_do_not_opt_out_and_are_kept():
    member = MemberFactory(phone="13900002222", consent_sms=True, owner=StaffFactory())
    inbound_receive(channel="sms", sender="13900002222", body="谢谢，TD那件衣服还有吗")
    assert not OptOut.objects.exists()
    assert InboundMessage.objects.get().member == member


@pytest.mark.django_db
def test_an_opt_out_after_queueing_stops_the_queued_message(birthday_template, outbox):
    member = MemberFactory(phone="13900003333", owner=StaffFactory())
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        message_send(member=member, channel="sms", template=birthday_template, category="birthday", sender=None)
        inbound_receive(channel="sms", sender="13900003333", body="退订")
        counts = deliver_all()
    assert counts["skipped"] == 1 and counts["sent"] == 0 and outbox() == []


@pytest.mark.django_db
def test_marketing_needs_consent_on_the_channel_but_care_messages_do_not(promo_template, birthday_template):
    member = MemberFactory(consent_sms=False, consent_email=True, owner=StaffFactory())
    with pytest.raises(ValidationError) as exc:
        message_send(member=member, channel="sms", template=promo_template, category="", sender=None)
    assert exc.value.reason == "no_consent"
    assert message_send(member=member, channel="sms", template=birthday_template, category="", sender=None).pk


@pytest.mark.django_db
def test_weekly_cap_holds_for_marketing(promo_template):
    member = MemberFactory(consent_sms=True, owner=StaffFactory())
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        for _i in range(DEFAULTS["weekly_cap"]):
            message_send(member=member, channel="sms", template=promo_template, category="", sender=None)
        with pytest.raises(ValidationError) as exc:
            message_send(member=member, channel="sms", template=promo_template, category="", sender=None)
        assert exc.value.reason == "capped"
    with time_machine.travel(at(2026, 11, 9, 10, 1), tick=False):  # a week later the cap has room again
        assert message_send(member=member, channel="sms", template=promo_template, category="", sender=None).pk


@pytest.mark.parametrize("hh,mm,quiet", [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (8, 59, True),
                                         (9, 0, False), (14, 0, False)])
def test_quiet_hours_boundaries(hh, mm, quiet):
    assert in_quiet_hours(at(2026, 11, 2, hh, mm), DEFAULTS) is quiet


@pytest.mark.django_db
def test_a_message_in_quiet_hours_waits_until_they_end(birthday_template, outbox):
    member = MemberFactory(owner=StaffFactory())
    with time_machine.travel(at(2026, 11, 2, 22, 15), tick=False):
        message = message_send(member=member, channel="sms", template=birthday_template, category="", sender=None)
        assert message.send_after == at(2026, 11, 3, 9, 0)
        assert deliver_all()["sent"] == 0 and outbox() == []
    with time_machine.travel(at(2026, 11, 3, 9, 0, ), tick=False):
        assert deliver_all()["sent"] == 1 and len(outbox()) == 1


@pytest.mark.parametrize("preferred,expected", [
    ("any", at(2026, 11, 2, 10, 0)), ("morning", at(2026, 11, 2, 10, 0)), ("evening", at(2026, 11, 2, 18, 0)),
    ("noon", at(2026, 11, 2, 12, 0)), ("weekend", at(2026, 11, 7, 10, 0)),
])
def test_preferred_contact_time_is_respected(preferred, expected):
    assert send_time(at(2026, 11, 2, 10, 0), DEFAULTS, preferred) == expected  # a Monday, 10:00


def test_sms_billing_counts_segments_of_70_chinese_characters():
    assert sms_segments("", DEFAULTS) == 0
    assert sms_segments("好" * 70, DEFAULTS) == 1
    assert sms_segments("好" * 71, DEFAULTS) == 2  # long messages go in parts of 67
    assert sms_segments("好" * 134, DEFAULTS) == 2
    assert sms_segments("好" * 135, DEFAULTS) == 3


@pytest.mark.django_db
def test_marketing_waits_while_a_complaint_is_open(promo_template, birthday_template, store, specialist):
    """Issue 18: a promotion reached a member with an overdue, escalated complaint. No more: marketing (one
    message or a bulk send, and the bulk preview's count) waits until the complaint is closed; care does not."""
    from membercare.messaging.bulk import bulk_enqueue, bulk_preview, bulk_schedule
    from membercare.messaging.models import BulkSend, Message
    from membercare.service.complaints import complaint_open

    clerk = StaffFactory(stores=[store])
    angry = MemberFactory(consent_sms=True, home_store=store, owner=clerk)
    calm = MemberFactory(consent_sms=True, home_store=store, owner=clerk)
    complaint_open(by=clerk, member=angry, store=store, category="quality", severity="high",
                   description="衬衫掉色", at=at(2026, 11, 1, 10))
    with time_machine.travel(at(2026, 11, 2, 10), tick=False):
        with pytest.raises(ValidationError) as exc:
            message_send(member=angry, channel="sms", template=promo_template, category="", sender=None)
        assert exc.value.reason == "complaint_open" and "投诉" in exc.value.messages[0]
        assert message_send(member=angry, channel="sms", template=birthday_template, category="", sender=None).pk
        audience = {"store_ids": [store.pk]}
        preview = bulk_preview(template=promo_template, audience=audience, at=at(2026, 11, 2, 10))
        assert preview["excluded"]["complaint_open"] == 1 and preview["receive"] == 1
        bulk = bulk_schedule(name="新品", template=promo_template, audience=audience, scheduled_at=at(2026, 11, 2, 10),
                             by=specialist)
        bulk_enqueue(BulkSend.objects.get(pk=bulk.pk))
    sent = dict(Message.objects.filter(bulk=bulk).values_list("member_id", "skip_reason"))
    assert sent == {angry.pk: "complaint_open", calm.pk: ""}
