"""HQ's care calendar written: care events and festivals, checked and saved."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import require
from membercare.org.models import Staff

from .access import CareError, can_edit_care_settings
from .config import care_config
from .config_writes import care_config_save
from .models import CareChannel, CareEvent, Festival

_EVENT_FIELDS = ("kind", "title", "brand", "series", "starts_on", "ends_on", "details")


def _event_check(values: dict[str, Any]) -> None:
    if values.get("kind") not in CareEvent.Kind.values:
        raise CareError("kind_invalid", _("Choose new stock or campaign."), "kind")
    if not (values.get("title") or "").strip():
        raise CareError("title_required", _("Give the event a title."), "title")
    if len(values["title"].strip()) > 100:
        raise CareError("title_too_long", _("Keep the title under 100 characters."), "title")
    if not isinstance(values.get("starts_on"), dt.date):
        raise CareError("starts_on_required", _("Give the first day."), "starts_on")
    ends_on = values.get("ends_on")
    if ends_on is not None and ends_on < values["starts_on"]:
        raise CareError("ends_before_start", _("The last day cannot come before the first day."), "ends_on")


@transaction.atomic
def care_event_create(*, kind: str, title: str, starts_on: dt.date, by: Staff, ends_on: dt.date | None = None,
                      brand=None, series=None, details: str = "") -> CareEvent:
    """New stock arriving or a campaign: the care rules call A members before it and notify members 5 days
    ahead (care.rules reads the events)."""
    require(can_edit_care_settings(by))
    values = {"kind": kind, "title": title, "starts_on": starts_on, "ends_on": ends_on, "brand": brand,
              "series": series, "details": details or ""}
    _event_check(values)
    values["title"] = values["title"].strip()
    return CareEvent.objects.create(**values, created_by=by, created_at=timezone.now())


@transaction.atomic
def care_event_update(*, event: CareEvent, by: Staff, **changes: Any) -> CareEvent:
    require(can_edit_care_settings(by))
    unknown = sorted(set(changes) - set(_EVENT_FIELDS))
    if unknown:
        raise CareError("unknown_field", _("Unknown setting “%(name)s”.") % {"name": unknown[0]})
    event = CareEvent.objects.select_for_update().get(pk=event.pk)
    values = {name: getattr(event, name) for name in _EVENT_FIELDS}
    values.update(changes)
    values["details"] = values.get("details") or ""
    _event_check(values)
    values["title"] = values["title"].strip()
    for name, value in values.items():
        setattr(event, name, value)
    event.save()
    return event


# --------------------------------------------------------------------------------------------- festivals

_FESTIVAL_FIELDS = ("name", "calendar", "month", "day", "active", "audience_id", "gender", "greeting", "channel")
MAX_GREETING = 500


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _festival_clean(values: dict[str, Any]) -> dict[str, Any]:
    """The festival's values checked (every problem at once, per field) and normalised; CareError-like
    ValidationError otherwise."""
    from membercare.core.text import has_control

    from .festivals import audience_name
    from .models import FestivalCalendar

    errors: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the festival a name.")]
    elif len(name) > 30 or has_control(name):
        errors["name"] = [_("At most 30 characters, no control characters.")]
    calendar = values.get("calendar")
    if calendar not in FestivalCalendar.values:
        errors["calendar"] = [_("Choose the solar or the lunar calendar.")]
    month = _int_in(values.get("month"), 1, 12)
    if month is None:
        errors["month"] = [_("The month is a whole number from 1 to 12.")]
    day = _int_in(values.get("day"), 1, 30 if calendar == FestivalCalendar.LUNAR else 31)
    if day is None:
        errors["day"] = [_("The day is a whole number from 1 to 30 (lunar) or 31 (solar).")]
    elif month is not None and calendar == FestivalCalendar.SOLAR:
        try:
            dt.date(2024, month, day)  # a leap year: 29 February is a festival day (the 28th in other years)
        except ValueError:
            errors["day"] = [_("This month has no such day.")]
    audience_id = values.get("audience_id")
    if audience_id in ("", None):
        audience_id = None
    else:
        audience_id = _int_in(audience_id, 1, 2**62)
        if audience_id is None or audience_name(audience_id) is None:
            errors["audience_id"] = [_("This audience does not exist.")]
    gender = values.get("gender") or ""
    if gender not in ("", "F", "M"):
        errors["gender"] = [_("Choose women, men or everyone.")]
    greeting = str(values.get("greeting") or "").strip()
    if len(greeting) > MAX_GREETING:
        errors["greeting"] = [_("Keep the greeting under %(n)d characters.") % {"n": MAX_GREETING}]
    elif has_control(greeting):
        errors["greeting"] = [_("The text may not hold control characters.")]
    channel = values.get("channel") or ""
    if channel and channel not in CareChannel.values:
        errors["channel"] = [_("Choose one of the channels.")]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "calendar": calendar, "month": month, "day": day, "active": bool(values.get("active")),
            "audience_id": audience_id, "gender": gender, "greeting": greeting, "channel": channel}


@transaction.atomic
def festival_create(*, by: Staff, name: str, calendar: str, month: int, day: int, active: bool = True,
                    audience_id: int | None = None, gender: str = "", greeting: str = "",
                    channel: str = "") -> Festival:
    """A festival HQ adds (specialist, admin). It is greeted from now on: its code joins the holiday greeting's
    festivals in a new version of the care settings (history: who and which festival), which HQ may untick."""
    require(can_edit_care_settings(by))
    clean = _festival_clean({"name": name, "calendar": calendar, "month": month, "day": day, "active": active,
                             "audience_id": audience_id, "gender": gender, "greeting": greeting, "channel": channel})
    festival = Festival.objects.create(code=f"tmp-{timezone.now().timestamp()}", **clean, updated_by=by,
                                       updated_at=timezone.now())
    festival.code = f"festival_{festival.pk}"
    festival.save(update_fields=["code"])
    config = care_config()
    holidays = list(config["rules"]["holiday_greeting"].get("holidays", []))
    if festival.code not in holidays:
        care_config_save(params={"rules": {"holiday_greeting": {"holidays": [*holidays, festival.code]}}}, by=by,
                         note=_("Festival added: %(name)s") % {"name": festival.name})
    return festival


@transaction.atomic
def festival_update(*, festival: Festival, by: Staff, **changes: Any) -> Festival:
    """Change a festival (name, date, audience, text, channel) or switch it off (active=False: no task for it).
    Tasks already created keep what they say."""
    require(can_edit_care_settings(by))
    unknown = sorted(set(changes) - set(_FESTIVAL_FIELDS))
    if unknown:
        raise CareError("unknown_field", _("Unknown setting “%(name)s”.") % {"name": unknown[0]})
    festival = Festival.objects.select_for_update().get(pk=festival.pk)
    values = {name: getattr(festival, name) for name in _FESTIVAL_FIELDS}
    values.update(changes)
    for name, value in _festival_clean(values).items():
        setattr(festival, name, value)
    festival.updated_by, festival.updated_at = by, timezone.now()
    festival.save()
    return festival
