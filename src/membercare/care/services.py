"""Care writes: logging contacts, moving tasks between staff, the care settings and care events.

Every function runs in one transaction and checks everything before it writes, so a refusal leaves
nothing half-written. Refusals are `CareError`s (a ValidationError naming the field, with a stable code);
a role that may not do something at all gets PermissionDenied (403 in the web pages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, can_work_members, require
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store

from .config import DEFAULTS, care_config, merge
from .models import (
    CareChannel,
    CareConfig,
    CareEvent,
    Contact,
    DormancyReason,
    Festival,
    Outcome,
    StoreCareSettings,
    Task,
    TaskStatus,
)
from .plans import apply_reason_plan, check_plan

# rules whose contact must say why the member stopped coming, when the member was reached
REASON_RULES = ("dormant_review", "sleeping_call")
FOLLOW_UP_RULE = "follow_up"
FOLLOW_UP_PRIORITY = 20


class CareError(ValidationError):
    """A refusal with a stable code and a message naming the field (like loyalty.cards.CardError)."""

    def __init__(self, code: str, message: str, field: str = "__all__"):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.error_code = code
        self.text = message
        self.field = field


# ------------------------------------------------------------------------------------------- scope


def is_chain_wide(user: Staff) -> bool:
    return bool(user.is_chain_wide)  # org.Staff.is_chain_wide


def can_edit_care_settings(user: Staff) -> bool:
    """Care settings and care events: the VIP specialist and the admin (as the programme)."""
    return can_edit_programme(user)


def can_manage_store_tasks(user: Staff, store: Store | None = None) -> bool:
    """Reassign tasks, hand over a leaving clerk's work, pick the default assignee: the store's manager or HQ."""
    if not can_work_members(user):
        return False
    if is_chain_wide(user):
        return True
    if user.role != Role.MANAGER:
        return False
    return store is None or user.stores.filter(pk=store.pk).exists()


def _store_ids(user: Staff) -> set[int]:
    return set(user.stores.values_list("pk", flat=True))


def can_act_on_task(user: Staff, task: Task) -> bool:
    """A clerk: tasks of their stores (or assigned to them); a manager: their stores; HQ: all."""
    if not can_work_members(user):
        return False
    if is_chain_wide(user) or task.assignee_id == user.pk:
        return True
    return task.store_id in _store_ids(user)


def can_act_on_member(user: Staff, member: Member) -> bool:
    """A clerk or manager: members registered in their stores, owned by them, or with a task of their stores."""
    if not can_work_members(user):
        return False
    if is_chain_wide(user) or member.owner_id == user.pk:
        return True
    stores = _store_ids(user)
    if member.home_store_id in stores:
        return True
    return Task.objects.filter(member=member, store_id__in=stores).exists()


def _contact_store(staff: Staff, member: Member, task: Task | None) -> Store:
    if task is not None:
        return task.store
    stores = list(staff.stores.order_by("pk"))
    for store in stores:
        if store.pk == member.home_store_id:
            return store
    return stores[0] if stores else member.home_store


# ------------------------------------------------------------------------------------------ contacts


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


# ------------------------------------------------------------------------------------- assignment


def _works_in(staff: Staff, store_id: int) -> bool:
    return staff.stores.filter(pk=store_id).exists()


@transaction.atomic
def task_reassign(*, to_staff: Staff, by: Staff, tasks: Iterable[Task] | None = None,
                  from_staff: Staff | None = None, store: Store | None = None) -> int:
    """Move OPEN tasks to `to_staff`: the given tasks, or all of `from_staff`'s (in `store` when given).
    The receiver must work in each task's store. Returns how many tasks moved."""
    require(can_manage_store_tasks(by))
    if tasks is None and from_staff is None:
        raise CareError("tasks_required", _("Choose the tasks to reassign."), "tasks")
    if not to_staff.is_active:
        raise CareError("to_staff_inactive", _("%(name)s can no longer log in.") % {"name": to_staff}, "to_staff")
    qs = Task.objects.select_for_update().filter(status=TaskStatus.OPEN)
    if tasks is not None:
        ids = [t.pk if isinstance(t, Task) else int(t) for t in tasks]
        if not ids:
            raise CareError("tasks_required", _("Choose the tasks to reassign."), "tasks")
        qs = qs.filter(pk__in=ids)
    if from_staff is not None:
        qs = qs.filter(assignee=from_staff)
    if store is not None:
        qs = qs.filter(store=store)
    chosen = list(qs.select_related("store"))
    for task in chosen:
        if not can_manage_store_tasks(by, task.store):
            raise CareError("not_yours", _("You can only reassign the tasks of your own stores."), "tasks")
        if not is_chain_wide(to_staff) and not _works_in(to_staff, task.store_id):
            raise CareError("to_staff_other_store", _("%(name)s does not work at %(store)s.") % {
                "name": to_staff, "store": task.store.name}, "to_staff")
    if not chosen:
        return 0
    return Task.objects.filter(pk__in=[t.pk for t in chosen]).update(assignee=to_staff)


