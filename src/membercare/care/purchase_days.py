"""Daily segments, step 1: the purchase-day table (care_purchaseday), kept up to date from the receipts.

The first run builds it from every receipt; later runs re-derive only the (member, day) pairs of receipts
posted since the last run (receipt id above the cursor, with a look-back of LOOKBACK ids for transactions
that committed late), so the daily job never scans the receipts table. See care.segments for the whole.

The same runs keep the per-brand tables of the predictions (issue 23): care_brandpurchaseday (the purchase days
at each brand's stores) re-derived for the same touched (member, day) pairs, and care_brandpurchasesummary (per
member and brand: purchase days, first and last day, value, first day's value) re-derived for the members
touched only. Their cursor BRAND_CURSOR moves with CURSOR; its `key` is the last local day of a receipt folded
in (prediction.summary reads the summary table alone for any day on or after it). A missing BRAND_CURSOR (the
tables are new) makes the next run build them from every receipt.

And the audiences' table (issue 20): care_seriespurchaseday (member, product series, local day: the net
quantity and paid of the day's sale lines of the series, returns subtracted) re-derived for the same touched
(member, day) pairs, with its own cursor SERIES_CURSOR (missing: the next run builds it from every receipt).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from membercare.core.locks import hold_until_commit
from membercare.core.sql import fetch, localday, offset_minutes, pg, zone

from .models import CareCursor
from .segment_sql import cents, days_between, run, temp

LOOKBACK = 1000  # receipt ids re-read before the cursor: transactions that committed after a later id
CURSOR = "purchase_days"
STATS_CURSOR = "purchase_stats"  # the statistics' cursor (step 2): dropped when the table is rebuilt
STATS_SOURCE_CURSOR = "purchase_stats_src"  # value: CURSOR's value when the statistics were last made
BRAND_CURSOR = "brand_days"  # the per-brand tables' cursor: value as CURSOR's, key the last day folded in
SERIES_CURSOR = "series_days"  # care_seriespurchaseday's cursor: value as CURSOR's


def _sale_rows(where: str, sold_range: str = "") -> str:
    """Per sale receipt: member, local day, net paid and net full price in cents (returns subtracted), from
    `sales_receipt s`."""
    return f"""
        SELECT s.member_id AS member_id, {localday('s.sold_at')} AS day,
               {cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                    WHERE x.original_id = s.id), 0) AS net,
               {cents('s.total_full_price')} + COALESCE((SELECT SUM({cents('x.total_full_price')})
                                                    FROM sales_receipt x WHERE x.original_id = s.id), 0) AS full_net
        FROM {sold_range or 'sales_receipt s'}
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL {where}"""


def _insert_days(sale_rows: str) -> int:
    return run(f"""
        INSERT INTO care_purchaseday (member_id, day, paid_cents, full_cents, receipts)
        SELECT member_id, day, SUM(net), SUM(full_net), SUM(CASE WHEN net > 0 THEN 1 ELSE 0 END)
        FROM ({sale_rows}) sr
        GROUP BY member_id, day
        HAVING SUM(net) > 0""")


def _brand_sale_rows(sold_range: str = "") -> str:
    """_sale_rows with the brand of the receipt's store (a return counts against its original's store)."""
    return f"""
        SELECT s.member_id AS member_id, st.brand_id AS brand_id, {localday('s.sold_at')} AS day,
               {cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                    WHERE x.original_id = s.id), 0) AS net
        FROM {sold_range or 'sales_receipt s'} JOIN org_store st ON st.id = s.store_id
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL"""


def _insert_brand_days(sale_rows: str) -> int:
    return run(f"""
        INSERT INTO care_brandpurchaseday (member_id, brand_id, day, paid_cents, receipts)
        SELECT member_id, brand_id, day, SUM(net), SUM(CASE WHEN net > 0 THEN 1 ELSE 0 END)
        FROM ({sale_rows}) sr
        GROUP BY member_id, brand_id, day
        HAVING SUM(net) > 0""")


_SHIFT = 10**13  # cents of one purchase day stay below this (100,000,000,000 yuan)


def _insert_brand_summaries(days: str = "care_brandpurchaseday p") -> int:
    """care_brandpurchasesummary from the purchase days `days` (a FROM clause naming care_brandpurchaseday p),
    in one hashed aggregate (no sort by day: read in key order, a table out of that order costs minutes). The
    first day's value: each day is encoded as (days since 1970) × _SHIFT + cents — positive, below 2^63 —
    whose minimum is the first day's, less the first day × _SHIFT."""
    epoch = "'1970-01-01'" if not pg() else "DATE '1970-01-01'"
    encoded = f"{days_between('p.day', epoch)} * {_SHIFT} + p.paid_cents"
    return run(f"""
        INSERT INTO care_brandpurchasesummary (member_id, brand_id, days, first_day, last_day, paid_cents,
                                               first_cents)
        SELECT p.member_id, p.brand_id, COUNT(*), MIN(p.day), MAX(p.day), SUM(p.paid_cents),
               MIN({encoded}) - {days_between('MIN(p.day)', epoch)} * {_SHIFT}
        FROM {days}
        GROUP BY p.member_id, p.brand_id""")


