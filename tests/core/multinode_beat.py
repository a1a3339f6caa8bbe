"""The Celery app as `celery beat` runs it in production (membercare.celery_app: RedBeat, its lock, the
production schedule's every job), except that each scheduled job's time is one moment, MULTINODE_TICK_AT (a Unix
time), instead of its night: tests/core/test_multinode.py starts two of these, as two nodes would."""

import datetime as dt
import os

from redbeat.schedules import rrule

from membercare.celery_app import app

TICK = dt.datetime.fromtimestamp(float(os.environ["MULTINODE_TICK_AT"]), tz=dt.UTC)
app.conf.beat_schedule = {name: {**entry, "schedule": rrule("SECONDLY", dtstart=TICK, count=1)}
                          for name, entry in app.conf.beat_schedule.items()}
