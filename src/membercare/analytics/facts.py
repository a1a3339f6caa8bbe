"""Filling the pre-aggregated facts (analytics.models) so that every dashboard reads a few thousand rows,
never the receipts: the nightly task after the care job (`analytics.tasks.analytics_daily`, 03:30) and the
`analytics_refresh` command (first build, or `--rebuild`).

- StoreDay: the first run builds it from every receipt and member; later runs re-derive only the (store,
  day) pairs touched by receipts or members with an id above a cursor (minus LOOKBACK ids, for transactions
  that committed late), through the (store, sold_at) and (home_store, created_at) indexes.
- PointsDay: the ledger is append-only, so entries are added once each by id: the ids above the cursor and
  the "holes" below it (ids not visible at the last run: a transaction still open, or rolled back; holes
  older than HOLE_WINDOW ids are dropped as rolled back).
- SegmentDay: a snapshot of the current segments (care MemberSegments), card tiers, the 12-month repurchase
  counts and the points balance, per registration store, for the job's day (replaced when run again).
- SegmentMove: the month-over-month migration, per store, for every month boundary not computed yet whose
  both days the segment history (care SegmentSpan) covers (up to MOVE_MONTHS back).
- Cohort: retention by month of first purchase day (care_purchaseday), recomputed once a month.
- TaskDay: care tasks due from TASK_WINDOW days back are re-counted (older ones are settled).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from membercare.care.models import SEVEN_SEGMENTS
from membercare.loyalty.programme import programme_at

from . import sql
from .models import AnalyticsCursor, Cohort, PointsDay, SegmentDay, SegmentMove, StoreDay, TaskDay

logger = logging.getLogger(__name__)

LOOKBACK = 1000
HOLE_WINDOW = 20_000  # ids of transactions still open at a run are near the top
TASK_WINDOW = 120
MOVE_MONTHS = 13
COHORT_MONTHS = 24
COHORT_OFFSETS = 12
MOVE_DIMENSIONS = ["lifecycle", "spend_class", "pyramid", "follow_up"]
FLAG_FIELDS = [code for code, _label in SEVEN_SEGMENTS]
TIMINGS: dict[str, float] = {}

Progress = Callable[[int, int | None, str | None], None]


def _cursor(name: str) -> AnalyticsCursor | None:
    return AnalyticsCursor.objects.select_for_update().filter(name=name).first()


def _save_cursor(name: str, value: int, holes: list[int] | None = None, key: str = "") -> None:
    AnalyticsCursor.objects.update_or_create(name=name, defaults={"value": value, "holes": holes or [], "key": key,
                                                                   "updated_at": timezone.now()})


# ---- StoreDay -------------------------------------------------------------------------------------------

def _storeday_select(receipt_join: str, member_join: str) -> str:
    vip = "r.tier <> '' AND r.tier <> 'accumulation'"
    return f"""
        SELECT store_id, day, SUM(sales) AS sales_cents, SUM(returns) AS returns_cents, SUM(receipts) AS receipts,
               SUM(m_sales) AS member_sales_cents, SUM(m_returns) AS member_returns_cents,
               SUM(m_receipts) AS member_receipts, SUM(v_sales) AS vip_sales_cents,
               SUM(v_returns) AS vip_returns_cents, SUM(new_members) AS new_members
        FROM (
          SELECT r.store_id AS store_id, {sql.localday('r.sold_at')} AS day,
                 CASE WHEN r.original_id IS NULL THEN {sql.cents('r.total_paid')} ELSE 0 END AS sales,
                 CASE WHEN r.original_id IS NULL THEN 0 ELSE {sql.cents('r.total_paid')} END AS returns,
                 CASE WHEN r.original_id IS NULL THEN 1 ELSE 0 END AS receipts,
                 CASE WHEN r.original_id IS NULL AND r.member_id IS NOT NULL THEN {sql.cents('r.total_paid')}
                      ELSE 0 END AS m_sales,
                 CASE WHEN r.original_id IS NOT NULL AND r.member_id IS NOT NULL THEN {sql.cents('r.total_paid')}
                      ELSE 0 END AS m_returns,
                 CASE WHEN r.original_id IS NULL AND r.member_id IS NOT NULL THEN 1 ELSE 0 END AS m_receipts,
                 CASE WHEN r.original_id IS NULL AND {vip} THEN {sql.cents('r.total_paid')} ELSE 0 END AS v_sales,
                 CASE WHEN r.original_id IS NOT NULL AND {vip} THEN {sql.cents('r.total_paid')} ELSE 0 END AS v_returns,
                 0 AS new_members
          {receipt_join}
          UNION ALL
          SELECT m.home_store_id, {sql.localday('m.created_at')}, 0, 0, 0, 0, 0, 0, 0, 0, 1
          {member_join}
        ) x
        GROUP BY store_id, day"""


STOREDAY_COLUMNS = ("store_id, day, sales_cents, returns_cents, receipts, member_sales_cents, member_returns_cents, "
                    "member_receipts, vip_sales_cents, vip_returns_cents, new_members")


def refresh_store_days(*, rebuild: bool = False) -> int:
    """Bring StoreDay up to date; returns the (store, day) rows written."""
    with transaction.atomic():
        receipts_cursor, members_cursor = _cursor("store_days"), _cursor("store_days_members")
        high_r = sql.fetch("SELECT MAX(id) FROM sales_receipt")[0][0] or 0
        high_m = sql.fetch("SELECT MAX(id) FROM members_member")[0][0] or 0
        if rebuild or receipts_cursor is None or members_cursor is None:
            StoreDay.objects.all().delete()
            written = sql.execute(f"INSERT INTO analytics_storeday ({STOREDAY_COLUMNS}) " + _storeday_select(
                "FROM sales_receipt r", "FROM members_member m"))
        else:
            low_r, low_m = max(receipts_cursor.value - LOOKBACK, 0), max(members_cursor.value - LOOKBACK, 0)
            pairs = sql.fetch(f"""
                SELECT DISTINCT store_id, {sql.localday('sold_at')} FROM sales_receipt WHERE id > %s
                UNION SELECT DISTINCT home_store_id, {sql.localday('created_at')} FROM members_member WHERE id > %s""",
                [low_r, low_m])
            written = _rederive(pairs)
        _save_cursor("store_days", high_r)
        _save_cursor("store_days_members", high_m)
    return written


def _rederive(pairs: list[tuple]) -> int:
    if not pairs:
        return 0
    sql.execute("DROP TABLE IF EXISTS analytics_tmp_pairs")
    timestamp = "timestamp with time zone" if sql.pg() else "text"
    sql.execute(f"CREATE TEMP TABLE analytics_tmp_pairs (store_id integer, day date, start_at {timestamp}, "
                f"end_at {timestamp})")
    rows = []
    for store_id, day in pairs:
        day = sql.as_date(day)
        start, end = sql.day_bounds(day, day)
        rows.append((store_id, day, sql.ts(start), sql.ts(end)))
    from django.db import connection

    with connection.cursor() as cur:
        cur.executemany("INSERT INTO analytics_tmp_pairs VALUES (%s, %s, %s, %s)", rows)
    sql.execute("DELETE FROM analytics_storeday WHERE EXISTS (SELECT 1 FROM analytics_tmp_pairs t "
                "WHERE t.store_id = analytics_storeday.store_id AND t.day = analytics_storeday.day)")
    written = sql.execute(f"INSERT INTO analytics_storeday ({STOREDAY_COLUMNS}) " + _storeday_select(
        "FROM analytics_tmp_pairs t JOIN sales_receipt r ON r.store_id = t.store_id AND r.sold_at >= t.start_at "
        "AND r.sold_at < t.end_at",
        "FROM analytics_tmp_pairs t JOIN members_member m ON m.home_store_id = t.store_id "
        "AND m.created_at >= t.start_at AND m.created_at < t.end_at"))
    sql.execute("DROP TABLE IF EXISTS analytics_tmp_pairs")
    return written


# ---- PointsDay ------------------------------------------------------------------------------------------

def refresh_points_days(*, rebuild: bool = False) -> int:
    """Add the ledger entries not folded yet into PointsDay; returns the entries added."""
    with transaction.atomic():
        cursor = _cursor("points_days")
        high = sql.fetch("SELECT MAX(id) FROM loyalty_pointsentry")[0][0] or 0
        if rebuild or cursor is None:
            PointsDay.objects.all().delete()
            low, holes = 0, []
        else:
            low, holes = cursor.value, [int(h) for h in cursor.holes]
        sql.execute("DROP TABLE IF EXISTS analytics_tmp_ids")
        hole_filter = f" OR id IN ({sql.placeholders(holes)})" if holes else ""
        sql.execute(f"CREATE TEMP TABLE analytics_tmp_ids AS SELECT id FROM loyalty_pointsentry "
                    f"WHERE (id > %s AND id <= %s){hole_filter}", [low, high, *holes])
        # every id folded now within the hole window (new ids and holes filled): whatever else is missing there
        # is a hole for the next run
        seen = {row[0] for row in sql.fetch("SELECT id FROM analytics_tmp_ids WHERE id > %s", [high - HOLE_WINDOW])}
        added = sql.fetch("SELECT COUNT(*) FROM analytics_tmp_ids")[0][0]
        fold = f"""
            SELECT COALESCE(r.store_id, m.home_store_id), {sql.localday('e.created_at')}, e.kind,
                   SUM(e.points), COUNT(*)
            FROM analytics_tmp_ids i JOIN loyalty_pointsentry e ON e.id = i.id
            JOIN members_member m ON m.id = e.member_id
            LEFT JOIN sales_receipt r ON r.id = e.receipt_id
            GROUP BY COALESCE(r.store_id, m.home_store_id), {sql.localday('e.created_at')}, e.kind"""
        sql.execute(f"""
            INSERT INTO analytics_pointsday (store_id, day, kind, points, entries)
            SELECT * FROM ({fold}) f WHERE true
            ON CONFLICT (store_id, day, kind) DO UPDATE SET points = analytics_pointsday.points + excluded.points,
                entries = analytics_pointsday.entries + excluded.entries""")
        sql.execute("DROP TABLE IF EXISTS analytics_tmp_ids")
        window_low = high - HOLE_WINDOW
        still = [h for h in holes if h > window_low and h not in seen]
        new_holes = [i for i in range(max(low, window_low) + 1, high + 1) if i not in seen]
        _save_cursor("points_days", high, sorted({*still, *new_holes}))
    return added


# ---- SegmentDay -----------------------------------------------------------------------------------------

def snapshot_segments(day: dt.date) -> int:
    """Replace the snapshot of `day` with the current segments, tiers, repurchase counts and points balance."""
    SegmentDay.objects.filter(day=day).delete()
    rows: dict[tuple[int, str, str], int] = {}

    def add(store_id: int, dimension: str, value, n: int) -> None:
        key = (store_id, dimension, "" if value is None else str(value))
        rows[key] = rows.get(key, 0) + int(n or 0)

    fields = ["lifecycle", "spend_class", "pyramid", "follow_up", *FLAG_FIELDS]
    cols = ", ".join(f"s.{f}" for f in fields)
    grouped = sql.fetch(f"""
        SELECT m.home_store_id, {cols},
               CASE WHEN s.purchase_days_12m >= 1 THEN 1 ELSE 0 END,
               CASE WHEN s.purchase_days_12m >= 2 THEN 1 ELSE 0 END, COUNT(*)
        FROM care_membersegments s JOIN members_member m ON m.id = s.member_id
        GROUP BY m.home_store_id, {cols}, CASE WHEN s.purchase_days_12m >= 1 THEN 1 ELSE 0 END,
                 CASE WHEN s.purchase_days_12m >= 2 THEN 1 ELSE 0 END""")
    for row in grouped:
        store_id, values, buyer, repeat, n = row[0], row[1:1 + len(fields)], row[-3], row[-2], row[-1]
        for field, value in zip(fields, values, strict=True):
            if field in FLAG_FIELDS:
                if value:
                    add(store_id, field, "1", n)
            else:
                add(store_id, field, value, n)
        if buyer:
            add(store_id, "repurchase_12m", "buyers", n)
        if repeat:
            add(store_id, "repurchase_12m", "repeat", n)
    for store_id, n in sql.fetch("SELECT home_store_id, COUNT(*) FROM members_member GROUP BY home_store_id"):
        add(store_id, "members", "all", n)
    # the programme's order of the levels (codes are [a-z0-9_] by the programme's check: safe in the SQL text)
    tier_rank = programme_at().positions()
    rank = " ".join(f"WHEN '{kind}' THEN {r}" for kind, r in tier_rank.items())
    for store_id, best, n in sql.fetch(f"""
            SELECT m.home_store_id, b.best, COUNT(*)
            FROM (SELECT member_id, MAX(CASE kind {rank} ELSE 0 END) AS best FROM loyalty_card
                  WHERE status = 'active' GROUP BY member_id) b
            JOIN members_member m ON m.id = b.member_id
            GROUP BY m.home_store_id, b.best"""):
        kind = next((k for k, r in tier_rank.items() if r == best), "")
        add(store_id, "tier", kind, n)
    for store_id, points, n in sql.fetch("""
            SELECT m.home_store_id, SUM(a.points), COUNT(*) FROM loyalty_loyaltyaccount a
            JOIN members_member m ON m.id = a.member_id WHERE a.points > 0 GROUP BY m.home_store_id"""):
        add(store_id, "points", "balance", points)
        add(store_id, "points", "holders", n)
    SegmentDay.objects.bulk_create(
        [SegmentDay(day=day, store_id=s, dimension=d, value=v, members=n) for (s, d, v), n in rows.items()],
        batch_size=5000)
    return len(rows)


# ---- SegmentMove ----------------------------------------------------------------------------------------

def _history_days() -> tuple[dt.date | None, dt.date | None]:
    first, last = sql.fetch("SELECT MIN(valid_from), MAX(valid_from) FROM care_segmentspan")[0]
    return sql.as_date(first), sql.as_date(last)


def migration_rows(dimension: str, from_day: dt.date, to_day: dt.date) -> list[tuple[int, str, str, int]]:
    """(store, from value, to value, members) per registration store: care.segment_selectors.segment_migration
    grouped by store as well ('' for a member not computed yet on `from_day`)."""
    if dimension not in MOVE_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    rows = sql.fetch(f"""
        SELECT m.home_store_id, a.{dimension}, b.{dimension}, COUNT(*)
        FROM care_segmentspan b
        JOIN members_member m ON m.id = b.member_id
        LEFT JOIN care_segmentspan a ON a.member_id = b.member_id AND a.valid_from <= %s
             AND (a.valid_to IS NULL OR a.valid_to > %s)
        WHERE b.valid_from <= %s AND (b.valid_to IS NULL OR b.valid_to > %s)
        GROUP BY m.home_store_id, a.{dimension}, b.{dimension}""", [from_day, from_day, to_day, to_day])
    return [(s, "" if a is None else str(a), "" if b is None else str(b), n) for s, a, b, n in rows]


def refresh_moves(day: dt.date) -> int:
    """Compute every month boundary up to `day` that the history covers and that is not stored yet."""
    first, _last = _history_days()
    if first is None:
        return 0
    done = set(SegmentMove.objects.values_list("to_day", flat=True).distinct())
    written = 0
    to_day = sql.add_months(day, 0)
    for _i in range(MOVE_MONTHS):
        from_day = sql.add_months(to_day, -1)
        if from_day < first:  # the history does not cover the month's first day
            break
        if to_day not in done:
            batch = []
            for dimension in MOVE_DIMENSIONS:
                batch += [SegmentMove(from_day=from_day, to_day=to_day, store_id=s, dimension=dimension,
                                      from_value=a, to_value=b, members=n)
                          for s, a, b, n in migration_rows(dimension, from_day, to_day)]
            SegmentMove.objects.bulk_create(batch, batch_size=5000)
            written += len(batch)
        to_day = from_day
    return written


# ---- Cohort ---------------------------------------------------------------------------------------------

def cohort_rows(as_of: dt.date, months: int = COHORT_MONTHS,
                offsets: int = COHORT_OFFSETS) -> list[tuple[int, dt.date, int, int]]:
    """(store, cohort month, offset, members): the members registered at the store whose first purchase day
    (ever, care_purchaseday) falls in the cohort month, counted in each month `offset` (0..offsets) after it
    in which they have a purchase day; months before `as_of` only, cohorts of the last `months` months."""
    first_cohort = sql.add_months(as_of, -months)
    rows = sql.fetch(f"""
        SELECT m.home_store_id, {sql.month_start('f.first_day')},
               {sql.month_index('p.day')} - {sql.month_index('f.first_day')} AS k, COUNT(DISTINCT p.member_id)
        FROM (SELECT member_id, MIN(day) AS first_day FROM care_purchaseday GROUP BY member_id) f
        JOIN care_purchaseday p ON p.member_id = f.member_id AND p.day < %s
        JOIN members_member m ON m.id = f.member_id
        WHERE f.first_day >= %s AND f.first_day < %s
          AND {sql.month_index('p.day')} - {sql.month_index('f.first_day')} <= %s
        GROUP BY m.home_store_id, {sql.month_start('f.first_day')},
                 {sql.month_index('p.day')} - {sql.month_index('f.first_day')}""",
        [as_of, first_cohort, as_of, offsets])
    return [(s, sql.as_date(c), int(k), n) for s, c, k, n in rows]


def refresh_cohorts(day: dt.date, *, force: bool = False) -> int:
    as_of = sql.add_months(day, 0)
    if not force and Cohort.objects.filter(as_of=as_of).exists():
        return 0
    Cohort.objects.all().delete()
    batch = [Cohort(as_of=as_of, store_id=s, cohort=c, offset=k, members=n) for s, c, k, n in cohort_rows(as_of)]
    Cohort.objects.bulk_create(batch, batch_size=5000)
    return len(batch)


# ---- TaskDay --------------------------------------------------------------------------------------------

def refresh_task_days(day: dt.date, *, rebuild: bool = False) -> int:
    since = None if rebuild or not TaskDay.objects.exists() else day - dt.timedelta(days=TASK_WINDOW)
    where = "" if since is None else "AND t.due_on >= %s"
    (TaskDay.objects.all() if since is None else TaskDay.objects.filter(due_on__gte=since)).delete()
    return sql.execute(f"""
        INSERT INTO analytics_taskday (store_id, assignee_id, due_on, due, on_time, late, open)
        SELECT t.store_id, t.assignee_id, t.due_on, COUNT(*),
               SUM(CASE WHEN t.status = 'done' AND {sql.localday('t.done_at')} <= t.due_on THEN 1 ELSE 0 END),
               SUM(CASE WHEN t.status = 'done' AND {sql.localday('t.done_at')} > t.due_on THEN 1 ELSE 0 END),
               SUM(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END)
        FROM care_task t WHERE t.status <> 'cancelled' {where}
        GROUP BY t.store_id, t.assignee_id, t.due_on""", [] if since is None else [since])


# ---- the step -------------------------------------------------------------------------------------------

def analytics_refresh(day: dt.date | None = None, *, rebuild: bool = False,
                      progress: Progress | None = None) -> dict[str, int]:
    """Every fact table brought up to date for `day` (default today); {part: rows written or added}."""
    day = day or timezone.localdate()
    parts: list[tuple[str, Callable[[], int]]] = [
        ("store_days", lambda: refresh_store_days(rebuild=rebuild)),
        ("points_days", lambda: refresh_points_days(rebuild=rebuild)),
        ("segments", lambda: snapshot_segments(day)),
        ("moves", lambda: refresh_moves(day)),
        ("cohorts", lambda: refresh_cohorts(day, force=rebuild)),
        ("tasks", lambda: refresh_task_days(day, rebuild=rebuild)),
        ("campaigns", lambda: refresh_campaigns(day)),
    ]
    counts: dict[str, int] = {}
    for i, (name, fn) in enumerate(parts):
        started = time.perf_counter()
        with transaction.atomic():
            counts[name] = fn()
        TIMINGS[name] = round(time.perf_counter() - started, 3)
        logger.info("analytics %s: %s in %.1f s", name, counts[name], TIMINGS[name])
        if progress:
            progress(i + 1, len(parts), name)
    return counts


CAMPAIGN_DAYS = 120  # campaigns running or ended this many days before the run day are (re)computed


def refresh_campaigns(day: dt.date) -> int:
    """Every campaign running on or ended within CAMPAIGN_DAYS before `day`, with its results chain-wide
    (campaigns.selectors.campaign_results: a few aggregates over the receipts each), replaced in CampaignFact;
    a coupon batch's sales also per registration store of its members, with the last receipt id read."""
    from membercare.campaigns.selectors import campaign_results, coupon_batch_sales_by_store

    from .models import CampaignFact

    now = timezone.now()
    # receipts above this id are read live by the tile (measures.campaign_tile): taken before the results
    high = sql.fetch("SELECT MAX(id) FROM sales_receipt")[0][0] or 0
    rows = campaign_results(start=day - dt.timedelta(days=CAMPAIGN_DAYS), end=day, limit=200)
    CampaignFact.objects.filter(kind__in=["coupon", "event", "bulk"],
                                window_end__gte=day - dt.timedelta(days=CAMPAIGN_DAYS)).delete()
    facts = []
    for r in rows:
        obj = r["obj"]
        first, last = r.get("window_start"), r.get("window_end")
        first = timezone.localtime(first).date() if isinstance(first, dt.datetime) else first
        last = timezone.localtime(last).date() if isinstance(last, dt.datetime) else last
        result = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()
                  if k in ("reached", "responded", "group_size", "sales", "attributed_sales", "holdout_size",
                           "holdout_sales", "per_member", "holdout_per_member", "uplift_per_member")}
        if r["kind"] == "coupon":  # per registration store of the members, for a store's or region's tile
            result["receipt_high"] = high
            result["by_store"] = {str(store): {k: str(v) for k, v in line.items()}
                                  for store, line in coupon_batch_sales_by_store(obj, after_id=0).items()}
        facts.append(CampaignFact(
            kind=r["kind"], object_id=obj.pk, name=r["name"][:100], brand_id=getattr(obj, "brand_id", None),
            store_ids=sorted(obj.stores.values_list("pk", flat=True)) if r["kind"] == "event" else [],
            window_start=first or day, window_end=last or day, result=result, computed_at=now))
    CampaignFact.objects.bulk_create(facts, ignore_conflicts=True)
    return len(facts)
