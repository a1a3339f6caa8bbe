"""Which remembered dates fall on a solar day: birthdays and the dates a member gave (MemberDate), solar or lunar.

Shared by the care rules that greet on them (care.rules.dates) and the points given on them
(loyalty.points_events). A lunar date is converted exactly as the member archive converts a lunar birthday
(members.validation.lunar_birthday_in_year: a leap-month date in the leap month when the year has one, else in the
ordinary month; day 30 on day 29 in a short month); 29 February is kept on the 28th in a common year.
"""

from __future__ import annotations

import datetime as dt
import functools
from types import SimpleNamespace

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from .models import MemberDate
from .validation import lunar_birthday_in_year

LUNAR_RANGE = (1900, 2099)  # what lunardate converts


def lunar_code(month: int, day: int, leap: bool) -> int:
    return (10000 if leap else 0) + month * 100 + day


@functools.cache
def _lunar_dates(year: int) -> dict[dt.date, tuple[int, ...]]:
    """Solar date -> the lunar dates (as lunar_code) celebrated on it, for lunar year `year`."""
    out: dict[dt.date, list[int]] = {}
    if not LUNAR_RANGE[0] <= year <= LUNAR_RANGE[1]:
        return {}
    for month in range(1, 13):
        for lday in range(1, 31):
            for leap in (False, True):
                person = SimpleNamespace(lunar_birthday_month=month, lunar_birthday_day=lday,
                                         lunar_birthday_leap=leap)
                on = lunar_birthday_in_year(person, year)  # type: ignore[arg-type]
                if on is not None:
                    out.setdefault(on, []).append(lunar_code(month, lday, leap))
    return {on: tuple(codes) for on, codes in out.items()}


def lunar_codes_on(on: dt.date) -> tuple[int, ...]:
    """The lunar dates celebrated on solar date `on` (the lunar year is on's year or the one before)."""
    return tuple(c for year in (on.year - 1, on.year) for c in _lunar_dates(year).get(on, ()))


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def solar_month_days_on(on: dt.date) -> tuple[int, ...]:
    """month*100+day of the solar dates celebrated on `on`: 29 February on the 28th in a common year."""
    codes = [on.month * 100 + on.day]
    if on.month == 2 and on.day == 28 and not is_leap_year(on.year):
        codes.append(229)
    return tuple(codes)


def member_dates_on(on: dt.date) -> QuerySet[MemberDate]:
    """The dates members gave that fall on `on` (members not erased)."""
    lunar_expr = Case(When(leap=True, then=Value(10000)), default=Value(0),
                      output_field=IntegerField()) + F("month") * 100 + F("day")
    solar = Q(calendar=MemberDate.Calendar.SOLAR, code__in=list(solar_month_days_on(on)))
    lunar = Q(calendar=MemberDate.Calendar.LUNAR, lunar__in=list(lunar_codes_on(on)))
    return (MemberDate.objects.filter(member__erased_at__isnull=True)
            .annotate(code=F("month") * 100 + F("day"), lunar=lunar_expr).filter(solar | lunar))
