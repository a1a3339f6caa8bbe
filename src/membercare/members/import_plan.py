"""Member import, step 2 (plan): which valid rows become new members and which merge into the member who
already has the phone number (blank fields filled, tags added, never doubled)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .import_parse import ValidRow
from .models import Member
from .services import EDITABLE_FIELDS, _display
from .validation import BOOL_FIELDS

LOOKUP_CHUNK = 900  # phones per `phone__in` query (below SQLite's historical 999-variable limit)


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


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size` (one query each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_rows(valid: list[ValidRow], *, lock: bool = False) -> Plan:
    """Split valid rows into new members and merges, looking phones up in chunks (no per-row query)."""
    phones = [r.data["phone"] for r in valid]
    existing: dict[str, Member] = {}
    for chunk in chunks(phones, LOOKUP_CHUNK):
        qs = Member.objects.filter(phone__in=chunk)
        if lock:
            qs = qs.select_for_update()
        existing.update((m.phone, m) for m in qs)
    tags_of: dict[int, list[str]] = {}
    ids = [m.pk for m in existing.values()]
    through = Member.tags.through
    for chunk in chunks(ids, LOOKUP_CHUNK):
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
