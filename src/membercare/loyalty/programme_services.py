"""Writing the loyalty programme: each edit is a new ProgrammeVersion that applies from a stated date.

Reads (the version in force, the history with old -> new) live in programme_selectors.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.org.models import Staff, Store
from membercare.sales.models import Series

from .models import ProgrammeVersion
from .programme import DEFAULT_RULES, PointsPromotion, Programme, parse_programme

DEFAULT_EFFECTIVE_FROM = dt.date(2000, 1, 1)

# whole-number settings and their smallest allowed value
_WHOLE_NUMBERS = {
    "points_per_yuan": 0,
    "window_days": 1,
    "accumulation_valid_days": 1,
    "retention_grace_levels": 0,
    "offline_upload_working_days": 0,
}
_TIER_KEYS = {"code", "rank", "brands", "discount", "single_receipt_by_series", "single_receipt", "rolling_paid",
              "requires", "issue_brand", "birthday", "perks", "points_multiplier", "name", "color", "purchase_days",
              "qualify", "upgrade_points"}


def _whole(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: _("Must be a whole number.")})
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Must be a whole number.")}) from exc
    if number != number.to_integral_value():
        raise ValidationError({field: _("Must be a whole number.")})
    if number < minimum:
        raise ValidationError({field: _("Must be at least %(n)d.") % {"n": minimum}})
    return int(number)


def normalize_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """The complete rules document (defaults filled in), checked beyond what parse_programme checks:
    unknown settings, whole numbers, shares below 1, duplicate cards. Raises ValidationError naming the field."""
    if not isinstance(rules, dict):
        raise ValidationError({"__all__": _("The programme must be a set of named settings.")})
    unknown = sorted(set(rules) - set(DEFAULT_RULES))
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown setting “%(name)s”.") % {"name": unknown[0]}})
    merged = copy.deepcopy(DEFAULT_RULES)
    merged.update(copy.deepcopy(rules))
    for name, minimum in _WHOLE_NUMBERS.items():
        merged[name] = _whole(merged[name], name, minimum)
    if not isinstance(merged["auto_approve_upgrades"], bool):
        raise ValidationError({"auto_approve_upgrades": _("Must be yes or no.")})
    for name in ("point_value", "max_redeem_share"):
        try:
            amount = Decimal(str(merged[name]))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError({name: _("“%(value)s” is not an amount.") % {"value": merged[name]}}) from exc
        if amount < 0:
            raise ValidationError({name: _("Must not be negative.")})
        merged[name] = str(amount)
    if Decimal(merged["max_redeem_share"]) > 1:
        raise ValidationError({"max_redeem_share": _("A share is at most 1 (0.50 = half of the receipt).")})
    referral = merged["referral"]
    if not isinstance(referral, dict) or set(referral) - set(DEFAULT_RULES["referral"]):
        raise ValidationError({"referral": _("Give referrer_points and referred_points.")})
    for name in DEFAULT_RULES["referral"]:
        referral[name] = _whole(referral.get(name, 0), f"referral.{name}", 0)
    tiers = merged["tiers"]
    if not isinstance(tiers, list) or not tiers:
        raise ValidationError({"tiers": _("The programme needs at least one card.")})
    seen = set()
    for i, tier in enumerate(tiers):
        prefix = f"tiers[{i}]"
        if not isinstance(tier, dict):
            raise ValidationError({prefix: _("Each card must be a set of named settings.")})
        extra = sorted(set(tier) - _TIER_KEYS)
        if extra:
            raise ValidationError({f"{prefix}.{extra[0]}": _("Unknown setting “%(name)s”.") % {"name": extra[0]}})
        code = tier.get("code")
        if code in seen:
            raise ValidationError({f"{prefix}.code": _("Card “%(code)s” appears twice.") % {"code": code}})
        seen.add(code)
        tier["rank"] = _whole(tier.get("rank", 1), f"{prefix}.rank", 1)
        bday = tier.get("birthday")
        if bday:
            if not isinstance(bday, dict):
                raise ValidationError({f"{prefix}.birthday": _("Must be a set of named settings.")})
            bday["items"] = _whole(bday.get("items", 0), f"{prefix}.birthday.items", 0)
            if "discount" not in bday:
                raise ValidationError({f"{prefix}.birthday": _("The birthday discount is missing.")})
            extra = sorted(set(bday) - {"items", "discount", "brands", "self_operated_only", "id_number_required"})
            if extra:
                raise ValidationError({f"{prefix}.birthday.{extra[0]}": _("Unknown setting “%(name)s”.") % {
                    "name": extra[0]}})
            for flag, default in (("self_operated_only", True), ("id_number_required", False)):
                bday[flag] = bday.get(flag, default)
                if not isinstance(bday[flag], bool):
                    raise ValidationError({f"{prefix}.birthday.{flag}": _("Must be yes or no.")})
    try:
        programme = parse_programme(merged)
    except ValidationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value of the wrong shape
        raise ValidationError({"__all__": _("The programme is malformed: %(error)s") % {"error": exc}}) from exc
    for tier, parsed in zip(tiers, programme.tiers, strict=True):  # perks as parsed: names trimmed, quotas numbers
        if "perks" in tier:
            tier["perks"] = [{"code": p.code, "name": p.name, "quota": p.quota, "period": p.period}
                             for p in parsed.perks]
        if "points_multiplier" in tier:
            tier["points_multiplier"] = str(parsed.points_multiplier)
        for key in ("name", "color", "purchase_days", "qualify", "upgrade_points"):
            if key in tier:
                tier[key] = getattr(parsed, key)
    merged["accumulation_name"] = programme.accumulation_name
    _levels_order(programme)
    _earning_codes_known(programme)
    merged["series_points_per_yuan"] = {k: str(v) for k, v in programme.series_points_per_yuan.items()}
    merged["accumulation_points_multiplier"] = str(programme.accumulation_points_multiplier)
    merged["points_promotions"] = [_promotion_doc(p) for p in programme.points_promotions]
    # points for events and charity items as parsed (issue 19 part 2)
    merged["earn_events"] = {code: {"points": e.points, "yearly_cap": e.yearly_cap, "valid_days": e.valid_days}
                             for code, e in programme.earn_events.items()}
    merged["charities"] = [{"code": c.code, "name": c.name, "active": c.active} for c in programme.charities]
    return merged


def _levels_order(programme: Programme) -> None:
    """Levels that protect members: two levels of one brand never share a rank, a prerequisite chain ends (no
    cycle), and a higher rank never asks less on every threshold it shares with a lower rank of its brand (its
    single receipt and its rolling amount both lower: the lower level could never be reached in order)."""
    tiers = list(programme.tiers)
    for i, tier in enumerate(tiers):
        for other in tiers[:i]:
            if other.issue_brand == tier.issue_brand and other.rank == tier.rank:
                raise ValidationError({f"tiers[{i}].rank": _(
                    "“%(a)s” and “%(b)s” of the same brand have the same rank %(rank)d: give each level its own "
                    "rank.") % {"a": programme.label(other.code), "b": programme.label(tier.code),
                                "rank": tier.rank}})
        seen, code = {tier.code}, tier.requires
        while code:
            if code in seen:
                raise ValidationError({f"tiers[{i}].requires": _(
                    "The prerequisites of “%(code)s” go round in a circle.") % {"code": programme.label(tier.code)}})
            seen.add(code)
            required = programme.tier(code)
            code = required.requires if required else None
    for i, high in enumerate(tiers):
        for low in tiers:
            if low.issue_brand != high.issue_brand or low.rank >= high.rank:
                continue
            pairs = [(h, lo) for h, lo in ((high.single_receipt, low.single_receipt),
                                           (high.rolling_paid, low.rolling_paid)) if h is not None and lo is not None]
            if pairs and all(h < lo for h, lo in pairs):
                field = "rolling_paid" if high.rolling_paid is not None and low.rolling_paid is not None \
                    else "single_receipt"
                raise ValidationError({f"tiers[{i}].{field}": _(
                    "“%(high)s” ranks above “%(low)s” but asks less: raise its thresholds or lower its rank.") % {
                    "high": programme.label(high.code), "low": programme.label(low.code)}})


def _levels_held(programme: Programme) -> None:
    """A level that active (or to-be-signed) cards hold cannot be removed."""
    from .models import Card, CardStatus

    kept = {"accumulation", *(t.code for t in programme.tiers)}
    held = (Card.objects.filter(status__in=[CardStatus.ACTIVE, CardStatus.PENDING]).exclude(kind__in=kept)
            .values("kind").annotate(n=Count("pk")).order_by("kind"))
    for row in held[:1]:
        raise ValidationError({"tiers": _(
            "Level “%(code)s” cannot be removed: %(n)d active cards hold it.") % {"code": row["kind"], "n": row["n"]}})


def _promotion_doc(promo: PointsPromotion) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": promo.name, "from": promo.start.isoformat(), "to": promo.end.isoformat(),
                           "multiplier": str(promo.multiplier)}
    for key in ("weekdays", "series", "tiers", "stores"):
        if getattr(promo, key):
            doc[key] = list(getattr(promo, key))
    return doc


def _earning_codes_known(programme: Programme) -> None:
    """Series and store codes of the earning rules must exist (the programme's parse checks the cards)."""
    wanted = set(programme.series_points_per_yuan) | {c for p in programme.points_promotions for c in p.series}
    series = set(Series.objects.filter(code__in=wanted).values_list("code", flat=True)) if wanted else set()
    for code in programme.series_points_per_yuan:
        if code not in series:
            raise ValidationError({f"series_points_per_yuan.{code}": _("Unknown series “%(code)s”.") % {
                "code": code}})
    stores = {c for p in programme.points_promotions for c in p.stores}
    known_stores = set(Store.objects.filter(code__in=stores).values_list("code", flat=True)) if stores else set()
    for i, promo in enumerate(programme.points_promotions):
        for key, known in (("series", series), ("stores", known_stores)):
            unknown = [c for c in getattr(promo, key) if c not in known]
            if unknown:
                raise ValidationError({f"points_promotions[{i}].{key}": _("Unknown code “%(code)s”.") % {
                    "code": unknown[0]}})


@transaction.atomic
def programme_update(*, rules: dict[str, Any], effective_from: dt.date, by: Staff | None,
                     note: str = "") -> ProgrammeVersion:
    """Store a new version of the programme that applies from `effective_from` (today or later)."""
    if not isinstance(effective_from, dt.date):
        raise ValidationError({"effective_from": _("Give the date the change applies from.")})
    if effective_from < timezone.localdate():
        raise ValidationError({"effective_from": _("A change cannot apply from a past date.")})
    complete = normalize_rules(rules)
    _levels_held(parse_programme(complete))
    return ProgrammeVersion.objects.create(
        effective_from=effective_from, rules=complete, note=(note or "").strip()[:200], created_by=by,
        created_at=timezone.now(),
    )


@transaction.atomic
def programme_ensure_default() -> ProgrammeVersion:
    """The first version (DOMAIN.md's programme, applying from 2000-01-01) when none is stored yet."""
    existing = ProgrammeVersion.objects.order_by("effective_from", "pk").first()
    if existing is not None:
        return existing
    return ProgrammeVersion.objects.create(
        effective_from=DEFAULT_EFFECTIVE_FROM, rules=copy.deepcopy(DEFAULT_RULES),
        note="", created_by=None, created_at=timezone.now(),
    )
