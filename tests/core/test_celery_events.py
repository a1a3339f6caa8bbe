"""Task events (issue 17): the settings make every worker send task events and whoever queues a task send
"task-sent", with no `-E` on the command line, so `celery events` or Flower can watch the deployment. A real
worker on a real Redis, a task queued by another process with the production settings, and an event receiver
(what Flower runs) listening on the broker."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.core.event_log import EventLog

REDIS = "redis://127.0.0.1:6379/7"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 (the deployment's broker)")
    client.flushdb()
    yield client
    client.flushdb()


def celery_env() -> dict[str, str]:
    env = {**os.environ, "DJANGO_DEBUG": "1", "CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_BROKER_URL": REDIS,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
           "DJANGO_SETTINGS_MODULE": "membercare.settings"}
    env.pop("CELERY_SEND_EVENTS", None)  # the default
    return env


def test_a_worker_and_a_sender_emit_task_events_by_the_settings(redis_db, tmp_path):
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.core.events_app", "worker", "--pool", "solo", "-l", "info",
         "-n", f"events-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=celery_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with EventLog(REDIS) as events:
            deadline = time.monotonic() + 90
            while not any(e["type"] == "worker-online" for e in list(events.events)):
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
            task_id = str(uuid.uuid4())
            subprocess.run([sys.executable, "-c", "from membercare.celery_app import app; "
                            f"app.send_task('membercare.tests.ping', args=['hello'], task_id='{task_id}')"],
                           cwd=ROOT, env=celery_env(), check=True, timeout=120)
            wanted = {"task-sent", "task-received", "task-started", "task-succeeded"}
            seen = events.wait_for(task_id, wanted)
            assert wanted <= seen, (seen, log.read_text()[-3000:])
            succeeded = next(e for e in events.events if e.get("uuid") == task_id and e["type"] == "task-succeeded")
            assert succeeded["result"] == "'hello'"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
