"""Reading gift cards: batches with what was sold, spent and is outstanding, a member's cards and their
movements (the member timeline), and the gift-card liability (outstanding per store, brand and day) from the
ledger, for the stored-value books (liability.finance_day) and the reconciliation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from membercare.core.days import day_bounds

from .models import GiftCard, GiftCardBatch, GiftCardEntry, GiftCardState, GiftEntryKind

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def _m(value) -> Decimal:
    return (value or ZERO).quantize(CENT)


def batch_list() -> QuerySet[GiftCardBatch]:
    """Every batch with its counts and sums: cards sold, sold value, spent (net of returns), outstanding."""
    return GiftCardBatch.objects.select_related("created_by", "exported_by").annotate(
        n_sold=Count("cards", filter=Q(cards__status=GiftCardState.ACTIVE)),
        n_void=Count("cards", filter=Q(cards__status=GiftCardState.VOID)),
        outstanding=Sum("cards__balance"),
    ).order_by("-created_at", "-pk")


def batch_figures(batch: GiftCardBatch) -> dict[str, Decimal | int]:
    """One batch: cards sold, value sold, spent (spends less returns), outstanding (= sold − spent)."""
    cards = GiftCard.objects.filter(batch=batch)
    counts = cards.aggregate(sold=Count("pk", filter=Q(status=GiftCardState.ACTIVE)),
                             void=Count("pk", filter=Q(status=GiftCardState.VOID)),
                             bound=Count("pk", filter=Q(member__isnull=False)), outstanding=Sum("balance"))
    sums = GiftCardEntry.objects.filter(card__batch=batch).aggregate(
        sold=Sum("amount", filter=Q(kind=GiftEntryKind.SALE)),
        spent=Sum("amount", filter=Q(kind__in=(GiftEntryKind.SPEND, GiftEntryKind.RETURN))))
    return {"count": batch.count, "sold": counts["sold"], "void": counts["void"], "bound": counts["bound"],
            "unsold": batch.count - counts["sold"] - counts["void"], "sold_value": _m(sums["sold"]),
            "spent": -_m(sums["spent"]), "outstanding": _m(counts["outstanding"])}


def card_by_serial(serial: str) -> GiftCard | None:
    return GiftCard.objects.select_related("batch", "member").filter(serial=(serial or "").strip().upper()).first()


def card_entries(card: GiftCard, *, limit: int = 50) -> QuerySet[GiftCardEntry]:
    return (GiftCardEntry.objects.filter(card=card)
            .select_related("receipt", "sale", "method", "store", "member", "operator")
            .order_by("-created_at", "-pk")[:limit])


def receipt_gift_cards(receipt_id: int) -> list[dict]:
    """The gift cards a receipt paid with (or a return credited back): each card's number, the amount moved and
    its balance right after this receipt (the ledger up to this receipt's entry: a card's entries are written in
    id order under its row lock)."""
    rows = []
    for e in GiftCardEntry.objects.filter(receipt_id=receipt_id).select_related("card").order_by("pk"):
        after = GiftCardEntry.objects.filter(card_id=e.card_id, pk__lte=e.pk).aggregate(t=Sum("amount"))["t"]
        rows.append({"serial": e.card.serial, "amount": abs(e.amount), "balance": _m(after)})
    return rows


def member_gift_cards(member_id: int) -> QuerySet[GiftCard]:
    return GiftCard.objects.filter(member_id=member_id).select_related("batch").order_by("-activated_at")


def member_gift_card_events(member, limit: int) -> list:
    """The member timeline's source (registered in apps.ready): each movement on the member's gift cards."""
    from django.utils.translation import gettext as _

    from membercare.core.timeline import TimelineEvent

    events = []
    entries = (GiftCardEntry.objects.filter(member_id=member.pk).select_related("card", "receipt", "store")
               .order_by("-created_at", "-pk")[:limit])
    for e in entries:
        title = _("Gift card %(serial)s: %(kind)s ¥%(amount)s, balance now ¥%(balance)s") % {
            "serial": e.card.serial, "kind": e.get_kind_display(), "amount": abs(e.amount),
            "balance": e.card.balance}
        extra = {"store_id": e.store_id}
        if e.receipt_id:
            extra.update(receipt=e.receipt.number, receipt_id=e.receipt_id)
        events.append(TimelineEvent(at=e.created_at, kind="gift_card", title=title,
                                    detail=e.store.name if e.store_id else "", extra=extra))
    return events


# ------------------------------------------------------------------------------------------------ liability


def liability() -> Decimal:
    """What the chain owes on gift cards now: the sum of every card's balance (= the sum of the ledger)."""
    return _m(GiftCard.objects.aggregate(t=Sum("balance"))["t"])


def ledger_total() -> Decimal:
    return _m(GiftCardEntry.objects.aggregate(t=Sum("amount"))["t"])


def _until(day: dt.date) -> dt.datetime:
    return day_bounds(day, day)[1]