def store_receiver(store: Store, *, leaving: Staff | None = None) -> Staff | None:
    """Who takes over work in a store when nobody is named: the store's default assignee, else its manager."""
    settings = StoreCareSettings.objects.select_related("default_assignee").filter(store=store).first()
    default = settings.default_assignee if settings else None
    if default is not None and default.is_active and default != leaving and _works_in(default, store.pk):
        return default
    return (Staff.objects.filter(stores=store, role=Role.MANAGER, is_active=True).exclude(
        pk=leaving.pk if leaving else None).order_by("pk").first())


@transaction.atomic
def staff_leave(*, staff: Staff, by: Staff, store: Store | None = None, to_staff: Staff | None = None,
                detach: bool = True) -> dict[str, int]:
    """A clerk leaves or changes store: in `store` (default: each of their stores that `by` manages) their
    OPEN tasks and the members they own (registered there) go to `to_staff`, else the store's default
    assignee, else its manager; with `detach` they are taken off the store. Returns the counts moved."""
    require(can_manage_store_tasks(by))
    if store is not None:
        stores = [store]
    else:
        stores = [s for s in staff.stores.order_by("pk") if can_manage_store_tasks(by, s)]
    if not stores:
        raise CareError("store_required", _("%(name)s works in none of your stores.") % {"name": staff}, "store")
    if to_staff is not None and to_staff.pk == staff.pk:
        raise CareError("to_staff_same", _("Choose a colleague to take over."), "to_staff")
    if to_staff is not None and not to_staff.is_active:
        raise CareError("to_staff_inactive", _("%(name)s can no longer log in.") % {"name": to_staff}, "to_staff")
    plan = []
    for s in stores:
        if not can_manage_store_tasks(by, s):
            raise CareError("not_yours", _("You can only hand over work in your own stores."), "store")
        receiver = to_staff or store_receiver(s, leaving=staff)
        if receiver is None:
            raise CareError("no_receiver", _("%(store)s has neither a default assignee nor a manager: choose "
                                             "who takes over.") % {"store": s.name}, "to_staff")
        if not is_chain_wide(receiver) and not _works_in(receiver, s.pk):
            raise CareError("to_staff_other_store", _("%(name)s does not work at %(store)s.") % {
                "name": receiver, "store": s.name}, "to_staff")
        plan.append((s, receiver))
    moved = {"tasks": 0, "members": 0}
    for s, receiver in plan:
        moved["tasks"] += Task.objects.filter(assignee=staff, store=s, status=TaskStatus.OPEN).update(
            assignee=receiver)
        moved["members"] += Member.objects.filter(owner=staff, home_store=s).update(owner=receiver)
        if detach:
            staff.stores.remove(s)
            settings = StoreCareSettings.objects.filter(store=s, default_assignee=staff).first()
            if settings is not None:
                settings.default_assignee = None
                settings.save(update_fields=["default_assignee"])
    return moved


@transaction.atomic
def store_default_assignee_set(*, store: Store, staff: Staff | None, by: Staff) -> StoreCareSettings:
    """Who receives the store's tasks of members without an owner (None: the manager)."""
    require(can_manage_store_tasks(by, store))
    if staff is not None and (not staff.is_active or not _works_in(staff, store.pk)):
        raise CareError("default_other_store", _("%(name)s does not work at %(store)s.") % {
            "name": staff, "store": store.name}, "default_assignee")
    settings, _created = StoreCareSettings.objects.select_for_update().get_or_create(store=store)
    settings.default_assignee = staff
    settings.save(update_fields=["default_assignee"])
    return settings


# --------------------------------------------------------------------------------------- settings

_SHARE_KEYS = {"a_share", "b_share", "high_value_share", "high_loyalty_share", "high_ticket_share",
               "high_freq_share", "low_share", "churn_ratio", "full_price_share", "ratio"}
