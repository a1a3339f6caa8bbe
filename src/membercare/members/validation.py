"""Rules for a member record, shared by the web form, the import and the API.

`clean_member_data` takes raw values (strings from a form or a spreadsheet cell) and returns clean
Python values, or raises ValidationError({field: [messages]}) with messages in the user's language.
"""

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from lunardate import LunarDate

from membercare.core.idnumber import normalize_id_number
from membercare.core.phone import normalize_phone

from .models import Channel, ContactTime, DecisionStyle, Gender, Member, SkinTone

REQUIRED_FIELDS = ("name", "phone", "birthday", "gender")
TEXT_FIELDS = {
    "address": 200, "occupation": 50, "clothing_size": 20, "shoe_size": 10, "first_purchase_style": 50,
    "personality": 100, "shopping_time": 100, "shopping_places": 200, "other_brands": 200, "notes": 5000,
    "wechat_id": 50,
}
CHOICE_FIELDS = {
    "gender": Gender, "decision_style": DecisionStyle, "skin_tone": SkinTone,
    "preferred_channel": Channel, "preferred_time": ContactTime,
}
BOOL_FIELDS = ("consent_phone", "consent_sms", "consent_email", "consent_wechat", "celebrates_lunar",
               "lunar_birthday_leap")
INT_RANGES = {"height_cm": (50, 250), "weight_kg": (20, 300)}
_TRUE = {"1", "true", "yes", "y", "是", "同意", "√", "✓", "on"}
_FALSE = {"0", "false", "no", "n", "否", "不同意", "", "off", "none"}
_TAG_SPLIT = re.compile(r"[,，、;；|]+")


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    text = re.sub(r"[年月/.]", "-", text).replace("日", "").strip("-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("“%(value)s” is not a date: write it as 1985-03-21."), params={"value": str(value)[:20]})


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no."), params={"value": str(value)[:20]})


def _choice(enum, value: Any) -> str:
    text = str(value).strip()
    for choice_value, label in enum.choices:
        if text.lower() == choice_value.lower() or text == str(label) or (len(text) > 1 and text in str(label)):
            return choice_value
    labels = "、".join(str(label) for _v, label in enum.choices)
    raise ValidationError(_("“%(value)s” is not one of: %(labels)s."), params={"value": text[:20], "labels": labels})


def _gender(value: Any) -> str:
    text = str(value).strip().lower()
    if text in {"f", "female", "女", "女士", "w"}:
        return Gender.FEMALE
    if text in {"m", "male", "男", "男士"}:
        return Gender.MALE
    raise ValidationError(_("Gender must be female (女) or male (男)."))


def parse_tags(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        items = value
    else:
        items = _TAG_SPLIT.split(str(value or ""))
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()[:40]
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_member_data(raw: dict[str, Any], *, instance: Member | None = None, partial: bool = False,
                      check_duplicate: bool = True) -> dict[str, Any]:
    """Validate and convert. With `partial`, absent keys are left out (edit of some fields)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def fail(field: str, exc: ValidationError | str) -> None:
        messages = exc.messages if isinstance(exc, ValidationError) else [exc]
        errors.setdefault(field, []).extend(str(m) for m in messages)

    for field in REQUIRED_FIELDS:
        if field in raw or not partial:
            if _blank(raw.get(field)):
                fail(field, _("This field is required."))

    def present(field: str) -> bool:
        return field in raw and field not in errors

    if present("name"):
        name = re.sub(r"\s+", " ", str(raw["name"])).strip()
        if len(name) > 50:
            fail("name", _("A name has at most 50 characters."))
        else:
            out["name"] = name
    if present("phone"):
        try:
            out["phone"] = normalize_phone(raw["phone"])
        except ValidationError as exc:
            fail("phone", exc)
    if present("birthday"):
        try:
            birthday = parse_date(raw["birthday"])
            today = timezone.localdate()
            if birthday > today:
                fail("birthday", _("The birthday is in the future."))
            elif birthday.year < today.year - 120:
                fail("birthday", _("The birthday is more than 120 years ago."))
            else:
                out["birthday"] = birthday
        except ValidationError as exc:
            fail("birthday", exc)
    if present("gender"):
        try:
            out["gender"] = _gender(raw["gender"])
        except ValidationError as exc:
            fail("gender", exc)

    for field, max_len in TEXT_FIELDS.items():
        if field in raw:
            text = "" if raw[field] is None else str(raw[field]).strip()
            if len(text) > max_len:
                fail(field, _("At most %(n)d characters.") % {"n": max_len})
            else:
                out[field] = text
    if "email" in raw:
        email = str(raw["email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                fail("email", _("“%(value)s” is not an email address.") % {"value": email[:50]})
        if "email" not in errors:
            out["email"] = email
    for field, enum in CHOICE_FIELDS.items():
        if field in raw and field not in ("gender",) and field not in errors:
            if _blank(raw[field]):
                if field in ("preferred_channel", "preferred_time"):
                    continue
                out[field] = ""
                continue
            try:
                out[field] = _choice(enum, raw[field])
            except ValidationError as exc:
                fail(field, exc)
    for field in BOOL_FIELDS:
        if field in raw:
            try:
                out[field] = parse_bool(raw[field])
            except ValidationError as exc:
                fail(field, exc)
    for field, (low, high) in INT_RANGES.items():
        if field in raw:
            if _blank(raw[field]):
                out[field] = None
                continue
            try:
                number = int(float(str(raw[field]).strip()))
            except ValueError:
                fail(field, _("“%(value)s” is not a number.") % {"value": str(raw[field])[:20]})
                continue
            if not low <= number <= high:
                fail(field, _("Must be between %(low)d and %(high)d.") % {"low": low, "high": high})
            else:
                out[field] = number
    if "id_number" in raw:
        try:
            out["id_number"] = normalize_id_number(str(raw["id_number"] or ""))
        except ValidationError as exc:
            fail("id_number", exc)
    if "tags" in raw:
        out["tags"] = parse_tags(raw["tags"])

    # lunar birthday: month 1-12, day 1-30, and the date must exist (a leap month only in leap years
    # is checked per year when the date is used; here the day must exist in some year).
    if "lunar_birthday_month" in raw or "lunar_birthday_day" in raw:
        month, day = raw.get("lunar_birthday_month"), raw.get("lunar_birthday_day")
        if _blank(month) and _blank(day):
            out["lunar_birthday_month"] = out["lunar_birthday_day"] = None
        elif _blank(month) or _blank(day):
            fail("lunar_birthday_month", _("Give both the lunar month and day, or neither."))
        else:
            try:
                month_i, day_i = int(str(month).strip()), int(str(day).strip())
                if not (1 <= month_i <= 12 and 1 <= day_i <= 30):
                    raise ValueError
                out["lunar_birthday_month"], out["lunar_birthday_day"] = month_i, day_i
            except ValueError:
                fail("lunar_birthday_month", _("A lunar birthday is a month from 1 to 12 and a day from 1 to 30."))
    has_lunar = out.get("lunar_birthday_month") or (instance is not None and instance.lunar_birthday_month)
    if out.get("celebrates_lunar") and not has_lunar:
        fail("celebrates_lunar", _("Record the lunar birthday first."))

    if check_duplicate and "phone" in out:
        existing = Member.objects.filter(phone=out["phone"]).exclude(pk=getattr(instance, "pk", None)).first()
        if existing is not None:
            errors.setdefault("phone", []).append(
                str(_("This phone number already belongs to member %(name)s (%(no)s).")
                    % {"name": existing.name, "no": existing.member_no})
            )
            out["duplicate_of"] = existing.pk
    if errors:
        exc = ValidationError(errors)
        exc.duplicate_of = out.get("duplicate_of")  # type: ignore[attr-defined]
        raise exc
    out.pop("duplicate_of", None)
    return out


def lunar_birthday_in_year(member: Member, year: int) -> dt.date | None:
    """The solar date of the member's lunar birthday in the given (lunar) year.

    A birthday in a leap month is celebrated in that leap month when the year has it, otherwise in
    the ordinary month; day 30 falls back to day 29 in a short month.
    """
    if not member.lunar_birthday_month or not member.lunar_birthday_day:
        return None
    month, day = member.lunar_birthday_month, member.lunar_birthday_day
    for leap in ((True, False) if member.lunar_birthday_leap else (False,)):
        for d in (day, day - 1) if day == 30 else (day,):
            try:
                return LunarDate(year, month, d, leap).to_solar_date()
            except ValueError:
                continue
    return None
