"""Per brand and member, the BG/NBD / Gamma-Gamma summary (x, t_x, T, m_x), aggregated inside the database
and fetched as numpy arrays.

Purchase days are counted as care's segments count them (care.segments, care.models.PurchaseDay): a
*purchase day* of a member at a brand is a local day (settings.TIME_ZONE) on which the member's receipts at
the brand's stores, net of returns, are positive; a return (a receipt with `original` set) counts against
the day and store of the receipt it returns. Only receipts sold and returns made on or before `as_of`
count. Then, in days:
  x  (frequency) = purchase days − 1 (repeat purchase days),
  t_x (recency)  = last purchase day − first purchase day,
  T  (age)       = as_of − first purchase day,
  m_x (monetary) = mean net value of the repeat purchase days (the first day excluded; 0 when x = 0).
The models are fitted in weeks (days / 7).

Three routes give the same arrays (tests/prediction/test_summary.py compares them):
- "summary" (a brand, the weekly run): care's BrandPurchaseSummary holds per member and brand the purchase
  days, the first and last day and the values of every day and of the first; when no receipt folded into it
  is later than `as_of` (its cursor's last day, care.purchase_days.BRAND_CURSOR), it is the summary as of
  `as_of` and is read alone. `refresh_purchase_days()` is called first: it re-derives only the purchase days
  and members touched by the receipts posted since its last run (issue 23: the weekly summary reads only what
  changed).
- "purchase_days" (a brand and a past `as_of`): care's BrandPurchaseDay rows on or before `as_of`. The table
  holds today's nets, so the days touched by returns made after `as_of` are re-derived from their receipts
  (see `_purchase_days_as_of_sql`): a past `as_of` counts only what was known then. For the whole chain
  (brand None) the same from care's PurchaseDay.
- "receipts": the receipts themselves (brand None by default; the reference the others are checked against).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from membercare.care import purchase_days, segment_sql
from membercare.core import sql as core_sql

ROUTES = ("auto", "summary", "purchase_days", "receipts")


@dataclass(frozen=True)
class BrandSummary:
    brand_id: int | None
    as_of: dt.date
    member_id: np.ndarray  # int64
    x: np.ndarray  # repeat purchase days
    t_x_days: np.ndarray
    T_days: np.ndarray
    monetary: np.ndarray  # mean value of a repeat purchase day (yuan, float); 0 when x = 0
    source: str  # the route read: "summary", "purchase_days" or "receipts"

    def __len__(self) -> int:
        return int(self.member_id.shape[0])

    @property
    def t_x(self) -> np.ndarray:
        return self.t_x_days / 7.0

    @property
    def T(self) -> np.ndarray:
        return self.T_days / 7.0


def _end_of(day: dt.date) -> str:
    """The first instant after local day `day`, as an SQL timestamp expression (built from a date: no input)."""
    nxt = (day + dt.timedelta(days=1)).isoformat()
    if core_sql.pg():
        return f"(TIMESTAMP '{nxt} 00:00' AT TIME ZONE '{core_sql.zone()}')"
    minutes = -core_sql.offset_minutes()
    return f"datetime('{nxt}', '{minutes:+d} minutes')"


def _per_member(days_sql: str, as_of: dt.date) -> str:
    """From rows (member_id, day, cents) of purchase days, one row per member."""
    lit = core_sql.lit(as_of)
    between = segment_sql.days_between
    return f"""
        SELECT member_id, COUNT(*) - 1 AS x,
               {between('MAX(day)', 'MIN(day)')} AS t_x,
               {between(lit, 'MIN(day)')} AS age,
               {segment_sql.as_float('SUM(CASE WHEN rn > 1 THEN cents ELSE 0 END)')} AS repeat_cents
        FROM (SELECT member_id, day, cents, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY day) AS rn
              FROM ({days_sql}) d) w
        GROUP BY member_id
        """  # in any order: _rows sorts by member


def _receipt_days_sql(as_of: dt.date, brand_id: int | None = 0) -> str:
    localday = core_sql.localday("s.sold_at")

    def cents(col: str) -> str:  # a double holds whole cents exactly and sums faster than numeric
        return segment_sql.as_float(f"ROUND({col} * 100)")

    end = _end_of(as_of)
    return f"""
        SELECT s.member_id AS member_id, {localday} AS day,
               SUM({cents('s.total_paid')} + COALESCE(r.cents, 0)) AS cents
        FROM sales_receipt s
        JOIN org_store st ON st.id = s.store_id
        LEFT JOIN (SELECT original_id, SUM({cents('total_paid')}) AS cents FROM sales_receipt
                   WHERE original_id IS NOT NULL AND sold_at < {end} GROUP BY original_id) r ON r.original_id = s.id
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL AND s.sold_at < {end}
              {"AND st.brand_id = %s" if brand_id is not None else ""}
        GROUP BY s.member_id, {localday}
        HAVING SUM({cents('s.total_paid')} + COALESCE(r.cents, 0)) > 0"""


def _day_range(day_col: str) -> tuple[str, str]:
    """The first instant of local day `day_col` (a date column) and the first instant after it."""
    if core_sql.pg():
        return (f"({day_col}::timestamp AT TIME ZONE '{core_sql.zone()}')",
                f"(({day_col} + 1)::timestamp AT TIME ZONE '{core_sql.zone()}')")
    minutes = -core_sql.offset_minutes()
    return f"datetime({day_col}, '{minutes:+d} minutes')", f"datetime({day_col}, '+1 day', '{minutes:+d} minutes')"


def _purchase_days_as_of_sql(as_of: dt.date, brand_id: int | None) -> str:
    """The brand's purchase days (care_brandpurchaseday; brand None: the chain's, care_purchaseday) as they
    stood at the end of `as_of`. The table holds each day net of every return made so far; a return made after
    `as_of` (against a sale on or before it) must not count, so the (member, day) pairs such returns touch are
    re-derived from their receipts with only the returns made by then, and every other day is read from the
    table. Returns are few (a partial index holds them): the patch stays small."""
    end = _end_of(as_of)
    localday = core_sql.localday("o.sold_at")
    if brand_id is None:
        table, at_brand, o_store, s_store = "care_purchaseday", "", "", ""
    else:
        brand = int(brand_id)  # an int in the SQL text: nothing to escape
        table, at_brand = "care_brandpurchaseday", f"AND p.brand_id = {brand}"
        o_store = f"JOIN org_store os ON os.id = o.store_id AND os.brand_id = {brand}"
        s_store = f"JOIN org_store ss ON ss.id = s.store_id AND ss.brand_id = {brand}"
    touched = f"""
        SELECT DISTINCT o.member_id AS member_id, {localday} AS day
        FROM sales_receipt r JOIN sales_receipt o ON o.id = r.original_id {o_store}
        WHERE r.original_id IS NOT NULL AND r.sold_at >= {end} AND o.sold_at < {end}
              AND o.member_id IS NOT NULL"""
    start_of, end_of = _day_range("t.day")
    cents = segment_sql.cents

    net = f"""{cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                  WHERE x.original_id = s.id AND x.sold_at < {end}), 0)"""
    return f"""
        SELECT p.member_id AS member_id, p.day AS day, p.paid_cents AS cents
        FROM {table} p
        WHERE p.day <= {core_sql.lit(as_of)} {at_brand}
              AND NOT EXISTS (SELECT 1 FROM ({touched}) t WHERE t.member_id = p.member_id AND t.day = p.day)
        UNION ALL
        SELECT s.member_id AS member_id, {core_sql.localday("s.sold_at")} AS day, SUM({net}) AS cents
        FROM ({touched}) t JOIN sales_receipt s
             ON s.member_id = t.member_id AND s.sold_at >= {start_of} AND s.sold_at < {end_of} {s_store}
        WHERE s.original_id IS NULL
        GROUP BY s.member_id, {core_sql.localday("s.sold_at")}
        HAVING SUM({net}) > 0"""


def _summary_table_sql(as_of: dt.date) -> str:
    """care_brandpurchasesummary as the per-member rows of `_per_member` (valid when nothing folded into it is
    later than `as_of`)."""
    lit = core_sql.lit(as_of)
    between = segment_sql.days_between
    return f"""
        SELECT member_id, days - 1 AS x, {between('last_day', 'first_day')} AS t_x,
               {between(lit, 'first_day')} AS age, {segment_sql.as_float('paid_cents - first_cents')} AS repeat_cents
        FROM care_brandpurchasesummary
        WHERE brand_id = %s AND first_day <= {lit}"""  # in any order: sorted by member in numpy


_COLUMNS = 5  # member_id, x, t_x, age, repeat_cents
_PARTS = 16  # PostgreSQL: the rows come in this many bytea values (each well below the 1 GB limit of one)


def _rows(cur, sql: str, params: list) -> np.ndarray:  # noqa: ANN001 (a DB-API cursor)
    """The rows of `sql` (five numeric columns) as an (n, 5) float64 array, ordered by the first (member id).
    On PostgreSQL each row is packed into 40 bytes (five float8 in network order) and the rows are
    concatenated into a few bytea values fetched in binary and read by numpy as they are: no Python object per
    value (a million members' rows in a third of the time of fetchall)."""
    if not core_sql.pg():
        cur.execute(sql, params)
        data = np.array(cur.fetchall(), dtype=np.float64).reshape(-1, _COLUMNS)
    else:
        import psycopg  # the PostgreSQL driver: binary results need a cursor with server-side parameters

        packed = " || ".join(f"float8send(CAST(c{i} AS double precision))" for i in range(_COLUMNS))
        columns = ", ".join(f"c{i}" for i in range(_COLUMNS))
        agg = f"""SELECT string_agg({packed}, ''::bytea) FROM ({sql}) q ({columns})
                  GROUP BY MOD(CAST(c0 AS bigint), {_PARTS})"""
        with psycopg.Cursor(cur.connection) as binary:
            binary.execute(agg, params or None, binary=True)
            parts = [bytes(row[0]) for row in binary.fetchall()]
        data = np.frombuffer(b"".join(parts), dtype=">f8").astype(np.float64).reshape(-1, _COLUMNS)
    return data[np.argsort(data[:, 0], kind="stable")]


def _summary_is_current(cur, as_of: dt.date) -> bool:  # noqa: ANN001 (a DB-API cursor)
    """True when no receipt folded into care's per-brand tables is later than `as_of` (their summary table is
    then the summary as of `as_of`). The cursor row is locked (PostgreSQL, to the end of the transaction): no
    refresh folds a later receipt in between this check and the read."""
    lock = " FOR SHARE" if core_sql.pg() else ""
    cur.execute(f"SELECT key FROM care_carecursor WHERE name = %s{lock}", [purchase_days.BRAND_CURSOR])
    row = cur.fetchone()
    return row is not None and (not row[0] or dt.date.fromisoformat(row[0]) <= as_of)


def brand_summary(brand_id: int | None, as_of: dt.date, *, route: str = "auto") -> BrandSummary:
    """The summary of every member with a purchase day at the brand (None: at any store of the chain) on or
    before `as_of`, ordered by member id. `route` "auto" reads, for a brand, the summary table when it is
    current for `as_of` and else the purchase-day table; for the chain, the receipts. The others force one
    ("summary" raises ValueError when the table holds later receipts)."""
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}")
    if route == "summary" and brand_id is None:
        raise ValueError("the summary table is per brand")
    if route == "auto" and brand_id is None:
        route = "receipts"
    if route != "receipts":
        purchase_days.refresh_purchase_days()
    with transaction.atomic(), connection.cursor() as cur:
        if core_sql.pg():
            cur.execute("SET LOCAL work_mem = '512MB'")  # the per-member sort stays in memory
            cur.execute("SET LOCAL jit = off")
        if route in ("auto", "summary"):
            current = _summary_is_current(cur, as_of)
            if route == "summary" and not current:
                raise ValueError(f"the summary table holds receipts later than {as_of}: read the purchase days")
            route = "summary" if current else "purchase_days"
        if route == "receipts":
            data = _rows(cur, _per_member(_receipt_days_sql(as_of, brand_id), as_of),
                         [brand_id] if brand_id is not None else [])
        elif route == "summary":
            data = _rows(cur, _summary_table_sql(as_of), [brand_id])
        else:
            data = _rows(cur, _per_member(_purchase_days_as_of_sql(as_of, brand_id), as_of), [])
    x = data[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, data[:, 4] / 100.0 / np.maximum(x, 1), 0.0)
    return BrandSummary(brand_id=brand_id, as_of=as_of, member_id=data[:, 0].astype(np.int64), x=x,
                        t_x_days=data[:, 2], T_days=data[:, 3], monetary=monetary, source=route)
