"""SQL helpers shared by the analytics queries: the same statement on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.conf import settings
from django.db import connection

from membercare.core import days


def pg() -> bool:
    return connection.vendor == "postgresql"


def zone() -> str:
    name = settings.TIME_ZONE
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise ValueError(f"unexpected TIME_ZONE {name!r}")
    return name


def _offset_minutes() -> int:
    """SQLite has no time zones: the zone's current UTC offset (exact for zones without DST, like Shanghai)."""
    offset = dt.datetime.now(zoneinfo.ZoneInfo(zone())).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 60)


def localday(col: str) -> str:
    """The local calendar day of a timestamp column."""
    if pg():
        return f"(({col}) AT TIME ZONE '{zone()}')::date"
    return f"date({col}, '{_offset_minutes():+d} minutes')"


def cents(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


def lit(day: dt.date) -> str:
    """A date literal (built from a date object: nothing to escape)."""
    return f"DATE '{day.isoformat()}'" if pg() else f"'{day.isoformat()}'"


def month_index(col: str) -> str:
    """year * 12 + month of a date column (months between two dates = the difference)."""
    if pg():
        return f"(CAST(EXTRACT(YEAR FROM {col}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {col}) AS INTEGER))"
    # %% because the query runs with parameters (Django turns %% into %; its debug SQL log formats with %)
    return f"(CAST(strftime('%%Y', {col}) AS INTEGER) * 12 + CAST(strftime('%%m', {col}) AS INTEGER))"


def month_start(col: str) -> str:
    if pg():
        return f"CAST(date_trunc('month', {col}) AS date)"
    return f"strftime('%%Y-%%m-01', {col})"  # run with parameters, as month_index


def ts(value: dt.datetime):
    """An aware datetime as a raw-SQL parameter (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def execute(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def as_date(value) -> dt.date | None:
    """SQLite returns dates from raw SQL as text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of `first`, start of the day after `last`) in the local zone (core.days.day_bounds)."""
    return days.day_bounds(first, last)


def placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
