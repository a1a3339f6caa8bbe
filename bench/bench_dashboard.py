"""Benchmark: every analytics dashboard view on the 1,000,000-member / 10,000,000-receipt data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench
    .venv/bin/membercare migrate analytics && .venv/bin/membercare analytics_refresh     # first build
    flock /tmp/bench.lock .venv/bin/python bench/bench_dashboard.py [--repeat 5] [--fake-history]

Calls each view function (RequestFactory; no session rows written) as the chain's VIP specialist (HQ), a
store manager and a clerk from the data set, renders the page, and prints p50 / max per view against the
target (1 s for the whole chain). The data set has no segment history (the care daily job has not run on it):
--fake-history first fills the analytics tables that come from it (a year of daily segment snapshots,
13 months of migration, cohorts, a year of care tasks per clerk) with synthetic rows, in the analytics
tables only, so that their reads are measured at a realistic volume; --drop-fake removes them again.
--campaigns adds, for the run only (rolled back after), a coupon batch of this month issued to --coupons
members of the main brand with a 10 % hold-out, and computes its results as the nightly task does, so the
campaign tile shows a real result.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, summary_ms, table  # noqa: E402

TARGET_MS = 1000.0


def fake_history() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT MAX(day) FROM analytics_segmentday")
        last = cur.fetchone()[0]
        cur.execute("DELETE FROM analytics_segmentday WHERE day < %s", [last])
        cur.execute("""
            INSERT INTO analytics_segmentday (day, store_id, dimension, value, members)
            SELECT d::date, s.id, v.dim, v.val, 50 + (s.id * 7 + v.n) %% 400
            FROM generate_series(%s::date - 365, %s::date - 1, interval '1 day') d
            CROSS JOIN org_store s
            CROSS JOIN (VALUES ('lifecycle', 'new', 1), ('lifecycle', 'active', 2), ('lifecycle', 'dormant', 3),
                               ('lifecycle', 'sleeping', 4), ('lifecycle', 'lost', 5), ('lifecycle', 'prospect', 6),
                               ('spend_class', 'A', 7), ('spend_class', 'B', 8), ('spend_class', 'C', 9),
                               ('pyramid', 'key', 10), ('pyramid', 'major', 11), ('pyramid', 'potential', 12),
                               ('pyramid', 'target', 13), ('follow_up', 'A', 14), ('follow_up', 'B', 15),
                               ('follow_up', 'C', 16), ('follow_up', 'D', 17), ('high_value', '1', 18),
                               ('high_loyalty', '1', 19), ('high_ticket', '1', 20), ('low_ticket_high_freq', '1', 21),
                               ('low_ticket_low_freq', '1', 22), ('sleeping', '1', 23), ('churning', '1', 24),
                               ('repurchase_12m', 'buyers', 25), ('repurchase_12m', 'repeat', 26),
                               ('members', 'all', 27), ('tier', 'elite', 28), ('tier', 'diamond', 29),
                               ('tier', 'accumulation', 30), ('points', 'balance', 31), ('points', 'holders', 32))
                 AS v(dim, val, n)""", [last, last])
        cur.execute("DELETE FROM analytics_segmentmove")
        cur.execute("""
            INSERT INTO analytics_segmentmove (from_day, to_day, store_id, dimension, from_value, to_value, members)
            SELECT (date_trunc('month', %s::date) - (m || ' month')::interval)::date,
                   (date_trunc('month', %s::date) - ((m - 1) || ' month')::interval)::date,
                   s.id, 'lifecycle', a, b, 10 + (s.id + m) %% 90
            FROM generate_series(1, 13) m CROSS JOIN org_store s
            CROSS JOIN unnest(ARRAY['', 'new', 'active', 'dormant', 'sleeping', 'lost']) a
            CROSS JOIN unnest(ARRAY['new', 'active', 'dormant', 'sleeping', 'lost']) b""", [last, last])
        cur.execute("DELETE FROM analytics_cohort")
        cur.execute("""
            INSERT INTO analytics_cohort (as_of, store_id, cohort, "offset", members)
            SELECT date_trunc('month', %s::date)::date, s.id,
                   (date_trunc('month', %s::date) - (c || ' month')::interval)::date, k, 100 / (k + 1)
            FROM org_store s CROSS JOIN generate_series(1, 24) c CROSS JOIN generate_series(0, 12) k
            WHERE k < c""", [last, last])
        cur.execute("DELETE FROM analytics_taskday")
        cur.execute("""
            INSERT INTO analytics_taskday (store_id, assignee_id, due_on, due, on_time, late, open)
            SELECT s.store_id, s.staff_id, d::date, 20, 14, 3, 3
            FROM generate_series(%s::date - 365, %s::date, interval '1 day') d
            CROSS JOIN org_staff_stores s""", [last, last])


def drop_fake() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM analytics_segmentday WHERE day < (SELECT MAX(day) FROM analytics_segmentday)")
        for name in ("analytics_segmentmove", "analytics_cohort", "analytics_taskday"):
            cur.execute(f"DELETE FROM {name}")


def add_campaign(coupons: int) -> None:
    """A coupon batch valid this month, issued to `coupons` random members (and a hold-out of a tenth), written
    with INSERT ... SELECT inside the caller's transaction."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from membercare.campaigns.models import Coupon, CouponBatch, CouponHoldout, CouponIssue
    from membercare.org.models import Brand

    today, now = timezone.localdate(), timezone.now()
    brand = Brand.objects.filter(parent__isnull=True).order_by("pk").first()
    batch = CouponBatch.objects.create(name="bench 月度券", brand=brand, kind="amount", value=100,
                                       valid_from=today.replace(day=1), valid_to=today + dt.timedelta(days=7),
                                       created_at=now)
    issue = CouponIssue.objects.create(batch=batch, audience={}, holdout_share="0.1", seed="bench",
                                       issued=coupons, held_out=coupons // 10, issued_at=now)
    with connection.cursor() as cur:
        cur.execute("""CREATE TEMP TABLE bench_pick AS SELECT id, row_number() OVER () AS n FROM
                        (SELECT id FROM members_member TABLESAMPLE SYSTEM (20) LIMIT %s) m""",
                    [coupons + coupons // 10])
        cur.execute(f"""INSERT INTO {Coupon._meta.db_table} (batch_id, issue_id, member_id, code, issued_at)
                        SELECT %s, %s, id, 'B' || lpad(n::text, 11, '0'), %s FROM bench_pick WHERE n <= %s""",
                    [batch.pk, issue.pk, now, coupons])
        cur.execute(f"""INSERT INTO {CouponHoldout._meta.db_table} (batch_id, issue_id, member_id)
                        SELECT %s, %s, id FROM bench_pick WHERE n > %s""", [batch.pk, issue.pk, coupons])
        cur.execute("DROP TABLE bench_pick")
        cur.execute(f"ANALYZE {Coupon._meta.db_table}")
    from membercare.analytics.facts import refresh_campaigns

    started = time.perf_counter()
    refresh_campaigns(today)  # the nightly task's part that computes campaign results
    print(f"nightly campaign results: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fake-history", action="store_true")
    parser.add_argument("--drop-fake", action="store_true")
    parser.add_argument("--campaigns", action="store_true")
    parser.add_argument("--coupons", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()

    from django.db import connection
    from django.test import RequestFactory

    from membercare.org.models import Role, Staff, Store
    from membercare.web.analytics import views as v

    if args.drop_fake:
        drop_fake()
        return
    if args.fake_history:
        started = time.perf_counter()
        fake_history()
        print(f"fake history written in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT COUNT(*) FROM members_member), (SELECT COUNT(*) FROM sales_receipt), "
                    "(SELECT COUNT(*) FROM analytics_storeday), (SELECT COUNT(*) FROM analytics_segmentday)")
        members, receipts, store_days, segment_days = cur.fetchone()
    print(f"{members:,} members, {receipts:,} receipts; facts: {store_days:,} store days, "
          f"{segment_days:,} segment snapshot rows")

    hq = Staff.objects.filter(role=Role.SPECIALIST, is_active=True).first()
    manager = Staff.objects.filter(role=Role.MANAGER, is_active=True).first()
    clerk = Staff.objects.filter(role=Role.CLERK, is_active=True).first()
    store = Store.objects.order_by("pk").first()
    factory = RequestFactory()

    cases = [
        ("HQ chain, this month", hq, v.dashboard, "/analytics/", {"period": "this_month"}),
        ("HQ chain, last 12 months", hq, v.dashboard, "/analytics/", {"period": "last_12m"}),
        ("HQ chain, this year", hq, v.dashboard, "/analytics/", {"period": "this_year"}),
        ("HQ one brand, last 90 days", hq, v.dashboard, "/analytics/", {"period": "last_90",
                                                                          "brand": str(store.brand_id)}),
        ("HQ one region, last 12 months", hq, v.dashboard, "/analytics/", {"period": "last_12m",
                                                                             "region": str(store.region_id)}),
        ("HQ one store, last 12 months", hq, v.dashboard, "/analytics/", {"period": "last_12m",
                                                                            "store": str(store.pk)}),
        ("HQ chain .xlsx of the figures, 12 months", hq, v.dashboard_export, "/analytics/export/",
         {"period": "last_12m"}),
        ("HQ migration and cohorts", hq, v.migration, "/analytics/migration/", {}),
        ("manager dashboard, last 12 months", manager, v.dashboard, "/analytics/", {"period": "last_12m"}),
        ("manager store monthly report", manager, v.store_report, "/analytics/reports/store/", {}),
        ("clerk own work, last 12 months", clerk, v.dashboard, "/analytics/", {"period": "last_12m"}),
    ]
    rows = []
    from django.db import transaction

    class _RollBack(Exception):
        pass

    try:
        with transaction.atomic():
            if args.campaigns:
                started = time.perf_counter()
                add_campaign(args.coupons)
                print(f"campaign added for this run: {args.coupons:,} coupons, hold-out {args.coupons // 10:,} "
                      f"({time.perf_counter() - started:.1f} s; rolled back at the end)")
            measure(args, cases, factory, rows)
            raise _RollBack
    except _RollBack:
        pass
    print(table(["view", "p50 ms", "max ms", f"p50 < {TARGET_MS:.0f} ms"], rows))


def measure(args, cases, factory, rows) -> None:
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.utils import translation

    with translation.override("zh-hans"):
        for label, user, view, path, params in cases:
            times = []
            for _i in range(args.repeat):
                request = factory.get(path, params)
                request.user = user
                request.session = {}
                request._messages = FallbackStorage(request)
                request.htmx = False
                started = time.perf_counter()
                response = view(request)
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
                else:
                    response.content  # noqa: B018 (rendered)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (label, response.status_code)
            s = summary_ms(times)
            rows.append([label, f"{s['p50']:.0f}", f"{s['max']:.0f}", "yes" if s["p50"] < TARGET_MS else "NO"])


if __name__ == "__main__":
    main()
