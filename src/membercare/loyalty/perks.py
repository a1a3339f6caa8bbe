"""Perks that are entitlements (seed 001: free alterations of the season's goods, the airport fast lane, the
magazine by post for diamond): a card level's named benefit with a quota per period, used at the counter.

The perks are programme data (`programme.Perk`, `tiers[].perks`). A use is a `PerkUse` row; `perk_use` (and the
sale pipeline's `PerkProvider`) count the member's uses of the perk in the period while the member's
LoyaltyAccount row is locked (`points.lock_account`), so two stores using the last one at once cannot both
succeed, and refuse a use past the quota with the perk, the quota and the period named; nothing is written then.

Periods are calendar periods in Asia/Shanghai: a month, a quarter ("season" is a calendar quarter too: the
season's goods change about every three months), a year; "none" is the lifetime of the card (its number is the
period). The quota counts the member's uses of the perk's code whatever card was used in the period, so an
upgrade in the middle of a season gives the new card's quota minus what was used already.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import visible_stores
from membercare.core.text import has_control
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store
from membercare.sales.pipeline import Adjustment, CheckoutError

from .models import Card, CardStatus, PerkUse
from .points import lock_account
from .programme import Perk, Programme, Tier, programme_at

MAX_PERKS_ON_SALE = 10  # perk codes one sale may use
MAX_NOTE = 200


@dataclass(frozen=True)
class PerkLeft:
    perk: Perk
    used: int
    left: int | None  # None: no limit
    period_key: str
    period_end: dt.date | None  # last day of the period (None: the card's lifetime)

    @property
    def quota(self) -> int | None:
        return self.perk.quota

    @property
    def period_label(self) -> str:
        return period_label(self.perk.period)


def period_of(period: str, on: dt.date, card_number: str) -> tuple[str, dt.date | None]:
    """The period's key and its last day for a use on `on` (a local date)."""
    if period == "month":
        nxt = dt.date(on.year + (on.month == 12), on.month % 12 + 1, 1)
        return f"{on.year:04d}-{on.month:02d}", nxt - dt.timedelta(days=1)
    if period in ("quarter", "season"):
        q = (on.month - 1) // 3 + 1
        nxt = dt.date(on.year + 1, 1, 1) if q == 4 else dt.date(on.year, q * 3 + 1, 1)
        return f"{on.year:04d}-Q{q}", nxt - dt.timedelta(days=1)
    if period == "year":
        return f"{on.year:04d}", dt.date(on.year, 12, 31)
    return f"card:{card_number}", None


def period_label(period: str) -> str:
    """“per season” as the counter says it."""
    return {"month": _("per month"), "quarter": _("per quarter"), "season": _("per quarter"),
            "year": _("per year")}.get(period, _("per card"))


def _quota_text(perk: Perk, used: int) -> str:
    params = {"perk": perk.name, "used": used, "quota": perk.quota}
    if perk.period == "month":
        return _("%(perk)s used %(used)d times this month (%(quota)d a month).") % params
    if perk.period in ("quarter", "season"):
        return _("%(perk)s used %(used)d times this quarter (%(quota)d a quarter).") % params
    if perk.period == "year":
        return _("%(perk)s used %(used)d times this year (%(quota)d a year).") % params
    return _("%(perk)s used %(used)d times on this card (%(quota)d for the card).") % params


