"""The care daily job as a Celery task (scheduled by celery beat, see membercare/celery_app.py)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .daily import care_daily


@shared_task(name="membercare.care.tasks.care_daily")
def care_daily_task(day: str | None = None) -> dict:
    """`day`: YYYY-MM-DD (default today). Returns the steps' counts."""
    run = care_daily(dt.date.fromisoformat(day) if day else None)
    return {name: step["count"] for name, step in run.steps.items()}
