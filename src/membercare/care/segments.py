"""Daily segments: every member classified as of a day, in SQL inside the database (no loop over members).

Input. `PurchaseDay` (care.models) holds one row per member and local day (settings.TIME_ZONE, Asia/Shanghai,
of Receipt.sold_at) with a positive net sale: `paid_cents` = what the member paid that day net of returns (a
return — a receipt with `original` set and a negative total — counts against the day of the receipt it
returns, whenever it was made), `receipts` = that day's sale receipts not entirely returned. A *purchase
day* is such a row. `refresh_purchase_days()` keeps the table up to date: the first run builds it from every
receipt; later runs re-derive only the (member, day) pairs of receipts posted since the last run (receipt
id above a stored cursor, with a look-back of LOOKBACK ids for transactions that committed late), so the
daily job never scans the receipts table.

Windows, as of day D (inclusive), with the thresholds of config["segments"] (care.config.DEFAULTS):
"12 months" = the abc window, days D-364..D for window_days=365; "ticket window" = ticket_window_days
(D-182..D); "recent" = churn_recent_days (D-89..D); "RFM window" = rfm.window_days. Only purchase days on or
before D count. "Top share s of a population of N" = the first ceil(s*N) members in the stated order (so a
member is in the top s when fewer than s*N members rank ahead of them); every order ends with the member id,
which makes ties deterministic. "Bottom share s" = the last ceil(s*N) of the same order.

- lifecycle: prospect = no purchase day ever; else, by the days since the last purchase day,
  lost (>= lost_days), sleeping (>= sleeping_days), dormant (>= dormant_days); else new when the first
  purchase day is less than new_days ago (29 days: new, 30: not); else active. (89 days: active, 90: dormant.)
- spend_class (ABC): population = members with a purchase day in the 12 months, ordered by 12-month spend
  descending then member id; A = top a_share, B = the next b_share (top a_share+b_share), C = the rest;
  empty without a purchase day in the 12 months.
- seed 004's seven (config "seven"), the 12-month population and order as for ABC:
  high_value = top high_value_share; high_loyalty = top high_loyalty_share and a median gap between
  consecutive purchase days inside the 12 months <= high_loyalty_max_gap_days (needs two purchase days);
  high_ticket = top high_ticket_share of the members with a purchase day in the ticket window, by average
  receipt there (net paid / receipts, descending, then member id); low_ticket_high_freq = a ticket-window
  average receipt strictly below the median of those averages, and in the top high_freq_share of the
  12-month population by purchase days (descending, then 12-month spend descending, then member id);
  low_ticket_low_freq = bottom low_share of the 12-month population by spend; sleeping = has a purchase
  day and the last one is >= sleeping_days ago; churning = at least churn_min_baseline_days purchase days
  in the baseline (the 12 months before the recent window) and recent purchase days < churn_ratio x the
  baseline rate x the recent window's length (recent / recent_days < ratio x baseline / baseline_days).
- RFM scores 1..5 over the members with a purchase day in the RFM window (0 for the others):
  score = 1 + floor(5 x (rank - 1) / N), rank = SQL RANK() ascending (ties share a score) of R = the last
  purchase day (more recent is higher), F = purchase days, M = net spend in the window.
- pyramid: key when R+F+M >= 13, major 10..12, potential 3..9 (any purchase in the RFM window),
  target = no purchase in the RFM window (prospects and lapsed members: to develop).
- follow_up: A/B/C = spend_class; D = no purchase day in the 12 months.

Stats on MemberSegments: first/last purchase day; purchase_days_12m and spend_12m (12 months);
receipts_6m and spend_6m (ticket window); purchase_days_3m (recent window); median_gap_days (the median gap
in the 12 months, rounded up, so that it compares with an integer threshold exactly as the exact median).

Writes: MemberSegments is upserted for every member whose figures changed or that was computed on an
earlier day; SegmentSpan gets a new span only for members whose segment fields (SEGMENT_FIELD_NAMES)
changed: the open span is closed with valid_to=D and a new one opened from D; recomputing the same day
replaces the span opened that day (and drops it when the result is again the span closed that day).
History only moves forward: a member whose current row was computed on a later day than D is left alone.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from dataclasses import dataclass
from fractions import Fraction

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import SEGMENT_FIELD_NAMES, CareCursor

LOOKBACK = 1000  # receipt ids re-read before the cursor: transactions that committed after a later id
CURSOR = "purchase_days"
TEMP_TABLES = ["care_tmp_touched", "care_tmp_stats", "care_tmp_gap", "care_tmp_rank", "care_tmp_new",
               "care_tmp_changed", "care_tmp_merge"]
FLAG_FIELDS = ["high_value", "high_loyalty", "high_ticket", "low_ticket_high_freq", "low_ticket_low_freq",
               "sleeping", "churning"]
STAT_FIELDS = ["first_purchase_on", "last_purchase_on", "purchase_days_12m", "spend_12m", "receipts_6m",
               "spend_6m", "purchase_days_3m", "median_gap_days"]


# ---- SQL dialect helpers (PostgreSQL and SQLite) -------------------------------------------------------

def _pg() -> bool:
    return connection.vendor == "postgresql"


def _zone() -> str:
    name = settings.TIME_ZONE
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise ValueError(f"unexpected TIME_ZONE {name!r}")
    return name


def _offset_minutes() -> int:
    """SQLite has no time zones: the zone's current UTC offset (exact for zones without DST, like Shanghai)."""
    offset = dt.datetime.now(zoneinfo.ZoneInfo(_zone())).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 60)


