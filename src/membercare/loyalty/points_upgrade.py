"""A level bought with points (seed 003: 积分可以……升级会员等级), where the programme allows it.

A level with `upgrade_points` (programme.Tier) can be bought by a member who holds an active card of the
level's issuing brand ranked below it (and, when the level has a prerequisite, that prerequisite card): the
points are taken from the oldest lots (kind "redeem", the reason naming the level) and the card is upgraded in
place (same number, as an upgrade by the rules), with a done upgrade application as the record — both under
the member's account lock, so two counters (or a double tap) cannot spend the points twice or upgrade twice.
Refused with the reason, nothing written: the level is not for points, no card to upgrade, too few points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.pipeline import CheckoutError

from .models import Card, CardApplication, CardStatus, PointsEntry
from .points import lock_account, points_take
from .programme import Programme, Tier, programme_at
from .tiers import card_rank


@dataclass(frozen=True)
class PointsUpgrade:
    """A level the member could buy now: the card it upgrades and the points it costs."""

    card: Card
    tier: Tier
    label: str  # the level's name
    points: int
    affordable: bool


def _brand_of(card: Card, programme: Programme) -> str:
    tier = programme.tier(card.kind)
    return tier.issue_brand if tier else card.brand.code


def _eligible(card: Card, tier: Tier, programme: Programme) -> bool:
    return (card.status == CardStatus.ACTIVE and _brand_of(card, programme) == tier.issue_brand
            and card_rank(card, programme) < tier.rank and (tier.requires is None or card.kind == tier.requires))


def points_upgrades(member: Member, *, balance: int, cards: list[Card] | None = None,
                    programme: Programme | None = None) -> list[PointsUpgrade]:
    """The levels the member may buy with points, the next one above each card (the profile's offer)."""
    programme = programme or programme_at()
    if not any(t.upgrade_points for t in programme.tiers):
        return []
    if cards is None:
        cards = list(Card.objects.filter(member=member, status=CardStatus.ACTIVE).select_related("brand"))
    out = []
    for card in cards:
        above = sorted((t for t in programme.tiers if t.upgrade_points and _eligible(card, t, programme)),
                       key=lambda t: (t.rank, t.code))
        if above:
            tier = above[0]
            out.append(PointsUpgrade(card=card, tier=tier, label=programme.label(tier.code),
                                     points=tier.upgrade_points, affordable=balance >= tier.upgrade_points))
    return out


@transaction.atomic
def upgrade_with_points(*, member: Member, card_number: str, tier_code: str, store: Store, by: Staff,
                        at: dt.datetime | None = None) -> Card:
    """Upgrade the member's card `card_number` to `tier_code` for the level's points (module docstring).
    Raises CheckoutError with the reason (nothing written)."""
    at = at or timezone.now()
    account = lock_account(member)
    programme = programme_at(timezone.localtime(at).date())
    tier = programme.tier(tier_code)
    if tier is None or not tier.upgrade_points:
        raise CheckoutError("upgrade_not_for_points", _("This level cannot be bought with points."), "tier")
    card = (Card.objects.select_for_update().select_related("brand")
            .filter(member=member, number=card_number[:20]).first())
    if card is None or not _eligible(card, tier, programme):
        raise CheckoutError("upgrade_no_card", _("The member holds no active card that %(level)s upgrades.")
                            % {"level": programme.label(tier.code)}, "card")
    if account.points < tier.upgrade_points:
        raise CheckoutError("upgrade_points_short", _(
            "%(level)s costs %(points)s points; the member has %(balance)s.") % {
            "level": programme.label(tier.code), "points": f"{tier.upgrade_points:,}",
            "balance": f"{account.points:,}"}, "points")
    label = programme.label(tier.code)
    points_take(account, tier.upgrade_points, kind=PointsEntry.Kind.REDEEM, operator=by, at=at,
                reason=_("Upgraded to %(level)s with points") % {"level": label})
    old_kind = card.kind
    card.previous_kind = old_kind
    card.kind = tier.code
    card.valid_until = None
    card.upgraded_by = None
    card.save(update_fields=["previous_kind", "kind", "valid_until", "upgraded_by"])
    CardApplication.objects.create(
        member=member, kind=CardApplication.Kind.UPGRADE, card_kind=tier.code, old_card=card, new_card=card,
        store=store, status=CardApplication.Status.DONE, filed_by=by, filed_at=at, reviewed_at=at,
        note=_("Bought with %(points)s points (was %(old)s).") % {"points": f"{tier.upgrade_points:,}",
                                                               "old": programme.label(old_kind)})
    return card
