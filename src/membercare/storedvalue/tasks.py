"""The stored-value nightly reconciliation as a Celery task (scheduled by celery beat, see celery_app.py)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from .reconcile import reconcile


@shared_task(name="membercare.storedvalue.tasks.storedvalue_reconcile")
def storedvalue_reconcile_task(day: str | None = None) -> dict:
    """`day`: YYYY-MM-DD (default yesterday). Returns the run's counts."""
    run = reconcile(dt.date.fromisoformat(day) if day else None)
    return {"day": run.day.isoformat(), "cards": run.cards_checked, "cards_off": run.cards_off,
            "ok": run.ok}
