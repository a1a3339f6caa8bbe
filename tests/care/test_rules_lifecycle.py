"""New members, A members' monthly call, spend drop, dormant and sleeping: boundary days and catch-up."""

import datetime as dt

import pytest
from django.utils import translation

from membercare.care.rules.lifecycle import complaints_text

from .conftest import keys, tasks

D = dt.date


@pytest.mark.django_db
class TestNewMemberCallback:
    def test_day_2_3_7_8(self, member_with, run_rule):
        first = D(2026, 5, 4)
        member = member_with(first=first, lifecycle="new")
        assert run_rule("new_member_callback", first + dt.timedelta(days=2)) == 0
        assert run_rule("new_member_callback", first + dt.timedelta(days=3)) == 1
        (task,) = tasks("new_member_callback")
        assert (task.member_id, task.key, task.created_on, task.due_on) == (member.pk, "2026-05-04", D(2026, 5, 7),
                                                                           D(2026, 5, 11))
        assert task.context == {"first_purchase": "2026-05-04"}
        assert (task.priority, task.channel) == (10, "phone")
        for later in (4, 7, 8):
            assert run_rule("new_member_callback", first + dt.timedelta(days=later)) == 0
        assert len(tasks("new_member_callback")) == 1

    def test_missed_days_are_made_up_until_day_7_only(self, member_with, run_rule):
        on_day7 = member_with(first=D(2026, 5, 4))
        member_with(first=D(2026, 5, 3))  # day 8 on 2026-05-11: too late
        assert run_rule("new_member_callback", D(2026, 5, 11)) == 1
        assert keys("new_member_callback") == {(on_day7.pk, "2026-05-04")}

    def test_window_follows_the_settings(self, member_with, run_rule, care_config):
        care_config["rules"]["new_member_callback"].update(from_day=1, to_day=2)
        member_with(first=D(2026, 5, 4))
        assert run_rule("new_member_callback", D(2026, 5, 5), care_config) == 1
        assert tasks("new_member_callback")[0].due_on == D(2026, 5, 6)


@pytest.mark.django_db
class TestNewMemberWeekly:
    def test_monday_lists_last_weeks_new_members(self, member_with, run_rule):
        # 2026-05-11 is a Monday; the previous ISO week is 2026-05-04 .. 2026-05-10 (W19)
        inside = [member_with(first=D(2026, 5, 4)), member_with(first=D(2026, 5, 10))]
        earlier = member_with(first=D(2026, 5, 3))
        member_with(first=D(2026, 5, 11))
        assert run_rule("new_member_weekly", D(2026, 5, 10)) == 1  # Sunday: still the week of W18's list
        assert run_rule("new_member_weekly", D(2026, 5, 11)) == 2
        assert keys("new_member_weekly") == {(m.pk, "2026-W19") for m in inside} | {(earlier.pk, "2026-W18")}
        assert {t.due_on for t in tasks("new_member_weekly", key="2026-W19")} == {D(2026, 5, 17)}
        assert run_rule("new_member_weekly", D(2026, 5, 12)) == 0

    def test_configured_weekday_and_catch_up_later_in_the_week(self, member_with, run_rule, care_config):
        care_config["rules"]["new_member_weekly"]["weekday"] = 2  # Wednesday
        member_with(first=D(2026, 5, 6))
        assert run_rule("new_member_weekly", D(2026, 5, 12), care_config) == 0  # Tuesday
        assert run_rule("new_member_weekly", D(2026, 5, 15), care_config) == 1  # Friday: made up
        assert keys("new_member_weekly") == {(tasks()[0].member_id, "2026-W19")}

    def test_year_end_week_key(self, member_with, run_rule):
        member_with(first=D(2026, 12, 31))  # ISO week 2026-W53
        assert run_rule("new_member_weekly", D(2027, 1, 4)) == 1
        assert tasks("new_member_weekly")[0].key == "2026-W53"


