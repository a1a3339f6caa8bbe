"""Points about to expire (issue 19, seed 003): a reminder before the member's points lots expire, so the
member can use them (a checkout offset, a gift) rather than lose them.

Read from loyalty's ledger: the earn lots with points remaining (`PointsEntry.remaining`, kept by the FIFO
consumption and expiry). A member is reminded when one of their lots' expiry dates comes within `days_before`
(30) days — the dates that entered the window since the rule last ran (so a chain whose points all expire on
31 December reads them on one day a year, not every day of December) — with at least `min_points` (100)
points expiring in the window, and no reminder in the last `days_before` days. The task carries the points
expiring in the window and the last date among them ("110 points expire by 26 December": true whether they
expire on one date or several), keyed by that date. The members of the follow-up classes in `follow_up` (A and B:
a personal word from their clerk; a chain whose points all expire at the year's end would otherwise give every
clerk thousands of tasks on one day — everyone else is reached by a bulk send to the audience condition
"points about to expire"). Due today: the message can go at once, singly or as the
care list's group send (message category points_expiry, whose content rules want the points and the date).
The partial index on expires_on (remaining > 0) makes every read a range."""

from __future__ import annotations

import datetime as dt
from typing import Any

from membercare.loyalty.models import PointsEntry

from ..models import MemberSegments, Task
from ..taskgen import insert_select
from .base import previous_run, rule_config, spec, sql_date_param, sql_iso, sql_json_object


def points_expiring(day: dt.date, config: dict[str, Any]) -> int:
    code = "points_expiring"
    s = rule_config(config, code)
    lead = dt.timedelta(days=int(s.get("days_before", 30)))
    until = day + lead
    prev = previous_run(code, day)
    entering_after = max(prev + lead, day - dt.timedelta(days=1)) if prev else day - dt.timedelta(days=1)
    if entering_after >= until:
        return 0
    classes = [c for c in s.get("follow_up", ["A", "B"]) if c in ("A", "B", "C", "D")]
    if not classes:
        return 0
    lots, tasks, p = PointsEntry._meta.db_table, Task._meta.db_table, sql_date_param()
    segments = MemberSegments._meta.db_table
    sql = f"""
        SELECT e.member_id AS t_member, {sql_iso("MAX(e.expires_on)")} AS t_key, {p} AS t_due,
               {sql_json_object()}('points', SUM(e.remaining), 'expires_on', {sql_iso("MAX(e.expires_on)")})
                 AS t_context
        FROM {lots} e
        WHERE e.remaining > 0 AND e.expires_on >= {p} AND e.expires_on <= {p}
          AND e.member_id IN (SELECT n.member_id FROM {lots} n
                              WHERE n.remaining > 0 AND n.expires_on > {p} AND n.expires_on <= {p})
          AND e.member_id IN (SELECT g.member_id FROM {segments} g
                              WHERE g.follow_up IN ({", ".join(["%s"] * len(classes))}))
          AND NOT EXISTS (SELECT 1 FROM {tasks} r WHERE r.rule = %s AND r.member_id = e.member_id
                          AND r.created_on > {p})
        GROUP BY e.member_id HAVING SUM(e.remaining) >= %s
    """
    params = [day, day, until, entering_after, until, *classes, code, day - lead,
              max(1, int(s.get("min_points", 100)))]
    return insert_select(spec(code, day, config), (sql, params))
