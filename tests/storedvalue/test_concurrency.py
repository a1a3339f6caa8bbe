"""Stored value under concurrency (PostgreSQL: real row locks, real threads), with the invariants checked in
SQL afterwards: every card's balances equal its ledger and are never negative, the principal refunded never
exceeds the principal paid in, the liability equals the sum of the balances, and every receipt's stored-value
payment equals its ledger entries."""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, checkout_post, return_post
from membercare.core.sequences import reserve_numbers
from membercare.sales.models import Receipt
from membercare.storedvalue.models import StoredValueCard, StoredValueEntry
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.topup import top_up
from tests.api.conftest import Pos, hq_admin, keys  # noqa: F401
from tests.loyalty.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 10
D = Decimal
SHIRT = D("1000.00")


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")
    reserve_numbers("receipt")  # the sequences exist (their first creation races in core.sequences)
    reserve_numbers("stored_value_card")
    payment_methods_ensure_default()  # a flushed database (transactional tests) has the till's methods again


def sql(query: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def assert_invariants_in_sql():
    cards, entries = StoredValueCard._meta.db_table, StoredValueEntry._meta.db_table
    payments = "sales_receiptpayment"
    assert sql(f"""SELECT c.number FROM {cards} c LEFT JOIN (SELECT card_id, SUM(principal) p, SUM(bonus) b
                   FROM {entries} GROUP BY card_id) e ON e.card_id = c.id
                   WHERE c.principal <> COALESCE(e.p, 0) OR c.bonus <> COALESCE(e.b, 0)
                      OR c.principal < 0 OR c.bonus < 0""") == []
    assert sql(f"""SELECT member_id FROM {entries} GROUP BY member_id
                   HAVING -SUM(CASE WHEN kind = 'refund' THEN principal ELSE 0 END)
                          > SUM(CASE WHEN kind = 'top_up' THEN principal ELSE 0 END)""") == []
    (liability, ledger), = sql(f"SELECT (SELECT COALESCE(SUM(principal + bonus), 0) FROM {cards}), "
                               f"(SELECT COALESCE(SUM(principal + bonus), 0) FROM {entries})")
    assert liability == ledger >= 0
    # every receipt's stored-value payment (a sale's, or a return's refund) is its ledger entries, to the cent
    assert sql(f"""SELECT r.id FROM sales_receipt r
                   LEFT JOIN (SELECT p.receipt_id, SUM(p.amount) a FROM {payments} p JOIN sales_paymentmethod m
                              ON m.id = p.method_id AND m.code = 'stored_value' GROUP BY p.receipt_id) p
                          ON p.receipt_id = r.id
                   LEFT JOIN (SELECT receipt_id, SUM(principal + bonus) a FROM {entries}
                              WHERE receipt_id IS NOT NULL GROUP BY receipt_id) e ON e.receipt_id = r.id
                   WHERE COALESCE(p.a, 0) <> -COALESCE(e.a, 0)""") == []
    # split tenders add up to each receipt's total
    assert sql(f"""SELECT r.id FROM sales_receipt r JOIN {payments} p ON p.receipt_id = r.id
                   GROUP BY r.id, r.total_paid HAVING SUM(p.amount) <> r.total_paid""") == []


def sale(chain, member, i, on_card, *, sku="SHIRT", price=SHIRT):
    store = chain.shop if i % 2 else chain.shop2
    return lambda: checkout_post(store=store, clerk=None, phone=member.phone, lines=[LineIn(sku, 1)],
                                 payments=[PaymentIn("stored_value", on_card), PaymentIn("cash", price - on_card)],
                                 sold_at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))


def test_two_stores_spending_one_balance_never_overdraw_it(chain, member):
    card = top_up(member=member, amount=D("1000.00"), method="cash", store=chain.shop).card  # 1100
    results = run_together([sale(chain, member, i, D("300.00")) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) == 3 and len(refused) == THREADS - 3, results
    assert {r.error_code for r in refused} == {"stored_value_insufficient"}
    card.refresh_from_db()
    assert card.balance == D("200.00")
    assert_invariants_in_sql()


def test_returns_racing_spends_are_each_correct(chain, member):
    card = top_up(member=member, amount=D("4000.00"), method="bank_card", store=chain.shop).card  # 4100
    sales = [checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                           payments=[PaymentIn("stored_value")], sold_at=dt.datetime(2026, 6, 1, 10, i, tzinfo=TZ))
             for i in range(4)]  # 4100 - 4000 = 100 left
    returns = [lambda r=r: return_post(original=r, lines=None, clerk=None, store=chain.shop) for r in sales]
    spends = [sale(chain, member, i, D("500.00")) for i in range(THREADS - 4)]
    results = run_together(returns + spends)
    assert all(isinstance(r, Receipt) for r in results[:4]), results[:4]
    ok = [r for r in results[4:] if isinstance(r, Receipt)]
    assert all(isinstance(r, Receipt | CheckoutError) for r in results), results
    card.refresh_from_db()
    assert card.balance == D("4100.00") - D("500.00") * len(ok)
    assert_invariants_in_sql()


def test_a_top_up_racing_a_refund_each_correct(chain, member, specialist):
    card = top_up(member=member, amount=D("1000.00"), method="cash", store=chain.shop).card
    request = request_refund(card=card, by=None, reason="退卡")
    ups = [lambda: top_up(member=member, amount=D("200.00"), method="cash", store=chain.shop)
           for _ in range(THREADS - 1)]
    results = run_together([lambda: approve_refund(refund=request, by=specialist, method="bank_card"), *ups])
    refund = results[0]
    assert not isinstance(refund, Exception), refund
    assert all(not isinstance(r, Exception) for r in results[1:]), results
    card.refresh_from_db()
    topped = D("1000.00") + D("200.00") * (THREADS - 1)
    # the refund paid back the principal on the card at its moment; the top-ups after it stay on the card
    assert card.principal == topped - refund.principal_refunded and card.bonus == 0
    assert refund.bonus_forfeited == D("100.00")
    assert_invariants_in_sql()


def test_a_retried_pos_checkout_with_one_key_charges_once(client, chain, member, keys):  # noqa: F811
    from django.test import Client

    top_up(member=member, amount=D("1000.00"), method="cash", store=chain.shop)
    key = uuid.uuid4().hex
    payments = [{"method": "stored_value", "amount": "700.00"}, {"method": "alipay", "amount": "300.00"}]
    results = run_together([lambda: Pos(Client(), keys["SH01"]).checkout(("SHIRT", 1), payments=payments, idem=key)
                            for _ in range(6)])
    assert {status for status, _b in results} == {201}, results
    assert len({b["number"] for _s, b in results}) == 1
    assert StoredValueCard.objects.get(member=member).balance == D("400.00")
    assert_invariants_in_sql()


def test_a_retried_pos_top_up_with_one_key_tops_up_once(client, chain, member, keys):  # noqa: F811
    from django.test import Client

    key = uuid.uuid4().hex
    results = run_together([lambda: Pos(Client(), keys["SH01"]).post(
        f"members/{member.member_no}/stored-value/top-up", {"amount": "500.00", "method": "cash"}, idem=key)
        for _ in range(6)])
    assert {status for status, _b in results} == {201}, results
    assert StoredValueCard.objects.get(member=member).balance == D("500.00")
    assert StoredValueEntry.objects.count() == 1
    assert_invariants_in_sql()
