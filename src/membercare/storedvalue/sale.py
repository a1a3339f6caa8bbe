"""Stored value as a tender of the sale pipeline (registered in StoredValueConfig.ready).

The till names the `stored_value` payment method with an amount in the sale's `payments` (alone — then it
takes the whole amount due — or split with other methods). `quote` checks the member's card of the store's
scope (usable, balance enough: under the member's lock at checkout) and decides the principal/bonus split in
the programme's order or ratio; the part the rules say earns no points (usually the bonus) goes to
`sale.unearned`, which points earned leave out. `rows` puts the spend into the receipt's one insert (its entry and
the card's UPDATE: no statement of its own on PostgreSQL). On a
return, checkout.payments refunds the stored-value payment in proportion and `reverse` gives it back to the
card (or the card that replaced it) in the spend's principal/bonus split.

Stored value is not an offset: the receipt's amount paid keeps it (it counts for tiers like cash).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.sales.models import ReceiptPayment
from membercare.sales.pipeline import Adjustment, CheckoutError, money, register

from .member_code import member_code_check
from .rules import METHOD_CODE
from .spend import (
    return_credit,
    sale_card,
    sale_card_from_read,
    sale_card_read,
    spend_applied,
    spend_entry,
    spend_statement,
    split_spend,
)
from .writes import check_usable

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Spend:
    card_id: int
    number: str
    principal: Decimal
    bonus: Decimal
    coded: bool = False  # the member's code was asked and right: the count of wrong tries starts again

    @property
    def amount(self) -> Decimal:
        return self.principal + self.bonus


def asked_amount(sale) -> Decimal | None:
    """What the sale's payments put on stored value (None: nothing)."""
    payments = [p for p in getattr(sale.request, "payments", None) or () if p.method == METHOD_CODE]
    if not payments:
        return None
    if len(sale.request.payments) == 1 and payments[0].amount is None:
        return money(sale.total_paid - sale.offset)
    total = ZERO
    for p in payments:
        if p.amount is None or p.amount < 0 or money(p.amount) != p.amount:
            raise CheckoutError("payment_amount_invalid", _("Give each payment's amount in yuan, 0 or more, with at "
                                                            "most 2 decimal places."), "payment_method")
        total += p.amount
    return total


class StoredValueTender(Adjustment):
    name, stage, order = "stored_value", "tender", 50
    label = gettext_lazy("Stored value")
    member_only = False  # runs on every sale, to refuse stored value without a member

    def lock_read(self, request) -> tuple[str, list] | None:
        """A sale paid with stored value reads the card, the rules and the method with the member's lock."""
        if not any(p.method == METHOD_CODE for p in request.payments or ()):
            return None
        return sale_card_read()

    def quote(self, sale) -> None:
        amount = asked_amount(sale)
        if not amount:
            return
        if sale.member is None:
            raise CheckoutError("stored_value_member_required", _("Stored value is paid from a member's card: "
                                                                  "identify the member first."), "payments")
        read = sale.reads.get(self.name)  # the card, the rules and the payment method: read with the lock …
        found = (sale_card_from_read(read, sale.store) if read is not None
                 else sale_card(sale.member.pk, sale.store))  # … or in one statement of their own
        rules, card = found.rules, check_usable(found.card, sale.on)
        if found.method is not None:  # the payment's row needs it: not read again (checkout.payments)
            sale.known_methods = {**(getattr(sale, "known_methods", None) or {}), METHOD_CODE: found.method}
        if amount > card.balance:
            raise CheckoutError("stored_value_insufficient", _("Only ¥%(n)s is left on the stored-value card.") % {
                "n": money(card.balance)}, "payments")
        coded = member_code_check(card, amount, getattr(sale.request, "member_code", ""), rules)
        principal, bonus = split_spend(card, amount, rules.spend_order)
        sale.parts[self.name] = Spend(card.pk, card.number, principal, bonus, coded)
        unearned = {"principal": bonus, "all": ZERO, "none": amount}[rules.points_on]
        sale.unearned = getattr(sale, "unearned", ZERO) + unearned

    def rows(self, sale, receipt, out) -> None:
        """The spend goes with the receipt's one insert (one statement on PostgreSQL): its ledger entry linked
        to the receipt, and the card's balances changed by an UPDATE that must change the card's row."""
        spend: Spend | None = sale.parts.get(self.name)
        if spend is None:
            return
        out.linked.append(spend_entry(card_id=spend.card_id, member_id=sale.member.pk, principal=spend.principal,
                                      bonus=spend.bonus, store=sale.store, clerk=sale.clerk, at=receipt.sold_at))
        out.before.append(spend_statement(spend.card_id, spend.principal, spend.bonus, code_right=spend.coded))
        out.checks.append(spend_applied)

    def reverse(self, ret) -> None:
        refunded = ReceiptPayment.objects.filter(receipt=ret.receipt, method__code=METHOD_CODE).aggregate(
            t=Sum("amount"))["t"]
        if refunded:
            return_credit(original=ret.original, ret=ret.receipt, amount=-money(refunded), store=ret.store,
                          clerk=ret.clerk, at=ret.at)


def register_providers() -> None:
    register(StoredValueTender())
