"""Dashboards, reports, exports and the prediction page read from a streaming replica when DATABASE_REPLICA_URL
is set; the counter and every read after a write stay on the primary (issue 17). Against a real replica: the test
creates a PostgreSQL primary and a replica streaming from it (pg_basebackup) on free ports of this machine, then
pauses the replica's replay so that what the primary has and the replica does not yet have tells which one a read
used."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.pg_cluster import primary_and_replica, psql, wait_caught_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def clusters():
    with primary_and_replica() as (p1, p2, _base):
        yield p1, p2


_psql, _wait_caught_up = psql, wait_caught_up


def test_reports_read_the_replica_and_the_counter_the_primary(clusters):
    p1, p2 = clusters
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"postgres://postgres@127.0.0.1:{p1}/membercare",
           "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{p2}/membercare",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
           "DJANGO_SETTINGS_MODULE": "membercare.settings"}
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=600)

    def step(name: str) -> dict:
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "core" / "replica_check.py")], env={
            **env, "REPLICA_STEP": name}, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert step("seed") == {"members": 1}
    _wait_caught_up(p1, p2)
    _psql(p2, "SELECT pg_wal_replay_pause()")
    try:
        seen = step("read")
    finally:
        _psql(p2, "SELECT pg_wal_replay_resume()")
    assert seen["primary_orm"] == 2  # the counter reads what it just wrote
    assert seen["replica_orm"] == seen["replica_sql"] == 1  # report reads: the replica, a moment behind
    assert seen["dashboard_status"] == 200 and seen["dashboard_replica_queries"] > 0
    assert seen["prediction_status"] == 200 and seen["prediction_replica_queries"] > 0  # the prediction summary
    assert seen["members_page_replica_queries"] == 0
