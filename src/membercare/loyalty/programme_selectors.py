"""Reading the loyalty programme's versions: the one in force, the history, and what each version changed."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ProgrammeVersion
from .programme import DEFAULT_NAMES, DEFAULT_RULES, Programme, programme_at

EARNING_KEYS = ("series_points_per_yuan", "accumulation_points_multiplier", "points_promotions")
# keys a version stored before issue 19's levels lacked (their defaults: not shown as a change)
LEVEL_KEYS = ("accumulation_name",)
Change = tuple[str, Any, Any]  # (field path, old, new); None where a field did not exist

FIELD_LABELS = {
    "points_per_yuan": gettext_lazy("Points per ¥1 paid"),
    "window_days": gettext_lazy("Rolling window (days)"),
    "accumulation_valid_days": gettext_lazy("Accumulation card valid for (days)"),
    "auto_approve_upgrades": gettext_lazy("Upgrades approved automatically"),
    "retention_grace_levels": gettext_lazy("Anniversary retention grace (levels)"),
    "points_expiry": gettext_lazy("Points expire"),
    "point_value": gettext_lazy("Value of one point (¥)"),
    "max_redeem_share": gettext_lazy("Most of a receipt payable with points"),
    "offline_upload_working_days": gettext_lazy("Offline upload deadline (working days)"),
    "rank": gettext_lazy("rank"),
    "brands": gettext_lazy("accepted at brands"),
    "discount": gettext_lazy("full-price discount"),
    "single_receipt_by_series": gettext_lazy("one receipt in series"),
    "single_receipt": gettext_lazy("one receipt in total"),
    "rolling_paid": gettext_lazy("paid within the rolling window"),
    "requires": gettext_lazy("rolling threshold needs card"),
    "issue_brand": gettext_lazy("issuing brand"),
    "birthday": gettext_lazy("birthday privilege"),
    "items": gettext_lazy("items"),
    "self_operated_only": gettext_lazy("self-operated stores only"),
    "id_number_required": gettext_lazy("ID number on the receipt"),
    "perks": gettext_lazy("Perks"),
    "name": gettext_lazy("name"),
    "quota": gettext_lazy("quota"),
    "period": gettext_lazy("period"),
    "points_multiplier": gettext_lazy("points multiplier"),
    "series_points_per_yuan": gettext_lazy("Points per ¥1 paid by series"),
    "accumulation_points_multiplier": gettext_lazy("Accumulation card: points multiplier"),
    "points_promotions": gettext_lazy("Points promotions"),
    "color": gettext_lazy("card colour"),
    "purchase_days": gettext_lazy("purchase days within the rolling window"),
    "qualify": gettext_lazy("rules to meet"),
    "upgrade_points": gettext_lazy("points to buy the level"),
    "accumulation_name": gettext_lazy("Accumulation card: name"),
    # points for events and charity items (issue 19 part 2)
    "earn_events": gettext_lazy("Points for events"),
    "survey": gettext_lazy("Survey answered"),
    "profile": gettext_lazy("Profile completed"),
    "member_date": gettext_lazy("Membership anniversary"),
    "own_date": gettext_lazy("Member's own dates"),
    "manual": gettext_lazy("Manual adjustments"),
    "points": gettext_lazy("points"),
    "yearly_cap": gettext_lazy("yearly cap per member"),
    "valid_days": gettext_lazy("valid for (days)"),
    "charities": gettext_lazy("Charity items"),
}


def version_in_force(on: dt.date | None = None) -> ProgrammeVersion | None:
    on = on or timezone.localdate()
    return ProgrammeVersion.objects.filter(effective_from__lte=on).order_by("-effective_from", "-pk").first()


def birthday_id_number_asked(on: dt.date | None = None) -> bool:
    """Does any card's birthday privilege ask for the member's ID number on `on` (today by default)? The counter
    shows the field only then."""
    return any(t.birthday and t.birthday.id_number_required for t in programme_at(on or timezone.localdate()).tiers)


def latest_version() -> ProgrammeVersion | None:
    """The version that applies last (possibly scheduled for a future date): the base for the next edit."""
    return ProgrammeVersion.objects.order_by("-effective_from", "-pk").first()


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = None
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "code" in v for v in value):
        for item in value:  # cards are keyed by their code, not their position
            rest = {k: v for k, v in item.items() if k != "code"}
            _flatten(rest, f"{prefix}.{item['code']}", out)
    else:
        out[prefix] = value


def flatten_rules(rules: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _flatten(rules, "", out)
    return out


def _same(old: Any, new: Any) -> bool:
    if old == new:
        return True
    if isinstance(old, bool) or isinstance(new, bool) or old is None or new is None:
        return False
    try:
        return Decimal(str(old)) == Decimal(str(new))
    except (InvalidOperation, ValueError):
        return False


def diff_rules(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before, after = flatten_rules(old), flatten_rules(new)
    keys = list(before) + [k for k in after if k not in before]
    return [(k, before.get(k), after.get(k)) for k in keys if not _same(before.get(k), after.get(k))]


def previous_version(version: ProgrammeVersion) -> ProgrammeVersion | None:
    """The version this one replaces on its date: the one just before it in (applies from, stored) order."""
    return (ProgrammeVersion.objects
            .filter(effective_from__lte=version.effective_from)
            .exclude(effective_from=version.effective_from, pk__gte=version.pk)
            .order_by("-effective_from", "-pk").first())


def _first_base(rules: dict[str, Any]) -> dict[str, Any]:
    """DOMAIN.md's default as the first version's "before", without the perks of a card the version stored
    without the key (a version saved before perks existed did not remove them)."""
    base = copy.deepcopy(DEFAULT_RULES)
    without = {t.get("code") for t in rules.get("tiers") or [] if isinstance(t, dict) and "perks" not in t}
    for tier in base["tiers"]:
        if tier["code"] in without:
            del tier["perks"]
    return base


def programme_changes(version: ProgrammeVersion) -> list[Change]:
    """What `version` changed against the version before it (DOMAIN.md's default for the first)."""
    before = previous_version(version)
    old = before.rules if before else _first_base(version.rules)
    # a version stored before the earning rules existed earned as their defaults: not shown as a change
    old = {**{k: DEFAULT_RULES[k] for k in (*EARNING_KEYS, *LEVEL_KEYS)}, **old}
    return diff_rules(old, version.rules)


@dataclass
class HistoryEntry:
    version: ProgrammeVersion
    changes: list[Change]
    status: str  # "in_force" | "scheduled" | "past"


def programme_history() -> list[HistoryEntry]:
    """Every version, the latest-applying first, each with its changes (one query)."""
    versions = list(ProgrammeVersion.objects.select_related("created_by").order_by("effective_from", "pk"))
    current = version_in_force()
    today = timezone.localdate()
    entries = []
    previous_rules = None
    for version in versions:
        if current is not None and version.pk == current.pk:
            status = "in_force"
        elif version.effective_from > today:
            status = "scheduled"
        else:
            status = "past"
        entries.append(HistoryEntry(version, diff_rules(previous_rules if previous_rules is not None
                                                        else _first_base(version.rules), version.rules), status))
        previous_rules = version.rules
    return entries[::-1]


# ------------------------------------------------------------------------------------------ display


def zhe(discount: Any) -> str:
    """0.15 -> '8.5' (as in 8.5折)."""
    value = (Decimal("10") * (1 - Decimal(str(discount)))).normalize()
    return format(value, "f")


def change_label(path: str, programme: Programme | None = None) -> str:
    parts = path.split(".")
    if parts[0] == "tiers" and len(parts) >= 3:
        code = parts[1]
        card = programme.label(code) if programme else str(DEFAULT_NAMES.get(code, code))
        rest = parts[2:]
        if rest[0] == "single_receipt_by_series" and len(rest) > 1:
            return f"{card} · {FIELD_LABELS['single_receipt_by_series']} {rest[1]}"
        return f"{card} · " + " · ".join(str(FIELD_LABELS.get(p, p)) for p in rest)
    return " · ".join(str(FIELD_LABELS.get(p, p)) for p in parts)


def change_value(path: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if path.endswith(".discount"):
        try:
            return _("%(zhe)s折 (%(pct)s%% off)") % {
                "zhe": zhe(value), "pct": format((Decimal(str(value)) * 100).normalize(), "f")}
        except (InvalidOperation, ValueError):
            return str(value)
    return str(value)


def describe_changes(changes: list[Change]) -> list[tuple[str, str, str]]:
    programme = programme_at() if changes else None
    return [(change_label(p, programme), change_value(p, old), change_value(p, new)) for p, old, new in changes]
