"""Service reads: complaint lists and detail, the report (groups and repeats), the member's service panel,
gift stock, survey results, the timeline sources and the care engine's complaint hooks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.timeline import TimelineEvent
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .config import service_config
from .models import (
    STEPS,
    Complaint,
    ComplaintCategory,
    ComplaintState,
    GiftIssue,
    GiftStock,
    StockMovement,
    Survey,
)
from .permissions import visible_complaints

OPEN = ~Q(state=ComplaintState.CLOSED)


# ------------------------------------------------------------------------------- care engine hooks


def open_complaints_count(member_ids: list[int]) -> dict[int, int]:
    """Open complaints per member (the care task card shows them)."""
    if not member_ids:
        return {}
    rows = (Complaint.objects.filter(OPEN, member_id__in=member_ids).values("member_id")
            .annotate(n=Count("pk")).values_list("member_id", "n"))
    return dict(rows)


def has_open_complaint_expr(member_ref: str = "pk") -> Exists:
    """Per row of a member query: whether the member has an open complaint (marketing waits for it)."""
    return Exists(Complaint.objects.filter(OPEN, member_id=OuterRef(member_ref)))


def complaints_on_record_expr(member_ref: str = "member_id") -> Coalesce:
    """Per row of a member query: how many complaints the member has on record, open or past (the dormant
    review's context)."""
    counts = (Complaint.objects.filter(member_id=OuterRef(member_ref)).order_by().values("member_id")
              .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


# --------------------------------------------------------------------------------------- lists


def is_overdue(complaint: Complaint, now: dt.datetime | None = None) -> bool:
    return complaint.is_open and complaint.due_at < (now or timezone.now())


def complaint_list(user: Staff, *, mine: bool = False, state: str = "", store_id: int | None = None,
                   overdue: bool = False, now: dt.datetime | None = None) -> QuerySet[Complaint]:
    """The complaints the user may work, open and overdue first, each with `.overdue` set by the page."""
    now = now or timezone.now()
    qs = visible_complaints(user, Complaint.objects.select_related("member", "store", "owner"))
    if mine:
        qs = qs.filter(owner=user)
    if state == "open":
        qs = qs.filter(OPEN)
    elif state in ComplaintState.values:
        qs = qs.filter(state=state)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if overdue:
        qs = qs.filter(OPEN, due_at__lt=now)
    return qs.order_by("closed_at", "due_at", "-pk")


@dataclass
class StepView:
    code: str
    label: str
    done: Any = None  # the ComplaintStep when recorded
    current: bool = False


def complaint_steps(complaint: Complaint) -> list[StepView]:
    """The nine steps, each with its recorded note (if any); the complaint's current step marked."""
    recorded = {s.step: s for s in complaint.steps.select_related("by")}
    return [StepView(code, str(ComplaintState(code).label), recorded.get(code), code == complaint.state)
            for code in STEPS]


# -------------------------------------------------------------------------------------- report


@dataclass
class GroupLine:
    key: Any
    label: str
    total: int = 0
    open: int = 0
    overdue: int = 0
    resolve_hours: list[float] = field(default_factory=list)

    @property
    def avg_resolve_hours(self) -> float | None:
        return round(sum(self.resolve_hours) / len(self.resolve_hours), 1) if self.resolve_hours else None


def complaint_report(user: Staff, *, since: dt.date, until: dt.date, store_ids: list[int] | None = None,
                     now: dt.datetime | None = None) -> dict[str, list[GroupLine]]:
    """Complaints opened from `since` to `until`, grouped by category, product, store and clerk (owner):
    how many, how many still open and overdue, and the average hours to the result."""
    now = now or timezone.now()
    qs = visible_complaints(user, Complaint.objects.all()).filter(opened_at__date__gte=since,
                                                                  opened_at__date__lte=until)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    rows = list(qs.values("category", "sku", "product__name", "store_id", "store__name", "owner_id",
                          "owner__display_name", "owner__username", "state", "due_at", "opened_at",
                          "resolved_at"))
    groups: dict[str, dict[Any, GroupLine]] = {"category": {}, "product": {}, "store": {}, "clerk": {}}
    for r in rows:
        keys = {
            "category": (r["category"], str(ComplaintCategory(r["category"]).label)
                         if r["category"] in ComplaintCategory.values else r["category"]),
            "product": (r["sku"], f"{r['sku']} {r['product__name'] or ''}".strip() if r["sku"] else _("(none)")),
            "store": (r["store_id"], r["store__name"]),
            "clerk": (r["owner_id"], r["owner__display_name"] or r["owner__username"] or _("Nobody")),
        }
        is_open = r["state"] != ComplaintState.CLOSED
        for dim, (key, label) in keys.items():
            line = groups[dim].setdefault(key, GroupLine(key, label))
            line.total += 1
            line.open += int(is_open)
            line.overdue += int(is_open and r["due_at"] < now)
            if r["resolved_at"]:
                line.resolve_hours.append((r["resolved_at"] - r["opened_at"]).total_seconds() / 3600)
    return {dim: sorted(lines.values(), key=lambda g: (-g.total, str(g.label))) for dim, lines in groups.items()}


@dataclass
class Repeat:
    kind: str  # "member" or "product"
    category: str
    category_label: str
    count: int
    members: int
    member: Member | None = None
    sku: str = ""
    numbers: list[str] = field(default_factory=list)


def complaint_repeats(user: Staff, *, until: dt.date | None = None, store_ids: list[int] | None = None,
                      threshold: int | None = None, period_days: int | None = None) -> list[Repeat]:
    """Repeats of the same kind within the period (settings: repeat_threshold, repeat_period_days): the same
    member complaining about the same category N times, or the same product drawing complaints of the same
    category from N different members. For a root-cause look."""
    config = service_config()["complaints"]
    threshold = int(threshold or config["repeat_threshold"])
    period_days = int(period_days or config["repeat_period_days"])
    until = until or timezone.localdate()
    since = until - dt.timedelta(days=period_days - 1)
    qs = visible_complaints(user, Complaint.objects.all()).filter(opened_at__date__gte=since,
                                                                  opened_at__date__lte=until)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    out: list[Repeat] = []
    by_member = (qs.filter(member__erased_at__isnull=True).values("member_id", "category")
                 .annotate(n=Count("pk")).filter(n__gte=threshold).order_by("-n", "member_id"))
    members = Member.objects.in_bulk([r["member_id"] for r in by_member])
    for r in by_member:
        numbers = list(qs.filter(member_id=r["member_id"], category=r["category"]).order_by("opened_at")
                       .values_list("number", flat=True))
        out.append(Repeat("member", r["category"], str(ComplaintCategory(r["category"]).label), r["n"], 1,
                          member=members.get(r["member_id"]), numbers=numbers))
    by_product = (qs.exclude(sku="").values("sku", "category")
                  .annotate(n=Count("pk"), people=Count("member_id", distinct=True))
                  .filter(people__gte=threshold).order_by("-people", "sku"))
    for r in by_product:
        numbers = list(qs.filter(sku=r["sku"], category=r["category"]).order_by("opened_at")
                       .values_list("number", flat=True))
        out.append(Repeat("product", r["category"], str(ComplaintCategory(r["category"]).label), r["n"],
                          r["people"], sku=r["sku"], numbers=numbers))
    return out


# ------------------------------------------------------------------------------- member panel


def member_service_panel(member: Member, *, limit: int = 5) -> dict[str, Any]:
    now = timezone.now()
    complaints = list(Complaint.objects.filter(member=member).select_related("store", "owner")
                      .order_by("closed_at", "-opened_at")[:50])
    open_ = [c for c in complaints if c.is_open]
    for c in complaints:
        c.overdue = is_overdue(c, now)
    past = [c for c in complaints if not c.is_open]
    return {
        "open": open_, "past": past[:limit], "past_count": len(past),
        "gifts": list(GiftIssue.objects.filter(member=member).select_related("gift", "store", "clerk")
                      .order_by("-at", "-pk")[:limit]),
        "surveys": list(Survey.objects.filter(member=member, answered_at__isnull=False)
                        .order_by("-answered_at")[:limit]),
    }


# ------------------------------------------------------------------------------------- timeline


def member_complaint_events(member: Member, limit: int) -> list[TimelineEvent]:
    events = []
    for c in Complaint.objects.filter(member=member).select_related("store").order_by("-opened_at")[:limit]:
        events.append(TimelineEvent(
            at=c.opened_at, kind="complaint",
            title=_("%(number)s · %(category)s · %(state)s") % {
                "number": c.number, "category": c.get_category_display(), "state": c.get_state_display()},
            detail=c.description[:200], extra={"store": c.store.name, "complaint": c.pk}))
    return events


def member_gift_events(member: Member, limit: int) -> list[TimelineEvent]:
    events = []
    for g in GiftIssue.objects.filter(member=member).select_related("gift", "store", "clerk").order_by("-at")[:limit]:
        detail = " · ".join(p for p in (g.store.name, str(g.clerk or ""), g.note) if p)
        if g.points:
            detail += " · " + _("%(n)d points") % {"n": g.points}
        events.append(TimelineEvent(at=g.at, kind="gift", title=_("Gift: %(gift)s (%(reason)s)") % {
            "gift": g.gift.name, "reason": g.get_reason_display()}, detail=detail))
    return events


# -------------------------------------------------------------------------------------- gifts


def stock_rows(store: Store) -> list[GiftStock]:
    """Every active gift with the store's count (0 when the store never had it), low ones flagged."""
    from .models import Gift

    stocks = {s.gift_id: s for s in GiftStock.objects.filter(store=store)}
    rows = []
    for gift in Gift.objects.filter(is_active=True).order_by("code"):
        stock = stocks.get(gift.pk) or GiftStock(gift=gift, store=store, quantity=0)
        stock.gift = gift
        rows.append(stock)
    return rows


def low_stock_count(store_ids: list[int] | set[int]) -> int:
    from django.db.models import F

    return GiftStock.objects.filter(store_id__in=list(store_ids), gift__is_active=True,
                                    quantity__lte=F("low_threshold")).count()


def stock_movements(store: Store, *, limit: int = 50) -> QuerySet[StockMovement]:
    return (StockMovement.objects.filter(stock__store=store).select_related("stock__gift", "by", "issue__member")
            .order_by("-at", "-pk")[:limit])


def gifts_in_stock(store: Store) -> QuerySet[GiftStock]:
    return GiftStock.objects.filter(store=store, quantity__gt=0, gift__is_active=True).select_related("gift")


# ------------------------------------------------------------------------------------- surveys


@dataclass
class SurveyLine:
    key: Any
    label: str
    sent: int = 0
    answered: int = 0
    csat_sum: int = 0
    csat_n: int = 0
    promoters: int = 0
    detractors: int = 0
    nps_n: int = 0

    @property
    def csat(self) -> float | None:
        return round(self.csat_sum / self.csat_n, 2) if self.csat_n else None

    @property
    def nps(self) -> int | None:
        """%promoters (9-10) - %detractors (0-6), rounded."""
        return round(100 * (self.promoters - self.detractors) / self.nps_n) if self.nps_n else None


def nps_score(scores: list[int]) -> int | None:
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))


