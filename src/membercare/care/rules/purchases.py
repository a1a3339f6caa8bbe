"""Rules read from the receipts themselves: replenishment of consumables, learning the member's surname."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone

from membercare.org.models import Store
from membercare.sales.models import Product, Receipt, ReceiptLine

from ..taskgen import insert_select, working_staff
from .base import (
    previous_run,
    rule_config,
    spec,
    sql_add_days,
    sql_date_param,
    sql_days_between,
    sql_greatest,
    sql_iso,
    sql_json_object,
)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def replenishment(day: dt.date, config: dict[str, Any]) -> int:
    """Consumables (Product.is_consumable): the member's own cycle is the median gap, in days, between the
    distinct days they bought a consumable within `history_days` (365), once they have `min_purchases` (3)
    such days; the next purchase is predicted at the last one + the cycle. A reminder is created from
    `days_before` (3) the predicted day until that day, due the day before it (today at the earliest).
    Cycles shorter than `min_cycle_days` (7) are not reminded (someone buying every few days needs none).
    Key: the last purchase date, so one reminder per cycle. All in one SQL statement (window functions)."""
    code = "replenishment"
    s = rule_config(config, code)
    lead = int(s.get("days_before", 3))
    since = day - dt.timedelta(days=int(s.get("history_days", 365)))
    lines = (ReceiptLine.objects
             .filter(product__is_consumable=True, quantity__gt=0, receipt__member__isnull=False,
                     receipt__original__isnull=True, receipt__sold_at__gte=_local_midnight(since),
                     receipt__sold_at__lt=_local_midnight(day + dt.timedelta(days=1)))
             .order_by()
             .values(b_member=F("receipt__member_id"), b_day=TruncDate("receipt__sold_at"),
                     b_product=F("product_id")))
    lines_sql, lines_params = lines.query.sql_with_params()
    gap = sql_days_between("d", "LAG(d) OVER (PARTITION BY member_id ORDER BY d)")
    date_p = sql_date_param()
    sql = f"""
        WITH lines AS ({lines_sql}),
        days AS (SELECT b_member AS member_id, b_day AS d, MAX(b_product) AS product_id FROM lines
                 GROUP BY b_member, b_day),
        gaps AS (SELECT member_id, {gap} AS gap FROM days),
        ranked AS (SELECT member_id, gap, ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY gap) AS rn,
                          COUNT(*) OVER (PARTITION BY member_id) AS n
                   FROM gaps WHERE gap IS NOT NULL),
        cycles AS (SELECT member_id, CAST(ROUND(AVG(gap)) AS INTEGER) AS cycle FROM ranked
                   WHERE rn IN ((n + 1) / 2, (n + 2) / 2) AND n >= %s GROUP BY member_id),
        last AS (SELECT member_id, MAX(d) AS last_d FROM days GROUP BY member_id),
        pred AS (SELECT c.member_id, c.cycle, l.last_d, {sql_add_days("l.last_d", "c.cycle")} AS next_on
                 FROM cycles c JOIN last l ON l.member_id = c.member_id WHERE c.cycle >= %s)
        SELECT p.member_id AS t_member, {sql_iso("p.last_d")} AS t_key,
               {sql_greatest()}({sql_add_days("p.next_on", "-1")}, {date_p}) AS t_due,
               {sql_json_object()}('product', pr.name, 'days', p.cycle, 'next_on', {sql_iso("p.next_on")},
                                   'last_purchase', {sql_iso("p.last_d")}) AS t_context
        FROM pred p JOIN days dd ON dd.member_id = p.member_id AND dd.d = p.last_d
        JOIN {Product._meta.db_table} pr ON pr.id = dd.product_id
        WHERE p.next_on >= {date_p} AND p.next_on <= {date_p}
    """
    params = [*lines_params, int(s.get("min_purchases", 3)) - 1, int(s.get("min_cycle_days", 7)),
              day, day, day + dt.timedelta(days=lead)]
    return insert_select(spec(code, day, config), (sql, params))


def learn_surname(day: dt.date, config: dict[str, Any]) -> int:
    """A clerk who has served a member `visits` (3) times (sale receipts with that clerk) is reminded to
    learn the member's surname and introduce themself: assigned to that clerk (while active and working at
    a store), once per clerk and member (key clerk:<id>), due in `due_days` (30). Only pairs with a receipt
    since the previous run (a week's margin for late uploads; at most `lookback_days`, 30, back) are
    counted again, so the job does not re-count ten million receipts each night."""
    code = "learn_surname"
    s = rule_config(config, code)
    prev = previous_run(code, day)
    lookback = int(s.get("lookback_days", 30))
    back = min(lookback, ((day - prev).days if prev else lookback) + 7)
    since = _local_midnight(day - dt.timedelta(days=back))
    # store_id IN (every store) lets PostgreSQL read the (store, sold_at) index by date range
    recent = (Receipt.objects
              .filter(store_id__in=list(Store.objects.values_list("pk", flat=True)), sold_at__gte=since,
                      sold_at__lt=_local_midnight(day + dt.timedelta(days=1)),
                      clerk__isnull=False, member__isnull=False, original__isnull=True)
              .order_by().values("clerk_id", "member_id").distinct())
    recent = recent.filter(clerk_id__in=working_staff())
    recent_sql, recent_params = recent.query.sql_with_params()
    receipt = Receipt._meta.db_table
    due = day + dt.timedelta(days=int(s.get("due_days", 30)))
    sql = f"""
        SELECT r.member_id AS t_member, 'clerk:' || CAST(r.clerk_id AS VARCHAR(20)) AS t_key,
               {sql_date_param()} AS t_due,
               {sql_json_object()}('visits', COUNT(*), 'clerk_id', r.clerk_id) AS t_context,
               r.clerk_id AS t_assignee
        FROM ({recent_sql}) p JOIN {receipt} r ON r.member_id = p.member_id AND r.clerk_id = p.clerk_id
        WHERE r.original_id IS NULL
        GROUP BY r.member_id, r.clerk_id
        HAVING COUNT(*) >= %s
    """
    params = [due, *recent_params, int(s.get("visits", 3))]
    return insert_select(spec(code, day, config), (sql, params), has_assignee=True)
