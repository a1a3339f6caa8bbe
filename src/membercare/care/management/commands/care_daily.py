"""The daily care job: segments and care tasks (see membercare.care.daily)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.care.daily import care_daily


class Command(BaseCommand):
    help = "Recompute every member's segments and create today's care tasks (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="Run as of this day (YYYY-MM-DD); default today.")
        parser.add_argument("--force", action="store_true", help="Run every step again even if it finished.")

    def handle(self, *args, date="", force=False, **options):
        try:
            day = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        run = care_daily(day, force=force)
        for name, step in run.steps.items():
            self.stdout.write(f"{name}: {step['count']} ({step['seconds']} s)")
        for warning in run.warnings:
            self.stdout.write(self.style.WARNING(warning))
