"""Daily segments, step 2: each member's windowed figures (care_purchasestats) as of the day, incrementally.

A later day re-reads only the members with a re-derived purchase day, a purchase day after the day of the
last computation, or one that left the 12 months since; a member who only lost days from the ticket, recent or
RFM window gets the difference; other window lengths or an earlier day recompute them all. See care.segments
for the windows and the figures.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from fractions import Fraction

from django.utils import timezone

from membercare.core.sql import lit, pg

from .models import CareCursor
from .purchase_days import CURSOR, STATS_CURSOR, STATS_SOURCE_CURSOR
from .segment_sql import days_between, run, temp


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
        # v2: the statistics gained the full price and the recent/baseline spend (issue 20): rebuilt once
        return (f"v2 12m={(self.day - self.w12).days + 1} t={(self.day - self.ticket).days + 1} "
                f"r={self.recent_days} rfm={(self.day - self.rfm).days + 1}")


def top_count(share: float, population: int) -> int:
    """How many members the top `share` of `population` holds: ceil(share x population), exactly."""
    return math.ceil(Fraction(str(share)) * population)


def _stats_sql(w: Windows, only: str = "") -> str:
    """INSERT of the statistics (care_purchasestats) of every member with a purchase day by `w.day`, or of the
    members in the temporary table `only`: their purchase days are read once (a materialised CTE) for both the
    sums and the median gap, since a join of a few ten thousand members reads the whole purchase-day table (a
    hash join: the table is not in member order, so the index's random reads cost more, measured 3x)."""
    d, w12, wt, wr, wrfm = (lit(x) for x in (w.day, w.w12, w.ticket, w.recent, w.rfm))
    source = "pd p" if only else "care_purchaseday p"
    prefix = (f"""WITH pd AS MATERIALIZED (
                    SELECT p.member_id, p.day, p.paid_cents, p.full_cents, p.receipts
                    FROM {only} x JOIN care_purchaseday p ON p.member_id = x.member_id WHERE p.day <= {d})"""
              if only else "")
    # median gap between consecutive purchase days inside the 12 months, rounded up: ceil((a + b) / 2) of the
    # middle one or two gaps
    return f"""{prefix}
        INSERT INTO care_purchasestats (member_id, first_day, last_day, days_12m, cents_12m, receipts_t, cents_t,
                                        days_recent, days_base, rfm_last, rfm_days, rfm_cents, full_12m,
                                        cents_recent, cents_base, median_gap)
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
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {wrfm}), 0) AS rfm_cents,
               COALESCE(SUM(p.full_cents) FILTER (WHERE p.day >= {w12}), 0) AS full_12m,
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {wr}), 0) AS cents_recent,
               COALESCE(SUM(p.paid_cents) FILTER (WHERE p.day >= {w12} AND p.day < {wr}), 0) AS cents_base
          FROM {source} WHERE p.day <= {d}
          GROUP BY p.member_id) a
        LEFT JOIN (
          SELECT member_id, (MIN(gap) + MAX(gap) + 1) / 2 AS median_gap
          FROM (SELECT member_id, gap, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY gap) AS rn,
                       COUNT(*) OVER (PARTITION BY member_id) AS cnt
                FROM (SELECT p.member_id,
                             {days_between('p.day', 'LAG(p.day) OVER (PARTITION BY p.member_id ORDER BY p.day)')}
                               AS gap
                      FROM {source} WHERE p.day >= {w12} AND p.day <= {d}) g
                WHERE gap IS NOT NULL) r
          WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2
          GROUP BY member_id) g ON g.member_id = a.member_id"""


def _range(start: dt.date, end: dt.date) -> str:
    return f"(day >= {lit(start)} AND day < {lit(end)})"


def _incremental(w: Windows, previous: dt.date, touched: bool) -> None:
    """care_purchasestats from `previous` to `w.day`, same window lengths. Leaves the members re-read in
    care_tmp_affected and those updated by the difference in care_tmp_left (the classification's candidates).

    Re-read in full (care_tmp_affected): the members with a touched purchase day or one after `previous`, and those
    with a day leaving the 12 months (their median gap needs the days themselves). The members that only lost days
    from the ticket, recent or RFM window get the difference instead: the leaving days' sums subtracted, a day
    leaving the recent window added to the baseline, and the RFM window's last day gone only when its last day
    went (a recent window longer than the 12 months, where the baseline is empty, re-reads them all). So a day
    costs reads of the members whose purchases changed or crossed the 12 months' edge, plus one read, by day, of
    the purchase days that crossed another window's edge (issue 20: the whole history of these members was read
    before, a hash join over every purchase day)."""
    p = Windows.of_starts(previous, w)
    full = [f"(day > {lit(previous)} AND day <= {lit(w.day)})"]
    if p.w12 < w.w12:
        full.append(_range(p.w12, w.w12))
    edges = [(name, p_start, w_start) for name, p_start, w_start in (
        ("t", p.ticket, w.ticket), ("r", p.recent, w.recent), ("rfm", p.rfm, w.rfm)) if p_start < w_start]
    # a day leaving the recent window moves into the baseline: it is still inside the 12 months, since a member
    # with a day leaving the 12 months is re-read in full and the recent window lies inside the 12 months
    delta = w.baseline_days >= 0
    if not delta:
        full += [_range(start, end) for _name, start, end in edges]
    temp("care_tmp_affected", f"""
        SELECT DISTINCT member_id FROM care_purchaseday WHERE {' OR '.join(full)}
        {'UNION SELECT member_id FROM care_tmp_touched' if touched else ''}""")
    run("DELETE FROM care_purchasestats WHERE member_id IN (SELECT member_id FROM care_tmp_affected)")
    run(_stats_sql(w, "care_tmp_affected"))
    if not (delta and edges):
        temp("care_tmp_left", "SELECT member_id FROM care_tmp_affected WHERE 1 = 0")
        return
    ranges = {name: _range(start, end) for name, start, end in edges}

    def count(name: str) -> str:
        return f"COUNT(*) FILTER (WHERE {ranges[name]})" if name in ranges else "0"

    def total(column: str, name: str) -> str:
        return f"COALESCE(SUM({column}) FILTER (WHERE {ranges[name]}), 0)" if name in ranges else "0"

    temp("care_tmp_left", f"""
        SELECT member_id, {total('receipts', 't')} AS receipts_t, {total('paid_cents', 't')} AS cents_t,
               {count('r')} AS days_recent, {total('paid_cents', 'r')} AS cents_recent,
               {count('rfm')} AS rfm_days, {total('paid_cents', 'rfm')} AS rfm_cents
        FROM care_purchaseday
        WHERE ({' OR '.join(ranges.values())})
          AND member_id NOT IN (SELECT member_id FROM care_tmp_affected)
        GROUP BY member_id""")
    run("""
        UPDATE care_purchasestats SET receipts_t = care_purchasestats.receipts_t - x.receipts_t,
               cents_t = care_purchasestats.cents_t - x.cents_t,
               days_recent = care_purchasestats.days_recent - x.days_recent,
               cents_recent = care_purchasestats.cents_recent - x.cents_recent,
               days_base = care_purchasestats.days_base + x.days_recent,
               cents_base = care_purchasestats.cents_base + x.cents_recent,
               rfm_days = care_purchasestats.rfm_days - x.rfm_days,
               rfm_cents = care_purchasestats.rfm_cents - x.rfm_cents,
               rfm_last = CASE WHEN care_purchasestats.rfm_days = x.rfm_days THEN NULL
                               ELSE care_purchasestats.rfm_last END
        FROM care_tmp_left x WHERE x.member_id = care_purchasestats.member_id""")


def build_stats(w: Windows, touched: bool) -> str:
    """Bring care_purchasestats to `w.day`: incrementally from the day they were made for (same windows, not
    later), re-reading only the members with a touched purchase day (`touched`: care_tmp_touched exists),
    a purchase day after that day, or one that left the 12 months since, and updating those that only lost days
    from a shorter window by the difference (_incremental); otherwise all of them."""
    state = CareCursor.objects.select_for_update().filter(name=STATS_CURSOR).first()
    previous = dt.date.fromordinal(state.value) if state else None
    if state is None or state.key != w.key() or previous > w.day:
        run("DELETE FROM care_purchasestats")
        run(_stats_sql(w))
        how = "full"
    else:
        _incremental(w, previous, touched)
        how = "incremental"
    CareCursor.objects.update_or_create(name=STATS_CURSOR, defaults={
        "value": w.day.toordinal(), "key": w.key(), "updated_at": timezone.now()})
    # the purchase days they were made from (the last receipt folded in): while it is the purchase days' cursor,
    # the statistics hold what the purchase days would give (audiences read them then)
    source = CareCursor.objects.filter(name=CURSOR).values_list("value", flat=True).first()
    CareCursor.objects.update_or_create(name=STATS_SOURCE_CURSOR, defaults={
        "value": -1 if source is None else source, "updated_at": timezone.now()})
    if pg():
        run("ANALYZE care_purchasestats")
    return how
