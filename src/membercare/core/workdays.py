"""The Chinese working calendar: official days off and make-up working days (调休).

The State Council publishes each year's days off late in the year before; `chinese-calendar` knows
only the years published so far (1.11: 2004-2026). For a year it does not know, these functions fall
back to "Saturday and Sunday are rest days" and never fail: a deadline check or the daily job keeps
working, and `calendar_covers(year)` / `fallback_used(a, b)` tell the caller (and, through it, the
specialist) that the answer is an estimate.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

import chinese_calendar

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)


@functools.cache
def calendar_covers(year: int) -> bool:
    """True when the official calendar of `year` is known (days off and 调休 exact)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        logger.warning("chinese-calendar has no data for %s: weekends are taken as the only rest days", year)
        return False
    return True


def _as_date(day: dt.date | dt.datetime) -> dt.date:
    return day.date() if isinstance(day, dt.datetime) else day


def is_working_day(day: dt.date | dt.datetime) -> bool:
    """A working day in mainland China; past the calendar's data, Monday to Friday."""
    day = _as_date(day)
    if calendar_covers(day.year):
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # defensive: the library's range is checked per year above
            pass
    return day.weekday() < 5


def add_working_days(day: dt.date | dt.datetime, n: int) -> dt.date:
    """The n-th working day after `day` (before it when n < 0); `day` itself when n == 0."""
    day = _as_date(day)
    step = ONE_DAY if n >= 0 else -ONE_DAY
    left = abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
    """Working days after `a` up to and including `b` (negative when b is before a; 0 when equal).

    A sale on day `a` uploaded on day `b` was uploaded `working_days_between(a, b)` working days later.
    """
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a
    while day < b:
        day += ONE_DAY
        if is_working_day(day):
            count += 1
    return count


def fallback_used(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> bool:
    """True when any day from a to b lies in a year the official calendar does not cover."""
    a, b = sorted((_as_date(a), _as_date(b)))
    return any(not calendar_covers(year) for year in range(a.year, b.year + 1))


def deadline_after(day: dt.date | dt.datetime, working_days: int) -> tuple[dt.date, bool]:
    """(the last day of a deadline `working_days` working days after `day`, estimated?)."""
    due = add_working_days(day, working_days)
    return due, fallback_used(day, due)
