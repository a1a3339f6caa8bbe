"""The card part of the daily job: accumulation cards expire after their year; tiers are re-evaluated on
each card anniversary (retention). Both are idempotent: running the job twice a day changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.dates import is_leap_year

from .models import Card, CardApplication, CardKind, CardStatus
from .points import lock_account
from .programme import Programme, Tier, programme_at
from .tiers import combine_rules, purchase_days, rolling_paid, window_rules


def cards_expire_due(today: dt.date | None = None) -> int:
    """Active cards whose validity ended before `today` become EXPIRED. Idempotent; returns the count."""
    today = today or timezone.localdate()
    return Card.objects.filter(status=CardStatus.ACTIVE, valid_until__lt=today).update(status=CardStatus.EXPIRED)


@dataclass(frozen=True)
class RetentionChange:
    card_id: int
    number: str
    old_kind: str
    new_kind: str
    paid: Decimal
    threshold: Decimal | None  # the rolling amount (None: the level has only a purchase-days rule)
    days: int = 0  # purchase days in the window (when the level has that rule)
    days_goal: int | None = None


def _one_level_down(tier: Tier, programme: Programme) -> str:
    """The prerequisite card, else the brand's next lower rank, else the accumulation card."""
    if tier.requires:
        return tier.requires
    lower = [t for t in programme.tiers if t.issue_brand == tier.issue_brand and t.rank < tier.rank]
    return max(lower, key=lambda t: t.rank).code if lower else CardKind.ACCUMULATION


def card_anniversary_base(card: Card) -> dt.date:
    """The day the card got its tier: the upgrade receipt's day, else activation, else issue."""
    base = (card.upgraded_by.sold_at if card.upgraded_by_id and card.upgraded_by else None) \
        or card.activated_at or card.issued_at
    return timezone.localtime(base).date()


def _retention_marker(card: Card, today: dt.date) -> Q:
    return Q(old_card=card, new_card=card, receipt__isnull=True, proposed_by_rules=True,
             status=CardApplication.Status.DONE, filed_at__date=today)


def cards_retention_due(today: dt.date | None = None) -> list[RetentionChange]:
    """Tier retention on each card anniversary.

    For every ACTIVE elite/diamond/knight card whose anniversary is `today` (month and day of the day it
    got its tier; 29 February counts on 28 February in other years), the paid amount of the last
    `window_days` (the tier's issue brand's stores, up to the start of `today`) is compared with the
    card's rolling threshold, and its purchase days with the purchase-days rule (either kept rule keeps the level
    when the level's `qualify` is "any", every one when "all"). When it falls short the card drops one level
    (its prerequisite, else the brand's next lower rank: diamond -> elite, elite/knight -> accumulation with a
    fresh validity), and further levels while still short, but at most `retention_grace_levels` levels in
    all; a grace of 0 keeps every tier. The change is made in
    place (same number) and recorded as a done application; running the job twice a day changes nothing.
    """
    today = today or timezone.localdate()
    programme = programme_at(today)
    grace = programme.retention_grace_levels
    if grace <= 0:
        return []
    days = [(today.month, today.day)]
    if today.month == 2 and today.day == 28 and not is_leap_year(today.year):
        days.append((2, 29))
    codes = [t.code for t in programme.tiers if window_rules(t)]
    start_of_today = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    match = Q()
    for month, day in days:
        match |= Q(base__month=month, base__day=day)
    due = (Card.objects.filter(status=CardStatus.ACTIVE, kind__in=codes)
           .annotate(base=Coalesce("upgraded_by__sold_at", "activated_at", "issued_at"))
           .filter(match, base__lt=start_of_today - dt.timedelta(days=300)).values_list("pk", flat=True))
    changes = []
    for pk in list(due):
        change = _retain_one(pk, today, start_of_today, programme, grace)
        if change:
            changes.append(change)
    return changes


@transaction.atomic
def _retain_one(pk: int, today: dt.date, until: dt.datetime, programme: Programme,
                grace: int) -> RetentionChange | None:
    card = Card.objects.select_related("member").get(pk=pk)
    lock_account(card.member_id)
    card = Card.objects.select_for_update(of=("self",)).select_related("member").get(pk=pk)
    if card.status != CardStatus.ACTIVE or CardApplication.objects.filter(_retention_marker(card, today)).exists():
        return None
    tier = programme.tier(card.kind)
    if tier is None or not window_rules(tier):
        return None
    old_kind, threshold, days_goal = card.kind, tier.rolling_paid, tier.purchase_days
    paid = rolling_paid(card.member, tier.issue_brand, until=until, days=programme.window_days)
    days = purchase_days(card.member, tier.issue_brand, until=until, days=programme.window_days) \
        if days_goal is not None else 0
    kind, dropped = card.kind, 0
    while dropped < grace and tier is not None and window_rules(tier):
        if _keeps(tier, card, until, programme):
            break
        kind = _one_level_down(tier, programme)
        dropped += 1
        tier = programme.tier(kind)
    if kind == old_kind:
        return None
    if threshold is not None:
        note = _("Anniversary retention: ¥%(paid)s paid in the last 12 months, below ¥%(threshold)s; the card "
                 "goes from %(old)s to %(new)s.") % {
            "paid": paid, "threshold": threshold, "old": programme.label(old_kind), "new": programme.label(kind)}
    else:
        note = _("Anniversary retention: %(days)d purchase days in the last 12 months, below %(goal)d; the card "
                 "goes from %(old)s to %(new)s.") % {
            "days": days, "goal": days_goal, "old": programme.label(old_kind), "new": programme.label(kind)}
    card.previous_kind, card.kind, card.upgraded_by = old_kind, kind, None
    card.valid_until = today + dt.timedelta(days=programme.accumulation_valid_days) \
        if kind == CardKind.ACCUMULATION else None
    card.save(update_fields=["previous_kind", "kind", "upgraded_by", "valid_until"])
    now = timezone.now()
    CardApplication.objects.create(
        member_id=card.member_id, kind=CardApplication.Kind.UPGRADE, card_kind=kind, old_card=card, new_card=card,
        store=card.member.home_store, status=CardApplication.Status.DONE, proposed_by_rules=True,
        filed_at=now, reviewed_at=now, note=note,
    )
    return RetentionChange(card.pk, card.number, old_kind, kind, paid, threshold, days, days_goal)


def _keeps(tier: Tier, card: Card, until: dt.datetime, programme: Programme) -> bool:
    """Does the member still meet the level's window rules (amount, purchase days), combined as a sale's are?"""
    def amount() -> bool:
        return rolling_paid(card.member, tier.issue_brand, until=until, days=programme.window_days) >= tier.rolling_paid

    def frequency() -> bool:
        return purchase_days(card.member, tier.issue_brand, until=until,
                             days=programme.window_days) >= tier.purchase_days

    return combine_rules(tier, single=None, amount=amount, frequency=frequency)