def _used(member_id: int, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Uses (not reversed) of the member per (perk code, period key) asked for: one query."""
    keys = list(keys)
    if not keys:
        return {}
    rows = (PerkUse.objects.filter(member_id=member_id, reversed=False, perk_code__in={k for k, _p in keys},
                                   period_key__in={p for _k, p in keys})
            .values("perk_code", "period_key").annotate(n=Count("pk")))
    return {(r["perk_code"], r["period_key"]): r["n"] for r in rows}


def _tier_of(card: Card | None, programme: Programme) -> Tier | None:
    return programme.tier(card.kind) if card is not None else None


def perks_left(member: Member | int, card: Card | None, on: dt.date | None = None,
               programme: Programme | None = None) -> list[PerkLeft]:
    """The perks of the card's level with what is left in the period of `on` (one query; none for a card without
    perks). `card`: the card the member uses (the counter's, the lookup's)."""
    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    tier = _tier_of(card, programme)
    if tier is None or not tier.perks:
        return []
    member_id = member if isinstance(member, int) else member.pk
    used = _used(member_id, {(p.code, period_of(p.period, on, card.number)[0]) for p in tier.perks})
    return _left(tier, card, on, used)


def _left(tier: Tier, card: Card, on: dt.date, used: dict[tuple[str, str], int]) -> list[PerkLeft]:
    out = []
    for perk in tier.perks:
        key, end = period_of(perk.period, on, card.number)
        n = used.get((perk.code, key), 0)
        out.append(PerkLeft(perk=perk, used=n, left=None if perk.quota is None else max(perk.quota - n, 0),
                            period_key=key, period_end=end))
    return out


def perk_card(member: Member | int, store: Store, programme: Programme) -> Card | None:
    """The member's active card of the highest level with perks that the store's brand accepts."""
    member_id = member if isinstance(member, int) else member.pk
    brand = store.brand.code
    best: tuple[int, Card] | None = None
    for card in Card.objects.filter(member_id=member_id, status=CardStatus.ACTIVE).order_by("pk"):
        tier = programme.tier(card.kind)
        if tier is None or not tier.perks or (tier.brands and brand not in tier.brands):
            continue
        if best is None or tier.rank > best[0]:
            best = (tier.rank, card)
    return best[1] if best else None


def _check_codes(codes: list[str]) -> list[str]:
    if not isinstance(codes, list | tuple) or len(codes) > MAX_PERKS_ON_SALE:
        raise CheckoutError("perks_invalid", _("At most %(n)d perks on one sale.") % {"n": MAX_PERKS_ON_SALE},
                            "perks")
    clean = []
    for code in codes:
        if not isinstance(code, str) or not code.strip() or len(code) > 30 or has_control(code):
            raise CheckoutError("perks_invalid", _("A perk is named by its code (at most 30 characters)."), "perks")
        if code.strip() in clean:
            raise CheckoutError("perks_invalid", _("Each perk once per sale."), "perks")
        clean.append(code.strip())
    return clean


def _plan(member_id: int, card: Card | None, codes: list[str], on: dt.date,
          programme: Programme) -> list[tuple[Perk, str]]:
    """Each perk asked for with its period key, or the refusal: no such perk on the card, or its quota used."""
    tier = _tier_of(card, programme)
    label = programme.label(card.kind) if card else ""
    perks = []
    for code in codes:
        perk = tier.perk(code) if tier else None
        if perk is None:
            raise CheckoutError("perk_not_on_card", _("The card %(card)s has no perk “%(code)s”.") % {
                "card": label or (card.number if card else "—"), "code": code[:30]}, "perks")
        perks.append((perk, period_of(perk.period, on, card.number)[0]))
    used = _used(member_id, ((p.code, key) for p, key in perks if p.quota is not None))
    for perk, key in perks:
        if perk.quota is not None and used.get((perk.code, key), 0) >= perk.quota:
            raise CheckoutError("perk_quota_used", _quota_text(perk, used.get((perk.code, key), 0)), "perks")
    return perks


def _rows(member_id: int, card: Card, plan: list[tuple[Perk, str]], *, store: Store, clerk: Staff | None,
          at: dt.datetime, note: str, receipt=None) -> list[PerkUse]:
    return [PerkUse(member_id=member_id, card_number=card.number, tier=card.kind, perk_code=perk.code,
                    perk_name=perk.name, period_key=key, store=store, clerk=clerk, receipt=receipt, used_at=at,
                    note=note) for perk, key in plan]


@transaction.atomic
def perk_use(*, member: Member, perk_code: str, store: Store, clerk: Staff | None, note: str = "",
             at: dt.datetime | None = None) -> PerkUse:
    """Record one use of a perk of the member's card at `store` (not tied to a sale: the alteration taken in at
    the counter, the fast lane booked). Refused (CheckoutError, nothing written) past the quota of the period, for
    a perk the card does not have, or without a card with perks that the store accepts."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE or has_control(note):
        raise CheckoutError("note_invalid", _("The note has at most %(n)d characters and no control characters.")
                            % {"n": MAX_NOTE}, "note")
    codes = _check_codes([perk_code])
    at = at or timezone.now()
    on = timezone.localtime(at).date()
    programme = programme_at(on)
    lock_account(member)  # every use of this member's perks waits here: the count below is the truth
    card = perk_card(member, store, programme)
    if card is None:
        raise CheckoutError("perk_no_card", _("The member has no card with perks accepted at this store."), "perks")
    plan = _plan(member.pk, card, codes, on, programme)
    use = _rows(member.pk, card, plan, store=store, clerk=clerk, at=at, note=note)[0]
    use.save()
    return use


