"""Complaint writes: open one, walk its nine steps (each with a note; none skipped), reassign it, and the
daily escalation of late complaints to the store manager.

Every function runs in one transaction and checks everything before it writes: a refusal (ServiceError,
naming the field) leaves nothing half-written. The follow-up and escalation tasks are ordinary care tasks
(care.taskgen.create_tasks), so they appear on the clerk's and the manager's task lists.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.models import Task, TaskStatus
from membercare.care.rules.base import default_language
from membercare.care.taskgen import NewTask, TaskSpec, create_tasks
from membercare.core.permissions import can_work_members, require
from membercare.core.sequences import reserve_numbers
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store
from membercare.sales.models import Product

from .config import service_config
from .errors import ServiceError
from .models import STEPS, Complaint, ComplaintCategory, ComplaintState, ComplaintStep, Gift, Severity
from .permissions import can_work_complaint, is_chain_wide, works_in

FOLLOW_UP_RULE = "complaint_follow_up"
ESCALATION_RULE = "complaint_escalation"
MAX_NOTE = 4000


def deadline_for(severity: str, opened_at: dt.datetime, config: dict | None = None) -> dt.datetime:
    hours = (config or service_config())["complaints"]["deadline_hours"]
    return opened_at + dt.timedelta(hours=int(hours.get(severity, hours.get("medium", 72))))


def _text(value: str | None) -> str:
    return (value or "").strip()


@transaction.atomic
def complaint_open(*, by: Staff, member: Member, store: Store, category: str, severity: str, description: str,
                   sku: str = "", owner: Staff | None = None, at: dt.datetime | None = None) -> Complaint:
    """Open a complaint for `member` at `store`: owned by `owner` (default: whoever opens it), due by the
    severity's deadline."""
    require(can_work_members(by))
    if store is None:
        raise ServiceError("store_required", _("Choose the store."), "store")
    if not works_in(by, store):
        raise ServiceError("not_yours", _("You can only open complaints in your own stores."), "store")
    if category not in ComplaintCategory.values:
        raise ServiceError("category_invalid", _("Choose what the complaint is about."), "category")
    if severity not in Severity.values:
        raise ServiceError("severity_invalid", _("Choose how serious it is."), "severity")
    description = _text(description)
    if not description:
        raise ServiceError("description_required", _("Write down what the member said."), "description")
    if len(description) > MAX_NOTE:
        raise ServiceError("description_too_long", _("Keep it under %(n)d characters.") % {"n": MAX_NOTE},
                           "description")
    sku = _text(sku)
    if len(sku) > 60:
        raise ServiceError("sku_too_long", _("Keep the product or SKU under 60 characters."), "sku")
    owner = owner or by
    if not owner.is_active or not (is_chain_wide(owner) or owner.stores.filter(pk=store.pk).exists()):
        raise ServiceError("owner_other_store", _("%(name)s does not work at %(store)s.") % {
            "name": owner, "store": store.name}, "owner")
    product = Product.objects.filter(sku__iexact=sku).first() if sku else None
    at = at or timezone.now()
    number = f"C{reserve_numbers('complaint')[0]:08d}"
    return Complaint.objects.create(
        number=number, member=member, store=store, opened_by=by, owner=owner, category=category,
        product=product, sku=product.sku if product else sku, severity=severity, description=description,
        state=ComplaintState.LISTEN, opened_at=at, due_at=deadline_for(severity, at))


def _follow_up_task(complaint: Complaint, day: dt.date, config: dict) -> Task | None:
    days = int(config["complaints"]["follow_up_days"])
    with default_language():  # stored in the task, shown as its title and script hint
        title = _("Complaint %(number)s: follow-up call") % {"number": complaint.number}
        script = _("Ask whether the remedy worked out and whether they are satisfied now; thank them for "
                   "telling us. Record the follow-up step on the complaint.")
    spec = TaskSpec(rule=FOLLOW_UP_RULE, day=day, priority=int(config["complaints"]["follow_up_priority"]))
    key = f"complaint:{complaint.pk}"
    create_tasks(spec, [NewTask(member_id=complaint.member_id, key=key, due_on=day + dt.timedelta(days=days),
                                context={"title": title, "script": script, "complaint": complaint.pk,
                                         "number": complaint.number},
                                assignee_id=complaint.owner_id)])
    return Task.objects.filter(rule=FOLLOW_UP_RULE, member_id=complaint.member_id, key=key).first()


