"""Daily segments, step 1: the purchase-day table (care_purchaseday), kept up to date from the receipts.

The first run builds it from every receipt; later runs re-derive only the (member, day) pairs of receipts
posted since the last run (receipt id above the cursor, with a look-back of LOOKBACK ids for transactions
that committed late), so the daily job never scans the receipts table. See care.segments for the whole.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from membercare.core.locks import hold_until_commit
from membercare.core.sql import fetch, localday, offset_minutes, pg, zone

from .models import CareCursor
from .segment_sql import cents, run, temp

LOOKBACK = 1000  # receipt ids re-read before the cursor: transactions that committed after a later id
CURSOR = "purchase_days"
STATS_CURSOR = "purchase_stats"  # the statistics' cursor (step 2): dropped when the table is rebuilt


def _sale_rows(where: str, sold_range: str = "") -> str:
    """Per sale receipt: member, local day, net paid in cents (returns subtracted), from `sales_receipt s`."""
    return f"""
        SELECT s.member_id AS member_id, {localday('s.sold_at')} AS day,
               {cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                    WHERE x.original_id = s.id), 0) AS net
        FROM {sold_range or 'sales_receipt s'}
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL {where}"""


def _insert_days(sale_rows: str) -> int:
    return run(f"""
        INSERT INTO care_purchaseday (member_id, day, paid_cents, receipts)
        SELECT member_id, day, SUM(net), SUM(CASE WHEN net > 0 THEN 1 ELSE 0 END)
        FROM ({sale_rows}) sr
        GROUP BY member_id, day
        HAVING SUM(net) > 0""")


def refresh_purchase_days(*, keep_touched: bool = False) -> int:
    """Bring care_purchaseday up to date with the receipts; returns the (member, day) pairs re-derived.

    The first call (no cursor yet) builds the table from every receipt (and drops the statistics cursor);
    later calls re-derive only the pairs touched by receipts with an id above the cursor (minus LOOKBACK),
    listed in the temporary table care_tmp_touched (kept for the caller with keep_touched)."""
    with transaction.atomic():
        # one refresh at a time (the care job, a prediction recompute on another worker): the second waits, then
        # finds the first's cursor; a lock on the cursor row alone does not cover its first creation
        hold_until_commit("care:purchase_days")
        cursor = CareCursor.objects.select_for_update().filter(name=CURSOR).first()
        high = fetch("SELECT MAX(id) FROM sales_receipt")[0][0] or 0
        if cursor is None:
            run("DELETE FROM care_purchaseday")
            if pg():
                run("SET LOCAL work_mem = '512MB'")
                full = f"""
                    SELECT s.member_id AS member_id, {localday('s.sold_at')} AS day,
                           {cents('s.total_paid')} + COALESCE(r.cents, 0) AS net
                    FROM sales_receipt s
                    LEFT JOIN (SELECT original_id, SUM({cents('total_paid')}) AS cents FROM sales_receipt
                               WHERE original_id IS NOT NULL GROUP BY original_id) r ON r.original_id = s.id
                    WHERE s.original_id IS NULL AND s.member_id IS NOT NULL"""
                count = _insert_days(full)
            else:
                count = _insert_days(_sale_rows(""))
            CareCursor.objects.create(name=CURSOR, value=high, updated_at=timezone.now())
            CareCursor.objects.filter(name=STATS_CURSOR).delete()  # the statistics are rebuilt too
            if pg():
                run("ANALYZE care_purchaseday")
            return count
        low = max(cursor.value - LOOKBACK, 0)
        temp("care_tmp_touched", f"""
            SELECT DISTINCT COALESCE(o.member_id, r.member_id) AS member_id,
                   {localday('COALESCE(o.sold_at, r.sold_at)')} AS day
            FROM sales_receipt r LEFT JOIN sales_receipt o ON o.id = r.original_id
            WHERE r.id > %s AND COALESCE(o.member_id, r.member_id) IS NOT NULL""", [low])
        run("DELETE FROM care_purchaseday WHERE (member_id, day) IN (SELECT member_id, day FROM care_tmp_touched)")
        if pg():
            start = f"(t.day::timestamp AT TIME ZONE '{zone()}')"
            end = f"((t.day + 1)::timestamp AT TIME ZONE '{zone()}')"
        else:
            minutes = -offset_minutes()
            start = f"datetime(t.day, '{minutes:+d} minutes')"
            end = f"datetime(t.day, '+1 day', '{minutes:+d} minutes')"
        count = _insert_days(_sale_rows("", f"""care_tmp_touched t JOIN sales_receipt s
            ON s.member_id = t.member_id AND s.sold_at >= {start} AND s.sold_at < {end}"""))
        if not keep_touched:
            run("DROP TABLE IF EXISTS care_tmp_touched")
        cursor.value = max(high, cursor.value)
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["value", "updated_at"])
        return count


def rebuild_purchase_days() -> int:
    """Forget the cursors and build care_purchaseday (then the statistics) again from every receipt."""
    CareCursor.objects.filter(name__in=[CURSOR, STATS_CURSOR]).delete()
    return refresh_purchase_days()
