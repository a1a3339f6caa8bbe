"""Raw SQL on the default connection: execute / fetch / temp tables, and the dialect helpers both run on
(`fetch` reads from the replica inside core.replica.from_replica()).

The same statement runs on PostgreSQL and SQLite: `localday` turns a timestamp column into the local
(settings.TIME_ZONE) day, `lit` writes a date literal, `pg()` says which one we are on. The hand-written
statements of the checkout's hot path keep their own helpers (loyalty.rows).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection, connections

from .replica import read_alias


def pg() -> bool:
    return connection.vendor == "postgresql"


def zone() -> str:
    """settings.TIME_ZONE, checked to be safe inside a SQL literal."""
    name = settings.TIME_ZONE
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise ValueError(f"unexpected TIME_ZONE {name!r}")
    return name


def offset_minutes() -> int:
    """SQLite has no time zones: the zone's current UTC offset (exact for zones without DST, like Shanghai)."""
    offset = dt.datetime.now(zoneinfo.ZoneInfo(zone())).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 60)


def localday(col: str) -> str:
    """The local calendar day of a timestamp column."""
    if pg():
        return f"(({col}) AT TIME ZONE '{zone()}')::date"
    return f"date({col}, '{offset_minutes():+d} minutes')"


def lit(day: dt.date) -> str:
    """A date literal (built from a date object: nothing to escape)."""
    return f"DATE '{day.isoformat()}'" if pg() else f"'{day.isoformat()}'"


def execute(sql: str, params: Sequence[Any] = (), *, log: logging.Logger | None = None) -> int:
    """Run one statement; returns the cursor's rowcount. With `log` at DEBUG, each statement's time is logged."""
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        if log is not None and log.isEnabledFor(logging.DEBUG):
            log.debug("%.2f s %s rows: %s", time.perf_counter() - started, cur.rowcount, " ".join(sql.split())[:150])
        return cur.rowcount


def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run one query; returns every row (from the replica inside core.replica.from_replica())."""
    with connections[read_alias()].cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def temp_table(name: str, select: str, params: Sequence[Any] = (), *, log: logging.Logger | None = None) -> int:
    """(Re)create the temporary table `name` from `select` (dropped at commit on PostgreSQL, and analysed
    there so the planner knows its size); returns the rows it got."""
    execute(f"DROP TABLE IF EXISTS {name}", log=log)
    count = execute(f"CREATE TEMP TABLE {name} {'ON COMMIT DROP ' if pg() else ''}AS {select}", params, log=log)
    if pg():
        execute(f"ANALYZE {name}", log=log)
    return count
