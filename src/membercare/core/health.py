"""Liveness and readiness for load balancers and orchestrators (issue 17), on django-health-check.

`/healthz` says the process answers (no dependency: a stopped database must not get the process restarted);
`/readyz` says it can serve: the database answers, the cache and the file storage work, and every migration of
this code is applied. Any failure answers 503 (the library's own view answers 500, which a balancer cannot tell
from a crash) with the failing check named, as JSON; it recovers without a restart once the dependency is back.
"""

from __future__ import annotations

import asyncio
import dataclasses

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

_migrated: set[str] = set()  # aliases found fully migrated: a process's code does not change under it


@dataclasses.dataclass
class MigrationsApplied(HealthCheck):
    """Every migration of the running code is applied (a node started before `migrate` finished is not ready)."""

    alias: str = "default"

    def run(self) -> None:
        if self.alias in _migrated:
            return
        connection = connections[self.alias]
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        finally:
            connection.close()  # this check runs in a worker thread: leave no connection behind
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migrations not applied")
        _migrated.add(self.alias)


class ReadinessView(HealthCheckView):
    checks = (Database, Cache, Storage, MigrationsApplied)

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        return self.render_to_response_json(503 if any(r.error for r in self.results) else 200)


def liveness(request) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