_FOLLOW_UP_CLASSES = ("A", "B", "C", "D")
_LIFECYCLE_ORDER = ("new_days", "dormant_days", "sleeping_days", "lost_days")
# whole-number settings: (smallest, largest)
_RANGES = {
    "priority": (0, 999), "weekday": (0, 6), "day_of_month": (1, 28), "due_days": (1, 60),
    "from_day": (0, 60), "to_day": (0, 60), "days_before": (0, 60), "visits": (1, 100),
    "min_purchases": (2, 100), "churn_min_baseline_days": (1, 365), "high_loyalty_max_gap_days": (1, 365),
    "grace_days": (0, 60), "catch_up_days": (1, 60), "turnover_days": (1, 366), "from_day_after": (0, 60),
    "to_day_after": (0, 60),
}
_MAX_PROSPECT_STEPS = 10
_MAX_AMOUNT = Decimal("1000000.00")
_DAYS_RANGE = (1, 3650)


def _path(*parts: str) -> str:
    return ".".join(parts)


def _check_value(path: str, key: str, default: Any, value: Any) -> Any:
    """One setting checked against the type of its default and its range; returns it normalised."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise CareError("not_bool", _("Must be yes or no."), path)
        return value
    if isinstance(default, int):
        if isinstance(value, bool):
            raise CareError("not_whole", _("Must be a whole number."), path)
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_whole", _("Must be a whole number."), path) from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise CareError("not_whole", _("Must be a whole number."), path)
        low, high = _RANGES.get(key, _DAYS_RANGE if key.endswith("days") or key == "days" else (0, 100000))
        if not low <= number <= high:
            raise CareError("out_of_range", _("Must be between %(low)d and %(high)d.") % {"low": low, "high": high},
                            path)
        return int(number)
    if isinstance(default, float):
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_number", _("Must be a number."), path) from exc
        if isinstance(value, bool) or not number.is_finite():
            raise CareError("not_number", _("Must be a number."), path)
        if key in _SHARE_KEYS and not Decimal(0) <= number <= Decimal(1):
            raise CareError("share_range", _("A share is between 0 and 1 (0.20 = 20 percent)."), path)
        return float(number)
    if key == "min_amount":  # yuan, kept as text with 2 places (money is never a float)
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_amount", _("Enter an amount in yuan, e.g. 500.00."), path) from exc
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or not 0 <= amount <= _MAX_AMOUNT:
            raise CareError("not_amount", _("Enter an amount in yuan, e.g. 500.00."), path)
        return f"{amount:.2f}"
    if key == "days_after":  # the prospect follow-ups: days after registering, ascending
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= _MAX_PROSPECT_STEPS:
            raise CareError("days_after", _("Give 1 to %(n)d days, e.g. 3, 7, 14.") % {"n": _MAX_PROSPECT_STEPS},
                            path)
        days = []
        for item in value:
            if isinstance(item, bool) or not str(item).strip().isdigit() or not 1 <= int(str(item)) <= 365:
                raise CareError("days_after", _("Each day is a whole number from 1 to 365."), path)
            days.append(int(str(item)))
        if sorted(set(days)) != days:
            raise CareError("days_after", _("The days must grow, e.g. 3, 7, 14."), path)
        return days
    if isinstance(default, str):
        if key == "channel" and value not in CareChannel.values:
            raise CareError("channel_invalid", _("Choose one of the channels."), path)
        if not isinstance(value, str):
            raise CareError("not_text", _("Must be text."), path)
        return value
    if isinstance(default, list):
        if not isinstance(value, list | tuple):
            raise CareError("not_list", _("Must be a list."), path)
        allowed = _FOLLOW_UP_CLASSES if key == "follow_up" else (_festival_codes() if key == "holidays" else None)
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise CareError("unknown_choice", _("Unknown choice “%(value)s”.") % {"value": unknown[0]}, path)
            return [v for v in allowed if v in value]  # one spelling, in the usual order
        return list(value)
    return value


def _festival_codes() -> list[str]:
    """The care settings' festivals (holiday_greeting.holidays) are the codes of care.Festival (HQ's table)."""
    return list(Festival.objects.order_by("pk").values_list("code", flat=True))


def _check_tree(default: dict, value: Any, prefix: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise CareError("not_settings", _("Must be a set of named settings."), _path(*prefix) or "__all__")
    unknown = sorted(set(value) - set(default))
    if unknown:
        raise CareError("unknown_setting", _("Unknown setting “%(name)s”.") % {"name": unknown[0]},
                        _path(*prefix, unknown[0]))
    out = {}
    for key, base in default.items():
        path = (*prefix, key)
        if key not in value:
            out[key] = base
        elif isinstance(base, dict):
            out[key] = _check_tree(base, value[key], path)
        else:
            out[key] = _check_value(_path(*path), key, base, value[key])
    return out


def care_config_validate(params: dict[str, Any]) -> dict[str, Any]:
    """The whole settings tree (DEFAULTS filled in) with every value checked: types, ranges, shares between 0
    and 1, lifecycle days in order. Raises CareError naming the setting's path (e.g. segments.abc.a_share)."""
    tree = _check_tree(DEFAULTS, params, ())
    life = tree["segments"]["lifecycle"]
    for earlier, later in zip(_LIFECYCLE_ORDER, _LIFECYCLE_ORDER[1:], strict=False):
        if life[earlier] >= life[later]:
            raise CareError("lifecycle_order", _("Days must grow: new < dormant < sleeping < lost."),
                            f"segments.lifecycle.{later}")
    for reason, plan in tree["plans"].items():  # the win-back plans (care.plans)
        for field, message in check_plan(reason, plan):
            raise CareError("plan_invalid", message, f"plans.{reason}.{field}")
    abc = tree["segments"]["abc"]
    if abc["a_share"] + abc["b_share"] > 1:
        raise CareError("abc_shares", _("A and B together cannot be more than all members (1)."),
                        "segments.abc.b_share")
    for code, first, last in (("new_member_callback", "from_day", "to_day"),
                              ("purchase_callback", "from_day_after", "to_day_after")):
        callback = tree["rules"].get(code, {})
        if first in callback and last in callback and callback[first] > callback[last]:
            raise CareError("callback_days", _("The first day must not come after the last day."),
                            f"rules.{code}.{last}")
    return tree


