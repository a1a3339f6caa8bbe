"""Member import from a spreadsheet (.xlsx or .csv): a dry-run preview first, then the import on confirm.

Flow: `preview_import` reads and checks the upload and stores it in an ImportJob with a summary (counts
and the bad rows); nothing reaches the archive. `confirm_import` reads the stored file again,
re-validates every row and imports the valid ones in one transaction: new phone numbers become new
members, phone numbers already in the archive are merged into that member (blank fields filled, tags
added), never doubled.

Rows are checked with `clean_member_data`, the rules shared with the web form and the API, so a bad row
carries the same message a clerk would see on the form, in the user's language.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.bulk import INSERT_BATCH, ModelBuilder, Stopwatch, bulk_insert
from membercare.core.permissions import can_import, require, visible_stores
from membercare.core.phone import normalize_phone
from membercare.core.sequences import reserve_numbers
from membercare.core.spreadsheet import SpreadsheetError as ImportFileError
from membercare.core.spreadsheet import Table, cell_value, columns_problem, file_kind, is_blank, read_table, size_text
from membercare.org.models import Staff, Store

from .models import ImportJob, Member, MemberChange, Tag
from .services import EDITABLE_FIELDS, _display, apply_derived_fields, format_member_no
from .validation import BOOL_FIELDS, REQUIRED_FIELDS, clean_member_data

logger = logging.getLogger(__name__)

# How many row errors the summary keeps (the full list is a download that re-reads the file).
SUMMARY_ERROR_LIMIT = 1000
SUMMARY_MERGE_LIMIT = 200
LOOKUP_CHUNK = 900  # phones per `phone__in` query (below SQLite's historical 999-variable limit)
EXCEL_EPOCH = dt.date(1899, 12, 30)

STORE_CODE = "store_code"  # not a Member field: picks the registration store of a new member
IGNORED = "_ignored"  # columns our own export writes that an import leaves alone

# Accepted column names per field, Chinese and English. They are compared after `_header_key`
# (case, spaces, '*', ':', '-', '_' and a bracketed unit such as "(cm)" or "（厘米）" do not matter).
# The first name of each is the one shown to users in messages.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name", "名字", "会员姓名", "客户姓名", "顾客姓名", "full name", "member name"),
    "phone": ("手机号", "phone", "手机", "手机号码", "移动电话", "联系电话", "电话", "电话号码", "mobile",
              "mobile phone", "mobile number", "cell phone", "cellphone", "phone number"),
    "birthday": ("生日", "birthday", "出生日期", "公历生日", "阳历生日", "新历生日", "date of birth", "birth date",
                 "dob", "solar birthday"),
    "gender": ("性别", "gender", "sex"),
    "lunar_birthday_month": ("农历生日月", "lunar month", "农历月", "农历生日月份", "lunar birthday month",
                             "lunar birthday: month"),
    "lunar_birthday_day": ("农历生日日", "lunar day", "农历日", "lunar birthday day", "lunar birthday: day"),
    "lunar_birthday_leap": ("农历闰月", "leap month", "闰月"),
    "celebrates_lunar": ("过农历生日", "celebrates lunar", "按农历过生日", "celebrates the lunar birthday"),
    "address": ("地址", "address", "住址", "家庭住址", "联系地址", "通讯地址"),
    "email": ("邮箱", "email", "电子邮箱", "电子邮件", "邮件地址", "email address"),
    "wechat_id": ("微信", "wechat", "微信号", "wechat id", "weixin"),
    "id_number": ("身份证号", "id number", "身份证", "身份证号码", "证件号", "证件号码", "id card", "id no"),
    "occupation": ("职业", "occupation", "工作", "job"),
    "height_cm": ("身高", "height", "height cm"),
    "weight_kg": ("体重", "weight", "weight kg"),
    "skin_tone": ("肤色", "skin tone", "skin"),
    "clothing_size": ("服装尺码", "clothing size", "衣服尺码", "尺码", "服装尺寸", "size"),
    "shoe_size": ("鞋码", "shoe size", "鞋号", "鞋子尺码"),
    "first_purchase_style": ("首次购买款式", "style of first purchase", "首购款式", "首次购买风格",
                             "first purchase style"),
    "personality": ("性格", "personality", "个性"),
    "decision_style": ("决策类型", "decision style", "决策风格", "购买决策类型", "decision type"),
    "shopping_time": ("习惯购物时间", "habitual shopping time", "购物时间", "shopping time"),
    "shopping_places": ("习惯购物地点", "habitual shopping places", "购物地点", "shopping places"),
    "other_brands": ("其他品牌", "other brands bought", "其他购买品牌", "常购品牌", "other brands"),
    "tags": ("标签", "tags", "会员标签", "tag"),
    "notes": ("备注", "notes", "note", "remarks", "remark", "comments"),
    "preferred_channel": ("首选渠道", "preferred channel", "联系渠道", "首选联系方式", "偏好渠道"),
    "preferred_time": ("联系时间", "preferred contact time", "首选联系时间", "方便联系时间", "preferred time",
                       "contact time"),
    "consent_phone": ("电话同意", "marketing calls", "电话营销同意", "同意电话营销", "consent phone",
                      "consents to marketing calls"),
    "consent_sms": ("短信同意", "marketing sms", "短信营销同意", "同意短信营销", "consent sms",
                    "consents to marketing sms"),
    "consent_email": ("邮件同意", "marketing email", "邮件营销同意", "同意邮件营销", "consent email",
                      "consents to marketing email"),
    "consent_wechat": ("微信同意", "marketing wechat", "微信营销同意", "同意微信营销", "consent wechat",
                       "consents to marketing wechat"),
    STORE_CODE: ("门店编码", "store code", "门店代码", "门店编号", "店铺编码", "店铺代码", "store no"),
    # written by the member export; read-only facts an import does not change
    IGNORED: ("会员号", "member number", "会员编号", "member no", "注册门店", "registration store", "门店名称",
              "store name", "归属导购", "relationship owner", "注册时间", "registered at"),
}


def _header_key(text: Any) -> str:
    key = str(text if text is not None else "").strip().lower()
    key = key.replace("（", "(").replace("）", ")")
    stripped = re.sub(r"\([^)]*\)", "", key)
    key = stripped if stripped.strip() else key
    return re.sub(r"[\s*＊:：_\-()]+", "", key)


@functools.cache
def _alias_index() -> dict[str, str]:
    """Header key -> field: the names above, plus the export's headers in every language of the site
    (so a file exported from MemberCare in Chinese or English can be read back)."""
    from .exports import EXPORT_COLUMNS

    index: dict[str, str] = {}
    for field_name, names in COLUMN_ALIASES.items():
        for name in names:
            index.setdefault(_header_key(name), field_name)
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            for field_name, label, _getter in EXPORT_COLUMNS:
                index.setdefault(_header_key(str(label)), field_name)
    return index


def column_label(field_name: str) -> str:
    """How a column is named to the user: 手机号 / phone."""
    names = COLUMN_ALIASES[field_name]
    return f"{names[0]} / {names[1]}"


def accepted_columns() -> list[tuple[str, bool]]:
    """(label, required) for each column the import understands, for the upload page."""
    return [
        (column_label(f), f in REQUIRED_FIELDS) for f in COLUMN_ALIASES if f != IGNORED
    ]


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ValidRow:
    row: int
    data: dict[str, Any]  # cleaned member fields (no tags)
    tags: list[str]
    store_id: int


@dataclass
class Validation:
    columns: dict[str, str]  # field -> header as written in the file
    ignored_columns: list[str]
    total_rows: int = 0
    valid: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)


@dataclass
class Merge:
    row: int
    member: Member
    changes: dict[str, list[Any]]  # {field: [old, new]} for display and history
    values: dict[str, Any]  # fields to set on the member
    add_tags: list[str]


@dataclass
class Plan:
    new: list[ValidRow] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    unchanged: int = 0  # rows whose member is in the archive and has nothing new


# --------------------------------------------------------------------------------------------- reading


def max_bytes() -> int:
    return int(settings.MEMBERCARE_IMPORT_MAX_BYTES)


def max_rows() -> int:
    return int(getattr(settings, "MEMBERCARE_IMPORT_MAX_ROWS", 200_000))


def map_columns(headers: list[str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """(column index -> field, field -> header as written, ignored headers). Raises on wrong columns."""
    by_index: dict[int, str] = {}
    field_header: dict[str, str] = {}
    unknown: list[str] = []
    twice: list[str] = []
    ignored: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue  # an unnamed column (often trailing formatting) is not read
        target = _alias_index().get(_header_key(header))
        if target is None:
            unknown.append(header)
        elif target == IGNORED:
            ignored.append(header)
        elif target in field_header:
            twice.append(f"{field_header[target]} = {header}")
        else:
            by_index[index] = target
            field_header[target] = header
    missing = [column_label(f) for f in REQUIRED_FIELDS if f not in field_header]
    if missing or unknown or twice:
        message = columns_problem(_("The columns of the file do not match the member import."),
                                  missing=missing, unknown=unknown, twice=twice, outcome=_("Nothing was imported."))
        raise ImportFileError(message)
    return by_index, field_header, ignored


# ------------------------------------------------------------------------------------------ validation


def _header_for(columns: dict[str, str], field_name: str) -> str:
    """The file's header for an error on `field_name` (lunar errors may sit on a sibling column)."""
    if field_name in columns:
        return columns[field_name]
    if field_name.startswith("lunar") or field_name == "celebrates_lunar":
        for related in ("lunar_birthday_month", "lunar_birthday_day", "celebrates_lunar", "lunar_birthday_leap"):
            if related in columns:
                return columns[related]
    return field_name


