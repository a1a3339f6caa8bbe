"""Who may do what in the service app (on the server; templates only hide buttons).

Clerks work the complaints of their stores (and those they own); managers their stores; the VIP specialist
and the admin the whole chain. Gift stock is received and adjusted by the store's manager or HQ; any staff
member of the store gives gifts out. The gift catalogue is HQ's.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from membercare.core.permissions import can_edit_programme, can_work_members
from membercare.org.models import Role, Staff, Store


def is_chain_wide(user: Staff) -> bool:
    return bool(can_work_members(user) and user.is_chain_wide)


def store_ids(user: Staff) -> set[int]:
    return set(user.stores.values_list("pk", flat=True))


def works_in(user: Staff, store: Store | int) -> bool:
    if not can_work_members(user):
        return False
    if is_chain_wide(user):
        return True
    store_id = store if isinstance(store, int) else store.pk
    return store_id in store_ids(user)


def complaint_scope(user: Staff) -> Q | None:
    """A filter for the complaints the user may work (None: every complaint)."""
    if is_chain_wide(user):
        return None
    return Q(store_id__in=store_ids(user)) | Q(owner_id=user.pk)


def visible_complaints(user: Staff, qs: QuerySet) -> QuerySet:
    if not can_work_members(user):
        return qs.none()
    scope = complaint_scope(user)
    return qs if scope is None else qs.filter(scope)


def can_work_complaint(user: Staff, complaint) -> bool:
    if not can_work_members(user):
        return False
    return is_chain_wide(user) or complaint.owner_id == user.pk or complaint.store_id in store_ids(user)


def can_see_reports(user: Staff) -> bool:
    """The complaint report and survey results: managers (their stores) and HQ."""
    return can_work_members(user) and (is_chain_wide(user) or user.role == Role.MANAGER)


def can_manage_stock(user: Staff, store: Store | int) -> bool:
    """Receive and adjust a store's gift stock: its manager, or HQ."""
    if is_chain_wide(user):
        return True
    return bool(can_work_members(user) and user.role == Role.MANAGER and works_in(user, store))


def can_edit_gift_catalogue(user: Staff) -> bool:
    return can_edit_programme(user)
