"""The worker tick (due bulk sends, resuming an interrupted one), the delivery log search and the cost per
channel, and messages on the member's timeline."""

import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from membercare.core.timeline import timeline_sources
from membercare.messaging.bulk import bulk_enqueue, bulk_schedule
from membercare.messaging.models import BulkSend, Message, MessageStatus
from membercare.messaging.selectors import cost_by_channel, outbox_search
from membercare.messaging.services import message_send
from tests.factories import MemberFactory, StaffFactory, StoreFactory

from .conftest import at


@pytest.mark.django_db
def test_the_worker_runs_due_bulk_sends_and_resumes_an_interrupted_one(outbox, birthday_template, store,
                                                                        specialist):
    clerk = StaffFactory(stores=[store])
    for _i in range(12):
        MemberFactory(home_store=store, owner=clerk)
    with time_machine.travel(at(2026, 11, 2, 9, 30), tick=True):
        later = bulk_schedule(name="later", template=birthday_template, audience={"store_ids": [store.pk]},
                              scheduled_at=at(2026, 11, 5, 10), by=specialist)
        now = bulk_schedule(name="now", template=birthday_template, audience={"store_ids": [store.pk]},
                            scheduled_at=at(2026, 11, 2, 9, 30), by=specialist)
        bulk_enqueue(now, chunk=5, stop_after_chunks=1)  # interrupted after 5 members
        out = io.StringIO()
        call_command("messages_worker", stdout=out)
    assert "sent: 12" in out.getvalue()
    assert BulkSend.objects.get(pk=later.pk).status == BulkSend.Status.SCHEDULED  # not due yet
    assert Message.objects.filter(bulk=now).count() == 12 and len(outbox()) == 12


@pytest.mark.django_db
def test_delivery_log_search_and_cost_per_channel(outbox, store):
    clerk = StaffFactory(display_name="李娜", stores=[store])
    wang = MemberFactory(name="王丽", phone="13900005555", email="w@example.com", home_store=store, owner=clerk)
    zhao = MemberFactory(name="赵敏", home_store=store, owner=clerk)
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        long_text = "{title}，" + "天气转凉，注意添衣保暖，" * 8 + "{store} {clerk}"  # > 70 characters: 2 segments
        message_send(member=wang, channel="sms", category="season", sender=clerk, body=long_text)
        message_send(member=zhao, channel="sms", category="season", sender=clerk,
                     body="{title}，立冬了。{store} {clerk}")
        from membercare.messaging.delivery import deliver_all

        deliver_all()
    assert [m.member for m in outbox_search(q="王丽")] == [wang]
    assert [m.member for m in outbox_search(q="13900005555")] == [wang]
    assert outbox_search(status=MessageStatus.SENT).count() == 2
    (sms,) = cost_by_channel(since=at(2026, 11, 1).date(), until=at(2026, 11, 30).date())
    assert sms == {"channel": "sms", "messages": 2, "units": 3, "cost": Decimal("0.14")}  # 3 x 0.045 = 0.135
    events = timeline_sources()["message"](wang)
    assert len(events) == 1 and "天气转凉" in events[0].detail


@pytest.mark.django_db
def test_bulk_rechecks_content_per_member_a_greeting_nobody_can_sign_is_not_sent(outbox, birthday_template, store,
                                                                                 specialist):
    clerk = StaffFactory(display_name="李娜", stores=[store])
    signed = MemberFactory(home_store=store, owner=clerk)
    unsigned = MemberFactory(home_store=store, owner=None)  # no relationship owner: no clerk's name to sign
    outlet = StoreFactory(name="特价奥莱店")  # a store name that breaks the no-promotion rule of greetings
    promo_name = MemberFactory(home_store=outlet, owner=StaffFactory(stores=[outlet]))
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        bulk = bulk_schedule(name="生日", template=birthday_template, audience={"store_ids": [store.pk, outlet.pk]},
                             scheduled_at=at(2026, 11, 2, 10), by=specialist)
        bulk_enqueue(bulk)
    status = {m.member_id: (m.status, m.skip_reason) for m in Message.objects.filter(bulk=bulk)}
    assert status[signed.pk] == (MessageStatus.QUEUED, "")
    assert status[unsigned.pk] == (MessageStatus.SKIPPED, "content")
    assert status[promo_name.pk] == (MessageStatus.SKIPPED, "content")


