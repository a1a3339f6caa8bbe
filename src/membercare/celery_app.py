"""The Celery app, configured from Django settings named CELERY_* (broker, eager mode, timezone).

Run a worker and the scheduler with:
    celery -A membercare.celery_app worker -B -l info
The loyalty daily job runs every night at 02:30, the care daily job at 03:00 (Asia/Shanghai), the
member value predictions every Monday at 04:00 and the messaging tick every minute, unless
CELERY_BEAT_SCHEDULE is set.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")

app = Celery("membercare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

if not app.conf.beat_schedule:
    app.conf.beat_schedule = {
        "loyalty-daily": {"task": "membercare.loyalty.tasks.loyalty_daily", "schedule": crontab(hour=2, minute=30)},
        "care-daily": {"task": "membercare.care.tasks.care_daily", "schedule": crontab(hour=3, minute=0)},
        "messaging-tick": {"task": "membercare.messaging.tasks.messaging_tick", "schedule": 60.0},
        "prediction-weekly": {"task": "membercare.prediction.tasks.predictions_weekly",
                              "schedule": crontab(hour=4, minute=0, day_of_week=1)},
    }
