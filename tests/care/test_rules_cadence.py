"""Issue 20's rules one by one: the A/B/C/D rhythm, prospects, the callback after every purchase, anniversaries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from membercare.care.access import CareError
from membercare.care.config import DEFAULTS, merge
from membercare.care.config_writes import care_config_validate
from membercare.care.models import Contact, MemberSegments, PurchaseDay, Task, TaskStatus
from membercare.members.models import MAX_MEMBER_DATES, MemberDate
from membercare.members.services import member_date_add, member_date_remove

from .conftest import at, keys, tasks

D = dt.date
DAY = D(2026, 6, 10)


def contact(member, day: dt.date, channel: str = "phone", outcome: str = "reached") -> Contact:
    return Contact.objects.create(member=member, at=at(day, 11), channel=channel, outcome=outcome)


@pytest.mark.django_db
class TestRhythm:
    def test_each_class_at_its_interval_and_home_visits_count(self, member_with, run_rule):
        made = {fu: member_with(last=DAY - dt.timedelta(days=40), follow_up=fu) for fu in "ABCD"}
        assert run_rule("follow_up_contact", DAY) == 3
        assert run_rule("develop_contact", DAY) == 1
        for member in made.values():
            Task.objects.filter(member=member).update(status=TaskStatus.DONE)
            contact(member, DAY, channel="home_visit")  # 上门拜访 is a contact like any other
        for fu, interval in {"A": 7, "B": 15, "C": 30, "D": 10}.items():
            code = "develop_contact" if fu == "D" else "follow_up_contact"
            before = DAY + dt.timedelta(days=interval - 1)
            run_rule(code, before)  # within the interval: nothing for this member
            assert not Task.objects.filter(member=made[fu], created_on=before).exists()
            run_rule(code, DAY + dt.timedelta(days=interval))
            assert Task.objects.filter(member=made[fu], created_on=DAY + dt.timedelta(days=interval)).exists(), fu

    def test_one_open_task_at_a_time_and_a_cancelled_one_is_not_remade(self, member_with, run_rule):
        member = member_with(last=DAY - dt.timedelta(days=40), follow_up="A")
        assert run_rule("follow_up_contact", DAY) == 1
        assert run_rule("follow_up_contact", DAY + dt.timedelta(days=9)) == 0  # still open
        Task.objects.filter(member=member).update(status=TaskStatus.CANCELLED)
        assert run_rule("follow_up_contact", DAY + dt.timedelta(days=3)) == 0  # made within the 7 days
        assert run_rule("follow_up_contact", DAY + dt.timedelta(days=7)) == 1
        task = Task.objects.get(member=member, status=TaskStatus.OPEN)
        assert (task.key, task.due_on, task.context) == ("2026-06-17", D(2026, 6, 19),
                                                          {"follow_up": "A", "interval": 7})

    def test_dormant_sleeping_lost_and_prospects_get_no_rhythm(self, member_with, run_rule):
        for lifecycle in ("dormant", "sleeping", "lost", "prospect"):
            member_with(last=DAY - dt.timedelta(days=100), follow_up="A", lifecycle=lifecycle)
            member_with(last=DAY - dt.timedelta(days=100), follow_up="D", lifecycle=lifecycle)
        assert run_rule("follow_up_contact", DAY) == 0
        assert run_rule("develop_contact", DAY) == 0

    def test_a_purchase_counts_as_a_contact_unless_switched_off(self, member_with, run_rule, care_config):
        member = member_with(last=DAY - dt.timedelta(days=3), follow_up="A")
        PurchaseDay.objects.create(member=member, day=DAY - dt.timedelta(days=3), paid_cents=1000, receipts=1)
        assert run_rule("follow_up_contact", DAY) == 0
        care_config["rules"]["follow_up_contact"]["purchase_counts"] = False
        assert run_rule("follow_up_contact", DAY, care_config) == 1

    def test_intervals_follow_the_settings(self, member_with, run_rule, care_config):
        member = member_with(last=DAY - dt.timedelta(days=40), follow_up="B")
        contact(member, DAY - dt.timedelta(days=5))
        assert run_rule("follow_up_contact", DAY) == 0
        care_config["rules"]["follow_up_contact"]["b_days"] = 5
        assert run_rule("follow_up_contact", DAY, care_config) == 1


@pytest.mark.django_db
class TestProspects:
    def test_followed_on_the_days_then_stops(self, member_with, run_rule):
        prospect = member_with(lifecycle="prospect", follow_up="D", created_at=at(DAY, 15))
        member_with(lifecycle="prospect", follow_up="D", created_at=at(DAY - dt.timedelta(days=60)))  # too old
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=2)) == 0
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=3)) == 1
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=6)) == 0
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=9)) == 1  # step 2 made up two days late
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=21)) == 0  # step 3's window (14..20) missed
        assert [(t.key, t.context["step"], t.context["of"]) for t in tasks("prospect_follow_up")] == [
            ("1", 1, 3), ("2", 2, 3)]
        assert tasks("prospect_follow_up")[0].context["registered"] == DAY.isoformat()
        assert {m for m, _k in keys("prospect_follow_up")} == {prospect.pk}

    def test_a_purchase_or_a_decline_stops_them_and_withdraws_the_open_one(self, member_with, run_rule):
        buyer = member_with(lifecycle="prospect", follow_up="D", created_at=at(DAY, 15))
        decliner = member_with(lifecycle="prospect", follow_up="D", created_at=at(DAY, 15))
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=3)) == 2
        MemberSegments.objects.filter(member=buyer).update(lifecycle="new")
        contact(decliner, DAY + dt.timedelta(days=4), outcome="declined")
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=7)) == 0
        assert set(Task.objects.filter(rule="prospect_follow_up").values_list("status", flat=True)) == {"cancelled"}

    def test_the_days_are_a_setting(self, member_with, run_rule, care_config):
        member_with(lifecycle="prospect", follow_up="D", created_at=at(DAY, 15))
        care_config["rules"]["prospect_follow_up"]["days_after"] = [1, 2]
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=1), care_config) == 1
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=2), care_config) == 1
        assert run_rule("prospect_follow_up", DAY + dt.timedelta(days=3), care_config) == 0


@pytest.mark.django_db
class TestPurchaseCallback:
    def _bought(self, member, day: dt.date, cents: int) -> None:
        PurchaseDay.objects.create(member=member, day=day, paid_cents=cents, receipts=1)

    def test_every_purchase_over_the_amount_3_to_7_days_later(self, member_with, run_rule):
        first = D(2026, 1, 5)
        member = member_with(first=first, last=DAY)
        self._bought(member, first, 90000)  # the first purchase: new_member_callback's
        self._bought(member, DAY, 50000)  # ¥500.00: exactly the amount
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=2)) == 0
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=3)) == 1
        (task,) = tasks("purchase_callback")
        assert (task.key, task.due_on, task.context) == (DAY.isoformat(), DAY + dt.timedelta(days=7),
                                                         {"purchase": DAY.isoformat()})
        task.status = TaskStatus.DONE
        task.save()
        later = DAY + dt.timedelta(days=20)
        self._bought(member, later, 49999)  # below ¥500
        assert run_rule("purchase_callback", later + dt.timedelta(days=3)) == 0
        self._bought(member, later + dt.timedelta(days=1), 120000)
        assert run_rule("purchase_callback", later + dt.timedelta(days=4)) == 1
        assert len(tasks("purchase_callback")) == 2

    def test_one_at_a_time_and_a_gap(self, member_with, run_rule, care_config):
        member = member_with(first=D(2026, 1, 5), last=DAY)
        self._bought(member, DAY, 80000)
        self._bought(member, DAY + dt.timedelta(days=2), 80000)
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=3)) == 1
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=5)) == 0  # the first is still open
        Task.objects.filter(rule="purchase_callback").update(status=TaskStatus.DONE)
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=6)) == 0  # within 14 days of the last
        care_config["rules"]["purchase_callback"]["min_gap_days"] = 2
        assert run_rule("purchase_callback", DAY + dt.timedelta(days=6), care_config) == 1


@pytest.mark.django_db
class TestMemberDates:
    def test_joining_first_purchase_and_own_dates(self, member_with, run_rule, clerk):
        member = member_with(first=D(2024, 6, 12), last=D(2026, 5, 1), created_at=at(D(2023, 6, 13), 20))
        fresh = member_with(first=D(2026, 6, 12), last=D(2026, 6, 12), created_at=at(D(2026, 6, 13), 9))
        wedding = member_date_add(member=member, by=clerk, name="结婚纪念日", calendar="solar", month=6, day=11)
        member_date_add(member=fresh, by=clerk, name="孩子生日", calendar="solar", month=9, day=1)
        assert run_rule("member_dates", DAY) == 3  # 06-10 .. 06-13; `fresh` has no anniversary yet
        got = {(t.member_id, t.key): (t.due_on, t.context["occasion"]) for t in tasks("member_dates")}
        assert got[(member.pk, f"date:{wedding.pk}:2026")] == (D(2026, 6, 11), "结婚纪念日")
        assert got[(member.pk, "first_purchase:2026")][0] == D(2026, 6, 12)
        assert got[(member.pk, "joining:2026")][0] == D(2026, 6, 13)
        assert run_rule("member_dates", DAY + dt.timedelta(days=1)) == 0

    def test_dates_are_checked_and_bounded(self, member_with, clerk):
        member = member_with(last=DAY)
        for bad in ({"name": ""}, {"name": "x" * 31}, {"month": 13}, {"day": 31, "month": 4},
                    {"calendar": "mars"}, {"calendar": "lunar", "day": 31}):
            args = {"name": "纪念日", "calendar": "solar", "month": 6, "day": 1, **bad}
            with pytest.raises(ValidationError):
                member_date_add(member=member, by=clerk, **args)
        assert not MemberDate.objects.exists()
        made = [member_date_add(member=member, by=clerk, name=f"日子{i}", calendar="lunar", month=8, day=15)
                for i in range(MAX_MEMBER_DATES)]
        with pytest.raises(ValidationError):
            member_date_add(member=member, by=clerk, name="再一个", calendar="solar", month=2, day=29)
        member_date_remove(member_date=made[0], by=clerk)
        member_date_add(member=member, by=clerk, name="再一个", calendar="solar", month=2, day=29)
        assert member.dates.count() == MAX_MEMBER_DATES


def test_new_settings_are_checked(db):  # the festival choices are HQ's table (care.Festival)
    base = merge(DEFAULTS, {})
    for rule, key, bad in (("prospect_follow_up", "days_after", [7, 3]), ("prospect_follow_up", "days_after", []),
                           ("purchase_callback", "min_amount", "12.345"), ("purchase_callback", "min_amount", "-1"),
                           ("spend_drop_call", "ratio", 1.5), ("follow_up_contact", "a_days", 0)):
        tree = merge(base, {"rules": {rule: {key: bad}}})
        with pytest.raises(CareError):
            care_config_validate(tree)
    with pytest.raises(CareError):
        care_config_validate(merge(base, {"segments": {"follow_up": {"full_price_share": 2}}}))
    ok = care_config_validate(merge(base, {"rules": {"purchase_callback": {"min_amount": "800"}}}))
    assert ok["rules"]["purchase_callback"]["min_amount"] == "800.00"
