"""Local days as time ranges: the one place that turns dates into aware datetimes for queries."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after `last`) as aware datetimes in the local zone (Asia/Shanghai)."""
    tz = timezone.get_default_timezone()
    return (dt.datetime.combine(first, dt.time(0), tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tz))
