"""Member export to Excel (.xlsx), from the member list's filters.

Personal data leaves the system here, so: only roles with `can_export`, phone numbers masked unless the
role sees full phones, ID numbers always masked, and every export is written to ExportLog (PIPL).
The column headers are in the user's language and are names the member import accepts.
Apps above members add read-only columns (loyalty: card level, points, spend) through
register_export_columns: their values are SQL annotations of the member query, never a query per member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from membercare.core.bulk import in_pk_chunks
from membercare.core.jobs import job_file_save
from membercare.core.permissions import can_export, can_see_full_phone, require
from membercare.core.phone import mask_phone
from membercare.core.replica import from_replica
from membercare.core.xlsx import write_xlsx
from membercare.org.models import Staff

from .models import ExportLog, Member
from .selectors import member_list

EXPORT_CHUNK = 2000


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _local(value: dt.datetime | None) -> dt.datetime | None:
    # Excel has no time zones: write the local wall-clock time
    return timezone.localtime(value).replace(tzinfo=None) if value else None


# (the import field the column feeds, header, value). The import reads every header here back, in every
# language (see imports.py); "_ignored" columns are facts the import does not change.
ColumnGetter = Callable[[Member], Any]
REGISTRATION_STORE = gettext_lazy("Registration store")
EXPORT_COLUMNS: list[tuple[str, Any, ColumnGetter]] = [
    ("_ignored", gettext_lazy("Member number"), lambda m: m.member_no),
    ("name", pgettext_lazy("person", "Name"), lambda m: m.name),
    ("phone", gettext_lazy("Mobile phone"), lambda m: m.phone),  # masked per role in export_members
    ("gender", gettext_lazy("Gender"), lambda m: m.get_gender_display()),
    ("birthday", gettext_lazy("Birthday"), lambda m: m.birthday),
    ("lunar_birthday_month", gettext_lazy("Lunar birthday month"), lambda m: m.lunar_birthday_month),
    ("lunar_birthday_day", gettext_lazy("Lunar birthday day"), lambda m: m.lunar_birthday_day),
    ("store_code", gettext_lazy("Store code"), lambda m: m.home_store.code),
    ("_ignored", REGISTRATION_STORE, lambda m: m.home_store.name),  # the registered apps' columns follow it
    ("tags", gettext_lazy("Tags"), lambda m: ", ".join(t.name for t in m.tags.all())),
    ("email", gettext_lazy("Email"), lambda m: m.email),
    ("wechat_id", gettext_lazy("WeChat ID"), lambda m: m.wechat_id),
    ("address", gettext_lazy("Address"), lambda m: m.address),
    ("id_number", gettext_lazy("ID number"), lambda m: m.masked_id_number),  # always masked
    ("occupation", gettext_lazy("Occupation"), lambda m: m.occupation),
    ("height_cm", gettext_lazy("Height (cm)"), lambda m: m.height_cm),
    ("weight_kg", gettext_lazy("Weight (kg)"), lambda m: m.weight_kg),
    ("skin_tone", gettext_lazy("Skin tone"), lambda m: m.get_skin_tone_display()),
    ("clothing_size", gettext_lazy("Clothing size"), lambda m: m.clothing_size),
    ("shoe_size", gettext_lazy("Shoe size"), lambda m: m.shoe_size),
    ("first_purchase_style", gettext_lazy("Style of first purchase"), lambda m: m.first_purchase_style),
    ("personality", gettext_lazy("Personality"), lambda m: m.personality),
    ("decision_style", gettext_lazy("Decision style"), lambda m: m.get_decision_style_display()),
    ("shopping_time", gettext_lazy("Habitual shopping time"), lambda m: m.shopping_time),
    ("shopping_places", gettext_lazy("Habitual shopping places"), lambda m: m.shopping_places),
    ("other_brands", gettext_lazy("Other brands bought"), lambda m: m.other_brands),
    ("preferred_channel", gettext_lazy("Preferred channel"), lambda m: m.get_preferred_channel_display()),
    ("preferred_time", gettext_lazy("Preferred contact time"), lambda m: m.get_preferred_time_display()),
    ("consent_phone", gettext_lazy("Marketing calls"), lambda m: _yes_no(m.consent_phone)),
    ("consent_sms", gettext_lazy("Marketing SMS"), lambda m: _yes_no(m.consent_sms)),
    ("consent_email", gettext_lazy("Marketing email"), lambda m: _yes_no(m.consent_email)),
    ("consent_wechat", gettext_lazy("Marketing WeChat"), lambda m: _yes_no(m.consent_wechat)),
    ("_ignored", gettext_lazy("Relationship owner"), lambda m: str(m.owner) if m.owner else ""),
    ("_ignored", gettext_lazy("Registered at"), lambda m: _local(m.created_at)),
    ("notes", gettext_lazy("Notes"), lambda m: m.notes),
]
PHONE_COLUMN = 2


@dataclass(frozen=True)
class ExportExtension:
    """Columns an app above members adds to the export (members may not import it: see layers.py).
    `annotate` adds SQL annotations to the member query; each column's getter reads them from the row."""

    annotate: Callable[[QuerySet[Member]], QuerySet[Member]]
    columns: tuple[tuple[Any, ColumnGetter], ...]


