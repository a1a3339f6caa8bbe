"""The loyalty programme as data: rules, their defaults (DOMAIN.md's programme), versions by date.

A programme is a JSON document stored in ProgrammeVersion. `programme_at(day)` gives the version that
applies on a day, parsed into the dataclasses below; `programme_update` (in services) stores a new version.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.text import has_control

DEFAULT_RULES: dict[str, Any] = {
    "points_per_yuan": 1,
    "window_days": 365,
    "accumulation_valid_days": 365,
    "auto_approve_upgrades": True,
    "retention_grace_levels": 1,
    "points_expiry": "end_of_next_year",
    "point_value": "0.01",
    "max_redeem_share": "0.50",
    "offline_upload_working_days": 3,
    # a member who brings a new member: points to both on the new member's first purchase (events.referrals)
    "referral": {"referrer_points": 200, "referred_points": 100},
    # earning (issue 19): points per yuan by series (overrides points_per_yuan for that series' lines), the
    # accumulation card's multiplier (a tier's own is its points_multiplier), dated promotions (PointsPromotion)
    "series_points_per_yuan": {},
    "accumulation_points_multiplier": "1",
    "points_promotions": [],
    # the accumulation card's display name (issue 19: a chain calls it 普通卡); "" = the translated default
    "accumulation_name": "",
    "tiers": [
        {"code": "elite", "rank": 1, "brands": ["MAIN", "JUEDU"], "discount": "0.15",
         "single_receipt_by_series": {"business": "5000", "leather": "3000", "golf": "3000"},
         "single_receipt": None, "rolling_paid": "8000", "requires": None, "issue_brand": "MAIN",
         "birthday": {"items": 2, "discount": "0.40", "brands": ["MAIN"], "self_operated_only": True,
                      "id_number_required": False},
         "perks": [{"code": "alteration", "name": "免费改衣", "quota": 2, "period": "season"}]},
        {"code": "diamond", "rank": 2, "brands": ["MAIN", "JUEDU"], "discount": "0.20",
         "single_receipt_by_series": {}, "single_receipt": "15000", "rolling_paid": "20000",
         "requires": "elite", "issue_brand": "MAIN",
         "birthday": {"items": 3, "discount": "0.50", "brands": ["MAIN"], "self_operated_only": True,
                      "id_number_required": False},
         # seed 001: 深圳机场绿色通道, 邮寄会刊(限钻石卡), free alterations of the season's goods
         "perks": [{"code": "alteration", "name": "免费改衣", "quota": 4, "period": "season"},
                   {"code": "airport", "name": "机场绿色通道", "quota": 2, "period": "year"},
                   {"code": "magazine", "name": "邮寄会刊", "quota": None, "period": "none"}]},
        # seed 001: the knight card is the sub-brand's, and its holder also has 8.5折 on the main brand's goods
        # (XXXX系列享有8.5折优惠): accepted at both; its birthday privilege stays at the sub-brand's own stores
        {"code": "knight", "rank": 1, "brands": ["JUEDU", "MAIN"], "discount": "0.15",
         "single_receipt_by_series": {}, "single_receipt": "3000", "rolling_paid": "8000", "requires": None,
         "issue_brand": "JUEDU",
         "birthday": {"items": 2, "discount": "0.40", "brands": ["JUEDU"], "self_operated_only": True,
                      "id_number_required": False},
         "perks": [{"code": "alteration", "name": "免费改衣", "quota": 2, "period": "season"}]},
    ],
    # points for events (issue 19 part 2): per event the points (0: off), the most one member earns from it in a
    # calendar year, and how long its points stay valid (valid_days None: the programme's points_expiry). Off
    # until the chain sets the points: existing members do not start earning on the day of an upgrade.
    # "manual": points are the most one manual adjustment may add or take; the cap bounds what manual
    # adjustments add per member and year.
    "earn_events": {
        "survey": {"points": 0, "yearly_cap": 100, "valid_days": None},
        "profile": {"points": 0, "yearly_cap": 200, "valid_days": None},
        "member_date": {"points": 0, "yearly_cap": 500, "valid_days": None},
        # seed 000: points given on the dates the member asked us to remember (纪念日: a wedding, a child's
        # birthday), once per date and year
        "own_date": {"points": 0, "yearly_cap": 500, "valid_days": None},
        "manual": {"points": 5000, "yearly_cap": 20000, "valid_days": None},
    },
    # charity items members may donate points to (ledger kind "donation"); inactive ones take no new donation
    "charities": [],
}


@dataclass(frozen=True)
class Birthday:
    items: int
    discount: Decimal
    brands: tuple[str, ...]
    # seed 001: elite and diamond at the main brand's self-operated counters (自营专柜), knight at the sub-brand's
    # self-operated stores; a rules document without the key means True
    self_operated_only: bool = True
    # seed 001: the birthday receipt carries the member's ID number (checked against the profile); off by default
    # (DOMAIN.md's default programme does not ask for it), the chain turns it on
    id_number_required: bool = False


# a perk's quota applies per calendar month, calendar quarter ("season" is a calendar quarter too: Jan-Mar,
# Apr-Jun, Jul-Sep, Oct-Dec in Asia/Shanghai), calendar year, or for the lifetime of the card ("none")
PERK_PERIODS = ("month", "quarter", "season", "year", "none")
PERK_KEYS = {"code", "name", "quota", "period"}
MAX_PERKS = 20  # perks of one card
MAX_PERK_NAME = 40
MAX_PERK_QUOTA = 999
PERK_CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


@dataclass(frozen=True)
class Perk:
    """A benefit that is not a discount (seed 001: free alterations, the airport fast lane, the magazine by post),
    used at the counter against a quota per period. `quota` None: no limit."""

    code: str
    name: str
    quota: int | None
    period: str  # one of PERK_PERIODS


@dataclass(frozen=True)
class Tier:
    code: str
    rank: int
    brands: tuple[str, ...]  # brands whose stores accept the card
    discount: Decimal  # off full-price items, 0.15 = 8.5折
    single_receipt_by_series: dict[str, Decimal]  # one receipt paying at least this in a series
    single_receipt: Decimal | None  # one receipt paying at least this in total
    rolling_paid: Decimal | None  # paid within the rolling window
    requires: str | None  # the rolling threshold needs this card first (diamond: elite holders)
    issue_brand: str  # brand of the issued card; its stores' sales count
    birthday: Birthday | None
    # a stored tier without the key has no perks (versions saved before perks existed keep what they said)
    perks: tuple[Perk, ...] = ()
    # what a sale with this card earns is multiplied by this (a stored tier without the key: 1)
    points_multiplier: Decimal = Decimal("1")
    # the level's display name ("" for a default code: its translated name) and card face colour (#rrggbb)
    name: str = ""
    color: str = ""
    # frequency rule: distinct local purchase days at the issuing brand's stores in the rolling window (None: none)
    purchase_days: int | None = None
    # "any": one rule met upgrades; "all": every rule the tier has (single receipt, rolling amount, purchase days)
    qualify: str = "any"
    # seed 003 (积分可以升级): a member holding a lower card of the issuing brand may buy this level for this many
    # points (loyalty.points_upgrade); None: not for points
    upgrade_points: int | None = None

    def perk(self, code: str) -> Perk | None:
        return next((p for p in self.perks if p.code == code), None)


MAX_MULTIPLIER = Decimal("10")
MAX_SERIES_RATE = Decimal("100")
MAX_PROMOTIONS = 50
MAX_PROMOTION_NAME = 40
MAX_PROMOTION_CODES = 50  # codes in one promotion's series, tiers or stores
PROMOTION_KEYS = {"name", "from", "to", "weekdays", "multiplier", "series", "tiers", "stores"}
CARD_CODES = ("accumulation", "elite", "diamond", "knight")
# the default codes' names (a stored tier without `name` keeps them) and card face colours
DEFAULT_NAMES = {"accumulation": gettext_lazy("Accumulation card"), "elite": gettext_lazy("Elite card"),
                 "diamond": gettext_lazy("Diamond card"), "knight": gettext_lazy("Knight card")}
DEFAULT_COLORS = {"accumulation": "#4a6fa5", "elite": "#b08d3c", "diamond": "#6d6d8a", "knight": "#8a3c3c"}
OTHER_COLOR = "#1f3a5f"
TIER_CODE = re.compile(r"^[a-z0-9_]{1,20}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_LEVEL_NAME = 20
MAX_PURCHASE_DAYS = 366
QUALIFY_MODES = ("any", "all")


@dataclass(frozen=True)
class PointsPromotion:
    """Extra points as dated programme data (e.g. 会员日双倍积分): on a local date from `start` to `end` (and
    one of `weekdays`, 0 = Monday, when given) the earning of a sale's lines of `series` by cards of `tiers` in
    `stores` (each: empty = all) is multiplied by `multiplier`. Promotions do not stack: a line gets the best one."""

    name: str
    start: dt.date
    end: dt.date
    multiplier: Decimal
    weekdays: tuple[int, ...] = ()
    series: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()

    def applies(self, on: dt.date, *, series: str, tier: str, store: str) -> bool:
        return (self.start <= on <= self.end and (not self.weekdays or on.weekday() in self.weekdays)
                and (not self.series or series in self.series) and (not self.tiers or tier in self.tiers)
                and (not self.stores or store in self.stores))


EARN_EVENTS = ("survey", "profile", "member_date", "own_date", "manual")
EARN_EVENT_KEYS = {"points", "yearly_cap", "valid_days"}
MAX_EVENT_POINTS = 100_000
MAX_VALID_DAYS = 3660
MAX_CHARITIES = 20
MAX_CHARITY_NAME = 40
CHARITY_KEYS = {"code", "name", "active"}


@dataclass(frozen=True)
class EarnEvent:
    """Points for an event that is not a sale: `points` each time (0: off), at most `yearly_cap` per member
    in a calendar year (Asia/Shanghai), valid `valid_days` (None: the programme's points_expiry)."""

    code: str
    points: int
    yearly_cap: int
    valid_days: int | None
    points_expiry: str = "end_of_next_year"

    def expires_on(self, earned: dt.date) -> dt.date | None:
        if self.valid_days is not None:
            return earned + dt.timedelta(days=self.valid_days)
        return _expire_on(self.points_expiry, earned)


@dataclass(frozen=True)
class Charity:
    """A charity item members may donate points to (e.g. 希望工程助学)."""

    code: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class Programme:
    points_per_yuan: int
    window_days: int
    accumulation_valid_days: int
    auto_approve_upgrades: bool
    retention_grace_levels: int
    points_expiry: str  # "end_of_next_year" | "days:N" | "never"
    point_value: Decimal  # yuan per point when redeemed as a cash offset
    max_redeem_share: Decimal  # at most this share of a receipt may be paid with points
    offline_upload_working_days: int
    tiers: tuple[Tier, ...]
    # earning (a stored version without the keys: points_per_yuan for every series, no multiplier, no promotion)
    series_points_per_yuan: dict[str, Decimal] = field(default_factory=dict)
    accumulation_points_multiplier: Decimal = Decimal("1")
    points_promotions: tuple[PointsPromotion, ...] = ()
    # points for events (survey, profile, member_date, manual) and charity items (issue 19 part 2)
    earn_events: dict[str, EarnEvent] = field(default_factory=dict)
    charities: tuple[Charity, ...] = ()

    def earn_event(self, code: str) -> EarnEvent:
        """The rule of an event (a stored version without it: DOMAIN.md's default, i.e. off)."""
        found = self.earn_events.get(code)
        return found if found is not None else _earn_events(DEFAULT_RULES["earn_events"], self)[code]

    def charity(self, code: str) -> Charity | None:
        return next((c for c in self.charities if c.code == code), None)

    accumulation_name: str = ""

    def tier(self, code: str) -> Tier | None:
        return next((t for t in self.tiers if t.code == code), None)

    def label(self, code: str) -> str:
        """A card level's display name: the programme's name, else the default code's translated one, else
        the code (a card of a level since removed)."""
        if code == "accumulation":
            return self.accumulation_name or str(DEFAULT_NAMES["accumulation"])
        tier = self.tier(code)
        if tier is not None and tier.name:
            return tier.name
        return str(DEFAULT_NAMES[code]) if code in DEFAULT_NAMES else (code or "")

    def color(self, code: str) -> str:
        tier = self.tier(code)
        if tier is not None and tier.color:
            return tier.color
        return DEFAULT_COLORS.get(code, OTHER_COLOR)

    def rank(self, code: str) -> int:
        """The level's rank (accumulation and unknown codes: 0, below every tier)."""
        tier = self.tier(code)
        return tier.rank if tier else 0

    def positions(self) -> dict[str, int]:
        """Every level's place, 1 = the accumulation card, higher = better: by rank, and among tiers of equal
        rank the one listed first is the better (the default: accumulation 1, knight 2, elite 3, diamond 4).
        For "the member's best card" where cards of several brands compete."""
        index = {t.code: i for i, t in enumerate(self.tiers)}
        ordered = sorted(self.tiers, key=lambda t: (t.rank, -index[t.code]))
        return {"accumulation": 1, **{t.code: i + 2 for i, t in enumerate(ordered)}}

    def levels(self) -> list[tuple[str, str]]:
        """(code, label) of every level, accumulation first, then by rank (the programme's order among equals)."""
        ordered = sorted(self.tiers, key=lambda t: t.rank)
        return [("accumulation", self.label("accumulation")), *((t.code, self.label(t.code)) for t in ordered)]

    def points_rate(self, series: str) -> Decimal:
        """Points per ¥1 paid on a line of `series`."""
        rate = self.series_points_per_yuan.get(series)
        return Decimal(self.points_per_yuan) if rate is None else rate

    def points_multiplier(self, card_kind: str) -> Decimal:
        """The multiplier of a card's level (the accumulation card's is the programme's; no card: 1)."""
        if card_kind == "accumulation":
            return self.accumulation_points_multiplier
        tier = self.tier(card_kind) if card_kind else None
        return tier.points_multiplier if tier else Decimal("1")

    def best_promotion(self, on: dt.date, *, series: str, tier: str, store: str) -> PointsPromotion | None:
        """The promotion with the highest multiplier that applies to a line (the first listed among equals)."""
        best = None
        for promo in self.points_promotions:
            if promo.applies(on, series=series, tier=tier, store=store) and (
                    best is None or promo.multiplier > best.multiplier):
                best = promo
        return best

    def points_expire_on(self, earned: dt.date) -> dt.date | None:
        return _expire_on(self.points_expiry, earned)


def _expire_on(points_expiry: str, earned: dt.date) -> dt.date | None:
    if points_expiry == "never":
        return None
    if points_expiry.startswith("days:"):
        return earned + dt.timedelta(days=int(points_expiry[5:]))
    return dt.date(earned.year + 1, 12, 31)


def _whole_number(value: Any, field_name: str, low: int, high: int, *, empty_ok: bool = False) -> int | None:
    if empty_ok and value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit() or not (
            low <= int(str(value).strip()) <= high):
        raise ValidationError({field_name: _("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
                               + (_(" Leave it empty for the programme's expiry.") if empty_ok else "")})
    return int(str(value).strip())


def _earn_events(raw: Any, programme_or_expiry: Any) -> dict[str, EarnEvent]:
    """The points for events, checked: each error names its field (earn_events.survey.points…). Events the
    document leaves out keep their defaults."""
    expiry = programme_or_expiry if isinstance(programme_or_expiry, str) else programme_or_expiry.points_expiry
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError({"earn_events": _("The points for events must be a set of named events.")})
    unknown = sorted(str(k)[:20] for k in raw if k not in EARN_EVENTS)
    if unknown:
        raise ValidationError({f"earn_events.{unknown[0]}": _("Unknown event “%(name)s”.") % {"name": unknown[0]}})
    events = {}
    for code in EARN_EVENTS:
        item = raw.get(code, DEFAULT_RULES["earn_events"][code])
        at = f"earn_events.{code}"
        if not isinstance(item, dict):
            raise ValidationError({at: _("Each event must be a set of named settings.")})
        extra = sorted(set(item) - EARN_EVENT_KEYS)
        if extra:
            raise ValidationError({f"{at}.{extra[0]}": _("Unknown setting “%(name)s”.") % {"name": extra[0]}})
        default = DEFAULT_RULES["earn_events"][code]
        points = _whole_number(item.get("points", default["points"]), f"{at}.points", 0, MAX_EVENT_POINTS)
        cap = _whole_number(item.get("yearly_cap", default["yearly_cap"]), f"{at}.yearly_cap", 0, MAX_EVENT_POINTS * 10)
        if code != "manual" and points and cap < points:
            raise ValidationError({f"{at}.yearly_cap": _("The yearly cap is below the points of one event: "
                                                         "nobody could earn them.")})
        valid = _whole_number(item.get("valid_days", default["valid_days"]), f"{at}.valid_days", 1, MAX_VALID_DAYS,
                              empty_ok=True)
        events[code] = EarnEvent(code=code, points=points, yearly_cap=cap, valid_days=valid, points_expiry=expiry)
    return events


def _charities(raw: Any) -> tuple[Charity, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ValidationError({"charities": _("The charity items must be a list.")})
    if len(raw) > MAX_CHARITIES:
        raise ValidationError({"charities": _("At most %(n)d charity items.") % {"n": MAX_CHARITIES}})
    found: list[Charity] = []
    for i, item in enumerate(raw):
        at = f"charities[{i}]"
        if not isinstance(item, dict):
            raise ValidationError({at: _("Each charity item must be a set of named settings.")})
        extra = sorted(set(item) - CHARITY_KEYS)
        if extra:
            raise ValidationError({f"{at}.{extra[0]}": _("Unknown setting “%(name)s”.") % {"name": extra[0]}})
        code = item.get("code")
        if not isinstance(code, str) or not PERK_CODE.match(code):
            raise ValidationError({f"{at}.code": _(
                "A charity item's code is 1 to 30 lowercase letters, digits or _, starting with a letter.")})
        if any(c.code == code for c in found):
            raise ValidationError({f"{at}.code": _("Charity item “%(code)s” appears twice.") % {"code": code}})
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_CHARITY_NAME or has_control(name):
            raise ValidationError({f"{at}.name": _("Name the charity item in 1 to %(n)d characters.") % {
                "n": MAX_CHARITY_NAME}})
        found.append(Charity(code=code, name=name.strip(), active=bool(item.get("active", True))))
    return tuple(found)


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except Exception as exc:
        raise ValidationError({field: _("“%(value)s” is not an amount.") % {"value": value}}) from exc
    if amount < 0:
        raise ValidationError({field: _("Must not be negative.")})
    return amount.quantize(Decimal("0.01"))


def _share(value: Any, field: str) -> Decimal:
    share = _money(value, field)
    if share >= 1:
        raise ValidationError({field: _("A discount is a share below 1 (0.15 means 15 percent off).")})
    return share


def _perks(raw: Any, prefix: str) -> tuple[Perk, ...]:
    """A card's perks, checked: each error names its field (tiers[i].perks[j].name…)."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ValidationError({f"{prefix}.perks": _("The perks must be a list.")})
    if len(raw) > MAX_PERKS:
        raise ValidationError({f"{prefix}.perks": _("At most %(n)d perks on one card.") % {"n": MAX_PERKS}})
    perks: list[Perk] = []
    for j, item in enumerate(raw):
        at = f"{prefix}.perks[{j}]"
        if not isinstance(item, dict):
            raise ValidationError({at: _("Each perk must be a set of named settings.")})
        extra = sorted(set(item) - PERK_KEYS)
        if extra:
            raise ValidationError({f"{at}.{extra[0]}": _("Unknown setting “%(name)s”.") % {"name": extra[0]}})
        code = item.get("code")
        if not isinstance(code, str) or not PERK_CODE.match(code):
            raise ValidationError({f"{at}.code": _(
                "A perk's code is 1 to 30 lowercase letters, digits or _, starting with a letter.")})
        if any(p.code == code for p in perks):
            raise ValidationError({f"{at}.code": _("Perk “%(code)s” appears twice on this card.") % {"code": code}})
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError({f"{at}.name": _("Give the perk's name.")})
        if len(name.strip()) > MAX_PERK_NAME:
            raise ValidationError({f"{at}.name": _("A perk's name has at most %(n)d characters.") % {
                "n": MAX_PERK_NAME}})
        if has_control(name):
            raise ValidationError({f"{at}.name": _("The perk's name contains control characters.")})
        quota = item.get("quota")
        if quota in (None, ""):
            quota = None
        elif (isinstance(quota, bool) or not isinstance(quota, int | str)
              or not str(quota).strip().isdigit() or not 1 <= int(str(quota).strip()) <= MAX_PERK_QUOTA):
            raise ValidationError({f"{at}.quota": _(
                "The quota is a whole number from 1 to %(max)d, or empty for no limit.") % {"max": MAX_PERK_QUOTA}})
        else:
            quota = int(str(quota).strip())
        period = item.get("period", "none")
        if period not in PERK_PERIODS:
            raise ValidationError({f"{at}.period": _("Unknown period “%(value)s”: use month, quarter, season, year "
                                                     "or none.") % {"value": str(period)[:20]}})
        perks.append(Perk(code=code, name=name.strip(), quota=quota, period=period))
    return tuple(perks)


def _multiplier(value: Any, field_name: str, minimum: Decimal = Decimal("0")) -> Decimal:
    """A multiplier from `minimum` to 10 with at most 2 decimal places."""
    if isinstance(value, bool):
        raise ValidationError({field_name: _("“%(value)s” is not a number.") % {"value": value}})
    try:
        number = Decimal(str(value).strip())
    except Exception as exc:
        raise ValidationError({field_name: _("“%(value)s” is not a number.") % {"value": str(value)[:20]}}) from exc
    if not number.is_finite() or number < minimum or number > MAX_MULTIPLIER:
        raise ValidationError({field_name: _("A multiplier is from %(min)s to %(max)s.") % {
            "min": minimum, "max": MAX_MULTIPLIER}})
    if number != number.quantize(Decimal("0.01")):
        raise ValidationError({field_name: _("At most 2 decimal places.")})
    return number.quantize(Decimal("0.01"))


def _series_rates(raw: Any) -> dict[str, Decimal]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"series_points_per_yuan": _("Points per yuan by series must be a set of series codes "
                                                          "and numbers.")})
    rates = {}
    for code, value in raw.items():
        at = f"series_points_per_yuan.{str(code)[:20]}"
        if not isinstance(code, str) or not code.strip() or len(code) > 20:
            raise ValidationError({at: _("Unknown series “%(code)s”.") % {"code": str(code)[:20]}})
        try:
            rate = Decimal(str(value).strip()) if not isinstance(value, bool) else None
        except Exception:
            rate = None
        if rate is None or not rate.is_finite() or not 0 <= rate <= MAX_SERIES_RATE or rate != rate.quantize(
                Decimal("0.01")):
            raise ValidationError({at: _("Points per ¥1 is a number from 0 to %(max)s with at most 2 decimal "
                                         "places.") % {"max": MAX_SERIES_RATE}})
        rates[code] = rate.quantize(Decimal("0.01"))
    return rates


def _date(value: Any, field_name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationError({field_name: _("Give a date as YYYY-MM-DD.")}) from exc


def _codes(raw: Any, field_name: str, known: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list | tuple) or len(raw) > MAX_PROMOTION_CODES:
        raise ValidationError({field_name: _("Give a list of at most %(n)d codes.") % {"n": MAX_PROMOTION_CODES}})
    codes: list[str] = []
    for code in raw:
        if not isinstance(code, str) or not code.strip() or len(code) > 20 or (known is not None
                                                                               and code not in known):
            raise ValidationError({field_name: _("Unknown code “%(code)s”.") % {"code": str(code)[:20]}})
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _promotions(raw: Any, tier_codes: tuple[str, ...]) -> tuple[PointsPromotion, ...]:
    """The points promotions, checked: each error names its field (points_promotions[i].to…)."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ValidationError({"points_promotions": _("The points promotions must be a list.")})
    if len(raw) > MAX_PROMOTIONS:
        raise ValidationError({"points_promotions": _("At most %(n)d points promotions.") % {"n": MAX_PROMOTIONS}})
    promotions = []
    for i, item in enumerate(raw):
        at = f"points_promotions[{i}]"
        if not isinstance(item, dict):
            raise ValidationError({at: _("Each points promotion must be a set of named settings.")})
        extra = sorted(set(item) - PROMOTION_KEYS)
        if extra:
            raise ValidationError({f"{at}.{extra[0]}": _("Unknown setting “%(name)s”.") % {"name": extra[0]}})
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError({f"{at}.name": _("Give the promotion's name.")})
        if len(name.strip()) > MAX_PROMOTION_NAME:
            raise ValidationError({f"{at}.name": _("A promotion's name has at most %(n)d characters.") % {
                "n": MAX_PROMOTION_NAME}})
        if has_control(name):
            raise ValidationError({f"{at}.name": _("The promotion's name contains control characters.")})
        start, end = _date(item.get("from"), f"{at}.from"), _date(item.get("to"), f"{at}.to")
        if end < start:
            raise ValidationError({f"{at}.to": _("The last day is before the first.")})
        weekdays = item.get("weekdays") or []
        if not isinstance(weekdays, list | tuple) or any(
                isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays):
            raise ValidationError({f"{at}.weekdays": _("Weekdays are numbers from 0 (Monday) to 6 (Sunday).")})
        promotions.append(PointsPromotion(
            name=name.strip(), start=start, end=end, weekdays=tuple(sorted(set(weekdays))),
            multiplier=_multiplier(item.get("multiplier"), f"{at}.multiplier", Decimal("1")),
            series=_codes(item.get("series"), f"{at}.series"),
            tiers=_codes(item.get("tiers"), f"{at}.tiers", tier_codes),
            stores=_codes(item.get("stores"), f"{at}.stores")))
    return tuple(promotions)


def parse_programme(rules: dict[str, Any]) -> Programme:
    """Check and convert a rules document; raises ValidationError naming the field."""
    try:
        return _parse_programme(rules)
    except ValidationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError({"rules": _("The programme is malformed: %(error)s") % {"error": exc}}) from exc


def _parse_programme(rules: dict[str, Any]) -> Programme:
    merged = copy.deepcopy(DEFAULT_RULES)
    merged.update(rules or {})
    tiers = []
    codes = set()
    for i, raw in enumerate(merged["tiers"]):
        prefix = f"tiers[{i}]"
        code = raw.get("code")
        if not isinstance(code, str) or not TIER_CODE.match(code) or code == "accumulation":
            raise ValidationError({f"{prefix}.code": _(
                "A level's code is 1 to 20 lowercase letters, digits or _, and not “accumulation”.")})
        if code in codes:
            raise ValidationError({f"{prefix}.code": _("Card “%(code)s” appears twice.") % {"code": code}})
        codes.add(code)
        name = _level_name(raw.get("name"), f"{prefix}.name", required=code not in DEFAULT_NAMES)
        bday = raw.get("birthday")
        tiers.append(Tier(
            code=code, rank=int(raw.get("rank", 1)), brands=tuple(raw.get("brands") or ()),
            discount=_share(raw.get("discount", 0), f"{prefix}.discount"),
            single_receipt_by_series={k: _money(v, f"{prefix}.single_receipt_by_series")
                                      for k, v in (raw.get("single_receipt_by_series") or {}).items()},
            single_receipt=_money(raw["single_receipt"], f"{prefix}.single_receipt")
            if raw.get("single_receipt") not in (None, "") else None,
            rolling_paid=_money(raw["rolling_paid"], f"{prefix}.rolling_paid")
            if raw.get("rolling_paid") not in (None, "") else None,
            requires=raw.get("requires") or None, issue_brand=raw.get("issue_brand") or "MAIN",
            birthday=Birthday(items=int(bday["items"]), discount=_share(bday["discount"], f"{prefix}.birthday"),
                              brands=tuple(bday.get("brands") or ()),
                              self_operated_only=bool(bday.get("self_operated_only", True)),
                              id_number_required=bool(bday.get("id_number_required", False))) if bday else None,
            perks=_perks(raw.get("perks"), prefix),
            points_multiplier=_multiplier(raw.get("points_multiplier", "1"), f"{prefix}.points_multiplier"),
            name=name, color=_color(raw.get("color"), f"{prefix}.color"),
            purchase_days=_purchase_days(raw.get("purchase_days"), f"{prefix}.purchase_days"),
            qualify=_qualify(raw.get("qualify"), f"{prefix}.qualify"),
            upgrade_points=_upgrade_points(raw.get("upgrade_points"), f"{prefix}.upgrade_points"),
        ))
    for i, t in enumerate(tiers):
        if t.requires and t.requires not in codes:
            raise ValidationError({f"tiers[{i}].requires": _("“%(code)s” requires an unknown card.") % {
                "code": t.code}})
    expiry = str(merged["points_expiry"])
    if expiry not in ("end_of_next_year", "never") and not (expiry.startswith("days:") and expiry[5:].isdigit()):
        raise ValidationError({"points_expiry": _("Use end_of_next_year, never or days:N.")})
    return Programme(
        points_per_yuan=int(merged["points_per_yuan"]), window_days=int(merged["window_days"]),
        accumulation_valid_days=int(merged["accumulation_valid_days"]),
        auto_approve_upgrades=bool(merged["auto_approve_upgrades"]),
        retention_grace_levels=int(merged["retention_grace_levels"]), points_expiry=expiry,
        point_value=_money(merged["point_value"], "point_value"),
        max_redeem_share=_money(merged["max_redeem_share"], "max_redeem_share"),
        offline_upload_working_days=int(merged["offline_upload_working_days"]), tiers=tuple(tiers),
        series_points_per_yuan=_series_rates(merged.get("series_points_per_yuan")),
        accumulation_points_multiplier=_multiplier(merged.get("accumulation_points_multiplier", "1"),
                                                   "accumulation_points_multiplier"),
        points_promotions=_promotions(merged.get("points_promotions"),
                                      ("accumulation", *(t.code for t in tiers))),
        accumulation_name=_level_name(merged.get("accumulation_name"), "accumulation_name", required=False),
        earn_events=_earn_events(merged.get("earn_events"), expiry),
        charities=_charities(merged.get("charities")),
    )


def _level_name(value: Any, field_name: str, *, required: bool) -> str:
    """A level's display name: at most 20 characters, no control characters ("" when not required: the
    default code's translated name)."""
    if value in (None, ""):
        if required:
            raise ValidationError({field_name: _("Give the level's name.")})
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field_name: _("Give the level's name.")})
    if has_control(value):
        raise ValidationError({field_name: _("The level's name contains control characters.")})
    if len(value.strip()) > MAX_LEVEL_NAME:
        raise ValidationError({field_name: _("A level's name has at most %(n)d characters.") % {
            "n": MAX_LEVEL_NAME}})
    return value.strip()


def _color(value: Any, field_name: str) -> str:
    """A card face colour as #rrggbb ("" or none: the code's default)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not COLOR.match(value.strip()):
        raise ValidationError({field_name: _("A colour is written #rrggbb, e.g. #b08d3c.")})
    return value.strip().lower()


def _purchase_days(value: Any, field_name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(str(value).strip()) <= (
            MAX_PURCHASE_DAYS):
        raise ValidationError({field_name: _("Purchase days are a whole number from 1 to %(max)d, or empty.") % {
            "max": MAX_PURCHASE_DAYS}})
    return int(str(value).strip())


MAX_UPGRADE_POINTS = 10_000_000


def _upgrade_points(value: Any, field_name: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(str(value).strip()) <= (
            MAX_UPGRADE_POINTS):
        raise ValidationError({field_name: _("The points for an upgrade are a whole number from 1 to %(max)s, or "
                                             "empty (not for points).") % {"max": f"{MAX_UPGRADE_POINTS:,}"}})
    return int(str(value).strip())


def _qualify(value: Any, field_name: str) -> str:
    if value in (None, ""):
        return "any"
    if value not in QUALIFY_MODES:
        raise ValidationError({field_name: _("Use “any” (one rule met upgrades) or “all” (every rule).")})
    return value


def card_label(code: str, programme: Programme | None = None) -> str:
    """A card level's display name in `programme` (the one in force today when not given: one statement)."""
    return (programme or programme_at()).label(code)


def label_cards(cards, programme: Programme | None = None) -> list:
    """The cards (a list) each with `label`, its level's name in `programme` (the one in force when not given:
    one statement for them all)."""
    cards = list(cards)
    if cards:
        programme = programme or programme_at()
        for card in cards:
            card.label = programme.label(card.kind)
    return cards


_PARSED: dict[str, Programme] = {}  # rules document (as stored) -> parsed programme, per process


def programme_text_sql() -> str:
    """SQL for the rules (as text) of the version in force on the day given as its one parameter."""
    from membercare.core.versioned import latest_document_sql

    from .models import ProgrammeVersion

    return latest_document_sql(ProgrammeVersion)


def programme_day_param(day: dt.date):
    from django.db import connections

    from .models import ProgrammeVersion

    return ProgrammeVersion._meta.get_field("effective_from").get_db_prep_value(day, connections["default"])


def programme_from_text(text: str | None) -> Programme:
    """The parsed programme of a rules document as stored (None or "": no version, DOMAIN.md's default).
    A document seen before is not parsed again."""
    text = text or ""
    programme = _PARSED.get(text)
    if programme is None:
        programme = parse_programme(json.loads(text) if text else DEFAULT_RULES)
        if len(_PARSED) >= 16:
            _PARSED.clear()
        _PARSED[text] = programme
    return programme


def programme_at(day: dt.date | None = None) -> Programme:
    """The programme that applies on `day` (today by default); DOMAIN.md's default when none is stored.

    Every call reads the version in force (so a new or edited version applies at once in every process),
    but only as text: a document seen before is not parsed again."""
    from django.db import connections
    from django.utils import timezone

    day = day or timezone.localdate()
    with connections["default"].cursor() as cur:
        cur.execute(programme_text_sql(), [programme_day_param(day)])
        row = cur.fetchone()
    return programme_from_text(row[0] if row else None)
