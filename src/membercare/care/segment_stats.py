"""Daily segments, step 2: each member's windowed figures (care_purchasestats) as of the day, incrementally.

A later day re-reads only the members with a re-derived purchase day, a purchase day after the day of the
last computation, or one that left a window since; other window lengths or an earlier day recompute them
all. See care.segments for the windows and the figures.
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
    members in the temporary table `only` (joined, so that their rows are read through the primary key)."""
    d, w12, wt, wr, wrfm = (lit(x) for x in (w.day, w.w12, w.ticket, w.recent, w.rfm))
    source = (f"{only} x JOIN care_purchaseday p ON p.member_id = x.member_id" if only
              else "care_purchaseday p")
    # median gap between consecutive purchase days inside the 12 months, rounded up: ceil((a + b) / 2) of the
    # middle one or two gaps
    return f"""
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


def build_stats(w: Windows, touched: bool) -> str:
    """Bring care_purchasestats to `w.day`: incrementally from the day they were made for (same windows, not
    later), re-reading only the members with a touched purchase day (`touched`: care_tmp_touched exists),
    a purchase day after that day, or one that left a window since; otherwise all of them."""
    state = CareCursor.objects.select_for_update().filter(name=STATS_CURSOR).first()
    previous = dt.date.fromordinal(state.value) if state else None
    if state is None or state.key != w.key() or previous > w.day:
        run("DELETE FROM care_purchasestats")
        run(_stats_sql(w))
        how = "full"
    else:
        p = Windows.of_starts(previous, w)
        ranges = [f"(day > {lit(previous)} AND day <= {lit(w.day)})"]
        for before, now in ((p.w12, w.w12), (p.ticket, w.ticket), (p.recent, w.recent), (p.rfm, w.rfm)):
            if before < now:
                ranges.append(f"(day >= {lit(before)} AND day < {lit(now)})")
        temp("care_tmp_affected", f"""
            SELECT DISTINCT member_id FROM care_purchaseday WHERE {' OR '.join(ranges)}
            {'UNION SELECT member_id FROM care_tmp_touched' if touched else ''}""")
        run("DELETE FROM care_purchasestats WHERE member_id IN (SELECT member_id FROM care_tmp_affected)")
        run(_stats_sql(w, "care_tmp_affected"))
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
