"""The Chinese working calendar, with the weekends-only fallback past the library's data."""

import datetime as dt

import pytest

from membercare.core.workdays import (
    add_working_days,
    calendar_covers,
    deadline_after,
    fallback_used,
    is_working_day,
    working_days_between,
)

D = dt.date


@pytest.mark.parametrize("day", [D(2025, 10, d) for d in range(1, 9)])
def test_national_day_2025_is_off_even_on_weekdays(day):
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [D(2025, 9, 28), D(2025, 10, 11)])  # Sunday and Saturday made working days
def test_make_up_working_days_of_2025(day):
    assert day.weekday() >= 5 and is_working_day(day)


def test_2026_spring_festival_and_ordinary_days():
    assert calendar_covers(2025) and calendar_covers(2026)
    assert not is_working_day(D(2026, 2, 17))  # Spring Festival 2026 (Tuesday)
    assert is_working_day(D(2026, 6, 3)) and not is_working_day(D(2026, 6, 6))  # Wednesday, Saturday


def test_add_working_days_across_national_day():
    # Tuesday 30 September 2025: 9 Oct (Thu), 10 Oct (Fri), 11 Oct (make-up Saturday)
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert add_working_days(D(2025, 9, 30), 3) == D(2025, 10, 11)
    assert add_working_days(D(2025, 10, 11), -3) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert add_working_days(dt.datetime(2025, 9, 26, 15), 1) == D(2025, 9, 28)


def test_working_days_between():
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 8)) == 0
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 11)) == 3
    assert working_days_between(D(2025, 10, 11), D(2025, 9, 30)) == -3
    assert working_days_between(D(2025, 9, 30), D(2025, 9, 30)) == 0
    # a plain week: Monday -> next Monday is 5 working days
    assert working_days_between(D(2025, 11, 3), D(2025, 11, 10)) == 5


def test_2027_falls_back_to_weekends_and_says_so():
    assert not calendar_covers(2027)
    assert is_working_day(D(2027, 10, 1))  # a Friday: the fallback does not know National Day 2027
    assert not is_working_day(D(2027, 10, 2))  # Saturday
    assert add_working_days(D(2027, 1, 8), 1) == D(2027, 1, 11)  # Friday -> Monday
    assert working_days_between(D(2027, 1, 4), D(2027, 1, 11)) == 5
    assert fallback_used(D(2026, 12, 30), D(2027, 1, 4))
    assert not fallback_used(D(2025, 9, 30), D(2025, 10, 11))


def test_deadline_across_the_year_end_reports_the_estimate():
    due, estimated = deadline_after(D(2026, 12, 30), 3)
    # 31 Dec (Thu), 1 Jan 2027 (Fri: the fallback does not know New Year's Day), 4 Jan (Mon)
    assert due == D(2027, 1, 4) and estimated
    due, estimated = deadline_after(D(2025, 9, 30), 3)
    assert due == D(2025, 10, 11) and not estimated
