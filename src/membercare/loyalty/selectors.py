"""Reads for the card pages and the API: cards and card applications, filtered by what the user may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from membercare.core.permissions import can_edit_programme, visible_stores
from membercare.members import exports as member_exports
from membercare.members.exports import ExportExtension
from membercare.members.models import Member
from membercare.org.models import Brand, Staff
from membercare.sales.models import Receipt, ReceiptLine, Series

from .models import Card, CardApplication, CardStatus, normalize_card_number
from .programme import programme_at

# pending first (the specialist's work), then approved (waiting for the member's signature), then the rest
_STATUS_ORDER = Case(
    When(status=CardApplication.Status.PENDING, then=Value(0)),
    When(status=CardApplication.Status.APPROVED, then=Value(1)),
    default=Value(2), output_field=IntegerField(),
)


def _visible(user: Staff) -> QuerySet[CardApplication]:
    qs = CardApplication.objects.all()
    return qs if can_edit_programme(user) else qs.filter(store__in=visible_stores(user))


def application_list(user: Staff, *, status: str = "", member: Member | None = None) -> QuerySet[CardApplication]:
    """Applications the user may see: the specialist and admin see the chain, others their stores' only.
    Pending first (oldest first, as a queue), then approved, then reviewed ones (newest first)."""
    qs = _visible(user).select_related("member", "store", "old_card", "new_card", "filed_by", "reviewed_by",
                                       "receipt__store")
    if status:
        qs = qs.filter(status=status)
    if member is not None:
        qs = qs.filter(member=member)
    return qs.annotate(status_order=_STATUS_ORDER).order_by("status_order", "filed_at", "pk")


def application_queue(user: Staff) -> QuerySet[CardApplication]:
    """The review queue: applications waiting for the specialist (filed by clerks or proposed by the rules)."""
    return application_list(user, status=CardApplication.Status.PENDING)


def application_get(user: Staff, pk: int) -> CardApplication | None:
    """One application, or None when it does not exist or is not the user's to see."""
    return application_list(user).filter(pk=pk).first()


def application_counts(user: Staff) -> dict[str, int]:
    counts = {s: 0 for s in CardApplication.Status.values}
    for row in _visible(user).order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


# --------------------------------------------------------------------- spending against the card's threshold

ZERO = Decimal("0.00")


def _cents(value) -> Decimal:
    # SQLite sums decimals as floats (8000 may come back as 7999.999999999): back to exact cents
    return (Decimal(str(value)) if value is not None else ZERO).quantize(ZERO)


@dataclass(frozen=True)
class SpendCheck:
    """One of the ways to earn the card: what the member paid against what the rule asks.
    kind: "rolling" (paid within the window at the brand's stores), "receipt" (the best single receipt in the
    window, returns deducted) or "series" (the best single receipt's amount in one series)."""

    kind: str
    paid: Decimal
    threshold: Decimal
    series: str = ""
    needs_card: str = ""  # the card the rule needs first, when the member does not hold it (its label)

    @property
    def met(self) -> bool:
        return self.paid >= self.threshold and not self.needs_card

    @property
    def short(self) -> Decimal:
        return max(ZERO, self.threshold - self.paid)


@dataclass(frozen=True)
class SpendContext:
    """What the reviewer needs to decide: the member's spending at the card's brand against each of the
    card's thresholds, in the programme's window up to now."""

    card: str  # the card's label
    brand: str  # the brand whose stores' sales count
    window_days: int
    checks: list[SpendCheck] = field(default_factory=list)

    @property
    def qualifies(self) -> bool:
        return any(c.met for c in self.checks)

    @property
    def twelve_months(self) -> bool:
        return self.window_days in (365, 366)


_NO_THRESHOLD = (CardApplication.Kind.REISSUE, CardApplication.Kind.ACCUMULATION)


