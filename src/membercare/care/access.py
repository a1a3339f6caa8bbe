"""Who may do what in care: the refusal every care write raises (CareError) and a staff member's reach over
stores, tasks and members.

Every care write runs in one transaction and checks everything before it writes, so a refusal leaves
nothing half-written. Refusals are `CareError`s (a ValidationError naming the field, with a stable code);
a role that may not do something at all gets PermissionDenied (403 in the web pages).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from membercare.core.permissions import can_edit_programme, can_work_members
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store

from .models import Task


class CareError(ValidationError):
    """A refusal with a stable code and a message naming the field (like loyalty.cards.CardError)."""

    def __init__(self, code: str, message: str, field: str = "__all__"):
        super().__init__({field: [ValidationError(message, code=code)]})
        self.error_code = code
        self.text = message
        self.field = field


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
