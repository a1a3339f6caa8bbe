"""Messaging in the production queue: run due bulk sends and deliver queued messages (celery beat runs
`messaging_tick` every minute; see membercare/celery_app.py)."""

from __future__ import annotations

from celery import shared_task

from .bulk import bulk_due, bulk_enqueue
from .delivery import deliver_all


def run_messaging_tick() -> dict[str, int]:
    """Enqueue bulk sends that are due (resuming interrupted ones), then deliver what is due."""
    enqueued = sum(bulk_enqueue(bulk) for bulk in bulk_due())
    counts = deliver_all()
    return {"enqueued": enqueued, **counts}


@shared_task(name="membercare.messaging.tasks.messaging_tick")
def messaging_tick() -> dict[str, int]:
    return run_messaging_tick()
