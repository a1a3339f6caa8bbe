"""The conditions an audience is built from, and the registry higher apps add theirs to.

A condition type declares its parameters (their kind and bounds, for validation and for the builder page) and
how it becomes a filter on Member: a Q compiled to SQL by the ORM (EXISTS / IN subqueries on indexed tables,
never a Python loop over members). `register_condition` lets an app above audiences add one (prediction: the
prediction bands; service: an open complaint) from its AppConfig.ready.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Context:
    """What a definition is evaluated against: today's date (Asia/Shanghai)."""

    today: dt.date

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=TZ)


@dataclass(frozen=True)
class Param:
    """One parameter of a condition. kind: "multi" (several of `choices`), "choice" (one of them), "int" or
    "decimal" (a number from `min` to `max`). An optional parameter may be left empty."""

    name: str
    label: Promise | str
    kind: str
    choices: Callable[[], list[tuple[str, str]]] | None = None
    min: int | Decimal | None = None
    max: int | Decimal | None = None
    required: bool = True
    default: Any = None
    max_items: int = 200


@dataclass(frozen=True)
class ConditionType:
    code: str
    label: Promise | str
    group: Promise | str  # the builder's heading it is listed under
    params: tuple[Param, ...]
    build: Callable[[dict, Context], Q]
    check: Callable[[dict], str | None] | None = None  # across parameters (e.g. min <= max): a message or None
    order: int = 100
    help: Promise | str = field(default="")


CONDITIONS: dict[str, ConditionType] = {}


def register_condition(condition: ConditionType) -> None:
    """Add (or replace) a condition type; apps above audiences call it from AppConfig.ready."""
    CONDITIONS[condition.code] = condition


# ------------------------------------------------------------------------------------------------ helpers

G_PROFILE, G_SPEND, G_SEGMENT, G_CONTACT = _("Member profile"), _("Purchases"), _("Segments"), _("Contact")


def _range_check(low: str, high: str) -> Callable[[dict], str | None]:
    def check(params: dict) -> str | None:
        if params.get(low) is None and params.get(high) is None:
            return str(_("Give at least one of the two bounds."))
        if params.get(low) is not None and params.get(high) is not None and params[low] > params[high]:
            return str(_("The lower bound is above the upper bound."))
        return None
    return check


def _in_range(low, high, value) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _window_param() -> Param:
    return Param("window", _("Window (days)"), "int", min=1, max=3650, default=365)


def _yes_no() -> list[tuple[str, str]]:
    return [("yes", str(_("Yes"))), ("no", str(_("No")))]


# ------------------------------------------------------------------------------------------ card level

def levels() -> list[tuple[str, str, int]]:
    """The card levels in order, lowest first: (code, label, rank), from loyalty's programme (the accumulation
    card at rank 0, then the programme's tiers by rank): a tier the chain adds is a level here at once."""
    from membercare.loyalty.programme import programme_at

    programme = programme_at()
    out = [("accumulation", programme.label("accumulation"), 0)]
    for tier in sorted(programme.tiers, key=lambda t: (t.rank, t.code)):
        out.append((tier.code, programme.label(tier.code), tier.rank))
    return out


def _level_choices() -> list[tuple[str, str]]:
    return [(code, label) for code, label, _rank in levels()]


def _level_q(params: dict, ctx: Context) -> Q:
    from membercare.loyalty.models import Card, CardStatus

    ranks = {code: rank for code, _label, rank in levels()}
    rank = ranks[params["level"]]
    valid = (Card.objects.filter(member=OuterRef("pk"), status=CardStatus.ACTIVE)
             .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=ctx.today)))
    if params["op"] == "at_least":
        return Q(Exists(valid.filter(kind__in=[c for c, r in ranks.items() if r >= rank])))
    # exactly: a valid card of the rank with no valid card above it, as ONE (NOT) EXISTS: excluded, it is a
    # single anti-join (an "EXISTS ... AND NOT EXISTS ..." pair negated is an OR, run member by member)
    above = (Card.objects.filter(member_id=OuterRef("member_id"), status=CardStatus.ACTIVE,
                                 kind__in=[c for c, r in ranks.items() if r > rank])
             .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=ctx.today)))
    return Q(Exists(valid.filter(kind__in=[c for c, r in ranks.items() if r == rank]).filter(~Exists(above))))


# --------------------------------------------------------------------------------------------- segments

