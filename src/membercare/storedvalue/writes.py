"""What every stored-value write shares: the refusal, amounts, the card a store serves, the card's lock and the
balance move with its ledger entry.

Every write holds the member's loyalty account lock (loyalty.points.lock_account) — the lock the checkout and
the return already hold — and then the card's row, so two stores writing for one member at once are
serialised and no yuan is lost or doubled. Balances are written as the locked values plus the change and
each change is a ledger entry in the same transaction; the table's constraints refuse a negative balance.
A refusal is a StoredValueError (a CheckoutError: a stable code and a message in the user's language) and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from membercare.core.permissions import can_work_members, require, visible_stores
from membercare.loyalty.points import lock_account
from membercare.org.models import Staff, Store
from membercare.sales.models import PaymentMethod, Receipt
from membercare.sales.pipeline import CheckoutError, money

from .models import CardState, StoredValueCard, StoredValueEntry
from .rules import METHOD_CODE, METHOD_NAME, Rules

ZERO = Decimal("0.00")


class StoredValueError(CheckoutError):
    """A stored-value refusal: a stable code (for the API) and a message in the user's language."""


def parse_amount(value, field: str = "amount") -> Decimal:
    """A positive amount in yuan with at most 2 places, or a refusal."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or money(amount) != amount:
        raise StoredValueError("amount_invalid", _("Give an amount in yuan above 0 with at most 2 decimal places."),
                               field)
    return money(amount)


def ensure_method() -> PaymentMethod:
    """The `stored_value` payment method, made when the first card is issued (a chain not using stored value
    does not see it at the till); one switched off stays off."""
    method, _created = PaymentMethod.objects.get_or_create(code=METHOD_CODE,
                                                           defaults={"name": METHOD_NAME, "position": 50})
    return method


def scope_of(store: Store | None, rules: Rules) -> str:
    """The scope of the cards a store serves: "" for the whole chain, or the store's brand code."""
    return "" if rules.scope == "chain" or store is None else store.brand.code


def live_card(member_id: int, scope: str, *, lock: bool = False) -> StoredValueCard | None:
    """The member's card in `scope` that is not closed (active or frozen). The card a store serves:
    `live_card(member_id, scope_of(store, current_rules()))`."""
    cards = StoredValueCard.objects.filter(member_id=member_id, scope=scope).exclude(status=CardState.CLOSED)
    if lock:
        cards = cards.select_for_update()
    return cards.first()


def _locked(card_id: int) -> StoredValueCard:
    return StoredValueCard.objects.select_for_update().get(pk=card_id)


def _move(card: StoredValueCard, principal: Decimal, bonus: Decimal, *, kind: str, at: dt.datetime,
          receipt: Receipt | None = None, method: PaymentMethod | None = None, store: Store | None = None,
          operator: Staff | None = None, reason: str = "") -> StoredValueEntry:
    """Change the locked card's balances by (principal, bonus) and write the entry of it."""
    card.principal, card.bonus = money(card.principal + principal), money(card.bonus + bonus)
    if card.principal < 0 or card.bonus < 0:
        raise StoredValueError("stored_value_insufficient", _("Only ¥%(n)s is left on the stored-value card.") % {
            "n": money(card.principal - principal + card.bonus - bonus)}, "payments")
    StoredValueCard.objects.filter(pk=card.pk).update(principal=card.principal, bonus=card.bonus)
    operator = operator if operator is not None and operator.pk else None
    return StoredValueEntry.objects.create(card=card, member_id=card.member_id, kind=kind, principal=principal,
                                           bonus=bonus, receipt=receipt, method=method, store=store,
                                           operator=operator, reason=reason[:200], created_at=at)


def _require_staff_at(by: Staff | None, store: Store | None) -> None:
    """Staff act for a store they work at (HQ: any store); the POS API (by=None) acts for its key's store."""
    if by is None:
        return
    require(can_work_members(by))
    if store is not None and not visible_stores(by).filter(pk=store.pk).exists():
        require(False)


def check_usable(card: StoredValueCard | None, on: dt.date) -> StoredValueCard:
    if card is None:
        raise StoredValueError("stored_value_none", _("This member has no stored-value card here."), "payments")
    if card.status == CardState.FROZEN:
        raise StoredValueError("stored_value_frozen", _("Stored-value card %(number)s is frozen.") % {
            "number": card.number}, "payments")
    if card.status != CardState.ACTIVE:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": card.number}, "payments")
    if card.expires_on is not None and card.expires_on < on:
        raise StoredValueError("stored_value_expired", _("Stored-value card %(number)s expired on %(date)s.") % {
            "number": card.number, "date": card.expires_on.isoformat()}, "payments")
    return card


def _successor(card: StoredValueCard, lineage: list[int] | None = None) -> StoredValueCard:
    """The live card that holds a card's balance now (a lost card's replacement, its replacement's…);
    `lineage` collects the ids walked, the first card's included."""
    seen = 0
    if lineage is not None:
        lineage.append(card.pk)
    while card.replaced_by_id is not None and seen < 100:
        card, seen = _locked(card.replaced_by_id), seen + 1
        if lineage is not None:
            lineage.append(card.pk)
    return card


def _card_for_write(card: StoredValueCard) -> StoredValueCard:
    lock_account(card.member_id)
    return _locked(card.pk)
