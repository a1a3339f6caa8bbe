"""Reading stored value: a member's cards and balances, a card's ledger, the chain's liability."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum

from .models import CardState, StoredValueCard, StoredValueEntry, StoredValueRefund

ZERO = Decimal("0.00")


def member_cards(member_id: int) -> QuerySet[StoredValueCard]:
    """The member's live cards (active or frozen), one per scope."""
    return StoredValueCard.objects.filter(member_id=member_id).exclude(status=CardState.CLOSED).order_by("scope")


def card_entries(card: StoredValueCard, *, limit: int = 50) -> QuerySet[StoredValueEntry]:
    return (StoredValueEntry.objects.filter(card=card).select_related("receipt", "method", "store", "operator")
            .order_by("-created_at", "-pk")[:limit])


def ledger_sums(card: StoredValueCard) -> tuple[Decimal, Decimal]:
    """(principal, bonus) summed over the card's ledger: always equal to the card's balances."""
    sums = StoredValueEntry.objects.filter(card=card).aggregate(p=Sum("principal"), b=Sum("bonus"))
    return (sums["p"] or ZERO).quantize(Decimal("0.01")), (sums["b"] or ZERO).quantize(Decimal("0.01"))


def liability() -> Decimal:
    """What the chain owes its members on stored value: the sum of every card's balance."""
    sums = StoredValueCard.objects.aggregate(p=Sum("principal"), b=Sum("bonus"))
    return ((sums["p"] or ZERO) + (sums["b"] or ZERO)).quantize(Decimal("0.01"))


def pending_refunds() -> QuerySet[StoredValueRefund]:
    return StoredValueRefund.objects.filter(status="pending").select_related("card__member", "store", "requested_by")


def member_entries(member_id: int) -> QuerySet[StoredValueEntry]:
    """Every movement on the member's cards (closed ones included), newest first."""
    return (StoredValueEntry.objects.filter(member_id=member_id)
            .select_related("card", "receipt", "method", "store").order_by("-created_at", "-pk"))


def member_stored_value_events(member, limit: int) -> list:
    """The member timeline's source (registered in apps.ready): each movement of stored value."""
    from django.utils.translation import gettext as _

    from membercare.core.timeline import TimelineEvent

    events = []
    for e in member_entries(member.pk)[:limit]:
        title = _("%(kind)s ¥%(amount)s (principal ¥%(principal)s, bonus ¥%(bonus)s), card %(card)s") % {
            "kind": e.get_kind_display(), "amount": e.amount, "principal": e.principal, "bonus": e.bonus,
            "card": e.card.number}
        extra = {"store_id": e.store_id}
        if e.receipt_id:
            extra.update(receipt=e.receipt.number, receipt_id=e.receipt_id)
        events.append(TimelineEvent(at=e.created_at, kind="stored_value", title=title,
                                    detail=" · ".join(x for x in (e.store.name if e.store_id else "", e.reason) if x),
                                    extra=extra))
    return events
