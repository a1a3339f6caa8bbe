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
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.versioned import latest_merged, merge
from membercare.loyalty.models import CardKind
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


MAX_TIERS = 20  # bonus tiers in one version (the form's table; bounds the work of every top-up)
MAX_AMOUNT = Decimal("99999999.99")  # the largest amount a setting may name (the ledger's columns hold 12 digits)
MAX_CODE_TRIES = 20
MAX_LOCK_MINUTES = 7 * 24 * 60
CARD_LEVELS = tuple(CardKind.values)  # the default programme's card levels (a chain's own come from its programme)
LEVEL_CODE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")  # loyalty.programme's level codes
TIER_KEYS = ("min_amount", "bonus", "tiers", "from", "until")

LABELS = {
    "scope": gettext_lazy("Card scope"),
    "spend_order": gettext_lazy("Spend order"),
    "points_on": gettext_lazy("Points on stored-value payments"),
    "named": gettext_lazy("Named card"),
    "named.max_balance": gettext_lazy("Named card: most it may hold"),
    "named.valid_days": gettext_lazy("Named card: valid for (days)"),
    "anonymous": gettext_lazy("Anonymous card"),
    "anonymous.max_balance": gettext_lazy("Anonymous card: most it may hold"),
    "anonymous.valid_days": gettext_lazy("Anonymous card: valid for (days)"),
    "min_top_up": gettext_lazy("Smallest top-up"),
    "cash_methods": gettext_lazy("Payment methods that count as cash"),
    "non_cash_from": gettext_lazy("No cash from"),
    "real_name_from": gettext_lazy("Real name required from"),
    "bonus_tiers": gettext_lazy("Bonus tiers"),
    "member_code_above": gettext_lazy("Member code asked above"),
    "member_code_tries": gettext_lazy("Wrong member codes before the lock"),
    "member_code_lock_minutes": gettext_lazy("Member code locked for (minutes)"),
    "min_amount": gettext_lazy("top-up of at least"),
    "bonus": gettext_lazy("bonus"),
    "tiers": gettext_lazy("card levels"),
    "from": gettext_lazy("valid from"),
    "until": gettext_lazy("valid until"),
}
_TIER_FIELD = re.compile(r"^bonus_tiers\[(\d+)\](?:\.(\w+))?$")


def field_label(field: str) -> str:
    """The Chinese (user's language) name of a setting's path: "named.max_balance", "bonus_tiers[2].bonus"."""
    match = _TIER_FIELD.match(field)
    if match:
        row = int(match.group(1)) + 1
        if match.group(2):
            return _("Bonus tier %(n)d: %(field)s") % {"n": row, "field": LABELS.get(match.group(2), match.group(2))}
        return _("Bonus tier %(n)d") % {"n": row}
    return str(LABELS.get(field, field))


def refuse(field: str, message: str) -> ValidationError:
    """A refusal naming the field (its path as the key, its name in the message)."""
    return ValidationError({field: _("%(field)s: %(reason)s") % {"field": field_label(field), "reason": message}})


