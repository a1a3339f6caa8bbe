"""Recompute member value predictions (BG/NBD + Gamma-Gamma) per brand: see membercare.prediction.services."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.org.models import Brand
from membercare.prediction.services import predictions_recompute


class Command(BaseCommand):
    help = "Fit the purchase and spend models per brand and write every member's predictions."

    def add_arguments(self, parser):
        parser.add_argument("--brand", default="", help="Brand code (default: every brand with stores).")
        parser.add_argument("--date", default="", help="Use the history up to this day (YYYY-MM-DD); default today.")

    def handle(self, *args, brand="", date="", **options):
        try:
            as_of = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        target = None
        if brand:
            target = Brand.objects.filter(code=brand).first()
            if target is None:
                raise CommandError(f"--brand: no brand with code {brand!r}")

        def progress(done, total=None, message=""):
            self.stdout.write(f"[{done}/{total}] {message}")

        result = predictions_recompute(target, progress=progress, as_of=as_of)
        for code, r in result.items():
            if "skipped" in r:
                members = r.get("members", "-")  # "already running" has no count
                self.stdout.write(self.style.WARNING(f"{code}: skipped ({r['skipped']}, {members} members)"))
                continue
            self.stdout.write(f"{code}: {r['members']} members, {r['repeat']} with repeat purchases, "
                              f"model={r['model']} (hold-out check: {r['quality']}), converged={r['converged']}, "
                              f"params={r['params'][r['model']]} "
                              f"{r['params']['gammagamma']}, seconds={r['seconds']}")
