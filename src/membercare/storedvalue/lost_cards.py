"""Freezing and unfreezing a stored-value card, and moving a lost card's whole balance to a new card."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.sequences import reserve_numbers
from membercare.org.models import Staff, Store

from .models import CardState, EntryKind, RefundState, StoredValueCard, StoredValueRefund
from .writes import ZERO, StoredValueError, _card_for_write, _move, _require_staff_at


@transaction.atomic
def freeze(*, card: StoredValueCard, by: Staff | None, reason: str, store: Store | None = None) -> StoredValueCard:
    """Stop a card at once (reported lost, a dispute): no spend or top-up until it is unfrozen or moved."""
    _require_staff_at(by, store)
    if not reason.strip():
        raise StoredValueError("reason_required", _("Give a reason."), "reason")
    card = _card_for_write(card)
    if card.status != CardState.ACTIVE:
        raise StoredValueError("stored_value_not_active", _("Stored-value card %(number)s is not active.") % {
            "number": card.number}, "card")
    card.status, card.frozen_reason = CardState.FROZEN, reason.strip()[:200]
    card.save(update_fields=["status", "frozen_reason"])
    return card


@transaction.atomic
def unfreeze(*, card: StoredValueCard, by: Staff | None, store: Store | None = None) -> StoredValueCard:
    _require_staff_at(by, store)
    card = _card_for_write(card)
    if card.status != CardState.FROZEN:
        raise StoredValueError("stored_value_not_frozen", _("Stored-value card %(number)s is not frozen.") % {
            "number": card.number}, "card")
    card.status, card.frozen_reason = CardState.ACTIVE, ""
    card.save(update_fields=["status", "frozen_reason"])
    return card


@transaction.atomic
def transfer(*, card: StoredValueCard, by: Staff | None, store: Store | None = None,
             at: dt.datetime | None = None) -> StoredValueCard:
    """A lost card: closed at once, a new card issued, the whole balance (principal and bonus) moved to it."""
    _require_staff_at(by, store)
    at = at or timezone.now()
    old = _card_for_write(card)
    if old.status == CardState.CLOSED:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": old.number}, "card")
    principal, bonus = old.principal, old.bonus
    old.status = CardState.CLOSED
    old.save(update_fields=["status"])
    new = StoredValueCard.objects.create(
        number=f"SV{reserve_numbers('stored_value_card')[0]:010d}", member_id=old.member_id, scope=old.scope,
        named=old.named, principal=ZERO, bonus=ZERO, expires_on=old.expires_on, created_at=at)
    # the member's code goes along with its count of wrong tries and any lock-out: reporting the card lost
    # must not give a thief a fresh set of tries
    StoredValueCard.objects.filter(pk=new.pk).update(code_hash=old.code_hash, code_failures=old.code_failures,
                                                     code_locked_until=old.code_locked_until)
    StoredValueCard.objects.filter(pk=old.pk).update(replaced_by=new)
    old.replaced_by = new
    # a refund awaiting HQ follows the balance: HQ approves it on the new card (the old one holds nothing)
    StoredValueRefund.objects.filter(card=old, status=RefundState.PENDING).update(card=new)
    reason = _("Card %(old)s reported lost: balance moved to %(new)s") % {"old": old.number, "new": new.number}
    _move(old, -principal, -bonus, kind=EntryKind.TRANSFER_OUT, at=at, store=store, operator=by, reason=reason)
    _move(new, principal, bonus, kind=EntryKind.TRANSFER_IN, at=at, store=store, operator=by, reason=reason)
    return new