@pytest.mark.django_db
class TestMonthlyCall:
    def test_a_members_once_a_month(self, member_with, run_rule, record_run):
        a = member_with(last=D(2026, 5, 20), follow_up="A")
        member_with(last=D(2026, 5, 20), follow_up="B")
        assert run_rule("a_monthly_call", D(2026, 6, 1)) == 1
        (task,) = tasks("a_monthly_call")
        assert (task.member_id, task.key, task.due_on) == (a.pk, "2026-06", D(2026, 6, 15))
        record_run(D(2026, 6, 1), "a_monthly_call")
        member_with(last=D(2026, 5, 20), follow_up="A")  # became A after the month's calls were made
        assert run_rule("a_monthly_call", D(2026, 6, 2)) == 0
        assert run_rule("a_monthly_call", D(2026, 7, 1)) == 2
        assert {t.key for t in tasks("a_monthly_call")} == {"2026-06", "2026-07"}

    def test_first_run_after_the_day_makes_it_up(self, member_with, run_rule, record_run, care_config):
        care_config["rules"]["a_monthly_call"]["day_of_month"] = 31  # June has 30 days: the 30th
        member_with(last=D(2026, 5, 20), follow_up="A")
        assert run_rule("a_monthly_call", D(2026, 6, 29), care_config) == 0
        record_run(D(2026, 6, 28), "a_monthly_call")
        assert run_rule("a_monthly_call", D(2026, 7, 1), care_config) == 0  # July's is due on the 31st
        assert run_rule("a_monthly_call", D(2026, 6, 30), care_config) == 1


@pytest.mark.django_db
def test_spend_drop_call_once_a_month_for_a_and_b(member_with, run_rule):
    # 90 recent days vs the other 275 of the 12 months, ratio 0.5: 100.00 recent against 2000.00 before is a drop
    # (100 / 90 < 0.5 x 2000 / 275); 300.00 against 1000.00 is not (300 / 90 > 0.5 x 1000 / 275)
    a = member_with(last=D(2026, 3, 1), follow_up="A", spend_3m="100.00", spend_before_3m="2000.00")
    member_with(last=D(2026, 3, 1), follow_up="C", spend_3m="100.00", spend_before_3m="2000.00")  # not A or B
    member_with(last=D(2026, 3, 1), follow_up="B", spend_3m="300.00", spend_before_3m="1000.00")  # held
    member_with(last=D(2026, 3, 1), follow_up="A", churning=True, spend_3m="900.00",
                spend_before_3m="1000.00")  # fewer visits, same spend: no call (it fires on spend)
    member_with(last=D(2026, 1, 1), follow_up="A", lifecycle="dormant", spend_3m="0",
                spend_before_3m="5000.00")  # dormant: the dormant review applies instead
    assert run_rule("spend_drop_call", D(2026, 5, 10)) == 1
    assert run_rule("spend_drop_call", D(2026, 5, 11)) == 0
    (task,) = tasks("spend_drop_call")
    assert (task.member_id, task.key, task.due_on) == (a.pk, "2026-05", D(2026, 5, 17))
    assert task.context == {"last_purchase": "2026-03-01", "days": 70}
    assert run_rule("spend_drop_call", D(2026, 6, 1)) == 1


@pytest.mark.django_db
def test_spend_drop_boundary_and_ratio_setting(member_with, run_rule, care_config):
    # 0.5 x 2750.00 / 275 = 5.00 a day; 450.00 / 90 = 5.00 exactly: not below, no call; 449.99: a call
    member_with(last=D(2026, 5, 1), follow_up="A", spend_3m="450.00", spend_before_3m="2750.00")
    below = member_with(last=D(2026, 5, 1), follow_up="A", spend_3m="449.99", spend_before_3m="2750.00")
    assert run_rule("spend_drop_call", D(2026, 5, 10)) == 1
    assert keys("spend_drop_call") == {(below.pk, "2026-05")}
    care_config["rules"]["spend_drop_call"]["ratio"] = 0.6
    assert run_rule("spend_drop_call", D(2026, 5, 10), care_config) == 1  # 5.00 < 6.00 a day now


@pytest.mark.django_db
def test_monthly_call_skips_dormant_and_sleeping_members(member_with, run_rule):
    active = member_with(last=D(2026, 5, 20), follow_up="A")
    new = member_with(first=D(2026, 5, 20), follow_up="A", lifecycle="new")
    for lifecycle in ("dormant", "sleeping", "lost"):
        member_with(last=D(2025, 5, 20), follow_up="A", lifecycle=lifecycle)
    assert run_rule("a_monthly_call", D(2026, 6, 1)) == 2
    assert keys("a_monthly_call") == {(active.pk, "2026-06"), (new.pk, "2026-06")}


