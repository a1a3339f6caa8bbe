"""Writes to the member archive. Every function runs in a transaction and records edit history."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.crypto import blind_index
from membercare.core.idnumber import mask_id_number
from membercare.core.permissions import can_view_full_id, can_work_members, require
from membercare.core.sequences import reserve_numbers
from membercare.core.text import has_control
from membercare.org.models import Staff, Store

from .models import MAX_MEMBER_DATES, Member, MemberChange, MemberDate, SensitiveAccessLog, Tag
from .signals import member_referred, member_saved
from .validation import clean_member_data

# Fields a user edits directly (tags handled separately; derived fields never).
EDITABLE_FIELDS = (
    "name", "phone", "gender", "birthday", "lunar_birthday_month", "lunar_birthday_day", "lunar_birthday_leap",
    "celebrates_lunar", "address", "email", "wechat_id", "id_number", "occupation", "height_cm", "weight_kg",
    "skin_tone", "clothing_size", "shoe_size", "first_purchase_style", "personality", "decision_style",
    "shopping_time", "shopping_places", "other_brands", "notes", "preferred_channel", "preferred_time",
    "consent_phone", "consent_sms", "consent_email", "consent_wechat",
)
SENSITIVE_FIELDS = {"id_number": mask_id_number}


def format_member_no(number: int) -> str:
    return f"M{number:08d}"


def name_grams(name: str) -> str:
    """Unigrams and bigrams of a name (lower case, no spaces): the tokens behind partial-name search."""
    text = "".join(name.lower().split())
    grams = dict.fromkeys(list(text) + [text[i : i + 2] for i in range(len(text) - 1)])
    return " ".join(grams)


def apply_derived_fields(member: Member) -> None:
    member.phone_last4 = member.phone[-4:]
    member.name_grams = name_grams(member.name)
    member.id_number_index = blind_index(member.id_number) if member.id_number else ""


def _display(field: str, value: Any) -> Any:
    if field in SENSITIVE_FIELDS and value:
        return SENSITIVE_FIELDS[field](value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def set_member_tags(member: Member, names: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    member.tags.set([existing[n] for n in names])


@transaction.atomic
def member_create(*, data: dict[str, Any], store: Store, by: Staff | None, owner: Staff | None = None,
                  clean: bool = True, referral_code: str = "") -> Member:
    """Register a member. `data` is raw input unless `clean` is False (already cleaned). With a referral code,
    the member who owns it is recorded as the referrer (events.referrals, through members.signals.member_referred;
    a refusal names "referral_code")."""
    cleaned = clean_member_data(data) if clean else dict(data)
    tags = cleaned.pop("tags", [])
    now = timezone.now()
    member = Member(
        member_no=format_member_no(reserve_numbers("member")[0]),
        home_store=store,
        owner=owner if owner is not None else by,
        registered_by=by,
        created_at=now,
        **{k: v for k, v in cleaned.items() if k in EDITABLE_FIELDS},
    )
    apply_derived_fields(member)
    member.save()
    if tags:
        set_member_tags(member, tags)
    MemberChange.objects.create(
        member=member, action=MemberChange.Action.CREATE, changed_by=by, changed_at=now,
        changes={
            f: [None, _display(f, v)] for f, v in cleaned.items() if f in EDITABLE_FIELDS and v not in ("", None)
        },
    )
    if (referral_code or "").strip():  # events.referrals records it (members.signals)
        member_referred.send(sender=Member, member=member, code=referral_code, by=by)
    member_saved.send(sender=Member, member=member, created=True)
    return member


@transaction.atomic
def member_update(*, member: Member, data: dict[str, Any], by: Staff | None, clean: bool = True,
                  action: str = MemberChange.Action.UPDATE) -> Member:
    """Change some fields; records who changed what (old and new value) when anything changed."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    cleaned = clean_member_data(data, instance=member, partial=True) if clean else dict(data)
    changes: dict[str, list[Any]] = {}
    for field, value in cleaned.items():
        if field not in EDITABLE_FIELDS:
            continue
        old = getattr(member, field)
        if old != value:
            changes[field] = [_display(field, old), _display(field, value)]
            setattr(member, field, value)
    if "tags" in cleaned:
        old_tags = sorted(member.tags.values_list("name", flat=True))
        if sorted(cleaned["tags"]) != old_tags:
            set_member_tags(member, cleaned["tags"])
            changes["tags"] = [", ".join(old_tags), ", ".join(cleaned["tags"])]
    if changes:
        apply_derived_fields(member)
        member.save()
        MemberChange.objects.create(
            member=member, action=action, changed_by=by, changed_at=timezone.now(), changes=changes
        )
        member_saved.send(sender=Member, member=member, created=False)
    return member


@transaction.atomic
def member_reveal_id_number(*, member: Member, by: Staff) -> str:
    """The full ID number, for roles that may see it; every view is logged (PIPL)."""
    require(can_view_full_id(by))
    SensitiveAccessLog.objects.create(viewer=by, member=member, field="id_number", viewed_at=timezone.now())
    return member.id_number


# ------------------------------------------------------------------------------ the member's own dates


def _date_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


@transaction.atomic
def member_date_add(*, member: Member, by: Staff, name: str, calendar: str, month: int, day: int,
                    leap: bool = False) -> MemberDate:
    """Remember a date the member gave (seed 000: 纪念日): greeted every year by the care rule member_dates.
    Checked: an occasion of 1 to 30 characters, a real month and day (29 February allowed: greeted on the 28th
    in a common year; a lunar day up to 30), at most MAX_MEMBER_DATES per member. Records the change."""
    require(can_work_members(by))
    member = Member.objects.select_for_update().get(pk=member.pk)
    name = (name or "").strip()
    if not name or len(name) > 30 or has_control(name):
        raise _date_error("name", _("Name the occasion in 1 to 30 characters, e.g. wedding anniversary."))
    if calendar not in MemberDate.Calendar.values:
        raise _date_error("calendar", _("Choose the solar or the lunar calendar."))
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        raise _date_error("month", _("The month is 1 to 12."))
    if calendar == MemberDate.Calendar.LUNAR:
        longest = 30
    else:
        longest = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
        leap = False
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= longest:
        raise _date_error("day", _("That month has no such day."))
    if member.dates.count() >= MAX_MEMBER_DATES:
        raise _date_error("__all__", _("A member keeps at most %(n)d dates: remove one first.") % {
            "n": MAX_MEMBER_DATES})
    made = MemberDate.objects.create(member=member, name=name, calendar=calendar, month=month, day=day,
                                     leap=bool(leap), created_at=timezone.now())
    MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_by=by,
                                changed_at=timezone.now(), changes={"dates": ["", str(made)]})
    return made


@transaction.atomic
def member_date_remove(*, member_date: MemberDate, by: Staff) -> None:
    """Forget one of the member's dates (records the change)."""
    require(can_work_members(by))
    member = Member.objects.select_for_update().get(pk=member_date.member_id)
    MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_by=by,
                                changed_at=timezone.now(), changes={"dates": [str(member_date), ""]})
    member_date.delete()
