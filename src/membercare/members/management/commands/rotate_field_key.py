"""`membercare rotate_field_key`: re-encrypt every ID number (and its blind index) under the current field key.

A rotation without downtime: 1) set MEMBERCARE_FIELD_KEY="new,old" on every server and restart them (new
writes are encrypted under the new key, both keys decrypt); 2) run this command (batches of --batch members,
each in its own short transaction with the rows locked, so registrations and edits go on meanwhile; run it
again at any time: it resumes, rows already under the new key are left alone); 3) when it reports 0 left, set
MEMBERCARE_FIELD_KEY="new" and restart. `--check` only counts the rows still under an older key.
"""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from membercare.core.crypto import blind_index, encrypted_under_current_key
from membercare.members.models import Member


class Command(BaseCommand):
    help = "Re-encrypt every ID number and its blind index under the first key of MEMBERCARE_FIELD_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--check", action="store_true", help="Only count the ID numbers under an older key.")

    def handle(self, *args, batch: int, check: bool, **options):
        last, rotated, left = 0, 0, 0
        rows = (Member.objects.exclude(id_number="").order_by("pk")
                .annotate(token=Cast("id_number", output_field=TextField())))  # the stored token, not decrypted
        while True:
            with transaction.atomic():
                found = rows.filter(pk__gt=last)
                if not check:
                    found = found.select_for_update()
                chunk = list(found.values_list("pk", "token")[:batch])
                if not chunk:
                    break
                last = chunk[-1][0]
                stale = [pk for pk, token in chunk if not encrypted_under_current_key(token)]
                if check:
                    left += len(stale)
                    continue
                for member in Member.objects.filter(pk__in=stale).only("pk", "id_number"):
                    # read with any key, written under the first; the blind index under the first key too
                    Member.objects.filter(pk=member.pk).update(id_number=member.id_number,
                                                               id_number_index=blind_index(member.id_number))
                rotated += len(stale)
        if check:
            self.stdout.write(f"{left} ID numbers are still under an older key.")
        else:
            self.stdout.write(self.style.SUCCESS(f"{rotated} ID numbers re-encrypted under the current key."))
