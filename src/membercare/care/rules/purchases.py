"""Rules read from the receipts themselves: replenishment of consumables, learning the member's surname."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from membercare.core.sql import execute
from membercare.org.models import Store
from membercare.sales.models import Product, Receipt

from ..models import ClerkVisits, ConsumableCycle
from ..taskgen import insert_select, working_staff
from .base import (
    previous_run,
    rule_config,
    spec,
    sql_add_days,
    sql_date_param,
    sql_greatest,
    sql_iso,
    sql_json_object,
)
from .incremental import refresh_clerk_visits, refresh_consumable_cycles


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def replenishment(day: dt.date, config: dict[str, Any]) -> int:
    """Consumables (Product.is_consumable): the member's own cycle is the median gap, in days, between the
    distinct days they bought a consumable within `history_days` (365), once they have `min_purchases` (3)
    such days; the next purchase is predicted at the last one + the cycle. A reminder is created from
    `days_before` (3) the predicted day until that day, due the day before it (today at the earliest).
    Cycles shorter than `min_cycle_days` (7) are not reminded (someone buying every few days needs none).
    Key: the last purchase date, so one reminder per cycle. The cycles are kept per member in
    care.ConsumableCycle (care.rules.incremental: only members whose consumable days changed, entered or
    left the window are re-read), so the rule reads the few members whose next purchase is due."""
    code = "replenishment"
    s = rule_config(config, code)
    lead = int(s.get("days_before", 3))
    refresh_consumable_cycles(day, int(s.get("history_days", 365)))
    date_p = sql_date_param()
    sql = f"""
        SELECT c.member_id AS t_member, {sql_iso("c.last_day")} AS t_key,
               {sql_greatest()}({sql_add_days("c.next_on", "-1")}, {date_p}) AS t_due,
               {sql_json_object()}('product', pr.name, 'days', c.cycle, 'next_on', {sql_iso("c.next_on")},
                                   'last_purchase', {sql_iso("c.last_day")}) AS t_context
        FROM {ConsumableCycle._meta.db_table} c JOIN {Product._meta.db_table} pr ON pr.id = c.product_id
        WHERE c.next_on >= {date_p} AND c.next_on <= {date_p} AND c.gaps >= %s AND c.cycle >= %s
    """
    params = [day, day, day + dt.timedelta(days=lead), int(s.get("min_purchases", 3)) - 1,
              int(s.get("min_cycle_days", 7))]
    return insert_select(spec(code, day, config), (sql, params))


def learn_surname(day: dt.date, config: dict[str, Any]) -> int:
    """A clerk who has served a member `visits` (3) times (sale receipts with that clerk) is reminded to
    learn the member's surname and introduce themself: assigned to that clerk (while active and working at
    a store), once per clerk and member (key clerk:<id>), due in `due_days` (30). Only pairs with a receipt
    since the previous run (a week's margin for late uploads; at most `lookback_days`, 30, back) are
    considered; their visits come from care.ClerkVisits (a counter per clerk and member kept up to date from
    the new receipts, care.rules.incremental), so the job does not re-count ten million receipts each night.
    Once the counter exists, the pairs are those it just counted again (the receipts posted since its last
    refresh, dated in that window): only their visits changed, so only they can newly reach the number (issue 20:
    re-reading the window's receipts joined every pair of the last week, ~2 s at 1M members)."""
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
    if refresh_clerk_visits(keep_pairs=True) == "incremental":
        working_sql, working_params = working_staff().query.sql_with_params()
        recent_sql = (f"SELECT clerk_id, member_id FROM care_tmp_visit_pairs WHERE last_sold >= %s "
                      f"AND last_sold < %s AND clerk_id IN ({working_sql})")
        recent_params = (since, _local_midnight(day + dt.timedelta(days=1)), *working_params)
    due = day + dt.timedelta(days=int(s.get("due_days", 30)))
    sql = f"""
        SELECT p.member_id AS t_member, 'clerk:' || CAST(p.clerk_id AS VARCHAR(20)) AS t_key,
               {sql_date_param()} AS t_due,
               {sql_json_object()}('visits', v.visits, 'clerk_id', p.clerk_id) AS t_context,
               p.clerk_id AS t_assignee
        FROM ({recent_sql}) p
        JOIN {ClerkVisits._meta.db_table} v ON v.clerk_id = p.clerk_id AND v.member_id = p.member_id
        WHERE v.visits >= %s
    """
    params = [due, *recent_params, int(s.get("visits", 3))]
    try:
        return insert_select(spec(code, day, config), (sql, params), has_assignee=True)
    finally:
        execute("DROP TABLE IF EXISTS care_tmp_visit_pairs")
