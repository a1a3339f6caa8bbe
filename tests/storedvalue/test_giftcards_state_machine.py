"""Property (hypothesis state machine): any sequence of gift-card sales (activation), spends (one card alone, two
cards, or a card split with Alipay; with or without a member), partial and full returns and transfers keeps each
card's balance equal to its ledger and to an independent model, never negative, every receipt paid to the cent,
what a return credits equal to what it refunds on the gift-card method, and the liability equal to the sum of
the balances."""

from decimal import Decimal

from django.db.models import Sum
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from membercare.checkout.pipeline import (
    CheckoutError,
    LineIn,
    PaymentIn,
    ReturnLineIn,
    basket_quote,
    checkout_post,
    return_post,
)
from membercare.core.crypto import decrypt
from membercare.sales.models import Receipt, ReceiptPayment
from membercare.storedvalue import giftcard_selectors as gsel
from membercare.storedvalue.giftcard_batches import batch_create, gift_cards_sell
from membercare.storedvalue.giftcard_spend import gift_card_transfer
from membercare.storedvalue.giftcards import code_hash
from membercare.storedvalue.models import GiftCard, GiftCardEntry
from tests.factories import MemberFactory
from tests.storedvalue.machines import CENT, ZERO, D, LedgerMachine, q, run_machine

SKUS = ["SHIRT", "BELT", "POLO"]


