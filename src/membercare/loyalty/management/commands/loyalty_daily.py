"""The loyalty daily job: card expiry, points expiry, tier retention on card anniversaries."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.loyalty.tasks import run_loyalty_daily


class Command(BaseCommand):
    help = "Expire accumulation cards and points that are due, and re-evaluate tiers on card anniversaries."

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="Run as of this day (YYYY-MM-DD); default today.")

    def handle(self, *args, date="", **options):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        counts = run_loyalty_daily(today)
        self.stdout.write(f"cards expired: {counts['cards_expired']}")
        self.stdout.write(f"points expired: {counts['points_expired']}")
        self.stdout.write(f"tiers dropped on anniversary: {counts['tiers_dropped']}")
        self.stdout.write(f"membership anniversary points given: {counts['anniversary_points']}")
        self.stdout.write(f"points given on members' own dates: {counts['own_date_points']}")
