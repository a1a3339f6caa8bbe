"""Daily segments: every member classified as of a day, in SQL inside the database (no loop over members).

Input. `PurchaseDay` (care.models) holds one row per member and local day (settings.TIME_ZONE, Asia/Shanghai,
of Receipt.sold_at) with a positive net sale: `paid_cents` = what the member paid that day net of returns (a
return — a receipt with `original` set and a negative total — counts against the day of the receipt it
returns, whenever it was made), `receipts` = that day's sale receipts not entirely returned. A *purchase
day* is such a row. `refresh_purchase_days()` keeps the table up to date: the first run builds it from every
receipt; later runs re-derive only the (member, day) pairs of receipts posted since the last run (receipt
id above a stored cursor, with a look-back of LOOKBACK ids for transactions that committed late), so the
daily job never scans the receipts table. `PurchaseStats` holds each member's windowed figures as of the day
of CareCursor "purchase_stats"; a later day re-reads only the members with a re-derived purchase day, a
purchase day after that day, or one that left a window since (about 4 % of the members a day); a change of
window lengths, an earlier day or a rebuild recomputes them all. Ranks are not materialised per member: each
ordering is reduced to its few cut-off rows (one narrow sort each, or a histogram for dates and day counts),
and every member is compared with them.

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

Writes: MemberSegments is upserted only for members whose segments or figures changed (so `computed_on`
is the day of the computation that last changed the row; the last run is DailyRun); SegmentSpan gets a
new span only for members whose segment fields (SEGMENT_FIELD_NAMES) changed: the open span is closed with
valid_to=D and a new one opened from D; recomputing the same day
replaces the span opened that day (and drops it when the result is again the span closed that day).
History only moves forward: a member whose current row was computed on a later day than D is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
import zoneinfo
from dataclasses import dataclass
from fractions import Fraction

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import SEGMENT_FIELD_NAMES, CareCursor

logger = logging.getLogger(__name__)

LOOKBACK = 1000  # receipt ids re-read before the cursor: transactions that committed after a later id
CURSOR = "purchase_days"
STATS_CURSOR = "purchase_stats"
TEMP_TABLES = ["care_tmp_touched", "care_tmp_affected", "care_tmp_new",
               "care_tmp_changed", "care_tmp_merge"]
TIMINGS: dict[str, float | str] = {}  # seconds per stage of the last segments_compute (for the benchmark)
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
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%.2f s %s rows: %s", time.perf_counter() - started, cur.rowcount, " ".join(sql.split())[:150])
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


def refresh_purchase_days(*, keep_touched: bool = False) -> int:
    """Bring care_purchaseday up to date with the receipts; returns the (member, day) pairs re-derived.

    The first call (no cursor yet) builds the table from every receipt (and drops the statistics cursor);
    later calls re-derive only the pairs touched by receipts with an id above the cursor (minus LOOKBACK),
    listed in the temporary table care_tmp_touched (kept for the caller with keep_touched)."""
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
            CareCursor.objects.filter(name=STATS_CURSOR).delete()  # the statistics are rebuilt too
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
        if not keep_touched:
            _exec("DROP TABLE IF EXISTS care_tmp_touched")
        cursor.value = max(high, cursor.value)
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["value", "updated_at"])
        return count


def rebuild_purchase_days() -> int:
    """Forget the cursors and build care_purchaseday (then the statistics) again from every receipt."""
    CareCursor.objects.filter(name__in=[CURSOR, STATS_CURSOR]).delete()
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
    def of_starts(cls, day: dt.date, like: Windows) -> Windows:
        """The windows of the same lengths as `like`, ending on `day`."""
        shift = like.day - day
        return cls(day=day, w12=like.w12 - shift, ticket=like.ticket - shift, recent=like.recent - shift,
                   rfm=like.rfm - shift, baseline_days=like.baseline_days, recent_days=like.recent_days)

    @classmethod
    def of(cls, day: dt.date, seg: dict) -> Windows:
        window = int(seg["abc"]["window_days"])
        recent = int(seg["seven"]["churn_recent_days"])

        def start(days: int) -> dt.date:
            return day - dt.timedelta(days=int(days) - 1)

        return cls(day=day, w12=start(window), ticket=start(seg["seven"]["ticket_window_days"]),
                   recent=start(recent), rfm=start(seg["rfm"]["window_days"]),
                   baseline_days=window - recent, recent_days=recent)

    def key(self) -> str:
        """What the statistics depend on besides the day: the window lengths."""
        return (f"12m={(self.day - self.w12).days + 1} t={(self.day - self.ticket).days + 1} "
                f"r={self.recent_days} rfm={(self.day - self.rfm).days + 1}")


def top_count(share: float, population: int) -> int:
    """How many members the top `share` of `population` holds: ceil(share x population), exactly."""
    return math.ceil(Fraction(str(share)) * population)


def _stats_sql(w: Windows, only: str = "") -> str:
    """INSERT of the statistics (care_purchasestats) of every member with a purchase day by `w.day`, or of the
    members in the temporary table `only` (joined, so that their rows are read through the primary key)."""
    d, w12, wt, wr, wrfm = (_lit(x) for x in (w.day, w.w12, w.ticket, w.recent, w.rfm))
    source = (f"{only} x JOIN care_purchaseday p ON p.member_id = x.member_id" if only
              else "care_purchaseday p")
    # median gap between consecutive purchase days inside the 12 months, rounded up: ceil((a + b) / 2) of the
    # middle one or two gaps
    return f"""
        INSERT INTO care_purchasestats (member_id, first_day, last_day, days_12m, cents_12m, receipts_t, cents_t,
                                        days_recent, days_base, rfm_last, rfm_days, rfm_cents, median_gap)
        SELECT a.*, g.median_gap FROM (
          SELECT p.member_id, MIN(p.day) AS first_day, MAX(p.day) AS last_day,
               COUNT(*) FILTER (WHERE p.day >= {w12}) AS days_12m,
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {w12}), 0) AS cents_12m,
               COALESCE(SUM(p.receipts) FILTER (WHERE p.day >= {wt}), 0) AS receipts_t,
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {wt}), 0) AS cents_t,
               COUNT(*) FILTER (WHERE p.day >= {wr}) AS days_recent,
               COUNT(*) FILTER (WHERE p.day >= {w12} AND p.day < {wr}) AS days_base,
               MAX(p.day) FILTER (WHERE p.day >= {wrfm}) AS rfm_last,
               COUNT(*) FILTER (WHERE p.day >= {wrfm}) AS rfm_days,
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {wrfm}), 0) AS rfm_cents
          FROM {source} WHERE p.day <= {d}
          GROUP BY p.member_id) a
        LEFT JOIN (
          SELECT member_id, (MIN(gap) + MAX(gap) + 1) / 2 AS median_gap
          FROM (SELECT member_id, gap, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY gap) AS rn,
                       COUNT(*) OVER (PARTITION BY member_id) AS cnt
                FROM (SELECT p.member_id,
                             {_days_between('p.day', 'LAG(p.day) OVER (PARTITION BY p.member_id ORDER BY p.day)')}
                               AS gap
                      FROM {source} WHERE p.day >= {w12} AND p.day <= {d}) g
                WHERE gap IS NOT NULL) r
          WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2
          GROUP BY member_id) g ON g.member_id = a.member_id"""


def _build_stats(w: Windows, touched: bool) -> str:
    """Bring care_purchasestats to `w.day`: incrementally from the day they were made for (same windows, not
    later), re-reading only the members with a touched purchase day (`touched`: care_tmp_touched exists),
    a purchase day after that day, or one that left a window since; otherwise all of them."""
    state = CareCursor.objects.select_for_update().filter(name=STATS_CURSOR).first()
    previous = dt.date.fromordinal(state.value) if state else None
    if state is None or state.key != w.key() or previous > w.day:
        _exec("DELETE FROM care_purchasestats")
        _exec(_stats_sql(w))
        how = "full"
    else:
        p = Windows.of_starts(previous, w)
        ranges = [f"(day > {_lit(previous)} AND day <= {_lit(w.day)})"]
        for before, now in ((p.w12, w.w12), (p.ticket, w.ticket), (p.recent, w.recent), (p.rfm, w.rfm)):
            if before < now:
                ranges.append(f"(day >= {_lit(before)} AND day < {_lit(now)})")
        _temp("care_tmp_affected", f"""
            SELECT member_id FROM care_purchaseday WHERE {' OR '.join(ranges)}
            {'UNION SELECT member_id FROM care_tmp_touched' if touched else ''}""")
        _exec("DELETE FROM care_purchasestats WHERE member_id IN (SELECT member_id FROM care_tmp_affected)")
        _exec(_stats_sql(w, "care_tmp_affected"))
        how = "incremental"
    CareCursor.objects.update_or_create(name=STATS_CURSOR, defaults={
        "value": w.day.toordinal(), "key": w.key(), "updated_at": timezone.now()})
    if _pg():
        _exec("ANALYZE care_purchasestats")
    return how


def _positions(order: str, where: str, columns: list[str], positions: set[int]) -> dict[int, tuple]:
    """The rows at 1-based `positions` of care_purchasestats in `order`: one narrow sort, not a rank per member."""
    wanted = sorted(p for p in positions if p >= 1)
    if not wanted:
        return {}
    inner = ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(columns))
    outer = ", ".join(f"c{i}" for i in range(len(columns)))
    rows = _fetch(f"""SELECT rn, {outer} FROM (
                        SELECT {inner}, ROW_NUMBER() OVER (ORDER BY {order}) AS rn
                        FROM care_purchasestats WHERE {where}) q
                      WHERE rn IN ({', '.join(str(p) for p in wanted)})""")
    return {row[0]: tuple(row[1:]) for row in rows}


def _smallest(column: str, where: str, positions: list[int]) -> list:
    """The t-th smallest value of `column` for each t in `positions`, from a histogram (few distinct values)."""
    histogram = _fetch(f"SELECT {column}, COUNT(*) FROM care_purchasestats WHERE {where} GROUP BY {column} "
                       f"ORDER BY {column}")
    out, seen, i = [], 0, 0
    for t in positions:
        while seen + histogram[i][1] < t:
            seen += histogram[i][1]
            i += 1
        out.append(histogram[i][0])
    return out


def _top(cut: tuple | None, keys: list[tuple[str, str]]) -> str:
    """SQL: the row is at or before the cut-off row `cut` in the order `keys` [(column, 'DESC'|'ASC'), ...]
    (lexicographic, the last key is the member id). None: no row qualifies."""
    if cut is None:
        return "FALSE"
    (column, direction), value = keys[0], cut[0]
    literal = _value_sql(value)
    if len(keys) == 1:
        return f"{column} {'>=' if direction == 'DESC' else '<='} {literal}"
    strict = '>' if direction == 'DESC' else '<'
    return f"({column} {strict} {literal} OR ({column} = {literal} AND {_top(cut[1:], keys[1:])}))"


def _value_sql(value: object) -> str:
    """A literal for a value read back from the database (a date, a float average, an integer)."""
    if isinstance(value, dt.date):
        return _lit(value)
    if isinstance(value, str):  # SQLite returns dates as text
        return _lit(dt.date.fromisoformat(value))
    if isinstance(value, float):
        return f"CAST('{value!r}' AS double precision)" if _pg() else repr(value)
    return str(int(value))


def _classify(w: Windows, seg: dict) -> tuple[str, list]:
    """The SELECT of every member's new segments and figures: the ranks are reduced to a few cut-off rows
    (found with narrow sorts or histograms), then every member is compared with them."""
    life, abc, seven = seg["lifecycle"], seg["abc"], seg["seven"]
    ticket = f"({_float('cents_t')} / NULLIF(receipts_t, 0))"
    n12, nt, nr = _fetch("""SELECT COUNT(*) FILTER (WHERE days_12m > 0), COUNT(*) FILTER (WHERE receipts_t > 0),
                                   COUNT(*) FILTER (WHERE rfm_days > 0) FROM care_purchasestats""")[0]
    # 12-month spend, descending then member id: A, A+B, high value, high loyalty, the bottom share
    sales_keys = [("cents_12m", "DESC"), ("member_id", "ASC")]
    k = {"a": top_count(abc["a_share"], n12),
         "ab": top_count(Fraction(str(abc["a_share"])) + Fraction(str(abc["b_share"])), n12),
         "hv": top_count(seven["high_value_share"], n12), "hl": top_count(seven["high_loyalty_share"], n12),
         "low": n12 - top_count(seven["low_share"], n12)}
    quint = [math.ceil(Fraction(j * nr, 5)) for j in range(1, 5)]  # t-th smallest values cut the RFM quintiles
    same_window = w.rfm == w.w12
    sales_at = set(k.values()) | ({n12 - t + 1 for t in quint} if same_window and nr else set())
    sales = _positions("cents_12m DESC, member_id", "days_12m > 0", ["cents_12m", "member_id"], sales_at)
    freq = _positions("days_12m DESC, cents_12m DESC, member_id", "days_12m > 0",
                      ["days_12m", "cents_12m", "member_id"], {top_count(seven["high_freq_share"], n12)})
    k_ht = top_count(seven["high_ticket_share"], nt)
    middle = {(nt + 1) // 2, (nt + 2) // 2} if nt else set()
    tickets = _positions(f"{ticket} DESC, member_id", "receipts_t > 0", [ticket, "member_id"], {k_ht} | middle)
    median_ticket = sum(tickets[p][0] for p in middle) / len(middle) if middle else 0.0
    if nr:
        r_cut = _smallest("rfm_last", "rfm_days > 0", quint)
        f_cut = _smallest("rfm_days", "rfm_days > 0", quint)
        if same_window:
            m_cut = [sales[n12 - t + 1][0] for t in quint]
        else:
            at = _positions("rfm_cents, member_id", "rfm_days > 0", ["rfm_cents"], set(quint))
            m_cut = [at[t][0] for t in quint]
    ratio = Fraction(str(seven["churn_ratio"]))
    d = _lit(w.day)
    since_last = _days_between(d, "s.last_day")

    def flag(cond: str) -> str:
        return f"CASE WHEN {cond} THEN TRUE ELSE FALSE END"

    def score(column: str, cuts: list) -> str:
        if not nr:
            return "0"
        steps = " + ".join(f"CASE WHEN s.{column} > {_value_sql(c)} THEN 1 ELSE 0 END" for c in cuts)
        return f"CASE WHEN s.rfm_days > 0 THEN 1 + {steps} ELSE 0 END"

    def in_sales(key: str) -> str:
        return f"(s.days_12m > 0 AND {_top(sales.get(k[key]), [('s.' + c, o) for c, o in sales_keys])})"

    top_freq = _top(freq.get(top_count(seven["high_freq_share"], n12)),
                    [("s.days_12m", "DESC"), ("s.cents_12m", "DESC"), ("s.member_id", "ASC")])
    s_ticket = f"({_float('s.cents_t')} / NULLIF(s.receipts_t, 0))"
    top_ticket = _top(tickets.get(k_ht), [(s_ticket, "DESC"), ("s.member_id", "ASC")])
    return f"""
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
          CASE WHEN s.days_12m IS NULL OR s.days_12m = 0 THEN '' WHEN {in_sales('a')} THEN 'A'
               WHEN {in_sales('ab')} THEN 'B' ELSE 'C' END AS spend_class,
          {score('rfm_last', r_cut) if nr else '0'} AS rfm_r,
          {score('rfm_days', f_cut) if nr else '0'} AS rfm_f,
          {score('rfm_cents', m_cut) if nr else '0'} AS rfm_m,
          {flag(in_sales('hv'))} AS high_value,
          {flag(f"{in_sales('hl')} AND s.median_gap <= {int(seven['high_loyalty_max_gap_days'])}")} AS high_loyalty,
          {flag(f"s.receipts_t > 0 AND {top_ticket}")} AS high_ticket,
          {flag(f"s.receipts_t > 0 AND {s_ticket} < %s AND s.days_12m > 0 AND {top_freq}")}
            AS low_ticket_high_freq,
          {flag(f"s.days_12m > 0 AND NOT {in_sales('low')}")} AS low_ticket_low_freq,
          {flag(f"{since_last} >= {int(seven['sleeping_days'])}")} AS sleeping,
          {flag(f"s.days_base >= {int(seven['churn_min_baseline_days'])} AND "
                f"s.days_recent * {w.baseline_days * ratio.denominator} < "
                f"{ratio.numerator * w.recent_days} * s.days_base")} AS churning,
          s.first_day AS first_purchase_on, s.last_day AS last_purchase_on,
          COALESCE(s.days_12m, 0) AS purchase_days_12m, {_money('COALESCE(s.cents_12m, 0)')} AS spend_12m,
          COALESCE(s.receipts_t, 0) AS receipts_6m, {_money('COALESCE(s.cents_t, 0)')} AS spend_6m,
          COALESCE(s.days_recent, 0) AS purchase_days_3m, s.median_gap AS median_gap_days
        FROM members_member m LEFT JOIN care_purchasestats s ON s.member_id = m.id) c""", [median_ticket]


def _write(w: Windows, classified: tuple[str, list]) -> int:
    """Upsert the rows that changed (care_tmp_new holds only those), then the history of the members whose
    segments changed (care_tmp_changed)."""
    d = _lit(w.day)
    seg_diff = " OR ".join(f"n.{f} <> c.{f}" for f in SEGMENT_FIELD_NAMES)
    stat_diff = " OR ".join(_distinct(f"n.{f}", f"c.{f}") for f in STAT_FIELDS)
    select, params = classified
    _temp("care_tmp_new", f"""
        SELECT n.*, CASE WHEN c.member_id IS NULL OR {seg_diff} THEN 1 ELSE 0 END AS seg_changed
        FROM ({select}) n LEFT JOIN care_membersegments c ON c.member_id = n.member_id
        WHERE c.member_id IS NULL OR (c.computed_on <= {d} AND ({seg_diff} OR {stat_diff}))""", params)
    fields = [*SEGMENT_FIELD_NAMES, *STAT_FIELDS]
    cols = ", ".join(fields)
    _exec(f"""
        INSERT INTO care_membersegments (member_id, computed_on, {cols})
        SELECT n.member_id, {d}, {', '.join(f'n.{f}' for f in fields)}
        FROM care_tmp_new n WHERE TRUE
        ON CONFLICT (member_id) DO UPDATE SET computed_on = excluded.computed_on,
          {', '.join(f'{f} = excluded.{f}' for f in fields)}""")
    _temp("care_tmp_changed", "SELECT member_id FROM care_tmp_new WHERE seg_changed = 1")
    # history, for the members whose segments changed
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
        FROM care_tmp_new n WHERE n.seg_changed = 1
        AND NOT EXISTS (SELECT 1 FROM care_segmentspan s WHERE s.member_id = n.member_id AND s.valid_to IS NULL)""")
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
    TIMINGS.clear()
    with transaction.atomic():
        had_cursor = CareCursor.objects.filter(name=CURSOR).exists()
        _timed("purchase days", refresh_purchase_days, keep_touched=True)
        if _pg():
            _exec("SET LOCAL work_mem = '256MB'")
        TIMINGS["statistics how"] = _timed("statistics", _build_stats, w, had_cursor)
        classified = _timed("ranks", _classify, w, seg)
        changed = _timed("writes", _write, w, classified)
        _drop_temp()
    return changed


def _timed(name: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        TIMINGS[name] = round(time.perf_counter() - started, 3)
