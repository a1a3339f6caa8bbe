"""Small per-member tables the purchase rules read instead of the receipts, kept up to date incrementally.

- care.ConsumableDay (member, local day, product): the days a member bought a consumable. Refreshed from the
  receipts with an id above a stored cursor (CareCursor "consumable_days", minus LOOKBACK ids for
  transactions that committed late; re-reading a receipt changes nothing: the upsert keeps the largest
  product id of the day). The first refresh, or one after the set of consumable products changed (the
  cursor's key), builds the table from every receipt line.
- care.ConsumableCycle (per member): the replenishment cycle as of a day (CareCursor "consumable_cycles":
  value = the day's ordinal, key = history window and product set). Moving it to a later day re-reads only
  the members with a consumable day that entered the window (after the previous day), left it (the window
  start moved past it) or was touched by the receipts just refreshed; any other change (an earlier day,
  other settings) rebuilds it.
- care.ClerkVisits (clerk, member): sale receipts ever, per pair. Refreshed from the receipts above the cursor
  "clerk_visits" less LOOKBACK ids, adding those not yet counted (care.ClerkVisitSeen holds the ones counted
  near the cursor), so a receipt is counted once however often it is re-read.

Everything runs inside the rule's transaction (the daily step), so a run killed half-way leaves the tables
and their cursors as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.utils import timezone

from membercare.core.sql import execute, fetch, lit, localday, pg, temp_table
from membercare.sales.models import Product

from ..models import CareCursor
from .base import sql_add_days, sql_days_between

LOOKBACK = 1000  # receipt ids re-read below the cursor: transactions that committed after a later id
DAYS_CURSOR = "consumable_days"
CYCLES_CURSOR = "consumable_cycles"
VISITS_CURSOR = "clerk_visits"
SEEN = "seen"  # the visits cursor's key once care_clerkvisitseen holds the receipts counted near the cursor


def _max_receipt_id() -> int:
    return fetch("SELECT MAX(id) FROM sales_receipt")[0][0] or 0


def _cursor(name: str) -> CareCursor | None:
    return CareCursor.objects.select_for_update().filter(name=name).first()


def _save_cursor(name: str, value: int, key: str = "") -> None:
    CareCursor.objects.update_or_create(name=name, defaults={"value": value, "key": key,
                                                             "updated_at": timezone.now()})


# ---- consumable purchase days -----------------------------------------------------------------------------

def consumable_key() -> str:
    """Identifies the set of consumable products (the table is rebuilt when it changes)."""
    ids = ",".join(str(pk) for pk in Product.objects.filter(is_consumable=True).order_by("pk")
                   .values_list("pk", flat=True))
    return "p=" + hashlib.sha1(ids.encode()).hexdigest()[:16]


def refresh_consumable_days() -> bool:
    """Bring care_consumableday up to date with the receipts. Returns True when it was rebuilt from every
    receipt; otherwise the members whose days changed are in the temporary table care_tmp_cons_touched."""
    state = _cursor(DAYS_CURSOR)
    high = _max_receipt_id()
    key = consumable_key()
    greatest = "GREATEST" if pg() else "MAX"
    lines = f"""
        SELECT r.member_id AS member_id, {localday('r.sold_at')} AS day, MAX(l.product_id) AS product_id
        FROM sales_receiptline l JOIN sales_receipt r ON r.id = l.receipt_id
        WHERE l.product_id IN (SELECT id FROM sales_product WHERE is_consumable) AND l.quantity > 0
          AND r.original_id IS NULL AND r.member_id IS NOT NULL {{where}}
        GROUP BY r.member_id, {localday('r.sold_at')}"""
    if state is None or state.key != key:
        execute("DELETE FROM care_consumableday")
        if pg():
            execute("SET LOCAL work_mem = '256MB'")
        execute(f"INSERT INTO care_consumableday (member_id, day, product_id) {lines.format(where='')}")
        if pg():
            execute("ANALYZE care_consumableday")
        _save_cursor(DAYS_CURSOR, high, key)
        return True
    low = max(state.value - LOOKBACK, 0)
    temp_table("care_tmp_cons_new", lines.format(where="AND r.id > %s"), [low])
    execute(f"""
        INSERT INTO care_consumableday (member_id, day, product_id)
        SELECT member_id, day, product_id FROM care_tmp_cons_new WHERE TRUE
        ON CONFLICT (member_id, day) DO UPDATE
        SET product_id = {greatest}(care_consumableday.product_id, excluded.product_id)""")
    temp_table("care_tmp_cons_touched", "SELECT DISTINCT member_id FROM care_tmp_cons_new")
    execute("DROP TABLE IF EXISTS care_tmp_cons_new")
    _save_cursor(DAYS_CURSOR, max(high, state.value), key)
    return False


# ---- replenishment cycles ---------------------------------------------------------------------------------

def _cycles_sql(day: dt.date, since: dt.date, only: str = "") -> str:
    """INSERT of the cycles as of `day` (consumable days since..day) of every member, or of the members
    listed in the temporary table `only`. The median of the gaps: the mean of the middle one or two, rounded
    (as the rule always computed it)."""
    members = f" AND member_id IN (SELECT member_id FROM {only})" if only else ""
    gap = sql_days_between("day", "LAG(day) OVER (PARTITION BY member_id ORDER BY day)")
    return f"""
        WITH days AS (SELECT member_id, day, product_id FROM care_consumableday
                      WHERE day >= {lit(since)} AND day <= {lit(day)}{members}),
        gaps AS (SELECT member_id, {gap} AS gap FROM days),
        ranked AS (SELECT member_id, gap, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY gap) AS rn,
                          COUNT(*) OVER (PARTITION BY member_id) AS n
                   FROM gaps WHERE gap IS NOT NULL),
        cycles AS (SELECT member_id, CAST(ROUND(AVG(gap)) AS INTEGER) AS cycle, MAX(n) AS n FROM ranked
                   WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY member_id),
        last AS (SELECT member_id, MAX(day) AS last_d FROM days GROUP BY member_id)
        INSERT INTO care_consumablecycle (member_id, last_day, gaps, cycle, next_on, product_id)
        SELECT c.member_id, l.last_d, c.n, c.cycle, {sql_add_days("l.last_d", "c.cycle")}, d.product_id
        FROM cycles c JOIN last l ON l.member_id = c.member_id
        JOIN days d ON d.member_id = c.member_id AND d.day = l.last_d"""


def refresh_consumable_cycles(day: dt.date, history_days: int) -> str:
    """Bring care_consumablecycle to `day` (window: day - history_days .. day); returns "full",
    "incremental" or "unchanged"."""
    rebuilt = refresh_consumable_days()
    since = day - dt.timedelta(days=history_days)
    key = f"h={history_days} {consumable_key()}"
    state = _cursor(CYCLES_CURSOR)
    previous = dt.date.fromordinal(state.value) if state else None
    if rebuilt or state is None or state.key != key or previous > day:
        execute("DROP TABLE IF EXISTS care_tmp_cons_touched")
        execute("DELETE FROM care_consumablecycle")
        if pg():
            execute("SET LOCAL work_mem = '256MB'")
        execute(_cycles_sql(day, since))
        how = "full"
    else:
        before = previous - dt.timedelta(days=history_days)
        ranges = []
        if previous < day:
            ranges.append(f"(day > {lit(previous)} AND day <= {lit(day)})")  # entered the window
            ranges.append(f"(day >= {lit(before)} AND day < {lit(since)})")  # left it
        sources = [f"SELECT member_id FROM care_consumableday WHERE {' OR '.join(ranges)}"] if ranges else []
        sources.append("SELECT member_id FROM care_tmp_cons_touched")
        affected = temp_table("care_tmp_cons_affected", " UNION ".join(sources))
        execute("DROP TABLE IF EXISTS care_tmp_cons_touched")
        if affected:
            execute("DELETE FROM care_consumablecycle WHERE member_id IN "
                  "(SELECT member_id FROM care_tmp_cons_affected)")
            execute(_cycles_sql(day, since, "care_tmp_cons_affected"))
        execute("DROP TABLE IF EXISTS care_tmp_cons_affected")
        how = "incremental" if affected else "unchanged"
    if how != "unchanged" and pg():
        execute("ANALYZE care_consumablecycle")
    _save_cursor(CYCLES_CURSOR, day.toordinal(), key)
    return how


# ---- clerk visits -----------------------------------------------------------------------------------------

def refresh_clerk_visits(*, keep_pairs: bool = False) -> str:
    """Bring care_clerkvisits up to date with the receipts; returns "full" or "incremental". With `keep_pairs`,
    an incremental refresh leaves the pairs it counted in the temporary table care_tmp_visit_pairs (clerk_id,
    member_id, last_sold: the latest of the new receipts), for the caller to drop.

    Incremental: the sale receipts above the cursor less LOOKBACK ids that care_clerkvisitseen does not hold are
    added to their pairs' counts, and remembered there (the ones LOOKBACK ids below the new cursor are forgotten).
    A counter made before that table existed (cursor key not SEEN) is brought up once by counting its re-read
    pairs again from all their receipts, as it always was (issue 20: that recount read ~17 receipts for each of
    ~10,000 pairs a day, 1.9 s at 1M members)."""
    state = _cursor(VISITS_CURSOR)
    high = _max_receipt_id()
    sales = "r.original_id IS NULL AND r.clerk_id IS NOT NULL AND r.member_id IS NOT NULL"
    if state is None:
        execute("DELETE FROM care_clerkvisits")
        execute("DELETE FROM care_clerkvisitseen")
        if pg():
            execute("SET LOCAL work_mem = '256MB'")
        execute(f"""INSERT INTO care_clerkvisits (clerk_id, member_id, visits)
                  SELECT r.clerk_id, r.member_id, COUNT(*) FROM sales_receipt r WHERE {sales} AND r.id <= %s
                  GROUP BY r.clerk_id, r.member_id""", [high])
        execute(f"INSERT INTO care_clerkvisitseen (receipt_id) SELECT r.id FROM sales_receipt r "
                f"WHERE r.id > %s AND r.id <= %s AND {sales}", [max(high - LOOKBACK, 0), high])
        if pg():
            execute("ANALYZE care_clerkvisits")
        _save_cursor(VISITS_CURSOR, high, SEEN)
        return "full"
    low = max(state.value - LOOKBACK, 0)
    temp_table("care_tmp_visit_new", f"""
        SELECT r.id, r.clerk_id, r.member_id, r.sold_at FROM sales_receipt r
        WHERE r.id > %s AND {sales}
          AND NOT EXISTS (SELECT 1 FROM care_clerkvisitseen v WHERE v.receipt_id = r.id)""", [low])
    temp_table("care_tmp_visit_pairs", """
        SELECT clerk_id, member_id, MAX(sold_at) AS last_sold, COUNT(*) AS visits FROM care_tmp_visit_new
        GROUP BY clerk_id, member_id""")
    if state.key == SEEN:
        execute("""
            INSERT INTO care_clerkvisits (clerk_id, member_id, visits)
            SELECT clerk_id, member_id, visits FROM care_tmp_visit_pairs WHERE TRUE
            ON CONFLICT (clerk_id, member_id) DO UPDATE SET visits = care_clerkvisits.visits + excluded.visits""")
    else:  # the counter predates the seen receipts: its re-read pairs are counted again from all their receipts
        execute("""
            INSERT INTO care_clerkvisits (clerk_id, member_id, visits)
            SELECT p.clerk_id, p.member_id,
                   (SELECT COUNT(*) FROM sales_receipt r
                    WHERE r.member_id = p.member_id AND r.clerk_id = p.clerk_id AND r.original_id IS NULL)
            FROM care_tmp_visit_pairs p WHERE TRUE
            ON CONFLICT (clerk_id, member_id) DO UPDATE SET visits = excluded.visits""")
    top = max(high, state.value)
    execute("INSERT INTO care_clerkvisitseen (receipt_id) SELECT id FROM care_tmp_visit_new WHERE id > %s",
            [top - LOOKBACK])
    execute("DELETE FROM care_clerkvisitseen WHERE receipt_id <= %s", [top - LOOKBACK])
    execute("DROP TABLE IF EXISTS care_tmp_visit_new")
    if not keep_pairs:
        execute("DROP TABLE IF EXISTS care_tmp_visit_pairs")
    _save_cursor(VISITS_CURSOR, top, SEEN)
    return "incremental"