def _check_can_close(complaint: Complaint) -> None:
    """The workflow reaches "closed" only with a remedy and a result on record."""
    if not complaint.remedy.strip():
        raise ServiceError("remedy_missing", _("A complaint cannot be closed without a remedy."), "remedy")
    if complaint.satisfied is None:
        raise ServiceError("result_missing", _("A complaint cannot be closed without a result."), "satisfied")


@transaction.atomic
def complaint_step_record(*, complaint: Complaint, step: str, note: str, by: Staff, remedy: str = "",
                          satisfied: bool | None = None, settlement: str = "", gift: Gift | None = None,
                          gift_store: Store | None = None, at: dt.datetime | None = None) -> Complaint:
    """Record the complaint's current step (its note, and what the step needs) and move to the next one.

    Steps go strictly in order: `step` must be the complaint's current step. "handle" needs the remedy;
    "compensate" may give a gift (from the store's stock, recorded against the complaint); "result" needs
    whether the member is satisfied and, if not, what was settled on the spot; it creates the follow-up task.
    "follow_up" closes the complaint (which then needs a remedy and a result) and sends a survey."""
    require(can_work_members(by))
    complaint = Complaint.objects.select_for_update().select_related("member", "store").get(pk=complaint.pk)
    if not can_work_complaint(by, complaint):
        raise ServiceError("not_yours", _("You can only work on the complaints of your own stores."))
    if complaint.state == ComplaintState.CLOSED:
        raise ServiceError("closed", _("This complaint is already closed."), "step")
    if step != complaint.state:
        raise ServiceError("step_out_of_order", _("This complaint is at the step “%(current)s”: steps are done "
                                                  "in order, none can be skipped.") % {
            "current": ComplaintState(complaint.state).label}, "step")
    note = _text(note)
    if not note:
        raise ServiceError("note_required", _("Write a note of what was done and said at this step."), "note")
    if len(note) > MAX_NOTE:
        raise ServiceError("note_too_long", _("Keep it under %(n)d characters.") % {"n": MAX_NOTE}, "note")
    at = at or timezone.now()
    config = service_config()
    if step == ComplaintState.HANDLE:
        remedy = _text(remedy)
        if not remedy:
            raise ServiceError("remedy_required", _("Write down the remedy agreed with the member."), "remedy")
        complaint.remedy = remedy[:MAX_NOTE]
    elif step == ComplaintState.COMPENSATE and gift is not None:
        from .gifts import gift_issue

        gift_issue(member=complaint.member, gift=gift, store=gift_store or complaint.store, reason="compensation",
                   by=by, complaint=complaint, note=complaint.number, at=at)
    elif step == ComplaintState.RESULT:
        if satisfied is None:
            raise ServiceError("satisfied_required", _("Ask the member whether they are satisfied."), "satisfied")
        settlement = _text(settlement)
        if not satisfied and not settlement:
            raise ServiceError("settlement_required", _("The member is not satisfied: write down what was "
                                                        "settled on the spot."), "settlement")
        complaint.satisfied, complaint.settlement, complaint.resolved_at = bool(satisfied), settlement, at
    ComplaintStep.objects.create(complaint=complaint, step=step, note=note, by=by, at=at)
    position = STEPS.index(step)
    if position + 1 < len(STEPS):
        complaint.state = STEPS[position + 1]
    else:
        _check_can_close(complaint)
        complaint.state, complaint.closed_at = ComplaintState.CLOSED, at
    if complaint.state == ComplaintState.FOLLOW_UP:
        complaint.follow_up_task = _follow_up_task(complaint, timezone.localdate(at), config)
    complaint.save()
    if complaint.state == ComplaintState.CLOSED:
        if complaint.follow_up_task_id:
            Task.objects.filter(pk=complaint.follow_up_task_id, status=TaskStatus.OPEN).update(
                status=TaskStatus.DONE, done_at=at, done_by=by)
        if config["surveys"]["after_complaint"]:
            from .surveys import survey_send

            survey_send(member=complaint.member, store=complaint.store, clerk=complaint.owner or by,
                        source="complaint", complaint=complaint, at=at)
    return complaint


