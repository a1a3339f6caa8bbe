"""Fixtures of the service tests: a store with a clerk and a manager, a member, gifts with stock."""

from __future__ import annotations

import pytest

from membercare.org.models import Role
from membercare.service.models import Gift, GiftStock
from tests.factories import MemberFactory, StaffFactory


@pytest.fixture
def member(store):
    return MemberFactory(name="王芳", phone="13800001234", home_store=store)


@pytest.fixture
def other_clerk(other_store):
    return StaffFactory(username="clerk2", role=Role.CLERK, stores=[other_store])


@pytest.fixture
def other_manager(other_store):
    return StaffFactory(username="manager2", role=Role.MANAGER, stores=[other_store])


@pytest.fixture
def gift(db):
    return Gift.objects.create(code="SCARF", name="真丝方巾", value="199.00", points_cost=500)


@pytest.fixture
def stocked(gift, store):
    return GiftStock.objects.create(gift=gift, store=store, quantity=3, low_threshold=2)


@pytest.fixture
def open_complaint(clerk, member, store):
    from membercare.service.complaints import complaint_open

    return complaint_open(by=clerk, member=member, store=store, category="quality", severity="high",
                          description="大衣穿了两次就起球", sku="COAT-01")


def walk(complaint, by, until: str, **extra):
    """Record every step of `complaint` up to (not including) `until`, with sensible inputs."""
    from membercare.service.complaints import complaint_step_record
    from membercare.service.models import STEPS

    for step in STEPS:
        if step == until:
            break
        kwargs = {}
        if step == "handle":
            kwargs["remedy"] = extra.get("remedy", "免费更换同款")
        if step == "result":
            kwargs["satisfied"] = extra.get("satisfied", True)
            kwargs["settlement"] = extra.get("settlement", "")
        complaint = complaint_step_record(complaint=complaint, step=step, note=f"{step} 记录", by=by, **kwargs)
    return complaint
