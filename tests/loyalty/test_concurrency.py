"""Two stores acting for the same member at the same moment (PostgreSQL: real row locks, real threads)."""

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import BirthdayUse, Card, LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum
from membercare.sales.models import Receipt

pytestmark = [
    pytest.mark.django_db(transaction=True),
]
TZ = ZoneInfo("Asia/Shanghai")
THREADS = 8


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL (CI runs the suite on both)")


def run_together(jobs):
    """Start every job at the same moment, each on its own (already open) connection; collect results or errors."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(i, job):
        try:
            connection.ensure_connection()  # connect before the barrier, so the jobs really overlap
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_checkouts_neither_lose_nor_double_points(chain, member):
    _postgres_only()
    stores = [chain.shop, chain.shop2]

    def sale(i):
        return lambda: checkout_post(store=stores[i % 2], clerk=chain.clerk, phone=member.phone,
                                     lines=[LineIn("BELT", 1)], sold_at=dt.datetime(2026, 6, 1, 12, i, tzinfo=TZ))

    results = run_together([sale(i) for i in range(THREADS)])
    assert all(isinstance(r, Receipt) for r in results), results
    account = LoyaltyAccount.objects.get(member=member)
    assert account.points == THREADS * 999 == ledger_sum(member)
    assert Card.objects.filter(member=member).count() == 1  # one accumulation card, not one per store


def test_concurrent_redemptions_never_overdraw(chain, member):
    _postgres_only()
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                  sold_at=dt.datetime(2026, 6, 1, 10, tzinfo=TZ))  # 1000 points
    card = Card.objects.get(member=member)

    def redeem(i):
        return lambda: checkout_post(store=chain.shop if i % 2 else chain.shop2, clerk=chain.clerk,
                                     card_number=card.number, lines=[LineIn("BAG", 1)], redeem_points=400,
                                     sold_at=dt.datetime(2026, 6, 2, 10, i, tzinfo=TZ))

    results = run_together([redeem(i) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) + len(refused) == THREADS, results
    assert {r.error_code for r in refused} <= {"points_insufficient"}
    account = LoyaltyAccount.objects.get(member=member)
    redeemed = -sum(e.points for e in PointsEntry.objects.filter(member=member, kind="redeem"))
    assert redeemed == 400 * len(ok) <= 1000 + sum(r.points_earned for r in ok)
    assert account.points == ledger_sum(member) >= 0


def test_birthday_privilege_is_used_once_whatever_the_interleaving(chain, member):
    _postgres_only()
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 3, 1, 10, tzinfo=TZ))  # elite card
    card = Card.objects.get(member=member)
    assert card.kind == "elite"

    def birthday_sale(i):
        return lambda: checkout_post(store=chain.shop if i % 2 else chain.shop2, clerk=chain.clerk,
                                     card_number=card.number, lines=[LineIn("SHIRT", 2)], birthday=True,
                                     sold_at=dt.datetime(2026, 3, 21, 15, i, tzinfo=TZ))

    results = run_together([birthday_sale(i) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) == 1 and len(refused) == THREADS - 1, results
    assert {r.error_code for r in refused} == {"birthday_used"}
    assert BirthdayUse.objects.filter(member=member).count() == 1
    assert ok[0].total_paid == Decimal("1200.00")  # 2 shirts at 6折


def test_first_use_of_a_number_sequence_from_many_requests_at_once(db):
    _postgres_only()
    from membercare.core.sequences import reserve_numbers

    results = run_together([lambda: reserve_numbers("race_test")[0] for _ in range(THREADS)])
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == THREADS


def test_one_card_code_at_many_tills_at_once_pays_one_sale(chain, member):
    """A photo of the member's card code used at other tills at the same moment: one sale, the rest refused."""
    _postgres_only()
    from membercare.members.cardcode import card_code
    from membercare.members.models import CardCodeUse

    code = card_code(member.pk)
    stores = [chain.shop, chain.shop2]

    def sale(i):
        return lambda: checkout_post(store=stores[i % 2], clerk=chain.clerk, card_number=code,
                                     lines=[LineIn("BELT", 1)], sold_at=dt.datetime(2026, 6, 1, 12, i, tzinfo=TZ))

    results = run_together([sale(i) for i in range(THREADS)])
    ok = [r for r in results if isinstance(r, Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(ok) == 1 and len(refused) == THREADS - 1, results
    assert {r.error_code for r in refused} == {"card_code_used_up"}
    assert Receipt.objects.filter(member=member).count() == 1 and CardCodeUse.objects.count() == 1
    assert LoyaltyAccount.objects.get(member=member).points == ledger_sum(member) == 999
