"""The contact rhythm (issue 20): seed 002's A/B/C/D follow-up cadence, prospects, a callback after every purchase.

- follow_up_contact / develop_contact (seed 002 客户跟进的节奏: A级一周至少一次, B级半月, C级每月, D级迅速开发):
  a member of follow-up class A, B or C (develop_contact: D) who is new or active gets a contact task when
  nobody logged a contact with them (any channel, home visits included) within the class's interval
  (a_days 7, b_days 15, c_days 30, d_days 10) — nor did they buy within it, when `purchase_counts` (a
  purchase is a visit served face to face) — and no task of the rule is open or was created within the
  interval (one at a time, never twice within it; a cancelled one is not re-made the next day). Dormant,
  sleeping and lost members get none: dormant_review and sleeping_call (win-back) apply instead; prospects
  have prospect_follow_up. Key: the day; due `grace_days` (2) later; for the relationship owner (taskgen).
- prospect_follow_up (seed 000: 未成交…可以尝试2次,3次或者多次跟踪服务): a member registered without a purchase
  (lifecycle prospect) is followed `days_after` days after registering (3, 7, 14: three times); a step is
  made from its day until the next step's day (at most `catch_up_days` later), so a missed night is made up
  and an old registration is never followed all at once. It stops when they buy or a contact with them is
  logged as declined (or "does not want to be contacted"); their open follow-ups are then cancelled.
  Key: the step (1, 2, 3).
- purchase_callback (seed 001: 顾客购买后3至7天是回访的最佳时间段): every purchase day (net paid) of at least
  `min_amount` yuan gets a callback from `from_day_after` to `to_day_after` days after it, due on the last — but the
  first purchase, which has new_member_callback (while that rule is on). At most one open callback per
  member (neither rule's) and none within `min_gap_days` of the previous one. Key: the purchase day.

All set-based: one INSERT ... SELECT per class or step (care.taskgen.insert_select) over care_membersegments,
care_purchaseday and the contact and task indexes; no loop over members.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from membercare.core.sql import execute, localday

from ..models import Contact, MemberSegments, Outcome, PurchaseDay, Task, TaskStatus
from ..taskgen import insert_select
from .base import (
    CONTACTABLE,
    rule_config,
    spec,
    sql_add_days,
    sql_date_param,
    sql_iso,
    sql_json_object,
)

CLASS_INTERVAL = {"A": ("follow_up_contact", "a_days", 7), "B": ("follow_up_contact", "b_days", 15),
                  "C": ("follow_up_contact", "c_days", 30), "D": ("develop_contact", "d_days", 10)}
STOP_OUTCOMES = (Outcome.DECLINED, Outcome.REFUSED)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _tables() -> dict[str, str]:
    return {"seg": MemberSegments._meta.db_table, "contact": Contact._meta.db_table,
            "task": Task._meta.db_table, "pday": PurchaseDay._meta.db_table}


def _cadence(code: str, classes: list[str], day: dt.date, config: dict[str, Any]) -> int:
    s = rule_config(config, code)
    t = _tables()
    date_p = sql_date_param()
    created = 0
    for follow_up in classes:
        _code, key, default = CLASS_INTERVAL[follow_up]
        interval = max(1, int(s.get(key, default)))
        since = day - dt.timedelta(days=interval - 1)  # "within the interval": the last `interval` days, today too
        bought = (f" AND NOT EXISTS (SELECT 1 FROM {t['pday']} p WHERE p.member_id = s.member_id"
                  f" AND p.day >= {date_p} AND p.day <= {date_p})") if s.get("purchase_counts", True) else ""
        lifecycles = ", ".join(f"'{v}'" for v in CONTACTABLE)
        sql = f"""
            SELECT s.member_id AS t_member, %s AS t_key, {date_p} AS t_due,
                   {sql_json_object()}('follow_up', s.follow_up, 'interval', {int(interval)}) AS t_context
            FROM {t['seg']} s
            WHERE s.follow_up = %s AND s.lifecycle IN ({lifecycles})
              AND NOT EXISTS (SELECT 1 FROM {t['contact']} c WHERE c.member_id = s.member_id AND c.at >= %s)
              AND NOT EXISTS (SELECT 1 FROM {t['task']} x WHERE x.rule = %s AND x.member_id = s.member_id
                              AND (x.status = %s OR x.created_on >= {date_p})){bought}"""
        params: list[Any] = [day.isoformat(), day + dt.timedelta(days=int(s.get("grace_days", 2))), follow_up,
                             _midnight(since), code, TaskStatus.OPEN, since]
        if bought:
            params += [since, day]
        created += insert_select(spec(code, day, config), (sql, params))
    return created


def follow_up_contact(day: dt.date, config: dict[str, Any]) -> int:
    """A, B and C members not contacted within their class's interval (module docstring)."""
    return _cadence("follow_up_contact", ["A", "B", "C"], day, config)