def validate_table(table: Table, *, user: Staff, default_store: Store) -> Validation:
    """Every data row through clean_member_data, plus store codes and duplicate phones inside the file."""
    by_index, columns, ignored = map_columns(table.headers)
    result = Validation(columns=columns, ignored_columns=ignored)
    stores = {s.code.strip().upper(): s for s in Store.objects.all()}
    visible = set(visible_stores(user).values_list("pk", flat=True))
    first_row_of_phone: dict[str, int] = {}
    limit = max_rows()
    indexes = list(by_index.items())
    phone_header = columns["phone"]

    for number, values in table.rows:
        if is_blank(values):
            continue
        result.total_rows += 1
        if result.total_rows > limit:
            raise ImportFileError(
                _("The file has more than %(n)d member rows: split it into smaller files.") % {"n": limit}
            )
        raw: dict[str, Any] = {}
        width = len(values)
        for index, target in indexes:
            raw[target] = cell_value(values[index]) if index < width else ""
        store_code = str(raw.pop(STORE_CODE, "") or "").strip()
        birthday = raw.get("birthday")
        if isinstance(birthday, int | float) and not isinstance(birthday, bool) and 0 < birthday < 100000:
            raw["birthday"] = EXCEL_EPOCH + dt.timedelta(days=int(birthday))  # a date cell without date format

        row_errors: list[RowError] = []
        cleaned: dict[str, Any] | None = None
        try:
            cleaned = clean_member_data(raw, check_duplicate=False)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                header = _header_for(columns, field_name)
                row_errors.extend(RowError(number, header, str(m)) for m in messages)

        store_id = default_store.pk
        if store_code:
            store = stores.get(store_code.upper())
            if store is None:
                row_errors.append(RowError(number, columns[STORE_CODE],
                                           _("Unknown store code “%(code)s”.") % {"code": store_code[:20]}))
            elif store.pk not in visible:
                row_errors.append(RowError(number, columns[STORE_CODE],
                                           _("Store %(code)s is not one of your stores.") % {"code": store.code}))
            else:
                store_id = store.pk

        phone = cleaned["phone"] if cleaned else _phone_or_none(raw.get("phone"))
        if phone:
            first = first_row_of_phone.setdefault(phone, number)
            if first != number:
                row_errors.append(RowError(number, phone_header, _("Same phone as row %(row)d.") % {"row": first}))

        if row_errors:
            result.errors.extend(row_errors)
            result.bad_rows.add(number)
        else:
            assert cleaned is not None
            tags = cleaned.pop("tags", [])
            result.valid.append(ValidRow(number, cleaned, tags, store_id))
    if result.total_rows == 0:
        raise ImportFileError(_("The file has a header row but no member rows."))
    return result


