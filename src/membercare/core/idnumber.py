"""Resident identity card numbers (居民身份证号码, GB 11643): validation and masking."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_id_number(raw: str) -> str:
    text = (raw or "").strip().upper().replace(" ", "")
    if not text:
        return ""
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise ValidationError(_("An ID number has 18 characters: 17 digits and a digit or X."), code="invalid_id")
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise ValidationError(
            _("The date of birth inside the ID number is not a real date."), code="invalid_id"
        ) from exc
    if id_check_char(text[:17]) != text[17]:
        raise ValidationError(_("The ID number's check digit is wrong: please check for a typo."), code="invalid_id")
    return text


def mask_id_number(value: str) -> str:
    """110************23X: keeps the region's first 3 and the last 4."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
