"""Property (hypothesis state machine): any sequence of top-ups, spends (alone or split with other tenders),
partial and full returns, refunds, freezes and lost-card transfers keeps every card's balances equal to its
ledger, the principal/bonus split exact to the cent, the payments of every receipt equal to its total, and the
liability equal to the sum of the balances. Each run makes its own members; the model is an independent
account of what each member should hold."""


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
    identify,
    return_post,
)
from membercare.sales.models import Receipt, ReceiptPayment
from membercare.storedvalue.lost_cards import freeze, transfer, unfreeze
from membercare.storedvalue.member_code import member_code_set
from membercare.storedvalue.models import CardState, StoredValueCard, StoredValueEntry
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory
from tests.storedvalue.machines import CENT, ZERO, D, LedgerMachine, q, run_machine

SKUS = ["SHIRT", "BELT", "POLO", "BAG"]


CODE = "246813"


class StoredValueMachine(LedgerMachine):
    def __init__(self):
        super().__init__()
        self.members = [MemberFactory(home_store=self.chain.shop) for _ in range(2)]
        self.balance = {m.pk: ZERO for m in self.members}  # the model: what each member holds
        self.frozen = {m.pk: False for m in self.members}
        self.refunded_after: set[int] = set()  # sales whose member's balance was refunded after them

    def card(self, member) -> StoredValueCard | None:
        return StoredValueCard.objects.filter(member=member).exclude(status=CardState.CLOSED).first()

    # ------------------------------------------------------------------------------------------ rules

    @rule(who=st.integers(0, 1), cents=st.integers(100, 600_000), method=st.sampled_from(["cash", "bank_card"]))
    def top_up(self, who, cents, method):
        member = self.members[who]
        amount = D(cents) / 100
        bonus = D("100.00") if amount >= 1000 else ZERO
        try:
            done = top_up(member=member, amount=amount, method=method, store=self.chain.shop, by=None,
                          at=self.tick())
        except CheckoutError as exc:
            expected = {"top_up_over_limit"} if self.balance[member.pk] + amount + bonus > 5000 else set()
            if self.frozen[member.pk]:
                expected = {"stored_value_frozen"}
            assert exc.error_code in expected, (exc.error_code, exc.text)
            return
        assert not self.frozen[member.pk]
        assert self.balance[member.pk] + amount + bonus <= 5000
        assert (done.principal, done.bonus) == (amount, bonus)
        self.balance[member.pk] += amount + bonus
        if not done.card.code_hash:  # the member sets the code a spend above the limit asks for
            member_code_set(card=done.card, code=CODE, by=None)

    @rule(who=st.integers(0, 1), skus=st.lists(st.sampled_from(SKUS), min_size=1, max_size=3),
          share=st.sampled_from([None, D("0.3"), D("0.5"), D("1")]))
    def spend(self, who, skus, share):
        member = self.members[who]
        lines = [LineIn(sku, 1) for sku in skus]
        at = self.tick()
        quote = basket_quote(store=self.chain.shop, ident=identify(store=self.chain.shop, phone=member.phone),
                             lines=lines, on=at.date())
        due = quote.to_pay
        if share is None:
            payments, on_card = [PaymentIn("stored_value")], due
        else:
            on_card = (due * share).quantize(CENT)
            payments = [PaymentIn("stored_value", on_card), PaymentIn("alipay", due - on_card)]
        try:
            receipt = checkout_post(store=self.chain.shop, clerk=self.chain.clerk, phone=member.phone, lines=lines,
                                    payments=payments, sold_at=at, member_code=CODE)
        except CheckoutError as exc:
            card = self.card(member)
            if card is None:
                assert exc.error_code == "stored_value_none"
            elif self.frozen[member.pk]:
                assert exc.error_code == "stored_value_frozen"
            else:
                assert exc.error_code == "stored_value_insufficient" and on_card > self.balance[member.pk]
            return
        assert not self.frozen[member.pk] and on_card <= self.balance[member.pk]
        self.balance[member.pk] -= on_card
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
        back = -q(ReceiptPayment.objects.filter(receipt=ret, method__code="stored_value")
                  .aggregate(t=Sum("amount"))["t"])
        entry = StoredValueEntry.objects.filter(receipt=ret, kind="return").first()
        assert q(entry.amount if entry else ZERO) == back
        if original.pk in self.refunded_after and entry is not None and entry.bonus:
            # the balance was refunded since the sale: the bonus part of the return is forfeited at once
            assert StoredValueEntry.objects.filter(card=entry.card, kind="forfeit", bonus=-entry.bonus,
                                                   created_at=entry.created_at).exists()
            back = entry.principal
        self.balance[original.member_id] += back

    @rule(who=st.integers(0, 1))
    def refund(self, who):
        member = self.members[who]
        card = self.card(member)
        if card is None:
            return
        request = request_refund(card=card, by=None, reason="退卡")
        done = approve_refund(refund=request, by=self.hq, method="bank_card")
        assert done.principal_refunded + done.bonus_forfeited == self.balance[member.pk]
        self.balance[member.pk] = ZERO
        self.refunded_after |= {s.pk for s in self.sales if s.member_id == member.pk}

    @rule(who=st.integers(0, 1))
    def freeze_or_unfreeze(self, who):
        member = self.members[who]
        card = self.card(member)
        if card is None:
            return
        if self.frozen[member.pk]:
            unfreeze(card=card, by=None)
        else:
            freeze(card=card, by=None, reason="挂失")
        self.frozen[member.pk] = not self.frozen[member.pk]

    @rule(who=st.integers(0, 1))
    def lost_card(self, who):
        member = self.members[who]
        card = self.card(member)
        if card is None:
            return
        new = transfer(card=card, by=None, at=self.tick())
        assert new.balance == self.balance[member.pk]
        self.frozen[member.pk] = False

    # ------------------------------------------------------------------------------------- invariants

    @invariant()
    def balances_equal_the_ledger_and_the_model(self):
        liability = ZERO
        for member in self.members:
            for card in StoredValueCard.objects.filter(member=member):
                sums = StoredValueEntry.objects.filter(card=card).aggregate(p=Sum("principal"), b=Sum("bonus"))
                assert (card.principal, card.bonus) == (q(sums["p"]), q(sums["b"])), card.number
                assert card.principal >= 0 and card.bonus >= 0
                if card.status == CardState.CLOSED:
                    assert card.balance == 0 and card.replaced_by_id
                liability += card.balance
            live = self.card(member)
            assert (live.balance if live else ZERO) == self.balance[member.pk]
            assert StoredValueCard.objects.filter(member=member).exclude(status=CardState.CLOSED).count() <= 1
            entries = StoredValueEntry.objects.filter(member=member).aggregate(p=Sum("principal"), b=Sum("bonus"))
            # principal never below what was refunded: what came in covers what went back out
            ins = StoredValueEntry.objects.filter(member=member, kind="top_up").aggregate(p=Sum("principal"))
            outs = StoredValueEntry.objects.filter(member=member, kind="refund").aggregate(p=Sum("principal"))
            assert -q(outs["p"]) <= q(ins["p"])
            assert q(entries["p"]) + q(entries["b"]) >= 0
        assert liability == sum(self.balance.values())

    @invariant()
    def every_receipt_is_paid_to_the_cent_in_an_exact_split(self):
        for sale in self.sales:
            for receipt in (sale, *Receipt.objects.filter(original=sale)):
                paid = q(ReceiptPayment.objects.filter(receipt=receipt).aggregate(t=Sum("amount"))["t"])
                assert paid == receipt.total_paid if receipt.pk != sale.pk else paid == sale.total_paid
            on_card = q(ReceiptPayment.objects.filter(receipt=sale, method__code="stored_value")
                        .aggregate(t=Sum("amount"))["t"])
            spent = StoredValueEntry.objects.filter(receipt=sale, kind="spend").aggregate(
                p=Sum("principal"), b=Sum("bonus"))
            assert -(q(spent["p"]) + q(spent["b"])) == on_card
            back = StoredValueEntry.objects.filter(receipt__original=sale, kind="return").aggregate(
                p=Sum("principal"), b=Sum("bonus"))
            refunded = -q(ReceiptPayment.objects.filter(receipt__original=sale, method__code="stored_value")
                          .aggregate(t=Sum("amount"))["t"])
            assert q(back["p"]) + q(back["b"]) == refunded
            assert ZERO <= q(back["p"]) <= -q(spent["p"]) and ZERO <= q(back["b"]) <= -q(spent["b"])
            if refunded == on_card:  # all of it back: exactly the spend's split
                assert (q(back["p"]), q(back["b"])) == (-q(spent["p"]), -q(spent["b"]))


def test_any_sequence_keeps_balance_equal_to_ledger(chain):
    run_machine(StoredValueMachine, chain, max_examples=12)
