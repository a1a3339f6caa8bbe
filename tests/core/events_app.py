"""The Celery app as production workers run it (membercare.celery_app, configured from the settings), with one
task more that touches nothing: tests/core/test_celery_events.py starts a worker of this app and watches its
events."""

from membercare.celery_app import app


@app.task(name="membercare.tests.ping")
def ping(value: str) -> str:
    return value
