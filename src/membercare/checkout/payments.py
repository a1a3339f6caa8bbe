"""How a receipt was paid: the payment methods (sales.PaymentMethod, data) and the amount on each.

A sale's payments must add up to the amount due after every adjustment and the points offset; one method
without an amount takes all of it. A return refunds on the original receipt's methods in proportion, by
cumulative targets (like the points reversal), so a series of partial returns refunds each method exactly what
a full return would: the last return leaves every method at zero.

The active methods are kept per process for `METHODS_TTL` seconds (`_methods`): reading them was one ORM query on
every sale that records a payment, about 0.8 ms of a 6 ms checkout's server CPU (bench_checkout.py, "cash paid").
A method saved or deleted in this process clears the copy at once; in the other processes a method switched off
is still accepted for at most that long, and a code not in the copy is always looked up.
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.db.models import Sum
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from membercare.sales.models import PaymentMethod, Receipt, ReceiptPayment
from membercare.sales.pipeline import CheckoutError, PaymentIn, money

ZERO = Decimal("0")
# a new installation's methods (the migration writes the same); a chain renames, adds or switches them off
DEFAULT_METHODS = [("cash", "现金", 10), ("bank_card", "银行卡", 20), ("wechat_pay", "微信支付", 30),
                   ("alipay", "支付宝", 40)]
MAX_PAYMENTS = 10  # methods on one receipt (a split between a few; bounds the work)
FIELD = "payment_method"
METHODS_TTL = 30.0  # seconds a process keeps the active methods
_cache: dict[str, object] = {"at": None, "methods": {}}


def forget_methods(**_kwargs) -> None:
    """Drop this process's copy of the methods (a method saved or deleted; tests whose database was emptied)."""
    _cache["at"] = None


post_save.connect(forget_methods, sender=PaymentMethod, dispatch_uid="payments_methods_saved")
post_delete.connect(forget_methods, sender=PaymentMethod, dispatch_uid="payments_methods_deleted")


def _methods(codes: list[str]) -> dict[str, PaymentMethod]:
    """The active methods among `codes`, from this process's copy while it is fresh; a code it lacks (a method
    added or switched on since) is read from the table, and the copy with it."""
    now = time.monotonic()
    at = _cache["at"]
    if at is None or now - at > METHODS_TTL:
        _cache["methods"] = {m.code: m for m in PaymentMethod.objects.filter(is_active=True)}
        _cache["at"] = now
    known: dict[str, PaymentMethod] = _cache["methods"]  # type: ignore[assignment]
    if any(code not in known for code in codes):
        known = {m.code: m for m in PaymentMethod.objects.filter(is_active=True)}
        _cache["methods"], _cache["at"] = known, now
    return {code: known[code] for code in codes if code in known}


def payment_methods_ensure_default() -> None:
    """The default methods when there are none at all (a database emptied and migrated again, a test database
    flushed): a till always has a way to take money. Methods switched off stay off."""
    if not PaymentMethod.objects.exists():
        PaymentMethod.objects.bulk_create([PaymentMethod(code=code, name=name, position=position)
                                           for code, name, position in DEFAULT_METHODS], ignore_conflicts=True)
        forget_methods()  # bulk_create sends no post_save


def active_methods() -> list[PaymentMethod]:
    payment_methods_ensure_default()
    return list(PaymentMethod.objects.filter(is_active=True).order_by("position", "code"))


def payment_rows(receipt: Receipt, to_pay: Decimal, payments: list[PaymentIn] | None,
                 known: dict[str, PaymentMethod] | None = None) -> list[ReceiptPayment]:
    """The receipt's payment rows for `payments` (none given: none recorded, as from a POS that does not say),
    checked: known active methods, amounts of 0 or more with 2 places, adding up to `to_pay`. `known`: active
    methods a provider already read in this sale (stored value reads its own with the card), not read again."""
    if not payments:
        return []
    if len(payments) > MAX_PAYMENTS:
        raise CheckoutError("payments_too_many", _("At most %(n)d payment methods on one receipt.") % {
            "n": MAX_PAYMENTS}, FIELD)
    wanted = [str(p.method) for p in payments]
    methods = {code: m for code, m in (known or {}).items() if code in wanted}
    missing = [code for code in wanted if code not in methods]
    if missing:
        methods.update(_methods(missing))
    if not methods:
        payment_methods_ensure_default()
        methods = {m.code: m for m in PaymentMethod.objects.filter(code__in=wanted, is_active=True)}
    if len(payments) == 1 and payments[0].amount is None:
        payments = [PaymentIn(payments[0].method, to_pay)]
    rows, total = [], ZERO
    for p in payments:
        method = methods.get(p.method)
        if method is None:
            raise CheckoutError("payment_method_unknown", _("Unknown payment method “%(code)s”.") % {
                "code": str(p.method)[:20]}, FIELD)
        if p.amount is None or p.amount < 0 or money(p.amount) != p.amount:
            raise CheckoutError("payment_amount_invalid", _("Give each payment's amount in yuan, 0 or more, with at "
                                                            "most 2 decimal places."), FIELD)
        total += p.amount
        rows.append(ReceiptPayment(receipt=receipt, method=method, amount=p.amount))
    if total != to_pay:
        raise CheckoutError("payments_mismatch", _("The payments add up to ¥%(paid)s; ¥%(due)s is due.") % {
            "paid": money(total), "due": to_pay}, FIELD)
    return [row for row in rows if row.amount]


def refund_payments(original: Receipt, ret: Receipt) -> list[ReceiptPayment]:
    """The return's refunds (negative) on the original's methods, in proportion to what each method paid.
    Call after `ret` is saved with its total and is among `original.returns`."""
    # sums read back through money(): SQLite adds decimals as floating point
    paid = [(method_id, money(total)) for method_id, total in
            original.payments.values_list("method_id").annotate(t=Sum("amount")).order_by("method_id")]
    if not paid or not original.total_paid:
        return []
    returned = min(-money(original.returns.aggregate(t=Sum("total_paid"))["t"] or ZERO), original.total_paid)
    done = {method_id: money(total) for method_id, total in ReceiptPayment.objects.filter(
        receipt__original=original).exclude(receipt=ret).values_list("method_id").annotate(t=Sum("amount"))}
    rows, left = [], returned
    for i, (method_id, amount) in enumerate(paid):
        target = left if i == len(paid) - 1 else money(amount * returned / original.total_paid)
        left -= target
        refund = target + (done.get(method_id) or ZERO)  # what this method still owes back, up to the target
        if refund:
            rows.append(ReceiptPayment.objects.create(receipt=ret, method_id=method_id, amount=-refund))
    return rows
