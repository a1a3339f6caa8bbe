"""Liveness and readiness (issue 17): /readyz answers 503 naming what is down (database, cache, storage,
unapplied migrations) and 200 again once it is back, without a restart; /healthz only says the process answers."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.django_db
def test_ready_and_alive_without_a_login(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert set(json.loads(ready.content).values()) == {"OK"}
    assert any("MigrationsApplied" in name for name in json.loads(ready.content))
    assert client.get("/healthz").status_code == 200


READINESS_ACROSS_AN_OUTAGE = """
import django; django.setup()
from asgiref.sync import async_to_sync
from django.db import connections
from django.test import RequestFactory
from health_check.checks import Database
from membercare.core.health import ReadinessView
ready = async_to_sync(ReadinessView.as_view(checks=[Database]))
print(ready(RequestFactory().get("/readyz")).status_code)
connections.settings["default"]["PORT"] = "5432"  # the database is back (each check thread reads the settings)
print(ready(RequestFactory().get("/readyz")).status_code)
"""


def test_readiness_follows_the_database_without_a_restart():
    """A real PostgreSQL client against a port nobody listens on (the database is down), then against the
    server: the same process answers 503, then 200."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "membercare.settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": "postgres://postgres@127.0.0.1:1/postgres"}
    out = subprocess.run([sys.executable, "-c", READINESS_ACROSS_AN_OUTAGE], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.split() == ["503", "200"], out.stderr[-2000:]
