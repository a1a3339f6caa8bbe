"""Escalate open complaints past their deadline to the store manager (run daily; safe to run twice)."""

from django.core.management.base import BaseCommand

from membercare.service.complaints import complaints_escalate


class Command(BaseCommand):
    help = "Mark open complaints past their deadline as escalated and give each store manager a care task."

    def handle(self, *args, **options):
        count = complaints_escalate()
        self.stdout.write(f"complaints escalated: {count}")
