"""Win-back plans per dormancy reason (issue 20, part 4; seed 000: 询问…原因,并做综合分析…再计划挽回措施).

The plan is data in the care settings (`plans.<reason>`: action, script, target, due_days), edited by HQ on
the care settings page. When a clerk logs a contact with a reason (care.contacts.contact_log), the plan of
that reason is applied in the same transaction:

- "script": the member's next task carries the plan's call script (the script text, or the reason's default
  hint in care.catalogue): the follow-up task the clerk just asked for, else a new "winback" task for the
  member's owner due in `due_days`;
- "manager_review": a "winback_review" task for the manager of the contact's store (the store's default
  assignee when it has no manager), due in `due_days`, with the reason and what the clerk wrote; it stays with
  the manager when the owner changes (care.owners);
- an action an upper app registers (campaigns: "coupon", a coupon of batch `target`; messaging: "message", the
  template `target` sent to the member): the app's function does it, and the "winback" call task that follows
  says what was done (or why it could not be: a refusal never undoes the contact).

Why a registry: coupons and messages live in campaigns and messaging, above care in the layer order, so care
cannot call them. Each registers its action from its AppConfig.ready (`register_plan_action`), as prediction
registers its care rule and campaigns its sale-pipeline provider; care only knows the action's code, label, a
check of the target (run when the settings are saved) and the function to call. Without the app, the action
is unknown and the settings refuse it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from membercare.org.models import Role, Staff

from .catalogue import REASON_SCRIPTS
from .config import DEFAULTS
from .models import Contact, DormancyReason, StoreCareSettings, Task
from .taskgen import NewTask, TaskSpec, create_tasks

logger = logging.getLogger(__name__)

WINBACK_RULE = "winback"
REVIEW_RULE = "winback_review"
MAX_SCRIPT = 500
MAX_TARGET = 40


@dataclass(frozen=True)
class PlanAction:
    code: str
    label: str | Promise
    # (contact, target) -> what was done, in words (raise ValidationError when it cannot be done)
    apply: Callable[[Contact, str], str] | None = None
    # target -> an error message, or "" when the target is fine (run when HQ saves the settings)
    check: Callable[[str], str] | None = None


ACTIONS: dict[str, PlanAction] = {
    "script": PlanAction("script", _("Call with the script")),
    "manager_review": PlanAction("manager_review", _("Review by the store manager")),
}


def register_plan_action(code: str, label: str | Promise, apply: Callable[[Contact, str], str],
                         check: Callable[[str], str] | None = None) -> None:
    """An upper app's action (from its AppConfig.ready); registering the code again replaces it."""
    ACTIONS[code] = PlanAction(code, label, apply, check)


def action_choices() -> list[tuple[str, str]]:
    return [(a.code, str(a.label)) for a in ACTIONS.values()]


def check_plan(reason: str, plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each problem of one reason's plan (care.config_writes.care_config_validate)."""
    problems = []
    action = ACTIONS.get(plan.get("action", ""))
    if action is None:
        problems.append(("action", gettext("Choose one of the listed actions.")))
    if len(plan.get("script") or "") > MAX_SCRIPT:
        problems.append(("script", gettext("Keep the script under %(n)d characters.") % {"n": MAX_SCRIPT}))
    target = (plan.get("target") or "").strip()
    if len(target) > MAX_TARGET:
        problems.append(("target", gettext("Keep it under %(n)d characters.") % {"n": MAX_TARGET}))
    elif action is not None and action.check is not None:
        message = action.check(target)
        if message:
            problems.append(("target", message))
    return problems


def reason_script(reason: str, plan: dict[str, Any]) -> str:
    """The plan's script, else the reason's default hint (in the site's language: it is stored on the task)."""
    if (plan.get("script") or "").strip():
        return plan["script"].strip()
    with translation.override(django_settings.LANGUAGE_CODE):
        return str(REASON_SCRIPTS.get(reason, REASON_SCRIPTS[DormancyReason.OTHER]))


def _reason_text(reason: str) -> str:
    with translation.override(django_settings.LANGUAGE_CODE):
        return str(DormancyReason(reason).label) if reason in DormancyReason.values else reason


def _store_manager(contact: Contact) -> Staff | None:
    store_id = contact.store_id or contact.member.home_store_id
    manager = (Staff.objects.filter(stores=store_id, role=Role.MANAGER, is_active=True).order_by("pk").first())
    if manager is not None:
        return manager
    settings = StoreCareSettings.objects.filter(store_id=store_id).select_related("default_assignee").first()
    return settings.default_assignee if settings and settings.default_assignee else None


def apply_reason_plan(contact: Contact, config: dict[str, Any], follow_up: Task | None = None) -> Task | None:
    """Apply the plan of `contact.reason` (see the module docstring); returns the task that carries it."""
    if not contact.reason:
        return None
    plan = config.get("plans", {}).get(contact.reason) or DEFAULTS["plans"].get(contact.reason, {})
    today = timezone.localdate()
    due = today + dt.timedelta(days=int(plan.get("due_days", 7)))
    key = f"contact:{contact.pk}"
    base = {"reason": contact.reason, "reason_text": _reason_text(contact.reason), "contact": contact.pk}
    action = ACTIONS.get(plan.get("action", "script")) or ACTIONS["script"]
    if action.code == "manager_review":
        manager = _store_manager(contact)
        return Task.objects.create(
            rule=REVIEW_RULE, key=key, member=contact.member, store_id=contact.store_id or contact.member.home_store_id,
            assignee=manager, created_on=today, due_on=due, priority=25, channel="phone",
            context={**base, "notes": contact.notes[:300], "by": str(contact.staff or "")})
    context = {**base, "script": reason_script(contact.reason, plan)}
    if action.apply is not None:
        target = (plan.get("target") or "").strip()
        try:
            with transaction.atomic():
                context["done"] = action.apply(contact, target)
        except ValidationError as exc:
            context["done"] = gettext("%(action)s not done: %(why)s") % {
                "action": action.label, "why": " ".join(exc.messages)}
            logger.info("win-back plan %s for contact %s not done: %s", action.code, contact.pk, exc.messages)
        context["script"] = f"{context['done']} {context['script']}"
    if follow_up is not None:
        follow_up.context = {**follow_up.context, **context}
        follow_up.save(update_fields=["context"])
        return follow_up
    spec = TaskSpec(rule=WINBACK_RULE, day=today, priority=int(plan.get("priority", 26)), channel="phone")
    create_tasks(spec, [NewTask(member_id=contact.member_id, key=key, due_on=due, context=context)])
    return Task.objects.filter(rule=WINBACK_RULE, member_id=contact.member_id, key=key).first()
