"""The per-brand summary in SQL on a small hand-built history (answers worked out by hand)."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.care import purchase_days
from membercare.care.models import BrandPurchaseDay, BrandPurchaseSummary, CareCursor
from membercare.prediction.summary import brand_summary
from tests.factories import BrandFactory, MemberFactory, StoreFactory

from .conftest import refund, sale

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def history(stores, member_factory):
    main, sub = stores
    a, b, c, d, e = (member_factory() for _ in range(5))
    # A at MAIN: 01-01 two receipts (one day, 150), 01-15 (200), 02-12 300 less a 100 return on 03-01 (200)
    sale(a, main, "2026-01-01 10:00", "100.00")
    sale(a, main, "2026-01-01 15:00", "50.00")
    sale(a, main, "2026-01-15 12:00", "200.00")
    refund(sale(a, main, "2026-02-12 12:00", "300.00"), "2026-03-01 12:00", "-100.00")
    # A at JUEDU: one day only
    sale(a, sub, "2026-03-03 12:00", "80.00")
    # B: a sale returned in full is no purchase day; then one purchase day
    refund(sale(b, main, "2026-05-01 12:00", "500.00"), "2026-05-02 12:00", "-500.00")
    sale(b, main, "2026-06-01 12:00", "300.00")
    # C: 23:30 and 00:30 local time are two days (UTC: both on 06-10)
    sale(c, main, "2026-06-10 23:30", "100.00")
    sale(c, main, "2026-06-11 00:30", "60.00")
    # D: the last evening of the window counts, a later sale does not
    sale(d, main, "2026-06-30 23:00", "90.00")
    sale(d, main, "2026-07-05 12:00", "90.00")
    # E: only after the window
    sale(e, main, "2026-07-01 00:10", "90.00")
    sale(None, main, "2026-02-01 12:00", "999.00")  # no member
    return a, b, c, d, e


@pytest.mark.parametrize("route", ["auto", "purchase_days", "receipts"])
def test_main_brand_summary(brands, history, route):
    a, b, c, d, _e = history
    s = brand_summary(brands[0].pk, AS_OF, route=route)
    assert s.source == ("purchase_days" if route == "auto" else route)  # D's 07-05 sale: the table is later
    assert s.member_id.tolist() == [a.pk, b.pk, c.pk, d.pk]
    assert s.x.tolist() == [2, 0, 1, 0]
    assert s.t_x_days.tolist() == [42, 0, 1, 0]  # A: 02-12 − 01-01
    assert s.T_days.tolist() == [180, 29, 20, 0]  # A: 06-30 − 01-01
    np.testing.assert_allclose(s.monetary, [200.0, 0.0, 60.0, 0.0])  # A: (200 + 200) / 2 repeat days
    np.testing.assert_allclose(s.T, np.array([180, 29, 20, 0]) / 7)


@pytest.mark.parametrize("route", ["auto", "purchase_days", "receipts"])
def test_sub_brand_summary_counts_only_its_stores(brands, history, route):
    a = history[0]
    s = brand_summary(brands[1].pk, AS_OF, route=route)
    assert s.member_id.tolist() == [a.pk]
    assert (s.x.tolist(), s.t_x_days.tolist(), s.T_days.tolist()) == ([0], [0], [119])


def test_a_return_after_as_of_does_not_count(brands, stores, member_factory):
    m = member_factory()
    sale(m, stores[0], "2026-06-01 12:00", "100.00")
    refund(sale(m, stores[0], "2026-06-20 12:00", "100.00"), "2026-07-02 12:00", "-100.00")
    assert brand_summary(brands[0].pk, AS_OF).x.tolist() == [1]
    assert brand_summary(brands[0].pk, dt.date(2026, 7, 2)).x.tolist() == [0]


@pytest.mark.parametrize("route", ["auto", "summary", "purchase_days", "receipts"])
def test_single_brand_chain_reads_care_purchase_days(db, route):
    brand = BrandFactory(code="ONLY")
    store = StoreFactory(code="O01", brand=brand)
    m = MemberFactory(home_store=store)
    sale(m, store, "2026-01-01 10:00", "100.00")
    refund(sale(m, store, "2026-01-08 10:00", "300.00"), "2026-01-09 10:00", "-100.00")
    sale(m, store, "2026-01-15 10:00", "50.00")
    s = brand_summary(brand.pk, AS_OF, route=route)
    assert s.source == ("summary" if route == "auto" else route)  # nothing after AS_OF: the summary table
    assert (s.x.tolist(), s.t_x_days.tolist(), s.T_days.tolist()) == ([2], [14], [180])
    np.testing.assert_allclose(s.monetary, [125.0])  # (200 + 50) / 2


def test_single_brand_chain_past_as_of_ignores_later_returns(db):
    """The purchase-day table holds today's nets; a past as_of must see each day as it was then: a return
    made after as_of neither lowers a day's value nor removes a day it later empties (issue 23)."""
    brand = BrandFactory(code="ONLY")
    store = StoreFactory(code="O01", brand=brand)
    m, n = MemberFactory(home_store=store), MemberFactory(home_store=store)
    sale(m, store, "2026-06-01 12:00", "100.00")
    refund(sale(m, store, "2026-06-20 12:00", "100.00"), "2026-07-02 12:00", "-100.00")  # empties 06-20 later
    sale(m, store, "2026-06-25 12:00", "300.00")
    refund(sale(m, store, "2026-06-25 18:00", "200.00"), "2026-07-03 12:00", "-150.00")  # lowers 06-25 later
    sale(n, store, "2026-06-10 23:30", "80.00")  # local evening: the return after as_of is against 06-10
    refund(sale(n, store, "2026-06-10 23:45", "20.00"), "2026-07-01 09:00", "-20.00")
    sale(n, store, "2026-06-12 12:00", "40.00")
    s = brand_summary(brand.pk, AS_OF)
    assert s.source == "purchase_days"
    receipts = brand_summary(None, AS_OF)  # the receipts route, exact by construction
    assert s.member_id.tolist() == receipts.member_id.tolist() == [m.pk, n.pk]
    assert s.x.tolist() == receipts.x.tolist() == [2, 1]
    assert s.t_x_days.tolist() == receipts.t_x_days.tolist() == [24, 2]
    np.testing.assert_allclose(s.monetary, [(100 + 500) / 2, 40.0])
    np.testing.assert_allclose(receipts.monetary, s.monetary)
    later = brand_summary(brand.pk, dt.date(2026, 7, 3))  # after the returns: they count
    assert later.x.tolist() == [1, 1]
    np.testing.assert_allclose(later.monetary, [350.0, 40.0])


