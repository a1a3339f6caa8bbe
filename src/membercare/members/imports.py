"""Member import from a spreadsheet (.xlsx or .csv): preview, confirm (step 3, apply), discard, error report.

Flow: `preview_import` reads and checks the upload and stores it in an ImportJob with a summary (counts
and the bad rows); nothing reaches the archive. `confirm_import` reads the stored file again,
re-validates every row and imports the valid ones in one transaction: new phone numbers become new
members, phone numbers already in the archive are merged into that member (blank fields filled, tags
added), never doubled.

Rows are checked with `clean_member_data`, the rules shared with the web form and the API, so a bad row
carries the same message a clerk would see on the form, in the user's language.

The steps: import_parse reads and checks the rows, import_plan splits them into new members and merges,
and this module writes the plan (apply) and holds the entry points; the names of the first two are
importable from here as before.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.bulk import INSERT_BATCH, ModelBuilder, Stopwatch, bulk_insert
from membercare.core.permissions import can_import, require, visible_stores
from membercare.core.sequences import reserve_numbers
from membercare.core.spreadsheet import file_kind, read_table, size_text
from membercare.core.xlsx import write_xlsx
from membercare.org.models import Staff, Store

from .import_parse import (
    COLUMN_ALIASES,
    EXCEL_EPOCH,
    IGNORED,
    STORE_CODE,
    ImportFileError,
    RowError,
    Validation,
    ValidRow,
    accepted_columns,
    column_label,
    map_columns,
    max_bytes,
    max_rows,
    validate_table,
)
from .import_plan import LOOKUP_CHUNK, Merge, Plan, chunks, plan_rows
from .models import ImportJob, Member, MemberChange, Tag
from .services import EDITABLE_FIELDS, _display, apply_derived_fields, format_member_no

logger = logging.getLogger(__name__)

# How many row errors the summary keeps (the full list is a download that re-reads the file).
SUMMARY_ERROR_LIMIT = 1000
SUMMARY_MERGE_LIMIT = 200


def _field_label(name: str) -> str:
    return str(Member._meta.get_field(name).verbose_name)


def _summary(validation: Validation, plan: Plan, *, filename: str) -> dict[str, Any]:
    errors = validation.errors
    return {
        "file": filename,
        "columns": validation.columns,
        "ignored_columns": validation.ignored_columns,
        "rows": validation.total_rows,
        "new": len(plan.new),
        "merge": len(plan.merges) + plan.unchanged,  # rows whose phone is already a member
        "unchanged": plan.unchanged,  # of those, members the file adds nothing to
        "bad": len(validation.bad_rows),
        "error_count": len(errors),
        "errors": [e.as_dict() for e in errors[:SUMMARY_ERROR_LIMIT]],
        "errors_truncated": len(errors) > SUMMARY_ERROR_LIMIT,
        "merges": [
            {"row": m.row, "member_id": m.member.pk, "member_no": m.member.member_no, "name": m.member.name,
             "fields": [_field_label(f) for f in m.changes]}
            for m in plan.merges[:SUMMARY_MERGE_LIMIT]
        ],
    }


# ------------------------------------------------------------------------------------------ entry points


def _check_upload(upload: Any) -> bytes:
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise ImportFileError(
            _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.")
            % {"size": size_text(size), "limit": size_text(limit)}
        )
    file_kind(upload.name)
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImportFileError(
            _("The file is larger than %(limit)s. Split it into smaller files.") % {"limit": size_text(limit)}
        )
    return data


def _check_store(user: Staff, store: Store) -> None:
    require(can_import(user))
    require(visible_stores(user).filter(pk=store.pk).exists())


def preview_import(*, upload: Any, default_store: Store, user: Staff) -> ImportJob:
    """Dry run: read and check every row, store the file and the summary. Writes no member.

    Raises ImportFileError (nothing written at all) when the file as a whole is unusable.
    """
    _check_store(user, default_store)
    data = _check_upload(upload)
    validation = validate_table(read_table(data, upload.name), user=user, default_store=default_store)
    plan = plan_rows(validation.valid)
    name = PurePath(upload.name).name[:200]
    job = ImportJob(original_name=name, default_store=default_store, created_by=user, created_at=timezone.now(),
                    status=ImportJob.Status.PREVIEWED, summary=_summary(validation, plan, filename=name))
    job.file.save(name, ContentFile(data), save=False)
    job.save()
    return job


def _job_data(job: ImportJob) -> bytes:
    with job.file.open("rb") as fh:
        return fh.read()


def job_validation(job: ImportJob, *, user: Staff) -> Validation:
    """Read the stored file of a job again and validate every row (used on confirm and for the error list)."""
    return validate_table(read_table(_job_data(job), job.original_name), user=user, default_store=job.default_store)


def _ensure_tags(names: set[str]) -> dict[str, int]:
    ordered = sorted(names)
    ids: dict[str, int] = {}
    for chunk in chunks(ordered, LOOKUP_CHUNK):
        ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "pk"))
    missing = [Tag(name=n) for n in ordered if n not in ids]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True, batch_size=INSERT_BATCH)
        for chunk in chunks([t.name for t in missing], LOOKUP_CHUNK):
            ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "pk"))
    return ids


def _write(plan: Plan, numbers: list[int], *, user: Staff, now: dt.datetime, watch: Stopwatch) -> None:
    build = ModelBuilder(Member)
    new_members: list[Member] = []
    for row, number in zip(plan.new, numbers, strict=False):
        values = {k: v for k, v in row.data.items() if k in EDITABLE_FIELDS}
        values.update(member_no=format_member_no(number), home_store_id=row.store_id, owner_id=None,
                      registered_by_id=user.pk, created_at=now, updated_at=now)
        member = build.make(values)
        apply_derived_fields(member)
        new_members.append(member)
    watch.lap("build members")
    bulk_insert(Member, new_members, returning="member_no")
    if any(m.pk is None for m in new_members):  # a backend that does not return ids from a bulk insert
        by_no = {m.member_no: m for m in new_members}
        for chunk in chunks(list(by_no), LOOKUP_CHUNK):
            for pk, member_no in Member.objects.filter(member_no__in=chunk).values_list("pk", "member_no"):
                by_no[member_no].pk = pk
    watch.lap("insert members")

    if plan.merges:
        update_fields = {"updated_at"}
        for merge in plan.merges:
            for name, value in merge.values.items():
                setattr(merge.member, name, value)
            update_fields.update(merge.values)
            apply_derived_fields(merge.member)
            merge.member.updated_at = now
        if "id_number" in update_fields:
            update_fields.add("id_number_index")
        Member.objects.bulk_update([m.member for m in plan.merges], sorted(update_fields), batch_size=500)
        watch.lap("update merged members")

    tag_names = {t for row in plan.new for t in row.tags} | {t for m in plan.merges for t in m.add_tags}
    if tag_names:
        tag_ids = _ensure_tags(tag_names)
        through = Member.tags.through
        link = ModelBuilder(through).make
        links = [link({"member_id": member.pk, "tag_id": tag_ids[t]})
                 for row, member in zip(plan.new, new_members, strict=True) for t in row.tags]
        links += [link({"member_id": m.member.pk, "tag_id": tag_ids[t]}) for m in plan.merges for t in m.add_tags]
        bulk_insert(through, links)  # merges add only tags the member lacks (read under lock)
        watch.lap("tags")

    change = ModelBuilder(MemberChange).make
    changes = [
        change({
            "member_id": member.pk, "action": MemberChange.Action.IMPORT_CREATE, "changed_by_id": user.pk,
            "changed_at": now,
            "changes": {
                **{f: [None, _display(f, v)] for f, v in row.data.items()
                   if f in EDITABLE_FIELDS and v not in ("", None, False)},
                **({"tags": [None, ", ".join(row.tags)]} if row.tags else {}),
            },
        })
        for row, member in zip(plan.new, new_members, strict=True)
    ]
    changes += [
        change({"member_id": m.member.pk, "action": MemberChange.Action.IMPORT_MERGE, "changed_by_id": user.pk,
                "changed_at": now, "changes": m.changes})
        for m in plan.merges
    ]
    watch.lap("build history")
    bulk_insert(MemberChange, changes)
    watch.lap("insert history")


def confirm_import(*, job: ImportJob, user: Staff) -> ImportJob:
    """Re-validate the stored file and import its valid rows in one transaction.

    Member numbers are reserved before the transaction opens (the sequence tolerates gaps), so counter
    registrations in other stores are not held up by the sequence lock while a large file imports.
    """
    _check_store(user, job.default_store)
    if job.status != ImportJob.Status.PREVIEWED:
        raise ImportFileError(_("This import has already been confirmed or discarded."))
    started = time.monotonic()
    watch = Stopwatch()
    validation = job_validation(job, user=user)
    watch.lap("read and validate")
    # numbers for the new members the preview counted, reserved outside the import transaction
    expected_new = min(int(job.summary.get("new", 0)), len(validation.valid))
    numbers = list(reserve_numbers("member", expected_new)) if expected_new else []
    try:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ImportJob.Status.PREVIEWED:
                raise ImportFileError(_("This import has already been confirmed or discarded."))
            plan = plan_rows(validation.valid, lock=True)
            if len(plan.new) > len(numbers):  # more new rows than the preview saw: rare
                numbers += list(reserve_numbers("member", len(plan.new) - len(numbers)))
            watch.lap("look up phones")
            now = timezone.now()
            _write(plan, numbers, user=user, now=now, watch=watch)
            summary = _summary(validation, plan, filename=job.original_name)
            summary["result"] = {
                "created": len(plan.new), "merged": len(plan.merges), "unchanged": plan.unchanged,
                "skipped": len(validation.bad_rows), "seconds": round(time.monotonic() - started, 1),
                "steps": watch.laps,
            }
            locked.summary = summary
            locked.status = ImportJob.Status.IMPORTED
            locked.imported_at = now
            locked.save(update_fields=["summary", "status", "imported_at"])
    except IntegrityError as exc:
        logger.warning("import %s rolled back: %s", job.pk, exc)
        raise ImportFileError(
            _("The member archive changed while importing (a phone number was registered meanwhile). "
              "Nothing was imported: please try again.")
        ) from exc
    return locked


def discard_import(*, job: ImportJob, user: Staff) -> ImportJob:
    """The user does not want this file: mark it rejected and delete the stored personal data."""
    require(can_import(user))
    if job.status != ImportJob.Status.PREVIEWED:
        raise ImportFileError(_("This import has already been confirmed or discarded."))
    job.status = ImportJob.Status.REJECTED
    if job.file:
        job.file.delete(save=False)
    job.save(update_fields=["status", "file"])
    return job


ERROR_REPORT_HEADERS = (gettext_lazy("Row"), gettext_lazy("Column"), gettext_lazy("Reason"))


def error_report_xlsx(job: ImportJob, *, user: Staff) -> bytes:
    """Every bad row of a previewed file as a workbook (the summary keeps only the first ones); the reasons may
    quote what the file held, so they are written as text (core.xlsx)."""
    validation = job_validation(job, user=user)
    out = write_xlsx([(str(gettext_lazy("Bad rows")), [str(h) for h in ERROR_REPORT_HEADERS],
                       ([error.row, error.column, error.message] for error in validation.errors))], io.BytesIO())
    return out.getvalue()


__all__ = [
    "COLUMN_ALIASES", "EXCEL_EPOCH", "ERROR_REPORT_HEADERS", "IGNORED", "LOOKUP_CHUNK", "STORE_CODE", "ImportFileError",
    "Merge", "Plan", "RowError", "ValidRow", "Validation", "accepted_columns", "column_label", "confirm_import",
    "discard_import", "error_report_xlsx", "job_validation", "map_columns", "max_bytes", "max_rows", "plan_rows",
    "preview_import", "validate_table",
]
