"""web.stores: the stores a page offers and the one a request picked (care store and segments pages,
the analytics store report)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from membercare.care.access import can_manage_store_tasks
from membercare.org.models import Role
from membercare.web.stores import picked_store, store_choices
from tests.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shops():
    return StoreFactory(code="B2"), StoreFactory(code="A1"), StoreFactory(code="C3", is_active=False)


def test_choices_are_the_visible_stores_by_code_active_unless_asked(shops):
    b2, a1, c3 = shops
    hq = StaffFactory(role=Role.SPECIALIST)
    assert store_choices(hq) == [a1, b2]
    assert store_choices(hq, active_only=False) == [a1, b2, c3]
    clerk = StaffFactory(role=Role.CLERK, stores=[b2, c3])
    assert store_choices(clerk) == [b2]
    assert store_choices(clerk, active_only=False) == [b2, c3]


def test_choices_narrowed_by_a_permission(shops):
    b2, a1, _c3 = shops
    manager = StaffFactory(role=Role.MANAGER, stores=[b2])
    clerk = StaffFactory(role=Role.CLERK, stores=[a1])
    assert store_choices(manager, can=can_manage_store_tasks) == [b2]
    assert store_choices(clerk, can=can_manage_store_tasks) == []


def test_picked_store_named_first_by_default_none_for_all(shops):
    b2, a1, _c3 = shops
    stores = [a1, b2]
    rf = RequestFactory()
    assert picked_store(rf.get("/", {"store": b2.pk}), stores) == b2
    assert picked_store(rf.get("/"), stores) == a1
    assert picked_store(rf.get("/", {"store": ""}), stores) == a1
    assert picked_store(rf.get("/"), stores, default_first=False) is None
    assert picked_store(rf.get("/"), [], default_first=False) is None
    # a form's POSTed store field wins over the query string
    assert picked_store(rf.post(f"/?store={a1.pk}", {"store": b2.pk}), stores) == b2
    assert picked_store(rf.post(f"/?store={a1.pk}", {}), stores) == a1


@pytest.mark.parametrize("default_first", [True, False])
def test_a_store_not_offered_or_nothing_to_default_to_is_refused(shops, default_first):
    b2, a1, c3 = shops
    rf = RequestFactory()
    for wanted in (c3.pk, "x", 999999):
        with pytest.raises(PermissionDenied):
            picked_store(rf.get("/", {"store": wanted}), [a1, b2], default_first=default_first)
    if default_first:
        with pytest.raises(PermissionDenied):
            picked_store(rf.get("/"), [])
