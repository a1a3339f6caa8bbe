"""Review fixes of stored value: a pending refund follows a lost card's balance, a return after a refund never
brings forfeited bonus back, a lost card keeps the member code's wrong tries and lock-out, and the chain's
liability stays the sum of the balances however money moves between stores."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import check_password
from django.utils import timezone

from membercare.checkout.pipeline import LineIn, PaymentIn, ReturnLineIn, checkout_post, return_post
from membercare.storedvalue import liability as li
from membercare.storedvalue.lost_cards import transfer
from membercare.storedvalue.member_code import member_code_set
from membercare.storedvalue.models import (
    CardState,
    RefundState,
    StoredValueCard,
    StoredValueEntry,
    StoredValueRefund,
)
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.selectors import ledger_sums, liability
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)
D = Decimal


def assert_ledger(card):
    card.refresh_from_db()
    assert (card.principal, card.bonus) == ledger_sums(card)


def test_a_pending_refund_follows_the_lost_cards_balance_and_pays_it(chain, member, hq):
    card = top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
                  at=AT).card
    refund = request_refund(card=card, by=chain.clerk, reason="会员退卡", store=chain.shop)
    new = transfer(card=card, by=chain.clerk, store=chain.shop, at=AT + dt.timedelta(hours=1))
    assert StoredValueRefund.objects.get(pk=refund.pk).card_id == new.pk  # moved with the balance
    done = approve_refund(refund=refund, by=hq, method="bank_card", at=AT + dt.timedelta(hours=2))
    assert (done.principal_refunded, done.bonus_forfeited) == (D("1000.00"), D("100.00"))  # not ¥0
    assert done.status == RefundState.APPROVED
    new.refresh_from_db()
    assert new.balance == 0 and liability() == 0
    assert list(StoredValueEntry.objects.filter(card=new).order_by("pk").values_list("kind", "principal", "bonus")) == [
        ("transfer_in", D("1000.00"), D("100.00")), ("refund", D("-1000.00"), D("0.00")),
        ("forfeit", D("0.00"), D("-100.00"))]
    assert_ledger(card)
    assert_ledger(new)


def test_a_return_after_a_refund_forfeits_its_bonus_part(chain, member, hq):
    card = top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
                  at=AT).card  # 1000 + 100
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                            payments=[PaymentIn("stored_value")], sold_at=AT)  # -909.09 principal, -90.91 bonus
    refund = request_refund(card=card, by=chain.clerk, reason="退卡", store=chain.shop)
    refund = approve_refund(refund=refund, by=hq, method="bank_card", at=AT + dt.timedelta(hours=1))
    assert (refund.principal_refunded, refund.bonus_forfeited) == (D("90.91"), D("9.09"))
    ret = return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop,
                      at=AT + dt.timedelta(hours=2))
    card.refresh_from_db()
    assert (card.principal, card.bonus) == (D("909.09"), D("0.00"))  # the principal back as principal only
    back = StoredValueEntry.objects.get(receipt=ret)
    assert (back.kind, back.principal, back.bonus) == ("return", D("909.09"), D("90.91"))
    forfeit = StoredValueEntry.objects.filter(card=card, kind="forfeit").order_by("-pk").first()
    assert (forfeit.principal, forfeit.bonus) == (D("0.00"), D("-90.91")) and ret.number in forfeit.reason
    assert_ledger(card)


def test_a_return_without_a_refund_since_the_sale_keeps_its_bonus(chain, member, hq):
    card = top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
                  at=AT - dt.timedelta(days=2)).card
    old = request_refund(card=card, by=chain.clerk, reason="退卡", store=chain.shop)
    approve_refund(refund=old, by=hq, method="bank_card", at=AT - dt.timedelta(days=1))  # before the sale
    top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk, at=AT)
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 3)],
                            payments=[PaymentIn("stored_value", D("600.00")), PaymentIn("cash", D("2400.00"))],
                            sold_at=AT + dt.timedelta(minutes=5))
    spent = StoredValueEntry.objects.get(receipt=receipt)
    return_post(original=receipt, lines=[ReturnLineIn(receipt.posted_lines[0].pk, 3)], clerk=chain.clerk,
                store=chain.shop, at=AT + dt.timedelta(hours=1))
    card.refresh_from_db()
    assert (card.principal, card.bonus) == (D("1000.00"), D("100.00"))
    assert spent.bonus < 0 and not StoredValueEntry.objects.filter(kind="forfeit", created_at__gt=AT).exists()


def test_a_lost_card_keeps_the_codes_wrong_tries_lock_out_and_pin(chain, member):
    card = top_up(member=member, amount=D("500.00"), method="cash", store=chain.shop, by=chain.clerk,
                  at=AT).card
    card = member_code_set(card=card, code="482915", by=chain.clerk, store=chain.shop)
    locked_until = timezone.now() + dt.timedelta(minutes=25)
    StoredValueCard.objects.filter(pk=card.pk).update(code_failures=5, code_locked_until=locked_until)
    new = transfer(card=card, by=chain.clerk, store=chain.shop)
    new = StoredValueCard.objects.get(pk=new.pk)
    assert new.code_failures == 5 and new.code_locked_until == locked_until  # a thief gets no fresh tries
    assert check_password("482915", new.code_hash)
    assert StoredValueCard.objects.get(pk=card.pk).status == CardState.CLOSED


def test_the_chain_total_is_the_sum_of_balances_after_cross_store_movements(chain, member, hq):
    other = MemberFactory(name="李雷", phone="13900007777", home_store=chain.shop2)
    top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop2, by=hq, at=AT)
    top_up(member=other, amount=D("1000.00"), method="cash", store=chain.shop, by=hq, at=AT)
    # money taken at BJ01 spent at SH01 and the rest refunded at SH01; the other's taken at SH01, spent at BJ01
    sale = checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                         payments=[PaymentIn("stored_value")], sold_at=AT + dt.timedelta(minutes=1))
    checkout_post(store=chain.shop2, clerk=None, phone=other.phone, lines=[LineIn("BELT", 1)],
                  payments=[PaymentIn("stored_value")], sold_at=AT + dt.timedelta(minutes=2))
    return_post(original=sale, lines=None, clerk=None, store=chain.shop2, at=AT + dt.timedelta(minutes=3))
    card = member.stored_value_cards.get()
    refund = request_refund(card=card, by=None, reason="退卡", store=chain.shop)
    approve_refund(refund=refund, by=hq, method="bank_card", at=AT + dt.timedelta(minutes=4))
    day = AT.date()
    balances = sum((c.balance for c in StoredValueCard.objects.all()), D("0.00"))
    assert li.outstanding(day).total == balances == liability() == other.stored_value_cards.get().balance > 0
    by_store = li.outstanding_by_store(day)
    assert sum((o.total for o in by_store.values()), D("0.00")) == balances
    assert by_store[chain.shop.pk].total < 0  # a store's figure is honest: it paid out more than it took in
    assert all(o.principal >= 0 and o.bonus >= 0 for o in li.outstanding_by_scope(day).values())
    assert li.outstanding(day).principal >= 0 and li.outstanding(day).bonus >= 0
