"""Dashboards, reports and exports read from a streaming replica when DATABASE_REPLICA_URL is set; the counter
and every read after a write stay on the primary (issue 17). Against a real replica: the test creates a
PostgreSQL primary and a replica streaming from it (pg_basebackup) on free ports of this machine, then pauses the
replica's replay so that what the primary has and the replica does not yet have tells which one a read used."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip("PostgreSQL server binaries are not installed here")
    return found[-1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # the server refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def _psql(port: int, sql: str) -> str:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-Atc", sql],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.fixture(scope="module")
def clusters():
    base = Path(tempfile.mkdtemp(prefix="membercare-replica-"))  # pytest's own folder is closed to postgres
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    p1, p2 = _port(), _port()
    _as_postgres([_bin("initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync"])
    opts = "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
    _as_postgres([_bin("pg_ctl"), "-D", str(primary), "-o", f"-p {p1} {opts}", "-l", str(base / "p.log"),
                  "-w", "start"])
    try:
        _as_postgres([_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-D", str(replica),
                      "-R", "-X", "stream"])
        _as_postgres([_bin("pg_ctl"), "-D", str(replica), "-o", f"-p {p2} {opts}", "-l", str(base / "r.log"),
                      "-w", "start"])
        assert _psql(p2, "SELECT pg_is_in_recovery()") == "t"
        _psql(p1, "CREATE DATABASE membercare")
        yield p1, p2
    finally:
        for d in (replica, primary):
            if d.exists():
                subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) +
                               [_bin("pg_ctl"), "-D", str(d), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _wait_caught_up(p1: int, p2: int) -> None:
    lsn = _psql(p1, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + 60
    while _psql(p2, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.2)


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
    assert seen["members_page_replica_queries"] == 0
