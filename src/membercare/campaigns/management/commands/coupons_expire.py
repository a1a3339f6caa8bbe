"""The campaigns daily step: mark coupons not used by the end of their batch as expired."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.campaigns.services import coupons_expire


class Command(BaseCommand):
    help = "Mark coupons whose batch ended before the day as expired (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="Run as of this day (YYYY-MM-DD); default today.")

    def handle(self, *args, date="", **options):
        try:
            day = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        self.stdout.write(f"coupons expired: {coupons_expire(day)}")
