"""care_seriespurchaseday (issue 20): the (member, series, local day) table the audiences' "series bought"
condition reads, kept by the purchase-day refresh. It must equal a plain recomputation from the receipt lines
(sales, returns in part or in full, on the same day or later) after the first build, after incremental runs and
after a rebuild."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.audiences.selectors import members_queryset
from membercare.care import purchase_days
from membercare.care.models import CareCursor, SeriesPurchaseDay
from membercare.sales.models import Receipt, ReceiptLine
from tests.factories import BrandFactory, MemberFactory, ProductFactory, SeriesFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
END = dt.date(2026, 6, 30)
_numbers = iter(range(1, 10**9))


def _sale(member, store, when: dt.datetime, lines: list[tuple]) -> Receipt:
    """A sale receipt with lines [(product, quantity, paid cents)]."""
    total = Decimal(sum(c for _p, _q, c in lines)) / 100
    receipt = Receipt.objects.create(number=f"S{next(_numbers):09d}", store=store, member=member, sold_at=when,
                                     total_full_price=total, total_paid=total)
    for product, quantity, paid in lines:
        ReceiptLine.objects.create(receipt=receipt, product=product, quantity=quantity,
                                   full_price=Decimal(paid) / 100, paid_amount=Decimal(paid) / 100)
    return receipt


def _return(original: Receipt, when: dt.datetime, parts: list[tuple[ReceiptLine, int]]) -> Receipt | None:
    """A return of `quantity` units of each line [(line, quantity)], at the line's unit price."""
    parts = [(line, q) for line, q in parts if q > 0]
    if not parts:
        return None
    amounts = [(line, q, (Decimal(line.paid_amount) * q / line.quantity).quantize(Decimal("0.01")))
               for line, q in parts]
    total = -sum(a for _l, _q, a in amounts)
    ret = Receipt.objects.create(number=f"S{next(_numbers):09d}", store=original.store, member=original.member,
                                 sold_at=when, total_full_price=total, total_paid=total, original=original)
    for line, q, amount in amounts:
        ReceiptLine.objects.create(receipt=ret, product=line.product, quantity=-q, full_price=-amount,
                                   paid_amount=-amount, original_line=line)
    return ret


def recomputed() -> dict[tuple[int, int, dt.date], tuple[int, int]]:
    """The table worked out in Python from every receipt line: per (sale's member, series, sale's local day) the
    net quantity and paid cents, kept where the quantity is positive."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for line in ReceiptLine.objects.select_related("receipt__original", "product"):
        sale = line.receipt.original or line.receipt
        if sale.member_id is None:
            continue
        key = (sale.member_id, line.product.series_id, timezone.localtime(sale.sold_at, TZ).date())
        sums[key][0] += line.quantity
        sums[key][1] += int((Decimal(line.paid_amount) * 100).to_integral_value())
    return {k: (q, c) for k, (q, c) in sums.items() if q > 0}


def table() -> dict[tuple[int, int, dt.date], tuple[int, int]]:
    return {(r.member_id, r.series_id, r.day): (r.quantity, r.paid_cents) for r in SeriesPurchaseDay.objects.all()}


def _local(day: dt.date, hour: int, minute: int = 30) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture
def chain(db):
    brand = BrandFactory(code="MAIN")
    store = StoreFactory(code="M01", brand=brand)
    business, golf = SeriesFactory(code="business"), SeriesFactory(code="golf", name="高尔夫系列")
    products = [ProductFactory(series=business, brand=brand), ProductFactory(series=business, brand=brand),
                ProductFactory(series=golf, brand=brand)]
    return store, (business, golf), products


def test_sales_and_returns_by_hand(chain, monkeypatch):
    """Worked by hand: a full return removes the series' day, a part return leaves the rest, a return on a later
    day counts against the sale's day, 23:30 and 00:30 are two days, a receipt without member has no row; the
    series condition follows (an audience counts it)."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    store, (business, golf), (suit, shirt, club) = chain
    a, b, c = (MemberFactory(home_store=store) for _ in range(3))
    one = _sale(a, store, _local(dt.date(2026, 6, 1), 10), [(suit, 2, 200000), (club, 1, 50000)])
    _sale(b, store, _local(dt.date(2026, 6, 10), 23), [(shirt, 1, 30000)])
    _sale(b, store, _local(dt.date(2026, 6, 11), 0), [(club, 1, 40000)])
    lone = _sale(None, store, _local(dt.date(2026, 6, 2), 12), [(suit, 1, 100000)])
    purchase_days.refresh_purchase_days()
    assert table() == recomputed() == {
        (a.pk, business.pk, dt.date(2026, 6, 1)): (2, 200000), (a.pk, golf.pk, dt.date(2026, 6, 1)): (1, 50000),
        (b.pk, business.pk, dt.date(2026, 6, 10)): (1, 30000), (b.pk, golf.pk, dt.date(2026, 6, 11)): (1, 40000)}
    golfers = {"include": {"op": "and", "items": [
        {"type": "series", "params": {"values": [str(golf.pk)], "window": 30}}]}}
    assert set(members_queryset(golfers, today=END).values_list("pk", flat=True)) == {a.pk, b.pk}

    lines = {ln.product_id: ln for ln in one.lines.all()}
    _return(one, _local(dt.date(2026, 6, 20), 15), [(lines[club.pk], 1)])  # the club, weeks later
    _return(one, _local(dt.date(2026, 6, 21), 15), [(lines[suit.pk], 1)])  # one of the two suits
    _sale(c, store, _local(dt.date(2026, 6, 30), 9), [(club, 1, 0)])  # a gift: bought, nothing paid
    _return(lone, _local(dt.date(2026, 6, 3), 12), [(lone.lines.get(), 1)])
    purchase_days.refresh_purchase_days()
    assert table() == recomputed()
    assert table()[(a.pk, business.pk, dt.date(2026, 6, 1))] == (1, 100000)
    assert (a.pk, golf.pk, dt.date(2026, 6, 1)) not in table()
    assert set(members_queryset(golfers, today=END).values_list("pk", flat=True)) == {b.pk, c.pk}
    assert set(members_queryset(golfers, today=dt.date(2026, 6, 29)).values_list("pk", flat=True)) == {b.pk}
    kept = table()
    purchase_days.rebuild_purchase_days()
    assert table() == kept


