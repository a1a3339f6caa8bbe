"""Offline stores' sales upload (.xlsx / .csv): a dry-run preview, then each receipt posted as if live.

An offline store (Store.networked False) records its sales on paper or a stand-alone till and uploads
them later. `preview_upload` reads and checks every row (nothing is posted) and keeps the file in a
SalesUpload; `confirm_upload` reads it again and posts every valid receipt through
checkout.pipeline.checkout_post, each in its own transaction: points, tier upgrades and the birthday
privilege work exactly as at a networked counter. Rows sharing a receipt number are one receipt.

The store's receipt number is kept as `<store code>/<number>` (unique across the chain), so uploading
the same file again posts nothing twice: receipts already in the system are skipped and counted.
A receipt uploaded more than the programme's `offline_upload_working_days` (Chinese working calendar)
after its sale day is posted with Receipt.late_upload set, for the specialist's birthday audit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import require, visible_stores
from membercare.core.spreadsheet import SpreadsheetError, Table, file_kind, is_blank, read_table, size_text
from membercare.core.workdays import deadline_after
from membercare.loyalty.programme import programme_at
from membercare.org.models import Staff, Store
from membercare.sales.models import Receipt, SalesUpload

from .pipeline import CheckoutError, basket_quote, checkout_post, identify
from .upload_rows import (
    COLUMN_ALIASES,
    REQUIRED_COLUMNS,
    ParsedRow,
    RowError,
    SalesUploadError,
    UploadReceipt,
    check_references,
    column_label,
    group_receipts,
    map_columns,
    parse_row,
)

MAX_ROWS = 50_000
SUMMARY_ERROR_LIMIT = 1000
SUMMARY_RECEIPT_LIMIT = 300
RECEIPT_NUMBER_MAX = Receipt._meta.get_field("number").max_length


@dataclass
class Validation:
    columns: dict[str, str]  # field -> header as written
    total_rows: int = 0
    receipt_count: int = 0
    receipts: list[UploadReceipt] = field(default_factory=list)  # valid and not posted yet
    already_posted: list[str] = field(default_factory=list)  # store's receipt numbers found in the system
    errors: list[RowError] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    bad_receipts: set[str] = field(default_factory=set)

    def add(self, error: RowError) -> None:
        self.errors.append(error)
        self.bad_rows.add(error.row)


def system_number(store: Store, number: str) -> str:
    """How an uploaded receipt number is stored: prefixed with the store code (unique chain-wide)."""
    return f"{store.code}/{number}"


# --------------------------------------------------------------------------------------------- checks


def check_store(user: Staff, store: Store) -> None:
    """Only offline stores upload, and only their own staff (clerk, manager) or HQ."""
    require(visible_stores(user).filter(pk=store.pk).exists())
    if store.networked:
        raise SalesUploadError(_("%(store)s is a networked store: its sales are recorded live, not uploaded.")
                               % {"store": store.name}, "store_networked")


def _check_file(upload: Any) -> bytes:
    limit = int(settings.MEMBERCARE_IMPORT_MAX_BYTES)
    try:
        file_kind(upload.name)
    except SpreadsheetError as exc:
        raise SalesUploadError(exc.message) from exc
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise SalesUploadError(_("The file is larger than %(limit)s. Split it into smaller files.")
                               % {"limit": size_text(limit)}, "file_too_large")
    return data


def _read(data: bytes, name: str) -> Table:
    try:
        return read_table(data, name)
    except SpreadsheetError as exc:
        raise SalesUploadError(exc.message, "file_unreadable") from exc


def _late(sold_at: dt.datetime, uploaded_on: dt.date) -> tuple[bool, dt.date, bool]:
    """(late?, deadline, deadline estimated because the official calendar does not cover it)."""
    sale_day = timezone.localtime(sold_at).date()
    days = programme_at(sale_day).offline_upload_working_days
    due, estimated = deadline_after(sale_day, days)
    return uploaded_on > due, due, estimated


def _column_of(columns: dict[str, str], checkout_field: str | None) -> str:
    target = {"card": "card_number", "phone": "phone", "name": "card_number", "lines": "sku",
              "birthday": "birthday", "receipt": "receipt_no", "id_number": "id_number"}.get(checkout_field or "",
                                                                                             "receipt_no")
    if target == "id_number" and target not in columns:
        target = "birthday"
    if target == "card_number" and target not in columns:
        target = "phone"
    return columns.get(target, columns.get("receipt_no", ""))


def _dry_run(receipt: UploadReceipt, store: Store, columns: dict[str, str], validation: Validation,
             birthday_taken: dict[tuple[int, str], str]) -> None:
    """Identify the member and price the basket without writing: refusals become row errors."""
    day = timezone.localtime(receipt.sold_at).date()
    programme = programme_at(day)
    try:
        ident = identify(store=store, card_number=receipt.card_number, phone=receipt.phone, on=day,
                         programme=programme)
        quote = basket_quote(store=store, ident=ident, lines=receipt.lines, birthday=receipt.birthday, on=day,
                             programme=programme, balance=0, id_number=receipt.id_number)
    except CheckoutError as exc:
        validation.add(RowError(receipt.rows[0], _column_of(columns, exc.field), exc.error_code, exc.text))
        return
    if quote.birthday_items:
        key = (ident.member.pk, quote.birthday_scope + quote.birthday_period)
        first = birthday_taken.setdefault(key, receipt.number)
        if first != receipt.number:
            validation.add(RowError(receipt.rows[0], _column_of(columns, "birthday"), "birthday_used", _(
                "The birthday privilege of this month is already used by receipt %(number)s in this file.")
                % {"number": first}))
            return
    receipt.member_name = ident.member.name
    receipt.paid = quote.to_pay
    receipt.points = quote.points_earned


def validate_upload(table: Table, *, store: Store, uploaded_at: dt.datetime, dry_run: bool = True) -> Validation:
    """Every row checked; rows grouped into receipts; receipts already in the system set aside.

    With `dry_run`, each receipt is also identified and priced as checkout would (nothing is written).
    A receipt with any bad row is left out as a whole.
    """
    by_index, columns = map_columns(table.headers)
    validation = Validation(columns=columns)
    staff = {s.username.lower(): s for s in Staff.objects.filter(stores=store, is_active=True)}
    parsed: list[ParsedRow] = []
    for number, values in table.rows:
        if is_blank(values):
            continue
        validation.total_rows += 1
        if validation.total_rows > MAX_ROWS:
            raise SalesUploadError(_("The file has more than %(n)d rows: split it into smaller files.")
                                   % {"n": MAX_ROWS}, "too_many_rows")
        row, errors = parse_row(number, values, by_index, columns, store=store, staff=staff, now=uploaded_at)
        for error in errors:
            validation.add(error)
        if row is not None:
            parsed.append(row)
    if validation.total_rows == 0:
        raise SalesUploadError(_("The file has a header row but no sales rows."), "file_empty")

    _products, reference_errors = check_references(parsed, columns)
    for error in reference_errors:
        validation.add(error)
    receipts, group_errors = group_receipts(parsed, columns)
    for error in group_errors:
        validation.add(error)
    validation.receipt_count = len(receipts)
    too_long = [r for r in receipts if len(system_number(store, r.number)) > RECEIPT_NUMBER_MAX]
    for r in too_long:
        validation.add(RowError(r.rows[0], columns["receipt_no"], "receipt_too_long", _(
            "The receipt number is too long: at most %(n)d characters.")
            % {"n": RECEIPT_NUMBER_MAX - len(store.code) - 1}))
    numbers = {system_number(store, r.number) for r in receipts}
    existing: set[str] = set()
    chunk = sorted(numbers)
    for start in range(0, len(chunk), 900):
        existing.update(Receipt.objects.filter(number__in=chunk[start:start + 900]).values_list("number", flat=True))

    birthday_taken: dict[tuple[int, str], str] = {}
    for receipt in sorted(receipts, key=lambda r: (r.sold_at, r.rows[0])):
        if system_number(store, receipt.number) in existing:
            validation.already_posted.append(receipt.number)
            continue
        if any(row in validation.bad_rows for row in receipt.rows):
            validation.bad_receipts.add(receipt.number)
            continue
        if dry_run:
            before = len(validation.errors)
            _dry_run(receipt, store, columns, validation, birthday_taken)
            if len(validation.errors) > before:
                validation.bad_receipts.add(receipt.number)
                continue
        receipt.late, receipt.deadline, receipt.deadline_estimated = _late(
            receipt.sold_at, timezone.localtime(uploaded_at).date())
        validation.receipts.append(receipt)
    validation.bad_receipts.update(e.receipt for e in validation.errors if e.receipt)
    validation.bad_receipts -= set(validation.already_posted)
    for receipt in receipts:  # tell the user which good rows a bad row keeps out
        if receipt.number in validation.bad_receipts:
            for row in receipt.rows:
                if row not in validation.bad_rows:
                    validation.add(RowError(row, columns["receipt_no"], "receipt_incomplete", _(
                        "Receipt %(number)s has a bad row: the whole receipt is left out.")
                        % {"number": receipt.number}, receipt.number))
    validation.errors.sort(key=lambda e: e.row)
    return validation


def _summary(validation: Validation, *, filename: str) -> dict[str, Any]:
    errors = validation.errors
    return {
        "file": filename,
        "columns": validation.columns,
        "rows": validation.total_rows,
        "receipts": validation.receipt_count,
        "to_post": len(validation.receipts),
        "late": sum(1 for r in validation.receipts if r.late),
        "deadline_estimated": any(r.deadline_estimated for r in validation.receipts),
        "already_posted": len(validation.already_posted),
        "already_posted_numbers": validation.already_posted[:50],
        "bad_rows": len(validation.bad_rows),
        "bad_receipts": len(validation.bad_receipts),
        "error_count": len(errors),
        "errors": [e.as_dict() for e in errors[:SUMMARY_ERROR_LIMIT]],
        "receipt_list": [r.as_dict() for r in validation.receipts[:SUMMARY_RECEIPT_LIMIT]],
    }


# ---------------------------------------------------------------------------------------- entry points


def preview_upload(*, upload: Any, store: Store, user: Staff, now: dt.datetime | None = None) -> SalesUpload:
    """Dry run: read and check every row, keep the file and the summary. Posts nothing.

    Raises SalesUploadError (nothing written) when the file as a whole is unusable, PermissionDenied when
    the user may not upload for this store.
    """
    check_store(user, store)
    now = now or timezone.now()
    data = _check_file(upload)
    name = PurePath(upload.name).name[:200]
    validation = validate_upload(_read(data, name), store=store, uploaded_at=now)
    record = SalesUpload(store=store, original_name=name, created_by=user, created_at=now,
                         summary=_summary(validation, filename=name))
    record.file.save(name, ContentFile(data), save=False)
    record.save()
    return record


def _stored_table(record: SalesUpload) -> Table:
    with record.file.open("rb") as fh:
        return _read(fh.read(), record.original_name)


def confirm_upload(*, upload: SalesUpload, user: Staff) -> SalesUpload:
    """Post every valid receipt of a previewed upload, each in its own transaction.

    A receipt checkout refuses (void card, birthday privilege already used, ...) is reported with its
    reason and leaves nothing behind; the others post. Receipts already in the system are skipped.
    """
    check_store(user, upload.store)
    with transaction.atomic():
        record = SalesUpload.objects.select_for_update().get(pk=upload.pk)
        if record.status != SalesUpload.Status.PREVIEWED:
            raise SalesUploadError(_("This file was already posted or discarded."), "upload_done")
        record.status = SalesUpload.Status.POSTING
        record.save(update_fields=["status"])
    try:
        validation = validate_upload(_stored_table(record), store=record.store, uploaded_at=record.created_at,
                                     dry_run=False)
        return _post_all(record, validation, user)
    except BaseException:
        # an unexpected failure: receipts posted so far stay (each committed on its own) and a new
        # confirm skips them by number, so the upload goes back to "previewed" to be confirmed again
        SalesUpload.objects.filter(pk=record.pk).update(status=SalesUpload.Status.PREVIEWED)
        raise


def _post_all(record: SalesUpload, validation: Validation, user: Staff) -> SalesUpload:
    store = record.store
    posted: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    skipped = list(validation.already_posted)
    for receipt in validation.receipts:
        number = system_number(store, receipt.number)
        try:
            with transaction.atomic():
                posted_receipt = checkout_post(
                    store=store, clerk=receipt.clerk or user, lines=receipt.lines, card_number=receipt.card_number,
                    phone="" if receipt.card_number else receipt.phone, birthday=receipt.birthday,
                    sold_at=receipt.sold_at, source=Receipt.Source.UPLOAD, number=number,
                    id_number=receipt.id_number)
                if receipt.late:
                    posted_receipt.late_upload = True
                    posted_receipt.save(update_fields=["late_upload"])
                record.receipts.add(posted_receipt)
        except CheckoutError as exc:
            refused.append({"receipt": receipt.number, "rows": receipt.rows, "code": exc.error_code,
                            "message": exc.text})
            continue
        except IntegrityError:
            if not Receipt.objects.filter(number=number).exists():
                raise
            skipped.append(receipt.number)  # posted meanwhile by another upload of the same file
            continue
        posted.append({"receipt": receipt.number, "id": posted_receipt.pk, "paid": str(posted_receipt.total_paid),
                       "points": posted_receipt.points_earned, "late": receipt.late})
    summary = dict(record.summary)
    summary["result"] = {
        "posted": len(posted), "skipped": len(skipped), "refused": len(refused), "bad_receipts":
        len(validation.bad_receipts), "late": sum(1 for p in posted if p["late"]),
        "points": sum(p["points"] for p in posted), "refusals": refused[:SUMMARY_ERROR_LIMIT],
        "posted_receipts": posted[:SUMMARY_RECEIPT_LIMIT], "skipped_numbers": skipped[:50],
    }
    record.summary = summary
    record.status = SalesUpload.Status.POSTED
    record.posted_by = user
    record.posted_at = timezone.now()
    fields = ["summary", "status", "posted_by", "posted_at"]
    if "id_number" in validation.columns and record.file:
        # a file with members' ID numbers is not kept once posted (the profile keeps them encrypted; the
        # summary, which never holds them, stays)
        record.file.delete(save=False)
        fields.append("file")
    record.save(update_fields=fields)
    return record


def discard_upload(*, upload: SalesUpload, user: Staff) -> SalesUpload:
    """Drop a previewed file: nothing was posted; the stored file (personal data) is deleted."""
    check_store(user, upload.store)
    with transaction.atomic():
        record = SalesUpload.objects.select_for_update().get(pk=upload.pk)
        if record.status != SalesUpload.Status.PREVIEWED:
            raise SalesUploadError(_("This file was already posted or discarded."), "upload_done")
        if record.file:
            record.file.delete(save=False)
        record.status = SalesUpload.Status.DISCARDED
        record.save(update_fields=["status", "file"])
    return record


def upload_columns() -> list[tuple[str, bool]]:
    """(label, required) of each column the upload reads, for the upload page."""
    return [(column_label(f), f in REQUIRED_COLUMNS) for f in COLUMN_ALIASES if not f.startswith("_")]

