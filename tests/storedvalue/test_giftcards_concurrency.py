"""Gift cards under concurrency (PostgreSQL: real row locks, real threads), invariants checked in SQL afterwards:
every card's balance equals its ledger and is never negative, every receipt's gift-card payment equals its
ledger entries, every sold card has exactly one sale entry."""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, checkout_post, return_post
from membercare.core.crypto import decrypt
from membercare.core.sequences import reserve_numbers
from membercare.sales.models import Receipt
from membercare.storedvalue.giftcard_batches import Sold, batch_create, gift_cards_sell
from membercare.storedvalue.models import GiftCard, GiftCardEntry, GiftCardSale
from tests.api.conftest import Pos, hq_admin, keys  # noqa: F401
from tests.loyalty.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 10
D = Decimal


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")
    for name in ("receipt", "gift_card", "gift_card_sale"):
        reserve_numbers(name)  # the sequences exist (their first creation races in core.sequences)
    payment_methods_ensure_default()  # a flushed database (transactional tests) has the till's methods again


def sql(query: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def assert_invariants_in_sql():
    cards, entries = GiftCard._meta.db_table, GiftCardEntry._meta.db_table
    assert sql(f"""SELECT c.serial FROM {cards} c LEFT JOIN (SELECT card_id, SUM(amount) a FROM {entries}
                   GROUP BY card_id) e ON e.card_id = c.id
                   WHERE c.balance <> COALESCE(e.a, 0) OR c.balance < 0""") == []
    assert sql(f"""SELECT c.serial FROM {cards} c WHERE c.status <> 'new' AND
                   (SELECT COUNT(*) FROM {entries} e WHERE e.card_id = c.id AND e.kind = 'sale') <> 1""") == []
    assert sql(f"""SELECT r.id FROM sales_receipt r
                   LEFT JOIN (SELECT p.receipt_id, SUM(p.amount) a FROM sales_receiptpayment p
                              JOIN sales_paymentmethod m ON m.id = p.method_id AND m.code = 'gift_card'
                              GROUP BY p.receipt_id) p ON p.receipt_id = r.id
                   LEFT JOIN (SELECT receipt_id, SUM(amount) a FROM {entries} WHERE receipt_id IS NOT NULL
                              GROUP BY receipt_id) e ON e.receipt_id = r.id
                   WHERE COALESCE(p.a, 0) <> -COALESCE(e.a, 0)""") == []
    (balances, ledger), = sql(f"SELECT (SELECT COALESCE(SUM(balance), 0) FROM {cards}), "
                              f"(SELECT COALESCE(SUM(amount), 0) FROM {entries})")
    assert balances == ledger >= 0


def one_card(hq, face="1000.00", sell=True, chain=None):
    batch = batch_create(by=hq, name="礼品卡", face_value=D(face), count=1, valid_days=1095)
    code = decrypt(GiftCard.objects.get(batch=batch).code_sealed)
    if sell:
        gift_cards_sell(codes=[code], method="cash", store=chain.shop, by=None)
    return code


def test_one_gift_card_spent_at_counters_at_once_never_overdraws(chain, hq_admin):  # noqa: F811
    code = one_card(hq_admin, chain=chain)

    def spend(i):
        store = chain.shop if i % 2 else chain.shop2
        return lambda: checkout_post(store=store, clerk=None, walk_in=True, lines=[LineIn("SHIRT", 1)],
                                     payments=[PaymentIn("gift_card", D("300.00"), code),
                                               PaymentIn("cash", D("700.00"))],
                                     sold_at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))

    results = run_together([spend(i) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) == 3 and len(refused) == THREADS - 3, results
    assert {r.error_code for r in refused} == {"gift_card_insufficient"}
    assert GiftCard.objects.get().balance == D("100.00")
    assert_invariants_in_sql()


def test_returns_racing_spends_on_one_card_are_each_correct(chain, hq_admin, member):  # noqa: F811
    code = one_card(hq_admin, chain=chain)
    sales = [checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                           payments=[PaymentIn("gift_card", D("300.00"), code), PaymentIn("cash", D("699.00"))])
             for _ in range(3)]  # 100 left
    returns = [lambda r=r: return_post(original=r, lines=None, clerk=None, store=chain.shop) for r in sales]
    spends = [lambda: checkout_post(store=chain.shop2, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                                    payments=[PaymentIn("gift_card", D("250.00"), code),
                                              PaymentIn("cash", D("749.00"))]) for _ in range(THREADS - 3)]
    results = run_together(returns + spends)
    assert all(isinstance(r, Receipt) for r in results[:3]), results[:3]
    assert all(isinstance(r, Receipt | CheckoutError) for r in results), results
    ok = [r for r in results[3:] if isinstance(r, Receipt)]
    assert GiftCard.objects.get().balance == D("1000.00") - D("250.00") * len(ok)
    assert_invariants_in_sql()


def test_one_card_sold_at_two_counters_at_once_is_sold_once(chain, hq_admin):  # noqa: F811
    code = one_card(hq_admin, sell=False, chain=chain)
    results = run_together([lambda i=i: gift_cards_sell(codes=[code], method="cash",
                                                            store=chain.shop if i % 2 else chain.shop2, by=None)
                            for i in range(THREADS)])
    sold = [r for r in results if isinstance(r, Sold)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(sold) == 1 and len(refused) == THREADS - 1, results
    assert {r.error_code for r in refused} == {"gift_card_already_active"}
    assert GiftCardSale.objects.count() == 1 and GiftCard.objects.get().balance == D("1000.00")
    assert_invariants_in_sql()


def test_a_retried_pos_checkout_and_sale_with_one_key_charge_once(chain, hq_admin, keys):  # noqa: F811
    from django.test import Client

    code = one_card(hq_admin, sell=False, chain=chain)
    key = uuid.uuid4().hex
    results = run_together([lambda: Pos(Client(), keys["SH01"]).post(
        "gift-cards/sell", {"codes": [code], "method": "wechat_pay"}, idem=key) for _ in range(6)])
    assert {status for status, _b in results} == {201}, results
    assert GiftCardSale.objects.count() == 1
    key = uuid.uuid4().hex
    payments = [{"method": "gift_card", "amount": "700.00", "code": code}, {"method": "alipay", "amount": "300.00"}]
    results = run_together([lambda: Pos(Client(), keys["SH01"]).checkout(("SHIRT", 1), walk_in=True,
                                                                          payments=payments, idem=key)
                            for _ in range(6)])
    assert {status for status, _b in results} == {201}, results
    assert len({b["number"] for _s, b in results}) == 1
    assert GiftCard.objects.get().balance == D("300.00")
    assert_invariants_in_sql()
