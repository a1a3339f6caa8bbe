"""After-sales service (售后服务): alteration and repair orders on a member's purchase.

An order is taken in at a store (the item: a line of one of the member's receipts, or a description for a
purchase older than the system), says what to do, by when (the promised date) and whether it is free or
charged (with the amount). It moves forward only: received → in workshop → ready → collected, or it is
cancelled (with a reason) while still open. When it becomes ready, a care task asks the member's
relationship owner (or, when the member has no owner at the store, the clerk who took it in) to call the
member; collecting or cancelling closes that task.

Writes (one transaction each, the order locked with select_for_update, every check before any write: a
refusal is a ServiceError naming the field, with a stable code) and reads (the store's list, overdue first;
the member's open orders; the measures) both live here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.models import Task, TaskStatus
from membercare.care.rules.base import default_language
from membercare.care.taskgen import NewTask, TaskSpec, create_tasks
from membercare.core.permissions import can_work_members, require
from membercare.core.sequences import reserve_numbers
from membercare.loyalty.perks import perk_use
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.models import ReceiptLine
from membercare.sales.pipeline import CheckoutError

from .errors import ServiceError
from .models import SERVICE_OPEN, ServiceKind, ServiceOrder, ServiceStatus
from .permissions import is_chain_wide, store_ids, works_in

READY_RULE = "service_order_ready"
MAX_ITEM = 100
MAX_WORK = 1000
MAX_REASON = 200
MAX_AMOUNT = Decimal("99999999.99")
MAX_PROMISE_DAYS = 365
PERK_CODE = "alteration"  # the programme's perk of free alterations (seed 001: 免费改衣)
CENT = Decimal("0.01")


def _text(value: str | None) -> str:
    return (value or "").strip()


def _amount(charged: bool, amount) -> Decimal:
    if not charged:
        return Decimal("0.00")
    try:
        value = Decimal(str(amount if amount not in (None, "") else "")).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ServiceError("amount_invalid", _("Enter the amount to charge, e.g. 30.00."), "amount") from None
    if value < 0:
        raise ServiceError("amount_negative", _("The amount cannot be negative."), "amount")
    if value > MAX_AMOUNT:
        raise ServiceError("amount_too_large", _("The amount is too large."), "amount")
    return value


@transaction.atomic
def service_order_open(*, by: Staff, member: Member, store: Store, kind: str, work: str,
                       promised_on: dt.date, receipt_line: ReceiptLine | None = None, item: str = "",
                       charged: bool = False, amount=None, at: dt.datetime | None = None,
                       use_perk: bool = False) -> ServiceOrder:
    """Take in an alteration or repair for `member` at `store`. `use_perk`: a free alteration taken from the
    member's card's perk (PERK_CODE, loyalty.perks): counted against its quota in the same transaction, refused
    past it."""
    require(can_work_members(by))
    if store is None:
        raise ServiceError("store_required", _("Choose the store."), "store")
    if not works_in(by, store):
        raise ServiceError("not_yours", _("You can only take in service orders at your own stores."), "store")
    if kind not in ServiceKind.values:
        raise ServiceError("kind_invalid", _("Choose alteration or repair."), "kind")
    item = _text(item)
    if len(item) > MAX_ITEM:
        raise ServiceError("item_too_long", _("Keep the item under %(n)d characters.") % {"n": MAX_ITEM}, "item")
    if receipt_line is not None and receipt_line.receipt.member_id != member.pk:
        raise ServiceError("line_other_member", _("This purchase is not the member's."), "receipt_line")
    if receipt_line is None and not item:
        raise ServiceError("item_required", _("Choose the purchase or describe the item."), "item")
    work = _text(work)
    if not work:
        raise ServiceError("work_required", _("Write down what is to be done."), "work")
    if len(work) > MAX_WORK:
        raise ServiceError("work_too_long", _("Keep it under %(n)d characters.") % {"n": MAX_WORK}, "work")
    at = at or timezone.now()
    today = timezone.localdate(at)
    if promised_on is None:
        raise ServiceError("promised_required", _("Enter the promised date."), "promised_on")
    if promised_on < today:
        raise ServiceError("promised_past", _("The promised date cannot be in the past."), "promised_on")
    if promised_on > today + dt.timedelta(days=MAX_PROMISE_DAYS):
        raise ServiceError("promised_too_far", _("The promised date must be within a year."), "promised_on")
    value = _amount(bool(charged), amount)
    if use_perk and (charged or kind != ServiceKind.ALTERATION):
        raise ServiceError("perk_free_alteration", _("The perk gives free alterations: choose alteration and free."),
                           "charged")
    number = f"S{reserve_numbers('service_order')[0]:08d}"
    use = None
    if use_perk:
        try:
            use = perk_use(member=member, perk_code=PERK_CODE, store=store, clerk=by, note=number, at=at)
        except CheckoutError as exc:
            raise ServiceError(exc.error_code, exc.text, "use_perk") from None
    return ServiceOrder.objects.create(
        number=number, store=store, member=member, receipt_line=receipt_line, item=item, kind=kind, work=work,
        promised_on=promised_on, charged=bool(charged), amount=value, status=ServiceStatus.RECEIVED,
        taken_by=by, received_at=at, perk_use=use)


def can_work_order(user: Staff, order: ServiceOrder) -> bool:
    return works_in(user, order.store_id)


def _locked(order: ServiceOrder, by: Staff) -> ServiceOrder:
    require(can_work_members(by))
    order = (ServiceOrder.objects.select_for_update(of=("self",))
             .select_related("member", "store", "receipt_line__product")
             .get(pk=order.pk))
    if not can_work_order(by, order):
        raise ServiceError("not_yours", _("You can only work on the service orders of your own stores."))
    return order


def _expect(order: ServiceOrder, status: str) -> None:
    if order.status != status:
        raise ServiceError("wrong_status", _("This order is “%(current)s”: it cannot take this step.") % {
            "current": ServiceStatus(order.status).label}, "status")


def _close_task(order: ServiceOrder, by: Staff, at: dt.datetime, status: str) -> None:
    if order.ready_task_id:
        Task.objects.filter(pk=order.ready_task_id, status=TaskStatus.OPEN).update(
            status=status, done_at=at, done_by=by)


def _assignee(order: ServiceOrder) -> int | None:
    """The member's relationship owner when they work at the order's store, else whoever took it in."""
    owner = order.member.owner
    if owner is not None and owner.is_active and owner.stores.filter(pk=order.store_id, is_active=True).exists():
        return owner.pk
    return order.taken_by_id


def _ready_task(order: ServiceOrder, at: dt.datetime) -> Task | None:
    day = timezone.localdate(at)
    with default_language():  # stored in the task, shown as its title and script hint
        kind = ServiceKind(order.kind).label
        title = _("%(kind)s %(number)s is ready: call the member") % {"kind": kind, "number": order.number}
        script = _("Tell the member that their %(item)s is ready (%(work)s) and can be collected at %(store)s.") % {
            "item": order.item_label, "work": order.work[:100], "store": order.store.name}
    key = f"service_order:{order.pk}"
    create_tasks(TaskSpec(rule=READY_RULE, day=day, priority=70),
                 [NewTask(member_id=order.member_id, key=key, due_on=day,
                          context={"title": title, "script": script, "service_order": order.pk,
                                   "number": order.number}, assignee_id=_assignee(order),
                          store_id=order.store_id)])  # on the list of the store that has the item
    return Task.objects.filter(rule=READY_RULE, member_id=order.member_id, key=key).first()


@transaction.atomic
def service_order_to_workshop(*, order: ServiceOrder, by: Staff, at: dt.datetime | None = None) -> ServiceOrder:
    order = _locked(order, by)
    _expect(order, ServiceStatus.RECEIVED)
    order.status, order.workshop_at = ServiceStatus.IN_WORKSHOP, at or timezone.now()
    order.save(update_fields=["status", "workshop_at"])
    return order


@transaction.atomic
def service_order_ready(*, order: ServiceOrder, by: Staff, at: dt.datetime | None = None) -> ServiceOrder:
    """Back from the workshop: ready for collection, and a care task to call the member."""
    order = _locked(order, by)
    _expect(order, ServiceStatus.IN_WORKSHOP)
    at = at or timezone.now()
    order.status, order.ready_at = ServiceStatus.READY, at
    order.ready_task = _ready_task(order, at)
    order.save(update_fields=["status", "ready_at", "ready_task"])
    return order


@transaction.atomic
def service_order_collect(*, order: ServiceOrder, by: Staff, at: dt.datetime | None = None) -> ServiceOrder:
    """The member took the item: the order is done and the call task closed."""
    order = _locked(order, by)
    _expect(order, ServiceStatus.READY)
    at = at or timezone.now()
    order.status, order.collected_at = ServiceStatus.COLLECTED, at
    order.save(update_fields=["status", "collected_at"])
    _close_task(order, by, at, TaskStatus.DONE)
    return order


@transaction.atomic
def service_order_cancel(*, order: ServiceOrder, by: Staff, reason: str,
                         at: dt.datetime | None = None) -> ServiceOrder:
    """Cancel an open order (with the reason); an open call task is cancelled too."""
    order = _locked(order, by)
    if not order.is_open:
        raise ServiceError("not_open", _("This order is “%(current)s”: it cannot be cancelled.") % {
            "current": ServiceStatus(order.status).label}, "status")
    reason = _text(reason)
    if not reason:
        raise ServiceError("reason_required", _("Write down why the order is cancelled."), "reason")
    if len(reason) > MAX_REASON:
        raise ServiceError("reason_too_long", _("Keep it under %(n)d characters.") % {"n": MAX_REASON}, "reason")
    at = at or timezone.now()
    order.status, order.cancelled_at, order.cancel_reason = ServiceStatus.CANCELLED, at, reason
    order.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    _close_task(order, by, at, TaskStatus.CANCELLED)
    return order


# ------------------------------------------------------------------------------------------ reads


def visible_orders(user: Staff, qs: QuerySet | None = None) -> QuerySet:
    qs = ServiceOrder.objects.all() if qs is None else qs
    if not can_work_members(user):
        return qs.none()
    return qs if is_chain_wide(user) else qs.filter(store_id__in=store_ids(user))


def overdue_q(today: dt.date) -> Q:
    """Promised date passed and not yet ready (nor collected, nor cancelled)."""
    return Q(promised_on__lt=today, status__in=[ServiceStatus.RECEIVED, ServiceStatus.IN_WORKSHOP])


def order_list(user: Staff, *, status: str = "open", store_id: int | None = None,
               today: dt.date | None = None) -> QuerySet:
    """The store's orders (the user's stores; HQ all), overdue ones first, then by promised date."""
    today = today or timezone.localdate()
    qs = visible_orders(user).select_related("member", "store", "taken_by", "receipt_line__product")
    if store_id:
        qs = qs.filter(store_id=store_id)
    if status == "open":
        qs = qs.filter(status__in=SERVICE_OPEN)
    elif status == "overdue":
        qs = qs.filter(overdue_q(today))
    elif status in ServiceStatus.values:
        qs = qs.filter(status=status)
    late = Case(When(overdue_q(today), then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(late=late).order_by("late", "promised_on", "pk")


def member_open_orders(member: Member, user: Staff) -> QuerySet:
    return (visible_orders(user).filter(member=member, status__in=SERVICE_OPEN)
            .select_related("store", "receipt_line__product").order_by("promised_on", "pk"))


def member_lines(member: Member, limit: int = 50) -> QuerySet:
    """The member's latest purchase lines (sales, not returns), to choose the item from."""
    return (ReceiptLine.objects.filter(receipt__member=member, quantity__gt=0)
            .select_related("product", "receipt").order_by("-receipt__sold_at", "-pk")[:limit])


def order_measures(store_ids_: set[int] | None, start: dt.date, end: dt.date,
                   today: dt.date | None = None) -> dict:
    """The after-sales measures over [start, end] (local days) for the stores (None: every store): orders
    taken in, collected, overdue now and the average days from received to ready."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    qs = ServiceOrder.objects.all()
    if store_ids_ is not None:
        qs = qs.filter(store_id__in=store_ids_)
    counts = qs.aggregate(opened=Count("pk", filter=Q(received_at__gte=lo, received_at__lt=hi)),
                          collected=Count("pk", filter=Q(collected_at__gte=lo, collected_at__lt=hi)),
                          overdue=Count("pk", filter=overdue_q(today)))
    spans = [(r - s).total_seconds() / 86400 for s, r in
             qs.filter(ready_at__gte=lo, ready_at__lt=hi).values_list("received_at", "ready_at")]
    counts["avg_days_to_ready"] = (Decimal(str(sum(spans) / len(spans))).quantize(Decimal("0.1"))
                                   if spans else None)
    return counts
