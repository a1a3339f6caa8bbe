"""After-sales service orders: the forward-only state machine, the call task when ready, refusals that write
nothing, the store's list (overdue first), erasure and the measures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from membercare.care.models import Task, TaskStatus
from membercare.service.aftersales import (
    READY_RULE,
    order_list,
    order_measures,
    service_order_cancel,
    service_order_collect,
    service_order_open,
    service_order_ready,
    service_order_to_workshop,
)
from membercare.service.models import ServiceOrder, ServiceStatus
from tests.factories import ReceiptFactory, ReceiptLineFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _open(clerk, member, store, **kw):
    args = {"kind": "alteration", "work": "裤长改短2厘米", "promised_on": timezone.localdate() + dt.timedelta(days=3),
            "item": "羊毛西裤"}
    args.update(kw)
    return service_order_open(by=clerk, member=member, store=store, **args)


def _code(exc: ValidationError) -> tuple[str, str]:
    (field, errors), = exc.error_dict.items()
    return field, errors[0].code


def test_open_with_a_purchase_line(clerk, member, store):
    line = ReceiptLineFactory(receipt=ReceiptFactory(store=store, member=member))
    order = _open(clerk, member, store, item="", receipt_line=line, kind="repair", charged=True, amount="30")
    assert order.number.startswith("S") and order.status == ServiceStatus.RECEIVED
    assert order.amount == Decimal("30.00") and order.item_label == line.product.name
    assert order.taken_by == clerk and order.received_at is not None


@pytest.mark.parametrize(("kw", "field", "code"), [
    ({"promised_on": dt.date(2020, 1, 1)}, "promised_on", "promised_past"),
    ({"charged": True, "amount": "-1"}, "amount", "amount_negative"),
    ({"charged": True, "amount": "abc"}, "amount", "amount_invalid"),
    ({"work": "改" * 1001}, "work", "work_too_long"),
    ({"work": "  "}, "work", "work_required"),
    ({"item": "衣" * 101}, "item", "item_too_long"),
    ({"item": ""}, "item", "item_required"),
    ({"kind": "dye"}, "kind", "kind_invalid"),
])
def test_bad_input_is_refused_and_writes_nothing(clerk, member, store, kw, field, code):
    with pytest.raises(ValidationError) as exc:
        _open(clerk, member, store, **kw)
    assert _code(exc.value) == (field, code)
    assert not ServiceOrder.objects.exists()


def test_free_order_records_zero(clerk, member, store):
    assert _open(clerk, member, store, charged=False, amount="50").amount == Decimal("0.00")


def test_another_members_purchase_is_refused(clerk, member, store):
    line = ReceiptLineFactory(receipt=ReceiptFactory(store=store))
    with pytest.raises(ValidationError) as exc:
        _open(clerk, member, store, receipt_line=line)
    assert _code(exc.value) == ("receipt_line", "line_other_member")


def test_other_store_clerk_cannot_open_or_move(clerk, other_clerk, member, store):
    with pytest.raises(ValidationError) as exc:
        _open(other_clerk, member, store)
    assert _code(exc.value)[1] == "not_yours"
    order = _open(clerk, member, store)
    with pytest.raises(ValidationError):
        service_order_to_workshop(order=order, by=other_clerk)
    order.refresh_from_db()
    assert order.status == ServiceStatus.RECEIVED


def test_forward_only_and_refusals_write_nothing(clerk, member, store):
    order = _open(clerk, member, store)
    for step in (service_order_ready, service_order_collect):
        with pytest.raises(ValidationError) as exc:
            step(order=order, by=clerk)
        assert _code(exc.value) == ("status", "wrong_status")
    order = service_order_to_workshop(order=order, by=clerk)
    with pytest.raises(ValidationError):
        service_order_to_workshop(order=order, by=clerk)
    order = service_order_ready(order=order, by=clerk)
    with pytest.raises(ValidationError):
        service_order_to_workshop(order=order, by=clerk)
    order = service_order_collect(order=order, by=clerk)
    assert order.status == ServiceStatus.COLLECTED and order.workshop_at and order.ready_at and order.collected_at
    with pytest.raises(ValidationError) as exc:
        service_order_cancel(order=order, by=clerk, reason="不改了")
    assert _code(exc.value) == ("status", "not_open")
    order.refresh_from_db()
    assert order.status == ServiceStatus.COLLECTED and order.cancel_reason == ""


def test_ready_creates_a_call_task_for_the_owner_and_collect_closes_it(clerk, manager, member, store):
    member.owner = manager
    member.save(update_fields=["owner"])
    order = service_order_to_workshop(order=_open(clerk, member, store), by=clerk)
    assert not Task.objects.filter(rule=READY_RULE).exists()
    order = service_order_ready(order=order, by=clerk)
    task = Task.objects.get(rule=READY_RULE)
    assert order.ready_task == task and task.assignee == manager and task.status == TaskStatus.OPEN
    assert "羊毛西裤" in task.context["script"] and order.number in task.context["title"]
    service_order_collect(order=order, by=clerk)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.done_by == clerk


def test_without_an_owner_at_the_store_the_taking_clerk_calls(clerk, member, store, other_store):
    member.owner = StaffFactory(username="elsewhere", stores=[other_store])
    member.save(update_fields=["owner"])
    order = service_order_to_workshop(order=_open(clerk, member, store), by=clerk)
    order = service_order_ready(order=order, by=clerk)
    assert order.ready_task.assignee == clerk


def test_cancel_needs_a_reason_and_closes_the_task(clerk, member, store):
    order = service_order_ready(order=service_order_to_workshop(order=_open(clerk, member, store), by=clerk),
                                by=clerk)
    with pytest.raises(ValidationError) as exc:
        service_order_cancel(order=order, by=clerk, reason=" ")
    assert _code(exc.value) == ("reason", "reason_required")
    with pytest.raises(ValidationError):
        service_order_cancel(order=order, by=clerk, reason="理" * 201)
    order.refresh_from_db()
    assert order.status == ServiceStatus.READY
    order = service_order_cancel(order=order, by=clerk, reason="会员不要了")
    assert order.status == ServiceStatus.CANCELLED and order.cancel_reason == "会员不要了"
    assert Task.objects.get(pk=order.ready_task_id).status == TaskStatus.CANCELLED


def test_list_shows_overdue_first_and_only_own_stores(clerk, other_clerk, specialist, member, store, other_store):
    today = timezone.localdate()
    later = _open(clerk, member, store, promised_on=today + dt.timedelta(days=1))
    soon = _open(clerk, member, store, promised_on=today + dt.timedelta(days=5))
    late = _open(clerk, member, store, promised_on=today + dt.timedelta(days=2))
    ready_late = service_order_ready(order=service_order_to_workshop(
        order=_open(clerk, member, store, promised_on=today), by=clerk), by=clerk)
    ServiceOrder.objects.filter(pk=late.pk).update(promised_on=today - dt.timedelta(days=2))
    ServiceOrder.objects.filter(pk=ready_late.pk).update(promised_on=today - dt.timedelta(days=5))
    rows = list(order_list(clerk, today=today))
    assert [o.pk for o in rows] == [late.pk, ready_late.pk, later.pk, soon.pk]  # ready is not overdue
    assert [o.late for o in rows] == [0, 1, 1, 1]
    assert [o.pk for o in order_list(clerk, status="overdue", today=today)] == [late.pk]
    assert not list(order_list(other_clerk, today=today))
    assert len(order_list(specialist, today=today)) == 4


def test_measures_over_a_hand_built_set(clerk, member, store, other_store):
    tz = timezone.get_current_timezone()
    day = dt.date(2026, 3, 10)
    at = dt.datetime(2026, 3, 10, 10, 0, tzinfo=tz)
    a = ServiceOrder.objects.create(number="S1", store=store, member=member, item="西裤", kind="alteration",
                                    work="改短", promised_on=day, received_at=at, taken_by=clerk,
                                    status="collected", ready_at=at + dt.timedelta(days=2),
                                    collected_at=at + dt.timedelta(days=3))
    ServiceOrder.objects.create(number="S2", store=store, member=member, item="大衣", kind="repair", work="换扣",
                                promised_on=day, received_at=at, taken_by=clerk, status="ready",
                                ready_at=at + dt.timedelta(days=3))
    ServiceOrder.objects.create(number="S3", store=store, member=member, item="裙", kind="alteration", work="收腰",
                                promised_on=day, received_at=at + dt.timedelta(days=1), taken_by=clerk,
                                status="in_workshop")
    ServiceOrder.objects.create(number="S4", store=other_store, member=member, item="衬衫", kind="repair",
                                work="补", promised_on=day, received_at=at, taken_by=clerk, status="received")
    m = order_measures({store.pk}, dt.date(2026, 3, 1), dt.date(2026, 3, 31), today=dt.date(2026, 3, 20))
    assert m == {"opened": 3, "collected": 1, "overdue": 1, "avg_days_to_ready": Decimal("2.5")}
    everyone = order_measures(None, dt.date(2026, 3, 1), dt.date(2026, 3, 31), today=dt.date(2026, 3, 20))
    assert everyone["opened"] == 4 and everyone["overdue"] == 2
    assert a.pk


def test_erasure_blanks_item_and_work(clerk, admin_user, member, store):
    from membercare.privacy.services import member_erase

    order = _open(clerk, member, store, item="婚纱")
    member_erase(member=member, by=admin_user, reason="会员要求删除", confirm_member_no=member.member_no)
    order.refresh_from_db()
    assert "婚纱" not in order.item and "裤长" not in order.work and order.number


def test_the_call_task_is_on_the_list_of_the_store_that_has_the_item(other_clerk, member, store, other_store):
    """A member of one store has an item altered at another: the call shows on the other store's list."""
    assert member.home_store == store
    order = service_order_to_workshop(order=_open(other_clerk, member, other_store), by=other_clerk)
    order = service_order_ready(order=order, by=other_clerk)
    assert order.ready_task.store == other_store and order.ready_task.assignee == other_clerk


def test_a_free_alteration_from_the_perk_counts_against_the_quota(clerk, member, store):
    from membercare.loyalty.models import Card, CardStatus, PerkUse
    from membercare.service.errors import ServiceError

    Card.objects.create(number="E0000001", member=member, kind="elite", status=CardStatus.ACTIVE, brand=store.brand,
                        issued_at=timezone.now() - dt.timedelta(days=30))
    first = _open(clerk, member, store, use_perk=True)
    assert first.perk_use.perk_code == "alteration" and first.perk_use.note == first.number
    assert first.perk_use.store_id == store.pk and not first.charged
    _open(clerk, member, store, use_perk=True)
    with pytest.raises(ServiceError) as exc:
        _open(clerk, member, store, use_perk=True)  # elite: 2 a season
    assert _code(exc.value) == ("use_perk", "perk_quota_used")
    assert "免费改衣已用 2 次（每季度 2 次）" in exc.value.messages[0]
    with pytest.raises(ServiceError) as exc:
        _open(clerk, member, store, use_perk=True, charged=True, amount="30.00")
    assert _code(exc.value) == ("charged", "perk_free_alteration")
    assert ServiceOrder.objects.count() == 2 and PerkUse.objects.count() == 2