@transaction.atomic
def care_config_save(*, params: dict[str, Any], by: Staff, note: str = "") -> CareConfig:
    """A new version of the care settings (the whole tree), after checking it. The daily job reads the latest."""
    require(can_edit_care_settings(by))
    tree = care_config_validate(merge(care_config(), params))
    if len(note or "") > 200:
        raise CareError("note_too_long", _("Keep the note under 200 characters."), "note")
    return CareConfig.objects.create(params=tree, note=(note or "").strip(), created_by=by,
                                     created_at=timezone.now())


# ------------------------------------------------------------------------------------------ events

_EVENT_FIELDS = ("kind", "title", "brand", "series", "starts_on", "ends_on", "details")


def _event_check(values: dict[str, Any]) -> None:
    if values.get("kind") not in CareEvent.Kind.values:
        raise CareError("kind_invalid", _("Choose new stock or campaign."), "kind")
    if not (values.get("title") or "").strip():
        raise CareError("title_required", _("Give the event a title."), "title")
    if len(values["title"].strip()) > 100:
        raise CareError("title_too_long", _("Keep the title under 100 characters."), "title")
    if not isinstance(values.get("starts_on"), dt.date):
        raise CareError("starts_on_required", _("Give the first day."), "starts_on")
    ends_on = values.get("ends_on")
    if ends_on is not None and ends_on < values["starts_on"]:
        raise CareError("ends_before_start", _("The last day cannot come before the first day."), "ends_on")


@transaction.atomic
def care_event_create(*, kind: str, title: str, starts_on: dt.date, by: Staff, ends_on: dt.date | None = None,
                      brand=None, series=None, details: str = "") -> CareEvent:
    """New stock arriving or a campaign: the care rules call A members before it and notify members 5 days
    ahead (care.rules reads the events)."""
    require(can_edit_care_settings(by))
    values = {"kind": kind, "title": title, "starts_on": starts_on, "ends_on": ends_on, "brand": brand,
              "series": series, "details": details or ""}
    _event_check(values)
    values["title"] = values["title"].strip()
    return CareEvent.objects.create(**values, created_by=by, created_at=timezone.now())


@transaction.atomic
def care_event_update(*, event: CareEvent, by: Staff, **changes: Any) -> CareEvent:
    require(can_edit_care_settings(by))
    unknown = sorted(set(changes) - set(_EVENT_FIELDS))
    if unknown:
        raise CareError("unknown_field", _("Unknown setting “%(name)s”.") % {"name": unknown[0]})
    event = CareEvent.objects.select_for_update().get(pk=event.pk)
    values = {name: getattr(event, name) for name in _EVENT_FIELDS}
    values.update(changes)
    values["details"] = values.get("details") or ""
    _event_check(values)
    values["title"] = values["title"].strip()
    for name, value in values.items():
        setattr(event, name, value)
    event.save()
    return event



# --------------------------------------------------------------------------------------------- festivals

