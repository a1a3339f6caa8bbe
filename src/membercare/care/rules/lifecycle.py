"""Rules on where a member stands: new members, A members' monthly call, spend drop, dormant, sleeping.

They read the segments the segment step just wrote (care.MemberSegments). Catch-up: each rule selects by a
window or a threshold (">= 90 days", "first purchase 3 to 7 days ago"), not by an exact day, so a day the
job did not run is made up the next time, and the task key keeps it to one task.
"""

from __future__ import annotations

import calendar
import datetime as dt
from fractions import Fraction
from typing import Any

from django.db.models import Case, F, Value, When
from django.db.models.functions import JSONObject
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext

from ..complaints import complaints_on_record_expr
from ..models import MemberSegments
from ..taskgen import insert_select
from .base import (
    CONTACTABLE,
    AddDays,
    DaysSince,
    IsoDate,
    date_value,
    default_language,
    fires,
    previous_run,
    rule_config,
    spec,
)


def new_member_callback(day: dt.date, config: dict[str, Any]) -> int:
    """First purchase `from_day` to `to_day` days ago (3-7): a thank-you call, due on day `to_day`.
    Key: the first purchase date. A purchase uploaded late still gets its call while the window lasts."""
    code = "new_member_callback"
    s = rule_config(config, code)
    from_day, to_day = int(s.get("from_day", 3)), int(s.get("to_day", 7))
    rows = (MemberSegments.objects
            .filter(first_purchase_on__gte=day - dt.timedelta(days=to_day),
                    first_purchase_on__lte=day - dt.timedelta(days=from_day))
            .values(t_member=F("member_id"), t_key=IsoDate("first_purchase_on"),
                    t_due=AddDays("first_purchase_on", to_day),
                    t_context=JSONObject(first_purchase=IsoDate("first_purchase_on"))))
    return insert_select(spec(code, day, config), rows)


