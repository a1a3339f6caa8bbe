"""Messaging in a real browser: the specialist's template editor previews as she types (the words that broke a
rule, then the text for a chosen member) and a placeholder is inserted by a tap; the clerk completes a birthday
task by sending its message from the task card (a refusal inline first, then the card goes away)."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.care.models import Contact, Task, TaskStatus
from membercare.messaging.backends import reset_backends
from membercare.messaging.models import Message, MessageTemplate
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def shop(transactional_db, settings, tmp_path):
    settings.MESSAGING_BACKENDS = {
        "sms": {"class": "membercare.messaging.backends.outbox.OutboxBackend", "path": str(tmp_path / "sms.jsonl")},
        "email": "membercare.messaging.backends.email.EmailBackend",
        "wechat": {"class": "membercare.messaging.backends.outbox.OutboxBackend",
                   "path": str(tmp_path / "wechat.jsonl")},
    }
    reset_backends()
    MessageTemplate.objects.all().delete()  # without the installation's default templates: each test makes its own
    store = StoreFactory(code="SH01", name="上海南京路店")
    clerk = StaffFactory(username="msg_clerk", display_name="李娜", role=Role.CLERK, stores=[store])
    member = MemberFactory(name="王丽", gender="F", home_store=store, owner=clerk)
    yield store, clerk, member
    reset_backends()


def test_specialist_edits_a_template_with_the_live_preview(page, login_as, shop):
    from playwright.sync_api import expect

    _store, _clerk, member = shop
    specialist = StaffFactory(username="msg_specialist", role=Role.SPECIALIST)
    login_as(page, specialist)
    page.goto("/messaging/templates/new/?category=birthday")
    page.fill("#id_name", "生日祝福")
    page.fill("#id_body", "{title}，生日快乐！全场优惠。{store} ")
    refusals = page.locator("#preview-refusals")
    expect(refusals).to_contain_text("“优惠”")
    expect(refusals).to_contain_text("{clerk}")
    page.fill("#id_preview_member", member.member_no)
    expect(page.locator("#preview")).to_contain_text("王丽")
    page.fill("#id_body", "{title}，祝您生日快乐！{store} ")
    page.locator("#id_body").press("End")
    page.click("button[data-insert='{clerk}']")
    expect(page.locator("#id_body")).to_have_value("{title}，祝您生日快乐！{store} {clerk}")
    expect(page.locator("#preview-text")).to_have_text("王女士，祝您生日快乐！上海南京路店 李娜")
    expect(page.locator("#preview-ok")).to_be_visible()
    expect(page.locator("#preview-refusals")).to_have_count(0)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('保存'), button[type=submit]:has-text('Save')")
    assert page.url.endswith("/messaging/templates/")
    assert MessageTemplate.objects.get().body == "{title}，祝您生日快乐！{store} {clerk}"
    page.problems.assert_none()


def test_clerk_completes_a_birthday_task_by_sending_its_message(page, login_as, shop):
    from playwright.sync_api import expect

    store, clerk, member = shop
    MessageTemplate.objects.create(name="生日祝福", category="birthday", channel="sms",
                                   body="{title}，祝您生日快乐，身体健康！{store} {clerk}", updated_at=timezone.now())
    today = timezone.localdate()
    task = Task.objects.create(rule="birthday_greeting", key="b1", member=member, store=store, assignee=clerk,
                               created_on=today - dt.timedelta(days=1), due_on=today, channel="sms")
    login_as(page, clerk)
    page.goto("/care/")
    card = page.locator(f"#task-{task.pk}")
    card.locator("details.send-msg summary").click()
    text = card.locator(".msg-form textarea")
    expect(text).to_have_value("王女士，祝您生日快乐，身体健康！上海南京路店 李娜")
    text.fill("王女士，生日快乐！本周全场优惠。上海南京路店 李娜")
    card.locator(".msg-form button[type=submit]").click()
    expect(card.locator(".msg-form .refusals")).to_contain_text("“优惠”")
    expect(card.locator(".msg-form textarea")).to_have_value("王女士，生日快乐！本周全场优惠。上海南京路店 李娜")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN

    card.locator(".msg-form textarea").fill("王女士，生日快乐，万事如意！上海南京路店 李娜")
    card.locator(".msg-form button[type=submit]").click()
    expect(page.locator(f"#task-{task.pk}")).to_have_count(0)
    expect(page.locator("#care-flash li")).to_contain_text("王丽")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
    contact = Contact.objects.get()
    assert (contact.outcome, contact.notes) == ("message_sent", "王女士，生日快乐，万事如意！上海南京路店 李娜")
    assert Message.objects.get().task_id == task.pk
    page.problems.assert_none()