def _phone_or_none(value: Any) -> str | None:
    try:
        return normalize_phone(value)
    except ValidationError:
        return None


# --------------------------------------------------------------------------------------------- planning

# A merge fills what the archive lacks. Yes/no fields (marketing consent above all) and the contact
# preferences always have a value, so a merge never changes them: consent comes from the member.
_MERGE_FIELDS = tuple(
    f for f in EDITABLE_FIELDS
    if f not in BOOL_FIELDS and f not in ("preferred_channel", "preferred_time", "lunar_birthday_month",
                                          "lunar_birthday_day")
)


def _blank_value(value: Any) -> bool:
    return value is None or value == ""


def _plan_merge(row: ValidRow, member: Member, existing_tags: list[str]) -> Merge | None:
    values: dict[str, Any] = {}
    for name in _MERGE_FIELDS:
        new = row.data.get(name)
        if not _blank_value(new) and _blank_value(getattr(member, name)):
            values[name] = new
    if member.lunar_birthday_month is None and row.data.get("lunar_birthday_month"):
        values["lunar_birthday_month"] = row.data["lunar_birthday_month"]
        values["lunar_birthday_day"] = row.data["lunar_birthday_day"]
        for flag in ("lunar_birthday_leap", "celebrates_lunar"):
            if row.data.get(flag) and not getattr(member, flag):
                values[flag] = True
    add_tags = [t for t in row.tags if t not in existing_tags]
    if not values and not add_tags:
        return None
    changes = {name: [_display(name, getattr(member, name)), _display(name, value)] for name, value in values.items()}
    if add_tags:
        changes["tags"] = [", ".join(existing_tags), ", ".join(existing_tags + add_tags)]
    return Merge(row=row.row, member=member, changes=changes, values=values, add_tags=add_tags)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_rows(valid: list[ValidRow], *, lock: bool = False) -> Plan:
    """Split valid rows into new members and merges, looking phones up in chunks (no per-row query)."""
    phones = [r.data["phone"] for r in valid]
    existing: dict[str, Member] = {}
    for chunk in _chunks(phones, LOOKUP_CHUNK):
        qs = Member.objects.filter(phone__in=chunk)
        if lock:
            qs = qs.select_for_update()
        existing.update((m.phone, m) for m in qs)
    tags_of: dict[int, list[str]] = {}
    ids = [m.pk for m in existing.values()]
    through = Member.tags.through
    for chunk in _chunks(ids, LOOKUP_CHUNK):
        for member_id, tag_name in (through.objects.filter(member_id__in=chunk)
                                    .order_by("tag__name").values_list("member_id", "tag__name")):
            tags_of.setdefault(member_id, []).append(tag_name)
    plan = Plan()
    for row in valid:
        member = existing.get(row.data["phone"])
        if member is None:
            plan.new.append(row)
            continue
        merge = _plan_merge(row, member, tags_of.get(member.pk, []))
        if merge is None:
            plan.unchanged += 1
        else:
            plan.merges.append(merge)
    return plan


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
    for chunk in _chunks(ordered, LOOKUP_CHUNK):
        ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "pk"))
    missing = [Tag(name=n) for n in ordered if n not in ids]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True, batch_size=INSERT_BATCH)
        for chunk in _chunks([t.name for t in missing], LOOKUP_CHUNK):
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
        for chunk in _chunks(list(by_no), LOOKUP_CHUNK):
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
    """Every bad row of a previewed file as a workbook (the summary keeps only the first ones)."""
    from openpyxl import Workbook

    validation = job_validation(job, user=user)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(gettext_lazy("Bad rows")))
    sheet.append([str(h) for h in ERROR_REPORT_HEADERS])
    for error in validation.errors:
        sheet.append([error.row, error.column, error.message])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
