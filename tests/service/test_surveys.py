"""Surveys: sent after a callback or a closed complaint through the messaging app, a hashed unguessable token,
answered once, a forged token refused; results per store and clerk (CSAT, NPS)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from membercare.care.contacts import contact_log
from membercare.care.models import Task
from membercare.messaging.models import Message
from membercare.service.errors import ServiceError
from membercare.service.models import Survey
from membercare.service.selectors import nps_score, survey_results
from membercare.service.surveys import survey_answer, survey_by_token, survey_send, token_hash

pytestmark = pytest.mark.django_db


def _task(member, store, clerk, rule="new_member_callback"):
    today = timezone.localdate()
    return Task.objects.create(rule=rule, key="k", member=member, store=store, assignee=clerk, created_on=today,
                               due_on=today)


def test_callback_reached_sends_a_survey_message_with_the_link(clerk, member, store):
    contact = contact_log(staff=clerk, task=_task(member, store, clerk), channel="phone", outcome="reached")
    survey = Survey.objects.get()
    assert survey.contact == contact and survey.clerk == clerk and survey.store == store
    assert survey.source == "callback"
    message = Message.objects.get()
    assert message.category == "survey" and "/s/" in message.body and survey.message == message
    token = message.body.rsplit("/s/", 1)[1].strip("/")
    assert survey_by_token(token) == survey
    assert survey.token_hash == token_hash(token) and token not in survey.token_hash  # only the hash is kept


def test_no_survey_when_not_reached_or_other_rules(clerk, member, store):
    contact_log(staff=clerk, task=_task(member, store, clerk), channel="phone", outcome="no_answer")
    contact_log(staff=clerk, task=_task(member, store, clerk, rule="a_monthly_call"), channel="phone",
                outcome="reached")
    assert not Survey.objects.exists()


def test_refused_message_keeps_the_contact_and_notes_why(clerk, member, store):
    from membercare.messaging.services import opt_out

    opt_out(member, "sms", source="test")
    contact_log(staff=clerk, task=_task(member, store, clerk), channel="phone", outcome="reached")
    survey = Survey.objects.get()
    assert survey.message is None and survey.send_error


def test_tokens_are_long_random_and_distinct(member, store, clerk):
    tokens = {survey_send(member=member, store=store, clerk=clerk, source="callback")[1] for _ in range(5)}
    assert len(tokens) == 5 and all(len(t) >= 32 for t in tokens)


def test_answered_twice_records_one_answer(member, store, clerk):
    survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    survey_answer(token=token, csat=5, nps=10, comment="很好")
    with pytest.raises(ServiceError) as err:
        survey_answer(token=token, csat=1, nps=0, comment="改一下")
    assert err.value.error_code == "already_answered"
    survey.refresh_from_db()
    assert (survey.csat, survey.nps, survey.comment) == (5, 10, "很好")


def test_forged_token_is_refused(member, store, clerk):
    survey_send(member=member, store=store, clerk=clerk, source="callback")
    with pytest.raises(ServiceError) as err:
        survey_answer(token="forged-token-abc", csat=5, nps=10)
    assert err.value.error_code == "not_found"
    assert survey_by_token("") is None and not Survey.objects.filter(answered_at__isnull=False).exists()


@pytest.mark.parametrize("csat,nps,field", [(0, 5, "csat"), (6, 5, "csat"), (3, 11, "nps"), (3, -1, "nps"),
                                            ("x", 5, "csat")])
def test_scores_out_of_range(member, store, clerk, csat, nps, field):
    _survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    with pytest.raises(ServiceError) as err:
        survey_answer(token=token, csat=csat, nps=nps)
    assert err.value.field == field


def test_expired_link(member, store, clerk):
    survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback",
                                at=timezone.now() - dt.timedelta(days=30))
    with pytest.raises(ServiceError) as err:
        survey_answer(token=token, csat=4, nps=8)
    assert err.value.error_code == "expired"


def test_one_survey_per_contact_or_complaint(member, store, clerk, open_complaint):
    first, token = survey_send(member=member, store=store, clerk=clerk, source="complaint", complaint=open_complaint)
    again, token2 = survey_send(member=member, store=store, clerk=clerk, source="complaint", complaint=open_complaint)
    assert first == again and token2 == "" and Survey.objects.count() == 1


def test_nps_and_csat_per_store_and_clerk(member, store, other_store, clerk, other_clerk):
    answers = [(clerk, store, 5, 10), (clerk, store, 4, 9), (clerk, store, 2, 3), (other_clerk, other_store, 3, 7)]
    for who, where, csat, nps in answers:
        _s, token = survey_send(member=member, store=where, clerk=who, source="callback")
        survey_answer(token=token, csat=csat, nps=nps)
    survey_send(member=member, store=store, clerk=clerk, source="callback")  # sent, not answered
    today = timezone.localdate()
    results = survey_results(since=today, until=today, store_ids=None)
    by_store = {line.key: line for line in results["stores"]}
    line = by_store[store.pk]
    assert (line.sent, line.answered) == (4, 3)
    assert line.csat == round(11 / 3, 2)
    assert line.nps == round(100 * (2 - 1) / 3)  # 2 promoters, 1 detractor of 3
    assert by_store[other_store.pk].nps == 0  # a passive
    assert results["total"].answered == 4
    scoped = survey_results(since=today, until=today, store_ids=[other_store.pk])
    assert [line.key for line in scoped["stores"]] == [other_store.pk]


def test_nps_score():
    assert nps_score([]) is None
    assert nps_score([10, 9, 8, 7, 0]) == 20
    assert nps_score([0, 6]) == -100
