"""Mainland China mobile numbers: one canonical form (11 digits) so one person is one member."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-().\u3000\u2010-\u2015]")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: object) -> str:
    """Return the 11-digit mobile number or raise ValidationError with a reason the clerk understands.

    Accepts spaces, dashes, full-width digits and the +86 / 0086 / 86 country prefixes, and numbers
    that spreadsheets turned into floats ("13812345678.0").
    """
    if raw is None:
        raise ValidationError(_("Mobile phone is required."), code="required")
    text = str(raw).strip()
    if not text:
        raise ValidationError(_("Mobile phone is required."), code="required")
    # full-width digits and plus sign from Chinese input methods
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF0B: ord("+")})
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    text = _SEPARATORS.sub("", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not _MOBILE.match(text):
        raise ValidationError(
            _("“%(value)s” is not a valid mainland mobile number (11 digits starting with 13–19)."),
            code="invalid_phone",
            params={"value": str(raw).strip()[:30]},
        )
    return text


def mask_phone(phone: str) -> str:
    """138****5678"""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