@pytest.mark.django_db
class TestDormantAndSleeping:
    def test_89_90_days(self, member_with, run_rule):
        last = D(2026, 1, 10)
        member = member_with(last=last, lifecycle="dormant")
        assert run_rule("dormant_review", last + dt.timedelta(days=89)) == 0
        assert run_rule("dormant_review", last + dt.timedelta(days=90)) == 1
        assert run_rule("dormant_review", last + dt.timedelta(days=91)) == 0
        (task,) = tasks("dormant_review")
        assert (task.member_id, task.key) == (member.pk, "2026-01-10")
        with translation.override("zh-hans"):
            none_text = complaints_text(0)
        assert task.context == {"days": 90, "last_purchase": "2026-01-10", "complaints": 0,
                                "complaints_text": none_text}
        assert task.due_on == last + dt.timedelta(days=97)

    def test_missed_day_is_made_up_with_the_real_number_of_days(self, member_with, run_rule):
        member_with(last=D(2026, 1, 10))
        assert run_rule("dormant_review", D(2026, 4, 15)) == 1
        assert tasks("dormant_review")[0].context["days"] == 95

    def test_179_180_days_dormant_review_stops_sleeping_call_starts(self, member_with, run_rule):
        last = D(2026, 1, 10)
        member = member_with(last=last, lifecycle="sleeping")
        day179, day180 = last + dt.timedelta(days=179), last + dt.timedelta(days=180)
        assert run_rule("sleeping_call", day179) == 0
        assert run_rule("dormant_review", day179) == 1  # never ran during days 90..178: made up on 179
        assert run_rule("dormant_review", day180) == 0
        assert run_rule("sleeping_call", day180) == 1
        assert run_rule("sleeping_call", day180 + dt.timedelta(days=1)) == 0
        (task,) = tasks("sleeping_call")
        assert (task.member_id, task.key, task.context["days"]) == (member.pk, "2026-01-10", 180)

    def test_lost_members_get_no_sleeping_call(self, member_with, run_rule):
        member_with(last=D(2025, 1, 1))
        assert run_rule("sleeping_call", D(2026, 1, 1)) == 0  # 365 days: lost
        assert run_rule("sleeping_call", D(2025, 12, 31)) == 1

    def test_a_new_dormancy_episode_gets_a_new_review(self, member_with, run_rule):
        from membercare.care.models import MemberSegments

        member = member_with(last=D(2026, 1, 10))
        assert run_rule("dormant_review", D(2026, 4, 10)) == 1
        MemberSegments.objects.filter(member=member).update(last_purchase_on=D(2026, 5, 1))
        assert run_rule("dormant_review", D(2026, 7, 29)) == 0
        assert run_rule("dormant_review", D(2026, 7, 30)) == 1
        assert keys("dormant_review") == {(member.pk, "2026-01-10"), (member.pk, "2026-05-01")}


@pytest.mark.django_db
def test_spend_drop_fires_on_spend_not_on_visits_from_real_receipts(store, run_rule, care_config):
    """End to end (receipts -> segments -> rule): a member who still comes as often but spends far less gets the
    call; one who comes far less often (churning on visits) but spends as much does not. A rule on a visit count
    would call the second and not the first."""
    from decimal import Decimal

    from membercare.care.models import MemberSegments
    from membercare.care.segments import segments_compute
    from membercare.sales.models import Receipt
    from tests.factories import MemberFactory

    from .conftest import at

    day = D(2026, 6, 30)  # recent window 2026-04-02 .. 06-30 (90 days); the baseline the 275 days before

    def buy(member, on: dt.date, yuan: str) -> None:
        Receipt.objects.create(number=f"R{Receipt.objects.count():06d}", store=store, member=member, sold_at=at(on),
                               total_paid=Decimal(yuan), total_full_price=Decimal(yuan))

    spends_less, visits_less = MemberFactory(home_store=store), MemberFactory(home_store=store)
    for i in range(11):  # baseline: 11 purchase days, every 25 days (0.04 a day)
        on = D(2025, 7, 5) + dt.timedelta(days=25 * i)
        buy(spends_less, on, "1000.00")
        buy(visits_less, on, "100.00")
    for i in range(4):  # recent: 4 purchase days (0.044 a day, no fewer visits) at 50.00
        buy(spends_less, D(2026, 4, 10) + dt.timedelta(days=20 * i), "50.00")
    buy(visits_less, D(2026, 6, 20), "1000.00")  # recent: one visit (0.011 a day < half of 0.04), more spend
    segments_compute(day, care_config)
    rows = {r.member_id: r for r in MemberSegments.objects.all()}
    assert (rows[spends_less.pk].churning, rows[visits_less.pk].churning) == (False, True)
    assert {rows[m.pk].follow_up for m in (spends_less, visits_less)} == {"A"}
    assert {rows[m.pk].lifecycle for m in (spends_less, visits_less)} == {"active"}
    assert run_rule("spend_drop_call", day) == 1
    assert keys("spend_drop_call") == {(spends_less.pk, "2026-06")}
