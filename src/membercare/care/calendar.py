"""Chinese festivals and season changes for a year, computed — never a hand-typed list of dates.

- Lunar festivals (Spring Festival 1/1, Lantern 1/15, Dragon Boat 5/5, Qixi 7/7, Mid-Autumn 8/15, Double
  Ninth 9/9) are converted with `lunardate` (the library members/validation.py uses for lunar birthdays;
  it covers 1900-2099).
- Solar festivals: New Year's Day 1/1, Women's Day 3/8, National Day 10/1.

Since issue 20 the festivals greeted are data (care.Festival, seeded with the nine above; care.festivals reads
them and computes each year's date with `solar_festival_date` / `lunar_festival_date` here); the lists below
stay as the built-in reference (`festivals(year)`) the tests check the conversion against.
- Season starts: the solar terms 立春, 立夏, 立秋, 立冬 from `chinese_calendar.get_solar_terms` (computed
  by formula for 1900-2100).

The official days off and make-up working days (调休) are a different matter: `chinese-calendar` knows only
the years the State Council has published (1.11: up to 2026). The festival *dates* above stay exact past
that; `calendar_warnings` says when the official calendar does not cover a year, so the daily job can
show the specialist that days off are estimated. Outside the libraries' ranges nothing fails: lunar
festivals are left out and season starts reuse the nearest covered year's day, each with a warning.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from lunardate import LunarDate

from membercare.core.workdays import calendar_covers
from membercare.members import dates as member_dates

LUNAR_FESTIVALS: list[tuple[str, int, int, Promise]] = [
    ("spring_festival", 1, 1, _("Spring Festival")),
    ("lantern", 1, 15, _("Lantern Festival")),
    ("dragon_boat", 5, 5, _("Dragon Boat Festival")),
    ("qixi", 7, 7, _("Qixi Festival")),
    ("mid_autumn", 8, 15, _("Mid-Autumn Festival")),
    ("double_ninth", 9, 9, _("Double Ninth Festival")),
]
SOLAR_FESTIVALS: list[tuple[str, int, int, Promise]] = [
    ("new_year", 1, 1, _("New Year's Day")),
    ("womens_day", 3, 8, _("Women's Day")),
    ("national_day", 10, 1, _("National Day")),
]
# the four solar terms that start a season, by their name in chinese_calendar
SEASON_TERMS: dict[str, tuple[str, Promise]] = {
    "立春": ("spring_begins", _("Start of Spring")),
    "立夏": ("summer_begins", _("Start of Summer")),
    "立秋": ("autumn_begins", _("Start of Autumn")),
    "立冬": ("winter_begins", _("Start of Winter")),
}
FESTIVAL_CODES: list[str] = [code for code, _m, _d, _n in SOLAR_FESTIVALS + LUNAR_FESTIVALS]
FESTIVAL_NAMES: dict[str, Promise] = {code: name for code, _m, _d, name in LUNAR_FESTIVALS + SOLAR_FESTIVALS}
SEASON_NAMES: dict[str, Promise] = dict(SEASON_TERMS.values())

LUNAR_RANGE = member_dates.LUNAR_RANGE  # lunardate
SOLAR_TERM_RANGE = (1900, 2100)  # chinese_calendar.get_solar_terms


@dataclass(frozen=True)
class CalendarDay:
    code: str  # e.g. "mid_autumn", "autumn_begins"
    name: Promise  # translatable
    on: dt.date


@functools.cache
def festivals(year: int) -> tuple[CalendarDay, ...]:
    """The festivals of `year` (solar year) in date order; lunar ones only where lunardate covers the year."""
    days = [CalendarDay(code, name, dt.date(year, month, day)) for code, month, day, name in SOLAR_FESTIVALS]
    if LUNAR_RANGE[0] <= year <= LUNAR_RANGE[1]:
        for code, month, day, name in LUNAR_FESTIVALS:
            days.append(CalendarDay(code, name, LunarDate(year, month, day).to_solar_date()))
    return tuple(sorted(days, key=lambda d: (d.on, d.code)))


def solar_festival_date(year: int, month: int, day: int) -> dt.date | None:
    """A solar festival's date in `year`; 29 February on the 28th in a common year; None for an impossible day."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        if month == 2 and day == 29:
            return dt.date(year, 2, 28)
        return None


def lunar_festival_date(year: int, month: int, day: int) -> dt.date | None:
    """A lunar festival (ordinary month) in the lunar year starting in `year`, as a solar date; day 30 of a short
    month on its 29th; None where lunardate has no data (calendar_warnings says so)."""
    if not LUNAR_RANGE[0] <= year <= LUNAR_RANGE[1]:
        return None
    try:
        return LunarDate(year, month, day).to_solar_date()
    except ValueError:
        if day == 30:
            try:
                return LunarDate(year, month, 29).to_solar_date()
            except ValueError:
                return None
        return None


@functools.cache
def season_starts(year: int) -> tuple[CalendarDay, ...]:
    """立春, 立夏, 立秋, 立冬 of `year`; outside 1900-2100 the nearest covered year's month and day."""
    source_year = min(max(year, SOLAR_TERM_RANGE[0]), SOLAR_TERM_RANGE[1])
    terms = chinese_calendar.get_solar_terms(dt.date(source_year, 1, 1), dt.date(source_year, 12, 31))
    days = []
    for on, term in terms:
        if term in SEASON_TERMS:
            code, name = SEASON_TERMS[term]
            days.append(CalendarDay(code, name, on.replace(year=year)))
    return tuple(sorted(days, key=lambda d: d.on))


def calendar_warnings(years: set[int] | list[int]) -> list[str]:
    """Messages for the specialist about the years whose calendar data is missing or estimated."""
    messages = []
    for year in sorted(set(years)):
        if not calendar_covers(year):
            messages.append(gettext(
                "The official holiday calendar for %(year)s is not published in chinese-calendar yet: festival "
                "dates are computed from the lunar calendar, days off and make-up working days are estimated "
                "(weekends only). Update chinese-calendar when the State Council publishes it."
            ) % {"year": year})
        if not LUNAR_RANGE[0] <= year <= LUNAR_RANGE[1]:
            messages.append(gettext("No lunar calendar data for %(year)s: lunar festivals and lunar birthdays of "
                                    "that year are left out.") % {"year": year})
        if not SOLAR_TERM_RANGE[0] <= year <= SOLAR_TERM_RANGE[1]:
            messages.append(gettext("No solar-term data for %(year)s: season changes use the dates of the "
                                    "nearest year with data.") % {"year": year})
    return messages


def days_between(start: dt.date, end: dt.date, *, seasons: bool = False) -> list[CalendarDay]:
    """Festivals (or season starts) from `start` to `end` inclusive, across a year end when needed."""
    source = season_starts if seasons else festivals
    return [d for year in range(start.year, end.year + 1) for d in source(year) if start <= d.on <= end]
