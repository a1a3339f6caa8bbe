"""Redemptions take points from the open lots soonest to expire first (lots without expiry last)."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import ledger_sum, lock_account, points_earn, points_take


def _lots(member):
    return list(PointsEntry.objects.filter(member=member, kind=PointsEntry.Kind.EARN).order_by("pk")
                .values_list("points", "remaining"))


@pytest.fixture
def three_lots(chain, member):
    account = lock_account(member)
    points_earn(account, 50, expires_on=dt.date(2027, 6, 30))
    points_earn(account, 30, expires_on=None)  # never expires: taken last
    points_earn(account, 40, expires_on=dt.date(2026, 12, 31))  # soonest to expire: taken first
    return account


@pytest.mark.parametrize("take,left", [
    (10, [(50, 50), (30, 30), (40, 30)]),
    (40, [(50, 50), (30, 30), (40, 0)]),
    (70, [(50, 20), (30, 30), (40, 0)]),
    (100, [(50, 0), (30, 20), (40, 0)]),
    (120, [(50, 0), (30, 0), (40, 0)]),
])
def test_a_redemption_takes_the_lots_soonest_to_expire_first(member, three_lots, take, left):
    assert points_take(three_lots, take, kind=PointsEntry.Kind.REDEEM, at=timezone.now()) == take
    assert _lots(member) == left
    assert three_lots.points == 120 - take == ledger_sum(member)


def test_lots_that_disagree_with_the_balance_stop_the_redemption(member, three_lots):
    PointsEntry.objects.filter(member=member).update(remaining=0)  # corrupted: the balance still says 120
    with pytest.raises(RuntimeError):
        points_take(three_lots, 10, kind=PointsEntry.Kind.REDEEM)


def test_lots_holding_part_of_a_redemption_give_nothing(member, three_lots):
    PointsEntry.objects.filter(member=member, points=40).update(remaining=0)  # corrupted: 80 open, balance 120
    with pytest.raises(RuntimeError):
        points_take(three_lots, 110, kind=PointsEntry.Kind.REDEEM)
    assert _lots(member) == [(50, 50), (30, 30), (40, 0)]  # nothing taken from the lots that were there
