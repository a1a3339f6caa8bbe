"""One scheduler for the whole deployment (issue 17): two nodes each start `celery beat`; RedBeat's lock in
Redis lets one send the scheduled tasks, the other waits and takes over when the first dies. Real processes,
a real Redis; the tasks sent are counted in the broker's queue."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REDIS = "redis://127.0.0.1:6379/14"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis must run on 127.0.0.1:6379 (the deployment's broker and scheduler lock)")
    client.flushdb()
    yield client
    client.flushdb()


def start_beat(prefix: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TEST_BEAT_REDIS": REDIS, "TEST_BEAT_PREFIX": prefix, "DJANGO_DEBUG": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "CELERY_TASK_ALWAYS_EAGER": "0"}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "tests.core.beat_app", "beat", "-l", "info",
                             "--pidfile="], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def sent(client) -> int:
    return client.llen("celery")  # the default queue: one list entry per task sent


def wait_for_first(client, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sent(client) == 0:
        assert time.monotonic() < deadline, "no scheduler sent anything"
        time.sleep(0.2)


def test_two_schedulers_send_each_task_once_and_the_second_takes_over(redis_db, tmp_path):
    prefix = f"test-beat-{uuid.uuid4().hex[:8]}:"
    first, second = start_beat(prefix, tmp_path / "a.log"), start_beat(prefix, tmp_path / "b.log")
    try:
        wait_for_first(redis_db)
        start = sent(redis_db)
        time.sleep(8)
        both_running = sent(redis_db) - start
        # one heartbeat a second from the lock holder; two unlocked schedulers would send about 16
        assert 5 <= both_running <= 10, (both_running, (tmp_path / "a.log").read_text()[-2000:])

        first.send_signal(signal.SIGKILL)  # a node dies without releasing anything
        first.wait(10)
        start = sent(redis_db)
        time.sleep(10)  # the lock expires after 3 s; the survivor (if it was waiting) takes over
        after = sent(redis_db) - start
        assert 4 <= after <= 11, (after, (tmp_path / "b.log").read_text()[-2000:])
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
