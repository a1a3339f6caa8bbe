"""A named lock for work that must not run twice at once across the deployment (the prediction recompute of a
brand): on PostgreSQL a session advisory lock (held by this connection while the work runs, released at the
end or when the process dies), elsewhere (SQLite: the one-machine demo) a lock of this process.

Written here: Django has no such lock, and the work it guards spans many short transactions, which a row lock
(select_for_update) would have to hold open.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """`with exclusive("predictions:3") as got:` — `got` is False when someone holds it (do nothing then)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [_key(name)])
            got = cur.fetchone()[0]
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [_key(name)])
        return
    with _guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


def hold_until_commit(name: str) -> None:
    """Inside a transaction: wait for the named lock and hold it until the transaction ends (PostgreSQL: a
    transaction advisory lock), so a second run of the same work waits and then sees what the first committed —
    e.g. two workers building a derived table for the first time at once. On SQLite (the one-machine demo) the
    database lets one writer in at a time already: nothing to do."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_key(name)])
