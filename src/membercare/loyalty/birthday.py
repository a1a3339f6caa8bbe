"""The member's birthday month for the birthday privilege (solar, or the lunar birthday's month when the member
celebrates it): read by the privilege at checkout, its exceptions and its audit."""

from __future__ import annotations

import datetime as dt

from membercare.members.models import Member
from membercare.members.validation import lunar_birthday_in_year


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
