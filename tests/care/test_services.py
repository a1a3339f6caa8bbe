"""Care writes: logging contacts (and the next task), moving tasks when a clerk leaves, the care settings
and care events. A refusal leaves nothing written."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from membercare.care import contacts
from membercare.care.access import CareError
from membercare.care.assignment import staff_leave, store_default_assignee_set, task_reassign
from membercare.care.calendar_writes import care_event_create, care_event_update
from membercare.care.config import DEFAULTS, care_config
from membercare.care.config_writes import care_config_save
from membercare.care.contacts import contact_log
from membercare.care.models import CareConfig, CareEvent, Contact, StoreCareSettings, Task, TaskStatus
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 10)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=TZ), tick=False):
        yield TODAY


@pytest.fixture
def member(store, clerk):
    return MemberFactory(name="王丽", home_store=store, owner=clerk)


def make_task(member, assignee, *, rule="new_member_callback", due=TODAY, key="k", store=None, **kw):
    return Task.objects.create(rule=rule, key=key, member=member, store=store or member.home_store,
                               assignee=assignee, created_on=due - dt.timedelta(days=3), due_on=due, **kw)


def error_code(exc_info) -> str:
    return exc_info.value.error_code


# ------------------------------------------------------------------------------------------ contacts


def test_contact_from_a_task_completes_it_and_schedules_the_next(member, clerk):
    task = make_task(member, clerk)
    contact = contact_log(task=task, staff=clerk, channel="phone", outcome="reached", notes="衣服很合身",
                          next_step="新款到店时再联系", next_due_on=TODAY + dt.timedelta(days=14))
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_by == clerk and task.done_at is not None
    assert contact.member == member and contact.task == task and contact.store == member.home_store
    nxt = Task.objects.get(rule="follow_up")
    assert nxt.key == f"contact:{contact.pk}" and nxt.member == member and nxt.assignee == clerk
    assert nxt.due_on == dt.date(2026, 6, 24) and nxt.status == TaskStatus.OPEN and nxt.store == task.store
    assert nxt.context["next_step"] == "新款到店时再联系"


def test_contact_without_a_next_date_creates_no_task(member, clerk):
    contact_log(member=member, staff=clerk, channel="wechat", outcome="message_sent", next_step="留意回复")
    assert Contact.objects.count() == 1 and Task.objects.count() == 0


@pytest.mark.parametrize("rule", ["dormant_review", "sleeping_call"])
def test_a_reached_dormant_member_needs_a_reason(member, clerk, rule):
    task = make_task(member, clerk, rule=rule)
    with pytest.raises(CareError) as exc:
        contact_log(task=task, staff=clerk, channel="phone", outcome="reached", notes="说最近很忙")
    assert error_code(exc) == "reason_required" and exc.value.field == "reason"
    assert Contact.objects.count() == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    # not reached: no reason to record; reached with a reason: fine
    contact_log(task=task, staff=clerk, channel="phone", outcome="no_answer")
    task2 = make_task(member, clerk, rule=rule, key="k2")
    contact = contact_log(task=task2, staff=clerk, channel="phone", outcome="reached", reason="moved")
    assert contact.reason == "moved"


def test_next_contact_in_the_past_is_refused(member, clerk):
    task = make_task(member, clerk)
    with pytest.raises(CareError) as exc:
        contact_log(task=task, staff=clerk, channel="phone", outcome="reached",
                    next_due_on=TODAY - dt.timedelta(days=1))
    assert error_code(exc) == "next_due_past"
    assert Contact.objects.count() == 0 and Task.objects.filter(status=TaskStatus.OPEN).count() == 1
    contact_log(task=task, staff=clerk, channel="phone", outcome="call_back", next_due_on=TODAY)  # today is fine


def test_bad_channel_outcome_or_reason_are_refused(member, clerk):
    task = make_task(member, clerk)
    for kwargs, code in [({"channel": "fax"}, "channel_invalid"), ({"outcome": "maybe"}, "outcome_invalid"),
                         ({"reason": "bored"}, "reason_invalid")]:
        args = {"channel": "phone", "outcome": "reached", **kwargs}
        with pytest.raises(CareError) as exc:
            contact_log(task=task, staff=clerk, **args)
        assert error_code(exc) == code
    assert Contact.objects.count() == 0


def test_a_done_task_cannot_be_logged_twice(member, clerk):
    task = make_task(member, clerk)
    contact_log(task=task, staff=clerk, channel="phone", outcome="reached")
    with pytest.raises(CareError) as exc:
        contact_log(task=task, staff=clerk, channel="phone", outcome="reached")
    assert error_code(exc) == "task_closed" and Contact.objects.count() == 1


def test_a_clerk_acts_only_on_tasks_and_members_of_their_stores(member, clerk, other_store, manager, specialist):
    stranger = StaffFactory(role=Role.CLERK, stores=[other_store])
    task = make_task(member, clerk)
    with pytest.raises(CareError) as exc:
        contact_log(task=task, staff=stranger, channel="phone", outcome="reached")
    assert error_code(exc) == "not_yours"
    with pytest.raises(CareError):
        contact_log(member=member, staff=stranger, channel="phone", outcome="reached")
    assert Contact.objects.count() == 0
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    # the store's manager and HQ may
    contact_log(member=member, staff=manager, channel="visit", outcome="reached")
    contact_log(task=task, staff=specialist, channel="phone", outcome="reached")
    assert Contact.objects.count() == 2


def test_a_failure_after_the_contact_leaves_nothing_written(member, clerk, monkeypatch):
    task = make_task(member, clerk)

    def broken():
        raise RuntimeError("settings unreadable")

    monkeypatch.setattr(contacts, "care_config", broken)  # fails after the contact and the task were written
    with pytest.raises(RuntimeError):
        contact_log(task=task, staff=clerk, channel="phone", outcome="reached",
                    next_due_on=TODAY + dt.timedelta(days=3))
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.done_at is None
    assert Contact.objects.count() == 0 and Task.objects.count() == 1


# ------------------------------------------------------------------------------------ reassignment


@pytest.fixture
def colleague(store):
    return StaffFactory(username="colleague", role=Role.CLERK, stores=[store])


def test_manager_reassigns_selected_open_tasks(member, clerk, colleague, manager):
    t1, t2 = make_task(member, clerk, key="1"), make_task(member, clerk, key="2")
    done = make_task(member, clerk, key="3", status=TaskStatus.DONE)
    moved = task_reassign(tasks=[t1, done], to_staff=colleague, by=manager)
    assert moved == 1
    assert Task.objects.get(pk=t1.pk).assignee == colleague
    assert Task.objects.get(pk=t2.pk).assignee == clerk and Task.objects.get(pk=done.pk).assignee == clerk
    assert task_reassign(from_staff=clerk, to_staff=colleague, by=manager) == 1  # all of the clerk's open tasks
    assert Task.objects.get(pk=t2.pk).assignee == colleague


def test_reassignment_refusals(member, clerk, colleague, manager, other_store):
    task = make_task(member, clerk)
    with pytest.raises(PermissionDenied):
        task_reassign(tasks=[task], to_staff=colleague, by=clerk)
    elsewhere = StaffFactory(role=Role.CLERK, stores=[other_store])
    with pytest.raises(CareError) as exc:
        task_reassign(tasks=[task], to_staff=elsewhere, by=manager)
    assert error_code(exc) == "to_staff_other_store"
    other_manager = StaffFactory(role=Role.MANAGER, stores=[other_store])
    with pytest.raises(CareError) as exc:
        task_reassign(tasks=[task], to_staff=colleague, by=other_manager)
    assert error_code(exc) == "not_yours"
    with pytest.raises(CareError):
        task_reassign(tasks=[], to_staff=colleague, by=manager)
    assert Task.objects.get(pk=task.pk).assignee == clerk


def test_clerk_leaves_tasks_and_members_go_to_the_named_colleague(store, member, clerk, colleague, manager):
    open_task = make_task(member, clerk, key="1")
    done = make_task(member, clerk, key="2", status=TaskStatus.DONE)
    moved = staff_leave(staff=clerk, by=manager, to_staff=colleague)
    assert moved == {"tasks": 1, "members": 1}
    assert Task.objects.get(pk=open_task.pk).assignee == colleague
    assert Task.objects.get(pk=done.pk).assignee == clerk  # history keeps who did it
    member.refresh_from_db()
    assert member.owner == colleague
    assert not clerk.stores.filter(pk=store.pk).exists()


def test_clerk_leaves_without_a_name_the_store_default_then_the_manager(store, member, clerk, colleague, manager):
    store_default_assignee_set(store=store, staff=colleague, by=manager)
    make_task(member, clerk, key="1")
    staff_leave(staff=clerk, by=manager)
    assert Task.objects.get(key="1").assignee == colleague
    # the default leaves too: the manager receives, and the store no longer names a default
    make_task(member, colleague, key="2")
    staff_leave(staff=colleague, by=manager)
    assert Task.objects.get(key="2").assignee == manager
    assert StoreCareSettings.objects.get(store=store).default_assignee is None


def test_no_one_to_take_over_is_refused_and_nothing_moves(store, member, clerk, specialist):
    make_task(member, clerk)
    with pytest.raises(CareError) as exc:
        staff_leave(staff=clerk, by=specialist, store=store)  # no manager, no default
    assert error_code(exc) == "no_receiver"
    assert Task.objects.get().assignee == clerk and clerk.stores.filter(pk=store.pk).exists()


def test_changing_store_keeps_work_in_the_other_store(store, other_store, clerk, colleague, specialist):
    clerk.stores.add(other_store)
    here = make_task(MemberFactory(home_store=store, owner=clerk), clerk, key="here")
    there_member = MemberFactory(home_store=other_store, owner=clerk)
    there = make_task(there_member, clerk, key="there")
    staff_leave(staff=clerk, by=specialist, store=store, to_staff=colleague)
    assert Task.objects.get(pk=here.pk).assignee == colleague and Task.objects.get(pk=there.pk).assignee == clerk
    there_member.refresh_from_db()
    assert there_member.owner == clerk
    assert list(clerk.stores.all()) == [other_store]


def test_default_assignee_must_work_in_the_store(store, other_store, manager, clerk):
    with pytest.raises(CareError):
        store_default_assignee_set(store=store, staff=StaffFactory(stores=[other_store]), by=manager)
    with pytest.raises(PermissionDenied):
        store_default_assignee_set(store=store, staff=clerk, by=clerk)
    assert store_default_assignee_set(store=store, staff=clerk, by=manager).default_assignee == clerk


# --------------------------------------------------------------------------------------- settings


def test_settings_save_a_new_version(specialist):
    params = {"segments": {"lifecycle": {"dormant_days": 100}}, "rules": {"birthday_greeting": {
        "enabled": False, "days_before": 10}}}
    version = care_config_save(params=params, by=specialist, note="春季调整")
    assert version.created_by == specialist and version.note == "春季调整"
    config = care_config()
    assert config["segments"]["lifecycle"]["dormant_days"] == 100
    assert config["rules"]["birthday_greeting"]["enabled"] is False
    assert config["rules"]["birthday_greeting"]["days_before"] == 10
    assert config["rules"]["new_member_callback"] == DEFAULTS["rules"]["new_member_callback"]
    # the next edit starts from this one
    care_config_save(params={"segments": {"abc": {"a_share": 0.25}}}, by=specialist)
    assert care_config()["segments"]["lifecycle"]["dormant_days"] == 100
    assert CareConfig.objects.count() == 2


@pytest.mark.parametrize("params, path, code", [
    ({"segments": {"lifecycle": {"dormant_days": 200}}}, "segments.lifecycle.sleeping_days", "lifecycle_order"),
    ({"segments": {"lifecycle": {"new_days": 0}}}, "segments.lifecycle.new_days", "out_of_range"),
    ({"segments": {"abc": {"a_share": 1.5}}}, "segments.abc.a_share", "share_range"),
    ({"segments": {"abc": {"a_share": 0.6, "b_share": 0.5}}}, "segments.abc.b_share", "abc_shares"),
    ({"segments": {"seven": {"churn_ratio": -0.1}}}, "segments.seven.churn_ratio", "share_range"),
    ({"rules": {"dormant_review": {"days": "ninety"}}}, "rules.dormant_review.days", "not_whole"),
    ({"rules": {"dormant_review": {"days": 90.5}}}, "rules.dormant_review.days", "not_whole"),
    ({"rules": {"birthday_greeting": {"enabled": "yes"}}}, "rules.birthday_greeting.enabled", "not_bool"),
    ({"rules": {"birthday_greeting": {"channel": "fax"}}}, "rules.birthday_greeting.channel", "channel_invalid"),
    ({"rules": {"new_stock_call": {"follow_up": ["A", "Z"]}}}, "rules.new_stock_call.follow_up",
     "unknown_choice"),
    ({"rules": {"new_member_callback": {"from_day": 8, "to_day": 7}}}, "rules.new_member_callback.to_day",
     "callback_days"),
    ({"rules": {"no_such_rule": {}}}, "rules.no_such_rule", "unknown_setting"),
])
def test_settings_refuse_bad_values(specialist, params, path, code):
    with pytest.raises(CareError) as exc:
        care_config_save(params=params, by=specialist)
    assert error_code(exc) == code and exc.value.field == path
    assert CareConfig.objects.count() == 0


def test_settings_errors_are_in_chinese(specialist):
    with pytest.raises(CareError) as exc:
        care_config_save(params={"rules": {"dormant_review": {"days": 0}}}, by=specialist)
    assert exc.value.text == "须在 1 到 3650 之间。"


@pytest.mark.parametrize("role", [Role.CLERK, Role.MANAGER])
def test_only_hq_edits_settings_and_events(store, role):
    user = StaffFactory(role=role, stores=[store])
    with pytest.raises(PermissionDenied):
        care_config_save(params={}, by=user)
    with pytest.raises(PermissionDenied):
        care_event_create(kind="campaign", title="x", starts_on=TODAY, by=user)
    assert CareConfig.objects.count() == 0 and CareEvent.objects.count() == 0


def test_care_events(specialist):
    event = care_event_create(kind="new_stock", title=" 秋季新款 ", starts_on=dt.date(2026, 9, 1), by=specialist)
    assert event.title == "秋季新款" and event.created_by == specialist
    with pytest.raises(CareError) as exc:
        care_event_update(event=event, by=specialist, ends_on=dt.date(2026, 8, 1))
    assert error_code(exc) == "ends_before_start"
    event.refresh_from_db()
    assert event.ends_on is None
    care_event_update(event=event, by=specialist, ends_on=dt.date(2026, 9, 30), kind="campaign")
    event.refresh_from_db()
    assert event.ends_on == dt.date(2026, 9, 30) and event.kind == "campaign"
    with pytest.raises(CareError):
        care_event_create(kind="party", title="x", starts_on=TODAY, by=specialist)
