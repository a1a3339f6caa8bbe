"""Time every care rule on the benchmark data set, then roll everything back (the database is left as it was).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench
    flock /tmp/bench.lock .venv/bin/python bench/bench_care_rules.py [--day YYYY-MM-DD] [--fake-segments]
        [--first-run] [--rebuild-tables] [--new-receipts N] [--explain RULE]

Runs the rules twice: on `day` as a first run (with --first-run: no task and no daily run in the table, so
every dormant and sleeping member gets their task at once and the monthly call fires), then on the next day
as the daily job would (the first day recorded as run), after posting --new-receipts receipts on that day
(copies of the receipts, with their lines, of a week before). Before each run the rules' incremental tables
(care.rules.incremental: consumable days and cycles, clerk visits) are brought up to date and timed on their
own line; --rebuild-tables forgets their cursors first, so the one-off build from every receipt is timed. The
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


def post_copies(day: dt.date, count: int) -> int:
    """Receipts (with their lines) on `day`: copies of `count` sale receipts of a week before."""
    from django.db import connection

    week_before = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(), tzinfo=dt.UTC) - dt.timedelta(hours=8)
    with connection.cursor() as cur:
        cur.execute("""
            CREATE TEMP TABLE bench_copies ON COMMIT DROP AS
            SELECT id AS old_id, nextval(pg_get_serial_sequence('sales_receipt', 'id')) AS new_id FROM sales_receipt
            WHERE sold_at >= %s AND sold_at < %s AND original_id IS NULL AND member_id IS NOT NULL
            ORDER BY id LIMIT %s""", [week_before, week_before + dt.timedelta(days=1), count])
        cur.execute("""
            INSERT INTO sales_receipt (id, number, store_id, clerk_id, member_id, card_number, sold_at,
                                       total_full_price, total_paid, is_group_purchase, member_signed, source, tier,
                                       birthday_privilege, points_earned, points_redeemed, points_offset, posted_at,
                                       late_upload)
            SELECT c.new_id, 'RB' || r.id, store_id, clerk_id, member_id, card_number, sold_at + interval '7 days',
                   total_full_price, total_paid, is_group_purchase, member_signed, source, tier, birthday_privilege,
                   points_earned, points_redeemed, points_offset, now(), FALSE
            FROM bench_copies c JOIN sales_receipt r ON r.id = c.old_id""")
        posted = cur.rowcount
        cur.execute("""
            INSERT INTO sales_receiptline (receipt_id, product_id, quantity, full_price, paid_amount, on_promotion,
                                           birthday_items)
            SELECT c.new_id, l.product_id, l.quantity, l.full_price, l.paid_amount, l.on_promotion, l.birthday_items
            FROM bench_copies c JOIN sales_receiptline l ON l.receipt_id = c.old_id""")
    return posted


def refresh_tables(day: dt.date, config: dict) -> list[list[object]]:
    from membercare.care.rules import incremental

    rows = []
    started = time.perf_counter()
    how = incremental.refresh_consumable_cycles(day, int(config["rules"]["replenishment"].get("history_days", 365)))
    rows.append([f"  tables: consumable days + cycles ({how})", "", f"{time.perf_counter() - started:.2f}"])
    started = time.perf_counter()
    how = incremental.refresh_clerk_visits()
    rows.append([f"  tables: clerk visits ({how})", "", f"{time.perf_counter() - started:.2f}"])
    return rows


def explain(code: str, day: dt.date, config: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the rule runs (the rule's work is kept)."""
    from django.db import connection

    from membercare.care.rules import RULES

    statements: list[tuple[str, object]] = []

    def wrapper(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        if sql.lstrip().upper().startswith(("INSERT", "WITH", "SELECT", "DELETE")) and "EXPLAIN" not in sql:
            with connection.cursor() as cur:
                cur.execute("SAVEPOINT bench_explain")
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
            statements.append((sql, plan))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        RULES[code](day, config)
    for sql, plan in statements:
        print("-" * 100)
        print(" ".join(sql.split())[:600])
        print(plan)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", default="")
    parser.add_argument("--fake-segments", action="store_true")
    parser.add_argument("--first-run", action="store_true", help="empty the tasks and daily runs first")
    parser.add_argument("--rebuild-tables", action="store_true", help="time the one-off build of the rule tables")
    parser.add_argument("--new-receipts", type=int, default=10000, help="receipts posted on the second day")
    parser.add_argument("--explain", default="", help="a rule: EXPLAIN ANALYZE its statements on the second day")
    args = parser.parse_args()
    setup_django()
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from membercare.care.config import care_config
    from membercare.care.models import CareCursor, DailyRun, MemberSegments, Task
    from membercare.care.rules import RULES, incremental

    config = care_config()
    with transaction.atomic():
        filled = None
        if args.fake_segments or not MemberSegments.objects.exists():
            probe = dt.date.fromisoformat(args.day) if args.day else timezone.localdate()
            filled = fake_segments(probe)
        day = (dt.date.fromisoformat(args.day) if args.day
               else MemberSegments.objects.aggregate(d=Max("last_purchase_on"))["d"] + dt.timedelta(days=1))
        print(f"day {day}; members with segments {MemberSegments.objects.count():,}"
              + (f" (filled in {filled:.1f} s)" if filled is not None else ""), flush=True)
        if args.first_run:
            started = time.perf_counter()
            with connection.cursor() as cursor:  # TRUNCATE: no deferred checks queued for the deleted rows
                cursor.execute(f"TRUNCATE {Task._meta.db_table}, {DailyRun._meta.db_table} CASCADE")
            print(f"tasks and daily runs emptied in {time.perf_counter() - started:.1f} s (rolled back)", flush=True)
        if args.rebuild_tables:
            CareCursor.objects.filter(name__in=[incremental.DAYS_CURSOR, incremental.CYCLES_CURSOR,
                                                incremental.VISITS_CURSOR]).delete()
        rows = []
        pre: list[list[list[object]]] = [[], []]
        totals = [0.0, 0.0]
        counts: list[dict[str, int]] = [{}, {}]
        for run_index, run_day in enumerate((day, day + dt.timedelta(days=1))):
            if run_index:
                DailyRun.objects.update_or_create(day=day, defaults={
                    "started_at": timezone.now(), "steps": {f"rule:{c}": {"count": 0} for c in RULES}})
                started = time.perf_counter()
                posted = post_copies(run_day, args.new_receipts)
                print(f"{posted:,} receipts posted on {run_day} in {time.perf_counter() - started:.1f} s", flush=True)
                if args.explain:
                    explain(args.explain, run_day, config)
            with transaction.atomic():
                pre[run_index] = refresh_tables(run_day, config)
            totals[run_index] += sum(float(r[2]) for r in pre[run_index])
            for code, fn in RULES.items():
                started = time.perf_counter()
                with transaction.atomic():
                    counts[run_index][code] = fn(run_day, config)
                    with connection.cursor() as cursor:  # what the step's commit would check (deferred)
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                elapsed = time.perf_counter() - started
                totals[run_index] += elapsed
                if run_index == 0:
                    rows.append([code, counts[0][code], f"{elapsed:.2f}"])
                else:
                    rows[list(RULES).index(code)] += [counts[1][code], f"{elapsed:.2f}"]
        rows = [[p0[0], "", p0[2], "", p1[2]] for p0, p1 in zip(*pre, strict=True)] + rows
        rows.append(["total", sum(counts[0].values()), f"{totals[0]:.2f}", sum(counts[1].values()),
                     f"{totals[1]:.2f}"])
        print(table(["rule", f"{day} tasks", "s", f"{day + dt.timedelta(days=1)} tasks", "s"], rows))
        print(f"tasks in the table: {Task.objects.count():,} (rolled back)")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
