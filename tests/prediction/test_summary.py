"""The per-brand summary in SQL on a small hand-built history (answers worked out by hand)."""

import datetime as dt

import numpy as np
import pytest

from membercare.prediction.summary import brand_summary, uses_purchase_days
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


def test_main_brand_summary(brands, history):
    a, b, c, d, _e = history
    s = brand_summary(brands[0].pk, AS_OF)
    assert s.source == "receipts"
    assert s.member_id.tolist() == [a.pk, b.pk, c.pk, d.pk]
    assert s.x.tolist() == [2, 0, 1, 0]
    assert s.t_x_days.tolist() == [42, 0, 1, 0]  # A: 02-12 − 01-01
    assert s.T_days.tolist() == [180, 29, 20, 0]  # A: 06-30 − 01-01
    np.testing.assert_allclose(s.monetary, [200.0, 0.0, 60.0, 0.0])  # A: (200 + 200) / 2 repeat days
    np.testing.assert_allclose(s.T, np.array([180, 29, 20, 0]) / 7)


def test_sub_brand_summary_counts_only_its_stores(brands, history):
    a = history[0]
    s = brand_summary(brands[1].pk, AS_OF)
    assert s.member_id.tolist() == [a.pk]
    assert (s.x.tolist(), s.t_x_days.tolist(), s.T_days.tolist()) == ([0], [0], [119])


def test_a_return_after_as_of_does_not_count(brands, stores, member_factory):
    m = member_factory()
    sale(m, stores[0], "2026-06-01 12:00", "100.00")
    refund(sale(m, stores[0], "2026-06-20 12:00", "100.00"), "2026-07-02 12:00", "-100.00")
    assert brand_summary(brands[0].pk, AS_OF).x.tolist() == [1]
    assert brand_summary(brands[0].pk, dt.date(2026, 7, 2)).x.tolist() == [0]


def test_single_brand_chain_reads_care_purchase_days(db):
    brand = BrandFactory(code="ONLY")
    store = StoreFactory(code="O01", brand=brand)
    assert uses_purchase_days(brand.pk)
    m = MemberFactory(home_store=store)
    sale(m, store, "2026-01-01 10:00", "100.00")
    refund(sale(m, store, "2026-01-08 10:00", "300.00"), "2026-01-09 10:00", "-100.00")
    sale(m, store, "2026-01-15 10:00", "50.00")
    s = brand_summary(brand.pk, AS_OF)
    assert s.source == "purchase_days"
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
