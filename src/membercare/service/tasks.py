"""Late complaints escalated to the store manager, as a Celery task (every 30 minutes, see celery_app.py;
the `complaints_escalate` command runs the same function)."""

from __future__ import annotations

from celery import shared_task

from .complaints import complaints_escalate as escalate


@shared_task(name="membercare.service.tasks.complaints_escalate")
def complaints_escalate() -> int:
    return escalate()
