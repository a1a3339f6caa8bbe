"""Build or bring up to date the analytics facts (the nightly task after the care job does it every day)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.analytics.facts import TIMINGS, analytics_refresh


class Command(BaseCommand):
    help = "Fill the analytics fact tables (first build, or --rebuild) for a day (default today)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--rebuild", action="store_true", help="rebuild every table from its source")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: not a date in the form YYYY-MM-DD: {options['date']!r}") from exc
        counts = analytics_refresh(day, rebuild=options["rebuild"])
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count} ({TIMINGS.get(name, 0):.1f} s)")