def _last_day(where: str = "", params: list | None = None) -> dt.date | None:
    """The local day of the latest receipt (of those `where` selects)."""
    last = fetch(f"SELECT MAX(sold_at) FROM sales_receipt {where}", params or [])[0][0]
    if last is None:
        return None
    if isinstance(last, str):  # SQLite without the converters of a model field
        last = dt.datetime.fromisoformat(last)
    if timezone.is_naive(last):
        last = timezone.make_aware(last, dt.UTC)
    return timezone.localtime(last).date()


def _save_brand_cursor(cursor: CareCursor | None, high: int, last: dt.date | None) -> None:
    if cursor is None:
        cursor = CareCursor(name=BRAND_CURSOR, value=0)
    elif cursor.key:
        known = dt.date.fromisoformat(cursor.key)
        last = max(last, known) if last else known
    cursor.value = max(high, cursor.value)
    cursor.key = last.isoformat() if last else ""
    cursor.updated_at = timezone.now()
    cursor.save()


def _build_brand_tables(high: int) -> None:
    """care_brandpurchaseday and care_brandpurchasesummary from every receipt."""
    run("DELETE FROM care_brandpurchaseday")
    run("DELETE FROM care_brandpurchasesummary")
    if pg():
        run("SET LOCAL work_mem = '512MB'")
        _insert_brand_days(f"""
            SELECT s.member_id AS member_id, st.brand_id AS brand_id, {localday('s.sold_at')} AS day,
                   {cents('s.total_paid')} + COALESCE(r.cents, 0) AS net
            FROM sales_receipt s JOIN org_store st ON st.id = s.store_id
            LEFT JOIN (SELECT original_id, SUM({cents('total_paid')}) AS cents FROM sales_receipt
                       WHERE original_id IS NOT NULL GROUP BY original_id) r ON r.original_id = s.id
            WHERE s.original_id IS NULL AND s.member_id IS NOT NULL""")
        run("ANALYZE care_brandpurchaseday")
    else:
        _insert_brand_days(_brand_sale_rows())
    _insert_brand_summaries()
    if pg():
        run("ANALYZE care_brandpurchasesummary")
    _save_brand_cursor(CareCursor.objects.select_for_update().filter(name=BRAND_CURSOR).first(), high,
                       _last_day())


def _refresh_brand_tables(cursor: CareCursor, high: int, low: int, day_range: str) -> None:
    """Re-derive the brand tables for the (member, day) pairs in care_tmp_touched."""
    run("DELETE FROM care_brandpurchaseday "
        "WHERE (member_id, day) IN (SELECT member_id, day FROM care_tmp_touched)")
    _insert_brand_days(_brand_sale_rows(day_range))
    temp("care_tmp_members", "SELECT DISTINCT member_id FROM care_tmp_touched")
    run("DELETE FROM care_brandpurchasesummary WHERE member_id IN (SELECT member_id FROM care_tmp_members)")
    _insert_brand_summaries("care_tmp_members m JOIN care_brandpurchaseday p ON p.member_id = m.member_id")
    run("DROP TABLE IF EXISTS care_tmp_members")
    _save_brand_cursor(cursor, high, _last_day("WHERE id > %s", [low]))


