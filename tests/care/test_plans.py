"""Win-back plans per dormancy reason (care.plans): each action kind happens when a clerk logs a reason —
the call script on the next task, the store manager's review, a coupon (campaigns) and a message (messaging)
through the actions those apps register; a refusal is reported, never undoing the contact; the settings
refuse an unknown action or target."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from membercare.campaigns.models import Coupon
from membercare.campaigns.services import batch_create
from membercare.care.access import CareError
from membercare.care.catalogue import script_hint
from membercare.care.config import DEFAULTS, care_config
from membercare.care.config_writes import care_config_save
from membercare.care.contacts import contact_log
from membercare.care.models import Contact, DormancyReason, Task
from membercare.care.plans import ACTIONS, REVIEW_RULE, WINBACK_RULE, register_plan_action
from membercare.messaging.models import Category, Message, MessageChannel, MessageTemplate
from membercare.org.models import Role
from membercare.web.care.forms import CareSettingsForm
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 10)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def member(store, clerk):
    return MemberFactory(home_store=store, owner=clerk, consent_sms=True)


def _sleeping_task(member, clerk, key="2025-11-01"):
    return Task.objects.create(rule="sleeping_call", key=key, member=member, store=member.home_store,
                               assignee=clerk, created_on=TODAY, due_on=TODAY)


def _plan(specialist, reason, **plan):
    care_config_save(params={"plans": {reason: plan}}, by=specialist)


def test_every_reason_has_a_plan_by_default():
    assert set(DEFAULTS["plans"]) == set(DormancyReason.values)
    assert {p["action"] for p in DEFAULTS["plans"].values()} <= set(ACTIONS)


def test_script_the_next_task_carries_the_call_script(member, clerk):
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached", reason="moved")
    task = Task.objects.get(rule=WINBACK_RULE, member=member)
    assert task.assignee == clerk and task.status == "open"  # the member's owner
    assert task.due_on == TODAY + dt.timedelta(days=7)
    assert task.context["reason"] == "moved" and "最近的门店" in task.context["script"]
    assert "最近的门店" in script_hint(task.rule, task.context)  # what the task list shows


def test_script_rides_on_the_follow_up_the_clerk_asked_for(member, clerk, specialist):
    _plan(specialist, "travelling", action="script", script="问问旅行见闻，回来后请到店试新款。", due_days=3)
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached",
                reason="travelling", next_due_on=TODAY + dt.timedelta(days=20), next_step="回来后再联系")
    assert not Task.objects.filter(rule=WINBACK_RULE).exists()
    follow_up = Task.objects.get(rule="follow_up", member=member)
    assert follow_up.context["script"] == "问问旅行见闻，回来后请到店试新款。"
    assert follow_up.context["next_step"] == "回来后再联系"


def test_manager_review_goes_to_the_store_manager_and_stays_with_them(member, clerk, manager):
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached",
                reason="quality", notes="扣子掉了两次")
    review = Task.objects.get(rule=REVIEW_RULE, member=member)
    assert review.assignee == manager and review.context["notes"] == "扣子掉了两次"
    assert review.context["reason_text"] == "质量"
    assert not Task.objects.filter(rule=WINBACK_RULE).exists()


def test_no_reason_no_plan(member, clerk):
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="no_answer")
    assert not Task.objects.filter(rule__in=[WINBACK_RULE, REVIEW_RULE]).exists()


def test_coupon_is_issued_by_campaigns(member, clerk, specialist, store):
    batch = batch_create(by=None, name="老会员回馈券", brand=store.brand, kind="amount", value=Decimal("100"),
                         valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=30), min_spend=Decimal("0"))
    _plan(specialist, "elsewhere", action="coupon", target=str(batch.pk))
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached",
                reason="elsewhere")
    assert Coupon.objects.filter(batch=batch, member=member).count() == 1
    task = Task.objects.get(rule=WINBACK_RULE, member=member)
    assert "老会员回馈券" in task.context["done"] and "老会员回馈券" in task.context["script"]
    # a second reason later: the member already has one: reported on the task, the contact is kept
    contact_log(task=_sleeping_task(member, clerk, key="k2"), staff=clerk, channel="phone", outcome="reached",
                reason="elsewhere")
    assert Coupon.objects.filter(batch=batch, member=member).count() == 1
    assert Contact.objects.count() == 2
    second = Task.objects.filter(rule=WINBACK_RULE, member=member).order_by("-pk").first()
    assert "未完成" in second.context["done"]


def test_message_is_sent_by_messaging(member, clerk, specialist):
    template = MessageTemplate.objects.create(name="想念您", category=Category.MISSING_YOU, channel=MessageChannel.SMS,
                                              body="{title}您好，好久不见，{store}想念您。{clerk}",
                                              updated_at=dt.datetime(2026, 6, 1, tzinfo=TZ))
    _plan(specialist, "busy", action="message", target=str(template.pk))
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached", reason="busy")
    message = Message.objects.get(member=member)
    assert message.template == template and "想念您" in message.body and message.sender == clerk
    assert "想念您" in Task.objects.get(rule=WINBACK_RULE, member=member).context["done"]


def test_a_registered_action_that_refuses_never_undoes_the_contact(member, clerk, specialist, monkeypatch):
    monkeypatch.setitem(ACTIONS, "x", ACTIONS["script"])  # so that "x" is removed again after the test

    def refuse(contact, target):
        raise ValidationError("没有库存")

    register_plan_action("x", "测试", refuse)
    _plan(specialist, "other", action="x")
    contact_log(task=_sleeping_task(member, clerk), staff=clerk, channel="phone", outcome="reached", reason="other")
    assert Contact.objects.filter(reason="other").count() == 1
    assert "没有库存" in Task.objects.get(rule=WINBACK_RULE, member=member).context["done"]


def test_the_settings_refuse_an_unknown_action_or_target(specialist):
    with pytest.raises(CareError) as exc:
        _plan(specialist, "moved", action="fly")
    assert exc.value.field == "plans.moved.action"
    with pytest.raises(CareError) as exc:
        _plan(specialist, "moved", action="coupon", target="999999")
    assert exc.value.field == "plans.moved.target" and "优惠券批次" in exc.value.text
    with pytest.raises(CareError) as exc:
        _plan(specialist, "moved", action="message", target="abc")
    assert exc.value.field == "plans.moved.target"
    with pytest.raises(CareError) as exc:
        _plan(specialist, "moved", script="话" * 501)
    assert exc.value.field == "plans.moved.script"


def test_hq_edits_the_plans_on_the_care_settings_page(client, specialist):
    client.force_login(specialist)
    page = client.get(reverse("care_settings")).content.decode()
    assert "按沉睡原因的挽回方案" in page and 'id="section-quality"' in page and "店长复核" in page
    initial = CareSettingsForm(config=care_config())
    data = {}
    for name, field in initial.fields.items():
        value = initial.initial.get(name, field.initial)
        if isinstance(value, list):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    data["s__plans__moved__action"] = "manager_review"
    data["s__plans__moved__script"] = "告诉会员最近的门店地址。"
    response = client.post(reverse("care_settings"), data)
    assert response.status_code == 302
    plan = care_config()["plans"]["moved"]
    assert plan["action"] == "manager_review" and plan["script"] == "告诉会员最近的门店地址。"
    client.force_login(StaffFactory(role=Role.MANAGER))
    assert client.get(reverse("care_settings")).status_code == 403
