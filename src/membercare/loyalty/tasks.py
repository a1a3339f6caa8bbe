"""The loyalty daily job: one function, run by the `loyalty_daily` command and by a Celery task."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from membercare.members.cardcode import card_codes_purge

from .cards_daily import cards_expire_due, cards_retention_due
from .points import points_expire_due
from .points_events import member_date_points_due, own_date_points_due


def run_loyalty_daily(today: dt.date | None = None) -> dict[str, int]:
    """Expire accumulation cards past their year, expire points, re-evaluate tiers on card anniversaries.
    Each step is idempotent: a second run on the same day changes nothing."""
    today = today or timezone.localdate()
    cards_expired = cards_expire_due(today)
    points_expired = points_expire_due(today=today)
    retention = cards_retention_due(today)
    card_codes_purge(timezone.now() - dt.timedelta(days=1))  # the member codes' uses: a day is plenty
    anniversaries = member_date_points_due(today)  # the membership anniversary's points, once a year
    own_dates = own_date_points_due(today)  # the points on the dates members gave, once a date and year
    return {"cards_expired": cards_expired, "points_expired": points_expired, "tiers_dropped": len(retention),
            "anniversary_points": anniversaries, "own_date_points": own_dates}


@shared_task(name="membercare.loyalty.tasks.loyalty_daily")
def loyalty_daily(today: str | None = None) -> dict[str, int]:
    """Celery wrapper (schedule it with celery beat; see membercare/celery_app.py). `today`: YYYY-MM-DD."""
    return run_loyalty_daily(dt.date.fromisoformat(today) if today else None)