def develop_contact(day: dt.date, config: dict[str, Any]) -> int:
    """D members (to develop) not contacted within d_days (module docstring)."""
    return _cadence("develop_contact", ["D"], day, config)


def prospect_days(config: dict[str, Any]) -> list[int]:
    """The prospect follow-ups' days after registration, ascending and distinct."""
    return sorted({int(d) for d in rule_config(config, "prospect_follow_up").get("days_after", [3, 7, 14])})


def prospect_follow_up(day: dt.date, config: dict[str, Any]) -> int:
    """Prospects followed on the set days after registering until they buy or decline (module docstring)."""
    code = "prospect_follow_up"
    s = rule_config(config, code)
    t = _tables()
    stop = ", ".join(f"'{o}'" for o in STOP_OUTCOMES)
    declined = f"SELECT 1 FROM {t['contact']} c WHERE c.member_id = {t['task']}.member_id AND c.outcome IN ({stop})"
    # they bought, or declined: the open follow-ups are withdrawn
    bought = f"SELECT 1 FROM {t['seg']} s WHERE s.member_id = {t['task']}.member_id AND s.lifecycle <> 'prospect'"
    execute(f"""UPDATE {t['task']} SET status = %s
                WHERE rule = %s AND status = %s AND (EXISTS ({declined}) OR EXISTS ({bought}))""",
            [TaskStatus.CANCELLED, code, TaskStatus.OPEN])
    days = prospect_days(config)
    catch_up = max(1, int(s.get("catch_up_days", 7)))
    created = 0
    for step, after in enumerate(days, start=1):
        following = days[step] if step < len(days) else None
        window = min(catch_up, following - after) if following is not None else catch_up
        # registered on a day r with r + after <= day < r + after + window
        newest, oldest = day - dt.timedelta(days=after), day - dt.timedelta(days=after + window - 1)
        sql = f"""
            SELECT m.id AS t_member, %s AS t_key, {sql_date_param()} AS t_due,
                   {sql_json_object()}('step', {step}, 'of', {len(days)},
                                       'registered', {sql_iso(localday('m.created_at'))}) AS t_context
            FROM members_member m JOIN {t['seg']} s ON s.member_id = m.id
            WHERE m.created_at >= %s AND m.created_at < %s AND s.lifecycle = 'prospect'
              AND NOT EXISTS (SELECT 1 FROM {t['contact']} c WHERE c.member_id = m.id AND c.outcome IN ({stop}))"""
        params = [str(step), day, _midnight(oldest), _midnight(newest + dt.timedelta(days=1))]
        created += insert_select(spec(code, day, config), (sql, params))
    return created


def purchase_callback(day: dt.date, config: dict[str, Any]) -> int:
    """A callback after every purchase of at least min_amount, 3-7 days later (module docstring)."""
    code = "purchase_callback"
    s = rule_config(config, code)
    t = _tables()
    from_day, to_day = int(s.get("from_day_after", 3)), int(s.get("to_day_after", 7))
    min_cents = int(Decimal(str(s.get("min_amount", "500.00"))) * 100)
    gap = max(1, int(s.get("min_gap_days", 14)))
    first_has_own = bool(config["rules"].get("new_member_callback", {}).get("enabled", False))
    date_p = sql_date_param()
    last = "MAX(p.day)"
    sql = f"""
        SELECT p.member_id AS t_member, {sql_iso(last)} AS t_key, {sql_add_days(last, str(to_day))} AS t_due,
               {sql_json_object()}('purchase', {sql_iso(last)}) AS t_context
        FROM {t['pday']} p JOIN {t['seg']} s ON s.member_id = p.member_id
        WHERE p.day >= {date_p} AND p.day <= {date_p} AND p.paid_cents >= %s
          {'AND p.day > s.first_purchase_on' if first_has_own else ''}
          AND NOT EXISTS (SELECT 1 FROM {t['task']} x WHERE x.member_id = p.member_id
                          AND x.rule IN (%s, 'new_member_callback')
                          AND (x.status = %s OR (x.rule = %s AND x.created_on > {date_p})))
        GROUP BY p.member_id"""
    params = [day - dt.timedelta(days=to_day), day - dt.timedelta(days=from_day), min_cents, code,
              TaskStatus.OPEN, code, day - dt.timedelta(days=gap)]
    return insert_select(spec(code, day, config), (sql, params))
