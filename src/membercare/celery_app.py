"""The Celery app, configured from Django settings named CELERY_* (broker, eager mode, timezone).

Run workers and one scheduler (on any number of nodes: RedBeat's lock in Redis lets one send, the others
wait to take over):
    celery -A membercare.celery_app worker -l info
    celery -A membercare.celery_app beat -l info
The nightly jobs (Asia/Shanghai): coupons' expiry 00:10, the stored-value reconciliation 01:00, loyalty 02:30,
care 03:00, the dashboards' facts 03:30, member value predictions Mondays 04:00; every minute the messaging
tick, every 30 minutes the escalation of late complaints, every 5 minutes the reaping of jobs whose worker
died. CELERY_BEAT_SCHEDULE replaces all of these.
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
        # the dashboards' facts read the day's segments: after the care job (about a minute on 1M members)
        "analytics-daily": {"task": "membercare.analytics.tasks.analytics_daily",
                            "schedule": crontab(hour=3, minute=30)},
        # stored value: every card's ledger against its balance, the totals against the liability (yesterday)
        "storedvalue-reconcile": {"task": "membercare.storedvalue.tasks.storedvalue_reconcile",
                                  "schedule": crontab(hour=1, minute=0)},
        "coupons-expire": {"task": "membercare.campaigns.tasks.coupons_expire", "schedule": crontab(hour=0, minute=10)},
        "complaints-escalate": {"task": "membercare.service.tasks.complaints_escalate", "schedule": 30 * 60.0},
        "messaging-tick": {"task": "membercare.messaging.tasks.messaging_tick", "schedule": 60.0},
        # jobs left "running" by a worker that died are marked failed (and can be started again)
        "jobs-reap": {"task": "membercare.core.jobs.jobs_reap", "schedule": 5 * 60.0},
        "prediction-weekly": {"task": "membercare.prediction.tasks.predictions_weekly",
                              "schedule": crontab(hour=4, minute=0, day_of_week=1)},
    }
