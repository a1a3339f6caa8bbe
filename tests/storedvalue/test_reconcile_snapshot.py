"""The reconciliation reads the balances and the ledger in one snapshot (PostgreSQL: REPEATABLE READ): spends
committed by another connection between its reads never show as a difference (a false alarm)."""

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import LineIn, PaymentIn, checkout_post
from membercare.core.sequences import reserve_numbers
from membercare.storedvalue.reconcile import reconcile
from membercare.storedvalue.topup import top_up

pytestmark = [pytest.mark.django_db(transaction=True)]
TZ = ZoneInfo("Asia/Shanghai")
D = Decimal


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("a concurrent writer between two reads is tested on PostgreSQL (CI runs the suite on both)")
    reserve_numbers("receipt")
    reserve_numbers("stored_value_card")
    payment_methods_ensure_default()


def test_spends_committed_between_the_reads_raise_no_false_alarm(chain, member):
    top_up(member=member, amount=D("4000.00"), method="bank_card", store=chain.shop)  # 4100 on the card
    spent: list = []

    def spend_elsewhere():  # another connection, committed before the reconciliation reads on
        def run():
            try:
                spent.append(checkout_post(store=chain.shop2, clerk=None, phone=member.phone,
                                           lines=[LineIn("BELT", 1)], payments=[PaymentIn("stored_value")],
                                           sold_at=dt.datetime(2026, 6, 2, 10, len(spent), tzinfo=TZ)))
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)

    def between_reads(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("SELECT") and "storedvalue_storedvalue" in sql and len(spent) < 3:
            spend_elsewhere()  # after each of the reconciliation's reads of the books
        return result

    with connection.execute_wrapper(between_reads):
        run = reconcile(dt.date(2026, 6, 1))
    assert len(spent) == 3  # the writer did commit in between
    assert run.ok, run.differences
    assert run.balances_total == run.ledger_total == D("4100.00")  # the books as at the snapshot
    after = reconcile(dt.date(2026, 6, 2))
    assert after.ok and after.ledger_total == D("4100.00") - sum(r.total_paid for r in spent)
