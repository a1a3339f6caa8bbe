"""The member's birthday month for the birthday privilege (solar, or the lunar birthday's month when the member
celebrates it): read by the privilege at checkout, its exceptions and its audit."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils import formats, translation
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.members.validation import lunar_birthday_in_year

LUNAR_MONTHS = ("正月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "冬月", "腊月")
_TENS = ("初", "十", "廿", "三")
_DIGITS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def birthday_period(member: Member, on: dt.date) -> str | None:
    """'YYYY-MM' when `on` is in the member's birthday month (the lunar birthday's month when the member
    celebrates it), else None."""
    if member.celebrates_lunar and member.lunar_birthday_month:
        for year in (on.year, on.year - 1):
            solar = lunar_birthday_in_year(member, year)
            if solar and (solar.year, solar.month) == (on.year, on.month):
                return f"{solar.year}-{solar.month:02d}"
        return None
    return f"{on.year}-{on.month:02d}" if member.birthday.month == on.month else None


def lunar_day_name(day: int) -> str:
    """初一 … 初十, 十一 … 十九, 二十, 廿一 … 廿九, 三十."""
    if day == 10:
        return "初十"
    if day == 20:
        return "二十"
    if day == 30:
        return "三十"
    return _TENS[day // 10] + _DIGITS[day % 10 - 1]


def lunar_date_label(month: int, day: int, leap: bool = False) -> str:
    """A lunar date as people say it: 农历三月初十, 农历闰四月廿三 (in English: lunar month 3, day 10)."""
    if (translation.get_language() or "").lower().startswith("zh"):
        return f"农历{'闰' if leap else ''}{LUNAR_MONTHS[month - 1]}{lunar_day_name(day)}"
    if leap:
        return _("lunar leap month %(month)d, day %(day)d") % {"month": month, "day": day}
    return _("lunar month %(month)d, day %(day)d") % {"month": month, "day": day}


@dataclass(frozen=True)
class BirthdayMonth:
    """A birthday month: its first and last day and, for a lunar birthday, the birthday's solar date in it."""

    first: dt.date
    last: dt.date
    lunar_birthday: dt.date | None = None


def _month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_birthday_month(member: Member, on: dt.date) -> BirthdayMonth | None:
    """The birthday month that holds `on` or comes next, as birthday_period counts it (None when the lunar
    calendar has no data for the years around `on`)."""
    if member.celebrates_lunar and member.lunar_birthday_month:
        found = []
        for year in (on.year - 1, on.year, on.year + 1):
            solar = lunar_birthday_in_year(member, year)
            if solar is not None and _month_of(solar)[1] >= on:
                found.append(solar)
        if not found:
            return None
        solar = min(found)
        return BirthdayMonth(*_month_of(solar), lunar_birthday=solar)
    year = on.year if member.birthday.month >= on.month else on.year + 1
    return BirthdayMonth(*_month_of(dt.date(year, member.birthday.month, 1)))


def not_birthday_month_text(member: Member, on: dt.date) -> str:
    """The refusal of the privilege outside the birthday month, saying when it would be given: the dates of the
    next birthday month and, for a member who celebrates the lunar birthday, that birthday and its solar date."""
    month = next_birthday_month(member, on)
    if month is None:
        return _("It is not the member's birthday month.")

    def day(d: dt.date) -> str:
        return formats.date_format(d, "DATE_FORMAT")

    if month.lunar_birthday is not None:
        return _("It is not the member's birthday month. The member celebrates the lunar birthday (%(lunar)s), "
                 "which falls on %(date)s: the birthday privilege can be given from %(start)s to %(end)s, at other "
                 "times only with an exception the VIP specialist approved.") % {
            "lunar": lunar_date_label(member.lunar_birthday_month, member.lunar_birthday_day,
                                      member.lunar_birthday_leap),
            "date": day(month.lunar_birthday), "start": day(month.first), "end": day(month.last)}
    return _("It is not the member's birthday month: the birthday privilege can be given from %(start)s to "
             "%(end)s, at other times only with an exception the VIP specialist approved.") % {
        "start": day(month.first), "end": day(month.last)}
