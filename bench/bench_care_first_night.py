"""Benchmark: the care segments' first night on a freshly loaded chain (issue 20).

    createdb -h 127.0.0.1 -U postgres membercare_firstnight
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_firstnight $(.venv/bin/python bench/common.py)
    .venv/bin/membercare migrate && .venv/bin/membercare bench_generate --members 100000 --receipts 1000000
    .venv/bin/python bench/bench_care_first_night.py [--day YYYY-MM-DD]

A chain's first night after importing its members: the care tables are empty and `VACUUM (ANALYZE)` (as
bench_generate ends, and as autovacuum does on a new installation) has told the planner they hold 0 rows. The
benchmark empties the segments, their history and the cursors, analyses the empty tables, then runs
segments_compute for the day in a transaction it rolls back (the care tables are left empty: the next daily
run is a first night again) and prints each statement over 0.1 s and each stage. Reference in the same run:
the plain query over all receipts per member of bench_care_daily.py. Before the fix the history INSERT was
quadratic in members (it read the table it filled: 100k members 223 s); it must stay linear.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_care_daily import reference_query  # noqa: E402
from common import setup_django, table  # noqa: E402


class Rollback(Exception):
    pass


class Slow(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.rows: list[list[object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        seconds = float(record.args[0]) if record.args else 0.0
        if seconds >= 0.1:
            self.rows.append([f"{seconds:.2f}", str(record.args[2])[:90]])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args()
    setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from membercare.care import segments
    from membercare.care.config import care_config
    from membercare.members.models import Member

    day = args.day or timezone.localdate()
    members = Member.objects.count()
    reference, _n = reference_query(day)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE care_membersegments, care_segmentspan")
        cur.execute("DELETE FROM care_carecursor")
    connection.close()
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE care_membersegments")
        cur.execute("VACUUM ANALYZE care_segmentspan")
    log = logging.getLogger("membercare.care.segments")
    slow = Slow()
    log.addHandler(slow)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    started = time.perf_counter()
    try:
        with transaction.atomic():
            segments.segments_compute(day, care_config())
            raise Rollback
    except Rollback:
        pass
    seconds = time.perf_counter() - started
    print(table(["seconds", "statement"], slow.rows))
    print()
    print(table(["stage", "seconds"], [[k, v] for k, v in segments.TIMINGS.items()]))
    print(f"\n{members:,} members, first night on empty, analysed care tables: segments {seconds:.1f} s; "
          f"reference (one plain query over all receipts) {reference:.1f} s ({seconds / reference:.1f}x)")


if __name__ == "__main__":
    main()
