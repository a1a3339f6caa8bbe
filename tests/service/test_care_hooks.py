"""The care engine reads complaints through its hooks: the dormant review counts open and past complaints, the
task card shows open ones."""

import datetime as dt

import pytest
from django.utils import translation

from membercare.care.config import DEFAULTS, merge
from membercare.care.models import MemberSegments, Task
from membercare.care.rules.lifecycle import complaints_text, dormant_review
from membercare.care.selectors import task_rows
from membercare.service.complaints import complaint_open
from tests.factories import MemberFactory

from .conftest import walk

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 4, 10)


def _dormant(store):
    member = MemberFactory(home_store=store)
    last = DAY - dt.timedelta(days=95)
    MemberSegments.objects.create(member=member, computed_on=DAY, lifecycle="dormant", follow_up="C",
                                  first_purchase_on=last, last_purchase_on=last)
    return member


def test_dormant_review_counts_open_and_past_complaints(store, clerk):
    quiet, past, current = _dormant(store), _dormant(store), _dormant(store)
    closed = complaint_open(by=clerk, member=past, store=store, category="quality", severity="low", description="x")
    walk(closed, clerk, until="closed")
    complaint_open(by=clerk, member=current, store=store, category="fit", severity="low", description="y")
    complaint_open(by=clerk, member=current, store=store, category="fit", severity="low", description="z")
    assert dormant_review(DAY, merge(DEFAULTS, {})) == 3
    context = {t.member_id: t.context for t in Task.objects.filter(rule="dormant_review")}
    with translation.override("zh-hans"):
        none_text, some_text = complaints_text(0), complaints_text(1)
    assert (context[quiet.pk]["complaints"], context[quiet.pk]["complaints_text"]) == (0, none_text)
    assert (context[past.pk]["complaints"], context[past.pk]["complaints_text"]) == (1, some_text)
    assert context[current.pk]["complaints"] == 2
    rows = {r.task.member_id: r for r in task_rows(list(Task.objects.filter(rule="dormant_review")
                                                        .select_related("member", "store")), DAY)}
    assert rows[current.pk].facts.open_complaints == 2 and rows[past.pk].facts.open_complaints == 0
