"""Who may do what: one place for every server-side permission check (per role and store).

Views, API endpoints and exports call these; templates only use them to hide buttons.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from membercare.org.models import Role, Staff, Store

# Roles that see full phone numbers in lists and exports; everyone else sees 138****5678.
FULL_PHONE_ROLES = {Role.SPECIALIST, Role.ADMIN}
# Roles that may reveal a full ID number (each reveal is logged).
FULL_ID_ROLES = {Role.SPECIALIST, Role.ADMIN}
EXPORT_ROLES = {Role.MANAGER, Role.SPECIALIST, Role.ADMIN}
IMPORT_ROLES = {Role.MANAGER, Role.SPECIALIST, Role.ADMIN}
PROGRAMME_ROLES = {Role.SPECIALIST, Role.ADMIN}
ADMIN_ROLES = {Role.ADMIN}
# HQ answers a member's request for their data or its erasure (PIPL)
PRIVACY_ROLES = {Role.SPECIALIST, Role.ADMIN}


def _role(user: Staff) -> str | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def can_see_full_phone(user: Staff) -> bool:
    return _role(user) in FULL_PHONE_ROLES


def can_view_full_id(user: Staff) -> bool:
    return _role(user) in FULL_ID_ROLES


def can_export(user: Staff) -> bool:
    return _role(user) in EXPORT_ROLES


def can_import(user: Staff) -> bool:
    return _role(user) in IMPORT_ROLES


def can_edit_programme(user: Staff) -> bool:
    return _role(user) in PROGRAMME_ROLES


def can_recompute_predictions(user: Staff) -> bool:
    """The member value model's page and its recompute: the VIP specialist and the administrator."""
    return _role(user) in PROGRAMME_ROLES


def can_erase_members(user: Staff) -> bool:
    """Export a member's whole record, erase a member's personal data: HQ only (both are logged)."""
    return _role(user) in PRIVACY_ROLES


def can_administer(user: Staff) -> bool:
    return _role(user) in ADMIN_ROLES


def can_see_stored_value_books(user: Staff) -> bool:
    """The stored-value liability, movements and reconciliation: HQ chain-wide, managers their stores."""
    return _role(user) in EXPORT_ROLES


def can_work_members(user: Staff) -> bool:
    """Look up, register and edit members: every role (members are chain-wide)."""
    return _role(user) is not None


def visible_stores(user: Staff) -> QuerySet[Store]:
    """Stores whose lists, staff and reports the user may see: own stores, or the chain."""
    if _role(user) is None:
        return Store.objects.none()
    if user.is_superuser or user.is_chain_wide:
        return Store.objects.all()
    return user.stores.all()


def visible_staff(user: Staff) -> QuerySet[Staff]:
    """A manager sees their own stores' staff; a clerk only themself; HQ the chain."""
    role = _role(user)
    if role is None:
        return Staff.objects.none()
    if role in (Role.SPECIALIST, Role.ADMIN):
        return Staff.objects.all()
    if role == Role.MANAGER:
        return Staff.objects.filter(stores__in=user.stores.all()).distinct()
    return Staff.objects.filter(pk=user.pk)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
