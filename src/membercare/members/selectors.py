"""Reads of the member archive: counter search, lists, the profile timeline."""

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from membercare.core.permissions import visible_stores
from membercare.core.phone import normalize_phone
from membercare.core.timeline import TimelineEvent, timeline_sources
from membercare.org.models import Staff

from .cardcode import card_code_member_id, looks_like_card_code
from .models import Member, MemberChange, Tag

SEARCH_LIMIT = 50


@dataclass
class SearchResult:
    members: list[Member]
    kind: str  # what the box understood: card, card_code, phone, last4, member_no, name, tag, empty
    truncated: bool


def _base() -> QuerySet[Member]:
    return Member.objects.select_related("home_store", "owner")


def _name_query(text: str) -> QuerySet[Member]:
    """Members whose name contains `text`. On PostgreSQL the name's n-grams go through a GIN index."""
    needle = "".join(text.lower().split())
    qs = _base()
    if connection.vendor == "postgresql" and needle:
        grams = [needle] if len(needle) == 1 else sorted({needle[i : i + 2] for i in range(len(needle) - 1)})
        qs = qs.extra(where=["string_to_array(members_member.name_grams, ' ') @> %s::text[]"], params=[grams])
    return qs.filter(name__icontains=text)


CARD_OR_NO = re.compile(r"[0-9A-Za-z]{4,20}")


def _by_card_or_member_no(number: str) -> tuple[list[Member], str] | None:
    """Exact matches only (indexed): a card number (any status; the loyalty issue refuses void ones at
    checkout), else a member number."""
    members = list(_base().filter(cards__number=number)[:1])
    if members:
        return members, "card"
    members = list(_base().filter(member_no=number)[:1]) if re.fullmatch(r"M\d{1,8}", number) else []
    return (members, "member_no") if members else None


def member_search(query: str, *, limit: int = SEARCH_LIMIT) -> SearchResult:
    """One box, as at the counter: card number, full phone, last 4 digits, member number, name, tag.

    Members are chain-wide, so the counter finds any member; lists and exports are store-scoped.
    """
    text = (query or "").strip()
    if not text:
        return SearchResult([], "empty", False)
    digits = re.sub(r"[\s\-]", "", text)
    found: list[Member] = []
    kind = "name"
    if looks_like_card_code(digits):  # the member's electronic card code, scanned from their phone
        member_id = card_code_member_id(digits)
        found = list(_base().filter(pk=member_id)) if member_id is not None else []
        return SearchResult(found, "card_code", False)
    if re.fullmatch(r"\d{4}", digits):
        kind = "last4"
        found = list(_base().filter(phone_last4=digits).order_by("name", "pk")[: limit + 1])
    else:
        try:
            phone = normalize_phone(text)
        except ValidationError:
            phone = None
        if phone:
            kind = "phone"
            found = list(_base().filter(phone=phone))
        if not found and CARD_OR_NO.fullmatch(digits):
            found, kind = _by_card_or_member_no(digits.upper()) or (found, kind)
        if not found and not phone:
            found = list(_name_query(text)[: limit + 1])
            kind = "name"
            if len(found) <= limit:
                seen = {m.pk for m in found}
                tag_ids = list(Tag.objects.filter(name__iexact=text).values_list("pk", flat=True))  # tiny table
                by_tag = _base().filter(tags__in=tag_ids).exclude(pk__in=seen).order_by("pk") if tag_ids else None
                tagged = list(by_tag[: limit + 1 - len(found)]) if by_tag is not None else []
                if tagged and not found:
                    kind = "tag"
                found += tagged
            found.sort(key=lambda m: (m.name != text, len(m.name), m.name))
    return SearchResult(found[:limit], kind, len(found) > limit)


def member_list(user: Staff, *, store_id: int | None = None, tag: str = "", owner_id: int | None = None,
                query: str = "") -> QuerySet[Member]:
    """Members registered in the stores the user may see (chain-wide for HQ), newest first."""
    qs = _base().filter(home_store__in=visible_stores(user))
    if store_id:
        qs = qs.filter(home_store_id=store_id)
    if tag:
        qs = qs.filter(tags__name=tag)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(phone__endswith=query))
    return qs.order_by("-created_at", "-pk")


def _display_value(field_name: str, value: Any) -> str:
    if value in (None, ""):
        return "—"
    try:
        field = Member._meta.get_field(field_name)
    except FieldDoesNotExist:
        return str(value)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if getattr(field, "choices", None):
        return str(dict(field.choices).get(value, value))
    return str(value)


def change_rows(change: MemberChange) -> list[tuple[str, str, str]]:
    """(field label, old, new) in the user's language, for the profile's edit history."""
    rows = []
    for name, values in (change.changes or {}).items():
        try:
            field = Member._meta.get_field(name)
            # a reverse relation (the member's dates) is named after the related model
            label = str(getattr(field, "verbose_name", None) or field.related_model._meta.verbose_name_plural)
        except FieldDoesNotExist:
            label = name
        old, new = (list(values) + [None, None])[:2]
        rows.append((label, _display_value(name, old), _display_value(name, new)))
    return rows


def _change_events(member: Member, limit: int) -> list[TimelineEvent]:
    events = []
    for change in member.changes.select_related("changed_by")[:limit]:
        labels = "、".join(label for label, _old, _new in change_rows(change))
        events.append(TimelineEvent(
            at=change.changed_at, kind="change", title=change.get_action_display(),
            detail=labels[:200], extra={"by": str(change.changed_by or "")},
        ))
    return events


def member_timeline(member: Member, *, limit: int = 100) -> list[TimelineEvent]:
    """Everything that happened with the member, newest first: purchases, contacts, complaints, ..."""
    events = _change_events(member, limit)
    for source in timeline_sources().values():
        events.extend(source(member, limit))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]


def member_changes(member: Member) -> QuerySet[MemberChange]:
    return member.changes.select_related("changed_by")


TIMELINE_LABELS = {
    "purchase": _("Purchase"), "return": _("Return"), "contact": _("Contact"),
    "complaint": _("Complaint"), "message": _("Message"), "change": _("Archive"),
    "stored_value": _("Stored value"),  # storedvalue registers the source
    "owner": _("Relationship owner"),  # care registers the source (care.owners)
}
