"""Birthdays (solar, 29 February, lunar across leap months, year end), festivals and season changes."""

import datetime as dt

import pytest
from django.utils import translation

from membercare.care import calendar as care_calendar
from membercare.care.daily import _step_warnings

from .conftest import keys, tasks

D = dt.date


def zh(name) -> str:
    with translation.override("zh-hans"):
        return str(name)


@pytest.mark.django_db
class TestBirthday:
    def test_seven_days_before_and_made_up_until_the_day(self, member_with, run_rule):
        member = member_with(birthday=D(1985, 3, 21))
        assert run_rule("birthday_greeting", D(2026, 3, 13)) == 0
        assert run_rule("birthday_greeting", D(2026, 3, 14)) == 1
        (task,) = tasks("birthday_greeting")
        assert (task.member_id, task.key, task.due_on, task.channel) == (member.pk, "2026-03-21", D(2026, 3, 21), "sms")
        assert task.context == {"birthday": "2026-03-21", "calendar": "solar"}
        for day in range(15, 23):
            assert run_rule("birthday_greeting", D(2026, 3, day)) == 0

    def test_missed_days_made_up_not_after_the_birthday(self, member_with, run_rule):
        today = member_with(birthday=D(1990, 3, 21))
        member_with(birthday=D(1990, 3, 20))  # yesterday: too late
        member_with(birthday=D(1990, 3, 29))  # in 8 days: not yet
        assert run_rule("birthday_greeting", D(2026, 3, 21)) == 1
        assert keys("birthday_greeting") == {(today.pk, "2026-03-21")}

    def test_year_end(self, member_with, run_rule):
        member = member_with(birthday=D(1980, 1, 3))
        assert run_rule("birthday_greeting", D(2026, 12, 26)) == 0
        assert run_rule("birthday_greeting", D(2026, 12, 27)) == 1
        assert keys("birthday_greeting") == {(member.pk, "2027-01-03")}
        assert tasks("birthday_greeting")[0].due_on == D(2027, 1, 3)
        assert run_rule("birthday_greeting", D(2027, 1, 2)) == 0

    def test_29_february_in_a_common_year_is_greeted_for_28_february(self, member_with, run_rule):
        leapling = member_with(birthday=D(1988, 2, 29))
        feb28 = member_with(birthday=D(1988, 2, 28))
        assert run_rule("birthday_greeting", D(2027, 2, 20)) == 0
        assert run_rule("birthday_greeting", D(2027, 2, 21)) == 2
        assert keys("birthday_greeting") == {(leapling.pk, "2027-02-28"), (feb28.pk, "2027-02-28")}

    def test_29_february_in_a_leap_year(self, member_with, run_rule):
        leapling = member_with(birthday=D(1988, 2, 29))
        feb28 = member_with(birthday=D(1988, 2, 28))
        assert run_rule("birthday_greeting", D(2028, 2, 21)) == 1
        assert keys("birthday_greeting") == {(feb28.pk, "2028-02-28")}
        assert run_rule("birthday_greeting", D(2028, 2, 22)) == 1
        assert (leapling.pk, "2028-02-29") in keys("birthday_greeting")
        assert run_rule("birthday_greeting", D(2028, 3, 1)) == 0

    def test_lunar_birthday_converted_for_the_year(self, member_with, run_rule):
        member = member_with(birthday=D(1980, 9, 23), celebrates_lunar=True, lunar_birthday_month=8,
                             lunar_birthday_day=15)
        member_with(birthday=D(1980, 9, 25))  # solar 25 September: greeted for that, not the lunar one
        assert run_rule("birthday_greeting", D(2026, 9, 16)) == 0  # the solar birthday (23rd) is not used
        assert run_rule("birthday_greeting", D(2026, 9, 18)) == 2  # lunar 8/15 of 2026 is 2026-09-25
        assert (member.pk, "2026-09-25") in keys("birthday_greeting")
        assert tasks("birthday_greeting", member=member)[0].context == {"birthday": "2026-09-25",
                                                                          "calendar": "lunar"}

    def test_ordinary_month_birthday_in_a_year_with_that_leap_month(self, member_with, run_rule):
        # 2025 has a leap sixth month; someone born in the ordinary sixth month keeps the ordinary one
        member = member_with(celebrates_lunar=True, lunar_birthday_month=6, lunar_birthday_day=10)
        assert run_rule("birthday_greeting", D(2025, 6, 27)) == 1  # lunar 6/10 = 2025-07-04
        assert run_rule("birthday_greeting", D(2025, 7, 27)) == 0  # leap 6/10 = 2025-08-03: not theirs
        assert keys("birthday_greeting") == {(member.pk, "2025-07-04")}

    def test_born_in_a_leap_month(self, member_with, run_rule):
        member = member_with(celebrates_lunar=True, lunar_birthday_month=6, lunar_birthday_day=10,
                             lunar_birthday_leap=True)
        assert run_rule("birthday_greeting", D(2025, 6, 27)) == 0  # ordinary 6/10 2025: not while the leap exists
        assert run_rule("birthday_greeting", D(2025, 7, 27)) == 1  # leap 6/10 = 2025-08-03
        assert run_rule("birthday_greeting", D(2026, 7, 16)) == 1  # 2026 has no leap 6th month: 6/10 = 07-23
        assert keys("birthday_greeting") == {(member.pk, "2025-08-03"), (member.pk, "2026-07-23")}

    def test_lunar_twelfth_month_falls_in_the_next_solar_year(self, member_with, run_rule):
        member = member_with(celebrates_lunar=True, lunar_birthday_month=12, lunar_birthday_day=20)
        assert run_rule("birthday_greeting", D(2027, 1, 20)) == 1  # lunar 2026-12-20 = 2027-01-27
        assert keys("birthday_greeting") == {(member.pk, "2027-01-27")}

    def test_lunar_day_30_in_a_short_month(self, member_with, run_rule):
        # lunar 2026 month 2 has 29 days: the 30th is celebrated on the 29th (2026-04-16)
        member = member_with(celebrates_lunar=True, lunar_birthday_month=2, lunar_birthday_day=30)
        assert run_rule("birthday_greeting", D(2026, 4, 9)) == 1
        assert keys("birthday_greeting") == {(member.pk, "2026-04-16")}


