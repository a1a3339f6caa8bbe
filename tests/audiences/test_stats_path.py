"""The audience conditions that read care's statistics (care_purchasestats) when they are as of today give the
same members as reading the purchase days, on a grid of bounds that sit exactly on the members' figures; and
the statistics are read only when they hold today's figures."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from membercare.audiences.conditions import CONDITIONS, Context, _stats_window
from membercare.care.config import care_config
from membercare.care.models import CareCursor, PurchaseDay
from membercare.care.purchase_days import CURSOR, STATS_CURSOR
from membercare.care.segment_stats import Windows, build_stats
from membercare.members.models import Member
from tests.factories import MemberFactory

TODAY = dt.date(2026, 12, 7)
# each member's purchase days: (days ago, yuan)
HISTORIES = [
    [], [(0, 100)], [(1, 250)], [(10, 99), (40, 1)], [(40, 1000), (364, 250)], [(365, 500)], [(366, 700)],
    [(90, 2000), (200, 1), (364, 1)], [(3, 1), (4, 1), (5, 1)], [(364, 1250)],
]


def _members(q):
    return set(Member.objects.filter(q).values_list("pk", flat=True))


@pytest.fixture
def chain(db):
    members = []
    for history in HISTORIES:
        member = MemberFactory()
        members.append(member)
        PurchaseDay.objects.bulk_create(
            PurchaseDay(member=member, day=TODAY - dt.timedelta(days=ago), paid_cents=yuan * 100,
                        full_cents=yuan * 100, receipts=1) for ago, yuan in history)
    CareCursor.objects.create(name=CURSOR, value=1, updated_at=timezone.now() - dt.timedelta(minutes=5))
    return members


def _both(code: str, params: dict) -> tuple[set, set]:
    """(from the statistics, from the purchase days) for one condition."""
    build = CONDITIONS[code].build
    assert _stats_window(Context(TODAY)) == 365
    fast = _members(build(params, Context(TODAY)))
    CareCursor.objects.filter(name=CURSOR).update(value=2)  # a receipt folded into the purchase days since
    assert _stats_window(Context(TODAY)) is None
    slow = _members(build(params, Context(TODAY)))
    CareCursor.objects.filter(name=CURSOR).update(value=1)
    return fast, slow


def test_the_statistics_give_the_purchase_days_members(chain):
    build_stats(Windows.of(TODAY, care_config()["segments"]), touched=False)
    bounds = [None, 0, 1, 2, 3, 10, 40, 90, 99, 100, 250, 364, 365, 366, 1000, 1250, 2000]
    checked = 0
    for low, high in itertools.product(bounds, bounds):
        if (low is None and high is None) or (low is not None and high is not None and low > high):
            continue
        for code in ("spend", "purchase_days"):
            fast, slow = _both(code, {"window": 365, "min": low, "max": high})
            assert fast == slow, (code, low, high)
        fast, slow = _both("last_purchase", {"min": low, "max": high})
        assert fast == slow, ("last_purchase", low, high)
        checked += 1
    assert checked > 100
    # the grid reaches members on both sides of the bounds (not an empty comparison)
    assert 0 < len(_both("last_purchase", {"min": 1, "max": 364})[0]) < len(HISTORIES)
    assert 0 < len(_both("spend", {"window": 365, "min": 0, "max": 250})[0]) < len(HISTORIES)


def test_the_statistics_are_read_only_when_they_are_todays(chain):
    assert _stats_window(Context(TODAY)) is None  # none made yet
    build_stats(Windows.of(TODAY - dt.timedelta(days=1), care_config()["segments"]), touched=False)
    assert _stats_window(Context(TODAY)) is None  # yesterday's
    build_stats(Windows.of(TODAY, care_config()["segments"]), touched=False)
    assert _stats_window(Context(TODAY)) == 365
    assert CareCursor.objects.get(name=STATS_CURSOR).key.startswith("v2 12m=365 ")
    # a refresh that folded nothing new (the prediction job's, say) leaves them readable
    CareCursor.objects.filter(name=CURSOR).update(updated_at=timezone.now() + dt.timedelta(minutes=1))
    assert _stats_window(Context(TODAY)) == 365
    # the purchase days moved on after the statistics were made: they are not read
    CareCursor.objects.filter(name=CURSOR).update(value=7)
    assert _stats_window(Context(TODAY)) is None
