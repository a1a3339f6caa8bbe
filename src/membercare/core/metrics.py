"""Prometheus metrics (issue 17), scraped at /metrics with the token MEMBERCARE_METRICS_TOKEN.

django-prometheus counts the requests, their latencies and the database's work; this module adds what an
operator of a chain watches: sales and returns posted and refused at the counter and the POS API, background
task runs and failures per task, and the length of the Celery queue (read from Redis when scraped). With several
gunicorn workers set PROMETHEUS_MULTIPROC_DIR to an empty folder so every worker's counts are summed.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

CHECKOUTS = Counter("membercare_checkouts", "Sales posted (result=posted) or refused (result=refused, by code)",
                    ["result", "code"])
RETURNS = Counter("membercare_returns", "Returns posted or refused", ["result", "code"])
TASK_RUNS = Counter("membercare_task_runs", "Background task runs by task and outcome", ["task", "state"])


def count_checkout(result: str, code: str = "") -> None:
    CHECKOUTS.labels(result=result, code=code[:40]).inc()


def count_return(result: str, code: str = "") -> None:
    RETURNS.labels(result=result, code=code[:40]).inc()


class QueueLength(Collector):
    """The number of tasks waiting in the Celery queue, read from the Redis broker when scraped."""

    def collect(self):
        gauge = GaugeMetricFamily("membercare_queue_length", "Tasks waiting in the Celery queue", labels=["queue"])
        url = getattr(settings, "CELERY_BROKER_URL", "")
        if url.startswith("redis") and not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            try:
                import redis

                client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
                gauge.add_metric(["celery"], client.llen("celery"))
            except Exception:  # the broker down: no sample (readiness reports it), never a failed scrape
                pass
        yield gauge


_registered: list[bool] = []


def register() -> None:
    """Once per process (CoreConfig.ready): the queue collector and the Celery signal receivers."""
    if _registered:
        return
    _registered.append(True)
    REGISTRY.register(QueueLength())
    from celery import signals

    def _task_name(sender=None, **kwargs) -> str:
        return getattr(sender, "name", "") or str(sender)

    signals.task_success.connect(lambda sender=None, **kw: TASK_RUNS.labels(_task_name(sender), "success").inc(),
                                 weak=False)
    signals.task_failure.connect(lambda sender=None, **kw: TASK_RUNS.labels(_task_name(sender), "failure").inc(),
                                 weak=False)
    signals.task_retry.connect(lambda sender=None, **kw: TASK_RUNS.labels(_task_name(sender), "retry").inc(),
                               weak=False)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics for Prometheus, with `Authorization: Bearer <MEMBERCARE_METRICS_TOKEN>`; without a token
    configured the endpoint does not exist."""
    token = getattr(settings, "MEMBERCARE_METRICS_TOKEN", "")
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    from django_prometheus.exports import ExportToDjangoView

    return ExportToDjangoView(request)
