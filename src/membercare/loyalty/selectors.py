"""Reads for the card pages and the API: cards and card applications, filtered by what the user may see."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from membercare.core.permissions import can_edit_programme, visible_stores
from membercare.members.models import Member
from membercare.org.models import Staff

from .models import Card, CardApplication, CardStatus, normalize_card_number

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
                                       "receipt")
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
