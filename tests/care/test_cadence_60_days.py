"""Issue 20's rhythm over 60 simulated days: the daily job each night (real segments from real receipts), a
clerk working every open task the same day (a logged contact closes the member's tasks), on SQLite and
PostgreSQL. Each A/B/C/D member is contacted at its class's interval and never twice within it; a prospect
is followed the set number of times and stops when they buy or decline; a member buying twice gets two
callbacks; dormant and sleeping members get no rhythm call (the win-back rules apply to them instead)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from membercare.care.contacts import REASON_RULES, contact_log
from membercare.care.daily import care_daily
from membercare.care.models import Contact, MemberSegments, Outcome, Task, TaskStatus
from tests.factories import MemberFactory, ReceiptFactory

from .conftest import at

D = dt.date
START = D(2026, 6, 1)
DAYS = 60
INTERVAL = {"A": 7, "B": 15, "C": 30, "D": 10}  # care.config.DEFAULTS
RHYTHM = ("follow_up_contact", "develop_contact")


def day_n(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def buy(member, n: int, paid: str, full: str | None = None, store=None) -> None:
    ReceiptFactory(member=member, store=store or member.home_store, sold_at=at(day_n(n), 15),
                   total_paid=Decimal(paid), total_full_price=Decimal(full or paid))


def work_open_tasks(clerk, day: dt.date, decline: set[int]) -> None:
    """The clerk works every open task of the day: one contact per member closes all of theirs."""
    by_member: dict[int, list[Task]] = {}
    for task in Task.objects.filter(status=TaskStatus.OPEN).order_by("member_id", "pk"):
        by_member.setdefault(task.member_id, []).append(task)
    for member_id, tasks in by_member.items():
        first = tasks[0]
        outcome = Outcome.DECLINED if member_id in decline else Outcome.REACHED
        reason = "busy" if any(t.rule in REASON_RULES for t in tasks) else ""
        contact_log(staff=clerk, task=first, channel="phone", outcome=outcome, reason=reason,
                    at=at(day, 11), also=[t.pk for t in tasks[1:]])


@pytest.mark.django_db
def test_sixty_days_of_the_rhythm(store, clerk):
    old = at(START - dt.timedelta(days=400))

    def member(**kw):
        kw.setdefault("created_at", old)
        return MemberFactory(home_store=store, owner=clerk, birthday=D(1980, 12, 1), **kw)

    # seed 002's classes, by turnover (purchase days in 12 months, >= 4) and profitability (paid / full >= 0.80)
    a, b, c, d = member(), member(), member(), member()
    for n in (-80, -60, -45, -30, -20):
        buy(a, n, "1000.00")  # frequent, full price: A
        buy(b, n, "600.00", "1000.00")  # frequent, 40 % off: B
    for n in (-70, -20):
        buy(c, n, "600.00", "1000.00")  # occasional, discounted: C
        buy(d, n, "1000.00")  # occasional, full price: D (to develop)
    dormant, sleeping = member(), member()
    for n in (-200, -180, -160, -140, -120):
        buy(dormant, n, "1000.00")  # A by turnover and profitability, but no purchase for 120 days
    for n in (-300, -280, -260, -240, -190):
        buy(sleeping, n, "1000.00")
    twice = member()  # buys twice during the 60 days (and a small purchase, below the callback's ¥500)
    for n in (-100, -60):
        buy(twice, n, "900.00", "1000.00")
    prospect, buyer, decliner = (member(created_at=at(START, 12)) for _ in range(3))  # registered, no purchase
    rhythm_members = {"A": a, "B": b, "C": c, "D": d}

    for n in range(DAYS):
        day = day_n(n)
        if n in (10, 40):
            buy(twice, n - 1, "800.00")  # the day before: folded in by the next night's job
        if n == 21:
            buy(twice, n - 1, "100.00")
        if n == 5:
            buy(buyer, n - 1, "300.00")
        with time_machine.travel(at(day, 2), tick=False):
            care_daily()
        if n == 0:
            classes = dict(MemberSegments.objects.filter(member__in=[a, b, c, d, dormant, sleeping])
                           .values_list("member_id", "follow_up"))
            assert [classes[m.pk] for m in (a, b, c, d, dormant, sleeping)] == ["A", "B", "C", "D", "A", "A"]
            lifecycles = dict(MemberSegments.objects.values_list("member_id", "lifecycle"))
            assert (lifecycles[dormant.pk], lifecycles[sleeping.pk]) == ("dormant", "sleeping")
        with time_machine.travel(at(day, 11), tick=False):
            work_open_tasks(clerk, day, decline={decliner.pk} if n >= 3 else set())

    contacts: dict[int, list[dt.date]] = {}
    for member_id, when in Contact.objects.order_by("at").values_list("member_id", "at"):
        contacts.setdefault(member_id, []).append(dt.datetime.astimezone(when, at(START).tzinfo).date())

    for follow_up, m in rhythm_members.items():
        interval = INTERVAL[follow_up]
        made = sorted(Task.objects.filter(member=m, rule__in=RHYTHM).values_list("created_on", flat=True))
        assert made, follow_up
        # never twice within the interval: the rhythm's tasks are at least an interval apart, and each was made
        # only when no contact had been logged within the interval before it
        assert all((later - earlier).days >= interval for earlier, later in zip(made, made[1:], strict=False))
        for created in made:
            assert not [c for c in contacts[m.pk]
                        if created - dt.timedelta(days=interval) < c < created], (follow_up, created)
        # contacted at its interval: from the first contact on, no gap longer than the interval
        seen = contacts[m.pk]
        assert all((later - earlier).days <= interval for earlier, later in zip(seen, seen[1:], strict=False))
        assert (day_n(DAYS - 1) - seen[-1]).days < interval
        # with nothing else to talk about, exactly one contact per interval (7 days: 9 in 60 days, ...)
        expected_min = (DAYS - (made[0] - START).days) // interval
        assert len(made) >= expected_min, (follow_up, made)
    assert set(Task.objects.filter(member=a, rule__in=RHYTHM).values_list("rule", flat=True)) == \
        {"follow_up_contact"}
    assert set(Task.objects.filter(member=d, rule__in=RHYTHM).values_list("rule", flat=True)) == {"develop_contact"}

    # dormant and sleeping: no rhythm, caring, pre-holiday, new-stock or spend-drop call; win-back instead
    for m in (dormant, sleeping):
        rules = set(Task.objects.filter(member=m).values_list("rule", flat=True))
        assert not rules & {*RHYTHM, "a_monthly_call", "pre_holiday_call", "new_stock_call", "spend_drop_call"}
    assert Task.objects.filter(member=dormant, rule="dormant_review").exists()

    # prospects: three follow-ups (days 3, 7, 14 after registering) and no more; the buyer's stop at the
    # purchase, the decliner's after the declined contact
    def steps(m):
        return sorted(Task.objects.filter(member=m, rule="prospect_follow_up").values_list("key", "created_on"))

    assert steps(prospect) == [("1", day_n(3)), ("2", day_n(7)), ("3", day_n(14))]
    assert steps(buyer) == [("1", day_n(3))]
    assert steps(decliner) == [("1", day_n(3))]

    # every purchase of ¥500 or more gets its callback 3 to 7 days later; the ¥100 one none
    callbacks = sorted(Task.objects.filter(member=twice, rule="purchase_callback").values_list("key", "created_on"))
    assert callbacks == [(day_n(9).isoformat(), day_n(12)), (day_n(39).isoformat(), day_n(42))]
