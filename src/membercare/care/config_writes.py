"""Checking and saving the care settings: every value's type and range, shares, lifecycle days in order, the
reasons' plans; a new version saved."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import require
from membercare.org.models import Staff

from .access import CareError, can_edit_care_settings
from .config import DEFAULTS, care_config, merge
from .models import CareChannel, CareConfig, Festival
from .plans import check_plan

_SHARE_KEYS = {"a_share", "b_share", "high_value_share", "high_loyalty_share", "high_ticket_share",
               "high_freq_share", "low_share", "churn_ratio", "full_price_share", "ratio"}
_FOLLOW_UP_CLASSES = ("A", "B", "C", "D")
_LIFECYCLE_ORDER = ("new_days", "dormant_days", "sleeping_days", "lost_days")
# whole-number settings: (smallest, largest)
_RANGES = {
    "priority": (0, 999), "weekday": (0, 6), "day_of_month": (1, 28), "due_days": (1, 60),
    "from_day": (0, 60), "to_day": (0, 60), "days_before": (0, 60), "visits": (1, 100),
    "min_purchases": (2, 100), "churn_min_baseline_days": (1, 365), "high_loyalty_max_gap_days": (1, 365),
    "grace_days": (0, 60), "catch_up_days": (1, 60), "turnover_days": (1, 366), "from_day_after": (0, 60),
    "to_day_after": (0, 60), "min_points": (1, 1000000),
}
_MAX_PROSPECT_STEPS = 10
_MAX_AMOUNT = Decimal("1000000.00")
_DAYS_RANGE = (1, 3650)


def _path(*parts: str) -> str:
    return ".".join(parts)


def _check_value(path: str, key: str, default: Any, value: Any) -> Any:
    """One setting checked against the type of its default and its range; returns it normalised."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise CareError("not_bool", _("Must be yes or no."), path)
        return value
    if isinstance(default, int):
        if isinstance(value, bool):
            raise CareError("not_whole", _("Must be a whole number."), path)
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_whole", _("Must be a whole number."), path) from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise CareError("not_whole", _("Must be a whole number."), path)
        low, high = _RANGES.get(key, _DAYS_RANGE if key.endswith("days") or key == "days" else (0, 100000))
        if not low <= number <= high:
            raise CareError("out_of_range", _("Must be between %(low)d and %(high)d.") % {"low": low, "high": high},
                            path)
        return int(number)
    if isinstance(default, float):
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_number", _("Must be a number."), path) from exc
        if isinstance(value, bool) or not number.is_finite():
            raise CareError("not_number", _("Must be a number."), path)
        if key in _SHARE_KEYS and not Decimal(0) <= number <= Decimal(1):
            raise CareError("share_range", _("A share is between 0 and 1 (0.20 = 20 percent)."), path)
        return float(number)
    if key == "min_amount":  # yuan, kept as text with 2 places (money is never a float)
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise CareError("not_amount", _("Enter an amount in yuan, e.g. 500.00."), path) from exc
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or not 0 <= amount <= _MAX_AMOUNT:
            raise CareError("not_amount", _("Enter an amount in yuan, e.g. 500.00."), path)
        return f"{amount:.2f}"
    if key == "days_after":  # the prospect follow-ups: days after registering, ascending
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= _MAX_PROSPECT_STEPS:
            raise CareError("days_after", _("Give 1 to %(n)d days, e.g. 3, 7, 14.") % {"n": _MAX_PROSPECT_STEPS},
                            path)
        days = []
        for item in value:
            if isinstance(item, bool) or not str(item).strip().isdigit() or not 1 <= int(str(item)) <= 365:
                raise CareError("days_after", _("Each day is a whole number from 1 to 365."), path)
            days.append(int(str(item)))
        if sorted(set(days)) != days:
            raise CareError("days_after", _("The days must grow, e.g. 3, 7, 14."), path)
        return days
    if isinstance(default, str):
        if key == "channel" and value not in CareChannel.values:
            raise CareError("channel_invalid", _("Choose one of the channels."), path)
        if not isinstance(value, str):
            raise CareError("not_text", _("Must be text."), path)
        return value
    if isinstance(default, list):
        if not isinstance(value, list | tuple):
            raise CareError("not_list", _("Must be a list."), path)
        allowed = _FOLLOW_UP_CLASSES if key == "follow_up" else (_festival_codes() if key == "holidays" else None)
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise CareError("unknown_choice", _("Unknown choice “%(value)s”.") % {"value": unknown[0]}, path)
            return [v for v in allowed if v in value]  # one spelling, in the usual order
        return list(value)
    return value


def _festival_codes() -> list[str]:
    """The care settings' festivals (holiday_greeting.holidays) are the codes of care.Festival (HQ's table)."""
    return list(Festival.objects.order_by("pk").values_list("code", flat=True))


def _check_tree(default: dict, value: Any, prefix: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise CareError("not_settings", _("Must be a set of named settings."), _path(*prefix) or "__all__")
    unknown = sorted(set(value) - set(default))
    if unknown:
        raise CareError("unknown_setting", _("Unknown setting “%(name)s”.") % {"name": unknown[0]},
                        _path(*prefix, unknown[0]))
    out = {}
    for key, base in default.items():
        path = (*prefix, key)
        if key not in value:
            out[key] = base
        elif isinstance(base, dict):
            out[key] = _check_tree(base, value[key], path)
        else:
            out[key] = _check_value(_path(*path), key, base, value[key])
    return out


def care_config_validate(params: dict[str, Any]) -> dict[str, Any]:
    """The whole settings tree (DEFAULTS filled in) with every value checked: types, ranges, shares between 0
    and 1, lifecycle days in order. Raises CareError naming the setting's path (e.g. segments.abc.a_share)."""
    tree = _check_tree(DEFAULTS, params, ())
    life = tree["segments"]["lifecycle"]
    for earlier, later in zip(_LIFECYCLE_ORDER, _LIFECYCLE_ORDER[1:], strict=False):
        if life[earlier] >= life[later]:
            raise CareError("lifecycle_order", _("Days must grow: new < dormant < sleeping < lost."),
                            f"segments.lifecycle.{later}")
    for reason, plan in tree["plans"].items():  # the win-back plans (care.plans)
        for field, message in check_plan(reason, plan):
            raise CareError("plan_invalid", message, f"plans.{reason}.{field}")
    abc = tree["segments"]["abc"]
    if abc["a_share"] + abc["b_share"] > 1:
        raise CareError("abc_shares", _("A and B together cannot be more than all members (1)."),
                        "segments.abc.b_share")
    for code, first, last in (("new_member_callback", "from_day", "to_day"),
                              ("purchase_callback", "from_day_after", "to_day_after")):
        callback = tree["rules"].get(code, {})
        if first in callback and last in callback and callback[first] > callback[last]:
            raise CareError("callback_days", _("The first day must not come after the last day."),
                            f"rules.{code}.{last}")
    return tree


@transaction.atomic
def care_config_save(*, params: dict[str, Any], by: Staff, note: str = "") -> CareConfig:
    """A new version of the care settings (the whole tree), after checking it. The daily job reads the latest."""
    require(can_edit_care_settings(by))
    tree = care_config_validate(merge(care_config(), params))
    if len(note or "") > 200:
        raise CareError("note_too_long", _("Keep the note under 200 characters."), "note")
    return CareConfig.objects.create(params=tree, note=(note or "").strip(), created_by=by,
                                     created_at=timezone.now())