def test_calendar_2026():
    by_code = {d.code: d.on for d in care_calendar.festivals(2026)}
    assert by_code["mid_autumn"] == D(2026, 9, 25)
    assert by_code["spring_festival"] == D(2026, 2, 17)
    assert by_code["dragon_boat"] == D(2026, 6, 19)
    assert by_code["womens_day"] == D(2026, 3, 8) and by_code["national_day"] == D(2026, 10, 1)
    seasons = {d.code: d.on for d in care_calendar.season_starts(2026)}
    assert seasons == {"spring_begins": D(2026, 2, 4), "summer_begins": D(2026, 5, 5),
                       "autumn_begins": D(2026, 8, 7), "winter_begins": D(2026, 11, 7)}
    assert care_calendar.calendar_warnings([2026]) == []


def test_calendar_past_the_official_data_and_the_libraries_never_fails():
    assert {d.code: d.on for d in care_calendar.festivals(2027)}["mid_autumn"] == D(2027, 9, 15)
    assert len(care_calendar.calendar_warnings([2027])) == 1
    far = care_calendar.festivals(2150)
    assert {d.code for d in far} == {"new_year", "womens_day", "national_day"}
    assert len(care_calendar.season_starts(2150)) == 4
    assert len(care_calendar.calendar_warnings([2150])) == 3