def test_built_when_its_cursor_is_missing(chain):
    """On deployment the purchase-day cursor exists but the series table is new: the next refresh builds it, and
    a later refresh re-derives the touched days only."""
    store, (business, golf), (suit, _shirt, club) = chain
    m = MemberFactory(home_store=store)
    _sale(m, store, _local(dt.date(2026, 6, 1), 12), [(suit, 1, 100000)])
    purchase_days.refresh_purchase_days()
    SeriesPurchaseDay.objects.all().delete()
    CareCursor.objects.filter(name=purchase_days.SERIES_CURSOR).delete()
    purchase_days.refresh_purchase_days()
    assert table() == recomputed() and len(table()) == 1
    _sale(m, store, _local(dt.date(2026, 6, 2), 12), [(club, 1, 30000)])
    purchase_days.refresh_purchase_days()
    assert table() == recomputed() and len(table()) == 2
    assert CareCursor.objects.get(name=purchase_days.SERIES_CURSOR).value == Receipt.objects.latest("pk").pk


_line = st.tuples(st.integers(0, 2), st.integers(1, 3), st.sampled_from([0, 1000, 25000, 199900]))
# (member: 3 = none, days back, hour, lines, returned units per line (None: no return), return days later)
_receipt = st.tuples(st.integers(0, 3), st.integers(0, 40), st.sampled_from([0, 11, 23]),
                     st.lists(_line, min_size=1, max_size=3), st.one_of(st.none(), st.integers(0, 3)),
                     st.integers(0, 30))


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=False)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(early=st.lists(_receipt, max_size=12), late=st.lists(_receipt, max_size=8),
       late_returns=st.lists(st.tuples(st.integers(0, 11), st.integers(1, 3), st.integers(0, 30)), max_size=4))
def test_equals_a_recomputation_from_the_receipts(db, monkeypatch, early, late, late_returns):
    """Random sales of three products in two series by three members and walk-ins, some returned in part or in
    full (the same day or up to 30 days later), folded in two runs: the first builds the table, the second is
    incremental (new sales, late uploads, returns of receipts already folded in). After each, and after a
    rebuild, the table equals the recomputation from the receipt lines."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    try:
        with transaction.atomic():
            brand = BrandFactory(code="MAIN")
            store = StoreFactory(code="M01", brand=brand)
            series = [SeriesFactory(code="business"), SeriesFactory(code="golf", name="高尔夫系列")]
            products = [ProductFactory(series=series[0], brand=brand), ProductFactory(series=series[1], brand=brand),
                        ProductFactory(series=series[1], brand=brand)]
            members = [MemberFactory(home_store=store) for _ in range(3)]
            posted: list[Receipt] = []

            def post(specs):
                for who, back, hour, lines, returned, after in specs:
                    when = _local(END - dt.timedelta(days=back), hour)
                    receipt = _sale(members[who] if who < 3 else None, store, when,
                                    [(products[p], q, c * q) for p, q, c in lines])
                    posted.append(receipt)
                    if returned is not None:
                        _return(receipt, when + dt.timedelta(days=after, minutes=10),
                                [(ln, min(returned, ln.quantity)) for ln in receipt.lines.order_by("pk")])

            post(early)
            purchase_days.refresh_purchase_days()
            assert table() == recomputed()
            post(late)
            for index, units, after in late_returns:
                if index < len(posted):
                    original = posted[index]
                    left = [(ln, min(units, ln.quantity + sum(
                        r.quantity for r in ReceiptLine.objects.filter(original_line=ln))))
                        for ln in original.lines.order_by("pk")]
                    _return(original, original.sold_at + dt.timedelta(days=after, hours=1), left)
            purchase_days.refresh_purchase_days()
            assert table() == recomputed()
            kept = table()
            purchase_days.rebuild_purchase_days()
            assert table() == kept
            raise _Rollback
    except _Rollback:
        pass
