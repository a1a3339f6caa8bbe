"""Writing stored value: top-ups, spends (the sale pipeline's tender calls `spend_commit`), money given back on a
return, the refund of the balance with HQ's approval, freezing and moving a lost card's balance.

Every write holds the member's loyalty account lock (loyalty.points.lock_account) — the lock the checkout and
the return already hold — and then the card's row, so two stores writing for one member at once are
serialised and no yuan is lost or doubled. Balances are written as the locked values plus the change and
each change is a ledger entry in the same transaction; the table's constraints refuse a negative balance.
A refusal is a StoredValueError (a CheckoutError: a stable code and a message in the user's language) and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth.hashers import check_password, make_password
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, can_work_members, require, visible_stores
from membercare.core.sequences import reserve_numbers
from membercare.core.versioned import latest_document_sql
from membercare.loyalty import rows
from membercare.loyalty.models import Card, CardStatus
from membercare.loyalty.points import lock_account
from membercare.members.models import Member
from membercare.messaging.otp import CodeRefused, SentCode, code_pending, code_send, code_verify
from membercare.org.models import Staff, Store
from membercare.sales.models import PaymentMethod, Receipt
from membercare.sales.pipeline import CheckoutError, money

from .models import CardState, EntryKind, RefundState, StoredValueCard, StoredValueEntry, StoredValueRefund
from .rules import METHOD_CODE, METHOD_NAME, Rules, current_rules, parse_rules

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


# -------------------------------------------------------------------------------- the checkout's hot path

_CARD = StoredValueCard._meta
_SALE_FIELDS = tuple(_CARD.get_field(name) for name in (
    "id", "number", "member", "scope", "named", "status", "principal", "bonus", "expires_on"))


_METHOD = PaymentMethod._meta
_METHOD_FIELDS = tuple(_METHOD.get_field(name) for name in ("id", "code", "name", "is_active", "position"))


@functools.cache
def _cards_and_rules_sql() -> str:
    from .models import StoredValueSettings

    return (f"SELECT c.id, c.number, c.member_id, c.scope, c.named, c.status, c.principal, c.bonus, c.expires_on, "
            f"({latest_document_sql(StoredValueSettings)}), m.id, m.code, m.name, m.is_active, m.position "
            f"FROM (SELECT 1 AS one) o "
            f"LEFT JOIN {_CARD.db_table} c ON c.member_id = %s AND c.status <> 'closed' "
            f"LEFT JOIN {_METHOD.db_table} m ON m.code = %s AND m.is_active")


@functools.lru_cache(maxsize=8)
def _rules_of(document: str | None) -> Rules:
    return parse_rules(json.loads(document) if document else {})


@dataclass(frozen=True)
class SaleCard:
    card: StoredValueCard | None
    rules: Rules
    method: PaymentMethod | None  # the active `stored_value` payment method (None: switched off)


def sale_card(member_id: int, store: Store | None) -> SaleCard:
    """The member's live card the store serves, the rules in force and the payment method, read in one
    statement (the checkout's hot path; the rules of one stored document are parsed once per process)."""
    n = len(_SALE_FIELDS)
    found = rows.fetch_all(_cards_and_rules_sql(), [member_id, METHOD_CODE], (*_SALE_FIELDS, None, *_METHOD_FIELDS))
    first = found[0] if found else [None] * (n + 1 + len(_METHOD_FIELDS))
    rules = _rules_of(first[n])
    scope = scope_of(store, rules)
    card = next((rows.instance(StoredValueCard, _SALE_FIELDS, r[:n]) for r in found
                 if r[0] is not None and r[3] == scope), None)
    method = rows.instance(PaymentMethod, _METHOD_FIELDS, first[n + 1:]) if first[n + 1] is not None else None
    return SaleCard(card, rules, method)


def spend_statement(card_id: int, principal: Decimal, bonus: Decimal, *, code_right: bool) -> tuple[str, list]:
    """The sale's spend on the card, as one UPDATE run with the receipt's insert (sales.pipeline.SaleRows
    `before`): the balances less (principal, bonus), only while the card is active and holds them (the member's
    lock, held by the checkout since the quote, keeps them so); a right member code starts the count of wrong
    tries again. Changes one row, or none (`spend_applied` refuses the sale then)."""
    reset = ", code_failures = 0, code_locked_until = NULL" if code_right else ""
    return (f"UPDATE {_CARD.db_table} SET principal = principal - %s, bonus = bonus - %s{reset} "
            f"WHERE id = %s AND status = 'active' AND principal >= %s AND bonus >= %s",
            [principal, bonus, card_id, principal, bonus])


def spend_applied(changed: int) -> None:
    if changed != 1:  # not reachable under the member's lock; the sale is refused, nothing written
        raise StoredValueError("stored_value_insufficient", _("The stored-value card changed during the sale: try "
                                                              "again."), "payments")


def spend_entry(*, card_id: int, member_id: int, principal: Decimal, bonus: Decimal, store: Store | None,
                clerk: Staff | None, at: dt.datetime) -> StoredValueEntry:
    """The ledger entry of a sale's spend (linked to the receipt by the receipt's insert)."""
    return StoredValueEntry(card_id=card_id, member_id=member_id, kind=EntryKind.SPEND, principal=-principal,
                            bonus=-bonus, store=store, operator=clerk if clerk is not None and clerk.pk else None,
                            reason="", created_at=at)


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


# ---------------------------------------------------------------------------------------------------- top-up


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


# ----------------------------------------------------------------------------------------------------- spend


def split_spend(card: StoredValueCard, amount: Decimal, order: str) -> tuple[Decimal, Decimal]:
    """(principal, bonus) taken for a spend of `amount` (≤ the balance) in the programme's order or ratio."""
    if order == "principal_first":
        principal = min(amount, card.principal)
        return principal, amount - principal
    if order == "bonus_first":
        bonus = min(amount, card.bonus)
        return amount - bonus, bonus
    total = card.principal + card.bonus
    bonus = money(amount * card.bonus / total) if total else ZERO
    bonus = min(max(bonus, amount - card.principal), card.bonus, amount)  # within both balances
    return amount - bonus, bonus


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


def return_credit(*, original: Receipt, ret: Receipt, amount: Decimal, store: Store | None, clerk: Staff | None,
                  at: dt.datetime) -> StoredValueEntry | None:
    """Give `amount` (what the return refunds on stored value) back, in the original spend's principal/bonus
    split by cumulative targets: a series of partial returns gives back exactly what a full return would."""
    spent = StoredValueEntry.objects.filter(receipt=original, kind=EntryKind.SPEND).order_by("pk")
    first = spent.first()
    if first is None or amount <= 0:
        return None
    totals = spent.aggregate(p=Sum("principal"), b=Sum("bonus"))
    spent_p, spent_b = -money(totals["p"] or ZERO), -money(totals["b"] or ZERO)
    done = StoredValueEntry.objects.filter(receipt__original=original, kind=EntryKind.RETURN).exclude(
        receipt=ret).aggregate(p=Sum("principal"), b=Sum("bonus"))
    done_p, done_b = money(done["p"] or ZERO), money(done["b"] or ZERO)
    amount = min(amount, spent_p + spent_b - done_p - done_b)
    if amount <= 0:
        return None
    returned = done_p + done_b + amount
    target_b = spent_b if returned >= spent_p + spent_b else money(spent_b * returned / (spent_p + spent_b))
    bonus = min(max(target_b - done_b, amount - (spent_p - done_p), ZERO), spent_b - done_b, amount)
    lineage: list[int] = []
    card = _successor(_locked(first.card_id), lineage)
    entry = _move(card, amount - bonus, bonus, kind=EntryKind.RETURN, at=at, receipt=ret, store=store,
                  operator=clerk, reason=_("Return of receipt %(number)s") % {"number": original.number})
    if bonus and StoredValueRefund.objects.filter(card_id__in=lineage, status=RefundState.APPROVED,
                                                  decided_at__gt=first.created_at).exists():
        # the balance was refunded after the sale and its bonus forfeited then: the bonus part of this return
        # is forfeited too (never given back to life); the principal stays on the card as principal
        # (no receipt on it: a receipt's stored-value entries are what it paid or refunded on the card)
        _move(card, ZERO, -bonus, kind=EntryKind.FORFEIT, at=at, store=store, operator=clerk,
              reason=_("Bonus of the return %(number)s forfeited: the balance was refunded after the sale") % {
                  "number": ret.number})
    return entry


# -------------------------------------------------------------------------------- freeze, lost card, refund


def _card_for_write(card: StoredValueCard) -> StoredValueCard:
    lock_account(card.member_id)
    return _locked(card.pk)


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


@transaction.atomic
def request_refund(*, card: StoredValueCard, by: Staff | None, reason: str,
                   store: Store | None = None) -> StoredValueRefund:
    """The member asks for the balance back: a request HQ approves (principal paid back, bonus forfeited)."""
    _require_staff_at(by, store)
    if not reason.strip():
        raise StoredValueError("reason_required", _("Give a reason."), "reason")
    card = _card_for_write(card)
    if card.status == CardState.CLOSED:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": card.number}, "card")
    if StoredValueRefund.objects.filter(card=card, status=RefundState.PENDING).exists():
        raise StoredValueError("refund_pending", _("A refund of this card is already awaiting approval."), "card")
    return StoredValueRefund.objects.create(card=card, reason=reason.strip()[:200], store=store,
                                            requested_by=by, requested_at=timezone.now())


def _pending(refund: StoredValueRefund) -> StoredValueRefund:
    refund = StoredValueRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundState.PENDING:
        raise StoredValueError("refund_decided", _("This refund was already decided."), "refund")
    return refund


@transaction.atomic
def approve_refund(*, refund: StoredValueRefund, by: Staff, method: str,
                   at: dt.datetime | None = None) -> StoredValueRefund:
    """HQ approves: the principal on the card now is paid back with `method`, the bonus is forfeited."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    paying = _paying_method(method)
    lock_account(refund.card.member_id)
    refund = _pending(refund)  # transfer() moves a pending request to the new card: read it under the lock
    card = _successor(_locked(refund.card_id))  # and, for a request left on a replaced card, the card holding it
    principal, bonus = card.principal, card.bonus
    if principal:
        _move(card, -principal, ZERO, kind=EntryKind.REFUND, at=at, method=paying, store=refund.store, operator=by,
              reason=_("Refund approved: %(reason)s") % {"reason": refund.reason})
    if bonus:
        _move(card, ZERO, -bonus, kind=EntryKind.FORFEIT, at=at, store=refund.store, operator=by,
              reason=_("Bonus forfeited on refund"))
    refund.status, refund.decided_by, refund.decided_at = RefundState.APPROVED, by, at
    refund.principal_refunded, refund.bonus_forfeited, refund.method = principal, bonus, paying
    refund.save()
    return refund


@transaction.atomic
def reject_refund(*, refund: StoredValueRefund, by: Staff, reason: str = "") -> StoredValueRefund:
    """HQ refuses a pending request, saying why (the store tells the member): the balance stays on the card."""
    require(can_edit_programme(by))
    refund = _pending(refund)
    reason = " ".join((reason or "").split())
    if not reason:
        raise StoredValueError("reason_required", _("Say why the refund is rejected."), "reject_reason")
    if len(reason) > 200:
        raise StoredValueError("reason_too_long", _("Keep the reason under 200 characters."), "reject_reason")
    refund.status, refund.decided_by, refund.decided_at = RefundState.REJECTED, by, timezone.now()
    refund.reject_reason = reason
    refund.save(update_fields=["status", "decided_by", "decided_at", "reject_reason"])
    return refund


# ----------------------------------------------------------------------------------------------- member code

CODE_LENGTH = 6


@transaction.atomic
def member_code_set(*, card: StoredValueCard, code: str, by: Staff | None,
                    store: Store | None = None) -> StoredValueCard:
    """The member types a new code (6 digits) on the counter's keypad: kept hashed with Django's password
    hashers, never plain; wrong tries and a lock-out start again."""
    _require_staff_at(by, store)
    code = (code or "").strip()
    if len(code) != CODE_LENGTH or not code.isdigit():
        raise StoredValueError("member_code_invalid", _("The member code is %(n)d digits.") % {"n": CODE_LENGTH},
                               "code")
    if len(set(code)) == 1 or code in "0123456789" or code in "9876543210":
        raise StoredValueError("member_code_too_simple", _(
            "This member code is too easy to guess: avoid one digit repeated or digits in a row."), "code")
    card = _card_for_write(card)
    if card.status == CardState.CLOSED:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": card.number}, "card")
    if store is not None and card.scope != scope_of(store, current_rules()):
        raise StoredValueError("stored_value_other_scope", _(
            "Stored-value card %(number)s is not served at this store.") % {"number": card.number}, "card")
    # a new code starts the count again, but an active lock-out stays until it runs out (no bypass by resetting)
    locked = card.code_locked_until if card.code_locked_until and card.code_locked_until > timezone.now() else None
    card.code_hash, card.code_failures, card.code_locked_until = make_password(code), 0, locked
    card.save(update_fields=["code_hash", "code_failures", "code_locked_until"])
    return card


def _count_failure_sql(conn, card_id: int, tries: int, lock_until: dt.datetime, now: dt.datetime) -> int | None:
    """One statement: a wrong try counted (a lock that ran out starts the count again), the lock set at the
    `tries`-th; the count after it, or None when the card is not there (not visible to `conn`)."""
    table = StoredValueCard._meta.db_table
    until, at = conn.ops.adapt_datetimefield_value(lock_until), conn.ops.adapt_datetimefield_value(now)
    fresh = "(code_locked_until IS NOT NULL AND code_locked_until <= %s)"
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "
            f"code_locked_until = CASE WHEN {fresh} THEN NULL "
            f"WHEN code_failures + 1 >= %s THEN %s ELSE code_locked_until END, "
            f"code_failures = CASE WHEN {fresh} THEN 1 ELSE code_failures + 1 END "
            f"WHERE id = %s RETURNING code_failures",
            [at, tries, until, at, card_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _count_failure(card_id: int, rules: Rules, now: dt.datetime) -> int | None:
    """Count a wrong code in its own transaction, on a connection of its own: the refused sale's rollback
    does not undo it, and it is committed before the sale lets go of the member's lock, so the next try
    (serialised on that lock) sees it. Where the card is not visible to another connection (written in this
    same, uncommitted transaction) or the database refuses a second writer, it is counted here. SQLite (one
    writer, held by the sale): None, and the refusal counts it once the sale is rolled back."""
    lock_until = now + dt.timedelta(minutes=rules.member_code_lock_minutes)
    tries = rules.member_code_tries
    if connection.in_atomic_block and connection.vendor == "sqlite":
        return None  # one writer at a time: counted after the rollback (sales.pipeline.after_rollback)
    if connection.in_atomic_block:
        own = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            counted = _count_failure_sql(own, card_id, tries, lock_until, now)  # autocommit: its own transaction
        except DatabaseError:
            counted = None
        finally:
            own.close()
        if counted is not None:
            return counted
    with transaction.atomic():
        return _count_failure_sql(connection, card_id, tries, lock_until, now) or 0


def _code_locked(until: dt.datetime) -> StoredValueError:
    return StoredValueError("member_code_locked", _(
        "Too many wrong member codes: the card's code is locked until %(time)s.") % {
        "time": timezone.localtime(until).strftime("%H:%M")}, "member_code")


SPEND_PURPOSE = "stored_value_spend"  # the one-time SMS code's purpose (messaging.otp), bound to the member


def member_code_send(*, member: Member, store: Store, by: Staff | None, ip: str | None = None) -> SentCode:
    """Send the member a one-time code by SMS that pays, once, as the member code of a stored-value spend at
    `store` (instead of the PIN). Refused (nothing sent) without a usable card this store serves, without a
    phone on file, while the card's code is locked, or over the sending limits (code `code_too_soon`…: the
    refusal carries `retry_after`)."""
    _require_staff_at(by, store)
    now = timezone.now()
    card = check_usable(live_card(member.pk, scope_of(store, current_rules())), timezone.localdate(now))
    if card.code_locked_until is not None and card.code_locked_until > now:
        raise _code_locked(card.code_locked_until)
    if not member.phone:
        raise StoredValueError("member_phone_missing", _(
            "The member has no mobile phone on file to send a code to."), "member_code")
    try:
        return code_send(member.phone, SPEND_PURPOSE, member=member, ip=ip, store=store, sender=by)
    except CodeRefused as exc:
        refusal = StoredValueError(exc.code, exc.message, "member_code")
        refusal.retry_after = exc.retry_after
        raise refusal from exc


def member_code_check(card: StoredValueCard, amount: Decimal, code: str, rules: Rules,
                      now: dt.datetime | None = None) -> bool:
    """A spend of `amount` above `member_code_above` needs the member's code: the card's PIN or a one-time code
    sent to the member's phone for this purpose (`member_code_send`; used up by the sale). Refused
    (StoredValueError) without a PIN set and no SMS code out, while locked, without a code typed, with a wrong one
    (counted — a wrong PIN and a wrong SMS code alike — locking the code after `member_code_tries` wrong tries in
    a row for `member_code_lock_minutes`). Only a wrong try writes. True when the code was asked and right."""
    if rules.member_code_above is None or amount <= rules.member_code_above:
        return False
    now = now or timezone.now()
    fresh = StoredValueCard.objects.filter(pk=card.pk).values("code_hash", "code_failures", "code_locked_until",
                                                              "member__phone").first() or {}
    above = {"n": rules.member_code_above}
    locked_until = fresh.get("code_locked_until")
    if locked_until is not None and locked_until > now:
        raise _code_locked(locked_until)
    phone = fresh.get("member__phone") or ""
    pin = fresh.get("code_hash") or ""
    if not pin and not (phone and code_pending(phone, SPEND_PURPOSE, member=card.member_id, at=now)):
        raise StoredValueError("member_code_not_set", _(
            "Paying more than ¥%(n)s with stored value needs the member's code, and this member has not set one: "
            "set it on the member's stored-value panel first, or send the member a code by SMS.") % above,
            "member_code")
    code = (code or "").strip()
    if not code:
        raise StoredValueError("member_code_required", _(
            "Paying more than ¥%(n)s with stored value needs the member's code (or the code sent by SMS).") % above,
            "member_code")
    if pin and check_password(code, pin):
        return True
    if phone and code_verify(phone, SPEND_PURPOSE, code, member=card.member_id, at=now):
        return True
    failures = _count_failure(card.pk, rules, now)
    deferred = failures is None
    if deferred:
        lapsed = locked_until is not None and locked_until <= now
        failures = 1 if lapsed else fresh["code_failures"] + 1
    left = rules.member_code_tries - failures
    if left <= 0:
        exc = StoredValueError("member_code_locked", _(
            "Wrong member code. Too many wrong tries: the card's code is locked for %(n)d minutes.") % {
            "n": rules.member_code_lock_minutes}, "member_code")
    else:
        exc = StoredValueError("member_code_wrong", _("Wrong member code. Tries left: %(n)d.") % {"n": left},
                               "member_code")
    if deferred:
        exc.after_rollback = lambda: _count_failure(card.pk, rules, now)
    raise exc