def _localday(col: str) -> str:
    if _pg():
        return f"(({col}) AT TIME ZONE '{_zone()}')::date"
    return f"date({col}, '{_offset_minutes():+d} minutes')"


def _lit(day: dt.date) -> str:
    """A date literal (built from a date object: nothing to escape)."""
    return f"DATE '{day.isoformat()}'" if _pg() else f"'{day.isoformat()}'"


def _days_between(later: str, earlier: str) -> str:
    if _pg():
        return f"({later} - {earlier})"
    return f"CAST(ROUND(julianday({later}) - julianday({earlier})) AS INTEGER)"


def _float(expr: str) -> str:
    return f"CAST({expr} AS {'double precision' if _pg() else 'REAL'})"


def _distinct(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if _pg() else f"{a} IS NOT {b}"


def _cents(col: str) -> str:
    return f"CAST(ROUND({col} * 100) AS BIGINT)"


def _money(cents: str) -> str:
    return f"CAST({cents} AS numeric) / 100" if _pg() else f"{cents} / 100.0"


def _temp(name: str, select: str, params: list | tuple = ()) -> None:
    _exec(f"DROP TABLE IF EXISTS {name}")
    _exec(f"CREATE TEMP TABLE {name} {'ON COMMIT DROP ' if _pg() else ''}AS {select}", params)
    if _pg():
        _exec(f"ANALYZE {name}")


def _exec(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _drop_temp() -> None:
    for name in TEMP_TABLES:
        _exec(f"DROP TABLE IF EXISTS {name}")


# ---- the purchase-day table -----------------------------------------------------------------------------

def _sale_rows(where: str, sold_range: str = "") -> str:
    """Per sale receipt: member, local day, net paid in cents (returns subtracted), from `sales_receipt s`."""
    return f"""
        SELECT s.member_id AS member_id, {_localday('s.sold_at')} AS day,
               {_cents('s.total_paid')} + COALESCE((SELECT SUM({_cents('x.total_paid')}) FROM sales_receipt x
                                                    WHERE x.original_id = s.id), 0) AS net
        FROM {sold_range or 'sales_receipt s'}
        WHERE s.original_id IS NULL AND s.member_id IS NOT NULL {where}"""


def _insert_days(sale_rows: str) -> int:
    return _exec(f"""
        INSERT INTO care_purchaseday (member_id, day, paid_cents, receipts)
        SELECT member_id, day, SUM(net), SUM(CASE WHEN net > 0 THEN 1 ELSE 0 END)
        FROM ({sale_rows}) sr
        GROUP BY member_id, day
        HAVING SUM(net) > 0""")


def refresh_purchase_days() -> int:
    """Bring care_purchaseday up to date with the receipts; returns the (member, day) pairs re-derived.

    The first call (no cursor yet) builds the table from every receipt; later calls re-derive only the pairs
    touched by receipts with an id above the cursor (minus LOOKBACK)."""
    with transaction.atomic():
        cursor = CareCursor.objects.select_for_update().filter(name=CURSOR).first()
        high = _fetch("SELECT MAX(id) FROM sales_receipt")[0][0] or 0
        if cursor is None:
            _exec("DELETE FROM care_purchaseday")
            if _pg():
                _exec("SET LOCAL work_mem = '512MB'")
                full = f"""
                    SELECT s.member_id AS member_id, {_localday('s.sold_at')} AS day,
                           {_cents('s.total_paid')} + COALESCE(r.cents, 0) AS net
                    FROM sales_receipt s
                    LEFT JOIN (SELECT original_id, SUM({_cents('total_paid')}) AS cents FROM sales_receipt
                               WHERE original_id IS NOT NULL GROUP BY original_id) r ON r.original_id = s.id
                    WHERE s.original_id IS NULL AND s.member_id IS NOT NULL"""
                count = _insert_days(full)
            else:
                count = _insert_days(_sale_rows(""))
            CareCursor.objects.create(name=CURSOR, value=high, updated_at=timezone.now())
            if _pg():
                _exec("ANALYZE care_purchaseday")
            return count
        low = max(cursor.value - LOOKBACK, 0)
        _temp("care_tmp_touched", f"""
            SELECT DISTINCT COALESCE(o.member_id, r.member_id) AS member_id,
                   {_localday('COALESCE(o.sold_at, r.sold_at)')} AS day
            FROM sales_receipt r LEFT JOIN sales_receipt o ON o.id = r.original_id
            WHERE r.id > %s AND COALESCE(o.member_id, r.member_id) IS NOT NULL""", [low])
        _exec("DELETE FROM care_purchaseday WHERE (member_id, day) IN (SELECT member_id, day FROM care_tmp_touched)")
        if _pg():
            start = f"(t.day::timestamp AT TIME ZONE '{_zone()}')"
            end = f"((t.day + 1)::timestamp AT TIME ZONE '{_zone()}')"
        else:
            minutes = -_offset_minutes()
            start = f"datetime(t.day, '{minutes:+d} minutes')"
            end = f"datetime(t.day, '+1 day', '{minutes:+d} minutes')"
        count = _insert_days(_sale_rows("", f"""care_tmp_touched t JOIN sales_receipt s
            ON s.member_id = t.member_id AND s.sold_at >= {start} AND s.sold_at < {end}"""))
        _exec("DROP TABLE IF EXISTS care_tmp_touched")
        cursor.value = max(high, cursor.value)
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["value", "updated_at"])
        return count


def rebuild_purchase_days() -> int:
    """Forget the cursor and build care_purchaseday again from every receipt."""
    CareCursor.objects.filter(name=CURSOR).delete()
    return refresh_purchase_days()


# ---- the segments ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Windows:
    day: dt.date
    w12: dt.date  # first day of the 12 months
    ticket: dt.date
    recent: dt.date
    rfm: dt.date
    baseline_days: int
    recent_days: int

    @classmethod
    def of(cls, day: dt.date, seg: dict) -> Windows:
        window = int(seg["abc"]["window_days"])
        recent = int(seg["seven"]["churn_recent_days"])

        def start(days: int) -> dt.date:
            return day - dt.timedelta(days=int(days) - 1)

        return cls(day=day, w12=start(window), ticket=start(seg["seven"]["ticket_window_days"]),
                   recent=start(recent), rfm=start(seg["rfm"]["window_days"]),
                   baseline_days=window - recent, recent_days=recent)


def top_count(share: float, population: int) -> int:
    """How many members the top `share` of `population` holds: ceil(share x population), exactly."""
    return math.ceil(Fraction(str(share)) * population)


def _build_stats(w: Windows) -> None:
    d, w12, wt, wr, wrfm = (_lit(x) for x in (w.day, w.w12, w.ticket, w.recent, w.rfm))
    _temp("care_tmp_stats", f"""
        SELECT member_id, MIN(day) AS first_day, MAX(day) AS last_day,
               COUNT(*) FILTER (WHERE day >= {w12}) AS days_12m,
               COALESCE(SUM(paid_cents) FILTER (WHERE day >= {w12}), 0) AS cents_12m,
               COALESCE(SUM(receipts) FILTER (WHERE day >= {wt}), 0) AS receipts_t,
               COALESCE(SUM(paid_cents) FILTER (WHERE day >= {wt}), 0) AS cents_t,
               COUNT(*) FILTER (WHERE day >= {wr}) AS days_recent,
               COUNT(*) FILTER (WHERE day >= {w12} AND day < {wr}) AS days_base,
               MAX(day) FILTER (WHERE day >= {wrfm}) AS rfm_last,
               COUNT(*) FILTER (WHERE day >= {wrfm}) AS rfm_days,
               COALESCE(SUM(paid_cents) FILTER (WHERE day >= {wrfm}), 0) AS rfm_cents
        FROM care_purchaseday WHERE day <= {d}
        GROUP BY member_id""")
    # median gap between consecutive purchase days inside the 12 months, rounded up: ceil((a + b) / 2) of the
    # middle one or two gaps
    _temp("care_tmp_gap", f"""
        SELECT member_id, (MIN(gap) + MAX(gap) + 1) / 2 AS median_gap
        FROM (SELECT member_id, gap, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY gap) AS rn,
                     COUNT(*) OVER (PARTITION BY member_id) AS cnt
              FROM (SELECT member_id,
                           {_days_between('day', 'LAG(day) OVER (PARTITION BY member_id ORDER BY day)')} AS gap
                    FROM care_purchaseday WHERE day >= {w12} AND day <= {d}) g
              WHERE gap IS NOT NULL) r
        WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2
        GROUP BY member_id""")


def _rank() -> None:
    ticket = f"{_float('cents_t')} / NULLIF(receipts_t, 0)"
    _temp("care_tmp_rank", f"""
        SELECT s.*, g.median_gap,
          CASE WHEN days_12m > 0 THEN ROW_NUMBER() OVER (PARTITION BY days_12m > 0
                                                        ORDER BY cents_12m DESC, s.member_id) END AS p_sales,
          CASE WHEN days_12m > 0 THEN ROW_NUMBER() OVER (PARTITION BY days_12m > 0
                                                        ORDER BY days_12m DESC, cents_12m DESC, s.member_id)
               END AS p_freq,
          CASE WHEN receipts_t > 0 THEN ROW_NUMBER() OVER (PARTITION BY receipts_t > 0
                                                          ORDER BY {ticket} DESC, s.member_id) END AS p_ticket,
          CASE WHEN receipts_t > 0 THEN {ticket} END AS ticket,
          CASE WHEN rfm_days > 0 THEN RANK() OVER (PARTITION BY rfm_days > 0 ORDER BY rfm_last) END AS r_rank,
          CASE WHEN rfm_days > 0 THEN RANK() OVER (PARTITION BY rfm_days > 0 ORDER BY rfm_days) END AS f_rank,
          CASE WHEN rfm_days > 0 THEN RANK() OVER (PARTITION BY rfm_days > 0 ORDER BY rfm_cents) END AS m_rank
        FROM care_tmp_stats s LEFT JOIN care_tmp_gap g ON g.member_id = s.member_id""")


def _classify(w: Windows, seg: dict) -> None:
    n12, nt, nr = _fetch("""SELECT COUNT(*) FILTER (WHERE days_12m > 0), COUNT(*) FILTER (WHERE receipts_t > 0),
                                   COUNT(*) FILTER (WHERE rfm_days > 0) FROM care_tmp_stats""")[0]
    # the median average receipt (over the ticket window), taken in Python from the one or two middle values
    middle = [row[0] for row in _fetch("SELECT ticket FROM care_tmp_rank WHERE ticket IS NOT NULL ORDER BY ticket "
                                       "LIMIT %s OFFSET %s", [2 - nt % 2, (nt - 1) // 2])] if nt else []
    median_ticket = (middle[0] + middle[-1]) / 2 if middle else 0.0
    life, abc, seven = seg["lifecycle"], seg["abc"], seg["seven"]
    k_a = top_count(abc["a_share"], n12)
    k_ab = top_count(Fraction(str(abc["a_share"])) + Fraction(str(abc["b_share"])), n12)
    ratio = Fraction(str(seven["churn_ratio"]))
    d = _lit(w.day)
    since_last = _days_between(d, "s.last_day")
    true, false = "TRUE", "FALSE"

    def flag(cond: str) -> str:
        return f"CASE WHEN {cond} THEN {true} ELSE {false} END"

    def score(rank: str) -> str:
        return f"COALESCE(1 + (5 * ({rank} - 1)) / {max(nr, 1)}, 0)"

    _temp("care_tmp_new", f"""
        SELECT c.*,
          CASE WHEN c.rfm_r = 0 THEN 'target' WHEN c.rfm_r + c.rfm_f + c.rfm_m >= 13 THEN 'key'
               WHEN c.rfm_r + c.rfm_f + c.rfm_m >= 10 THEN 'major' ELSE 'potential' END AS pyramid,
          CASE WHEN c.spend_class = '' THEN 'D' ELSE c.spend_class END AS follow_up
        FROM (
        SELECT m.id AS member_id,
          CASE WHEN s.member_id IS NULL THEN 'prospect'
               WHEN {since_last} >= {int(life['lost_days'])} THEN 'lost'
               WHEN {since_last} >= {int(life['sleeping_days'])} THEN 'sleeping'
               WHEN {since_last} >= {int(life['dormant_days'])} THEN 'dormant'
               WHEN {_days_between(d, 's.first_day')} < {int(life['new_days'])} THEN 'new'
               ELSE 'active' END AS lifecycle,
          CASE WHEN s.p_sales IS NULL THEN '' WHEN s.p_sales <= {k_a} THEN 'A' WHEN s.p_sales <= {k_ab} THEN 'B'
               ELSE 'C' END AS spend_class,
          {score('s.r_rank')} AS rfm_r, {score('s.f_rank')} AS rfm_f, {score('s.m_rank')} AS rfm_m,
          {flag(f"s.p_sales <= {top_count(seven['high_value_share'], n12)}")} AS high_value,
          {flag(f"s.p_sales <= {top_count(seven['high_loyalty_share'], n12)} AND s.median_gap <= "
                f"{int(seven['high_loyalty_max_gap_days'])}")} AS high_loyalty,
          {flag(f"s.p_ticket <= {top_count(seven['high_ticket_share'], nt)}")} AS high_ticket,
          {flag(f"s.ticket < %s AND s.p_freq <= {top_count(seven['high_freq_share'], n12)}")}
            AS low_ticket_high_freq,
          {flag(f"s.p_sales > {n12 - top_count(seven['low_share'], n12)}")} AS low_ticket_low_freq,
          {flag(f"{since_last} >= {int(seven['sleeping_days'])}")} AS sleeping,
          {flag(f"s.days_base >= {int(seven['churn_min_baseline_days'])} AND "
                f"s.days_recent * {w.baseline_days * ratio.denominator} < "
                f"{ratio.numerator * w.recent_days} * s.days_base")} AS churning,
          s.first_day AS first_purchase_on, s.last_day AS last_purchase_on,
          COALESCE(s.days_12m, 0) AS purchase_days_12m, {_money('COALESCE(s.cents_12m, 0)')} AS spend_12m,
          COALESCE(s.receipts_t, 0) AS receipts_6m, {_money('COALESCE(s.cents_t, 0)')} AS spend_6m,
          COALESCE(s.days_recent, 0) AS purchase_days_3m, s.median_gap AS median_gap_days
        FROM members_member m LEFT JOIN care_tmp_rank s ON s.member_id = m.id) c""", [median_ticket])


def _write(w: Windows) -> int:
    d = _lit(w.day)
    seg_diff = " OR ".join(f"n.{f} <> c.{f}" for f in SEGMENT_FIELD_NAMES)
    stat_diff = " OR ".join(_distinct(f"n.{f}", f"c.{f}") for f in STAT_FIELDS)
    _temp("care_tmp_changed", f"""
        SELECT n.member_id, CASE WHEN c.member_id IS NULL OR {seg_diff} THEN 1 ELSE 0 END AS seg_changed
        FROM care_tmp_new n LEFT JOIN care_membersegments c ON c.member_id = n.member_id
        WHERE c.member_id IS NULL OR (c.computed_on <= {d} AND (c.computed_on < {d} OR {seg_diff} OR {stat_diff}))""")
    fields = [*SEGMENT_FIELD_NAMES, *STAT_FIELDS]
    cols = ", ".join(fields)
    _exec(f"""
        INSERT INTO care_membersegments (member_id, computed_on, {cols})
        SELECT n.member_id, {d}, {', '.join(f'n.{f}' for f in fields)}
        FROM care_tmp_new n JOIN care_tmp_changed ch ON ch.member_id = n.member_id WHERE TRUE
        ON CONFLICT (member_id) DO UPDATE SET computed_on = excluded.computed_on,
          {', '.join(f'{f} = excluded.{f}' for f in fields)}""")
    # history, for the members whose segments changed
    _exec("DELETE FROM care_tmp_changed WHERE seg_changed = 0")
    changed = _fetch("SELECT COUNT(*) FROM care_tmp_changed")[0][0]
    if not changed:
        return 0
    seg_cols = ", ".join(SEGMENT_FIELD_NAMES)
    _exec(f"""
        UPDATE care_segmentspan SET {', '.join(f'{f} = n.{f}' for f in SEGMENT_FIELD_NAMES)}
        FROM care_tmp_new n
        WHERE n.member_id = care_segmentspan.member_id AND care_segmentspan.valid_to IS NULL
          AND care_segmentspan.valid_from = {d}
          AND care_segmentspan.member_id IN (SELECT member_id FROM care_tmp_changed)""")
    _exec(f"""
        UPDATE care_segmentspan SET valid_to = {d}
        WHERE valid_to IS NULL AND valid_from < {d} AND member_id IN (SELECT member_id FROM care_tmp_changed)""")
    _exec(f"""
        INSERT INTO care_segmentspan (member_id, valid_from, valid_to, {seg_cols})
        SELECT n.member_id, {d}, NULL, {', '.join(f'n.{f}' for f in SEGMENT_FIELD_NAMES)}
        FROM care_tmp_new n JOIN care_tmp_changed ch ON ch.member_id = n.member_id
        WHERE NOT EXISTS (SELECT 1 FROM care_segmentspan s WHERE s.member_id = n.member_id AND s.valid_to IS NULL)""")
    # a same-day recompute that lands back on the span closed today: drop today's span, reopen that one
    same = " AND ".join(f"p.{f} = n.{f}" for f in SEGMENT_FIELD_NAMES)
    _temp("care_tmp_merge", f"""
        SELECT p.member_id FROM care_segmentspan p
        JOIN care_tmp_changed ch ON ch.member_id = p.member_id
        JOIN care_tmp_new n ON n.member_id = p.member_id
        WHERE p.valid_to = {d} AND p.valid_from < {d} AND {same}""")
    _exec(f"""DELETE FROM care_segmentspan WHERE valid_to IS NULL AND valid_from = {d}
              AND member_id IN (SELECT member_id FROM care_tmp_merge)""")
    _exec(f"""UPDATE care_segmentspan SET valid_to = NULL WHERE valid_to = {d}
              AND member_id IN (SELECT member_id FROM care_tmp_merge)""")
    return changed


def segments_compute(day: dt.date, config: dict) -> int:
    """Recompute every member's segments as of `day`; returns how many members' segments changed."""
    seg = config["segments"]
    w = Windows.of(day, seg)
    with transaction.atomic():
        refresh_purchase_days()
        if _pg():
            _exec("SET LOCAL work_mem = '256MB'")
        _build_stats(w)
        _rank()
        _classify(w, seg)
        changed = _write(w)
        _drop_temp()
    return changed
