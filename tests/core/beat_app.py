"""The Celery app as `celery beat` runs it in production, with a one-second heartbeat instead of the nightly
jobs and its own Redis database and key prefix (tests/core/test_scheduler.py starts two of these)."""

import os

from membercare.celery_app import app

REDIS = os.environ["TEST_BEAT_REDIS"]
app.conf.update(
    broker_url=REDIS, redbeat_redis_url=REDIS, redbeat_key_prefix=os.environ["TEST_BEAT_PREFIX"],
    redbeat_lock_timeout=3, beat_max_loop_interval=1,
    beat_schedule={"heartbeat": {"task": "membercare.tests.heartbeat", "schedule": 1.0}},
)
