"""The liability (outstanding principal and bonus) as of a day per store, scope and chain, the movements per
day and the revenue recognised when spent: figures worked out by hand for a small story, and a property —
the liability as of any day is the sum of the entries made up to the end of that local day."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import LineIn, PaymentIn, checkout_post, return_post
from membercare.storedvalue import liability as li
from membercare.storedvalue.models import EntryKind, StoredValueEntry
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
D1, D2, D3, D4 = (dt.date(2026, 6, d) for d in (1, 2, 3, 4))


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), TZ)


def story(chain, member, hq):
    """D1 12:00 top-up ¥1,000 at SH01 (bonus 100); D1 23:30 top-up ¥200 at BJ01; D2 00:30 (still D1 in UTC)
    spend ¥1,000 at SH01 (proportional: bonus 1000×100/1300 = 76.92, principal 923.08); D3 return of it all at
    SH01; D4 HQ approves the refund asked at SH01: principal 1,200 paid back, bonus 100 forfeited."""
    top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk,
           at=at(D1, 12))
    top_up(member=member, amount=D("200.00"), method="cash", store=chain.shop2, by=hq, at=at(D1, 23, 30))
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                            payments=[PaymentIn("stored_value")], sold_at=at(D2, 0, 30))
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=at(D3, 10))
    card = member.stored_value_cards.get()
    refund = request_refund(card=card, by=chain.clerk, reason="搬家", store=chain.shop)
    approve_refund(refund=refund, by=hq, method="bank_card", at=at(D4, 15))


def test_outstanding_per_day_store_and_scope_by_hand(chain, member, hq):
    story(chain, member, hq)
    shop, shop2 = chain.shop.pk, chain.shop2.pk
    out = li.Outstanding
    assert li.outstanding(dt.date(2026, 5, 31)) == out(D("0.00"), D("0.00"))
    assert li.outstanding(D1) == out(D("1200.00"), D("100.00"))
    assert li.outstanding_by_store(D1) == {shop: out(D("1000.00"), D("100.00")), shop2: out(D("200.00"), D("0.00"))}
    assert li.outstanding(D2) == out(D("276.92"), D("23.08"))
    assert li.outstanding_by_store(D2)[shop] == out(D("76.92"), D("23.08"))
    assert li.outstanding(D3) == out(D("1200.00"), D("100.00"))
    assert li.outstanding(D4) == out(D("0.00"), D("0.00"))
    # the money was taken at BJ01 and paid back at SH01: liability moved between the stores, none is left
    assert li.outstanding_by_store(D4) == {shop: out(D("-200.00"), D("0.00")), shop2: out(D("200.00"), D("0.00"))}
    assert li.outstanding(D1, store_ids=[shop2]) == out(D("200.00"), D("0.00"))
    assert li.outstanding_by_scope(D2) == {"": out(D("276.92"), D("23.08"))}  # the chain's cards (scope chain)


def test_movements_and_revenue_recognised_by_hand(chain, member, hq):
    story(chain, member, hq)
    days = {m.day: m for m in li.movements(dt.date(2026, 5, 31), D4)}
    assert len(days) == 5 and days[dt.date(2026, 5, 31)].net_change == 0
    d1, d2, d3, d4 = days[D1], days[D2], days[D3], days[D4]
    assert (d1.top_ups, d1.b(EntryKind.TOP_UP), d1.count[EntryKind.TOP_UP]) == (D("1200.00"), D("100.00"), 2)
    assert (d2.spends, d2.recognised, d2.bonus_used) == (D("1000.00"), D("923.08"), D("76.92"))
    assert d2.top_ups == 0  # the spend at 00:30 is D2's, though D1's in UTC
    assert (d3.returns, d3.recognised, d3.bonus_used) == (D("1000.00"), D("-923.08"), D("-76.92"))
    assert (d4.refunds, d4.forfeits, d4.net_change) == (D("1200.00"), D("100.00"), D("-1300.00"))
    assert li.period_totals(D1, D4) == {"top_ups": D("1200.00"), "spends": D("1000.00"),
                                        "refunds": D("1200.00"), "recognised": D("0.00")}
    assert li.period_totals(D2, D2, store_ids=[chain.shop2.pk]) == {
        "top_ups": D("0.00"), "spends": D("0.00"), "refunds": D("0.00"), "recognised": D("0.00")}
    # outstanding(day) = outstanding(day before) + the day's net change
    assert li.outstanding(D3).total == li.outstanding(D2).total + d3.net_change


entry = st.tuples(st.integers(0, 6), st.integers(0, 23), st.integers(0, 59), st.booleans(),
                  st.integers(-50000, 50000), st.integers(-5000, 5000))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entry, max_size=25), st.integers(-1, 7))
def test_liability_as_of_any_day_is_the_sum_of_the_entries_up_to_it(chain, rows, offset):
    start = dt.date(2026, 6, 1)
    with transaction.atomic():
        member = MemberFactory(home_store=chain.shop)
        card = top_up(member=member, amount=D("1.00"), method="cash", store=chain.shop, by=chain.clerk,
                      at=at(dt.date(2026, 5, 20), 9)).card
        made = [(at(dt.date(2026, 5, 20), 9), chain.shop.pk, D("1.00"), D("0.00"))]
        for day, hour, minute, second_store, p, b in rows:
            when = at(start + dt.timedelta(days=day), hour, minute)
            store = chain.shop2 if second_store else chain.shop
            StoredValueEntry.objects.create(card=card, member=member, kind=EntryKind.TOP_UP, principal=D(p) / 100,
                                            bonus=D(b) / 100, store=store, created_at=when)
            made.append((when, store.pk, D(p) / 100, D(b) / 100))
        day = start + dt.timedelta(days=offset)
        upto = [m for m in made if m[0].astimezone(TZ).date() <= day]
        expected = li.Outstanding(sum((m[2] for m in upto), D("0.00")), sum((m[3] for m in upto), D("0.00")))
        assert li.outstanding(day) == expected
        by_store = li.outstanding_by_store(day)
        assert sum((o.total for o in by_store.values()), D("0.00")) == expected.total
        for store_id, o in by_store.items():
            mine = [m for m in upto if m[1] == store_id]
            assert o == li.Outstanding(sum((m[2] for m in mine), D("0.00")), sum((m[3] for m in mine), D("0.00")))
        moved = sum((m.net_change for m in li.movements(dt.date(2026, 5, 20), day)), D("0.00")) if offset >= -1 \
            else D("0.00")
        assert moved == expected.total
        transaction.set_rollback(True)
