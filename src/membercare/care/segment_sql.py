"""SQL pieces the steps of the daily segments share (beside core.sql's): day differences, casts, money in
cents, and statements logged with their time at DEBUG on the segments' logger."""

from __future__ import annotations

import functools
import logging

from membercare.core.sql import execute, pg, temp_table

logger = logging.getLogger("membercare.care.segments")  # the step's log, as before the split

run = functools.partial(execute, log=logger)  # one statement: its rowcount
temp = functools.partial(temp_table, log=logger)  # (re)create a temporary table from a SELECT


def days_between(later: str, earlier: str) -> str:
    if pg():
        return f"({later} - {earlier})"
    return f"CAST(ROUND(julianday({later}) - julianday({earlier})) AS INTEGER)"


def as_float(expr: str) -> str:
    return f"CAST({expr} AS {'double precision' if pg() else 'REAL'})"


def is_distinct(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if pg() else f"{a} IS NOT {b}"


def cents(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


def money(cents: str) -> str:
    return f"CAST({cents} AS numeric) / 100" if pg() else f"{cents} / 100.0"
