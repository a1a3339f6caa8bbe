"""Topping up stored value at the counter or through the POS API: the card issued at the first top-up, the
bonus of the matching tier, the limits refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.sequences import reserve_numbers
from membercare.loyalty.models import Card, CardStatus
from membercare.loyalty.points import lock_account
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.models import PaymentMethod
from membercare.sales.pipeline import money

from .models import EntryKind, StoredValueCard, StoredValueEntry
from .rules import METHOD_CODE, Rules, current_rules
from .writes import (
    ZERO,
    StoredValueError,
    _move,
    _require_staff_at,
    check_usable,
    ensure_method,
    live_card,
    parse_amount,
    scope_of,
)


def _paying_method(code: str) -> PaymentMethod:
    if code == METHOD_CODE:
        raise StoredValueError("top_up_method_invalid", _("A top-up cannot be paid with stored value."), "method")
    method = PaymentMethod.objects.filter(code=code, is_active=True).first()
    if method is None:
        raise StoredValueError("payment_method_unknown", _("Unknown payment method “%(code)s”.") % {
            "code": str(code)[:20]}, "method")
    return method


def _card_kinds(member: Member) -> set[str]:
    return set(Card.objects.filter(member=member, status=CardStatus.ACTIVE).values_list("kind", flat=True))


@dataclass
class TopUp:
    card: StoredValueCard
    entry: StoredValueEntry
    principal: Decimal
    bonus: Decimal


def top_up(*, member: Member, amount, method: str, store: Store, by: Staff | None = None,
           at: dt.datetime | None = None, operator: Staff | None = None) -> TopUp:
    """Add `amount` (paid with the payment method `method`) to the member's card of the store's scope, with the
    bonus of the matching tier; the card is issued at the first top-up. Refused (nothing written) above the
    card's limit, in cash above the cash limit, without an ID number above the real-name threshold, on a
    frozen or expired card. `by`: the staff member acting (checked); `operator`: who took the money when the
    POS API says (default `by`)."""
    _require_staff_at(by, store)
    amount = parse_amount(amount)
    at = at or timezone.now()
    on = timezone.localtime(at).date()
    rules = current_rules()
    paying = _paying_method(method)
    if amount < rules.min_top_up:
        raise StoredValueError("top_up_too_small", _("A top-up is at least ¥%(n)s.") % {"n": rules.min_top_up},
                               "amount")
    if rules.non_cash_from is not None and amount >= rules.non_cash_from and paying.code in rules.cash_methods:
        raise StoredValueError("top_up_cash_refused", _(
            "A top-up of ¥%(n)s or more must be paid by bank transfer or card, not in cash.") % {
            "n": rules.non_cash_from}, "method")
    if rules.real_name_from is not None and amount >= rules.real_name_from and not member.id_number:
        raise StoredValueError("top_up_real_name_required", _(
            "A top-up of ¥%(n)s or more needs the member's ID number on file (real-name registration).") % {
            "n": rules.real_name_from}, "amount")
    with transaction.atomic():
        lock_account(member)
        scope = scope_of(store, rules)
        card = live_card(member.pk, scope, lock=True)
        if card is None:
            card = _issue(member, scope, rules, at)
        check_usable(card, on)
        bonus = rules.bonus_for(amount, _card_kinds(member), on)
        limit = rules.card_rules(card.named).max_balance
        if card.balance + amount + bonus > limit:
            room = max(limit - card.balance, ZERO)
            raise StoredValueError("top_up_over_limit", _(
                "A stored-value card holds at most ¥%(limit)s: ¥%(balance)s is on it and this top-up would add "
                "¥%(add)s (bonus included). At most ¥%(room)s can be added.") % {
                "limit": limit, "balance": money(card.balance), "add": amount + bonus, "room": room}, "amount")
        entry = _move(card, amount, bonus, kind=EntryKind.TOP_UP, at=at, method=paying, store=store,
                      operator=operator or by,
                      reason=_("Top-up ¥%(amount)s, bonus ¥%(bonus)s") % {"amount": amount, "bonus": bonus})
    return TopUp(card=card, entry=entry, principal=amount, bonus=bonus)


def _issue(member: Member, scope: str, rules: Rules, at: dt.datetime) -> StoredValueCard:
    ensure_method()
    valid_days = rules.named.valid_days
    expires = timezone.localtime(at).date() + dt.timedelta(days=valid_days) if valid_days else None
    return StoredValueCard.objects.create(number=f"SV{reserve_numbers('stored_value_card')[0]:010d}", member=member,
                                          scope=scope, named=True, principal=ZERO, bonus=ZERO, expires_on=expires,
                                          created_at=at)