@pytest.mark.django_db
class TestHolidays:
    def test_mid_autumn_greeting_three_days_before_to_a_and_b(self, member_with, run_rule, record_run):
        a, b = member_with(follow_up="A"), member_with(follow_up="B")
        member_with(follow_up="C")
        assert run_rule("holiday_greeting", D(2026, 9, 21)) == 0
        assert run_rule("holiday_greeting", D(2026, 9, 22)) == 2
        assert keys("holiday_greeting") == {(a.pk, "mid_autumn:2026"), (b.pk, "mid_autumn:2026")}
        task = tasks("holiday_greeting")[0]
        assert task.due_on == D(2026, 9, 25)
        assert task.context == {"holiday": zh(care_calendar.FESTIVAL_NAMES["mid_autumn"]), "holiday_code": "mid_autumn",
                                "holiday_on": "2026-09-25"}
        record_run(D(2026, 9, 22), "holiday_greeting")
        member_with(follow_up="A")
        assert run_rule("holiday_greeting", D(2026, 9, 23)) == 0  # fired once for the festival

    def test_first_run_after_the_day_makes_it_up_until_the_festival(self, member_with, run_rule, record_run):
        member_with(follow_up="A")
        record_run(D(2026, 9, 20), "holiday_greeting")
        assert run_rule("holiday_greeting", D(2026, 9, 24)) == 1
        assert run_rule("holiday_greeting", D(2026, 9, 26)) == 0  # national day is 5 days away: not yet

    def test_only_the_listed_holidays(self, member_with, run_rule, care_config):
        member_with(follow_up="A")
        care_config["rules"]["holiday_greeting"]["holidays"] = ["national_day"]
        assert run_rule("holiday_greeting", D(2026, 9, 22), care_config) == 0
        assert run_rule("holiday_greeting", D(2026, 9, 28), care_config) == 1

    def test_pre_holiday_call_a_members_seven_days_before(self, member_with, run_rule, record_run):
        a = member_with(follow_up="A")
        member_with(follow_up="B")
        assert run_rule("pre_holiday_call", D(2026, 9, 17)) == 0
        assert run_rule("pre_holiday_call", D(2026, 9, 18)) == 1  # Mid-Autumn, 2026-09-25
        record_run(D(2026, 9, 18), "pre_holiday_call")
        assert run_rule("pre_holiday_call", D(2026, 9, 23)) == 0
        assert run_rule("pre_holiday_call", D(2026, 9, 24)) == 1  # National Day, 2026-10-01
        task = tasks("pre_holiday_call", key="national_day:2026")[0]
        assert (task.member_id, task.due_on) == (a.pk, D(2026, 9, 30))
        assert tasks("pre_holiday_call", key="mid_autumn:2026")[0].due_on == D(2026, 9, 24)

    def test_year_past_the_calendar_data_warns_and_works(self, member_with, run_rule):
        member_with(follow_up="A")
        token = _step_warnings.set([])
        try:
            assert run_rule("holiday_greeting", D(2027, 9, 12)) == 1  # Mid-Autumn 2027 = 09-15
            warnings = _step_warnings.get()
        finally:
            _step_warnings.reset(token)
        assert any("2027" in w for w in warnings)
        assert tasks("holiday_greeting")[0].key == "mid_autumn:2027"

    def test_new_year_across_the_year_end(self, member_with, run_rule):
        member_with(follow_up="B")
        assert run_rule("holiday_greeting", D(2026, 12, 29)) == 1
        assert tasks("holiday_greeting")[0].key == "new_year:2027"

    def test_season_greeting(self, member_with, run_rule):
        member_with(follow_up="A")
        assert run_rule("season_greeting", D(2026, 8, 4)) == 0
        assert run_rule("season_greeting", D(2026, 8, 5)) == 1  # 立秋 2026-08-07
        (task,) = tasks("season_greeting")
        assert (task.key, task.due_on, task.context["holiday_code"]) == ("autumn_begins:2026", D(2026, 8, 7),
                                                                        "autumn_begins")
        assert task.context["holiday"] == zh(care_calendar.SEASON_NAMES["autumn_begins"])
