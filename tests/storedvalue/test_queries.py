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
    # on PostgreSQL the card, the rules and the payment method are read in the statement that locks the member,
    # and the payment, the card's UPDATE and the ledger entry go with the receipt's one insert: no statement
    # more; elsewhere the read is one statement and each write one of its own
    assert extra <= (0 if connection.vendor == "postgresql" else 4), "\n".join(paid)


def _read_with_lock(member):
    """The stored-value tender's lock read, run as the lock statement runs it (over the member's row `m`)."""
    from membercare.storedvalue.spend import sale_card_read

    read = sale_card_read()
    if read is None:
        return None
    sql, params = read
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ({sql}) FROM members_member m WHERE m.id = %s", [*params, member.pk])
        return cursor.fetchone()[0]


def test_the_read_with_the_lock_gives_what_sale_card_gives(chain, member):
    """Cards of two scopes, one frozen, an expiry date, a balance with cents: the JSON read equals the plain one."""
    from membercare.storedvalue.models import StoredValueCard
    from membercare.storedvalue.spend import sale_card, sale_card_from_read

    if connection.vendor != "postgresql":
        assert _read_with_lock(member) is None  # SQLite: the tender reads its statement of its own
        return
    empty = sale_card_from_read(_read_with_lock(member), chain.shop)
    assert empty.card is None and empty == sale_card(member.pk, chain.shop)
    top_up(member=member, amount=Decimal("1234.56"), method="bank_card", store=chain.shop, by=chain.clerk, at=AT)
    card = StoredValueCard.objects.get(member=member)
    StoredValueCard.objects.filter(pk=card.pk).update(expires_on=dt.date(2030, 2, 28), bonus=Decimal("7.05"))
    StoredValueCard.objects.create(member=member, number="SVOTHER0001", scope="OTHER", status="frozen",
                                   principal=Decimal("1.10"), bonus=Decimal("0.00"), created_at=AT)
    got, want = sale_card_from_read(_read_with_lock(member), chain.shop), sale_card(member.pk, chain.shop)
    assert got.rules == want.rules
    assert (got.method.pk, got.method.code, got.method.name) == (want.method.pk, want.method.code, want.method.name)
    fields = ("id", "number", "member_id", "scope", "named", "status", "principal", "bonus", "expires_on")
    assert [getattr(got.card, f) for f in fields] == [getattr(want.card, f) for f in fields]
    assert got.card.principal == Decimal("1234.56") and got.card.bonus == Decimal("7.05")
    assert got.card.expires_on == dt.date(2030, 2, 28)
