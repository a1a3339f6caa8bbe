"""Win-back by reason (issue 20, part 4): the report of why members stopped coming.

A clerk who reaches a dormant or sleeping member records the reason (care.Contact.reason, required for the
dormant_review and sleeping_call tasks; any contact may carry one). This module counts those reasons, in SQL
(one grouped query), by store (the contact's store), clerk (who logged it), month (of the contact, in
Asia/Shanghai), the member's card tier (the best active card now: knight, diamond, elite, accumulation, or
none — care.selectors.card_order) and the stage the member was asked in (the task's rule: dormant review,
sleeping call, or another contact). Managers see the contacts logged in their stores, HQ the chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from membercare.loyalty.models import Card, CardStatus
from membercare.loyalty.programme import programme_at
from membercare.org.models import Staff, Store

from .models import Contact, DormancyReason
from .selectors import card_order

TZ = ZoneInfo("Asia/Shanghai")
GROUPS = ("month", "store", "clerk", "tier", "stage")
STAGES = {"dormant_review": "dormant", "sleeping_call": "sleeping"}  # task rule -> stage; others: "other"
NO_TIER = "none"
MAX_MONTHS = 36  # the longest period one report covers


class ReasonReportError(ValueError):
    """A filter the report refuses (the message is for the user)."""


def stage_labels() -> dict[str, str]:
    return {"dormant": _("Dormant review (3 months)"), "sleeping": _("Sleeping call (6 months)"),
            "other": _("Other contacts")}


def tier_labels() -> dict[str, str]:
    programme = programme_at()  # the levels' names are the programme's
    return {**{code: programme.label(code) for code in card_order(programme)}, NO_TIER: _("No active card")}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(value: str) -> dt.date:
    """'YYYY-MM' -> the first of that month (ReasonReportError when it is not one)."""
    text = (value or "").strip()
    try:
        if len(text) != 7 or text[4] != "-":
            raise ValueError(text)
        day = dt.date(int(text[:4]), int(text[5:]), 1)
    except ValueError as exc:
        raise ReasonReportError(_("Give the month as year-month, e.g. 2026-03.")) from exc
    if not 2000 <= day.year <= 2100:
        raise ReasonReportError(_("Give the month as year-month, e.g. 2026-03."))
    return day


@dataclass(frozen=True)
class ReasonFilters:
    month_from: dt.date  # first day of the first month
    month_to: dt.date  # first day of the last month (inclusive)
    store_ids: list[int] | None = None  # None: the chain
    clerk_id: int | None = None
    tier: str = ""  # "": every tier; a card kind; "none": members without an active card
    group_by: str = "month"

    def __post_init__(self) -> None:
        if self.month_from > self.month_to:
            raise ReasonReportError(_("The first month must not come after the last month."))
        if add_months(self.month_from, MAX_MONTHS) <= self.month_to:
            raise ReasonReportError(_("Show at most %(n)d months at once.") % {"n": MAX_MONTHS})
        if self.group_by not in GROUPS:
            raise ReasonReportError(_("Unknown grouping."))
        if self.tier and self.tier not in (*card_order(), NO_TIER):
            raise ReasonReportError(_("Unknown card."))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.month_from, dt.time(), tzinfo=TZ)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(add_months(self.month_to, 1), dt.time(), tzinfo=TZ)


@dataclass
class ReasonRow:
    key: Any
    label: str
    counts: dict[str, int] = field(default_factory=dict)  # reason -> contacts

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def cells(self, reasons: list[str]) -> list[int]:
        return [self.counts.get(r, 0) for r in reasons]


@dataclass
class ReasonReport:
    filters: ReasonFilters
    reasons: list[tuple[str, str]]  # (code, label) in DormancyReason's order
    rows: list[ReasonRow]
    totals: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def codes(self) -> list[str]:
        return [code for code, _label in self.reasons]

    def table(self) -> list[tuple[str, list[int], int]]:
        """(group label, contacts per reason in `codes` order, total) per row."""
        return [(row.label, row.cells(self.codes), row.total) for row in self.rows]

    def total_cells(self) -> list[int]:
        return [self.totals.get(code, 0) for code in self.codes]

    def shares(self) -> list[tuple[str, str, int, int]]:
        """(code, label, contacts, percent of all) per reason."""
        total = self.total
        return [(code, label, self.totals.get(code, 0), round(100 * self.totals.get(code, 0) / total) if total
                 else 0) for code, label in self.reasons]


def _tier_expr() -> Coalesce:
    """The member's best active card kind now ("none" without one)."""
    ranks = [When(kind=kind, then=Value(rank)) for kind, rank in card_order().items()]
    best = (Card.objects.filter(member_id=OuterRef("member_id"), status=CardStatus.ACTIVE)
            .annotate(rank=Case(*ranks, default=Value(99), output_field=IntegerField()))
            .order_by("rank", "pk").values("kind")[:1])
    return Coalesce(Subquery(best, output_field=CharField()), Value(NO_TIER), output_field=CharField())


