"""The fact tables: incremental refresh, the ledger's holes, migration, cohorts, and the daily job's step."""

import datetime as dt
from decimal import Decimal

from membercare.analytics import measures
from membercare.analytics.cohorts import cohort_table, migration_matrix
from membercare.analytics.facts import analytics_refresh, refresh_points_days, refresh_store_days
from membercare.analytics.measures import Scope
from membercare.analytics.models import AnalyticsCursor, Cohort, PointsDay, SegmentMove, StoreDay
from membercare.analytics.tasks import analytics_daily as analytics_daily_task
from membercare.care.models import PurchaseDay, SegmentSpan
from membercare.loyalty.models import PointsEntry
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

from .conftest import TODAY, at

MARCH = Scope(None, dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def test_incremental_refresh_rederives_touched_days_only(world):
    analytics_refresh()
    before = {(r.store_id, r.day): r.sales_cents for r in StoreDay.objects.all()}
    Receipt.objects.create(number="r8", store=world.b, member=world.m3, sold_at=at(dt.date(2026, 3, 5), 15),
                           total_full_price=Decimal("100"), total_paid=Decimal("100.00"), tier="diamond")
    MemberFactory(phone="13900000009", home_store=world.b, created_at=at(dt.date(2026, 3, 5)))
    refresh_store_days()
    after = {(r.store_id, r.day): r for r in StoreDay.objects.all()}
    assert after[(world.b.pk, dt.date(2026, 3, 5))].sales_cents == 90000  # r5 800 + r8 100
    assert after[(world.b.pk, dt.date(2026, 3, 5))].new_members == 1
    assert {k: v.sales_cents for k, v in after.items() if k != (world.b.pk, dt.date(2026, 3, 5))} == {
        k: v for k, v in before.items() if k != (world.b.pk, dt.date(2026, 3, 5))}
    refresh_store_days()  # again: the same figures (re-derived, never added twice)
    assert StoreDay.objects.get(store=world.b, day=dt.date(2026, 3, 5)).sales_cents == 90000
    assert measures.sales_summary(MARCH)["net_sales"] == Decimal("3100.00")


def test_points_are_added_once_and_holes_are_filled_later(world):
    refresh_points_days()
    assert PointsDay.objects.get(store=world.a, kind="earn").points == 1000
    # an entry whose transaction had not committed at the last run: an id below the cursor that appears later
    late_id = PointsEntry.objects.order_by("-pk").first().pk + 1
    PointsEntry.objects.create(member=world.m2, kind="earn", points=7, created_at=at(dt.date(2026, 3, 11)))
    PointsEntry.objects.filter(pk=late_id).delete()  # ... not visible yet
    PointsEntry.objects.create(member=world.m2, kind="earn", points=5, created_at=at(dt.date(2026, 3, 11)))
    refresh_points_days()
    assert late_id in AnalyticsCursor.objects.get(name="points_days").holes
    PointsEntry.objects.create(pk=late_id, member=world.m2, kind="earn", points=7, created_at=at(dt.date(2026, 3, 11)))
    refresh_points_days()
    refresh_points_days()
    assert PointsDay.objects.get(store=world.a, day=dt.date(2026, 3, 11), kind="earn").points == 12  # 5 + 7, once
    assert late_id not in AnalyticsCursor.objects.get(name="points_days").holes  # PostgreSQL: other gaps
    assert measures.points_summary(MARCH)["issued"] == 1012


def _spans(member, *spans):
    for lifecycle, start, end in spans:
        SegmentSpan.objects.create(member=member, lifecycle=lifecycle, valid_from=start, valid_to=end)


def test_migration_matrix_and_monthly_churn(world):
    d = dt.date
    a, b, c, e = (MemberFactory(phone=f"1380000000{i}", home_store=world.a) for i in range(4))
    late = MemberFactory(phone="13800000009", home_store=world.b)
    _spans(a, ("dormant", d(2026, 1, 1), d(2026, 2, 10)), ("sleeping", d(2026, 2, 10), None))
    _spans(b, ("new", d(2026, 1, 20), d(2026, 2, 19)), ("active", d(2026, 2, 19), None))
    _spans(c, ("active", d(2026, 1, 1), None))
    _spans(e, ("active", d(2026, 1, 1), d(2026, 2, 15)), ("dormant", d(2026, 2, 15), None))
    _spans(late, ("new", d(2026, 2, 5), None))
    analytics_refresh()
    assert set(SegmentMove.objects.values_list("from_day", flat=True)) == {d(2026, 1, 1), d(2026, 2, 1)}
    assert migration_matrix("lifecycle", d(2026, 2, 1), None) == {
        "dormant": {"sleeping": 1}, "new": {"active": 1}, "active": {"active": 1, "dormant": 1}, "": {"new": 1}}
    assert migration_matrix("lifecycle", d(2026, 2, 1), (world.b.pk,)) == {"": {"new": 1}}
    feb = measures.churn_by_month(Scope(None, d(2026, 2, 1), d(2026, 2, 28)))
    assert feb == [{"month": d(2026, 2, 1), "base": 4, "churned": 1, "rate": Decimal("0.2500")}]
    assert measures.churn_rate(Scope((world.b.pk,), d(2026, 2, 1), d(2026, 2, 28)))["rate"] is None
    analytics_refresh()  # months already stored are not computed again
    assert SegmentMove.objects.filter(from_day=d(2026, 2, 1), dimension="lifecycle").count() == 5  # per store, cell


def test_cohort_retention(world):
    d = dt.date
    for member, days in ((world.m1, [d(2025, 11, 5), d(2025, 12, 10), d(2026, 1, 3)]),
                         (world.m2, [d(2025, 11, 20)]), (world.m3, [d(2025, 12, 1), d(2026, 2, 1), d(2026, 3, 2)])):
        for day in days:
            PurchaseDay.objects.create(member=member, day=day, paid_cents=100, receipts=1)
    analytics_refresh()
    assert set(Cohort.objects.values_list("as_of", flat=True)) == {d(2026, 3, 1)}
    table = cohort_table()
    rows = {r["cohort"]: r for r in table["rows"]}
    assert list(rows) == [d(2025, 12, 1), d(2025, 11, 1)]
    nov, dec = rows[d(2025, 11, 1)], rows[d(2025, 12, 1)]
    assert nov["size"] == 2 and nov["retained"][:4] == [1, 1, 0, None]  # March is not over
    assert nov["rates"][:3] == [Decimal("0.5000"), Decimal("0.5000"), Decimal("0.0000")]
    assert dec["size"] == 1 and dec["retained"][:3] == [0, 1, None]  # m3's 2 March purchase is not counted
    assert [r["size"] for r in cohort_table(store_ids=(world.a.pk,))["rows"]] == [2]


def test_the_nightly_task_brings_the_facts_up_to_date(world):
    assert analytics_daily_task(TODAY.isoformat())["store_days"] > 0
    assert StoreDay.objects.filter(store=world.a).exists()


def test_the_refresh_runs_under_the_debug_sql_log(world):
    """`make demo` runs with DEBUG on: Django then formats every query with its parameters for the log, so a
    literal % in raw SQL (SQLite's strftime) must be written %%."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:  # the same debug cursor DEBUG gives
        counts = analytics_refresh(TODAY)
    assert counts["store_days"] > 0 and len(queries) > 10
