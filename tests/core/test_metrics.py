"""Prometheus metrics behind a token (issue 17): requests and latencies (django-prometheus), sales and
returns posted and refused, background task runs, the queue's length."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post, return_post
from tests.loyalty.conftest import chain, member  # noqa: F401

TOKEN = "metrics-token-for-the-test-0123456789"
AT = dt.datetime(2026, 6, 1, 12, tzinfo=ZoneInfo("Asia/Shanghai"))


def scrape(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.content.decode()


def value(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_need_the_token_and_do_not_exist_without_one(db, settings):
    client = Client()
    settings.MEMBERCARE_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.MEMBERCARE_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    text = scrape(client)
    assert "django_http_requests_total_by_method_total" in text and "membercare_queue_length" in text


def test_sales_returns_and_refusals_are_counted(chain, member, settings):  # noqa: F811
    settings.MEMBERCARE_METRICS_TOKEN = TOKEN
    client = Client()
    before = scrape(client)
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                            sold_at=AT)
    with pytest.raises(CheckoutError):
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("NOPE", 1)])
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=AT)
    after = scrape(client)
    for name, labels in (("membercare_checkouts_total", {"result": "posted"}),
                         ("membercare_checkouts_total", {"result": "refused", "code": "sku_unknown"}),
                         ("membercare_returns_total", {"result": "posted"})):
        assert value(after, name, **labels) == value(before, name, **labels) + 1, (name, labels)


def test_background_task_runs_are_counted(db, settings):
    from membercare.core.jobs import run_job_task  # a real task, run eagerly here

    settings.MEMBERCARE_METRICS_TOKEN = TOKEN
    client = Client()
    labels = {"task": run_job_task.name, "state": "failure"}
    before = value(scrape(client), "membercare_task_runs_total", **labels)
    run_job_task.apply(args=[0])  # a job that does not exist: the task fails
    assert value(scrape(client), "membercare_task_runs_total", **labels) == before + 1
