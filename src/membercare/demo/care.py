"""The demo's care engine state: two upcoming events (new stock, a campaign) and the daily care job run for
the demo's "today", so the clerks' task lists and the members' segments are there on first login."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from membercare.care.daily import care_daily
from membercare.care.models import CareEvent, DailyRun, Task
from membercare.org.models import Brand, Role, Staff


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
                                 starts_on=today + dt.timedelta(days=4), ends_on=today + dt.timedelta(days=10),
                                 created_by=specialist, created_at=now, details="VIP 专享折上折")
    run = care_daily(today)
    return {"care_tasks": Task.objects.count(), "care_steps": len(DailyRun.objects.get(pk=run.pk).steps)}