def _entries(day: dt.date, store_ids: Iterable[int] | None) -> QuerySet[GiftCardEntry]:
    entries = GiftCardEntry.objects.filter(created_at__lt=_until(day))
    if store_ids is not None:
        entries = entries.filter(store_id__in=list(store_ids))
    return entries


def outstanding(day: dt.date, *, store_ids: Iterable[int] | None = None) -> Decimal:
    """Gift-card value owed at the end of `day` (chain-wide, or what the given stores' entries left: sold there
    less spent there, so a store's figure can be negative when its cards are spent elsewhere)."""
    return _m(_entries(day, store_ids).aggregate(t=Sum("amount"))["t"])


def outstanding_by_store(day: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[int | None, Decimal]:
    rows = _entries(day, store_ids).values("store_id").annotate(t=Sum("amount")).order_by()
    return {r["store_id"]: _m(r["t"]) for r in rows}


def outstanding_by_scope(day: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[str, Decimal]:
    """{batch scope ("" the chain's cards, else a brand code): outstanding} at the end of `day`."""
    rows = _entries(day, store_ids).values("card__batch__scope").annotate(t=Sum("amount")).order_by()
    return {r["card__batch__scope"]: _m(r["t"]) for r in rows}


def day_movements(day: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[str, Decimal]:
    """{kind: amount} of the day's gift-card entries (sold, spent, returned)."""
    start, end = day_bounds(day, day)
    entries = GiftCardEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    if store_ids is not None:
        entries = entries.filter(store_id__in=list(store_ids))
    return {r["kind"]: _m(r["t"]) for r in entries.values("kind").annotate(t=Sum("amount")).order_by()}


def period_totals(start: dt.date, end: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[str, Decimal]:
    """The dashboard's gift-card tiles for [start, end] at the stores (None: the chain): value sold (activated),
    value spent (spends less returns) and the outstanding value at the end of `end` — the same definitions as the
    gift-card part of the stored-value books (finance_gift_cards), where the money moved."""
    lo, hi = day_bounds(start, end)
    entries = GiftCardEntry.objects.filter(created_at__gte=lo, created_at__lt=hi)
    if store_ids is not None:
        entries = entries.filter(store_id__in=list(store_ids))
    s = entries.aggregate(sold=Sum("amount", filter=Q(kind=GiftEntryKind.SALE)),
                          spent=Sum("amount", filter=Q(kind__in=(GiftEntryKind.SPEND, GiftEntryKind.RETURN))))
    return {"sold": _m(s["sold"]), "spent": _m(-_m(s["spent"])), "outstanding": outstanding(end, store_ids=store_ids)}


def finance_gift_cards(day: dt.date, *, store_ids: list[int] | None = None) -> dict:
    """The gift-card part of the stored-value books for `day` (liability.finance_day adds it as "礼品卡"): the
    outstanding value at the end of the day per store and per brand, and the day's movements per kind."""
    from membercare.org.models import Brand, Store

    by_store = outstanding_by_store(day, store_ids=store_ids)
    stores = {pk: (code, name) for pk, code, name in Store.objects.filter(
        pk__in=[k for k in by_store if k is not None]).values_list("pk", "code", "name")}
    by_scope = outstanding_by_scope(day, store_ids=store_ids)
    brands = dict(Brand.objects.filter(code__in=[k for k in by_scope if k]).values_list("code", "name"))
    moved = day_movements(day, store_ids=store_ids)
    return {
        "total": outstanding(day, store_ids=store_ids),
        "stores": sorted(({"store_id": k, "code": stores.get(k, ("", ""))[0], "name": stores.get(k, ("", ""))[1],
                           "total": v} for k, v in by_store.items()), key=lambda r: (r["store_id"] is None, r["code"])),
        "scopes": sorted(({"scope": k, "name": brands.get(k, k), "total": v} for k, v in by_scope.items()),
                         key=lambda r: r["scope"]),
        "kinds": [{"kind": k, "label": label, "amount": moved.get(k, ZERO)} for k, label in GiftEntryKind.choices
                  if k not in (GiftEntryKind.TRANSFER, GiftEntryKind.VOID)],
    }


def card_differences(limit: int = 100) -> tuple[int, list[dict]]:
    """For the daily reconciliation: gift cards whose balance differs from their ledger (or is negative), and
    the chain's gift-card balances against the ledger's sum: (cards off, the first `limit` differences)."""
    sums = {r["card_id"]: _m(r["t"]) for r in GiftCardEntry.objects.values("card_id").annotate(t=Sum("amount"))
            .order_by()}
    off = []
    for pk, serial, balance in GiftCard.objects.values_list("pk", "serial", "balance").order_by("pk").iterator():
        ledger = sums.get(pk, ZERO)
        if _m(balance) != ledger or balance < 0:
            off.append({"gift_card": serial, "balance": str(_m(balance)), "ledger": str(ledger)})
    listed = off[:limit]
    if liability() != ledger_total():
        listed.append({"gift_card_total": True, "balances": str(liability()), "ledger": str(ledger_total())})
    return len(off), listed