def survey_results(*, since: dt.date, until: dt.date, store_ids: list[int] | None) -> dict[str, Any]:
    """Surveys sent from `since` to `until`: per store and per clerk, how many were sent and answered, the
    CSAT average and the NPS; the latest comments."""
    qs = Survey.objects.filter(created_at__date__gte=since, created_at__date__lte=until)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    rows = list(qs.values("store_id", "store__name", "clerk_id", "clerk__display_name", "clerk__username",
                          "answered_at", "csat", "nps"))
    total = SurveyLine(None, _("All"))
    by: dict[str, dict[Any, SurveyLine]] = {"store": {}, "clerk": {}}
    for r in rows:
        lines = [total,
                 by["store"].setdefault(r["store_id"], SurveyLine(r["store_id"], r["store__name"] or "—")),
                 by["clerk"].setdefault(r["clerk_id"], SurveyLine(
                     r["clerk_id"], r["clerk__display_name"] or r["clerk__username"] or "—"))]
        for line in lines:
            line.sent += 1
            if r["answered_at"] is None:
                continue
            line.answered += 1
            if r["csat"] is not None:
                line.csat_sum += r["csat"]
                line.csat_n += 1
            if r["nps"] is not None:
                line.nps_n += 1
                line.promoters += int(r["nps"] >= 9)
                line.detractors += int(r["nps"] <= 6)
    comments = (qs.filter(answered_at__isnull=False).exclude(comment="").select_related("store", "clerk", "member")
                .order_by("-answered_at")[:20])

    def order(line: SurveyLine) -> tuple:
        return (-line.answered, str(line.label))

    return {"total": total, "stores": sorted(by["store"].values(), key=order),
            "clerks": sorted(by["clerk"].values(), key=order), "comments": list(comments)}