def _segment_conditions() -> list[ConditionType]:
    from membercare.care.models import SEVEN_SEGMENTS, MemberSegments, SegmentFields

    out = []
    for order, name in enumerate(("lifecycle", "spend_class", "pyramid", "follow_up")):
        model_field = SegmentFields._meta.get_field(name)
        choices = model_field.choices

        def build(params: dict, ctx: Context, name=name) -> Q:
            return Q(Exists(MemberSegments.objects.filter(member=OuterRef("pk"), **{f"{name}__in": params["values"]})))

        out.append(ConditionType(
            f"segment_{name}", model_field.verbose_name, G_SEGMENT,
            (Param("values", _("any of"), "multi", choices=lambda c=choices: [(v, str(lab)) for v, lab in c]),),
            build, order=30 + order))

    def flags(params: dict, ctx: Context) -> Q:
        any_flag = Q()
        for code in params["values"]:
            any_flag |= Q(**{code: True})
        return Q(Exists(MemberSegments.objects.filter(any_flag, member=OuterRef("pk"))))

    out.append(ConditionType(
        "segment_flag", _("Seed 004 segment"), G_SEGMENT,
        (Param("values", _("any of"), "multi", choices=lambda: [(c, str(lab)) for c, lab in SEVEN_SEGMENTS]),),
        flags, order=29))
    return out


# ---------------------------------------------------------------------------------------------- birthday

def month_choices() -> list[tuple[str, str]]:
    from django.utils.translation import gettext

    return [("this", gettext("this month")), ("next", gettext("next month"))] + [
        (str(m), gettext("month %(month)d") % {"month": m}) for m in range(1, 13)]


