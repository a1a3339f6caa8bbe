"""Card lifecycle: applications, review, activation on signature, lost cards, upgrades, expiry."""

from __future__ import annotations

from django.utils import timezone

from membercare.members.models import Member

from .models import Card, CardApplication
from .programme import Programme, Tier


def propose_upgrade(*, member: Member, card: Card | None, tier: Tier, receipt, programme: Programme) -> Card | None:
    """The rules found that `member` qualifies for `tier` with this sale.

    With auto-approval the card is upgraded in place at once (same number, so the member's card keeps
    working; the old tier is remembered so a return of this receipt can undo it). Otherwise a pending
    application is filed for the specialist (once per member and tier)."""
    now = timezone.now()
    if programme.auto_approve_upgrades and card is not None:
        card.previous_kind = card.kind
        card.kind = tier.code
        card.upgraded_by = receipt
        card.valid_until = None
        card.is_group_purchase = receipt.is_group_purchase
        card.save(update_fields=["previous_kind", "kind", "upgraded_by", "valid_until", "is_group_purchase"])
        CardApplication.objects.create(
            member=member, kind=CardApplication.Kind.UPGRADE, card_kind=tier.code, old_card=card, new_card=card,
            store=receipt.store, receipt=receipt, status=CardApplication.Status.DONE, proposed_by_rules=True,
            filed_at=now, reviewed_at=now,
        )
        return card
    exists = CardApplication.objects.filter(member=member, card_kind=tier.code,
                                            status=CardApplication.Status.PENDING).exists()
    if not exists:
        CardApplication.objects.create(
            member=member, kind=CardApplication.Kind.UPGRADE if card else CardApplication.Kind.NEW,
            card_kind=tier.code, old_card=card, store=receipt.store, receipt=receipt, proposed_by_rules=True,
            filed_at=now,
        )
    return None


__all__ = ["propose_upgrade"]
