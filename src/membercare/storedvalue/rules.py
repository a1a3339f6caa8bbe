"""The stored-value rules as data: DEFAULTS (what a new installation has) merged under the newest version.

The defaults follow China's 单用途商业预付卡管理办法（试行）(MOFCOM order 2012 no. 9), which a chain must check
against its own case (docs/stored-value.md quotes the rules): a named card (记名卡) holds at most ¥5,000 and
has no expiry; an anonymous card (不记名卡) at most ¥1,000 and is valid at least 3 years; a purchase of ¥50,000
or more by a person (¥5,000 by a company) is paid by bank transfer, never in cash, and a large purchase is
registered with the buyer's real name (¥10,000). HQ edits them (`rules_update`).

scope            "chain": one card per member for the whole chain; "brand": one per brand (the store's brand)
spend_order      how a spend takes principal and bonus: "proportional" (in the ratio of the balances),
                 "principal_first" or "bonus_first"
points_on        what part of a stored-value payment earns points: "principal" (the bonus earns none), "all",
                 "none"
named / anonymous  max_balance (principal + bonus after a top-up), valid_days (null: no expiry)
min_top_up       the smallest top-up
cash_methods     the payment methods that are cash
non_cash_from    a top-up of at least this is refused in cash (individual: a member)
real_name_from   a top-up of at least this needs the member's ID number on file
bonus_tiers      [{min_amount, bonus, tiers: [card kinds] (empty: all), from, until (ISO dates or null)}]:
                 the matching tier with the largest bonus applies (充1,000送100)
member_code_above  a spend above this asks for the member's code (null: never)
member_code_tries  wrong codes in a row before the card's code is locked for `member_code_lock_minutes`
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.versioned import latest_merged, merge
from membercare.org.models import Staff

METHOD_CODE = "stored_value"  # the sales.PaymentMethod a stored-value payment names
METHOD_NAME = "储值卡"

DEFAULTS: dict[str, Any] = {
    "scope": "chain",
    "spend_order": "proportional",
    "points_on": "principal",
    "named": {"max_balance": "5000.00", "valid_days": None},
    "anonymous": {"max_balance": "1000.00", "valid_days": 1095},
    "min_top_up": "1.00",
    "cash_methods": ["cash"],
    "non_cash_from": "50000.00",
    "real_name_from": "10000.00",
    "bonus_tiers": [{"min_amount": "1000.00", "bonus": "100.00", "tiers": [], "from": None, "until": None}],
    "member_code_above": "1000.00",
    "member_code_tries": 5,
    "member_code_lock_minutes": 30,
}
LEGAL = {"named_max": Decimal("5000.00"), "anonymous_max": Decimal("1000.00"), "anonymous_min_days": 1095}


@dataclass(frozen=True)
class BonusTier:
    min_amount: Decimal
    bonus: Decimal
    tiers: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None

    def applies(self, amount: Decimal, kinds: set[str], on: dt.date) -> bool:
        return (amount >= self.min_amount and (not self.tiers or bool(kinds & set(self.tiers)))
                and (self.start is None or on >= self.start) and (self.end is None or on <= self.end))


@dataclass(frozen=True)
class CardRules:
    max_balance: Decimal
    valid_days: int | None


@dataclass(frozen=True)
class Rules:
    scope: str
    spend_order: str
    points_on: str
    named: CardRules
    anonymous: CardRules
    min_top_up: Decimal
    cash_methods: tuple[str, ...]
    non_cash_from: Decimal | None
    real_name_from: Decimal | None
    bonus_tiers: tuple[BonusTier, ...]
    member_code_above: Decimal | None
    member_code_tries: int
    member_code_lock_minutes: int

    def bonus_for(self, amount: Decimal, kinds: set[str], on: dt.date) -> Decimal:
        return max((t.bonus for t in self.bonus_tiers if t.applies(amount, kinds, on)), default=Decimal("0.00"))

    def card_rules(self, named: bool) -> CardRules:
        return self.named if named else self.anonymous


def _money(value: Any, field: str, *, optional: bool = False) -> Decimal | None:
    if value in (None, "") and optional:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("“%(value)s” is not an amount.") % {"value": value}}) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: _("Must not be negative.")})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: _("At most 2 decimal places.")})
    return amount.quantize(Decimal("0.01"))


def _whole(value: Any, field: str, minimum: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError({field: _("Must be a whole number of at least %(n)d.") % {"n": minimum}})
    return value


def _day(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({field: _("Give a date as YYYY-MM-DD.")}) from exc


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError({field: _("Use one of: %(choices)s.") % {"choices": ", ".join(choices)}})
    return str(value)


def parse_rules(document: dict[str, Any]) -> Rules:
    """The rules of a complete document (DEFAULTS merged under it); ValidationError naming the field."""
    if not isinstance(document, dict):
        raise ValidationError({"__all__": _("The stored-value rules must be a set of named settings.")})
    unknown = sorted(set(document) - set(DEFAULTS))
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown setting “%(name)s”.") % {"name": unknown[0]}})
    d = merge(DEFAULTS, document)
    try:
        cards = {}
        for kind in ("named", "anonymous"):
            raw = d[kind]
            cards[kind] = CardRules(max_balance=_money(raw["max_balance"], f"{kind}.max_balance"),
                                    valid_days=_whole(raw.get("valid_days"), f"{kind}.valid_days", 1, optional=True))
        tiers = []
        for i, raw in enumerate(d["bonus_tiers"]):
            field = f"bonus_tiers[{i}]"
            tiers.append(BonusTier(min_amount=_money(raw["min_amount"], f"{field}.min_amount"),
                                   bonus=_money(raw["bonus"], f"{field}.bonus"),
                                   tiers=tuple(str(t) for t in raw.get("tiers") or ()),
                                   start=_day(raw.get("from"), f"{field}.from"),
                                   end=_day(raw.get("until"), f"{field}.until")))
        return Rules(
            scope=_choice(d["scope"], "scope", ("chain", "brand")),
            spend_order=_choice(d["spend_order"], "spend_order", ("proportional", "principal_first", "bonus_first")),
            points_on=_choice(d["points_on"], "points_on", ("principal", "all", "none")),
            named=cards["named"], anonymous=cards["anonymous"],
            min_top_up=_money(d["min_top_up"], "min_top_up"),
            cash_methods=tuple(str(m) for m in d["cash_methods"]),
            non_cash_from=_money(d["non_cash_from"], "non_cash_from", optional=True),
            real_name_from=_money(d["real_name_from"], "real_name_from", optional=True),
            bonus_tiers=tuple(tiers),
            member_code_above=_money(d["member_code_above"], "member_code_above", optional=True),
            member_code_tries=_whole(d["member_code_tries"], "member_code_tries", 1),
            member_code_lock_minutes=_whole(d["member_code_lock_minutes"], "member_code_lock_minutes", 1),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError({"__all__": _("The stored-value rules are malformed: %(error)s") % {
            "error": exc}}) from exc


def rules_document() -> dict[str, Any]:
    """The settings in force as a document: the newest version merged over DEFAULTS."""
    from .models import StoredValueSettings

    return latest_merged(StoredValueSettings, DEFAULTS)


def current_rules() -> Rules:
    return parse_rules(rules_document())


@transaction.atomic
def rules_update(*, by: Staff, changes: dict[str, Any]) -> Rules:
    """HQ stores a new version: the rules in force with `changes` merged in, checked first."""
    from membercare.core.permissions import can_edit_programme, require

    from .models import StoredValueSettings

    require(can_edit_programme(by))
    document = merge(rules_document(), copy.deepcopy(changes))
    rules = parse_rules(document)
    StoredValueSettings.objects.create(params=document, created_by=by, created_at=timezone.now())
    return rules
