"""Spending stored value and giving it back: the checkout's hot path (the card, rules and method read in one
statement, the spend as one UPDATE and its ledger entry), the split of a spend, a return's credit."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from membercare.core.versioned import latest_document_sql
from membercare.loyalty import rows
from membercare.org.models import Staff, Store
from membercare.sales.models import PaymentMethod, Receipt
from membercare.sales.pipeline import money

from .models import EntryKind, RefundState, StoredValueCard, StoredValueEntry, StoredValueRefund, StoredValueSettings
from .rules import METHOD_CODE, Rules, parse_rules
from .writes import ZERO, StoredValueError, _locked, _move, _successor, scope_of

# -------------------------------------------------------------------------------- the checkout's hot path

_CARD = StoredValueCard._meta
_SALE_FIELDS = tuple(_CARD.get_field(name) for name in (
    "id", "number", "member", "scope", "named", "status", "principal", "bonus", "expires_on"))


_METHOD = PaymentMethod._meta
_METHOD_FIELDS = tuple(_METHOD.get_field(name) for name in ("id", "code", "name", "is_active", "position"))
_SALE_ROW = (*_SALE_FIELDS, None, *_METHOD_FIELDS)  # built once: rows caches its converters by this tuple


@functools.cache
def _cards_and_rules_sql() -> str:
    return (f"SELECT c.id, c.number, c.member_id, c.scope, c.named, c.status, c.principal, c.bonus, c.expires_on, "
            f"({latest_document_sql(StoredValueSettings)}), m.id, m.code, m.name, m.is_active, m.position "
            f"FROM (SELECT 1 AS one) o "
            f"LEFT JOIN {_CARD.db_table} c ON c.member_id = %s AND c.status <> 'closed' "
            f"LEFT JOIN {_METHOD.db_table} m ON m.code = %s AND m.is_active")


@functools.lru_cache(maxsize=8)
def _rules_of(document: str | None) -> Rules:
    return parse_rules(json.loads(document) if document else {}, levels=None)


@dataclass(frozen=True)
class SaleCard:
    card: StoredValueCard | None
    rules: Rules
    method: PaymentMethod | None  # the active `stored_value` payment method (None: switched off)


def sale_card(member_id: int, store: Store | None) -> SaleCard:
    """The member's live card the store serves, the rules in force and the payment method, read in one
    statement (the checkout's hot path; the rules of one stored document are parsed once per process).
    At checkout on PostgreSQL the same is read with the member's lock instead (sale_card_read)."""
    n = len(_SALE_FIELDS)
    found = rows.fetch_all(_cards_and_rules_sql(), [member_id, METHOD_CODE], _SALE_ROW)
    first = found[0] if found else [None] * (n + 1 + len(_METHOD_FIELDS))
    cards = [r[:n] for r in found if r[0] is not None]
    return _sale_card(cards, first[n], first[n + 1:] if first[n + 1] is not None else None, store)


def _sale_card(cards: list, document: str | None, method: list | None, store: Store | None) -> SaleCard:
    """SaleCard from the live cards' values (in _SALE_FIELDS' order), the rules' document and the payment
    method's values (None: switched off)."""
    rules = _rules_of(document)
    scope = scope_of(store, rules)
    card = next((rows.instance(StoredValueCard, _SALE_FIELDS, values) for values in cards if values[3] == scope),
                None)
    return SaleCard(card, rules, rows.instance(PaymentMethod, _METHOD_FIELDS, method) if method else None)


@functools.cache
def sale_card_read_sql() -> str:
    """sale_card as one expression over the member's row `m` of the statement that locks the member
    (loyalty.identify; sales.pipeline.Adjustment.lock_read): the cards, the document and the method as one
    JSON text (PostgreSQL only, where the checkout's round trips count; elsewhere sale_card runs as it is).
    One parameter: the payment method's code."""
    return (f"SELECT CAST(json_build_array("
            f"(SELECT json_agg(json_build_array(svc.id, svc.number, svc.member_id, svc.scope, svc.named, svc.status, "
            f"CAST(svc.principal AS text), CAST(svc.bonus AS text), svc.expires_on)) FROM {_CARD.db_table} svc "
            f"WHERE svc.member_id = m.id AND svc.status <> 'closed'), "
            f"({latest_document_sql(StoredValueSettings)}), "
            f"(SELECT json_build_array(pm.id, pm.code, pm.name, pm.is_active, pm.position) FROM {_METHOD.db_table} pm "
            f"WHERE pm.code = %s AND pm.is_active)) AS text)")


def sale_card_read() -> tuple[str, list] | None:
    """What the stored-value tender asks read with the member's lock (None where the database is not
    PostgreSQL)."""
    if rows.db().vendor != "postgresql":
        return None
    return sale_card_read_sql(), [METHOD_CODE]


def sale_card_from_read(text: str, store: Store | None) -> SaleCard:
    """sale_card from the value sale_card_read read with the member's lock."""
    cards, document, method = json.loads(text)
    cards = [[c[0], c[1], c[2], c[3], c[4], c[5], Decimal(c[6]), Decimal(c[7]),
              dt.date.fromisoformat(c[8]) if c[8] else None] for c in cards or ()]
    return _sale_card(cards, document, method, store)


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
