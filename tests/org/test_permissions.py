"""Who may do what, per role and store (core.permissions)."""

import pytest

from membercare.core import permissions as p
from membercare.org.models import Role
from tests.factories import StaffFactory

MATRIX = {
    # role: (full phone, full ID, export, import, programme, administer)
    Role.CLERK: (False, False, False, False, False, False),
    Role.MANAGER: (False, False, True, True, False, False),
    Role.SPECIALIST: (True, True, True, True, True, False),
    Role.ADMIN: (True, True, True, True, True, True),
}
CHECKS = (p.can_see_full_phone, p.can_view_full_id, p.can_export, p.can_import, p.can_edit_programme,
          p.can_administer)


@pytest.mark.parametrize("role", list(MATRIX))
def test_role_matrix(role, store):
    user = StaffFactory(role=role, stores=[store])
    assert tuple(check(user) for check in CHECKS) == MATRIX[role]


def test_inactive_or_anonymous_users_may_do_nothing(store):
    from django.contrib.auth.models import AnonymousUser

    inactive = StaffFactory(role=Role.ADMIN, is_active=False)
    for user in (inactive, AnonymousUser()):
        assert not any(check(user) for check in CHECKS)
        assert not p.can_work_members(user)
        assert not p.visible_stores(user).exists()


def test_stores_and_staff_a_user_sees(store, other_store):
    clerk = StaffFactory(role=Role.CLERK, stores=[store])
    colleague = StaffFactory(role=Role.CLERK, stores=[store])
    manager = StaffFactory(role=Role.MANAGER, stores=[store])
    elsewhere = StaffFactory(role=Role.CLERK, stores=[other_store])
    specialist = StaffFactory(role=Role.SPECIALIST)

    assert list(p.visible_stores(clerk)) == [store]
    assert set(p.visible_stores(specialist)) == {store, other_store}
    assert set(p.visible_staff(manager)) == {clerk, colleague, manager}
    assert elsewhere not in p.visible_staff(manager)
    assert list(p.visible_staff(clerk)) == [clerk]
    assert set(p.visible_staff(specialist)) >= {clerk, colleague, manager, elsewhere, specialist}


def test_require_raises_permission_denied():
    from django.core.exceptions import PermissionDenied

    p.require(True)
    with pytest.raises(PermissionDenied):
        p.require(False)
