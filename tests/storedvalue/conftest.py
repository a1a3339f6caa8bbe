"""Stored-value tests reuse the loyalty tests' small chain (two brands, products, a clerk) and member."""

import pytest

from membercare.org.models import Role
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401


@pytest.fixture
def hq(db):
    return StaffFactory(username="hq", role=Role.SPECIALIST)