# ------------------------------------------------------------------------------------ dashboard tile


def complaint_stats(stores: list[Store], start: dt.date, end: dt.date,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard's complaint figures for the stores: opened and closed from `start` to `end` (local days),
    open and overdue now, and the average hours from opening to the result for those resolved in the period."""
    from membercare.core.days import day_bounds

    now = now or timezone.now()
    begin, stop = day_bounds(start, end)
    qs = Complaint.objects.filter(store__in=stores)
    counts = qs.aggregate(
        opened=Count("pk", filter=Q(opened_at__gte=begin, opened_at__lt=stop)),
        closed=Count("pk", filter=Q(closed_at__gte=begin, closed_at__lt=stop)),
        open=Count("pk", filter=OPEN), overdue=Count("pk", filter=OPEN & Q(due_at__lt=now)))
    resolved = list(qs.filter(resolved_at__gte=begin, resolved_at__lt=stop).values_list("opened_at", "resolved_at"))
    hours = (round(sum((r - o).total_seconds() for o, r in resolved) / 3600 / len(resolved), 1)
             if resolved else "—")
    return {_("Opened"): counts["opened"], _("Closed"): counts["closed"], _("Open now"): counts["open"],
            _("Overdue now"): counts["overdue"], _("Average hours to resolve"): hours}
