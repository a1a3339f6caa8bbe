"""Level progress: how far a member is from the next card at each brand they hold a card of (a read).

The next card is the programme's lowest tier above the member's current one at the card's issuing brand whose
prerequisite the member holds; the progress is the rolling rule's (paid at that brand's stores in the
programme's window, returns counted), as the upgrade after a sale evaluates it (`tiers.qualifies`). A tier's
single-receipt thresholds are listed beside it: one receipt that large upgrades at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from membercare.members.models import Member
from membercare.org.models import Brand
from membercare.sales.models import Series

from .models import Card, CardStatus
from .programme import Programme, Tier, programme_at
from .tiers import card_rank, rolling_paid

ZERO = Decimal("0")


@dataclass(frozen=True)
class LevelProgress:
    """One brand's step up: `next_label` None means the member holds the brand's highest card."""

    brand_name: str
    current_label: str
    next_label: str | None = None
    brand_code: str = ""
    next_code: str | None = None  # the next card's code (a programme tier's)
    window_days: int = 0
    paid: Decimal = ZERO
    goal: Decimal | None = None  # the rolling threshold (None: the next card has no rolling rule)
    single_receipt: Decimal | None = None
    by_series: list[tuple[str, Decimal]] = field(default_factory=list)  # (series name, amount on one receipt)

    @property
    def short(self) -> Decimal:
        return max(self.goal - self.paid, ZERO) if self.goal is not None else ZERO

    @property
    def percent(self) -> int:
        if not self.goal:
            return 0
        return int(min(self.paid / self.goal, Decimal("1")) * 100)


def _next_tier(current: Card | None, brand_code: str, programme: Programme) -> Tier | None:
    rank = card_rank(current, programme) if current else 0
    held = current.kind if current else None
    above = sorted((t for t in programme.tiers if t.issue_brand == brand_code and t.rank > rank
                    and (t.requires is None or t.requires == held)), key=lambda t: (t.rank, t.code))
    return above[0] if above else None


def level_progress(member: Member, *, now: dt.datetime | None = None, programme: Programme | None = None,
                   cards: list[Card] | None = None) -> list[LevelProgress]:
    """Per brand the member holds an active card of (the home store's brand when they hold none): the current
    card and the next, with what is paid towards it. One rolling sum per brand shown. `cards`: the member's
    active cards with their brands when the caller read them already."""
    now = now or timezone.now()
    programme = programme or programme_at(timezone.localdate(now))
    issuing = {t.issue_brand for t in programme.tiers}
    best: dict[str, Card | None] = {}
    if cards is None:
        cards = list(Card.objects.filter(member=member, status=CardStatus.ACTIVE).select_related("brand"))
    for card in cards:
        tier = programme.tier(card.kind)
        brand = tier.issue_brand if tier else card.brand.code
        if brand in issuing and (best.get(brand) is None or card_rank(card, programme) > card_rank(best[brand],
                                                                                                     programme)):
            best[brand] = card
    if not best and member.home_store_id:
        home = Brand.objects.filter(stores__pk=member.home_store_id).values_list("code", flat=True).first()
        if home in issuing:
            best[home] = None
    names = dict(Brand.objects.filter(code__in=best).values_list("code", "name"))
    series = None
    out = []
    order = [t.issue_brand for t in programme.tiers]  # the programme's order: the main brand first
    for brand in sorted(best, key=lambda code: (order.index(code), code)):
        card = best[brand]
        current = programme.label(card.kind) if card else ""
        nxt = _next_tier(card, brand, programme)
        if nxt is None:
            out.append(LevelProgress(brand_name=names.get(brand, brand), current_label=current, brand_code=brand))
            continue
        if nxt.single_receipt_by_series and series is None:
            series = dict(Series.objects.values_list("code", "name"))
        paid = rolling_paid(member, brand, until=now, days=programme.window_days) if nxt.rolling_paid else ZERO
        paid = max(paid, ZERO)  # returns of older sales can take the window below zero
        out.append(LevelProgress(
            brand_name=names.get(brand, brand), current_label=current, next_label=programme.label(nxt.code),
            brand_code=brand, next_code=nxt.code,
            window_days=programme.window_days, paid=paid, goal=nxt.rolling_paid, single_receipt=nxt.single_receipt,
            by_series=[((series or {}).get(code, code), amount)
                       for code, amount in nxt.single_receipt_by_series.items()]))  # the programme's order
    return out
