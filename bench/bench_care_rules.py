"""Time every care rule on the benchmark data set, then roll everything back (the database is left as it was).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench
    flock /tmp/bench.lock .venv/bin/python bench/bench_care_rules.py [--day YYYY-MM-DD] [--fake-segments]

Runs the rules twice: on `day` as a first run ever (every dormant and sleeping member gets their task at once,
the monthly call fires), then on the next day as the daily job would (the first day recorded as run). The
rules read care.MemberSegments; when it is empty (or with --fake-segments) the script fills it, inside the
same rolled-back transaction, with first and last purchase days from the receipts and random follow-up
classes (A 20 %, B 30 %, C 50 %) and churning flags (5 %), so the rules can be timed without the segment step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from common import setup_django, table


def fake_segments(day: dt.date) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM care_membersegments")
        cursor.execute("""
            INSERT INTO care_membersegments (member_id, computed_on, lifecycle, spend_class, rfm_r, rfm_f, rfm_m,
                pyramid, follow_up, high_value, high_loyalty, high_ticket, low_ticket_high_freq, low_ticket_low_freq,
                sleeping, churning, first_purchase_on, last_purchase_on, purchase_days_12m, spend_12m, receipts_6m,
                spend_6m, purchase_days_3m)
            SELECT m.id, %s, 'active', '', 0, 0, 0, '', CASE WHEN x.r < 0.2 THEN 'A' WHEN x.r < 0.5 THEN 'B'
                   ELSE 'C' END, false, false, false, false, false, false, random() < 0.05, s.first_d, s.last_d,
                   0, 0, 0, 0, 0
            FROM members_member m CROSS JOIN LATERAL (SELECT random() + m.id * 0 AS r) x
            LEFT JOIN (SELECT member_id, MIN((sold_at AT TIME ZONE 'Asia/Shanghai')::date) AS first_d,
                              MAX((sold_at AT TIME ZONE 'Asia/Shanghai')::date) AS last_d
                       FROM sales_receipt WHERE member_id IS NOT NULL AND original_id IS NULL GROUP BY member_id) s
                   ON s.member_id = m.id
        """, [day])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", default="")
    parser.add_argument("--fake-segments", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from membercare.care.config import care_config
    from membercare.care.models import DailyRun, MemberSegments, Task
    from membercare.care.rules import RULES

    config = care_config()
    with transaction.atomic():
        filled = None
        if args.fake_segments or not MemberSegments.objects.exists():
            probe = dt.date.fromisoformat(args.day) if args.day else timezone.localdate()
            filled = fake_segments(probe)
        day = (dt.date.fromisoformat(args.day) if args.day
               else MemberSegments.objects.aggregate(d=Max("last_purchase_on"))["d"] + dt.timedelta(days=1))
        print(f"day {day}; members with segments {MemberSegments.objects.count():,}"
              + (f" (filled in {filled:.1f} s)" if filled is not None else ""))
        rows = []
        totals = [0.0, 0.0]
        counts: list[dict[str, int]] = [{}, {}]
        for run_index, run_day in enumerate((day, day + dt.timedelta(days=1))):
            if run_index:
                DailyRun.objects.update_or_create(day=day, defaults={
                    "started_at": timezone.now(), "steps": {f"rule:{c}": {"count": 0} for c in RULES}})
            for code, fn in RULES.items():
                started = time.perf_counter()
                with transaction.atomic():
                    counts[run_index][code] = fn(run_day, config)
                elapsed = time.perf_counter() - started
                totals[run_index] += elapsed
                if run_index == 0:
                    rows.append([code, counts[0][code], f"{elapsed:.2f}"])
                else:
                    rows[list(RULES).index(code)] += [counts[1][code], f"{elapsed:.2f}"]
        rows.append(["total", sum(counts[0].values()), f"{totals[0]:.2f}", sum(counts[1].values()),
                     f"{totals[1]:.2f}"])
        print(table(["rule", f"{day} tasks", "s", f"{day + dt.timedelta(days=1)} tasks", "s"], rows))
        print(f"tasks in the table: {Task.objects.count():,} (rolled back)")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
