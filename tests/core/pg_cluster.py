"""A PostgreSQL primary and a streaming replica created for a test on free ports of this machine (initdb,
pg_basebackup -R), used by tests/core/test_replica.py and tests/core/test_multinode.py.

MEMBERCARE_TEST_PG_PORTS=5500-5519 keeps the clusters' ports in a range (a shared machine); the data folders go
under the temporary folder (TMPDIR). Without the server binaries, or as root without `runuser`, the tests that
need them are skipped with the reason."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip("PostgreSQL server binaries are not installed here")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: the PostgreSQL server cannot be started as postgres")
    return found[-1]


def free_port(env_range: str = "", exclude: tuple[int, ...] = ()) -> int:
    """A free TCP port of 127.0.0.1 (not one of `exclude`, chosen but not yet bound): any, or one of the range
    named by the environment variable (e.g. 5500-5519)."""
    span = os.environ.get(env_range, "") if env_range else ""
    candidates = [0]
    if span:
        low, high = (int(p) for p in span.split("-"))
        candidates = list(range(low, high + 1))
    for port in candidates:
        if port in exclude:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            if s.getsockname()[1] not in exclude:
                return s.getsockname()[1]
    raise RuntimeError(f"no free port in {env_range}={span}")


def as_postgres(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # the server refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def psql(port: int, sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-Atc", sql],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@contextmanager
def primary_and_replica(replica_opts: str = "") -> Iterator[tuple[int, int, Path]]:
    """(primary port, replica port, the folder holding both and their logs p.log / r.log); a database
    `membercare` exists on the primary. Both are stopped and removed at the end, whatever happened."""
    base = Path(tempfile.mkdtemp(prefix="membercare-replica-"))  # pytest's own folder is closed to postgres
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    p1 = free_port("MEMBERCARE_TEST_PG_PORTS")
    opts = "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
    try:
        as_postgres([pg_bin("initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync"])
        as_postgres([pg_bin("pg_ctl"), "-D", str(primary), "-o", f"-p {p1} {opts}", "-l", str(base / "p.log"),
                     "-w", "start"])
        p2 = free_port("MEMBERCARE_TEST_PG_PORTS")
        as_postgres([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-D",
                     str(replica), "-R", "-X", "stream"])
        as_postgres([pg_bin("pg_ctl"), "-D", str(replica), "-o", f"-p {p2} {opts} {replica_opts}", "-l",
                     str(base / "r.log"), "-w", "start"])
        assert psql(p2, "SELECT pg_is_in_recovery()") == "t"
        psql(p1, "CREATE DATABASE membercare")
        yield p1, p2, base
    finally:
        for d in (replica, primary):
            if (d / "postmaster.pid").exists():
                subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) +
                               [pg_bin("pg_ctl"), "-D", str(d), "-m", "immediate", "-w", "stop"],
                               capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def wait_caught_up(p1: int, p2: int, timeout: float = 60) -> None:
    lsn = psql(p1, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while psql(p2, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.2)