def with_spend_context(apps: Sequence[CardApplication], *, now: dt.datetime | None = None
                       ) -> Sequence[CardApplication]:
    """Set `spend` (a SpendContext, or None for a reissue or an accumulation card) on each application.

    A few queries for the whole page, whatever its length: the programme, the members' receipts in the window
    netted per original receipt and grouped by brand, their lines by series (only when a card on the page has
    series thresholds), their active cards (for a prerequisite), and the brands' and series' names."""
    now = now or timezone.now()
    programme = programme_at(timezone.localtime(now).date())
    wanted = [a for a in apps if a.kind not in _NO_THRESHOLD and programme.tier(a.card_kind)]
    for app in apps:
        app.spend = None
        app.card_label = programme.label(app.card_kind)  # the level's name in the programme
    if not wanted:
        return apps
    member_ids = sorted({a.member_id for a in wanted})
    since = now - dt.timedelta(days=programme.window_days)
    tiers = {a.card_kind: programme.tier(a.card_kind) for a in wanted}

    # (member, brand) -> net paid of each receipt (a return is netted with its original; a return of a receipt
    # sold before the window stands alone, negative): the rolling sum and the best single receipt
    nets: dict[tuple[int, str], list[Decimal]] = {}
    for row in (Receipt.objects.filter(member_id__in=member_ids, sold_at__gt=since, sold_at__lte=now)
                .annotate(key=Coalesce("original_id", "id")).order_by()
                .values("member_id", "store__brand__code", "key").annotate(net=Sum("total_paid"))):
        nets.setdefault((row["member_id"], row["store__brand__code"]), []).append(_cents(row["net"]))

    series_best: dict[tuple[int, str, str], Decimal] = {}
    series_codes = {code for t in tiers.values() for code in t.single_receipt_by_series}
    if series_codes:
        for row in (ReceiptLine.objects.filter(receipt__member_id__in=member_ids, receipt__sold_at__gt=since,
                                               receipt__sold_at__lte=now, product__series__code__in=series_codes)
                    .annotate(key=Coalesce("receipt__original_id", "receipt_id")).order_by()
                    .values("receipt__member_id", "receipt__store__brand__code", "key", "product__series__code")
                    .annotate(paid=Sum("paid_amount"))):
            k = (row["receipt__member_id"], row["receipt__store__brand__code"], row["product__series__code"])
            series_best[k] = max(series_best.get(k, ZERO), _cents(row["paid"]))
    series_names = dict(Series.objects.filter(code__in=series_codes).values_list("code", "name")) \
        if series_codes else {}

    held: dict[int, set[str]] = {}
    if any(t.requires for t in tiers.values()):
        for member_id, kind in Card.objects.filter(member_id__in=member_ids, status=CardStatus.ACTIVE).values_list(
                "member_id", "kind"):
            held.setdefault(member_id, set()).add(kind)
    brands = dict(Brand.objects.filter(code__in={t.issue_brand for t in tiers.values()}).values_list("code", "name"))

    for app in wanted:
        tier = tiers[app.card_kind]
        receipts = nets.get((app.member_id, tier.issue_brand), [])
        checks: list[SpendCheck] = []
        if tier.rolling_paid is not None:
            mine = held.get(app.member_id, set())
            needs = tier.requires if tier.requires and not mine & {tier.requires, tier.code} else ""
            checks.append(SpendCheck("rolling", sum(receipts, ZERO), tier.rolling_paid,
                                     needs_card=programme.label(needs) if needs else ""))
        if tier.single_receipt is not None:
            checks.append(SpendCheck("receipt", max([ZERO, *receipts]), tier.single_receipt))
        for code, amount in tier.single_receipt_by_series.items():
            checks.append(SpendCheck("series", series_best.get((app.member_id, tier.issue_brand, code), ZERO),
                                     amount, series=series_names.get(code, code)))
        app.spend = SpendContext(card=programme.label(tier.code), brand=brands.get(tier.issue_brand,
                                                                                       tier.issue_brand),
                                 window_days=programme.window_days, checks=checks)
    return apps


