"""The "points about to expire" condition (issue 19's reminder for everyone the care tasks do not reach): the
members equal a plain-Python sum over their open lots, on a grid of windows and minimums."""

from __future__ import annotations

import datetime as dt

import pytest

from membercare.audiences.conditions import CONDITIONS, Context
from membercare.audiences.definition import DefinitionError, clean_definition
from membercare.loyalty.models import PointsEntry
from membercare.members.models import Member
from tests.factories import MemberFactory

TODAY = dt.date(2026, 12, 7)
TZ_NOON = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
# (points remaining, days from today to the lot's expiry; None: never)
LOTS = [[], [(100, 0)], [(50, 10), (50, 30)], [(99, 29)], [(500, 31)], [(300, -1)], [(300, None)], [(0, 5)],
        [(1, 1), (1000, 366)]]


@pytest.fixture
def members(db):
    made = []
    for lots in LOTS:
        member = MemberFactory()
        made.append((member, lots))
        for remaining, days in lots:
            PointsEntry.objects.create(member=member, kind=PointsEntry.Kind.EARN, points=max(remaining, 1),
                                       remaining=remaining, created_at=TZ_NOON,
                                       expires_on=None if days is None else TODAY + dt.timedelta(days=days))
    return made


def test_members_equal_the_sum_of_their_open_lots(members):
    build = CONDITIONS["points_expiring"].build
    for days in (1, 10, 29, 30, 31, 366):
        for low in (None, 1, 2, 99, 100, 101, 1000):
            want = {m.pk for m, lots in members
                    if sum(r for r, d in lots if r > 0 and d is not None and 0 <= d <= days) >= (low or 1)}
            got = set(Member.objects.filter(build({"days": days, "min": low}, Context(TODAY)))
                      .values_list("pk", flat=True))
            assert got == want, (days, low)
    assert len(set(Member.objects.filter(build({"days": 30, "min": 100}, Context(TODAY)))
                   .values_list("pk", flat=True))) == 2  # 100 today; 50 + 50


def test_the_condition_is_bounded():
    good = {"include": {"op": "and", "items": [{"type": "points_expiring", "params": {"days": 30, "min": 100}}]},
            "exclude": {"op": "or", "items": []}}
    assert clean_definition(good)["include"]["items"][0]["params"] == {"days": 30, "min": 100}
    for bad in ({"days": 0}, {"days": 400}, {"days": 30, "min": 0}, {"days": "x"}):
        broken = {**good, "include": {"op": "and", "items": [{"type": "points_expiring", "params": bad}]}}
        with pytest.raises(DefinitionError):
            clean_definition(broken)
