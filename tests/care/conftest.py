"""Shared fixtures of the care tests: configuration, members with segments, running a rule on a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from membercare.care.config import DEFAULTS, merge
from membercare.care.models import DailyRun, MemberSegments, Task
from membercare.members.models import Member
from tests.factories import MemberFactory, ProductFactory, ReceiptFactory, ReceiptLineFactory

TZ = ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@pytest.fixture
def care_config() -> dict[str, Any]:
    return merge(DEFAULTS, {})


@pytest.fixture
def run_rule(care_config) -> Callable[..., int]:
    """run_rule(code, day, config=None): travel to `day` and run that rule as the daily job would."""
    from membercare.care.rules import RULES

    def _run(code: str, day: dt.date, config: dict[str, Any] | None = None) -> int:
        with time_machine.travel(at(day, 2), tick=False):
            return RULES[code](day, config or care_config)

    return _run


@pytest.fixture
def record_run() -> Callable[..., DailyRun]:
    """record_run(day, *codes): the daily job finished these rules' steps on `day` (for once-only triggers)."""

    def _record(day: dt.date, *codes: str) -> DailyRun:
        run, _ = DailyRun.objects.get_or_create(day=day, defaults={"started_at": timezone.now()})
        for code in codes:
            run.steps[f"rule:{code}"] = {"finished_at": timezone.now().isoformat(), "count": 0, "seconds": 0}
        run.save()
        return run

    return _record


@pytest.fixture
def member_with(store) -> Callable[..., Member]:
    """member_with(**segments, member=..., **member_fields): a member of `store` with a MemberSegments row."""

    def _make(*, first: dt.date | None = None, last: dt.date | None = None, follow_up: str = "C",
              lifecycle: str = "active", churning: bool = False, owner=None, spend_3m: str = "0",
              spend_before_3m: str = "0", **member_fields) -> Member:
        member_fields.setdefault("home_store", store)
        member = MemberFactory(owner=owner, **member_fields)
        MemberSegments.objects.create(member=member, computed_on=last or first or dt.date(2026, 1, 1),
                                      lifecycle=lifecycle, follow_up=follow_up, churning=churning,
                                      first_purchase_on=first or last, last_purchase_on=last or first,
                                      spend_3m=Decimal(spend_3m), spend_before_3m=Decimal(spend_before_3m))
        return member

    return _make


@pytest.fixture
def sell(store) -> Callable[..., Any]:
    """sell(member, day, product=None, clerk=None, store=None): a sale receipt with one line."""

    def _sell(member: Member, day: dt.date, *, product=None, clerk=None, at_store=None, hour: int = 15):
        receipt = ReceiptFactory(member=member, store=at_store or store, clerk=clerk, sold_at=at(day, hour))
        ReceiptLineFactory(receipt=receipt, product=product or ProductFactory(), paid_amount=Decimal("100.00"),
                           full_price=Decimal("100.00"))
        return receipt

    return _sell


def tasks(rule: str | None = None, **filters) -> list[Task]:
    qs = Task.objects.all() if rule is None else Task.objects.filter(rule=rule)
    return list(qs.filter(**filters).order_by("member_id", "key"))


def keys(rule: str) -> set[tuple[int, str]]:
    return set(Task.objects.filter(rule=rule).values_list("member_id", "key"))