@pytest.mark.django_db
def test_a_clerk_edit_of_a_template_is_sent_as_edited_without_the_provider_template_code(store):
    from membercare.messaging.models import MessageTemplate
    from membercare.messaging.placeholders import member_values, render

    clerk = StaffFactory(display_name="李娜", stores=[store])
    member = MemberFactory(home_store=store, owner=clerk)
    template = MessageTemplate.objects.create(name="生日", category="birthday", channel="sms",
                                              sms_template_code="SMS_1", updated_at=at(2026, 11, 1),
                                              body="{title}，祝您生日快乐！{store} {clerk}")
    shown = render(template.body, member_values(member, clerk=clerk))  # what the task card shows
    as_shown = message_send(member=member, channel="sms", category="", sender=clerk, template=template, body=shown)
    assert as_shown.template == template and as_shown.params["_template_code"] == "SMS_1"
    edited = message_send(member=member, channel="sms", category="", sender=clerk, template=template,
                          body=shown + "蛋糕已备好。")
    assert edited.body.endswith("蛋糕已备好。") and edited.template == template
    assert "_template_code" not in edited.params  # the provider's approved template no longer matches


@pytest.mark.django_db
def test_bulk_send_is_done_when_nothing_waits_and_cancel_stops_queued_messages(outbox, birthday_template, store,
                                                                              specialist):
    from membercare.messaging.bulk import bulk_cancel

    clerk = StaffFactory(stores=[store])
    for _i in range(6):
        MemberFactory(home_store=store, owner=clerk)
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        done = bulk_schedule(name="a", template=birthday_template, audience={"store_ids": [store.pk]},
                             scheduled_at=at(2026, 11, 2, 10), by=specialist)
        bulk_enqueue(done)
        stopped = bulk_schedule(name="b", template=birthday_template, audience={"store_ids": [store.pk]},
                                scheduled_at=at(2026, 11, 2, 10), by=specialist)
        bulk_enqueue(stopped)
        assert bulk_cancel(stopped.pk)[1] == 6
        assert bulk_cancel(stopped.pk)[1] is None  # already cancelled
        from membercare.messaging.delivery import deliver_all

        assert deliver_all()["sent"] == 6
    assert BulkSend.objects.get(pk=done.pk).status == BulkSend.Status.DONE
    assert BulkSend.objects.get(pk=stopped.pk).status == BulkSend.Status.CANCELLED
    assert set(Message.objects.filter(bulk=stopped).values_list("skip_reason", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_a_bulk_send_can_respect_each_members_preferred_channel(outbox, birthday_template, store, specialist):
    """With respect_preferred_channel, a member who prefers email is left out of the SMS send (and counted
    as such); a second send on email with the preferred_channel filter reaches exactly them."""
    clerk = StaffFactory(stores=[store])
    sms_fan = MemberFactory(home_store=store, owner=clerk, preferred_channel="sms")
    caller = MemberFactory(home_store=store, owner=clerk, preferred_channel="phone")  # a call preference: no objection
    mailer = MemberFactory(home_store=store, owner=clerk, preferred_channel="email", email="m@example.com")
    audience = {"store_ids": [store.pk], "respect_preferred_channel": True}
    with time_machine.travel(at(2026, 11, 2, 10), tick=True):
        from membercare.messaging.bulk import bulk_preview

        preview = bulk_preview(template=birthday_template, audience=audience, at=at(2026, 11, 2, 10))
        assert preview["excluded"]["prefers_other"] == 1 and preview["receive"] == 2
        bulk = bulk_schedule(name="sms", template=birthday_template, audience=audience,
                             scheduled_at=at(2026, 11, 2, 10), by=specialist)
        bulk_enqueue(bulk)
    reasons = {m.member_id: m.skip_reason for m in Message.objects.filter(bulk=bulk)}
    assert reasons == {sms_fan.pk: "", caller.pk: "", mailer.pk: "prefers_other"}
    from membercare.messaging.bulk import audience_queryset

    assert list(audience_queryset({"store_ids": [store.pk], "preferred_channel": ["email"]})) == [mailer]
