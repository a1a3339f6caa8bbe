"""Concurrency on PostgreSQL: attendance points once per member per event, referral rewards once."""

import datetime as dt

import pytest
import time_machine

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.events.models import Attendance, Event, Referral
from membercare.events.referrals import referral_code_for, referral_record
from membercare.events.services import EventData, check_in, event_save
from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import ledger_sum, points_balance
from membercare.sales.models import Receipt
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import _postgres_only, run_together

from .conftest import at

pytestmark = [pytest.mark.django_db(transaction=True)]
THREADS = 8


def test_concurrent_check_ins_give_one_attendance_and_points_once(chain, hq, member):
    _postgres_only()
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        event = event_save(data=EventData(kind=Event.Kind.SALON, title="沙龙", starts_at=at(2026, 6, 20, 14),
                                          ends_at=at(2026, 6, 20, 17), stores=[chain.shop], attendance_points=300),
                           by=hq)
    results = run_together([lambda: check_in(event=event, member=member, by=chain.clerk, store=chain.shop)
                            for _ in range(THREADS)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(1 for r in results if r.created) == 1
    assert Attendance.objects.filter(event=event).count() == 1
    assert points_balance(member) == 300 == ledger_sum(member)


def test_concurrent_first_purchases_reward_the_referral_once(chain, member):
    _postgres_only()
    friend = MemberFactory(home_store=chain.shop, phone="13900005555")
    referral_record(referred=friend, code=referral_code_for(member))
    stores = [chain.shop, chain.shop2]

    def sale(i):
        return lambda: checkout_post(store=stores[i % 2], clerk=chain.clerk, phone=friend.phone,
                                     lines=[LineIn("BELT", 1)], sold_at=dt.datetime(2026, 6, 1, 12, i,
                                                                                    tzinfo=at(2026, 1, 1).tzinfo))

    results = run_together([sale(i) for i in range(THREADS)])
    assert all(isinstance(r, Receipt) for r in results), results
    assert Referral.objects.get(referred=friend).rewarded_at is not None
    assert points_balance(member) == 200 == ledger_sum(member)
    assert points_balance(friend) == THREADS * 999 + 100 == ledger_sum(friend)
    assert PointsEntry.objects.filter(member=member).count() == 1