class GiftCardMachine(LedgerMachine):
    def __init__(self):
        super().__init__()
        self.members = [MemberFactory(home_store=self.chain.shop) for _ in range(2)]
        batch = batch_create(by=self.hq, name="礼品卡", face_value=D("800.00"), count=4, valid_days=1095)
        self.batch = batch
        self.codes = [decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=batch).order_by("serial")]
        self.balance: dict[str, Decimal | None] = {c: None for c in self.codes}  # None: not sold
        self.holder: dict[str, int | None] = {c: None for c in self.codes}

    @rule(pick=st.integers(0, 3))
    def sell(self, pick):
        code = self.codes[pick]
        try:
            gift_cards_sell(codes=[code], method="wechat_pay", store=self.chain.shop, by=None, at=self.tick())
        except CheckoutError as exc:
            assert exc.error_code == "gift_card_already_active" and self.balance[code] is not None
            return
        assert self.balance[code] is None
        self.balance[code] = D("800.00")

    @rule(first=st.integers(0, 3), second=st.none() | st.integers(0, 3), who=st.none() | st.integers(0, 1),
          skus=st.lists(st.sampled_from(SKUS), min_size=1, max_size=2),
          share=st.sampled_from([None, D("0.25"), D("0.5")]))
    def spend(self, first, second, who, skus, share):
        member = self.members[who] if who is not None else None
        lines = [LineIn(sku, 1) for sku in skus]
        due = basket_quote(store=self.chain.shop, ident=None, lines=lines).to_pay  # no member discount
        if member is not None:
            from membercare.checkout.pipeline import identify

            due = basket_quote(store=self.chain.shop, ident=identify(store=self.chain.shop, phone=member.phone),
                               lines=lines).to_pay
        codes = [self.codes[first]] + ([self.codes[second]] if second is not None and second != first else [])
        if len(codes) == 1 and share is None:
            payments, asked = [PaymentIn("gift_card", None, codes[0])], {codes[0]: due}
        else:
            part = (due * (share or D("0.4"))).quantize(CENT)
            asked = {c: part for c in codes}
            payments = [PaymentIn("gift_card", part, c) for c in codes]
            payments.append(PaymentIn("alipay", due - part * len(codes)))
        who_kw = {"phone": member.phone} if member else {"walk_in": True}
        try:
            receipt = checkout_post(store=self.chain.shop, clerk=self.chain.clerk, lines=lines, payments=payments,
                                    sold_at=self.tick(), **who_kw)
        except CheckoutError as exc:
            reasons = set()
            for c, amount in asked.items():
                if self.balance[c] is None:
                    reasons.add("gift_card_not_active")
                elif member is not None and self.holder[c] not in (None, member.pk):
                    reasons.add("gift_card_other_member")
                elif amount > self.balance[c]:
                    reasons.add("gift_card_insufficient")
            if any(p.amount is not None and p.amount < 0 for p in payments):
                reasons.add("payment_amount_invalid")
            assert exc.error_code in reasons, (exc.error_code, reasons)
            return
        for c, amount in asked.items():
            assert self.balance[c] is not None and amount <= self.balance[c]
            self.balance[c] -= amount
            if member is not None and self.holder[c] is None:
                self.holder[c] = member.pk
        self.sales.append(receipt)

    @precondition(lambda self: self.sales)
    @rule(pick=st.integers(0, 50), partial=st.booleans())
    def give_back(self, pick, partial):
        original = self.sales[pick % len(self.sales)]
        left = [(ln, ln.quantity + sum(r.quantity for r in ln.__class__.objects.filter(original_line=ln)))
                for ln in original.lines.all()]
        left = [(ln, n) for ln, n in left if n > 0]
        if not left:
            return
        lines = [ReturnLineIn(left[0][0].pk, 1)] if partial else None
        ret = return_post(original=original, lines=lines, clerk=self.chain.clerk, store=self.chain.shop,
                          at=self.tick())
        for e in GiftCardEntry.objects.filter(receipt=ret).select_related("card"):
            code = next(c for c in self.codes if code_hash(c) == e.card.code_hash)
            self.balance[code] += e.amount

    @rule(pick=st.integers(0, 3), to=st.integers(0, 1))
    def transfer(self, pick, to):
        code = self.codes[pick]
        card = GiftCard.objects.get(code_hash=code_hash(code))
        try:
            gift_card_transfer(card=card, to=self.members[to], by=self.hq, at=self.tick())
        except CheckoutError as exc:
            assert exc.error_code in {"gift_card_not_active", "gift_card_not_bound", "gift_card_same_member"}
            assert self.holder[code] in (None, self.members[to].pk)
            return
        self.holder[code] = self.members[to].pk

    @invariant()
    def balances_equal_the_ledger_and_the_model(self):
        for code in self.codes:
            card = GiftCard.objects.get(code_hash=code_hash(code))
            assert card.balance == q(card.entries.aggregate(t=Sum("amount"))["t"]) >= 0
            assert card.balance == (self.balance[code] if self.balance[code] is not None else ZERO)
            assert card.member_id == self.holder[code]
        # liability (this run's batch; earlier runs' cards stay in the database): the balances = the ledger = model
        cards = GiftCard.objects.filter(batch=self.batch)
        liability = q(cards.aggregate(t=Sum("balance"))["t"])
        ledger = q(GiftCardEntry.objects.filter(card__batch=self.batch).aggregate(t=Sum("amount"))["t"])
        assert liability == ledger == sum((b or ZERO for b in self.balance.values()), ZERO)
        assert gsel.liability() == gsel.ledger_total()  # and the chain's books agree

    @invariant()
    def every_receipt_is_paid_to_the_cent_and_returns_credit_what_they_refund(self):
        for sale in self.sales:
            for receipt in (sale, *Receipt.objects.filter(original=sale)):
                paid = q(ReceiptPayment.objects.filter(receipt=receipt).aggregate(t=Sum("amount"))["t"])
                assert paid == receipt.total_paid
                on_cards = q(ReceiptPayment.objects.filter(receipt=receipt, method__code="gift_card")
                             .aggregate(t=Sum("amount"))["t"])
                moved = q(GiftCardEntry.objects.filter(receipt=receipt).aggregate(t=Sum("amount"))["t"])
                assert moved == -on_cards


def test_any_gift_card_sequence_keeps_balance_equal_to_ledger(chain):
    run_machine(GiftCardMachine, chain, max_examples=10)
