"""Deliver messages: enqueue due bulk sends and send what is due, once or in a loop."""

import time

from django.core.management.base import BaseCommand

from membercare.messaging.tasks import run_messaging_tick


class Command(BaseCommand):
    help = "Enqueue due bulk sends and deliver queued messages (--loop keeps running)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running; poll every --interval seconds.")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args, loop=False, interval=5.0, **options):
        while True:
            counts = run_messaging_tick()
            if any(counts.values()) or not loop:
                self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
            if not loop:
                return
            time.sleep(interval)
