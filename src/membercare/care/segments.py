"""Daily segments: every member classified as of a day, in SQL inside the database (no loop over members).

The steps live beside this module, which runs them and writes the result (step 4): purchase_days (step 1,
the purchase-day table), segment_stats (step 2, the windowed figures), segment_ranks (step 3, the
classification), with segment_sql's shared SQL pieces.

Input. `PurchaseDay` (care.models) holds one row per member and local day (settings.TIME_ZONE, Asia/Shanghai,
of Receipt.sold_at) with a positive net sale: `paid_cents` = what the member paid that day net of returns (a
return — a receipt with `original` set and a negative total — counts against the day of the receipt it
returns, whenever it was made), `receipts` = that day's sale receipts not entirely returned. A *purchase
day* is such a row. `refresh_purchase_days()` keeps the table up to date: the first run builds it from every
receipt; later runs re-derive only the (member, day) pairs of receipts posted since the last run (receipt
id above a stored cursor, with a look-back of LOOKBACK ids for transactions that committed late), so the
daily job never scans the receipts table. `PurchaseStats` holds each member's windowed figures as of the day
of CareCursor "purchase_stats"; a later day re-reads only the members with a re-derived purchase day, a
purchase day after that day, or one that left the 12 months since, and subtracts the days that left a shorter
window from the others' figures (segment_stats._incremental); a change of
window lengths, an earlier day or a rebuild recomputes them all. Ranks are not materialised per member: each
ordering is reduced to its few cut-off rows (one narrow sort each, or a histogram for dates and day counts),
and every member is compared with them — after a classification of an earlier day with the same settings, only
the members that can have changed (_candidates; the cut-offs are kept in care.SegmentCuts).

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
  receipt there (net paid / receipts, descending, then member id); the two low-ticket segments rank the
  *responders* (care.marketing: members with revenue from marketing receipts — coupon, exclusive sale, event
  attended, bulk-send response — in the 12 months) by that revenue, descending then member id, against the
  responders' medians of the 12-month average receipt and purchase days (docs/segments.md):
  low_ticket_high_freq = top high_freq_share, ticket below and purchase days above the medians;
  low_ticket_low_freq = bottom low_share, ticket and purchase days both below the medians;
  sleeping = has a purchase day and the last one is >= sleeping_days ago; churning = at least
  churn_min_baseline_days purchase days in the baseline (the 12 months before the recent window) and recent
  purchase days < churn_ratio x the baseline rate x the recent window's length (recent / recent_days < ratio
  x baseline / baseline_days).
- RFM scores 1..5 over the members with a purchase day in the RFM window (0 for the others):
  score = 1 + floor(5 x (rank - 1) / N), rank = SQL RANK() ascending (ties share a score) of R = the last
  purchase day (more recent is higher), F = purchase days, M = net spend in the window.
- pyramid: key when R+F+M >= 13, major 10..12, potential 3..9 (any purchase in the RFM window),
  target = no purchase in the RFM window (prospects and lapsed members: to develop).
- follow_up (seed 002, config "follow_up"; care.segment_ranks.follow_up_sql): turnover = purchase days in the
  12 months (high: >= turnover_days), profitability = 12-month spend / the same goods at full price (high:
  >= full_price_share); A = high turnover and profitability, B = high turnover, low profitability, C = low
  both, D = to develop: low turnover with high profitability, members still new (as lifecycle new) and
  members without a purchase day in the 12 months. Not the ABC spend class.

Stats on MemberSegments: first/last purchase day; purchase_days_12m and spend_12m (12 months);
receipts_6m and spend_6m (ticket window); purchase_days_3m and spend_3m (recent window); spend_before_3m (the
12 months before the recent window: the spend-drop call's baseline); full_price_12m; median_gap_days (the median gap
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
import hashlib
import json
import time

from django.db import transaction

from membercare.core.sql import fetch, lit, pg

from .marketing import build_marketing
from .models import SEGMENT_FIELD_NAMES, CareCursor, SegmentCuts
from .purchase_days import CURSOR, LOOKBACK, STATS_CURSOR, rebuild_purchase_days, refresh_purchase_days
from .segment_ranks import classify, comparable, cuts_of, moved_sql
from .segment_sql import is_distinct, run, temp
from .segment_stats import Windows, build_stats, top_count

TEMP_TABLES = ["care_tmp_touched", "care_tmp_affected", "care_tmp_left", "care_tmp_cand", "care_tmp_new",
               "care_tmp_changed", "care_tmp_open", "care_tmp_merge", "care_tmp_mkt_cents", "care_tmp_marketing"]
TIMINGS: dict[str, float | str] = {}  # seconds per stage of the last segments_compute (for the benchmark)
FLAG_FIELDS = ["high_value", "high_loyalty", "high_ticket", "low_ticket_high_freq", "low_ticket_low_freq",
               "sleeping", "churning"]
STAT_FIELDS = ["first_purchase_on", "last_purchase_on", "purchase_days_12m", "spend_12m", "receipts_6m",
               "spend_6m", "purchase_days_3m", "median_gap_days", "full_price_12m", "spend_3m", "spend_before_3m"]


def _drop_temp() -> None:
    for name in TEMP_TABLES:
        run(f"DROP TABLE IF EXISTS {name}")


# ---- step 4: the writes ----------------------------------------------------------------------------------

def _write(w: Windows, classified: tuple[str, list]) -> int:
    """Upsert the rows that changed (care_tmp_new holds only those), then the history of the members whose
    segments changed (care_tmp_changed)."""
    d = lit(w.day)
    seg_diff = " OR ".join(f"n.{f} <> c.{f}" for f in SEGMENT_FIELD_NAMES)
    stat_diff = " OR ".join(is_distinct(f"n.{f}", f"c.{f}") for f in STAT_FIELDS)
    select, params = classified
    temp("care_tmp_new", f"""
        SELECT n.*, CASE WHEN c.member_id IS NULL OR {seg_diff} THEN 1 ELSE 0 END AS seg_changed
        FROM ({select}) n LEFT JOIN care_membersegments c ON c.member_id = n.member_id
        WHERE c.member_id IS NULL OR (c.computed_on <= {d} AND ({seg_diff} OR {stat_diff}))""", params)
    fields = [*SEGMENT_FIELD_NAMES, *STAT_FIELDS]
    cols = ", ".join(fields)
    run(f"""
        INSERT INTO care_membersegments (member_id, computed_on, {cols})
        SELECT n.member_id, {d}, {', '.join(f'n.{f}' for f in fields)}
        FROM care_tmp_new n WHERE TRUE
        ON CONFLICT (member_id) DO UPDATE SET computed_on = excluded.computed_on,
          {', '.join(f'{f} = excluded.{f}' for f in fields)}""")
    temp("care_tmp_changed", "SELECT member_id FROM care_tmp_new WHERE seg_changed = 1")
    # history, for the members whose segments changed
    changed = fetch("SELECT COUNT(*) FROM care_tmp_changed")[0][0]
    if not changed:
        return 0
    seg_cols = ", ".join(SEGMENT_FIELD_NAMES)
    run(f"""
        UPDATE care_segmentspan SET {', '.join(f'{f} = n.{f}' for f in SEGMENT_FIELD_NAMES)}
        FROM care_tmp_new n
        WHERE n.member_id = care_segmentspan.member_id AND care_segmentspan.valid_to IS NULL
          AND care_segmentspan.valid_from = {d}
          AND care_segmentspan.member_id IN (SELECT member_id FROM care_tmp_changed)""")
    run(f"""
        UPDATE care_segmentspan SET valid_to = {d}
        WHERE valid_to IS NULL AND valid_from < {d} AND member_id IN (SELECT member_id FROM care_tmp_changed)""")
    # The members that still have an open span (today's, just updated) are listed first, in a table of their
    # own: an INSERT whose NOT EXISTS reads the table it fills is quadratic when the planner, trusting the
    # statistics of an empty table (a chain's first night), rescans it per row (issue 20: 100k members 223 s).
    temp("care_tmp_open", """
        SELECT s.member_id FROM care_segmentspan s JOIN care_tmp_changed ch ON ch.member_id = s.member_id
        WHERE s.valid_to IS NULL""")
    run(f"""
        INSERT INTO care_segmentspan (member_id, valid_from, valid_to, {seg_cols})
        SELECT n.member_id, {d}, NULL, {', '.join(f'n.{f}' for f in SEGMENT_FIELD_NAMES)}
        FROM care_tmp_new n WHERE n.seg_changed = 1
        AND NOT EXISTS (SELECT 1 FROM care_tmp_open o WHERE o.member_id = n.member_id)""")
    # a same-day recompute that lands back on the span closed today: drop today's span, reopen that one
    same = " AND ".join(f"p.{f} = n.{f}" for f in SEGMENT_FIELD_NAMES)
    temp("care_tmp_merge", f"""
        SELECT p.member_id FROM care_segmentspan p
        JOIN care_tmp_changed ch ON ch.member_id = p.member_id
        JOIN care_tmp_new n ON n.member_id = p.member_id
        WHERE p.valid_to = {d} AND p.valid_from < {d} AND {same}""")
    run(f"""DELETE FROM care_segmentspan WHERE valid_to IS NULL AND valid_from = {d}
              AND member_id IN (SELECT member_id FROM care_tmp_merge)""")
    run(f"""UPDATE care_segmentspan SET valid_to = NULL WHERE valid_to = {d}
              AND member_id IN (SELECT member_id FROM care_tmp_merge)""")
    return changed


def segments_compute(day: dt.date, config: dict) -> int:
    """Recompute every member's segments as of `day`; returns how many members' segments changed."""
    seg = config["segments"]
    w = Windows.of(day, seg)
    TIMINGS.clear()
    with transaction.atomic():
        had_cursor = CareCursor.objects.filter(name=CURSOR).exists()
        if pg():  # compiling these one-off plans (JIT) costs more than it saves: ~0.6 s a statement
            run("SET LOCAL jit = off")
        _timed("purchase days", refresh_purchase_days, keep_touched=True)
        if pg():
            run("SET LOCAL work_mem = '256MB'")
        TIMINGS["statistics how"] = _timed("statistics", build_stats, w, had_cursor)
        _timed("marketing", build_marketing, w.w12, w.day, seg["seven"]["marketing_response_days"])
        top = fetch("SELECT MAX(id) FROM members_member")[0][0] or 0  # before the classification reads them
        cuts = _timed("ranks", cuts_of, w, seg)
        only = _timed("candidates", _candidates, w, seg, cuts, TIMINGS["statistics how"])
        TIMINGS["classified"] = "all" if not only else str(fetch(f"SELECT COUNT(*) FROM {only}")[0][0])
        changed = _timed("writes", _write, w, classify(w, seg, cuts, only))
        _save_cuts(w, seg, cuts, top)
        _drop_temp()
    return changed


# ---- step 3b: whom to classify ----------------------------------------------------------------------------

CUTS = "segments"
NEW_MEMBERS_LOOKBACK = 1000  # member ids re-classified below the highest of the last run (late commits)


def _cuts_key(w: Windows, seg: dict) -> str:
    """The settings and windows a classification depends on besides the day and the figures."""
    return hashlib.sha256(f"{w.key()} {json.dumps(seg, sort_keys=True, default=str)}".encode()).hexdigest()


def _candidates(w: Windows, seg: dict, cuts: dict, how: str) -> str:
    """The temporary table of the members to classify, or "" for every member. After a classification of an
    earlier (or the same) day with the same settings, a member's segments can change only when
    - their figures changed (re-read or updated by the difference: care_tmp_affected, care_tmp_left);
    - the day crossed one of their thresholds: the days since their last purchase day reached the lifecycle's
      or the sleeping flag's, or their first purchase day stopped being new;
    - a ranking's cut-off moved past them (segment_ranks.moved_sql, against the cut-offs stored then);
    - they respond to marketing now or did then (the low-ticket segments rank the responders among themselves);
    - they are new (an id above the highest then, less NEW_MEMBERS_LOOKBACK for registrations that committed
      after the classification read the members).
    Otherwise (first run, statistics rebuilt, other settings, an earlier day, a population emptied) everyone."""
    state = SegmentCuts.objects.filter(name=CUTS).first()
    if (how != "incremental" or state is None or state.key != _cuts_key(w, seg) or state.day > w.day
            or not comparable(state.cuts, cuts)):
        return ""
    life, seven = seg["lifecycle"], seg["seven"]
    conds = [moved_sql(state.cuts, cuts)]
    if state.day < w.day:
        for days in (life["lost_days"], life["sleeping_days"], life["dormant_days"], seven["sleeping_days"]):
            conds.append(_crossed("s.last_day", state.day, w.day, int(days)))
        conds.append(_crossed("s.first_day", state.day, w.day, int(life["new_days"])))
    temp("care_tmp_cand", f"""
        SELECT s.member_id FROM care_purchasestats s WHERE {' OR '.join(f'({c})' for c in conds)}
        UNION SELECT member_id FROM care_tmp_affected
        UNION SELECT member_id FROM care_tmp_left
        UNION SELECT member_id FROM care_tmp_marketing
        UNION SELECT member_id FROM care_membersegments WHERE low_ticket_high_freq OR low_ticket_low_freq
        UNION SELECT id FROM members_member WHERE id > %s""", [state.max_member - NEW_MEMBERS_LOOKBACK])
    return "care_tmp_cand"


def _crossed(column: str, before: dt.date, day: dt.date, days: int) -> str:
    """SQL: `days` days after the date in `column` fell after `before` and by `day`."""
    return f"{column} > {lit(before - dt.timedelta(days=days))} AND {column} <= {lit(day - dt.timedelta(days=days))}"


def _save_cuts(w: Windows, seg: dict, cuts: dict, top: int) -> None:
    """Keep the cut-offs for the next day. A recomputation of a day before the last one leaves the rows
    computed later alone (history only moves forward), so the rows no longer all follow one set of cut-offs:
    the cut-offs are dropped then, and the next day classifies everyone."""
    later = SegmentCuts.objects.filter(name=CUTS, day__gt=w.day)
    if later.exists():
        later.delete()
        return
    SegmentCuts.objects.update_or_create(name=CUTS, defaults={
        "day": w.day, "key": _cuts_key(w, seg), "max_member": top, "cuts": cuts})


def _timed(name: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        TIMINGS[name] = round(time.perf_counter() - started, 3)


__all__ = [
    "CURSOR", "FLAG_FIELDS", "LOOKBACK", "STATS_CURSOR", "STAT_FIELDS", "TEMP_TABLES", "TIMINGS", "Windows",
    "rebuild_purchase_days", "refresh_purchase_days", "segments_compute", "top_count",
]
