"""A double submit earns once (PostgreSQL: real row locks, real threads): the same survey answered twice at
once, the same event key earned from several threads, the profile completed by two saves at once."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from membercare.core.sql import fetch
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.loyalty.points_events import earn_event
from membercare.members.services import member_update
from membercare.service.surveys import survey_answer, survey_send
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import run_together
from tests.loyalty.test_points_events import _programme

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 6


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL")


def _ledger_agrees(member):
    account = LoyaltyAccount.objects.get(member=member)
    assert account.points == ledger_sum(member)
    # no (member, source_key) twice, straight from the table
    assert fetch("SELECT member_id, source_key, COUNT(*) FROM loyalty_pointsentry WHERE source_key <> '' "
                 "GROUP BY member_id, source_key HAVING COUNT(*) > 1") == []


def test_a_survey_answered_twice_at_once_earns_once(chain, member):
    _postgres_only()
    _programme()
    at = dt.datetime(2026, 5, 1, 10, tzinfo=TZ)
    _survey, token = survey_send(member=member, store=chain.shop, clerk=chain.clerk, source="callback", at=at)
    results = run_together([lambda: survey_answer(token=token, csat=5, nps=10, at=at + dt.timedelta(hours=1))
                            for _ in range(THREADS)])
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1, results
    assert PointsEntry.objects.filter(member=member, source="survey").count() == 1
    _ledger_agrees(member)


def test_one_event_key_from_many_threads_earns_once(chain, member):
    _postgres_only()
    _programme()
    at = dt.datetime(2026, 5, 1, 10, tzinfo=TZ)
    results = run_together([lambda: earn_event(member=member.pk, event="member_date", key="2026", at=at)
                            for _ in range(THREADS)])
    assert sum(1 for r in results if isinstance(r, PointsEntry)) == 1, results
    assert not any(isinstance(r, Exception) for r in results), results
    assert LoyaltyAccount.objects.get(member=member).points == 200
    _ledger_agrees(member)


def test_the_profile_completed_by_two_saves_at_once_earns_once(chain):
    _postgres_only()
    _programme()
    member = MemberFactory(home_store=chain.shop, address="")
    results = run_together([lambda i=i: member_update(member=member, data={"address": f"上海市静安区{i}号"},
                                                      by=chain.clerk) for i in range(THREADS)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert PointsEntry.objects.filter(member=member, source="profile").count() == 1
    _ledger_agrees(member)
