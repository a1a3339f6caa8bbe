"""The relationship owner re-derived from who served the member most (care.owners): hypothesis over receipts
against a plain-Python reference, pinned members untouched, tasks follow, every change logged; the monthly
step of the daily job; pinning on the profile. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.care.access import CareError
from membercare.care.config import DEFAULTS, merge
from membercare.care.daily import care_daily
from membercare.care.models import OwnerChange, OwnerPin, Task
from membercare.care.owners import owner_pin, owner_unpin, owners_step, rederive_owners
from membercare.members.models import Member
from membercare.org.models import Role
from tests.factories import MemberFactory, ReceiptFactory, StaffFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 1)
WINDOW = 365


class Rollback(Exception):
    pass


def reference(receipts: list[dict], owners: dict[int, int | None], pinned: set[int], valid: set[int],
              window: int = WINDOW) -> dict[int, int | None]:
    """The owner each member should have after the run, computed plainly."""
    start = dt.datetime.combine(DAY - dt.timedelta(days=window), dt.time(), tzinfo=TZ)
    end = dt.datetime.combine(DAY, dt.time(), tzinfo=TZ)
    served: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for r in receipts:
        if r["is_return"] or r["clerk"] not in valid or not start <= r["at"] < end:
            continue
        served[r["member"]][r["clerk"]].append(r["at"])
    out = dict(owners)
    for member, clerks in served.items():
        if member in pinned:
            continue
        out[member] = max(clerks, key=lambda c: (len(clerks[c]), max(clerks[c]), c))
    return out


receipt_st = st.fixed_dictionaries({
    "member": st.integers(0, 3), "clerk": st.integers(0, 3), "days_before": st.integers(0, 420),
    "hour": st.sampled_from([0, 9, 15, 23]), "is_return": st.booleans()})


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(specs=st.lists(receipt_st, max_size=25), pinned=st.sets(st.integers(0, 3)),
       start_owner=st.lists(st.sampled_from([None, 0, 1, 2, 3]), min_size=4, max_size=4),
       window=st.sampled_from([30, 365]))
def test_the_owner_is_who_served_most_like_the_reference(db, specs, pinned, start_owner, window):
    try:
        with transaction.atomic():
            store, closed = StoreFactory(), StoreFactory(is_active=False)
            clerks = [StaffFactory(stores=[store]), StaffFactory(stores=[store]),
                      StaffFactory(stores=[store], is_active=False),  # left: never the owner
                      StaffFactory(stores=[closed])]  # works only at a closed store: never the owner
            valid = {clerks[0].pk, clerks[1].pk}
            manager = StaffFactory(role=Role.MANAGER, stores=[store])
            members = [MemberFactory(home_store=store, owner=clerks[o] if o is not None else None)
                       for o in start_owner]
            receipts = []
            for i, spec in enumerate(specs):
                member, clerk = members[spec["member"]], clerks[spec["clerk"]]
                at = dt.datetime.combine(DAY - dt.timedelta(days=spec["days_before"]), dt.time(spec["hour"], i % 60),
                                         tzinfo=TZ)
                original = None
                if spec["is_return"]:
                    original = ReceiptFactory(store=store, member=member, clerk=None, sold_at=at)
                ReceiptFactory(store=store, member=member, clerk=clerk, sold_at=at, original=original)
                receipts.append({"member": member.pk, "clerk": clerk.pk, "at": at, "is_return": spec["is_return"]})
            for i in pinned:
                OwnerPin.objects.create(member=members[i], pinned_by=manager, pinned_at=at_(DAY))
            for m in members:  # an open task and a manager's review per member
                Task.objects.create(rule="sleeping_call", key="k", member=m, store=store, assignee=m.owner,
                                    created_on=DAY, due_on=DAY)
                Task.objects.create(rule="winback_review", key="k", member=m, store=store, assignee=manager,
                                    created_on=DAY, due_on=DAY)
            before = {m.pk: m.owner_id for m in members}
            expected = reference(receipts, before, {members[i].pk for i in pinned}, valid, window)

            changed = rederive_owners(DAY, window_days=window)

            after = dict(Member.objects.filter(pk__in=before).values_list("pk", "owner_id"))
            assert after == expected
            moved = {m for m in before if before[m] != after[m]}
            assert changed == len(moved)
            log = {c.member_id: (c.old_owner_id, c.new_owner_id, c.why, c.window_days)
                   for c in OwnerChange.objects.all()}
            assert log == {m: (before[m], after[m], "served_most", window) for m in moved}
            for m in before:  # the open task follows the owner; the manager's review stays
                task = Task.objects.get(member_id=m, rule="sleeping_call")
                assert task.assignee_id == (after[m] if m in moved else before[m])
                assert Task.objects.get(member_id=m, rule="winback_review").assignee_id == manager.pk
            assert rederive_owners(DAY, window_days=window) == 0  # a second run changes nothing
            raise Rollback
    except Rollback:
        pass


def at_(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


@pytest.mark.parametrize(("served", "expected"), [
    # (clerk index, days before) per receipt -> the owner's index (None: keeps the first owner, clerk 2)
    ([], 2),
    ([(0, 5)], 0),
    ([(0, 5), (1, 3), (1, 4)], 1),  # most receipts
    ([(0, 5), (1, 3)], 1),  # a tie: the most recent
    ([(1, 5), (0, 3)], 0),
    ([(0, 400), (0, 380), (1, 10)], 1),  # outside the 12 months do not count
    ([(2, 10)], 2),  # already the owner: nothing changes
])
def test_table_of_receipts_to_owner(db, store, served, expected):
    clerks = [StaffFactory(stores=[store]) for _ in range(3)]
    member = MemberFactory(home_store=store, owner=clerks[2])
    for clerk, days in served:
        ReceiptFactory(store=store, member=member, clerk=clerks[clerk], sold_at=at_(DAY - dt.timedelta(days=days)))
    rederive_owners(DAY)
    member.refresh_from_db()
    assert member.owner == clerks[expected]
    assert OwnerChange.objects.filter(member=member).count() == (0 if expected == 2 else 1)


def test_monthly_in_the_daily_job_and_only_once_a_month(db, store):
    clerk, other = StaffFactory(stores=[store]), StaffFactory(stores=[store])
    member = MemberFactory(home_store=store, owner=clerk)
    ReceiptFactory(store=store, member=member, clerk=other, sold_at=at_(dt.date(2026, 2, 20)))
    config = merge(DEFAULTS, {})
    with time_machine.travel(at_(dt.date(2026, 2, 27), 3), tick=False):  # the first run ever: derives
        assert care_daily(dt.date(2026, 2, 27), only=["owners"]).steps["owners"]["count"] == 1
    Member.objects.filter(pk=member.pk).update(owner=clerk)
    with time_machine.travel(at_(dt.date(2026, 2, 28), 3), tick=False):  # not again before the next 1st
        assert care_daily(dt.date(2026, 2, 28), only=["owners"]).steps["owners"]["count"] == 0
    with time_machine.travel(at_(dt.date(2026, 3, 2), 3), tick=False):  # the 1st was missed: made up on the 2nd
        run = care_daily(dt.date(2026, 3, 2), only=["owners"])
    assert run.steps["owners"]["count"] == 1
    member.refresh_from_db()
    assert member.owner == other
    Member.objects.filter(pk=member.pk).update(owner=clerk)
    assert owners_step(dt.date(2026, 3, 3), config) == 0  # once a month
    off = merge(DEFAULTS, {"owners": {"rederive": {"enabled": False}}})
    assert owners_step(dt.date(2026, 4, 1), off) == 0
    assert owners_step(dt.date(2026, 4, 1), merge(DEFAULTS, {"owners": {"rederive": {"window_days": 30}}})) == 0
    assert owners_step(dt.date(2026, 4, 2), config) == 1  # the 12 months' window sees the February receipt


def test_a_manager_pins_and_unpins_logged_and_tasks_follow(db, store, other_store, manager, clerk):
    member = MemberFactory(home_store=store, owner=clerk)
    colleague = StaffFactory(stores=[store])
    task = Task.objects.create(rule="sleeping_call", key="k", member=member, store=store, assignee=clerk,
                               created_on=DAY, due_on=DAY)
    owner_pin(member=member, owner=colleague, by=manager)
    member.refresh_from_db()
    task.refresh_from_db()
    assert member.owner == colleague and task.assignee == colleague
    assert OwnerPin.objects.get(member=member).pinned_by == manager
    ReceiptFactory(store=store, member=member, clerk=clerk, sold_at=at_(DAY - dt.timedelta(days=3)))
    assert rederive_owners(DAY) == 0  # pinned: left alone
    owner_unpin(member=member, by=manager)
    assert rederive_owners(DAY) == 1
    member.refresh_from_db()
    assert member.owner == clerk
    assert list(OwnerChange.objects.filter(member=member).order_by("pk").values_list("why", flat=True)) == [
        "pinned", "unpinned", "served_most"]
    stranger = StaffFactory(stores=[other_store])
    with pytest.raises(CareError):
        owner_pin(member=member, owner=stranger, by=manager)  # not of the manager's stores
    with pytest.raises(PermissionDenied):
        owner_pin(member=member, owner=clerk, by=clerk)  # a clerk may not
    with pytest.raises(PermissionDenied):
        owner_pin(member=member, owner=stranger, by=StaffFactory(role=Role.MANAGER, stores=[other_store]))
    with pytest.raises(CareError):
        owner_unpin(member=member, by=manager)  # not pinned


def test_the_profile_shows_the_history_and_pins(client, store, manager, clerk):
    member = MemberFactory(home_store=store, owner=clerk)
    colleague = StaffFactory(stores=[store], display_name="王导购")
    client.force_login(manager)
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert 'id="owner-pin"' in page
    response = client.post(reverse("care_owner_pin", args=[member.pk]), {"owner": colleague.pk})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.owner == colleague
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "已固定" in page and "王导购" in page
    assert client.post(reverse("care_owner_unpin", args=[member.pk])).status_code == 302
    assert not OwnerPin.objects.filter(member=member).exists()
    bad = client.post(reverse("care_owner_pin", args=[member.pk]), {"owner": "x"})
    assert bad.status_code == 400
    client.force_login(clerk)
    assert 'id="owner-pin"' not in client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert client.post(reverse("care_owner_pin", args=[member.pk]), {"owner": clerk.pk}).status_code == 403
