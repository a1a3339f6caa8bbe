"""Moving care tasks between staff: reassigning tasks, a clerk leaving a store, the store's default receiver."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from membercare.core.permissions import require
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store

from .access import CareError, can_manage_store_tasks, is_chain_wide
from .models import StoreCareSettings, Task, TaskStatus


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