def card_by_number(number: str) -> Card | None:
    return (Card.objects.select_related("member", "brand", "replaced_by")
            .filter(number=normalize_card_number(number)).first())


def card_list_of_member(member: Member) -> QuerySet[Card]:
    """The member's cards: active first, then waiting for a signature, then the rest (newest first)."""
    order = Case(When(status=CardStatus.ACTIVE, then=Value(0)), When(status=CardStatus.PENDING, then=Value(1)),
                 default=Value(2), output_field=IntegerField())
    return (Card.objects.filter(member=member).select_related("brand", "replaced_by")
            .annotate(status_order=order).order_by("status_order", "-issued_at", "-pk"))


def card_awaiting_signature(card: Card) -> CardApplication | None:
    """The approved application whose new card this is (the member has not signed yet)."""
    return (CardApplication.objects.select_related("store", "old_card")
            .filter(new_card=card, status=CardApplication.Status.APPROVED).first())


def card_replacement_chain(card: Card) -> list[Card]:
    """The card and every card that replaced it, oldest first (a lost card's history)."""
    chain = [card]
    seen = {card.pk}
    while chain[-1].replaced_by_id and chain[-1].replaced_by_id not in seen:
        nxt = Card.objects.select_related("replaced_by").get(pk=chain[-1].replaced_by_id)
        chain.append(nxt)
        seen.add(nxt.pk)
    return chain


# ------------------------------------------------------------------------------- the member export's columns

SPEND_WINDOW_DAYS = 365  # "the last 12 months" of the export's spend column


def members_with_loyalty(members: QuerySet[Member], *, now: dt.datetime | None = None) -> QuerySet[Member]:
    """The members annotated in SQL (correlated subqueries on indexed columns, no query per member) with
    `best_card` (the kind of their best active, unexpired card by the programme's ranks), `points_balance`,
    `spend_12_months` (paid in the last 365 days, returns deducted) and `spend_total` (paid ever)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    programme = programme_at(today)
    rank = Case(*[When(kind=t.code, then=Value(t.rank)) for t in programme.tiers], default=Value(0),
                output_field=IntegerField())
    # the level's name in the programme (the best card's label, not its code: the export shows it as is)
    label = Case(*[When(kind=code, then=Value(name)) for code, name in programme.levels()], default=F("kind"),
                 output_field=CharField())
    best = (Card.objects.filter(member=OuterRef("pk"), status=CardStatus.ACTIVE)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
            .annotate(rank=rank, label=label).order_by("-rank", "-issued_at", "-pk").values("label")[:1])

    def paid(receipts: QuerySet[Receipt]):
        total = receipts.filter(member=OuterRef("pk")).order_by().values("member").annotate(
            s=Sum("total_paid")).values("s")[:1]
        return Coalesce(Subquery(total, output_field=DecimalField(max_digits=14, decimal_places=2)),
                        Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2))

    return members.annotate(
        best_card=Subquery(best), points_balance=Coalesce(F("loyalty__points"), Value(0)),
        spend_12_months=paid(Receipt.objects.filter(sold_at__gt=now - dt.timedelta(days=SPEND_WINDOW_DAYS),
                                                    sold_at__lte=now)),
        spend_total=paid(Receipt.objects.all()))


def _card_label(row: dict) -> str:
    return row["best_card"] or ""


def register_export_columns() -> None:
    """The member export's card level (its Chinese name in a Chinese export), points balance and spend."""
    member_exports.register_export_columns("loyalty", ExportExtension(
        annotate=members_with_loyalty, names=("best_card", "points_balance", "spend_12_months", "spend_total"),
        columns=(
            (gettext_lazy("Card level"), _card_label),
            (gettext_lazy("Points balance"), lambda r: r["points_balance"]),
            (gettext_lazy("Spend, last 12 months (yuan)"), lambda r: _cents(r["spend_12_months"])),
            (gettext_lazy("Spend, all time (yuan)"), lambda r: _cents(r["spend_total"])),
        )))