def _series_line_rows(sold_range: str = "") -> str:
    """Per sale line and per line of a return of it: the sale's member and local day, the line's product
    series, quantity and paid cents (a return line's are negative), from the sale receipts `s` of
    `sold_range`. Two plain joins in a UNION ALL (an OR in one join would defeat the indexes); the returns'
    "x.original_id IS NOT NULL", implied by the join, is spelled out so the planner estimates the returns from
    their (partial index's) statistics, not as every receipt (a hash of all receipts, twice, in a rebuild)."""
    sales = sold_range or "sales_receipt s"
    day = localday("s.sold_at")
    return f"""
        SELECT s.member_id AS member_id, p.series_id AS series_id, {day} AS day, l.quantity AS quantity,
               {cents('l.paid_amount')} AS paid
        FROM {sales} JOIN sales_receiptline l ON l.receipt_id = s.id JOIN sales_product p ON p.id = l.product_id
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL
        UNION ALL
        SELECT s.member_id, p.series_id, {day}, l.quantity, {cents('l.paid_amount')}
        FROM {sales} JOIN sales_receipt x ON x.original_id = s.id
             JOIN sales_receiptline l ON l.receipt_id = x.id JOIN sales_product p ON p.id = l.product_id
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL AND x.original_id IS NOT NULL"""


def _insert_series_days(line_rows: str) -> int:
    return run(f"""
        INSERT INTO care_seriespurchaseday (member_id, series_id, day, quantity, paid_cents)
        SELECT member_id, series_id, day, SUM(quantity), SUM(paid)
        FROM ({line_rows}) lr
        GROUP BY member_id, series_id, day
        HAVING SUM(quantity) > 0""")


def _save_series_cursor(high: int) -> None:
    cursor = CareCursor.objects.select_for_update().filter(name=SERIES_CURSOR).first()
    if cursor is None:
        cursor = CareCursor(name=SERIES_CURSOR, value=0)
    cursor.value = max(high, cursor.value)
    cursor.updated_at = timezone.now()
    cursor.save()


def _build_series_table(high: int) -> int:
    """care_seriespurchaseday from every receipt line."""
    run("DELETE FROM care_seriespurchaseday")
    if pg():
        run("SET LOCAL work_mem = '512MB'")
    count = _insert_series_days(_series_line_rows())
    if pg():
        run("ANALYZE care_seriespurchaseday")
    _save_series_cursor(high)
    return count


def _refresh_series_table(high: int, day_range: str) -> None:
    """Re-derive care_seriespurchaseday for the (member, day) pairs in care_tmp_touched."""
    run("DELETE FROM care_seriespurchaseday "
        "WHERE (member_id, day) IN (SELECT member_id, day FROM care_tmp_touched)")
    _insert_series_days(_series_line_rows(day_range))
    _save_series_cursor(high)


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
                           {cents('s.total_paid')} + COALESCE(r.cents, 0) AS net,
                           {cents('s.total_full_price')} + COALESCE(r.full_cents, 0) AS full_net
                    FROM sales_receipt s
                    LEFT JOIN (SELECT original_id, SUM({cents('total_paid')}) AS cents,
                                      SUM({cents('total_full_price')}) AS full_cents FROM sales_receipt
                               WHERE original_id IS NOT NULL GROUP BY original_id) r ON r.original_id = s.id
                    WHERE s.original_id IS NULL AND s.member_id IS NOT NULL"""
                count = _insert_days(full)
            else:
                count = _insert_days(_sale_rows(""))
            CareCursor.objects.create(name=CURSOR, value=high, updated_at=timezone.now())
            CareCursor.objects.filter(name=STATS_CURSOR).delete()  # the statistics are rebuilt too
            if pg():
                run("ANALYZE care_purchaseday")
            _build_brand_tables(high)
            _build_series_table(high)
            return count
        brand_cursor = CareCursor.objects.select_for_update().filter(name=BRAND_CURSOR).first()
        series_cursor = CareCursor.objects.filter(name=SERIES_CURSOR).first()
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
        day_range = f"""care_tmp_touched t JOIN sales_receipt s
            ON s.member_id = t.member_id AND s.sold_at >= {start} AND s.sold_at < {end}"""
        count = _insert_days(_sale_rows("", day_range))
        if brand_cursor is None:  # the brand tables are new: built once from every receipt
            _build_brand_tables(high)
        else:
            _refresh_brand_tables(brand_cursor, high, low, day_range)
        if series_cursor is None:  # the series table is new: built once from every receipt
            _build_series_table(high)
        else:
            _refresh_series_table(high, day_range)
        if not keep_touched:
            run("DROP TABLE IF EXISTS care_tmp_touched")
        cursor.value = max(high, cursor.value)
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["value", "updated_at"])
        return count


def rebuild_purchase_days() -> int:
    """Forget the cursors and build care_purchaseday (then the statistics) again from every receipt."""
    CareCursor.objects.filter(name__in=[CURSOR, STATS_CURSOR, STATS_SOURCE_CURSOR, BRAND_CURSOR,
                                        SERIES_CURSOR]).delete()
    return refresh_purchase_days()
