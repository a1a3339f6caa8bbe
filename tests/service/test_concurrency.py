"""Two clerks giving the last gift, and two submissions of one survey link, at the same moment (PostgreSQL:
real row locks, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from membercare.service.errors import ServiceError
from membercare.service.gifts import gift_issue
from membercare.service.models import GiftIssue, GiftStock, StockMovement, Survey
from membercare.service.surveys import survey_answer, survey_send

pytestmark = [pytest.mark.django_db(transaction=True)]
THREADS = 6


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")


def run_together(jobs):
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(i, job):
        try:
            connection.ensure_connection()
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_clerks_giving_the_last_gift_one_wins(clerk, manager, member, gift, store):
    _postgres_only()
    GiftStock.objects.create(gift=gift, store=store, quantity=1)
    givers = [clerk, manager]
    results = run_together([
        (lambda who=givers[i % 2]: gift_issue(member=member, gift=gift, store=store, reason="birthday", by=who))
        for i in range(THREADS)])
    won = [r for r in results if isinstance(r, GiftIssue)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(won) == 1 and len(refused) == THREADS - 1, results
    assert all(r.error_code == "out_of_stock" for r in refused)
    assert GiftStock.objects.get(gift=gift, store=store).quantity == 0
    assert GiftIssue.objects.count() == 1 and StockMovement.objects.filter(kind="issue").count() == 1


def test_a_survey_link_submitted_twice_at_once_records_one_answer(member, store, clerk):
    _postgres_only()
    _survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    results = run_together([
        (lambda i=i: survey_answer(token=token, csat=1 + i % 5, nps=i, comment=f"answer {i}")) for i in range(THREADS)])
    answered = [r for r in results if isinstance(r, Survey)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(answered) == 1 and len(refused) == THREADS - 1, results
    assert all(r.error_code == "already_answered" for r in refused)
    survey = Survey.objects.get()
    assert survey.comment == answered[0].comment and survey.nps == answered[0].nps
