"""Gift cards as a tender of the sale pipeline (registered in StoredValueConfig.ready).

The till names the `gift_card` payment method with the card's code (and an amount, unless it is the only
payment: then it takes the whole amount due) in the sale's `payments`, alone or beside other methods, up to
MAX_GIFT_PAYMENTS cards on one receipt. `quote` finds each card by its code and checks it (sold, not void or
expired, served at this store, not bound to another member, balance enough) without writing; `commit` locks the
cards and checks again in the sale's transaction, takes the balances down and binds an unbound card to the
sale's member. On a return, checkout.payments refunds the gift-card payment in proportion and `reverse` gives
it back to the cards. A gift card earns points like cash: its money was paid when it was sold, without points.
Runs on sales without a member too (`member_only = False`): a gift card is a bearer card.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.sales.models import ReceiptPayment
from membercare.sales.pipeline import Adjustment, money, register

from .giftcard_spend import GiftSpend, return_credit, spend_commit
from .giftcards import GIFT_METHOD_CODE, MAX_GIFT_PAYMENTS, GiftCardError, check_spendable, find_card

ZERO = Decimal("0.00")


class GiftCardTender(Adjustment):
    name, stage, order = "gift_card", "tender", 60
    label = gettext_lazy("Gift card")
    member_only = False

    def quote(self, sale) -> None:
        payments = list(getattr(sale.request, "payments", None) or ())
        gift = [p for p in payments if p.method == GIFT_METHOD_CODE]
        if not gift:
            return
        if len(gift) > MAX_GIFT_PAYMENTS:
            raise GiftCardError("gift_cards_too_many", _("At most %(n)d gift cards on one receipt.") % {
                "n": MAX_GIFT_PAYMENTS}, "payments")
        spends: list[GiftSpend] = []
        for p in gift:
            amount = p.amount
            if amount is None and len(payments) == 1:
                amount = money(sale.total_paid - sale.offset)
            if amount is None or amount < 0 or money(amount) != amount:
                raise GiftCardError("payment_amount_invalid", _(
                    "Give each payment's amount in yuan, 0 or more, with at most 2 decimal places."), "payment_method")
            if not amount:
                continue
            card = check_spendable(find_card(getattr(p, "code", ""), sale.store, field="payments"), sale.store,
                                   sale.on)
            if any(s.card_id == card.pk for s in spends):
                raise GiftCardError("gift_card_twice", _("Gift card %(serial)s is named twice.") % {
                    "serial": card.serial}, "payments")
            if sale.member is not None and card.member_id not in (None, sale.member.pk):
                raise GiftCardError("gift_card_other_member", _(
                    "Gift card %(serial)s belongs to another member.") % {"serial": card.serial}, "payments")
            if amount > card.balance:
                raise GiftCardError("gift_card_insufficient", _("Only ¥%(n)s is left on gift card %(serial)s.") % {
                    "n": card.balance, "serial": card.serial}, "payments")
            spends.append(GiftSpend(card.pk, card.serial, amount))
        if spends:
            sale.parts[self.name] = spends

    def commit(self, sale, receipt) -> None:
        spends = sale.parts.get(self.name)
        if spends:
            receipt.gift_card_entries = spend_commit(spends=spends, receipt=receipt, member=sale.member,
                                                     store=sale.store, clerk=sale.clerk, on=sale.on)

    def reverse(self, ret) -> None:
        refunded = ReceiptPayment.objects.filter(receipt=ret.receipt, method__code=GIFT_METHOD_CODE).aggregate(
            t=Sum("amount"))["t"]
        if refunded:
            return_credit(original=ret.original, ret=ret.receipt, amount=-money(refunded), store=ret.store,
                          clerk=ret.clerk, at=ret.at)


def register_gift_card_tender() -> None:
    register(GiftCardTender())
