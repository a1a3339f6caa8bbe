"""Reads that may go to a streaming replica (issue 17): dashboards, reports and exports, when
DATABASE_REPLICA_URL is set. Everything else — the counter, the POS API, every write and the reads that follow
a write — stays on the primary.

A read goes to the replica only inside `from_replica()`: the ReplicaMiddleware opens it for GET requests to the
report pages (settings.MEMBERCARE_REPLICA_PATHS), the export jobs open it themselves. The ORM follows through
the ReplicaRouter, raw SQL through `read_alias()` (core.sql.fetch). Without a replica configured nothing
changes. Written here: Django's routers choose per model, not per request, and the libraries that route by
request (e.g. django-replicated) are not in the package index this project installs from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
_reading_replica: ContextVar[bool] = ContextVar("membercare_reading_replica", default=False)


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def from_replica() -> Iterator[None]:
    """Reads inside go to the replica when there is one (writes never do)."""
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def read_alias() -> str:
    """The database a read should use now: the replica inside from_replica(), else the primary."""
    return REPLICA if _reading_replica.get() and has_replica() else "default"


PRIMARY_ONLY = {"sessions", "auth", "org", "axes", "core"}  # who is logged in, and jobs: read after their writes


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return "default" if model._meta.app_label in PRIMARY_ONLY else read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same database, one a copy of the other

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaMiddleware:
    """GET requests to the report pages read from the replica (after authentication: the session and the user
    come from the primary, which just wrote them at login)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        paths = getattr(settings, "MEMBERCARE_REPLICA_PATHS", ())
        if request.method == "GET" and has_replica() and request.path.startswith(tuple(paths)):
            _ = request.user.is_authenticated  # the session and the user: read now, from the primary
            with from_replica():
                return self.get_response(request)
        return self.get_response(request)
