"""Deliver messages: enqueue due bulk sends and send what is due, once or in a loop.

`make demo` runs it with --loop beside the web server (the demo has no Celery beat), so a message sent from a
care task or a profile reaches the local outbox (var/outbox/) within seconds and shows as sent."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from membercare.messaging.tasks import run_messaging_tick

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue due bulk sends and deliver queued messages (--loop keeps running)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running; poll every --interval seconds.")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, loop: bool = False, interval: float = 5.0, **options) -> None:
        while True:
            if not loop:
                self._report(run_messaging_tick())
                return
            try:
                counts = run_messaging_tick()
            except Exception:  # a locked database or a backend's bug must not stop the loop: next round
                log.exception("messaging tick failed")
                self.stderr.write("messaging tick failed (see the log); trying again")
                connection.close()  # a fresh connection for the next round
            else:
                if any(counts.values()):
                    self._report(counts)
            time.sleep(interval)

    def _report(self, counts: dict[str, int]) -> None:
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
        self.stdout.flush()
