"""Logging a contact with a member: its task and the member's other open tasks it answers done, the reason
asked for, the next contact's task ("follow_up") and the reason's plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_work_members, require
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .access import CareError, can_act_on_member, can_act_on_task
from .config import care_config
from .models import CareChannel, Contact, DormancyReason, Outcome, Task, TaskStatus
from .plans import apply_reason_plan

# rules whose contact must say why the member stopped coming, when the member was reached
REASON_RULES = ("dormant_review", "sleeping_call")
FOLLOW_UP_RULE = "follow_up"
FOLLOW_UP_PRIORITY = 20


def _contact_store(staff: Staff, member: Member, task: Task | None) -> Store:
    if task is not None:
        return task.store
    stores = list(staff.stores.order_by("pk"))
    for store in stores:
        if store.pk == member.home_store_id:
            return store
    return stores[0] if stores else member.home_store


MAX_ALSO = 50  # other tasks one contact may close: a member has a handful a day


@transaction.atomic
def contact_log(*, staff: Staff, channel: str, outcome: str, task: Task | None = None, member: Member | None = None,
                reason: str = "", notes: str = "", next_step: str = "", next_due_on: dt.date | None = None,
                at: dt.datetime | None = None, also: Iterable[int] = ()) -> Contact:
    """Log one contact with a member, from a task (which is then done) or not. A next contact date creates
    the next task (rule "follow_up") for the same member, assigned to whoever logged this contact. `also`: ids
    of the member's other open tasks this one contact answers (the care list shows one card per member with
    all of today's reasons); those the staff may work on are done too, the others are left as they are."""
    require(can_work_members(staff))
    if task is None and member is None:
        raise CareError("member_required", _("Choose the member or the task."))
    if task is not None:
        task = Task.objects.select_for_update().select_related("member", "store").get(pk=task.pk)
        if member is not None and member.pk != task.member_id:
            raise CareError("member_mismatch", _("This task is for another member."))
        member = task.member
        if not can_act_on_task(staff, task):
            raise CareError("not_yours", _("You can only work on the tasks of your own stores."))
        if task.status != TaskStatus.OPEN:
            raise CareError("task_closed", _("This task is already done or cancelled."))
    elif not can_act_on_member(staff, member):
        raise CareError("not_yours", _("You can only log contacts with members of your own stores."))

    if channel not in CareChannel.values:
        raise CareError("channel_invalid", _("Choose how you contacted the member."), "channel")
    if outcome not in Outcome.values:
        raise CareError("outcome_invalid", _("Choose the outcome of the contact."), "outcome")
    reason = reason or ""
    if reason and reason not in DormancyReason.values:
        raise CareError("reason_invalid", _("Choose one of the listed reasons."), "reason")
    if task is not None and task.rule in REASON_RULES and outcome == Outcome.REACHED and not reason:
        raise CareError("reason_required", _("The member was reached: record why they stopped coming."), "reason")
    notes, next_step = (notes or "").strip(), (next_step or "").strip()
    if len(next_step) > 200:
        raise CareError("next_step_too_long", _("Keep the next step under 200 characters."), "next_step")
    today = timezone.localdate()
    if next_due_on is not None and next_due_on < today:
        raise CareError("next_due_past", _("The next contact cannot be in the past."), "next_due_on")

    now = at or timezone.now()
    contact = Contact.objects.create(
        member=member, staff=staff, store=_contact_store(staff, member, task), task=task, at=now,
        channel=channel, outcome=outcome, reason=reason, notes=notes, next_step=next_step,
        next_due_on=next_due_on,
    )
    if task is not None:
        task.status, task.done_at, task.done_by = TaskStatus.DONE, now, staff
        task.save(update_fields=["status", "done_at", "done_by"])
        others = [t for t in Task.objects.select_for_update().filter(
            pk__in=[int(i) for i in also if str(i).isdigit()][:MAX_ALSO], member_id=member.pk,
            status=TaskStatus.OPEN).exclude(pk=task.pk).select_related("store") if can_act_on_task(staff, t)]
        Task.objects.filter(pk__in=[t.pk for t in others]).update(status=TaskStatus.DONE, done_at=now, done_by=staff)
    config = care_config()
    follow_up = None
    if next_due_on is not None:
        priority = config["rules"].get(FOLLOW_UP_RULE, {}).get("priority", FOLLOW_UP_PRIORITY)
        follow_up = Task.objects.create(
            rule=FOLLOW_UP_RULE, key=f"contact:{contact.pk}", member=member, store=contact.store, assignee=staff,
            created_on=today, due_on=next_due_on, priority=priority, channel=channel,
            context={"next_step": next_step, "contact": contact.pk, "after": task.rule if task else ""},
        )
    if reason:  # the win-back plan of the reason (care.plans): the next task carries it
        apply_reason_plan(contact, config, follow_up)
    return contact
