"""The task generator: assignment and its fallbacks, the same in the set-based and the list variant."""

import datetime as dt

import pytest
from django.db.models import F, Value
from django.db.models.functions import JSONObject

from membercare.care.models import MemberSegments, StoreCareSettings, Task
from membercare.care.rules.base import date_value
from membercare.care.taskgen import NewTask, TaskSpec, create_tasks, insert_select
from membercare.org.models import Role
from tests.factories import StaffFactory, StoreFactory

D = dt.date
SPEC = TaskSpec(rule="test_rule", day=D(2026, 5, 1), priority=12, channel="sms")


def insert_sql(members) -> int:
    rows = (MemberSegments.objects.filter(member__in=members)
            .values(t_member=F("member_id"), t_key=Value("k"), t_due=date_value(D(2026, 5, 8)),
                    t_context=JSONObject(n=Value(1))))
    return insert_select(SPEC, rows)


def insert_list(members) -> int:
    return create_tasks(SPEC, [NewTask(member_id=m.pk, key="k", due_on=D(2026, 5, 8), context={"n": 1})
                               for m in members])


@pytest.fixture(params=["sql", "list"])
def insert(request):
    return insert_sql if request.param == "sql" else insert_list


def assignee(member):
    return Task.objects.get(rule="test_rule", member=member).assignee_id


@pytest.mark.django_db
class TestAssignment:
    def test_owner_who_works_at_a_store(self, insert, member_with, clerk, store):
        member = member_with(owner=clerk)
        assert insert([member]) == 1
        task = Task.objects.get(member=member)
        assert (task.assignee_id, task.store_id, task.created_on, task.due_on, task.priority, task.channel,
                task.status, task.context) == (clerk.pk, store.pk, D(2026, 5, 1), D(2026, 5, 8), 12, "sms", "open",
                                               {"n": 1})

    def test_owner_at_another_store_keeps_the_member(self, insert, member_with, other_store):
        roaming = StaffFactory(role=Role.CLERK, stores=[other_store])
        member = member_with(owner=roaming)
        insert([member])
        assert assignee(member) == roaming.pk

    def test_fallbacks(self, insert, member_with, store, clerk, manager):
        left = StaffFactory(role=Role.CLERK, stores=[store], is_active=False)
        no_store = StaffFactory(role=Role.CLERK)
        closed = StoreFactory(is_active=False)
        at_closed_store = StaffFactory(role=Role.CLERK, stores=[closed])
        members = [member_with(owner=o) for o in (left, no_store, at_closed_store, None)]
        insert(members)
        assert [assignee(m) for m in members] == [manager.pk] * 4
        Task.objects.all().delete()
        StoreCareSettings.objects.create(store=store, default_assignee=clerk)
        insert(members)
        assert [assignee(m) for m in members] == [clerk.pk] * 4

    def test_inactive_default_falls_to_the_manager_and_no_manager_to_nobody(self, insert, member_with, store, clerk):
        member = member_with()
        clerk.is_active = False
        clerk.save()
        StoreCareSettings.objects.create(store=store, default_assignee=clerk)
        insert([member])
        assert assignee(member) is None
        Task.objects.all().delete()
        manager = StaffFactory(role=Role.MANAGER, stores=[store])
        StaffFactory(role=Role.MANAGER, stores=[StoreFactory()])  # another store's manager
        insert([member])
        assert assignee(member) == manager.pk

    def test_store_is_the_home_store_and_twice_creates_once(self, insert, member_with, other_store, clerk):
        member = member_with(home_store=other_store, owner=clerk)
        assert insert([member]) == 1
        assert insert([member]) == 0
        task = Task.objects.get(member=member)
        assert (task.store_id, task.assignee_id) == (other_store.pk, clerk.pk)


@pytest.mark.django_db
def test_source_must_name_its_columns(member_with):
    member_with()
    with pytest.raises(ValueError, match="t_context"):
        insert_select(SPEC, MemberSegments.objects.values(t_member=F("member_id"), t_key=Value("k"),
                                                          t_due=date_value(D(2026, 5, 8))))