def _money(value: Any, field: str, *, optional: bool = False, positive: bool = True) -> Decimal | None:
    if value in (None, "") and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise refuse(field, _("not an amount."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise refuse(field, _("“%(value)s” is not an amount.") % {"value": str(value)[:20]}) from exc
    if not amount.is_finite() or amount < 0:
        raise refuse(field, _("Must not be negative."))
    if positive and amount == 0:
        raise refuse(field, _("Must be above 0."))
    if amount > MAX_AMOUNT:
        raise refuse(field, _("At most ¥%(n)s.") % {"n": MAX_AMOUNT})
    if amount != amount.quantize(Decimal("0.01")):
        raise refuse(field, _("At most 2 decimal places."))
    return amount.quantize(Decimal("0.01"))


def _whole(value: Any, field: str, minimum: int, maximum: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise refuse(field, _("Must be a whole number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum})
    return value


def _day(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise refuse(field, _("Give a date as YYYY-MM-DD.")) from exc


def _choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise refuse(field, _("Use one of: %(choices)s.") % {"choices": ", ".join(choices)})
    return str(value)


def _codes(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > 50 or not all(
            isinstance(v, str) and 0 < len(v) <= 30 for v in value):
        raise refuse(field, _("Must be a list of codes."))
    return tuple(dict.fromkeys(value))


def _cards(d: dict[str, Any]) -> dict[str, CardRules]:
    cards = {}
    for kind in ("named", "anonymous"):
        raw = d[kind]
        if not isinstance(raw, dict):
            raise refuse(kind, _("Must be a set of named settings."))
        unknown = sorted(set(raw) - set(DEFAULTS[kind]))
        if unknown:
            raise refuse(kind, _("Unknown setting “%(name)s”.") % {"name": unknown[0][:30]})
        cards[kind] = CardRules(max_balance=_money(raw["max_balance"], f"{kind}.max_balance"),
                                valid_days=_whole(raw.get("valid_days"), f"{kind}.valid_days", 1, 36500,
                                                  optional=True))
    named, anonymous = cards["named"], cards["anonymous"]
    if named.max_balance > LEGAL["named_max"]:
        raise refuse("named.max_balance", _(
            "A named card may hold at most ¥%(n)s (the 2012 prepaid-card measures).") % {"n": LEGAL["named_max"]})
    if named.valid_days is not None:
        raise refuse("named.valid_days", _(
            "A named card must not expire (the 2012 prepaid-card measures): leave it empty."))
    if anonymous.max_balance > LEGAL["anonymous_max"]:
        raise refuse("anonymous.max_balance", _(
            "An anonymous card may hold at most ¥%(n)s (the 2012 prepaid-card measures).") % {
            "n": LEGAL["anonymous_max"]})
    if anonymous.valid_days is None or anonymous.valid_days < LEGAL["anonymous_min_days"]:
        raise refuse("anonymous.valid_days", _(
            "An anonymous card is valid for at least %(n)d days, 3 years (the 2012 prepaid-card measures).") % {
            "n": LEGAL["anonymous_min_days"]})
    return cards


def _tiers(raw_tiers: Any, known_levels: tuple[str, ...] | None) -> tuple[BonusTier, ...]:
    if not isinstance(raw_tiers, (list, tuple)):
        raise refuse("bonus_tiers", _("Must be a list of tiers."))
    if len(raw_tiers) > MAX_TIERS:
        raise refuse("bonus_tiers", _("At most %(n)d tiers.") % {"n": MAX_TIERS})
    tiers: list[BonusTier] = []
    for i, raw in enumerate(raw_tiers):
        field = f"bonus_tiers[{i}]"
        if not isinstance(raw, dict):
            raise refuse(field, _("Must be a set of named settings."))
        unknown = sorted(set(raw) - set(TIER_KEYS))
        if unknown:
            raise refuse(field, _("Unknown setting “%(name)s”.") % {"name": unknown[0][:30]})
        if "min_amount" not in raw or "bonus" not in raw:
            raise refuse(field, _("Give the top-up amount and the bonus."))
        levels = _codes(raw.get("tiers") or [], f"{field}.tiers")
        wrong = [level for level in levels if not LEVEL_CODE.match(level)
                 or (known_levels is not None and level not in known_levels)]
        if wrong:
            raise refuse(f"{field}.tiers", _("Unknown card level “%(level)s”.") % {"level": wrong[0]})
        tier = BonusTier(min_amount=_money(raw["min_amount"], f"{field}.min_amount"),
                         bonus=_money(raw["bonus"], f"{field}.bonus"), tiers=levels,
                         start=_day(raw.get("from"), f"{field}.from"), end=_day(raw.get("until"), f"{field}.until"))
        if tier.bonus >= tier.min_amount:
            raise refuse(f"{field}.bonus", _("The bonus must be less than the top-up it rewards (¥%(n)s).") % {
                "n": tier.min_amount})
        if tier.start and tier.end and tier.start > tier.end:
            raise refuse(f"{field}.until", _("The end date is before the start date."))
        # a duplicate: the same threshold for the same levels and period (a campaign's period within an all-year
        # tier is not one: the larger bonus applies while it runs)
        for j, other in enumerate(tiers):
            if (other.min_amount, set(other.tiers), other.start, other.end) == (
                    tier.min_amount, set(tier.tiers), tier.start, tier.end):
                raise refuse(f"{field}.min_amount", _(
                    "Tier %(n)d already rewards a top-up of ¥%(amount)s for the same card levels and period.") % {
                    "n": j + 1, "amount": tier.min_amount})
        tiers.append(tier)
    return tuple(tiers)


def parse_rules(document: dict[str, Any], *, levels: tuple[str, ...] | None = CARD_LEVELS) -> Rules:
    """The rules of a complete document (DEFAULTS merged under it), checked against the law's limits (LEGAL)
    and for sense; a ValidationError keyed by the setting's path ("bonus_tiers[1].bonus") whose message names
    the setting (and the tier's row) in the user's language. `levels`: the card levels a bonus tier may name
    (rules_update passes the programme's; None, for reading a stored version at a sale: any well-formed code —
    a level the programme has since removed simply matches no card)."""
    if not isinstance(document, dict):
        raise ValidationError({"__all__": _("The stored-value rules must be a set of named settings.")})
    unknown = sorted(set(document) - set(DEFAULTS))
    if unknown:
        raise ValidationError({unknown[0]: _("Unknown setting “%(name)s”.") % {"name": unknown[0]}})
    d = merge(DEFAULTS, document)
    try:
        cards = _cards(d)
        rules = Rules(
            scope=_choice(d["scope"], "scope", ("chain", "brand")),
            spend_order=_choice(d["spend_order"], "spend_order", ("proportional", "principal_first", "bonus_first")),
            points_on=_choice(d["points_on"], "points_on", ("principal", "all", "none")),
            named=cards["named"], anonymous=cards["anonymous"],
            min_top_up=_money(d["min_top_up"], "min_top_up"),
            cash_methods=_codes(d["cash_methods"], "cash_methods"),
            non_cash_from=_money(d["non_cash_from"], "non_cash_from", optional=True),
            real_name_from=_money(d["real_name_from"], "real_name_from", optional=True),
            bonus_tiers=_tiers(d["bonus_tiers"], levels),
            member_code_above=_money(d["member_code_above"], "member_code_above", optional=True, positive=False),
            member_code_tries=_whole(d["member_code_tries"], "member_code_tries", 1, MAX_CODE_TRIES),
            member_code_lock_minutes=_whole(d["member_code_lock_minutes"], "member_code_lock_minutes", 1,
                                            MAX_LOCK_MINUTES),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError({"__all__": _("The stored-value rules are malformed: %(error)s") % {
            "error": exc}}) from exc
    if METHOD_CODE in rules.cash_methods:
        raise refuse("cash_methods", _("Stored value is not cash."))
    if rules.min_top_up > rules.named.max_balance:
        raise refuse("min_top_up", _("Must not be above what a named card may hold (¥%(n)s).") % {
            "n": rules.named.max_balance})
    return rules


def rules_document() -> dict[str, Any]:
    """The settings in force as a document: the newest version merged over DEFAULTS."""
    from .models import StoredValueSettings

    return latest_merged(StoredValueSettings, DEFAULTS)


def current_rules() -> Rules:
    return parse_rules(rules_document(), levels=None)


def programme_levels() -> tuple[str, ...]:
    """The card levels of the programme in force (the accumulation card first)."""
    from membercare.loyalty.programme import programme_at

    return ("accumulation", *(t.code for t in programme_at().tiers))


def methods_check(rules: Rules) -> None:
    """The cash methods are payment methods the till knows (read from the database: here, not in parse_rules,
    which the checkout calls on its hot path)."""
    from membercare.sales.models import PaymentMethod

    known = set(PaymentMethod.objects.filter(code__in=rules.cash_methods).values_list("code", flat=True))
    unknown = [code for code in rules.cash_methods if code not in known]
    if unknown:
        raise refuse("cash_methods", _("Unknown payment method “%(code)s”.") % {"code": unknown[0]})


@transaction.atomic
def rules_update(*, by: Staff, changes: dict[str, Any]) -> Rules:
    """HQ stores a new version: the rules in force with `changes` merged in, checked first."""
    from membercare.core.permissions import can_edit_programme, require

    from .models import StoredValueSettings

    require(can_edit_programme(by))
    if not isinstance(changes, dict):
        raise ValidationError({"__all__": _("The stored-value rules must be a set of named settings.")})
    document = merge(rules_document(), copy.deepcopy(changes))
    rules = parse_rules(document, levels=programme_levels())
    methods_check(rules)
    StoredValueSettings.objects.create(params=document, created_by=by, created_at=timezone.now())
    return rules
