"""The care list a clerk works through (issue 18): one card per member with all of today's reasons, closed
by one contact; kinds and channels as filter chips with counts; paged by member; the call order (overdue,
priority, card level, spending)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from membercare.care.contacts import contact_log
from membercare.care.models import MemberSegments, Task, TaskStatus
from membercare.care.selectors import BOARD_PAGE, task_board
from membercare.loyalty.models import Card
from tests.factories import MemberFactory, StaffFactory
from tests.web.test_care_pages import HTMX, TODAY, card_ids, task
from tests.web.test_care_pages import today as today  # noqa: F401 - the frozen clock

pytestmark = pytest.mark.django_db


def test_one_contact_closes_every_reason_of_the_card_and_nothing_else(login, clerk, store):
    member = MemberFactory(home_store=store, owner=clerk)
    other_member = MemberFactory(home_store=store, owner=clerk)
    a = task(member, clerk, rule="new_member_callback")
    b = task(member, clerk, rule="birthday_greeting", channel="sms")
    c = task(member, clerk, rule="a_monthly_call", due=TODAY - dt.timedelta(days=1))
    elsewhere = task(other_member, clerk, rule="birthday_greeting")
    page = login(clerk).get(reverse("care_tasks")).content.decode()
    assert card_ids(page) == [c.pk, elsewhere.pk]  # three reasons, one card, led by the overdue one
    r = login(clerk).post(reverse("care_task_contact", args=[c.pk]),
                          {f"t{c.pk}-channel": "phone", f"t{c.pk}-outcome": "reached",
                           "also": [a.pk, b.pk, elsewhere.pk]}, **HTMX)
    assert r.status_code == 200
    statuses = dict(Task.objects.values_list("pk", "status"))
    assert statuses[a.pk] == statuses[b.pk] == statuses[c.pk] == TaskStatus.DONE
    assert statuses[elsewhere.pk] == TaskStatus.OPEN  # another member's task is never closed by this contact


def test_a_task_outside_the_clerks_stores_is_not_closed_by_also(clerk, store, other_store):
    member = MemberFactory(home_store=store, owner=clerk)
    mine = task(member, clerk)
    theirs = Task.objects.create(rule="birthday_greeting", key="x", member=member, store=other_store,
                                 assignee=StaffFactory(stores=[other_store]), created_on=TODAY, due_on=TODAY)
    contact_log(staff=clerk, channel="phone", outcome="reached", task=mine, also=[theirs.pk])
    assert Task.objects.get(pk=theirs.pk).status == TaskStatus.OPEN


def test_chips_count_by_kind_and_channel_and_filter(login, clerk, store):
    for i in range(5):
        task(MemberFactory(home_store=store), clerk, rule="campaign_notice", key=f"n{i}", channel="sms")
    for i in range(3):
        task(MemberFactory(home_store=store), clerk, rule="dormant_review", key=f"d{i}")
    task(MemberFactory(home_store=store), clerk, rule="dormant_review", key="late", due=TODAY - dt.timedelta(days=2))
    board = task_board(clerk, TODAY)
    assert [(r, n, m) for r, _label, n, m in board.groups] == [("campaign_notice", 5, 5), ("dormant_review", 4, 0)]
    assert {c: n for c, _label, n in board.channels} == {"sms": 5, "phone": 4}
    assert task_board(clerk, TODAY, rule="dormant_review").tasks == 4
    assert task_board(clerk, TODAY, rule="dormant_review", due="overdue").tasks == 1
    assert len(task_board(clerk, TODAY, channel="sms").cards) == 5
    page = login(clerk).get(reverse("care_tasks"), {"rule": "dormant_review"}).content.decode()
    assert len(card_ids(page)) == 4 and 'class="chip on" data-rule="dormant_review"' in page


def test_paged_by_member_every_member_once(login, clerk, store):
    members = [MemberFactory(home_store=store) for _ in range(BOARD_PAGE * 2 + 5)]
    for i, m in enumerate(members):
        task(m, clerk, key=f"a{i}")
        if i % 3 == 0:
            task(m, clerk, rule="birthday_greeting", key=f"b{i}")
    seen = []
    for number in (1, 2, 3):
        page = login(clerk).get(reverse("care_tasks"), {"page": number}).content.decode()
        ids = card_ids(page)
        assert len(ids) == (BOARD_PAGE if number < 3 else 5)
        seen += [Task.objects.get(pk=i).member_id for i in ids]
    assert sorted(seen) == sorted(m.pk for m in members)  # each member on exactly one card
    assert len(page) < 400_000


def test_call_order_overdue_then_priority_then_card_then_spending(clerk, store):
    def member_with(kind=None, spend=None):
        m = MemberFactory(home_store=store)
        if kind:
            Card.objects.create(number=f"C{m.pk:07d}", member=m, kind=kind, brand=store.brand,
                                issued_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        if spend is not None:
            MemberSegments.objects.create(member=m, computed_on=TODAY, spend_12m=Decimal(spend))
        return m

    rich_elite, poor_elite = member_with("elite", 9000), member_with("elite", 100)
    knight, nobody, late = member_with("knight", 50), member_with(), member_with()
    urgent = member_with()
    for m in (rich_elite, poor_elite, knight, nobody):
        task(m, clerk, key="t", priority=50)
    task(late, clerk, key="t", priority=90, due=TODAY - dt.timedelta(days=1))
    task(urgent, clerk, key="t", priority=10)
    order = [c.primary.task.member_id for c in task_board(clerk, TODAY).cards]
    assert order == [late.pk, urgent.pk, knight.pk, rich_elite.pk, poor_elite.pk, nobody.pk]


def test_a_message_group_offers_its_send_in_one_action(login, clerk, store):
    for i in range(3):
        task(MemberFactory(home_store=store), clerk, rule="campaign_notice", key=f"n{i}", channel="sms")
    task(MemberFactory(home_store=store), clerk, rule="dormant_review", key="d")
    send = reverse("care_task_group_send", args=["campaign_notice"])
    assert send in login(clerk).get(reverse("care_tasks"), {"rule": "campaign_notice"}).content.decode()
    calls = login(clerk).get(reverse("care_tasks"), {"rule": "dormant_review"}).content.decode()
    assert "care/tasks/send/" not in calls  # calls are not sent as messages


def test_a_manager_of_two_stores_filters_the_board_by_store(login, manager, store, other_store):
    manager.stores.add(other_store)
    for i in range(3):
        task(MemberFactory(home_store=store), manager, key=f"a{i}")
    theirs = MemberFactory(home_store=other_store)
    other = Task.objects.create(rule="birthday_greeting", key="b0", member=theirs, store=other_store,
                                assignee=manager, created_on=TODAY, due_on=TODAY)
    board = task_board(manager, TODAY)
    assert {s: n for s, _name, n in board.stores} == {store.pk: 3, other_store.pk: 1}
    only = task_board(manager, TODAY, store=other_store.pk)
    assert only.tasks == 1 and [c.primary.task.member_id for c in only.cards] == [theirs.pk]
    page = login(manager).get(reverse("care_tasks"), {"store": other_store.pk}).content.decode()
    assert card_ids(page) == [other.pk] and f'data-store="{other_store.pk}"' in page
    assert f"store={other_store.pk}&amp;" in page or f"store={other_store.pk}\"" in page  # kept by the other chips
    one_kind = task_board(manager, TODAY, rule="birthday_greeting")
    assert [s for s, _name, _n in one_kind.stores] == [other_store.pk]  # counts follow the other filters


def test_a_clerk_of_one_store_sees_no_store_chips(login, clerk, store):
    task(MemberFactory(home_store=store), clerk)
    assert 'data-store="' not in login(clerk).get(reverse("care_tasks")).content.decode()