ROUTES = ("summary", "purchase_days", "receipts")


def _same(one, other) -> None:
    assert one.member_id.tolist() == other.member_id.tolist()
    assert one.x.tolist() == other.x.tolist()
    assert one.t_x_days.tolist() == other.t_x_days.tolist()
    assert one.T_days.tolist() == other.T_days.tolist()
    np.testing.assert_allclose(one.monetary, other.monetary, rtol=0, atol=1e-9)


def _tables() -> tuple[list, list]:
    return (sorted(BrandPurchaseDay.objects.values_list("member_id", "brand_id", "day", "paid_cents", "receipts")),
            sorted(BrandPurchaseSummary.objects.values_list("member_id", "brand_id", "days", "first_day",
                                                            "last_day", "paid_cents", "first_cents")))


def test_multi_brand_routes_agree_before_and_after_later_returns(brands, stores, member_factory):
    """Two brands; a member buying at both on one day (each brand's day stands alone); returns after as_of
    at each brand: a past as_of reads the purchase days patched for those returns, a current one the summary
    table, and both equal the receipts (issue 23)."""
    main, sub = stores
    m, n = member_factory(), member_factory()
    sale(m, main, "2026-06-01 12:00", "100.00")
    sale(m, sub, "2026-06-01 13:00", "40.00")
    refund(sale(m, sub, "2026-06-01 14:00", "60.00"), "2026-07-02 12:00", "-60.00")  # sub's 06-01 lowered later
    refund(sale(m, main, "2026-06-20 12:00", "100.00"), "2026-07-02 12:00", "-100.00")  # main's 06-20 emptied
    sale(m, sub, "2026-06-25 12:00", "30.00")
    refund(sale(n, sub, "2026-06-10 23:30", "80.00"), "2026-06-12 10:00", "-80.00")  # returned before as_of
    sale(n, sub, "2026-06-11 00:30", "20.00")
    refund(sale(n, main, "2026-06-29 12:00", "50.00"), "2026-07-01 09:00", "-10.00")
    past = {r: [brand_summary(b.pk, AS_OF, route=r) for b in brands] for r in ("auto", "purchase_days", "receipts")}
    assert [s.source for s in past["auto"]] == ["purchase_days", "purchase_days"]
    for route in ("auto", "purchase_days"):
        for got, want in zip(past[route], past["receipts"], strict=True):
            _same(got, want)
    at_main, at_sub = past["receipts"]
    assert at_main.member_id.tolist() == [m.pk, n.pk] and at_main.x.tolist() == [1, 0]
    np.testing.assert_allclose(at_main.monetary, [100.0, 0.0])  # the 06-20 return is not known on 06-30
    assert at_sub.x.tolist() == [1, 0] and at_sub.t_x_days.tolist() == [24, 0]
    np.testing.assert_allclose(at_sub.monetary, [30.0, 0.0])
    with pytest.raises(ValueError):
        brand_summary(brands[0].pk, AS_OF, route="summary")  # the table holds later receipts
    later = dt.date(2026, 7, 31)
    for brand in brands:
        now = {r: brand_summary(brand.pk, later, route=r) for r in ROUTES}
        assert brand_summary(brand.pk, later).source == "summary"
        _same(now["summary"], now["receipts"])
        _same(now["purchase_days"], now["receipts"])
    assert brand_summary(brands[0].pk, later).x.tolist() == [0, 0]  # main: m's 06-20 day is gone


