"""The weekly prediction recompute as a Celery task (scheduled by celery beat, see membercare/celery_app.py)."""

from __future__ import annotations

from celery import shared_task

from .services import predictions_recompute


@shared_task(name="membercare.prediction.tasks.predictions_weekly")
def predictions_weekly_task() -> dict:
    """Every brand; returns per brand the members counted (or why it was skipped)."""
    return {code: r.get("members", 0) for code, r in predictions_recompute().items()}
