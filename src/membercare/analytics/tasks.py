"""The dashboards' facts brought up to date every night after the care job (see membercare/celery_app.py;
the `analytics_refresh` command runs the same function)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .facts import analytics_refresh


@shared_task(name="membercare.analytics.tasks.analytics_daily")
def analytics_daily(day: str | None = None) -> dict[str, int]:
    """`day`: YYYY-MM-DD (default today). Returns rows written per fact table."""
    return analytics_refresh(dt.date.fromisoformat(day) if day else None)
