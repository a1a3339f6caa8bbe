"""The campaigns daily step as a Celery task (the `coupons_expire` command runs the same function).

Schedule it in membercare/celery_app.py's beat schedule, e.g. {"task": "membercare.campaigns.tasks.coupons_expire",
"schedule": crontab(hour=2, minute=45)}; redemption refuses a coupon past its date whether or not it is marked.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .services import coupons_expire as expire


@shared_task(name="membercare.campaigns.tasks.coupons_expire")
def coupons_expire(today: str | None = None) -> int:
    """`today`: YYYY-MM-DD (default: today)."""
    return expire(dt.date.fromisoformat(today) if today else None)