def test_the_summary_table_follows_new_receipts_incrementally(brands, stores, member_factory, monkeypatch):
    """After the first build only the members touched by new receipts are re-derived (LOOKBACK 0: the cursor
    alone finds them); the tables then equal a rebuild from every receipt, and the routes agree."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    main, sub = stores
    m, n, o = member_factory(), member_factory(), member_factory()
    first = sale(m, main, "2026-06-01 12:00", "100.00")
    sale(n, sub, "2026-06-02 12:00", "70.00")
    sale(o, main, "2026-06-03 12:00", "10.00")
    brand_summary(brands[0].pk, AS_OF)  # the first build
    assert CareCursor.objects.get(name=purchase_days.BRAND_CURSOR).key == "2026-06-03"
    untouched = BrandPurchaseSummary.objects.get(member=o)
    refund(first, "2026-06-15 12:00", "-100.00")  # m's only main day emptied
    sale(m, sub, "2026-06-16 12:00", "25.00")
    sale(n, sub, "2026-05-20 12:00", "15.00")  # a late upload: before n's first day
    sale(n, main, "2026-06-20 12:00", "35.00")
    got = {r: brand_summary(brands[1].pk, AS_OF, route=r) for r in ROUTES}
    assert got["summary"].member_id.tolist() == [m.pk, n.pk]
    assert got["summary"].x.tolist() == [0, 1] and got["summary"].t_x_days.tolist() == [0, 13]
    _same(got["summary"], got["receipts"])
    _same(got["purchase_days"], got["receipts"])
    _same(brand_summary(brands[0].pk, AS_OF), brand_summary(brands[0].pk, AS_OF, route="receipts"))
    assert BrandPurchaseSummary.objects.get(member=o) == untouched
    kept = _tables()
    purchase_days.rebuild_purchase_days()
    assert _tables() == kept


def test_the_brand_tables_are_built_when_their_cursor_is_missing(brands, stores, member_factory):
    """On deployment the purchase-day cursor exists but the brand tables are new: the next refresh builds them."""
    m = member_factory()
    sale(m, stores[0], "2026-06-01 12:00", "100.00")
    sale(m, stores[1], "2026-06-02 12:00", "50.00")
    purchase_days.refresh_purchase_days()
    kept = _tables()
    BrandPurchaseDay.objects.all().delete()
    BrandPurchaseSummary.objects.all().delete()
    CareCursor.objects.filter(name=purchase_days.BRAND_CURSOR).delete()
    purchase_days.refresh_purchase_days()
    assert _tables() == kept and len(kept[1]) == 2


_receipt = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 40), st.sampled_from([0, 11, 23]),
                     st.integers(1, 500_00), st.sampled_from([None, None, 0, 1, 2, 4]), st.integers(0, 30))


@pytest.mark.django_db(transaction=False)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(early=st.lists(_receipt, max_size=20), late=st.lists(_receipt, max_size=12), as_of_back=st.integers(-2, 30))
def test_routes_agree_on_random_histories(db, monkeypatch, early, late, as_of_back):
    """Random receipts at three stores of two brands (some returned in part or in full, some returns days
    later), folded in two runs (the second incremental, with late uploads): for every brand and for a random
    as_of, the summary and purchase-day routes equal the receipts route, and the tables equal a rebuild."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    try:
        with transaction.atomic():
            one, two = BrandFactory(code="B1"), BrandFactory(code="B2")
            stores = [StoreFactory(code="S1", brand=one), StoreFactory(code="S2", brand=two),
                      StoreFactory(code="S3", brand=one)]
            members = [MemberFactory(home_store=stores[0]) for _ in range(3)]
            end = dt.date(2026, 6, 30)

            def post(specs):
                for who, where, back, hour, cents, quarters, after in specs:
                    member = members[who] if who < 3 else None
                    when = f"{end - dt.timedelta(days=back)} {hour:02d}:30"
                    receipt = sale(member, stores[where], when, Decimal(cents) / 100)
                    if quarters is not None:
                        returned = dt.datetime.fromisoformat(when) + dt.timedelta(days=after)
                        refund(receipt, returned.strftime("%Y-%m-%d %H:%M"), -Decimal(cents * quarters // 4) / 100)

            post(early)
            brand_summary(one.pk, end)
            post(late)
            as_of = end - dt.timedelta(days=as_of_back)
            for brand in (one, two):
                want = brand_summary(brand.pk, as_of, route="receipts")
                _same(brand_summary(brand.pk, as_of), want)
                _same(brand_summary(brand.pk, as_of, route="purchase_days"), want)
            kept = _tables()
            purchase_days.rebuild_purchase_days()
            assert _tables() == kept
            raise _Rollback
    except _Rollback:
        pass


class _Rollback(Exception):
    pass
