"""Gift cards in use: the tender's spend and a return's credit, moving a bound card to another member,
voiding a card."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, require
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.models import Receipt

from .giftcards import ZERO, GiftCardError, _require_at, check_spendable, money
from .models import GiftCard, GiftCardEntry, GiftCardState, GiftEntryKind


@dataclass(frozen=True)
class GiftSpend:
    card_id: int
    serial: str
    amount: Decimal


def spend_commit(*, spends: list[GiftSpend], receipt: Receipt, member: Member | None, store: Store | None,
                 clerk: Staff | None, on: dt.date) -> list[GiftCardEntry]:
    """The sale's gift-card payments, inside its transaction: each card locked (in id order), checked again,
    its balance taken down; a card without a member is bound to the sale's member at its first use."""
    locked = {c.pk: c for c in GiftCard.objects.select_for_update(of=("self",)).select_related("batch")
              .filter(pk__in=sorted({s.card_id for s in spends})).order_by("pk")}
    entries = []
    for spend in spends:
        card = check_spendable(locked[spend.card_id], store, on)
        if member is not None and card.member_id not in (None, member.pk):
            raise GiftCardError("gift_card_other_member", _(
                "Gift card %(serial)s belongs to another member.") % {"serial": card.serial}, "payments")
        if spend.amount > card.balance:
            raise GiftCardError("gift_card_insufficient", _("Only ¥%(n)s is left on gift card %(serial)s.") % {
                "n": card.balance, "serial": card.serial}, "payments")
        card.balance = money(card.balance - spend.amount)
        if member is not None and card.member_id is None:
            card.member = member
        GiftCard.objects.filter(pk=card.pk).update(balance=card.balance, member=card.member)
        entries.append(GiftCardEntry.objects.create(
            card=card, kind=GiftEntryKind.SPEND, amount=-spend.amount, member=card.member, receipt=receipt,
            store=store, operator=clerk if clerk is not None and clerk.pk else None, created_at=receipt.sold_at))
    return entries


def return_credit(*, original: Receipt, ret: Receipt, amount: Decimal, store: Store | None, clerk: Staff | None,
                  at: dt.datetime) -> list[GiftCardEntry]:
    """Give `amount` (what the return refunds on the gift-card method) back to the cards that paid the original,
    in proportion to what each paid, by cumulative targets: partial returns add up to a full one exactly. An
    expired card is credited too (its validity is not extended)."""
    spent: dict[int, Decimal] = {}
    for card_id, total in (GiftCardEntry.objects.filter(receipt=original, kind=GiftEntryKind.SPEND)
                           .values_list("card_id").annotate(t=Sum("amount")).order_by("card_id")):
        spent[card_id] = -money(total)
    if not spent or amount <= 0:
        return []
    done = {card_id: money(total) for card_id, total in GiftCardEntry.objects.filter(
        receipt__original=original, kind=GiftEntryKind.RETURN).exclude(receipt=ret).values_list("card_id")
        .annotate(t=Sum("amount"))}
    spent_total = sum(spent.values(), ZERO)
    done_total = sum(done.values(), ZERO)
    amount = min(amount, spent_total - done_total)
    returned = done_total + amount
    locked = {c.pk: c for c in GiftCard.objects.select_for_update().filter(pk__in=sorted(spent)).order_by("pk")}
    entries, left = [], amount
    for i, (card_id, paid) in enumerate(spent.items()):
        have = done.get(card_id, ZERO)
        if i == len(spent) - 1:
            credit = left
        else:
            target = paid if returned >= spent_total else money(paid * returned / spent_total)
            credit = min(max(target - have, ZERO), paid - have, left)
        left -= credit
        if credit <= 0:
            continue
        card = locked[card_id]
        card.balance = money(card.balance + credit)
        GiftCard.objects.filter(pk=card.pk).update(balance=card.balance)
        entries.append(GiftCardEntry.objects.create(
            card=card, kind=GiftEntryKind.RETURN, amount=credit, member=card.member, receipt=ret, store=store,
            operator=clerk if clerk is not None and clerk.pk else None, created_at=at))
    return entries


# ------------------------------------------------------------------------------------------ holder, void


@transaction.atomic
def gift_card_transfer(*, card: GiftCard, to: Member, by: Staff, store: Store | None = None,
                       at: dt.datetime | None = None) -> GiftCard:
    """Staff move a card bound to a member to another member (the balance goes along; an entry of 0 records it)."""
    require(by is not None and bool(getattr(by, "is_authenticated", False)))
    if store is not None:
        _require_at(by, store)
    at = at or timezone.now()
    card = GiftCard.objects.select_for_update().get(pk=card.pk)
    if card.status != GiftCardState.ACTIVE:
        raise GiftCardError("gift_card_not_active", _("Gift card %(serial)s is not active.") % {
            "serial": card.serial}, "card")
    if card.member_id is None:
        raise GiftCardError("gift_card_not_bound", _(
            "Gift card %(serial)s belongs to nobody yet: it is bound to the member who first pays with it.") % {
            "serial": card.serial}, "card")
    if card.member_id == to.pk:
        raise GiftCardError("gift_card_same_member", _("The gift card already belongs to this member."), "member")
    card.member = to
    card.save(update_fields=["member"])
    GiftCardEntry.objects.create(card=card, kind=GiftEntryKind.TRANSFER, amount=ZERO, member=to, store=store,
                                 operator=by, created_at=at)
    return card


MAX_VOID_REASON = 200


@transaction.atomic
def gift_card_void(*, card: GiftCard, by: Staff, reason: str, at: dt.datetime | None = None) -> GiftCard:
    """HQ voids a card not sold yet (lost or stolen stock), with a reason: it can never be sold or spent. The void
    is an entry of 0 in the card's ledger (its history), the reason in its note. A card sold (spent or not) or
    already void is refused with the reason and nothing is written: a sold card's balance is its holder's money."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > MAX_VOID_REASON:
        raise GiftCardError("void_reason_invalid", _("Give the reason for voiding in at most %(n)d characters.") % {
            "n": MAX_VOID_REASON}, "reason")
    card = GiftCard.objects.select_for_update().get(pk=card.pk)
    if card.status == GiftCardState.VOID:
        raise GiftCardError("gift_card_already_void", _("Gift card %(serial)s is already void.") % {
            "serial": card.serial}, "card")
    if card.status == GiftCardState.ACTIVE and card.balance == ZERO:
        raise GiftCardError("gift_card_spent", _(
            "Gift card %(serial)s was sold and is spent: only unsold cards are voided.") % {
            "serial": card.serial}, "card")
    if card.status != GiftCardState.NEW:
        raise GiftCardError("gift_card_sold", _("Gift card %(serial)s was sold: only unsold cards are voided.") % {
            "serial": card.serial}, "card")
    card.status = GiftCardState.VOID
    card.save(update_fields=["status"])
    GiftCardEntry.objects.create(card=card, kind=GiftEntryKind.VOID, amount=ZERO, operator=by, note=reason,
                                 created_at=at)
    return card