def iso_week(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def new_member_weekly(day: dt.date, config: dict[str, Any]) -> int:
    """On the configured weekday (0 = Monday) and the rest of that week: the members whose first purchase
    was in the previous ISO week, to check their data and explain their rights. Key: that week
    (e.g. 2026-W38); due on the Sunday of the current week."""
    code = "new_member_weekly"
    s = rule_config(config, code)
    monday = day - dt.timedelta(days=day.weekday())
    if day < monday + dt.timedelta(days=int(s.get("weekday", 0)) % 7):
        return 0
    last_monday = monday - dt.timedelta(days=7)
    week = iso_week(last_monday)
    rows = (MemberSegments.objects
            .filter(first_purchase_on__gte=last_monday, first_purchase_on__lt=monday)
            .values(t_member=F("member_id"), t_key=Value(week), t_due=date_value(monday + dt.timedelta(days=6)),
                    t_context=JSONObject(week=Value(week), first_purchase=IsoDate("first_purchase_on"))))
    return insert_select(spec(code, day, config), rows)


def month_day(day: dt.date, day_of_month: int) -> dt.date:
    """`day_of_month` of day's month (the last day when the month is shorter)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=max(1, min(int(day_of_month), last)))


def a_monthly_call(day: dt.date, config: dict[str, Any]) -> int:
    """Once a month, on `day_of_month` (or the first run after it): a caring call to every new or active
    member of the follow-up classes (default A), due `due_days` later (dormant and sleeping members are won
    back by dormant_review and sleeping_call instead). Key: the month (YYYY-MM)."""
    code = "a_monthly_call"
    s = rule_config(config, code)
    trigger = month_day(day, int(s.get("day_of_month", 1)))
    if not fires(trigger, day, previous_run(code, day)):
        return 0
    due = max(day, trigger + dt.timedelta(days=int(s.get("due_days", 14))))
    month = day.strftime("%Y-%m")
    rows = (MemberSegments.objects.filter(follow_up__in=s.get("follow_up", ["A"]), lifecycle__in=CONTACTABLE)
            .values(t_member=F("member_id"), t_key=Value(month), t_due=date_value(due),
                    t_context=JSONObject(month=Value(month))))
    return insert_select(spec(code, day, config), rows)


def spend_drop_call(day: dt.date, config: dict[str, Any]) -> int:
    """New or active members of the follow-up classes (A, B) whose spend fell: what they paid in the recent
    window (segments.seven.churn_recent_days, 90 days) is below `ratio` (0.5) x their rate over the rest of
    the 12 months (spend_3m / recent days < ratio x spend_before_3m / the other days) — on spend, not on the
    number of visits (seed 000: 消费频率、金额下滑). A call, at most one a month. Key: the month; due in
    `due_days` (7)."""
    code = "spend_drop_call"
    s = rule_config(config, code)
    month = day.strftime("%Y-%m")
    seg = config["segments"]
    recent = int(seg["seven"]["churn_recent_days"])
    before = int(seg["abc"]["window_days"]) - recent
    ratio = Fraction(str(s.get("ratio", 0.5)))
    rows = (MemberSegments.objects
            .filter(follow_up__in=s.get("follow_up", ["A", "B"]), lifecycle__in=CONTACTABLE, spend_before_3m__gt=0)
            .alias(drop_lhs=F("spend_3m") * (before * ratio.denominator),
                   drop_rhs=F("spend_before_3m") * (recent * ratio.numerator))
            .filter(drop_lhs__lt=F("drop_rhs"))
            .values(t_member=F("member_id"), t_key=Value(month),
                    t_due=date_value(day + dt.timedelta(days=int(s.get("due_days", 7)))),
                    t_context=JSONObject(last_purchase=IsoDate("last_purchase_on"),
                                         days=DaysSince("last_purchase_on", day))))
    return insert_select(spec(code, day, config), rows)


def complaints_on_record(member_ref: str = "member_id"):
    """An expression counting the member's complaints on record (open or past), evaluated per row of the
    dormant review (service.selectors builds it; see care.complaints)."""
    return complaints_on_record_expr(member_ref)


def complaints_text(count: int) -> str:
    """What the dormant review shows about complaints."""
    return gettext("on record: read them before calling") if count else gettext("none on record")


def _days_window(day: dt.date, at_least: int, below: int | None):
    """MemberSegments with last purchase at least `at_least` and (if set) fewer than `below` days ago."""
    rows = MemberSegments.objects.filter(last_purchase_on__lte=day - dt.timedelta(days=at_least))
    if below is not None:
        rows = rows.filter(last_purchase_on__gt=day - dt.timedelta(days=below))
    return rows


def dormant_review(day: dt.date, config: dict[str, Any]) -> int:
    """No purchase for `days` (90) days but fewer than sleeping_call's days (180): review (complaints on
    record? special circumstances?) then contact. Once per dormancy episode: key = the last purchase date;
    due in `due_days` (7)."""
    code = "dormant_review"
    s = rule_config(config, code)
    below = int(rule_config(config, "sleeping_call").get("days", 180))
    complaints = complaints_on_record()
    with default_language():
        none_text, some_text = complaints_text(0), complaints_text(1)
    rows = (_days_window(day, int(s.get("days", 90)), below)
            .values(t_member=F("member_id"), t_key=IsoDate("last_purchase_on"),
                    t_due=date_value(day + dt.timedelta(days=int(s.get("due_days", 7)))),
                    t_context=JSONObject(
                        days=DaysSince("last_purchase_on", day), last_purchase=IsoDate("last_purchase_on"),
                        complaints=complaints,
                        complaints_text=Case(When(GreaterThan(complaints, 0), then=Value(some_text)),
                                             default=Value(none_text)))))
    return insert_select(spec(code, day, config), rows)


def sleeping_call(day: dt.date, config: dict[str, Any]) -> int:
    """No purchase for `days` (180) days: a phone call, recording the reason. Once per episode: key = the
    last purchase date; due in `due_days` (7). Members already lost (no purchase for the lifecycle's
    lost_days, 365) are left to win-back campaigns: they get no call (the first run would otherwise call
    every member gone for years)."""
    code = "sleeping_call"
    s = rule_config(config, code)
    lost = s.get("max_days", config.get("segments", {}).get("lifecycle", {}).get("lost_days"))
    rows = (_days_window(day, int(s.get("days", 180)), int(lost) if lost else None)
            .values(t_member=F("member_id"), t_key=IsoDate("last_purchase_on"),
                    t_due=date_value(day + dt.timedelta(days=int(s.get("due_days", 7)))),
                    t_context=JSONObject(days=DaysSince("last_purchase_on", day),
                                         last_purchase=IsoDate("last_purchase_on"))))
    return insert_select(spec(code, day, config), rows)