_EXTENSIONS: dict[str, ExportExtension] = {}


def register_export_columns(key: str, extension: ExportExtension) -> None:
    """Called from an app's ready(); registering the same key again replaces it."""
    _EXTENSIONS[key] = extension


def export_columns() -> list[tuple[str, Any, ColumnGetter]]:
    """The export's columns: the member file's, with the registered apps' (facts the import leaves alone)."""
    at = next(i for i, (_f, label, _g) in enumerate(EXPORT_COLUMNS) if label is REGISTRATION_STORE)
    extra = [("_ignored", label, getter) for ext in _EXTENSIONS.values() for label, getter in ext.columns]
    return EXPORT_COLUMNS[:at + 1] + extra + EXPORT_COLUMNS[at + 1:]


def export_headers() -> list[str]:
    return [str(label) for _field, label, _getter in export_columns()]


def export_members(user: Staff, *, store_id: int | None = None, tag: str = "", query: str = "",
                   progress: Callable[..., None] | None = None) -> tuple[IO[bytes], int]:
    """Write the members the user's list shows for these filters to an .xlsx; log the export.

    Returns an open temporary file (positioned at the start) and the number of members written. `progress`
    (a background job's) hears every chunk: progress(done, total).
    """
    require(can_export(user))
    full_phone = can_see_full_phone(user)
    members = member_list(user, store_id=store_id, tag=tag, query=query).prefetch_related("tags")
    for extension in _EXTENSIONS.values():
        members = extension.annotate(members)
    columns = export_columns()
    count = 0

    total = members.count() if progress else None

    def rows():
        nonlocal count
        for member in in_pk_chunks(members, EXPORT_CHUNK):  # keyset chunks: no cursor held (PgBouncer)
            if progress and count % EXPORT_CHUNK == 0:
                progress(count, total)
            values = [getter(member) for _field, _label, getter in columns]
            if not full_phone:
                values[PHONE_COLUMN] = mask_phone(member.phone)
            count += 1
            yield values

    out = write_xlsx([(_("Members"), export_headers(), rows())])
    ExportLog.objects.create(
        exported_by=user, exported_at=timezone.now(), kind="members",
        filters={"store": store_id, "tag": tag, "q": query}, row_count=count, full_data=full_phone,
    )
    return out, count


def members_export_job(progress, *, user_id: int, store_id: int | None, tag: str, query: str) -> dict[str, Any]:
    """Background job (core.jobs) for a large member export: written to the file storage (any app server
    serves it), downloaded through the job's page."""
    from django.urls import reverse

    user = Staff.objects.get(pk=user_id)
    with from_replica():  # a big read: the replica's, when there is one (the export's log is written on the primary)
        out, count = export_members(user, store_id=store_id, tag=tag, query=query, progress=progress)
    with out:
        path = job_file_save(progress, "members", out)
    return {"url": reverse("job_download", args=[progress.job_id]), "label": _("Download (.xlsx)"), "path": path,
            "rows": count}
