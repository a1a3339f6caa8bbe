"""The revenue marketing brought in, per member (seed 004: 场地透过营销获取的收益), for the two low-ticket segments.

A *marketing receipt* is a member's sale receipt (not a return) that a marketing source claims: a receipt that
used a coupon (campaigns), one that received an exclusive sale's extra discount or was made by a member who
attended a VIP event, at the event's stores during the event's days (events), or one made within the response
window — `segments.seven.marketing_response_days` days (7) from the moment a bulk send's message to that
member was sent (messaging). A receipt several sources claim counts once. Its revenue is what was paid net of
its returns (whenever returned, as the purchase days count them). A member's *marketing revenue* is the sum
over their marketing receipts whose local day lies in the 12 months (the abc window) up to the day;
*responders* are the members whose marketing revenue is above zero.

Why a registry and not a mark on the receipt: care sits below campaigns, events and messaging in the layer
order (membercare.layers) and may not import them; and a bulk send's response window can only be judged after
the fact (the receipt comes days after the message, and the same receipt may answer several sends), so the
checkout could not mark it. Each of those apps registers, from its AppConfig.ready(), a function that returns
SQL selecting the ids of the receipts it attributes to marketing (`register_marketing_source`); the segments
step unions them and sums the revenue per member in one set-based statement (`build_marketing`): no loop over
members, and a source's tables are read once a day whatever the number of members.

A source gets the window as aware datetimes [start, end) (the local midnight of the first day of the 12 months
and of the day after the day) and the response days (datetimes go into its SQL through `db_time`); it may
return receipt ids outside the window (the union is filtered by the receipt's time), but should use the bounds
to read less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from membercare.core.sql import fetch, lit

from .segment_sql import cents, temp


@dataclass(frozen=True)
class MarketingWindow:
    start: dt.datetime  # the local midnight starting the first day of the 12 months
    end: dt.datetime  # the local midnight after the day (exclusive)
    response_days: int  # a receipt this many days after a bulk send's message answers it


def db_time(value: dt.datetime) -> object:
    """An aware datetime as a raw-SQL parameter compared with a timestamp column (SQLite keeps UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


# a source: window -> (SQL selecting one column, the receipt id, and its parameters)
MarketingSource = Callable[[MarketingWindow], tuple[str, list]]
_SOURCES: dict[str, MarketingSource] = {}


def register_marketing_source(name: str, source: MarketingSource) -> None:
    """Called by an app above care (its AppConfig.ready) to have its receipts count as marketing revenue."""
    _SOURCES[name] = source


def marketing_sources() -> dict[str, MarketingSource]:
    return dict(_SOURCES)


def window_of(first_day: dt.date, day: dt.date, response_days: int) -> MarketingWindow:
    tz = timezone.get_default_timezone()
    return MarketingWindow(start=dt.datetime.combine(first_day, dt.time.min, tzinfo=tz),
                           end=dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
                           response_days=int(response_days))


def build_marketing(first_day: dt.date, day: dt.date, response_days: int) -> int:
    """The temporary table care_tmp_marketing: one row per responder as of `day` —
    member_id, cents (marketing revenue), days (purchase days in the 12 months), paid (12-month net paid, cents),
    receipts (12-month receipts), rn (rank by marketing revenue, descending, then member id). Returns the number
    of responders. Reads care_purchaseday for the 12-month figures (already refreshed by the segments step)."""
    w = window_of(first_day, day, response_days)
    parts, params = [], []
    for _name, source in sorted(_SOURCES.items()):
        sql, p = source(w)
        parts.append(sql)
        params += p
    if not parts:
        parts = ["SELECT id FROM sales_receipt WHERE 1 = 0"]
    union = " UNION ".join(f"SELECT * FROM ({sql}) src{i}" for i, sql in enumerate(parts))
    temp("care_tmp_mkt_cents", f"""
        SELECT s.member_id AS member_id,
               SUM({cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                       WHERE x.original_id = s.id), 0)) AS cents
        FROM sales_receipt s
        WHERE s.id IN ({union}) AND s.original_id IS NULL AND s.member_id IS NOT NULL
          AND s.sold_at >= %s AND s.sold_at < %s
        GROUP BY s.member_id
        HAVING SUM({cents('s.total_paid')} + COALESCE((SELECT SUM({cents('x.total_paid')}) FROM sales_receipt x
                                                        WHERE x.original_id = s.id), 0)) > 0""",
         [*params, db_time(w.start), db_time(w.end)])
    temp("care_tmp_marketing", f"""
        SELECT c.member_id, c.cents, COUNT(*) AS days, SUM(p.paid_cents) AS paid, SUM(p.receipts) AS receipts,
               ROW_NUMBER() OVER (ORDER BY c.cents DESC, c.member_id) AS rn
        FROM care_tmp_mkt_cents c
        JOIN care_purchaseday p ON p.member_id = c.member_id AND p.day >= {lit(first_day)} AND p.day <= {lit(day)}
        GROUP BY c.member_id, c.cents""")
    return fetch("SELECT COUNT(*) FROM care_tmp_marketing")[0][0]
