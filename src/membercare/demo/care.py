"""The demo's care engine state: two upcoming events (new stock, a campaign) and the daily care job run for
the last week and the demo's "today", as a chain that has run it every night has it — so the clerks' task
lists (calls created in the past days and due today among them) and the members' segments are there on
first login."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from membercare.care.daily import care_daily
from membercare.care.models import CareCursor, CareEvent, DailyRun, Task
from membercare.care.purchase_days import BRAND_CURSOR, CURSOR, STATS_CURSOR
from membercare.org.models import Brand, Role, Staff

HISTORY_DAYS = 7  # nights of the care job before the demo's today
REASONS = ["busy", "elsewhere", "moved", "no_time", "quality", "service", "travelling", "other"]


def _work_the_past(today: dt.date) -> int:
    """The clerks worked their lists on the past days: every task due before today is done on its due day,
    through the same service a clerk's contact form uses (a call reached, not answered or asked to call back;
    a message sent), so today's list holds what is due today, not a week of neglect."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from membercare.care.contacts import REASON_RULES, contact_log
    from membercare.care.models import CareChannel, Outcome, TaskStatus

    zone = ZoneInfo(settings.TIME_ZONE)
    worked = 0
    for n, task in enumerate(Task.objects.filter(status=TaskStatus.OPEN, due_on__lt=today, assignee__isnull=False)
                             .select_related("assignee").order_by("pk")):
        message = task.channel in (CareChannel.SMS, CareChannel.WECHAT, CareChannel.EMAIL)
        outcome = (Outcome.MESSAGE_SENT if message else
                   [Outcome.REACHED, Outcome.REACHED, Outcome.NO_ANSWER, Outcome.CALL_BACK][n % 4])
        reason = REASONS[n % len(REASONS)] if task.rule in REASON_RULES and outcome == Outcome.REACHED else ""
        at = dt.datetime.combine(task.due_on, dt.time(16, n % 60), tzinfo=zone)
        contact_log(staff=task.assignee, channel=task.channel if task.channel in CareChannel.values else "phone",
                    outcome=outcome, task=task, reason=reason, at=at)
        worked += 1
    return worked


def demo_care(today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    specialist = Staff.objects.filter(role=Role.SPECIALIST).order_by("pk").first()
    main = Brand.objects.filter(parent__isnull=True).order_by("pk").first()
    now = timezone.now()
    if not CareEvent.objects.exists():
        CareEvent.objects.create(kind=CareEvent.Kind.NEW_STOCK, title="冬季新品到店", brand=main,
                                 starts_on=today + dt.timedelta(days=2), created_by=specialist, created_at=now,
                                 details="羊绒大衣、羽绒服新款")
        CareEvent.objects.create(kind=CareEvent.Kind.CAMPAIGN, title="会员答谢周", brand=main,
                                 starts_on=today + dt.timedelta(days=5), ends_on=today + dt.timedelta(days=11),
                                 created_by=specialist, created_at=now, details="VIP 专享折上折")
    for days_ago in range(HISTORY_DAYS, 0, -1):
        care_daily(today - dt.timedelta(days=days_ago))
    _work_the_past(today)
    # The past nights ran with every receipt of the demo already there (a real chain's arrive day by day), so
    # the incremental step would not see the purchases made after them: today's run recomputes in full.
    CareCursor.objects.filter(name__in=[CURSOR, STATS_CURSOR, BRAND_CURSOR]).delete()
    run = care_daily(today)
    return {"care_tasks": Task.objects.count(), "care_steps": len(DailyRun.objects.get(pk=run.pk).steps)}
