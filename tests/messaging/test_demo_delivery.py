"""The demo behaves like production (issue 18 part 6): `make demo` runs the delivery worker beside the web server,
so a message a clerk sends reaches the local outbox and shows as sent; members' links use the demo's host."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from membercare.messaging.models import Message, MessageStatus
from tests.factories import MemberFactory

from .conftest import at

ROOT = Path(__file__).resolve().parents[2]


def make_demo_commands(**variables: str) -> str:
    """What `make demo` runs (make -n: printed, not run; the install steps are taken as done)."""
    args = ["make", "-n", "demo", "-o", ".venv/.installed", "-o", "node_modules/.package-lock.json",
            *[f"{k}={v}" for k, v in variables.items()]]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "MEMBERCARE_VAR_DIR": "/tmp/membercare-make-n"}).stdout


def test_make_demo_runs_the_delivery_worker_beside_the_server_and_stops_it():
    script = make_demo_commands(HOST="127.0.0.1:8773")
    serve = script[script.index("MEMBERCARE_DEMO=1"):]
    assert "messages_worker --loop" in serve and "runserver 127.0.0.1:8773" in serve
    assert serve.index("messages_worker --loop") < serve.index("runserver")  # in the background, before
    assert "& worker=$!" in serve and "trap 'kill $worker" in serve  # stopped when the server stops


@pytest.mark.django_db
def test_a_message_sent_from_the_profile_in_the_demo_ends_sent_in_the_outbox(outbox, login, clerk, store):
    member = MemberFactory(home_store=store, owner=clerk, name="王丽")
    client = login(clerk)
    with override_settings(MEMBERCARE_DEMO=True, CELERY_TASK_ALWAYS_EAGER=True), \
            time_machine.travel(at(2026, 11, 2, 10), tick=True):
        r = client.post(reverse("member_message", args=[member.pk]),
                        {"channel": "sms", "body": "王女士您好，您订的大衣到店了。"})
        assert r.status_code == 302
        assert Message.objects.get(member=member).status == MessageStatus.QUEUED
        out = io.StringIO()
        call_command("messages_worker", stdout=out)  # one round of the demo's worker loop
    message = Message.objects.get(member=member)
    assert message.status == MessageStatus.SENT and "sent: 1" in out.getvalue()
    assert [line["body"] for line in outbox()] == ["王女士您好，您订的大衣到店了。"]
    assert [line["id"] for line in outbox()] == [message.pk]


@pytest.mark.django_db
def test_the_worker_loop_survives_a_failed_round(monkeypatch):
    from membercare.messaging.management.commands import messages_worker

    rounds: list[str] = []

    def tick() -> dict[str, int]:
        rounds.append("tick")
        if len(rounds) == 1:
            raise RuntimeError("database is locked")
        return {"enqueued": 0, "sent": 1, "retry": 0, "failed": 0, "skipped": 0}

    class Stop(Exception):
        pass

    def sleep(_seconds: float) -> None:
        if len(rounds) >= 2:
            raise Stop

    monkeypatch.setattr(messages_worker, "run_messaging_tick", tick)
    monkeypatch.setattr(messages_worker.time, "sleep", sleep)
    monkeypatch.setattr(messages_worker.connection, "close", lambda: None)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(Stop):
        call_command("messages_worker", "--loop", "--interval", "0", stdout=out, stderr=err)
    assert rounds == ["tick", "tick"] and "failed" in err.getvalue() and "sent: 1" in out.getvalue()


def test_make_demo_passes_its_host_to_public_links():
    script = make_demo_commands(HOST="10.0.0.5:8773")
    public = "MEMBERCARE_PUBLIC_URL=${MEMBERCARE_PUBLIC_URL:-http://10.0.0.5:8773}"
    assert public in script[:script.index("demo_load")].splitlines()[-1]  # the invitations demo_load writes
    assert public in script[script.index("export DJANGO_DEBUG"):script.index("runserver")]  # the server, the worker
    # served on every interface: no address is set, each link takes the host its page was opened with
    everywhere = make_demo_commands(HOST="0.0.0.0:8773")
    assert "MEMBERCARE_PUBLIC_URL=${MEMBERCARE_PUBLIC_URL:-}" in everywhere and "http://0.0.0.0" not in everywhere
