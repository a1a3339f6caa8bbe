"""Complaints: opening, the nine steps in order (none skipped, a note each), remedy and result before
closing, the follow-up task, escalation when late, permissions, the care engine's hooks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from membercare.care.contacts import contact_log
from membercare.care.models import Contact, Task, TaskStatus
from membercare.care.selectors import open_complaints_count
from membercare.service.complaints import (
    ESCALATION_RULE,
    FOLLOW_UP_RULE,
    complaint_assign,
    complaint_open,
    complaint_step_record,
    complaints_escalate,
)
from membercare.service.errors import ServiceError
from membercare.service.models import STEPS, Complaint, ComplaintState, ComplaintStep, GiftIssue, ServiceSettings
from tests.factories import ProductFactory

from .conftest import walk

pytestmark = pytest.mark.django_db


def test_open_sets_owner_deadline_by_severity_and_number(clerk, member, store):
    now = timezone.now()
    c = complaint_open(by=clerk, member=member, store=store, category="service", severity="high",
                       description="店员态度冷淡", at=now)
    assert c.state == ComplaintState.LISTEN and c.owner == clerk and c.opened_by == clerk
    assert c.due_at == now + dt.timedelta(hours=24)
    assert c.number.startswith("C")
    low = complaint_open(by=clerk, member=member, store=store, category="service", severity="low",
                         description="x", at=now)
    assert low.due_at == now + dt.timedelta(days=7)


def test_deadlines_are_configurable(clerk, member, store):
    ServiceSettings.objects.create(params={"complaints": {"deadline_hours": {"medium": 5}}}, created_at=timezone.now())
    now = timezone.now()
    c = complaint_open(by=clerk, member=member, store=store, category="fit", severity="medium", description="x",
                       at=now)
    assert c.due_at == now + dt.timedelta(hours=5)


def test_open_links_product_by_sku(clerk, member, store):
    product = ProductFactory(sku="BELT-9")
    c = complaint_open(by=clerk, member=member, store=store, category="quality", severity="low",
                       description="扣坏了", sku="belt-9")
    assert c.product == product and c.sku == "BELT-9"


@pytest.mark.parametrize("field,kwargs", [
    ("description", {"description": "   "}),
    ("category", {"category": "nonsense"}),
    ("severity", {"severity": "urgent"}),
])
def test_open_refuses_bad_input_naming_the_field(clerk, member, store, field, kwargs):
    data = {"category": "quality", "severity": "low", "description": "x", **kwargs}
    with pytest.raises(ServiceError) as err:
        complaint_open(by=clerk, member=member, store=store, **data)
    assert err.value.field == field
    assert not Complaint.objects.exists()


def test_clerk_cannot_open_in_another_store(other_clerk, member, store):
    with pytest.raises(ServiceError) as err:
        complaint_open(by=other_clerk, member=member, store=store, category="quality", severity="low",
                       description="x")
    assert err.value.error_code == "not_yours"


def test_full_walk_closes_with_remedy_result_follow_up_task_and_survey(open_complaint, clerk):
    c = walk(open_complaint, clerk, until="follow_up")
    assert c.state == ComplaintState.FOLLOW_UP
    task = c.follow_up_task
    assert task.rule == FOLLOW_UP_RULE and task.assignee == clerk and task.status == TaskStatus.OPEN
    assert task.due_on == timezone.localdate() + dt.timedelta(days=3)
    c = complaint_step_record(complaint=c, step="follow_up", note="回访：很满意", by=clerk)
    assert c.state == ComplaintState.CLOSED and c.closed_at is not None
    assert c.remedy == "免费更换同款" and c.satisfied is True
    assert list(c.steps.values_list("step", flat=True)) == STEPS
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
    assert c.survey.source == "complaint"


@pytest.mark.parametrize("target", ["talk", "handle", "result", "follow_up", "closed"])
def test_steps_cannot_be_skipped(open_complaint, clerk, target):
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=open_complaint, step=target, note="跳过", by=clerk, remedy="r",
                              satisfied=True)
    assert err.value.error_code == "step_out_of_order"
    open_complaint.refresh_from_db()
    assert open_complaint.state == ComplaintState.LISTEN and not ComplaintStep.objects.exists()


def test_a_step_cannot_be_recorded_twice(open_complaint, clerk):
    c = complaint_step_record(complaint=open_complaint, step="listen", note="听完了", by=clerk)
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=c, step="listen", note="again", by=clerk)
    assert err.value.error_code == "step_out_of_order"


def test_each_step_needs_a_note(open_complaint, clerk):
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=open_complaint, step="listen", note="  ", by=clerk)
    assert err.value.field == "note" and err.value.error_code == "note_required"


def test_handle_needs_a_remedy(open_complaint, clerk):
    c = walk(open_complaint, clerk, until="handle")
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=c, step="handle", note="处理", by=clerk, remedy="")
    assert err.value.field == "remedy"
    c.refresh_from_db()
    assert c.state == ComplaintState.HANDLE


def test_result_needs_satisfied_and_a_settlement_when_not(open_complaint, clerk):
    c = walk(open_complaint, clerk, until="result")
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=c, step="result", note="问了", by=clerk)
    assert err.value.field == "satisfied"
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=c, step="result", note="问了", by=clerk, satisfied=False)
    assert err.value.field == "settlement"
    c = complaint_step_record(complaint=c, step="result", note="问了", by=clerk, satisfied=False,
                              settlement="当场退款")
    assert c.satisfied is False and c.settlement == "当场退款" and c.state == ComplaintState.FOLLOW_UP


def test_closing_without_remedy_or_result_is_refused(open_complaint, clerk):
    """Even a complaint forced to the follow-up step without remedy and result cannot be closed."""
    Complaint.objects.filter(pk=open_complaint.pk).update(state=ComplaintState.FOLLOW_UP)
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=open_complaint, step="follow_up", note="回访", by=clerk)
    assert err.value.error_code == "remedy_missing"
    assert Complaint.objects.get(pk=open_complaint.pk).state == ComplaintState.FOLLOW_UP
    assert not ComplaintStep.objects.exists()  # nothing half-written


def test_database_refuses_closed_without_remedy_and_result(open_complaint):
    with pytest.raises(IntegrityError), transaction.atomic():
        Complaint.objects.filter(pk=open_complaint.pk).update(state=ComplaintState.CLOSED)


def test_database_refuses_a_step_without_note(open_complaint, clerk):
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplaintStep.objects.create(complaint=open_complaint, step="listen", note="", by=clerk, at=timezone.now())


def test_compensation_gift_comes_from_stock(open_complaint, clerk, gift, stocked):
    c = walk(open_complaint, clerk, until="compensate")
    c = complaint_step_record(complaint=c, step="compensate", note="送方巾", by=clerk, gift=gift)
    issue = GiftIssue.objects.get()
    assert issue.complaint == c and issue.reason == "compensation" and issue.member == c.member
    stocked.refresh_from_db()
    assert stocked.quantity == 2


def test_compensation_out_of_stock_refuses_the_step(open_complaint, clerk, gift, stocked):
    stocked.quantity = 0
    stocked.save()
    c = walk(open_complaint, clerk, until="compensate")
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=c, step="compensate", note="送方巾", by=clerk, gift=gift)
    assert err.value.error_code == "out_of_stock"
    c.refresh_from_db()
    assert c.state == ComplaintState.COMPENSATE and not GiftIssue.objects.exists()


def test_other_store_clerk_cannot_work_it(open_complaint, other_clerk, specialist):
    with pytest.raises(ServiceError) as err:
        complaint_step_record(complaint=open_complaint, step="listen", note="x", by=other_clerk)
    assert err.value.error_code == "not_yours"
    complaint_step_record(complaint=open_complaint, step="listen", note="HQ 代为记录", by=specialist)


def test_assign_by_manager_only(open_complaint, clerk, manager):
    with pytest.raises(ServiceError):
        complaint_assign(complaint=open_complaint, owner=manager, by=clerk)
    c = complaint_assign(complaint=open_complaint, owner=manager, by=manager)
    assert c.owner == manager


def test_escalation_marks_late_complaints_and_tasks_the_manager_once(open_complaint, manager):
    assert complaints_escalate(now=open_complaint.due_at - dt.timedelta(minutes=1)) == 0
    later = open_complaint.due_at + dt.timedelta(hours=1)
    assert complaints_escalate(now=later) == 1
    c = Complaint.objects.get(pk=open_complaint.pk)
    assert c.escalated_at == later and c.escalated_to == manager
    task = Task.objects.get(rule=ESCALATION_RULE)
    assert task.assignee == manager and task.context["complaint"] == c.pk and task.priority == 5
    assert complaints_escalate(now=later + dt.timedelta(days=1)) == 0
    assert Task.objects.filter(rule=ESCALATION_RULE).count() == 1


def test_closed_complaints_are_not_escalated(open_complaint, clerk):
    c = walk(open_complaint, clerk, until="closed")
    assert c.state == ComplaintState.CLOSED
    assert complaints_escalate(now=c.due_at + dt.timedelta(days=3)) == 0


def test_escalate_command(open_complaint, manager, capsys):
    from django.core.management import call_command

    Complaint.objects.filter(pk=open_complaint.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    call_command("complaints_escalate")
    assert "complaints escalated: 1" in capsys.readouterr().out


def test_care_hook_counts_open_complaints(open_complaint, clerk, member):
    assert open_complaints_count([member.pk]) == {member.pk: 1}
    walk(open_complaint, clerk, until="closed")
    assert open_complaints_count([member.pk]) == {}


def test_follow_up_contact_on_the_care_list_closes_the_complaint(open_complaint, clerk):
    c = walk(open_complaint, clerk, until="follow_up")
    contact_log(staff=clerk, task=c.follow_up_task, channel="phone", outcome="reached", notes="回访：满意")
    c.refresh_from_db()
    assert c.state == ComplaintState.CLOSED
    assert c.steps.get(step="follow_up").note == "回访：满意"
    assert Contact.objects.count() == 1


def test_permission_denied_for_inactive(open_complaint, clerk):
    clerk.is_active = False
    clerk.save()
    with pytest.raises(PermissionDenied):
        complaint_step_record(complaint=open_complaint, step="listen", note="x", by=clerk)