_FESTIVAL_FIELDS = ("name", "calendar", "month", "day", "active", "audience_id", "gender", "greeting", "channel")
MAX_GREETING = 500


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _festival_clean(values: dict[str, Any]) -> dict[str, Any]:
    """The festival's values checked (every problem at once, per field) and normalised; CareError-like
    ValidationError otherwise."""
    from membercare.core.text import has_control

    from .festivals import audience_name
    from .models import FestivalCalendar

    errors: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the festival a name.")]
    elif len(name) > 30 or has_control(name):
        errors["name"] = [_("At most 30 characters, no control characters.")]
    calendar = values.get("calendar")
    if calendar not in FestivalCalendar.values:
        errors["calendar"] = [_("Choose the solar or the lunar calendar.")]
    month = _int_in(values.get("month"), 1, 12)
    if month is None:
        errors["month"] = [_("The month is a whole number from 1 to 12.")]
    day = _int_in(values.get("day"), 1, 30 if calendar == FestivalCalendar.LUNAR else 31)
    if day is None:
        errors["day"] = [_("The day is a whole number from 1 to 30 (lunar) or 31 (solar).")]
    elif month is not None and calendar == FestivalCalendar.SOLAR:
        try:
            dt.date(2024, month, day)  # a leap year: 29 February is a festival day (the 28th in other years)
        except ValueError:
            errors["day"] = [_("This month has no such day.")]
    audience_id = values.get("audience_id")
    if audience_id in ("", None):
        audience_id = None
    else:
        audience_id = _int_in(audience_id, 1, 2**62)
        if audience_id is None or audience_name(audience_id) is None:
            errors["audience_id"] = [_("This audience does not exist.")]
    gender = values.get("gender") or ""
    if gender not in ("", "F", "M"):
        errors["gender"] = [_("Choose women, men or everyone.")]
    greeting = str(values.get("greeting") or "").strip()
    if len(greeting) > MAX_GREETING:
        errors["greeting"] = [_("Keep the greeting under %(n)d characters.") % {"n": MAX_GREETING}]
    elif has_control(greeting):
        errors["greeting"] = [_("The text may not hold control characters.")]
    channel = values.get("channel") or ""
    if channel and channel not in CareChannel.values:
        errors["channel"] = [_("Choose one of the channels.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "calendar": calendar, "month": month, "day": day, "active": bool(values.get("active")),
            "audience_id": audience_id, "gender": gender, "greeting": greeting, "channel": channel}


@transaction.atomic
def festival_create(*, by: Staff, name: str, calendar: str, month: int, day: int, active: bool = True,
                    audience_id: int | None = None, gender: str = "", greeting: str = "",
                    channel: str = "") -> Festival:
    """A festival HQ adds (specialist, admin). It is greeted from now on: its code joins the holiday greeting's
    festivals in a new version of the care settings (history: who and which festival), which HQ may untick."""
    require(can_edit_care_settings(by))
    clean = _festival_clean({"name": name, "calendar": calendar, "month": month, "day": day, "active": active,
                             "audience_id": audience_id, "gender": gender, "greeting": greeting, "channel": channel})
    festival = Festival.objects.create(code=f"tmp-{timezone.now().timestamp()}", **clean, updated_by=by,
                                       updated_at=timezone.now())
    festival.code = f"festival_{festival.pk}"
    festival.save(update_fields=["code"])
    config = care_config()
    holidays = list(config["rules"]["holiday_greeting"].get("holidays", []))
    if festival.code not in holidays:
        care_config_save(params={"rules": {"holiday_greeting": {"holidays": [*holidays, festival.code]}}}, by=by,
                         note=_("Festival added: %(name)s") % {"name": festival.name})
    return festival


@transaction.atomic
def festival_update(*, festival: Festival, by: Staff, **changes: Any) -> Festival:
    """Change a festival (name, date, audience, text, channel) or switch it off (active=False: no task for it).
    Tasks already created keep what they say."""
    require(can_edit_care_settings(by))
    unknown = sorted(set(changes) - set(_FESTIVAL_FIELDS))
    if unknown:
        raise CareError("unknown_field", _("Unknown setting “%(name)s”.") % {"name": unknown[0]})
    festival = Festival.objects.select_for_update().get(pk=festival.pk)
    values = {name: getattr(festival, name) for name in _FESTIVAL_FIELDS}
    values.update(changes)
    for name, value in _festival_clean(values).items():
        setattr(festival, name, value)
    festival.updated_by, festival.updated_at = by, timezone.now()
    festival.save()
    return festival
