"""A group of message tasks previewed and sent in one action from the care list (issue 18): each member's
message or why not; sent once, whatever the clicks or the threads; refusals leave their tasks open."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from membercare.care.models import Contact, Task, TaskStatus
from membercare.messaging.models import Category, Message, MessageChannel, MessageTemplate
from membercare.messaging.services import opt_out
from membercare.messaging.task_sends import task_group_preview, task_group_send
from membercare.service.complaints import complaint_open
from tests.factories import MemberFactory, StaffFactory

from .conftest import at

NOW = at(2026, 11, 2, 10)


def _group(store, clerk):
    MessageTemplate.objects.create(name="双十一", category=Category.PROMOTION, channel=MessageChannel.SMS,
                                   body="{title}您好，{store}双十一会员专享活动开始了。", updated_at=NOW)
    people = {
        "yes1": MemberFactory(consent_sms=True, home_store=store, owner=clerk),
        "yes2": MemberFactory(consent_sms=True, home_store=store, owner=clerk),
        "yes3": MemberFactory(consent_sms=True, home_store=store, owner=clerk, preferred_time="evening"),
        "no_consent": MemberFactory(consent_sms=False, home_store=store, owner=clerk),
        "complaint": MemberFactory(consent_sms=True, home_store=store, owner=clerk),
        "opted_out": MemberFactory(consent_sms=True, home_store=store, owner=clerk),
    }
    complaint_open(by=clerk, member=people["complaint"], store=store, category="quality", severity="medium",
                   description="拉链坏了", at=NOW - dt.timedelta(days=1))
    opt_out(people["opted_out"], "sms", source="TD", at=NOW - dt.timedelta(days=1))
    tasks = {k: Task.objects.create(rule="campaign_notice", key="double11", member=m, store=store, assignee=clerk,
                                    created_on=NOW.date(), due_on=NOW.date(), priority=40, channel="sms")
             for k, m in people.items()}
    return people, tasks


@pytest.mark.django_db
def test_preview_writes_nothing_and_says_why_not(store):
    clerk = StaffFactory(stores=[store])
    people, tasks = _group(store, clerk)
    with time_machine.travel(NOW, tick=False):
        lines = task_group_preview(staff=clerk, rule="campaign_notice")
    by_member = {line.task.member_id: line for line in lines}
    assert {k for k, m in people.items() if by_member[m.pk].ok} == {"yes1", "yes2", "yes3"}
    assert by_member[people["no_consent"].pk].refusal == "no_consent"
    assert by_member[people["complaint"].pk].refusal == "complaint_open"
    assert by_member[people["opted_out"].pk].refusal == "opted_out"
    assert store.name in by_member[people["yes1"].pk].body
    assert by_member[people["yes3"].pk].send_after > NOW  # the member's preferred time: the evening
    assert Message.objects.count() == 0 and Contact.objects.count() == 0
    assert set(Task.objects.values_list("status", flat=True)) == {TaskStatus.OPEN}


@pytest.mark.django_db
def test_sending_twice_sends_once(store, login):
    clerk = StaffFactory(stores=[store])
    people, tasks = _group(store, clerk)
    ids = [t.pk for t in tasks.values()]
    with time_machine.travel(NOW, tick=False):
        page = login(clerk).get(reverse("care_task_group_send", args=["campaign_notice"])).content.decode()
        assert people["yes1"].name in page and "未发送" in page and page.count('name="task"') == 3
        r = login(clerk).post(reverse("care_task_group_send", args=["campaign_notice"]), {"task": ids})
        assert r.status_code == 302 and "rule=campaign_notice" in r["Location"]
        again = task_group_send(staff=clerk, rule="campaign_notice", task_ids=ids)
    assert again == {"sent": 0, "refused": 3, "skipped": 3}
    assert sorted(Message.objects.values_list("member_id", flat=True)) == sorted(
        people[k].pk for k in ("yes1", "yes2", "yes3"))
    done = set(Task.objects.filter(status=TaskStatus.DONE).values_list("member_id", flat=True))
    assert done == {people[k].pk for k in ("yes1", "yes2", "yes3")}
    assert Contact.objects.filter(outcome="message_sent").count() == 3


@pytest.mark.django_db
def test_another_clerks_tasks_are_not_sent(store):
    clerk, other = StaffFactory(stores=[store]), StaffFactory(stores=[store])
    _people, tasks = _group(store, clerk)
    with time_machine.travel(NOW, tick=False):
        counts = task_group_send(staff=other, rule="campaign_notice", task_ids=[t.pk for t in tasks.values()])
    assert counts == {"sent": 0, "refused": 0, "skipped": 6} and Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_send_once(store):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")
    from tests.loyalty.test_concurrency import run_together

    clerk = StaffFactory(stores=[store])
    _people, tasks = _group(store, clerk)
    ids = [t.pk for t in tasks.values()]
    with time_machine.travel(NOW, tick=True):
        results = run_together([lambda: task_group_send(staff=clerk, rule="campaign_notice", task_ids=ids)] * 4)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["sent"] for r in results) == 3 == Message.objects.count()
