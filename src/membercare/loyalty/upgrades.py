"""Tier upgrades the rules find after a sale: applied at once (auto-approval) or proposed for review.

Below both the tier rules (tiers.evaluate_after_sale calls it) and the card lifecycle (cards re-exports
it), so neither imports the other in a circle.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member

from . import rows
from .models import Card, CardApplication
from .programme import Programme, Tier

# applications still in the specialist's hands (one per member and card kind)
OPEN_STATUSES = (CardApplication.Status.PENDING, CardApplication.Status.APPROVED)

_UPGRADED_FIELDS = ("previous_kind", "kind", "upgraded_by", "valid_until", "is_group_purchase")


def propose_upgrade(*, member: Member, card: Card | None, tier: Tier, receipt, programme: Programme) -> Card | None:
    """The rules found that `member` qualifies for `tier` with this sale (called by checkout).

    With auto-approval the card is upgraded in place at once (same number, so the member's card keeps
    working; the old tier is remembered so a return of this receipt can undo it). Otherwise a pending
    upgrade application is filed for the specialist's review queue (once per member and tier)."""
    now = timezone.now()
    if programme.auto_approve_upgrades and card is not None:
        card.previous_kind = card.kind
        card.kind = tier.code
        card.upgraded_by = receipt
        card.valid_until = None
        card.is_group_purchase = receipt.is_group_purchase
        # written by hand: part of the checkout's hot path (nothing listens to these models' save signals)
        rows.update_fields(card, _UPGRADED_FIELDS)
        rows.insert([CardApplication(
            member=member, kind=CardApplication.Kind.UPGRADE, card_kind=tier.code, old_card=card, new_card=card,
            store=receipt.store, receipt=receipt, status=CardApplication.Status.DONE, proposed_by_rules=True,
            filed_at=now, reviewed_at=now,
        )])
        return card
    exists = CardApplication.objects.filter(member=member, card_kind=tier.code, status__in=OPEN_STATUSES).exists()
    if not exists:
        CardApplication.objects.create(
            member=member, kind=CardApplication.Kind.UPGRADE if card else CardApplication.Kind.NEW,
            card_kind=tier.code, old_card=card, store=receipt.store, receipt=receipt, proposed_by_rules=True,
            filed_at=now,
            note=_("Proposed by the rules after receipt %(number)s.") % {"number": receipt.number},
        )
    return None
