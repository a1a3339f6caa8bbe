"""The daily stored-value reconciliation (see membercare.storedvalue.reconcile)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from membercare.storedvalue.reconcile import reconcile


class Command(BaseCommand):
    help = "Sum every stored-value card's ledger against its balances and the totals against the liability."

    def add_arguments(self, parser):
        parser.add_argument("--date", default="", help="The day recorded (YYYY-MM-DD); default yesterday.")

    def handle(self, *args, date="", **options):
        try:
            day = dt.date.fromisoformat(date) if date else None
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from exc
        run = reconcile(day)
        self.stdout.write(f"{run.day}: {run.cards_checked} cards, balances {run.balances_total}, "
                          f"ledger {run.ledger_total}, liability at the end of the day {run.liability_on_day}")
        if run.differences:
            for diff in run.differences:
                self.stdout.write(self.style.ERROR(str(diff)))
            raise CommandError(f"{run.cards_off} card(s) differ from their ledger")
