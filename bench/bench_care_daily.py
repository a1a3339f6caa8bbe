"""Benchmark: the daily care job (segments and task rules) beside one plain SQL query over all receipts.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench   # bench_generate's data set
    flock /tmp/bench.lock .venv/bin/python bench/bench_care_daily.py [--day YYYY-MM-DD] [--rebuild]

In one process:
(a) the reference: one plain SQL query computing per member the frequency (distinct local purchase days),
    recency, age and total spend over the whole receipts table;
(b) `--rebuild` only: the one-off build of the purchase-day table from every receipt (the first daily run
    does it);
(c) run 1: care_daily(day - 1, force=True), committed: brings segments, statistics and history to the
    day before;
(d) run 2, the steady state: --new-receipts receipts are posted on `day` (copies of receipts of a week
    before, new numbers), then care_daily(day, force=True); everything of run 2 is rolled back afterwards,
    so the data set is left as run 1 left it.
Each run prints its steps (DailyRun.steps: seconds and count per step), the segment step's stages, and the
total.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, table  # noqa: E402


class Rollback(Exception):
    pass


def reference_query(day: dt.date) -> tuple[float, int]:
    from django.conf import settings
    from django.db import connection

    sql = f"""
        SELECT COUNT(*), SUM(frequency) FROM (
          SELECT member_id,
                 COUNT(DISTINCT (sold_at AT TIME ZONE '{settings.TIME_ZONE}')::date) AS frequency,
                 %s::date - MAX((sold_at AT TIME ZONE '{settings.TIME_ZONE}')::date) AS recency,
                 %s::date - MIN((sold_at AT TIME ZONE '{settings.TIME_ZONE}')::date) AS age,
                 SUM(total_paid) AS spend
          FROM sales_receipt WHERE member_id IS NOT NULL
          GROUP BY member_id) per_member"""
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, [day, day])
        members, _frequency = cur.fetchone()
    return time.perf_counter() - started, members


def post_copies(day: dt.date, count: int) -> int:
    """Receipts on `day`: copies of `count` receipts of a week before (new numbers, same members)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO sales_receipt (number, store_id, clerk_id, member_id, card_number, sold_at, total_full_price,
                                       total_paid, is_group_purchase, member_signed, source, tier,
                                       birthday_privilege, points_earned, points_redeemed, points_offset, posted_at,
                                       late_upload)
            SELECT 'CB' || id, store_id, clerk_id, member_id, card_number, sold_at + interval '7 days',
                   total_full_price, total_paid, is_group_purchase, member_signed, source, tier, birthday_privilege,
                   points_earned, points_redeemed, points_offset, now(), FALSE
            FROM sales_receipt
            WHERE sold_at >= %s AND sold_at < %s AND original_id IS NULL AND member_id IS NOT NULL
            ORDER BY id LIMIT %s""",
                    [dt.datetime.combine(day - dt.timedelta(days=7), dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=8),
                     dt.datetime.combine(day - dt.timedelta(days=6), dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=8),
                     count])
        return cur.rowcount


def run_rows(run) -> list[list[object]]:  # noqa: ANN001
    from membercare.care import segments

    rows = []
    for name, step in run.steps.items():
        rows.append([name, f"{step['seconds']:.1f}", step["count"]])
        if name == "segments":
            for stage, seconds in segments.TIMINGS.items():
                rows.append([f"  · {stage}", seconds if isinstance(seconds, str) else f"{seconds:.1f}", ""])
    total = sum(step["seconds"] for step in run.steps.values())
    rows.append(["total", f"{total:.1f}", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", default="", help="the steady-state day (default: today)")
    parser.add_argument("--new-receipts", type=int, default=10000, help="receipts posted on the day of run 2")
    parser.add_argument("--rebuild", action="store_true", help="time the one-off build of the purchase days")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from membercare.care import segments
    from membercare.care.daily import care_daily
    from membercare.members.models import Member

    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL=postgres://...)")
    day = dt.date.fromisoformat(args.day) if args.day else timezone.localdate()
    print(f"{Member.objects.count():,} members; day {day}", flush=True)
    summary = []
    if not args.skip_reference:
        seconds, members = reference_query(day)
        print(f"reference query: {seconds:.1f} s ({members:,} members with receipts)", flush=True)
        summary.append(["reference: one query over all receipts", f"{seconds:.1f}"])
    if args.rebuild:
        started = time.perf_counter()
        rows = segments.rebuild_purchase_days()
        seconds = time.perf_counter() - started
        print(f"purchase days built: {rows:,} rows in {seconds:.1f} s", flush=True)
        summary.append(["one-off: purchase-day table from every receipt", f"{seconds:.1f}"])

    started = time.perf_counter()
    run1 = care_daily(day - dt.timedelta(days=1), force=True)
    print(f"\nrun 1: care_daily({day - dt.timedelta(days=1)}, force=True) in {time.perf_counter() - started:.1f} s")
    print(table(["step", "seconds", "count"], run_rows(run1)), flush=True)
    summary.append(["run 1 (day before, committed)", f"{sum(s['seconds'] for s in run1.steps.values()):.1f}"])

    try:
        with transaction.atomic():
            posted = post_copies(day, args.new_receipts)
            started = time.perf_counter()
            run2 = care_daily(day, force=True)
            wall = time.perf_counter() - started
            print(f"\nrun 2: {posted:,} receipts posted on {day}, care_daily({day}, force=True) in {wall:.1f} s")
            print(table(["step", "seconds", "count"], run_rows(run2)), flush=True)
            summary.append(["run 2: the daily job (steady state)",
                            f"{sum(s['seconds'] for s in run2.steps.values()):.1f}"])
            summary.append(["  of which segments", f"{run2.steps['segments']['seconds']:.1f}"])
            raise Rollback
    except Rollback:
        pass
    print()
    print(table(["measure", "seconds"], summary))


if __name__ == "__main__":
    main()