@transaction.atomic
def complaint_assign(*, complaint: Complaint, owner: Staff, by: Staff) -> Complaint:
    """Give the complaint to another owner: the store's manager or HQ; the owner must work at the store."""
    complaint = Complaint.objects.select_for_update().select_related("store").get(pk=complaint.pk)
    if not (is_chain_wide(by) or (by.role == Role.MANAGER and works_in(by, complaint.store_id))):
        raise ServiceError("not_manager", _("Only the store manager or HQ can give a complaint to someone else."),
                           "owner")
    if not owner.is_active or not (is_chain_wide(owner) or owner.stores.filter(pk=complaint.store_id).exists()):
        raise ServiceError("owner_other_store", _("%(name)s does not work at %(store)s.") % {
            "name": owner, "store": complaint.store.name}, "owner")
    complaint.owner = owner
    complaint.save(update_fields=["owner"])
    if complaint.follow_up_task_id:
        Task.objects.filter(pk=complaint.follow_up_task_id, status=TaskStatus.OPEN).update(assignee=owner)
    return complaint


def store_manager(store_id: int) -> Staff | None:
    return (Staff.objects.filter(stores=store_id, role=Role.MANAGER, is_active=True).order_by("pk").first())


@transaction.atomic
def complaints_escalate(now: dt.datetime | None = None) -> int:
    """The daily step: every open complaint past its deadline and not yet escalated is marked escalated and
    its store manager gets a care task (priority first). Safe to run twice. Returns how many were escalated."""
    now = now or timezone.now()
    config = service_config()
    late = list(Complaint.objects.select_for_update().filter(escalated_at__isnull=True, due_at__lt=now)
                .exclude(state=ComplaintState.CLOSED).order_by("pk"))
    if not late:
        return 0
    day = timezone.localdate(now)
    spec = TaskSpec(rule=ESCALATION_RULE, day=day, priority=int(config["complaints"]["escalation_priority"]))
    rows = []
    for complaint in late:
        manager = store_manager(complaint.store_id)
        complaint.escalated_at, complaint.escalated_to = now, manager
        with default_language():
            title = _("Complaint %(number)s is past its deadline") % {"number": complaint.number}
            script = _("The complaint (%(step)s) was due on %(due)s. See that it is settled today; call the "
                       "member if needed.") % {"step": ComplaintState(complaint.state).label,
                                               "due": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M")}
        rows.append(NewTask(member_id=complaint.member_id, key=f"complaint:{complaint.pk}", due_on=day,
                            context={"title": title, "script": script, "complaint": complaint.pk,
                                     "number": complaint.number},
                            assignee_id=manager.pk if manager else None))
    Complaint.objects.bulk_update(late, ["escalated_at", "escalated_to"])
    create_tasks(spec, rows)
    return len(late)


@transaction.atomic
def complaint_from_member(*, member: Member, category: str, description: str,
                          at: dt.datetime | None = None) -> Complaint:
    """A complaint or feedback the member files themselves (the member centre, issue 22): it enters the nine
    steps at the first (listen), at the member's registration store, owned by their relationship owner when
    that clerk still works there (else unassigned, for the store manager to assign), due by the medium
    severity's deadline (the store judges the severity when it listens)."""
    if category not in ComplaintCategory.values:
        raise ServiceError("category_invalid", _("Choose what the complaint is about."), "category")
    description = _text(description)
    if not description:
        raise ServiceError("description_required", _("Tell us what happened."), "description")
    if len(description) > MAX_NOTE:
        raise ServiceError("description_too_long", _("Keep it under %(n)d characters.") % {"n": MAX_NOTE},
                           "description")
    store = member.home_store
    owner = member.owner if (member.owner_id and member.owner.is_active
                             and member.owner.stores.filter(pk=store.pk).exists()) else None
    at = at or timezone.now()
    number = f"C{reserve_numbers('complaint')[0]:08d}"
    return Complaint.objects.create(
        number=number, member=member, store=store, opened_by=None, owner=owner, category=category, sku="",
        severity=Severity.MEDIUM, description=description, state=ComplaintState.LISTEN, opened_at=at,
        due_at=deadline_for(Severity.MEDIUM, at))
