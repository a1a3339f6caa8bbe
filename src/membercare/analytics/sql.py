"""SQL helpers shared by the analytics queries: the same statement on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from membercare.core import days
from membercare.core.sql import execute, fetch, lit, localday, pg, zone

# execute, fetch and the dialect helpers are core.sql's: analytics modules use them as sql.<name>
__all__ = ["add_months", "as_date", "cents", "day_bounds", "execute", "fetch", "lit", "localday", "month_index",
           "month_start", "pg", "placeholders", "ts", "zone"]


def cents(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


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
