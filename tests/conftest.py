import pytest
from django.utils import translation

from membercare.org.models import Role

from .factories import StaffFactory, StoreFactory


@pytest.fixture(autouse=True)
def _chinese_by_default(settings):
    """Tests run in the default UI language (zh-hans) unless they switch."""
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (the POS keys' rate counters live there; ids repeat across tests), and
    without the process's copy of the payment methods (a rolled-back or flushed database takes their rows away)."""
    from django.core.cache import cache

    from membercare.checkout.payments import forget_methods

    cache.clear()
    forget_methods()
    yield


@pytest.fixture
def store(db):
    return StoreFactory(code="SH01", name="上海南京路店")


@pytest.fixture
def other_store(db):
    return StoreFactory(code="BJ01", name="北京王府井店")


@pytest.fixture
def clerk(store):
    return StaffFactory(username="clerk", role=Role.CLERK, stores=[store])


@pytest.fixture
def manager(store):
    return StaffFactory(username="manager", role=Role.MANAGER, stores=[store])


@pytest.fixture
def specialist(db):
    return StaffFactory(username="specialist", role=Role.SPECIALIST)


@pytest.fixture
def admin_user(db):
    return StaffFactory(username="admin", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
