"""Messaging pages: the template editor with its live preview and content-rule refusals, bulk sends (preview,
schedule, progress, send now, cancel), the outbox with masked phones and the cost per channel, a care task
completed by sending its message, opt-outs on the profile, the SMS reply webhook, permissions."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext

from membercare.care.models import Contact, MemberSegments, Task, TaskStatus
from membercare.messaging.backends import reset_backends
from membercare.messaging.bulk import bulk_enqueue
from membercare.messaging.delivery import deliver_all
from membercare.messaging.models import (
    BulkSend,
    InboundMessage,
    Message,
    MessageStatus,
    MessageTemplate,
    OptOut,
)
from membercare.messaging.policy import EXCLUSION_REASONS
from membercare.messaging.services import message_send, opt_out
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 10, 10, tzinfo=TZ)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _without_default_templates(db):
    """These tests start from an installation whose default templates were removed: each makes its own."""
    MessageTemplate.objects.all().delete()


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture(autouse=True)
def outbox(settings, tmp_path):
    settings.MESSAGING_BACKENDS = {
        "sms": {"class": "membercare.messaging.backends.outbox.OutboxBackend", "path": str(tmp_path / "sms.jsonl")},
        "email": "membercare.messaging.backends.email.EmailBackend",
        "wechat": {"class": "membercare.messaging.backends.outbox.OutboxBackend",
                   "path": str(tmp_path / "wechat.jsonl")},
    }
    reset_backends()
    yield
    reset_backends()


@pytest.fixture
def clerk(store):
    return StaffFactory(username="clerk", display_name="李娜", role=Role.CLERK, stores=[store])


@pytest.fixture
def wang(store, clerk):
    return MemberFactory(name="王丽", gender="F", phone="13912345678", home_store=store, owner=clerk,
                         consent_sms=True)


def birthday_template(**kw):
    return MessageTemplate.objects.create(**{
        "name": "生日祝福", "category": "birthday", "channel": "sms",
        "body": "{title}，祝您生日快乐，身体健康！{store} {clerk}", "updated_at": NOW, **kw})


def promo_template():
    return MessageTemplate.objects.create(name="秋季新品", category="new_arrivals", channel="sms",
                                          body="{title}您好，{store}秋季新品已到，欢迎来试穿。", updated_at=NOW)


def editor_data(**kw):
    return {"name": "生日祝福", "category": "birthday", "channel": "sms", "subject": "", "sms_template_code": "",
            "is_active": "on", "body": "{title}，祝您生日快乐！{store} {clerk}", "preview_member": "", **kw}


# ---------------------------------------------------------------------------------------- templates


def test_the_preview_renders_the_template_for_a_member_with_segments_and_cost(login, specialist, wang):
    response = login(specialist).post(reverse("messaging_template_preview"),
                                      editor_data(preview_member=wang.member_no), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "王女士，祝您生日快乐！上海南京路店 李娜" in body  # the member's title, store and relationship owner
    assert "王丽" in body and wang.member_no in body
    assert "¥0.045" in body and 'id="preview-ok"' in body
    # a long text costs more segments
    long = editor_data(body="{title}，" + "天气转凉，注意添衣保暖，" * 8 + "{store} {clerk}", category="season")
    body = login(specialist).post(reverse("messaging_template_preview"), long, **HTMX).content.decode()
    assert "¥0.090" in body


def test_the_preview_and_the_save_name_the_words_that_broke_a_rule(login, specialist):
    client = login(specialist)
    data = editor_data(body="{title}，生日快乐！全场8折优惠，欢迎到店。{store}")
    body = client.post(reverse("messaging_template_preview"), data, **HTMX).content.decode()
    assert 'id="preview-refusals"' in body
    for word in ("“优惠”", "“到店”", "“8折”"):
        assert word in body
    assert gettext("Greetings carry wishes only: no promotions or store activities.") in body
    assert escape(gettext("Greetings are signed with the store and the clerk's name.")) in body and "{clerk}" in body
    # saving refuses it too, inline, and keeps what was typed
    response = client.post(reverse("messaging_template_new"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="body-errors"' in page and "“优惠”" in page
    assert "全场8折优惠，欢迎到店。" in page  # the text is still in the textarea
    assert MessageTemplate.objects.count() == 0


def test_a_template_is_saved_listed_by_category_and_edited(login, specialist):
    client = login(specialist)
    response = client.post(reverse("messaging_template_new"), editor_data())
    assert response.status_code == 302 and response.url == reverse("messaging_templates")
    template = MessageTemplate.objects.get()
    assert template.category == "birthday" and template.updated_by == specialist
    page = client.get(reverse("messaging_templates")).content.decode()
    section = page[page.index('id="cat-birthday"'):page.index('id="cat-holiday"')]
    assert "生日祝福" in section
    page = client.get(reverse("messaging_template_edit", args=[template.pk])).content.decode()
    assert "{title}，祝您生日快乐！{store} {clerk}" in page and 'data-insert="{points}"' in page
    client.post(reverse("messaging_template_edit", args=[template.pk]), editor_data(name="生日祝福 2"))
    template.refresh_from_db()
    assert template.name == "生日祝福 2" and MessageTemplate.objects.count() == 1


# --------------------------------------------------------------------------------------- bulk sends


@pytest.fixture
def audience(store, clerk):
    """Five sleeping members of the store: two may receive a promotion; one opted out of SMS, one without
    marketing consent, one without a phone number. One active member outside the audience."""
    def member(name, **kw):
        m = MemberFactory(name=name, home_store=store, owner=clerk, **{"consent_sms": True, **kw})
        MemberSegments.objects.create(member=m, computed_on=NOW.date(), lifecycle="sleeping")
        return m

    ok1, ok2 = member("甲一"), member("乙二")
    out = member("丙三")
    opt_out(out, "sms", source="TD")
    member("丁四", consent_sms=False)
    member("戊五", phone="")
    active = MemberFactory(name="己六", home_store=store, consent_sms=True)
    MemberSegments.objects.create(member=active, computed_on=NOW.date(), lifecycle="active")
    return [ok1, ok2]


def bulk_data(template, **kw):
    return {"name": "秋季新品通知", "template": template.pk, "lifecycle": ["sleeping"],
            "scheduled_at": "2026-06-10T10:00", "action": "preview", **kw}


def test_bulk_preview_counts_the_audience_and_the_exclusions_with_samples(login, specialist, audience, store):
    template = promo_template()
    response = login(specialist).post(reverse("messaging_bulk_new"), bulk_data(template, stores=[store.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<span class="big" id="preview-receive">2</span>' in page
    for code, n in {"opted_out": 1, "no_consent": 1, "no_address": 1, "capped": 0}.items():
        row = page[page.index(f'data-reason="{code}"'):]
        assert str(EXCLUSION_REASONS[code]) in row[:300] and f'<td class="num">{n}</td>' in row[:300]
    assert page.count('<div class="bubble">') == 3  # three rendered samples
    assert "秋季新品已到" in page and "{title}" not in page.split('id="bulk-preview"')[1]
    assert 'value="schedule"' in page and BulkSend.objects.count() == 0
    # at night everyone who may receive it is held until the quiet hours end
    page = login(specialist).post(reverse("messaging_bulk_new"), bulk_data(
        template, scheduled_at="2026-06-10T22:30")).content.decode()
    quiet = page[page.index('data-reason="quiet_hours"'):]
    assert '<td class="num">2</td>' in quiet[:300]


def test_schedule_then_send_now_shows_the_progress(login, specialist, audience, outbox):
    template = promo_template()
    client = login(specialist)
    response = client.post(reverse("messaging_bulk_new"), bulk_data(template, action="schedule"))
    bulk = BulkSend.objects.get()
    assert response.status_code == 302 and response.url == reverse("messaging_bulk", args=[bulk.pk])
    assert bulk.status == BulkSend.Status.SCHEDULED and bulk.audience == {"lifecycle": ["sleeping"]}
    page = client.get(response.url).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'id="bulk-cancel"' in page
    assert reverse("messaging_bulk_send_now", args=[bulk.pk]) in page
    response = client.post(reverse("messaging_bulk_send_now", args=[bulk.pk]))
    assert response.status_code == 302
    assert Message.objects.filter(bulk=bulk, status=MessageStatus.SENT).count() == 2
    progress = client.get(reverse("messaging_bulk_progress", args=[bulk.pk]), **HTMX).content.decode()
    assert 'data-finished="1"' in progress and "every 2s" not in progress  # polling stops
    assert 'data-status="sent"' in progress and 'data-reason="opted_out"' in progress
    assert "100%" in progress


def test_a_send_at_night_waits_for_the_end_of_the_quiet_hours(login, specialist, audience):
    template = promo_template()
    client = login(specialist)
    client.post(reverse("messaging_bulk_new"), bulk_data(template, action="schedule", scheduled_at="2026-06-10T22:30"))
    bulk = BulkSend.objects.get()
    page = client.get(reverse("messaging_bulk", args=[bulk.pk])).content.decode()
    assert reverse("messaging_bulk_send_now", args=[bulk.pk]) not in page  # not due yet: the worker sends it
    with time_machine.travel(dt.datetime(2026, 6, 10, 22, 31, tzinfo=TZ), tick=False):
        client.post(reverse("messaging_bulk_send_now", args=[bulk.pk]))
        progress = client.get(reverse("messaging_bulk_progress", args=[bulk.pk]), **HTMX).content.decode()
    assert Message.objects.filter(bulk=bulk, status=MessageStatus.QUEUED).count() == 2
    assert 'data-finished="0"' in progress and 'hx-trigger="every 2s"' in progress
    assert '<span id="bulk-next">' in progress and "06-11 09:00" in progress


def test_cancelling_a_bulk_send_stops_what_is_not_sent(login, specialist, audience):
    template = promo_template()
    client = login(specialist)
    client.post(reverse("messaging_bulk_new"), bulk_data(template, action="schedule"))
    bulk = BulkSend.objects.get()
    bulk_enqueue(bulk, chunk=3, stop_after_chunks=1)  # the worker stopped half-way through the enqueueing
    assert Message.objects.filter(bulk=bulk, status=MessageStatus.QUEUED).exists()
    response = client.post(reverse("messaging_bulk_cancel", args=[bulk.pk]))
    assert response.status_code == 302
    bulk.refresh_from_db()
    assert bulk.status == BulkSend.Status.CANCELLED
    assert not Message.objects.filter(bulk=bulk, status=MessageStatus.QUEUED).exists()
    assert bulk_enqueue(bulk) == 0 and deliver_all()["sent"] == 0  # nothing more is queued nor sent
    page = client.get(reverse("messaging_bulk", args=[bulk.pk])).content.decode()
    assert 'id="bulk-cancel"' not in page and "every 2s" not in page
    assert gettext("the bulk send was cancelled") in page


# -------------------------------------------------------------------------------------------- outbox


def test_outbox_search_masks_phones_and_is_scoped_to_the_managers_stores(login, manager, specialist, clerk, wang,
                                                                        other_store):
    stranger = MemberFactory(name="赵敏", phone="13800001111", home_store=other_store)
    message_send(member=wang, channel="sms", category="season", sender=clerk, body="{title}，立冬了。{store} {clerk}")
    message_send(member=stranger, channel="sms", category="callback", sender=None, body="{title}您好")
    deliver_all()
    page = login(manager).get(reverse("messaging_outbox")).content.decode()
    assert "139****5678" in page and "13912345678" not in page  # masked for the manager
    assert "赵敏" not in page  # another store's message
    assert 'id="costs"' not in page  # the cost panel is HQ's
    page = login(manager).get(reverse("messaging_outbox"), {"q": "13912345678"}).content.decode()
    assert "王丽" in page and "立冬了" in page
    page = login(specialist).get(reverse("messaging_outbox"), {"q": "赵敏"}).content.decode()
    assert "赵敏" in page and "王丽" not in page and "13800001111" in page  # HQ sees full numbers
    page = login(specialist).get(reverse("messaging_outbox"), {"status": "queued"}).content.decode()
    assert gettext("No message matches.") in page


def test_the_outbox_names_the_recipient_column_not_a_date_range(login, specialist):
    page = login(specialist).get(reverse("messaging_outbox"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<th>收件人</th>" in page and "<th>至</th>" not in page  # "To" here is the address (issue 18)


def test_the_cost_panel_counts_sms_segments(login, specialist, clerk, wang):
    message_send(member=wang, channel="sms", category="season", sender=clerk,
                 body="{title}，" + "天气转凉，注意添衣保暖，" * 8 + "{store} {clerk}")  # 2 segments
    message_send(member=wang, channel="sms", category="season", sender=clerk, body="{title}，立冬了。{store} {clerk}")
    deliver_all()
    page = login(specialist).get(reverse("messaging_outbox"), {"cost_from": "2026-06-01",
                                                                "cost_to": "2026-06-30"}).content.decode()
    costs = page[page.index('id="costs"'):page.index("</section>", page.index('id="costs"'))]
    row = costs[costs.index('data-channel="sms"'):]
    assert '<td class="num">2</td><td class="num">3</td><td class="num">¥0.14</td>' in row
    page = login(specialist).get(reverse("messaging_outbox"), {"cost_from": "2026-05-01",
                                                                "cost_to": "2026-05-31"}).content.decode()
    assert gettext("Nothing sent in this period.") in page


# ------------------------------------------------------------------------------ send from a care task


def care_task(member, clerk, *, rule="birthday_greeting", channel="sms", **kw):
    return Task.objects.create(rule=rule, key=f"{rule}:1", member=member, store=member.home_store, assignee=clerk,
                               created_on=NOW.date(), due_on=NOW.date(), channel=channel, **kw)


def test_the_task_card_offers_the_message_rendered_for_the_member(login, clerk, wang):
    birthday_template()
    task = care_task(wang, clerk)
    phone_task = care_task(wang, clerk, rule="a_monthly_call", channel="phone")
    client = login(clerk)
    page = client.get(reverse("care_tasks")).content.decode()
    assert reverse("care_task_message", args=[task.pk]) in page
    assert reverse("care_task_message", args=[phone_task.pk]) not in page  # a call is logged, not messaged
    form = client.get(reverse("care_task_message", args=[task.pk]), **HTMX).content.decode()
    assert "王女士，祝您生日快乐，身体健康！上海南京路店 李娜" in form and "生日祝福" in form


def test_the_task_message_goes_on_the_members_preferred_channel(login, clerk, wang):
    birthday_template()
    MessageTemplate.objects.create(name="生日祝福（微信）", category="birthday", channel="wechat", updated_at=NOW,
                                   body="{title}，生日快乐！{store} {clerk}")
    wang.preferred_channel, wang.wechat_id = "wechat", "wx_wangli"
    wang.save()
    task = care_task(wang, clerk)  # the birthday rule's channel is SMS
    form = login(clerk).get(reverse("care_task_message", args=[task.pk]), **HTMX).content.decode()
    assert re.search(r'value="wechat"[^>]*\b(selected|checked)\b', form), form
    assert "王女士，生日快乐！上海南京路店 李娜" in form  # the WeChat template


def test_sending_from_the_task_completes_it_and_logs_the_contact(login, clerk, wang):
    birthday_template()
    task = care_task(wang, clerk)
    p = f"m{task.pk}-"
    text = "王女士，祝您生日快乐，万事如意！上海南京路店 李娜"  # edited by the clerk
    response = login(clerk).post(reverse("care_task_message", args=[task.pk]),
                                 {p + "channel": "sms", p + "body": text}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#task-{task.pk}" and response["HX-Reswap"] == "outerHTML"
    assert 'id="care-flash"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_by == clerk
    contact = Contact.objects.get()
    assert (contact.task, contact.outcome, contact.channel, contact.notes) == (task, "message_sent", "sms", text)
    message = Message.objects.get()
    assert (message.task, message.body, message.to, message.sender) == (task, text, wang.phone, clerk)
    assert message.category == "birthday" and message.status == MessageStatus.QUEUED


def test_refusals_come_back_inline_and_leave_the_task_open(login, clerk, wang):
    birthday_template()
    task = care_task(wang, clerk)
    p = f"m{task.pk}-"
    client = login(clerk)
    text = "王女士，生日快乐！本周全场优惠。上海南京路店 李娜"
    body = client.post(reverse("care_task_message", args=[task.pk]),
                       {p + "channel": "sms", p + "body": text}, **HTMX).content.decode()
    assert "“优惠”" in body and gettext("Greetings carry wishes only: no promotions or store activities.") in body
    assert text in body  # what was typed is kept
    opt_out(wang, "sms", source="TD")
    greeting = "王女士，生日快乐！上海南京路店 李娜"
    body = client.post(reverse("care_task_message", args=[task.pk]),
                       {p + "channel": "sms", p + "body": greeting}, **HTMX).content.decode()
    assert gettext("Not sent: %(reason)s.") % {"reason": EXCLUSION_REASONS["opted_out"]} in body
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and not Contact.objects.exists() and not Message.objects.exists()


def test_a_clerk_cannot_message_another_stores_task(login, wang, clerk, other_store):
    stranger = StaffFactory(role=Role.CLERK, stores=[other_store])
    task = care_task(wang, clerk)
    p = f"m{task.pk}-"
    response = login(stranger).post(reverse("care_task_message", args=[task.pk]),
                                    {p + "channel": "sms", p + "body": "hi"}, **HTMX)
    assert response.status_code == 403 and not Message.objects.exists()


# ---------------------------------------------------------------------------------- profile, webhook


def test_the_profile_shows_opt_outs_and_opts_out_at_the_counter(login, clerk, wang):
    client = login(clerk)
    page = client.get(reverse("member_detail", args=[wang.pk])).content.decode()
    assert 'id="opt-outs"' in page
    response = client.post(reverse("member_opt_out", args=[wang.pk]), {"channel": "sms"})
    assert response.status_code == 302
    assert OptOut.objects.filter(member=wang, channel="sms").exists()
    wang.refresh_from_db()
    assert wang.consent_sms is False
    page = client.get(reverse("member_detail", args=[wang.pk])).content.decode()
    assert "李娜" in page[page.index('id="opt-outs"'):]  # who took the request


def test_the_inbound_sms_webhook_needs_the_secret_and_opts_out_on_td(client, settings, wang):
    settings.MESSAGING_INBOUND_SECRET = "s3cret"
    url = "/api/messaging/inbound/sms"
    payload = json.dumps({"from": "+8613912345678", "text": "TD"})
    assert client.post(url, payload, content_type="application/json").status_code == 401
    assert client.post(url, payload, content_type="application/json",
                       headers={"X-Messaging-Secret": "wrong"}).status_code == 401
    assert not OptOut.objects.exists() and not InboundMessage.objects.exists()
    response = client.post(url, payload, content_type="application/json", headers={"X-Messaging-Secret": "s3cret"})
    assert response.status_code == 200
    assert response.json()["action"] == "opted_out" and response.json()["member_no"] == wang.member_no
    assert OptOut.objects.filter(member=wang, channel="sms").exists()
    # with no secret configured the endpoint is closed
    settings.MESSAGING_INBOUND_SECRET = ""
    assert client.post(url, payload, content_type="application/json",
                       headers={"X-Messaging-Secret": ""}).status_code == 401


# ------------------------------------------------------------------------------------------ permissions


def test_permissions_and_nav(login, clerk, manager, specialist, wang):
    template = birthday_template()
    bulk = BulkSend.objects.create(name="x", template=template, scheduled_at=NOW, created_at=NOW,
                                   status=BulkSend.Status.SCHEDULED, preview={"total": 1})
    hq_only = [reverse("messaging_templates"), reverse("messaging_template_new"),
               reverse("messaging_template_edit", args=[template.pk]), reverse("messaging_bulk_list"),
               reverse("messaging_bulk_new"), reverse("messaging_bulk", args=[bulk.pk]),
               reverse("messaging_bulk_progress", args=[bulk.pk])]
    hq_posts = [reverse("messaging_template_preview"), reverse("messaging_bulk_cancel", args=[bulk.pk]),
                reverse("messaging_bulk_send_now", args=[bulk.pk])]
    for user in (clerk, manager):
        client = login(user)
        for url in hq_only:
            assert client.get(url).status_code == 403, url
        for url in hq_posts:
            assert client.post(url, editor_data()).status_code == 403, url
    assert login(clerk).get(reverse("messaging_outbox")).status_code == 403
    assert BulkSend.objects.get().status == BulkSend.Status.SCHEDULED
    # the nav shows each role what it may open
    page = login(clerk).get(reverse("care_tasks")).content.decode()
    assert reverse("messaging_templates") not in page and reverse("messaging_outbox") not in page
    page = login(manager).get(reverse("care_tasks")).content.decode()
    assert reverse("messaging_outbox") in page and reverse("messaging_templates") not in page
    client = login(specialist)
    assert reverse("messaging_templates") in client.get(reverse("care_tasks")).content.decode()
    for url in hq_only + [reverse("messaging_outbox")]:
        assert client.get(url).status_code == 200, url