def _stage_expr() -> Case:
    return Case(*[When(task__rule=rule, then=Value(stage)) for rule, stage in STAGES.items()],
                default=Value("other"), output_field=CharField())


def reason_contacts(filters: ReasonFilters):
    """The contacts with a reason under the filters, annotated with `tier` and `stage` (a QuerySet)."""
    qs = (Contact.objects.exclude(reason="").filter(at__gte=filters.start, at__lt=filters.end)
          .annotate(tier=_tier_expr(), stage=_stage_expr()))
    if filters.store_ids is not None:
        qs = qs.filter(store_id__in=list(filters.store_ids))
    if filters.clerk_id:
        qs = qs.filter(staff_id=filters.clerk_id)
    if filters.tier:
        qs = qs.filter(tier=filters.tier)
    return qs


def _group_expr(group_by: str) -> Any:
    if group_by == "month":
        return TruncMonth("at", tzinfo=TZ)
    return F({"store": "store_id", "clerk": "staff_id", "tier": "tier", "stage": "stage"}[group_by])


def _month_key(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(TZ).strftime("%Y-%m")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def reason_report(filters: ReasonFilters) -> ReasonReport:
    """Contacts with a dormancy reason, counted per reason and per group (one grouped query)."""
    reasons = [(code, str(label)) for code, label in DormancyReason.choices]
    grouped = (reason_contacts(filters).order_by().annotate(g=_group_expr(filters.group_by))
               .values("g", "reason").annotate(n=Count("pk")))
    rows: dict[Any, ReasonRow] = {}
    totals: dict[str, int] = {}
    for item in grouped:
        key = item["g"]
        if filters.group_by == "month":
            key = _month_key(key)
        row = rows.setdefault(key, ReasonRow(key=key, label=""))
        row.counts[item["reason"]] = row.counts.get(item["reason"], 0) + item["n"]
        totals[item["reason"]] = totals.get(item["reason"], 0) + item["n"]
    ordered = _label_rows(filters.group_by, list(rows.values()))
    return ReasonReport(filters=filters, reasons=reasons, rows=ordered, totals=totals)


def _label_rows(group_by: str, rows: list[ReasonRow]) -> list[ReasonRow]:
    if group_by == "month":
        for row in rows:
            row.label = row.key
        return sorted(rows, key=lambda r: r.key)
    if group_by == "store":
        names = dict(Store.objects.filter(pk__in=[r.key for r in rows if r.key]).values_list("pk", "name"))
        for row in rows:
            row.label = names.get(row.key, _("no store"))
        return sorted(rows, key=lambda r: (r.key is None, r.label))
    if group_by == "clerk":
        staff = {s.pk: str(s) for s in Staff.objects.filter(pk__in=[r.key for r in rows if r.key])}
        for row in rows:
            row.label = staff.get(row.key, _("no longer on staff"))
        return sorted(rows, key=lambda r: (-r.total, r.label))
    labels = tier_labels() if group_by == "tier" else stage_labels()
    order = list(labels)
    for row in rows:
        row.label = labels.get(row.key, str(row.key))
    return sorted(rows, key=lambda r: order.index(r.key) if r.key in order else len(order))


def reason_sheets(report: ReasonReport, group_title: str) -> list[tuple[str, list[Any], list[list[Any]]]]:
    """The report as one sheet for core.xlsx: a row per group, a column per reason, and the total row."""
    headers = [group_title, *[label for _code, label in report.reasons], _("Total")]
    body = [[row.label, *row.cells(report.codes), row.total] for row in report.rows]
    body.append([_("Total"), *report.total_cells(), report.total])
    return [(_("Dormancy reasons"), headers, body)]


def visible_clerks(store_ids: list[int] | None) -> list[Staff]:
    """Who may be picked in the clerk filter: staff of these stores (None: everyone who logged a reason)."""
    if store_ids is None:
        ids = Contact.objects.exclude(reason="").exclude(staff=None).values("staff_id").distinct()
        return list(Staff.objects.filter(pk__in=ids).order_by("display_name", "username"))
    return list(Staff.objects.filter(Q(stores__in=store_ids)).distinct().order_by("display_name", "username"))
