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
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.org.models import Brand
from membercare.sales.models import Series

from .models import Card, CardStatus
from .programme import Programme, Tier, programme_at
from .tiers import card_rank, purchase_days_since, rolling_paid, window_rules

ZERO = Decimal("0")


def _yuan(amount: Decimal) -> str:
    """¥1,200 / ¥1,200.50: thousands separated, cents only when there are any."""
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


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
    # the frequency rule (issue 19): purchase days in the window towards the next card's `days_goal`
    days: int = 0
    days_goal: int | None = None
    qualify: str = "any"  # the next card's: "any" rule met upgrades, or "all"
    deadline: dt.date | None = None  # the last day of the current window: the oldest purchase counted drops out after
    # what keeps the current card at its anniversary (its window rules; None: nothing to keep)
    keep_goal: Decimal | None = None
    keep_days: int | None = None
    keep_qualify: str = "any"

    @property
    def days_short(self) -> int:
        return max(self.days_goal - self.days, 0) if self.days_goal is not None else 0

    @property
    def steps(self) -> str:
        """"再消费 ¥1,200 或再购物 2 天升级钻石卡": what is left by the window's rules ("" when none is left or
        the next card has no window rule)."""
        parts = []
        if self.goal is not None and self.short:
            parts.append(_("spend ¥%(amount)s more") % {"amount": _yuan(self.short)})
        if self.days_goal is not None and self.days_short:
            parts.append(_("shop on %(n)d more days") % {"n": self.days_short})
        if parts and self.qualify == "all" and self.single_receipt is not None:  # every rule: this one too
            parts.append(_("one receipt of ¥%(amount)s") % {"amount": _yuan(self.single_receipt)})
        if not parts or self.next_label is None:
            return ""
        joined = (_(" and ") if self.qualify == "all" else _(" or ")).join(parts)
        return _("%(steps)s to get the %(card)s") % {"steps": joined, "card": self.next_label}

    @property
    def keep(self) -> str:
        """What keeps the current card ("" when it has no window rule)."""
        parts = []
        if self.keep_goal is not None:
            parts.append(_("¥%(amount)s paid") % {"amount": _yuan(self.keep_goal)})
        if self.keep_days is not None:
            parts.append(_("%(n)d purchase days") % {"n": self.keep_days})
        if not parts:
            return ""
        joined = (_(" and ") if self.keep_qualify == "all" else _(" or ")).join(parts)
        return _("Keeps the %(card)s: %(rules)s within %(days)d days") % {
            "card": self.current_label, "rules": joined, "days": self.window_days}

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
        held = programme.tier(card.kind) if card else None
        keep = {"keep_goal": held.rolling_paid, "keep_days": held.purchase_days, "keep_qualify": held.qualify,
                "window_days": programme.window_days} if held is not None and window_rules(held) else {}
        nxt = _next_tier(card, brand, programme)
        if nxt is None:
            out.append(LevelProgress(brand_name=names.get(brand, brand), current_label=current, brand_code=brand,
                                     **keep))
            continue
        if nxt.single_receipt_by_series and series is None:
            series = dict(Series.objects.values_list("code", "name"))
        paid = rolling_paid(member, brand, until=now, days=programme.window_days) if nxt.rolling_paid else ZERO
        paid = max(paid, ZERO)  # returns of older sales can take the window below zero
        days, deadline = 0, None
        if nxt.purchase_days is not None:  # only then: a programme without the rule reads nothing more
            days, first = purchase_days_since(member, brand, until=now, days=programme.window_days)
            deadline = (timezone.localtime(first) + dt.timedelta(days=programme.window_days)).date() \
                if first else None
        keep.pop("window_days", None)
        out.append(LevelProgress(
            brand_name=names.get(brand, brand), current_label=current, next_label=programme.label(nxt.code),
            brand_code=brand, next_code=nxt.code,
            window_days=programme.window_days, paid=paid, goal=nxt.rolling_paid, single_receipt=nxt.single_receipt,
            by_series=[((series or {}).get(code, code), amount)
                       for code, amount in nxt.single_receipt_by_series.items()],  # the programme's order
            days=days, days_goal=nxt.purchase_days, qualify=nxt.qualify, deadline=deadline, **keep))
    return out
