"""Member export to Excel (.xlsx), from the member list's filters.

Personal data leaves the system here, so: only roles with `can_export`, phone numbers masked unless the
role sees full phones, ID numbers always masked, and every export is written to ExportLog (PIPL).
The column headers are in the user's language and are names the member import accepts.
Apps above members add read-only columns (loyalty: card level, points, spend) through
register_export_columns: their values are SQL annotations of the member query, never a query per member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from membercare.core.bulk import in_pk_chunks, read_ahead
from membercare.core.idnumber import mask_id_number
from membercare.core.jobs import job_file_save
from membercare.core.permissions import can_export, can_see_full_phone, require
from membercare.core.phone import mask_phone
from membercare.core.replica import from_replica
from membercare.core.xlsx import write_csv, write_xlsx
from membercare.org.models import Staff

from .models import ExportLog, Member, Tag
from .selectors import member_list

EXPORT_CHUNK = 5000


# (the import field the column feeds, header, value). The import reads every header here back, in every
# language (see imports.py); "_ignored" columns are facts the import does not change. A column's value is read
# from the member's row (a dict of the query's values, completed per chunk by `_complete_rows`: choice fields
# carry their label, consents 是/否, the store, owner and tags their names, the ID number its mask).
ColumnGetter = Callable[[dict[str, Any]], Any]
REGISTRATION_STORE = gettext_lazy("Registration store")
EXPORT_COLUMNS: list[tuple[str, Any, ColumnGetter]] = [
    ("_ignored", gettext_lazy("Member number"), itemgetter("member_no")),
    ("name", pgettext_lazy("person", "Name"), itemgetter("name")),
    ("phone", gettext_lazy("Mobile phone"), itemgetter("phone")),  # masked per role in _complete_rows
    ("gender", gettext_lazy("Gender"), itemgetter("gender")),
    ("birthday", gettext_lazy("Birthday"), itemgetter("birthday")),
    ("lunar_birthday_month", gettext_lazy("Lunar birthday month"), itemgetter("lunar_birthday_month")),
    ("lunar_birthday_day", gettext_lazy("Lunar birthday day"), itemgetter("lunar_birthday_day")),
    ("store_code", gettext_lazy("Store code"), itemgetter("store_code")),
    ("_ignored", REGISTRATION_STORE, itemgetter("store_name")),  # the registered apps' columns follow it
    ("tags", gettext_lazy("Tags"), itemgetter("tags")),
    ("email", gettext_lazy("Email"), itemgetter("email")),
    ("wechat_id", gettext_lazy("WeChat ID"), itemgetter("wechat_id")),
    ("address", gettext_lazy("Address"), itemgetter("address")),
    ("id_number", gettext_lazy("ID number"), itemgetter("id_number")),  # always masked
    ("occupation", gettext_lazy("Occupation"), itemgetter("occupation")),
    ("height_cm", gettext_lazy("Height (cm)"), itemgetter("height_cm")),
    ("weight_kg", gettext_lazy("Weight (kg)"), itemgetter("weight_kg")),
    ("skin_tone", gettext_lazy("Skin tone"), itemgetter("skin_tone")),
    ("clothing_size", gettext_lazy("Clothing size"), itemgetter("clothing_size")),
    ("shoe_size", gettext_lazy("Shoe size"), itemgetter("shoe_size")),
    ("first_purchase_style", gettext_lazy("Style of first purchase"), itemgetter("first_purchase_style")),
    ("personality", gettext_lazy("Personality"), itemgetter("personality")),
    ("decision_style", gettext_lazy("Decision style"), itemgetter("decision_style")),
    ("shopping_time", gettext_lazy("Habitual shopping time"), itemgetter("shopping_time")),
    ("shopping_places", gettext_lazy("Habitual shopping places"), itemgetter("shopping_places")),
    ("other_brands", gettext_lazy("Other brands bought"), itemgetter("other_brands")),
    ("preferred_channel", gettext_lazy("Preferred channel"), itemgetter("preferred_channel")),
    ("preferred_time", gettext_lazy("Preferred contact time"), itemgetter("preferred_time")),
    ("consent_phone", gettext_lazy("Marketing calls"), itemgetter("consent_phone")),
    ("consent_sms", gettext_lazy("Marketing SMS"), itemgetter("consent_sms")),
    ("consent_email", gettext_lazy("Marketing email"), itemgetter("consent_email")),
    ("consent_wechat", gettext_lazy("Marketing WeChat"), itemgetter("consent_wechat")),
    ("_ignored", gettext_lazy("Relationship owner"), itemgetter("owner")),
    ("_ignored", gettext_lazy("Registered at"), itemgetter("created_at")),
    ("notes", gettext_lazy("Notes"), itemgetter("notes")),
]
# the member fields the rows are read with (the columns' keys before _complete_rows, and what it needs)
ROW_FIELDS = ("pk", "member_no", "name", "phone", "gender", "birthday", "lunar_birthday_month", "lunar_birthday_day",
              "home_store_id", "email", "wechat_id", "address", "id_number", "occupation", "height_cm", "weight_kg",
              "skin_tone", "clothing_size", "shoe_size", "first_purchase_style", "personality", "decision_style",
              "shopping_time", "shopping_places", "other_brands", "preferred_channel", "preferred_time",
              "consent_phone", "consent_sms", "consent_email", "consent_wechat", "owner_id", "created_at", "notes")
CHOICE_FIELDS = ("gender", "skin_tone", "decision_style", "preferred_channel", "preferred_time")
CONSENT_FIELDS = ("consent_phone", "consent_sms", "consent_email", "consent_wechat")


@dataclass(frozen=True)
class ExportExtension:
    """Columns an app above members adds to the export (members may not import it: see layers.py).
    `annotate` adds SQL annotations to the member query (`names`: the annotations' names, read with the
    member's fields); each column's getter reads them from the member's row (a dict)."""

    annotate: Callable[[QuerySet[Member]], QuerySet[Member]]
    names: tuple[str, ...]
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


class _Names:
    """Names by primary key (stores, staff), read once per export as the chunks first meet them."""

    def __init__(self, queryset: QuerySet[Any], make: Callable[[Any], tuple[str, ...]]) -> None:
        self.queryset, self.make = queryset, make
        self.known: dict[int, tuple[str, ...]] = {}

    def load(self, keys: set[int]) -> None:
        missing = {k for k in keys if k is not None and k not in self.known}
        if missing:
            self.known.update({o.pk: self.make(o) for o in self.queryset.filter(pk__in=missing)})


def _chunks(members: QuerySet[Member], names: tuple[str, ...], size: int) -> Iterator[tuple[list[dict], dict]]:
    """(the members' rows, {member id: [tag id]}) chunk by chunk: the export's database reads."""
    through = Member.tags.through.objects.order_by()
    for rows in in_pk_chunks(members.values(*ROW_FIELDS, *names), size, key="pk"):
        first, last = rows[0]["pk"], rows[-1]["pk"]
        if last - first < 4 * len(rows):  # a dense chunk: its id range (2 parameters, not thousands)
            links = through.filter(member_id__gte=first, member_id__lte=last)
        else:
            links = through.filter(member_id__in=[r["pk"] for r in rows])
        tags: dict[int, list[int]] = {}
        for member_id, tag_id in links.using(members.db).values_list("member_id", "tag_id"):
            tags.setdefault(member_id, []).append(tag_id)
        yield rows, tags


def _member_rows(members: QuerySet[Member], names: tuple[str, ...], *, full_phone: bool,
                 chunk: int = EXPORT_CHUNK) -> Iterator[list[dict[str, Any]]]:
    """The members' rows (dicts), chunk by chunk, ready for the columns' getters. The next chunk is read
    from the database while this one is completed and written (core.bulk.read_ahead)."""
    from membercare.org.models import Store

    labels = [(name, {value: str(label) for value, label in Member._meta.get_field(name).choices})
              for name in CHOICE_FIELDS]
    yes, no = _("Yes"), _("No")
    local = timezone.get_current_timezone()
    stores = _Names(Store.objects.all(), lambda s: (s.code, s.name))
    owners = _Names(Staff.objects.all(), lambda s: (str(s),))
    tag_names = dict(Tag.objects.values_list("pk", "name"))
    members = members.using(members.db)  # the router's choice (the replica for a job), fixed for the thread
    for rows, tags in read_ahead(lambda: _chunks(members, names, chunk), using=members.db):
        stores.load({r["home_store_id"] for r in rows})
        owners.load({r["owner_id"] for r in rows})
        store_of, owner_of = stores.known, owners.known
        for r in rows:
            for name, label in labels:
                r[name] = label.get(r[name], r[name])
            for name in CONSENT_FIELDS:
                r[name] = yes if r[name] else no
            r["store_code"], r["store_name"] = store_of.get(r["home_store_id"], ("", ""))
            owner = owner_of.get(r["owner_id"])
            r["owner"] = owner[0] if owner else ""
            tag_ids = tags.get(r["pk"])
            r["tags"] = ", ".join(sorted(tag_names.get(t) or "" for t in tag_ids)) if tag_ids else ""
            r["id_number"] = mask_id_number(r["id_number"])
            if not full_phone:
                r["phone"] = mask_phone(r["phone"])
            if r["created_at"] is not None:  # Excel has no time zones: the local wall-clock time
                r["created_at"] = r["created_at"].astimezone(local).replace(tzinfo=None)
        yield rows


# Filters an app above members offers the export (audiences: "audience", a saved audience's id): key ->
# fn(user, value) -> a queryset of member ids (a subquery), raising PermissionDenied for a value the user may not
# use. Registered from the app's ready(), as the columns above.
MemberFilter = Callable[[Staff, Any], QuerySet]
_FILTERS: dict[str, MemberFilter] = {}


def register_export_filter(key: str, fn: MemberFilter) -> None:
    _FILTERS[key] = fn


def filtered_members(members: QuerySet[Member], user: Staff, *, audience_id: int | None = None) -> QuerySet[Member]:
    """The members narrowed to a saved audience's (through the "audience" filter the audiences app registers)."""
    if audience_id is None:
        return members
    if "audience" not in _FILTERS:
        raise ValueError("no audience filter registered")
    return members.filter(pk__in=_FILTERS["audience"](user, audience_id))


EXPORT_FORMATS = ("xlsx", "csv")


def export_members(user: Staff, *, store_id: int | None = None, tag: str = "", query: str = "",
                   progress: Callable[..., None] | None = None, file_format: str = "xlsx",
                   audience_id: int | None = None) -> tuple[IO[bytes], int]:
    """Write the members the user's list shows for these filters to an .xlsx (or a CSV); log the export.
    `audience_id`: only the members of that saved audience (one the user may use; within their stores).

    Returns an open temporary file (positioned at the start) and the number of members written. `progress`
    (a background job's) hears every chunk: progress(done, total).
    """
    require(can_export(user))
    if file_format not in EXPORT_FORMATS:
        raise ValueError(file_format)
    full_phone = can_see_full_phone(user)
    members = filtered_members(member_list(user, store_id=store_id, tag=tag, query=query), user,
                               audience_id=audience_id)
    names: tuple[str, ...] = ()
    for extension in _EXTENSIONS.values():
        members = extension.annotate(members)
        names += extension.names
    getters = [getter for _field, _label, getter in export_columns()]
    count = 0
    total = members.count() if progress else None

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        for chunk in _member_rows(members, names, full_phone=full_phone):
            if progress:
                progress(count, total)
            for r in chunk:
                yield [getter(r) for getter in getters]
            count += len(chunk)

    if file_format == "csv":
        out = write_csv(export_headers(), rows())
    else:
        out = write_xlsx([(_("Members"), export_headers(), rows())])
    ExportLog.objects.create(
        exported_by=user, exported_at=timezone.now(), kind="members",
        filters={"store": store_id, "tag": tag, "q": query, "format": file_format,
                 **({"audience": audience_id} if audience_id is not None else {})}, row_count=count,
        full_data=full_phone,
    )
    return out, count


def members_export_job(progress, *, user_id: int, store_id: int | None, tag: str, query: str,
                       file_format: str = "xlsx", audience_id: int | None = None) -> dict[str, Any]:
    """Background job (core.jobs) for a large member export: written to the file storage (any app server
    serves it), downloaded through the job's page."""
    from django.urls import reverse

    user = Staff.objects.get(pk=user_id)
    with from_replica():  # a big read: the replica's, when there is one (the export's log is written on the primary)
        out, count = export_members(user, store_id=store_id, tag=tag, query=query, progress=progress,
                                    file_format=file_format, audience_id=audience_id)
    with out:
        path = job_file_save(progress, "members", out, suffix=f".{file_format}")
    label = _("Download (.xlsx)") if file_format == "xlsx" else _("Download (.csv)")
    return {"url": reverse("job_download", args=[progress.job_id]), "label": label, "path": path, "rows": count}
