"""Festivals as data (care.Festival, edited by HQ at /care/festivals/) and the audience hook the care rules use.

Dates: a festival's day in a year comes from care.calendar (`festival_date`: solar month/day, or the lunar
month/day converted with lunardate) — the table holds the month and day, never a year's date.

Audiences: a festival (and, later, any care rule) may be restricted to a saved audience. Saved audiences live in
the audiences app, one floor above care (README's layer order), so care never imports it. Care offers a hook
instead, as the sale pipeline's providers or `core.timeline` do: the audiences app registers an
`AudienceResolver` from its AppConfig.ready (`register_audience_resolver`), and a care rule asks
`audience_member_ids(audience_id, day)` for a queryset of member ids it puts in its INSERT … SELECT as a
subquery, so the audience is evaluated in the same statement, on the day the rule runs (live: a member who
became a woman's-day recipient yesterday gets today's greeting). The festival keeps the audience as a plain id
(no foreign key into an upper app's table); the audiences app refuses to delete an audience a festival uses.
Without a resolver (audiences not installed) or when the audience is gone, the restricted rule reaches nobody
and says so in the daily job's warnings, rather than greeting everyone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from . import calendar as care_calendar
from .models import Festival, FestivalCalendar


@dataclass(frozen=True)
class AudienceResolver:
    """What care needs of a saved audience: its member ids on a day (a queryset of ids, evaluated in SQL, or
    None when the audience does not exist) and its name (None: no such audience)."""

    members: Callable[[int, dt.date], QuerySet | None]
    name: Callable[[int], str | None]


_resolver: list[AudienceResolver] = []


def register_audience_resolver(resolver: AudienceResolver) -> None:
    """Called by the audiences app (AppConfig.ready); a second call replaces the first."""
    _resolver[:] = [resolver]


def audience_member_ids(audience_id: int, day: dt.date) -> QuerySet | None:
    """The member ids of a saved audience on `day`; None when it cannot be resolved (no resolver, deleted)."""
    if not _resolver:
        return None
    return _resolver[0].members(int(audience_id), day)


def audience_name(audience_id: int | None) -> str | None:
    if audience_id is None or not _resolver:
        return None
    return _resolver[0].name(int(audience_id))


# ------------------------------------------------------------------------------------------------- dates


@dataclass(frozen=True)
class FestivalDay:
    festival: Festival
    on: dt.date

    @property
    def code(self) -> str:
        return self.festival.code


def festival_date(festival: Festival, year: int) -> dt.date | None:
    """The festival's solar date in `year` (care.calendar's conversion); None outside the lunar calendar's data
    (calendar_warnings says so) or for a day the year lacks (29 February in a common year: the 28th)."""
    if festival.calendar == FestivalCalendar.LUNAR:
        return care_calendar.lunar_festival_date(year, festival.month, festival.day)
    return care_calendar.solar_festival_date(year, festival.month, festival.day)


def active_festivals() -> list[Festival]:
    return list(Festival.objects.filter(active=True).order_by("pk"))


def festival_days_between(start: dt.date, end: dt.date, festivals: list[Festival] | None = None
                          ) -> list[FestivalDay]:
    """The active festivals' days from `start` to `end` inclusive (across a year end), in date order."""
    rows = active_festivals() if festivals is None else festivals
    out = []
    # a lunar year starting in year Y ends in Y + 1's January or February: 腊八 (12/8) of lunar 2026 is 2027-01-15
    for year in range(start.year - 1, end.year + 1):
        for festival in rows:
            on = festival_date(festival, year)
            if on is not None and start <= on <= end:
                out.append(FestivalDay(festival, on))
    return sorted(out, key=lambda d: (d.on, d.festival.pk))


def next_date(festival: Festival, today: dt.date) -> dt.date | None:
    """The festival's next day on or after `today` (this year or next), for the list page."""
    days = [festival_date(festival, year) for year in (today.year - 1, today.year, today.year + 1)]
    return min((on for on in days if on is not None and on >= today), default=None)


def festival_choices() -> list[tuple[str, str]]:
    """(code, name) of every festival, for the care settings' "holidays" (the greeting's festivals)."""
    return list(Festival.objects.order_by("pk").values_list("code", "name"))