def target_months(values: list[str], today: dt.date) -> set[tuple[int, int]]:
    """(year, month) for each chosen month: this or next month, or a month number in its next occurrence
    (this year when it has not passed, else next year)."""
    out = set()
    for value in values:
        if value == "this":
            out.add((today.year, today.month))
        elif value == "next":
            out.add((today.year + today.month // 12, today.month % 12 + 1))
        else:
            m = int(value)
            out.add((today.year if m >= today.month else today.year + 1, m))
    return out


class _Lunar:
    def __init__(self, month: int, day: int, leap: bool):
        self.lunar_birthday_month, self.lunar_birthday_day, self.lunar_birthday_leap = month, day, leap


@lru_cache(maxsize=64)
def lunar_birthdays_in(year: int, month: int) -> frozenset[tuple[int, int, bool]]:
    """Every lunar birthday (month, day, leap) whose birthday month, as loyalty.birthday counts it (the lunar
    birthday in the lunar year `year` or `year - 1`, in solar dates), is the solar month (year, month)."""
    from membercare.members.validation import lunar_birthday_in_year

    found = set()
    for lm in range(1, 13):
        for ld in range(1, 31):
            for leap in (False, True):
                who = _Lunar(lm, ld, leap)
                for y in (year, year - 1):
                    solar = lunar_birthday_in_year(who, y)
                    if solar and (solar.year, solar.month) == (year, month):
                        found.add((lm, ld, leap))
    return frozenset(found)


def _birthday_q(params: dict, ctx: Context) -> Q:
    lunar = Q(celebrates_lunar=True, lunar_birthday_month__isnull=False)
    out = Q(pk__in=[])
    for year, month in sorted(target_months(params["months"], ctx.today)):
        out |= ~lunar & Q(birthday__month=month)
        groups: dict[tuple[int, bool], list[int]] = {}
        for lm, ld, leap in lunar_birthdays_in(year, month):
            groups.setdefault((lm, leap), []).append(ld)
        for (lm, leap), days in sorted(groups.items()):
            out |= lunar & Q(lunar_birthday_month=lm, lunar_birthday_leap=leap, lunar_birthday_day__in=sorted(days))
    return out


# ------------------------------------------------------------------------------------------ gender, age

def _gender_choices() -> list[tuple[str, str]]:
    from membercare.members.models import Gender

    return [(v, str(lab)) for v, lab in Gender.choices]


def years_before(day: dt.date, years: int) -> dt.date:
    """The same day `years` years earlier (28 February for 29 February in a common year)."""
    year = day.year - years
    return dt.date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def _age_q(params: dict, ctx: Context) -> Q:
    q = Q()
    if params.get("min") is not None:  # age >= min: born on or before the day min years ago
        q &= Q(birthday__lte=years_before(ctx.today, params["min"]))
    if params.get("max") is not None:  # age <= max: born after the day max + 1 years ago
        q &= Q(birthday__gt=years_before(ctx.today, params["max"] + 1))
    return q


# --------------------------------------------------------------------------------------------- purchases

def _window_start(params: dict, ctx: Context) -> dt.date:
    return ctx.today - dt.timedelta(days=params["window"] - 1)


def _days_in_window(params: dict, ctx: Context):
    from membercare.care.models import PurchaseDay

    return PurchaseDay.objects.filter(day__gte=_window_start(params, ctx), day__lte=ctx.today)


def _stats_window(ctx: Context) -> int | None:
    """The window (days) of care's per-member statistics (care_purchasestats: 12-month purchase days and spend,
    last purchase day) when they hold exactly what the purchase days would give for `ctx.today`: made for that
    day, from the purchase days as they are (no receipt folded into them since). None: they do not (the care
    job has not run today yet, or a later refresh moved the purchase days on): read the purchase days."""
    from membercare.care.models import CareCursor
    from membercare.care.purchase_days import CURSOR, STATS_CURSOR, STATS_SOURCE_CURSOR

    cursors = {c.name: c for c in CareCursor.objects.filter(name__in=[CURSOR, STATS_CURSOR, STATS_SOURCE_CURSOR])}
    stats, days, source = cursors.get(STATS_CURSOR), cursors.get(CURSOR), cursors.get(STATS_SOURCE_CURSOR)
    if (stats is None or days is None or source is None or stats.value != ctx.today.toordinal()
            or source.value != days.value):
        return None
    window = next((part[4:] for part in stats.key.split() if part.startswith("12m=")), "")
    return int(window) if window.isdigit() else None


def _aggregate_range_q(params: dict, ctx: Context, *, aggregate, scale) -> Q:
    """Members whose aggregate over their purchase days in the window is in [min, max]; a member without a
    purchase day there has 0, so matches when 0 is in the range.

    Where the care job's statistics hold this window as of today (_stats_window: the default 365 days, after
    the nightly job) they are read (one row per member) instead of aggregating the window's purchase days
    (millions of rows on a large chain: bench/bench_audience.py); the two give the same members (tested)."""
    from django.db.models import Count

    low = None if params.get("min") is None else params["min"] * scale
    high = None if params.get("max") is None else params["max"] * scale
    bounds = Q()
    if params["window"] == _stats_window(ctx):
        column = "purchase_stats__cents_12m" if aggregate == "sum" else "purchase_stats__days_12m"
        if low is not None:
            bounds &= Q(**{f"{column}__gte": low})
        if high is not None:
            bounds &= Q(**{f"{column}__lte": high})
        # the member's one statistics row, LEFT JOINed: one pass over both tables whatever AND/OR/NOT the
        # condition sits in (a correlated EXISTS under an OR probed the index once per member; an IN under a
        # NOT needs its ids hashed in work_mem, or runs once per member)
        q = Q(purchase_stats__days_12m__gt=0) & bounds
        if _in_range(low, high, 0):
            q |= Q(purchase_stats__isnull=True) | Q(purchase_stats__days_12m=0)
        return q
    rows = _days_in_window(params, ctx).values("member_id").annotate(
        total=Sum("paid_cents") if aggregate == "sum" else Count("*"))
    if low is not None:
        bounds &= Q(total__gte=low)
    if high is not None:
        bounds &= Q(total__lte=high)
    q = Q(pk__in=rows.filter(bounds).values("member_id"))
    if _in_range(low, high, 0):
        q |= ~Q(Exists(_days_in_window(params, ctx).filter(member=OuterRef("pk"))))
    return q


def _spend_q(params: dict, ctx: Context) -> Q:
    return _aggregate_range_q(params, ctx, aggregate="sum", scale=100)


def _purchase_days_q(params: dict, ctx: Context) -> Q:
    return _aggregate_range_q(params, ctx, aggregate="count", scale=1)


def _last_purchase_q(params: dict, ctx: Context) -> Q:
    """The last purchase day between `min` and `max` days ago (a member who never bought does not match); from
    the care job's statistics (last_day, one row per member) where they are as of today (_stats_window)."""
    from membercare.care.models import PurchaseDay

    newest = ctx.today - dt.timedelta(days=params["min"] or 0)
    oldest = None if params.get("max") is None else ctx.today - dt.timedelta(days=params["max"])
    if _stats_window(ctx) is not None:
        return Q(purchase_stats__last_day__lte=newest) & (
            Q() if oldest is None else Q(purchase_stats__last_day__gte=oldest))
    days = PurchaseDay.objects.filter(member=OuterRef("pk"), day__lte=ctx.today)
    q = ~Q(Exists(days.filter(day__gt=newest)))
    if oldest is not None:
        return q & Q(Exists(days.filter(day__gte=oldest, day__lte=newest)))
    return q & Q(Exists(days.filter(day__lte=newest)))


def _points_expiring_q(params: dict, ctx: Context) -> Q:
    """At least `min` points of open lots (loyalty's FIFO lots, points remaining) expire from today to `days`
    days ahead (the partial index on expires_on makes it a range read)."""
    from membercare.loyalty.models import PointsEntry

    lots = PointsEntry.objects.filter(remaining__gt=0, expires_on__gte=ctx.today,
                                      expires_on__lte=ctx.today + dt.timedelta(days=params["days"]))
    if (params.get("min") or 1) <= 1:
        return Q(Exists(lots.filter(member=OuterRef("pk"))))
    members = lots.values("member_id").annotate(total=Sum("remaining")).filter(
        total__gte=params["min"]).values("member_id")
    return Q(pk__in=members)


def _series_choices() -> list[tuple[str, str]]:
    from membercare.sales.models import Series

    return [(str(pk), name) for pk, name in Series.objects.order_by("code").values_list("pk", "name")]


def _series_q(params: dict, ctx: Context) -> Q:
    """Bought a product of one of the series in the window: a day of care's series purchase days (the sale
    lines of the series that day, net of their returns, leave a positive quantity), kept by the purchase-day
    refresh: an index range per series, not the window's receipts joined with their lines."""
    from membercare.care.models import SeriesPurchaseDay

    return Q(Exists(SeriesPurchaseDay.objects.filter(
        member=OuterRef("pk"), series_id__in=[int(v) for v in params["values"]],
        day__gte=_window_start(params, ctx), day__lte=ctx.today)))


# ------------------------------------------------------------------------------------- store and people

def _store_choices() -> list[tuple[str, str]]:
    from membercare.org.models import Store

    return [(str(pk), f"{name}") for pk, name in Store.objects.order_by("code").values_list("pk", "name")]


def _region_choices() -> list[tuple[str, str]]:
    from membercare.org.models import Region

    return [(str(pk), name) for pk, name in Region.objects.order_by("code").values_list("pk", "name")]


def _owner_choices() -> list[tuple[str, str]]:
    from membercare.org.models import Role, Staff

    rows = (Staff.objects.filter(is_active=True, role__in=[Role.CLERK, Role.MANAGER]).order_by("username")
            .values_list("pk", "display_name", "username"))
    return [(str(pk), display or username) for pk, display, username in rows]


def _tag_choices() -> list[tuple[str, str]]:
    from membercare.members.models import Tag

    return [(str(pk), name) for pk, name in Tag.objects.order_by("name").values_list("pk", "name")[:2000]]


def _tags_q(params: dict, ctx: Context) -> Q:
    from membercare.members.models import Member

    through = Member.tags.through
    return Q(Exists(through.objects.filter(member_id=OuterRef("pk"), tag_id__in=[int(v) for v in params["values"]])))


CONSENT_FIELDS = {"phone": "consent_phone", "sms": "consent_sms", "email": "consent_email",
                  "wechat": "consent_wechat"}


def _channel_choices() -> list[tuple[str, str]]:
    from membercare.members.models import Channel

    return [(v, str(lab)) for v, lab in Channel.choices]


def _consent_q(params: dict, ctx: Context) -> Q:
    return Q(**{CONSENT_FIELDS[params["channel"]]: params["given"] == "yes"})


def _not_contacted_q(params: dict, ctx: Context) -> Q:
    """No contact logged (care's contact log) on the day `days` days ago or after."""
    from membercare.care.models import Contact

    since = ctx.day_start(ctx.today - dt.timedelta(days=params["days"]))
    return ~Q(Exists(Contact.objects.filter(member=OuterRef("pk"), at__gte=since)))


# ---------------------------------------------------------------------------------------------- built-in

def _builtins() -> list[ConditionType]:
    return [
        ConditionType("level", _("Card level"), G_PROFILE, (
            Param("op", _("comparison"), "choice", choices=lambda: [("at_least", str(_("at least"))),
                                                                    ("exactly", str(_("exactly")))],
                  default="at_least"),
            Param("level", _("level"), "choice", choices=_level_choices)), _level_q, order=1),
        ConditionType("birthday_month", _("Birthday month"), G_PROFILE, (
            Param("months", _("months"), "multi", choices=month_choices),),
            _birthday_q, order=2,
            help=_("The solar month, or for a member who celebrates the lunar birthday the month it falls in.")),
        ConditionType("gender", _("Gender"), G_PROFILE,
                      (Param("values", _("any of"), "multi", choices=_gender_choices),),
                      lambda p, c: Q(gender__in=p["values"]), order=3),
        ConditionType("age", _("Age"), G_PROFILE, (
            Param("min", _("from (years)"), "int", min=0, max=120, required=False),
            Param("max", _("to (years)"), "int", min=0, max=120, required=False)), _age_q,
            check=_range_check("min", "max"), order=4),
        ConditionType("store", _("Registration store"), G_PROFILE,
                      (Param("values", _("any of"), "multi", choices=_store_choices, max_items=500),),
                      lambda p, c: Q(home_store_id__in=[int(v) for v in p["values"]]), order=5),
        ConditionType("region", _("Region"), G_PROFILE,
                      (Param("values", _("any of"), "multi", choices=_region_choices),),
                      lambda p, c: Q(home_store__region_id__in=[int(v) for v in p["values"]]), order=6),
        ConditionType("owner", _("Relationship owner"), G_PROFILE,
                      (Param("values", _("any of"), "multi", choices=_owner_choices, max_items=500),),
                      lambda p, c: Q(owner_id__in=[int(v) for v in p["values"]]), order=7),
        ConditionType("tags", _("Tags"), G_PROFILE,
                      (Param("values", _("any of"), "multi", choices=_tag_choices),), _tags_q, order=8),
        ConditionType("spend", _("Spend in a window"), G_SPEND, (
            _window_param(),
            Param("min", _("from (yuan)"), "decimal", min=Decimal("0"), max=Decimal("100000000"), required=False),
            Param("max", _("to (yuan)"), "decimal", min=Decimal("0"), max=Decimal("100000000"), required=False)),
            _spend_q, check=_range_check("min", "max"), order=10),
        ConditionType("purchase_days", _("Purchase days in a window"), G_SPEND, (
            _window_param(),
            Param("min", _("from (days)"), "int", min=0, max=3650, required=False),
            Param("max", _("to (days)"), "int", min=0, max=3650, required=False)),
            _purchase_days_q, check=_range_check("min", "max"), order=11),
        ConditionType("last_purchase", _("Last purchase"), G_SPEND, (
            Param("min", _("at least (days ago)"), "int", min=0, max=3650, required=False, default=0),
            Param("max", _("at most (days ago)"), "int", min=0, max=3650, required=False)),
            _last_purchase_q, check=_range_check("min", "max"), order=12),
        ConditionType("series", _("Series bought"), G_SPEND, (
            Param("values", _("any of"), "multi", choices=_series_choices), _window_param()), _series_q, order=13),
        ConditionType("points_expiring", _("Points about to expire"), G_SPEND, (
            Param("days", _("within (days)"), "int", min=1, max=366, default=30),
            Param("min", _("at least (points)"), "int", min=1, max=100000000, required=False, default=100)),
            _points_expiring_q, order=14,
            help=_("Points of the member's lots that expire from today to the given day: e.g. the year-end "
                   "reminder by SMS to everyone the care tasks do not reach.")),
        ConditionType("consent", _("Marketing consent"), G_CONTACT, (
            Param("channel", _("channel"), "choice", choices=_channel_choices, default="sms"),
            Param("given", _("given"), "choice", choices=_yes_no, default="yes")), _consent_q, order=50),
        ConditionType("not_contacted", _("Not contacted in"), G_CONTACT, (
            Param("days", _("days"), "int", min=1, max=3650, default=30),), _not_contacted_q, order=51),
    ]


for _condition in [*_builtins(), *_segment_conditions()]:
    register_condition(_condition)