def can_reverse_perk_use(user: Staff, use: PerkUse, *, today: dt.date | None = None,
                         store_ids: set[int] | None = None) -> bool:
    """HQ, the manager of the use's store, or the clerk who recorded it on that same local day. `store_ids`: the
    manager's visible stores when the caller read them once for a list (see `perk_uses_with_reversal`)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or use.reversed:
        return False
    role = Role.ADMIN if user.is_superuser else user.role
    if role in (Role.SPECIALIST, Role.ADMIN):
        return True
    if role == Role.MANAGER:
        if store_ids is not None:
            return use.store_id in store_ids
        return visible_stores(user).filter(pk=use.store_id).exists()
    today = today or timezone.localdate()
    return use.clerk_id == user.pk and timezone.localtime(use.used_at).date() == today


def perk_uses_with_reversal(user: Staff, uses: list[PerkUse]) -> list[tuple[PerkUse, bool]]:
    """Each use with whether `user` may reverse it, the manager's stores read once for the whole list."""
    manager = uses and not user.is_superuser and getattr(user, "role", None) == Role.MANAGER
    store_ids = set(visible_stores(user).values_list("pk", flat=True)) if manager else None
    today = timezone.localdate()
    return [(use, can_reverse_perk_use(user, use, today=today, store_ids=store_ids)) for use in uses]


@transaction.atomic
def perk_use_reverse(*, use: PerkUse, by: Staff | None, reason: str = "") -> PerkUse:
    """A use recorded by mistake no longer counts (the row stays, marked reversed, with who, when and why). Refused
    (CheckoutError, nothing written) when it is reversed already or the reason is too long or has control
    characters; a reason is required when a person reverses it (`by`)."""
    reason = (reason or "").strip()
    if len(reason) > MAX_NOTE or has_control(reason):
        raise CheckoutError("reason_invalid", _("The reason has at most %(n)d characters and no control "
                                                "characters.") % {"n": MAX_NOTE}, "reason")
    if by is not None and not reason:
        raise CheckoutError("reason_required", _("Give the reason for reversing the use."), "reason")
    lock_account(use.member_id)
    changed = PerkUse.objects.filter(pk=use.pk, reversed=False).update(
        reversed=True, reversed_at=timezone.now(), reversed_by=by, reverse_reason=reason)
    if not changed:
        raise CheckoutError("perk_use_reversed", _("This use was reversed already."), "use")
    use.refresh_from_db()
    return use


def recent_perk_uses(member: Member | int, *, limit: int = 10) -> list[PerkUse]:
    """The member's latest perk uses, reversed ones too (the profile's list)."""
    member_id = member if isinstance(member, int) else member.pk
    return list(PerkUse.objects.filter(member_id=member_id).select_related("store", "clerk", "receipt",
                                                                             "reversed_by")
                .order_by("-used_at", "-pk")[:limit])


def receipt_perks(receipt) -> list[PerkUse]:
    return list(PerkUse.objects.filter(receipt=receipt).order_by("pk"))


class PerkProvider(Adjustment):
    """A sale may use perks (`SaleRequest.perks`: codes of the card's perks, one use each): checked in the quote
    (under the member's lock when the sale is written), recorded with the receipt. A return leaves them used
    (the alteration was done); a mistaken use is reversed on its own (perk_use_reverse)."""

    name = "perks"
    stage = "reward"
    order = 30
    label = ""

    def quote(self, sale) -> None:
        codes = list(getattr(sale.request, "perks", None) or [])
        if not codes:
            return
        codes = _check_codes(codes)
        if sale.card is None:
            raise CheckoutError("perk_no_card", _("The member has no card with perks accepted at this store."),
                                "perks")
        sale.parts[self.name] = (sale.card, _plan(sale.member.pk, sale.card, codes, sale.on, sale.programme))

    def commit(self, sale, receipt) -> None:
        card, plan = sale.parts.get(self.name) or (None, [])
        if plan:  # the card the quote checked (the tier evaluation may have upgraded sale.card since)
            PerkUse.objects.bulk_create(_rows(sale.member.pk, card, plan, store=sale.store, clerk=sale.clerk,
                                              at=receipt.sold_at, note="", receipt=receipt))
        receipt.perks_used = [perk.code for perk, _key in plan]


@dataclass(frozen=True)
class CardPerks:
    card: Card
    label: str
    perks: list[PerkLeft]


def member_perks(member: Member | int, *, cards: list[Card] | None = None, on: dt.date | None = None,
                 programme: Programme | None = None) -> list[CardPerks]:
    """Per active card with perks (the profile, the member centre): what is left this period. Uses of every card
    counted in one query."""
    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    member_id = member if isinstance(member, int) else member.pk
    if cards is None:
        cards = list(Card.objects.filter(member_id=member_id, status=CardStatus.ACTIVE).order_by("pk"))
    with_perks = [(c, programme.tier(c.kind)) for c in cards if c.status == CardStatus.ACTIVE]
    with_perks = [(c, t) for c, t in with_perks if t is not None and t.perks]
    if not with_perks:
        return []
    keys = {(p.code, period_of(p.period, on, c.number)[0]) for c, t in with_perks for p in t.perks}
    used = _used(member_id, keys)
    return [CardPerks(card=card, label=programme.label(card.kind),
                      perks=_left(tier, card, on, used)) for card, tier in with_perks]
