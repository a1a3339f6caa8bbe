"""What paying with stored value costs a checkout in queries (the POS hot path, issue 21's benchmark): the same
sale with and without a stored-value payment, counted with CaptureQueriesContext."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

from membercare.checkout.pipeline import LineIn, PaymentIn, checkout_post
from membercare.storedvalue.topup import top_up

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)


def sale(chain, member, payments, minute):
    with CaptureQueriesContext(connection) as ctx:
        checkout_post(store=chain.shop, clerk=None, phone=member.phone, lines=[LineIn("BELT", 1)],
                      payments=payments, sold_at=AT + dt.timedelta(minutes=minute))
    return [q["sql"] for q in ctx.captured_queries]


def test_stored_value_adds_few_queries_to_a_sale(chain, member):
    top_up(member=member, amount=Decimal("3000.00"), method="bank_card", store=chain.shop, by=chain.clerk, at=AT)
    sale(chain, member, None, 1)  # warm: the sequences, the programme, the methods
    sale(chain, member, [PaymentIn("stored_value")], 2)
    plain = sale(chain, member, None, 3)
    paid = sale(chain, member, [PaymentIn("stored_value")], 4)
    extra = len(paid) - len(plain)
    print(f"plain {len(plain)} queries, stored value {len(paid)} (+{extra})")
    # the card, the rules and the payment method in one statement; on PostgreSQL the payment, the card's UPDATE
    # and the ledger entry go with the receipt's one insert, elsewhere each is a statement of its own
    assert extra <= (1 if connection.vendor == "postgresql" else 4), "\n".join(paid)
