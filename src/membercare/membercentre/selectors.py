"""Member centre reads: the signed-in member, and what their card page shows (issue 22).

Every read is for one member (the session's): no page takes a member id from the request. The card page reads
a fixed number of small queries whatever the member's history (the newest rows, limited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Min, Sum
from django.utils import timezone

from membercare.campaigns.codes import display_code
from membercare.campaigns.models import Coupon
from membercare.events.models import Invitation
from membercare.loyalty.models import Card, CardStatus, LoyaltyAccount, PointsEntry
from membercare.loyalty.perks import member_perks
from membercare.loyalty.programme import programme_at
from membercare.loyalty.progress import level_progress
from membercare.members.models import Member
from membercare.sales.models import Receipt
from membercare.service.models import Survey
from membercare.storedvalue.selectors import member_cards

from .models import MemberSession
from .services import key_hash

RECEIPTS_SHOWN = 10
POINTS_SHOWN = 10


def session_of(key: str, now: dt.datetime | None = None) -> MemberSession | None:
    """The live session of a cookie's key, with its member (None: no such session, ended, expired, or the
    member erased)."""
    if not key or len(key) > 100:
        return None
    now = now or timezone.now()
    session = (MemberSession.objects.filter(key_hash=key_hash(key), ended_at__isnull=True, expires_at__gt=now)
               .first())
    if session is None:
        return None
    member = Member.objects.filter(pk=session.member_id).select_related("home_store").first()
    if member is None:  # erased
        return None
    session.member = member
    return session


def card_page(member: Member, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    today = timezone.localdate(now)
    cards = list(Card.objects.filter(member=member, status=CardStatus.ACTIVE).select_related("brand")
                 .order_by("brand__code", "-issued_at"))
    account = LoyaltyAccount.objects.filter(member=member).first()
    soon = today + dt.timedelta(days=settings.MEMBERCARE_POINTS_EXPIRING_DAYS)  # called out on the card
    expiring = (PointsEntry.objects.filter(member=member, remaining__gt=0, expires_on__gte=today, expires_on__lte=soon)
                .aggregate(points=Sum("remaining"), first=Min("expires_on")))
    points = list(PointsEntry.objects.filter(member=member).select_related("receipt__store")
                  .order_by("-created_at", "-pk")[:POINTS_SHOWN])
    coupons = [{"coupon": c, "code": display_code(c.code), "batch": c.batch}
               for c in (Coupon.objects.filter(member=member, redeemed_at__isnull=True, expired_on__isnull=True,
                                               batch__valid_from__lte=today, batch__valid_to__gte=today)
                         .select_related("batch", "batch__brand").order_by("batch__valid_to", "pk")[:20])]
    receipts = list(Receipt.objects.filter(member=member).select_related("store")
                    .order_by("-sold_at", "-pk")[:RECEIPTS_SHOWN])
    invitations = list(Invitation.objects.filter(member=member, held_out=False, event__cancelled=False,
                                                 event__ends_at__gte=now)
                       .select_related("event").order_by("event__starts_at")[:10])
    surveys = list(Survey.objects.filter(member=member, answered_at__isnull=True, expires_at__gt=now)
                   .select_related("store").order_by("-created_at")[:5])
    programme = programme_at(today)
    for card in cards:  # the level's name and card face colour are the programme's
        card.label, card.face_color = programme.label(card.kind), programme.color(card.kind)
    return {"cards": cards, "surveys": surveys,
            "progress": level_progress(member, now=now, cards=cards, programme=programme),
            "perks": member_perks(member, cards=cards, on=today, programme=programme),
            "points": account.points if account else 0,
            "expiring_points": expiring["points"] or 0, "expiring_first": expiring["first"],
            "points_entries": points, "coupons": coupons,
            "stored_value": [{"card": c, "balance": c.principal + c.bonus} for c in member_cards(member.pk)],
            "receipts": receipts, "invitations": invitations}
