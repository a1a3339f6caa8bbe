"""The last item in stock redeemed by several members at once goes to one (PostgreSQL: real row locks, real
threads); the SQL invariants hold: stock = its movements, never below zero, one redemption per item taken,
every account = its ledger."""

import pytest
from django.db import connection

from membercare.campaigns.mall import mall_redeem
from membercare.campaigns.models import MallRedemption
from membercare.core.sql import fetch
from tests.campaigns import test_mall as mall_tests
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
AT, _give_points, hq, mall = mall_tests.AT, mall_tests._give_points, mall_tests.hq, mall_tests.mall
THREADS = 6


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions are tested on PostgreSQL")


def _invariants():
    assert fetch("""SELECT s.id FROM service_giftstock s LEFT JOIN service_stockmovement m ON m.stock_id = s.id
                    GROUP BY s.id, s.quantity HAVING s.quantity <> COALESCE(SUM(m.quantity), 0)""") == []
    assert fetch("SELECT id FROM service_giftstock WHERE quantity < 0") == []
    assert fetch("""SELECT a.member_id FROM loyalty_loyaltyaccount a LEFT JOIN loyalty_pointsentry e
                    ON e.member_id = a.member_id GROUP BY a.member_id, a.points
                    HAVING a.points <> COALESCE(SUM(e.points), 0)""") == []
    assert fetch("""SELECT r.id FROM campaigns_mallredemption r JOIN loyalty_pointsentry e ON e.id = r.entry_id
                    WHERE e.points <> -r.points OR e.kind <> 'redeem'""") == []


def test_the_last_gift_redeemed_at_once_by_several_members_goes_to_one(chain, mall):
    _postgres_only()
    members = [MemberFactory(home_store=chain.shop) for _ in range(THREADS)]
    for m in members:
        _give_points(m, 1000)
    mall_redeem(member=members[0], item=mall["gift"], channel="counter", store=chain.shop, by=chain.clerk, at=AT)
    # one umbrella left at SH01 (2 received, 1 given)
    results = run_together([lambda m=m: mall_redeem(member=m, item=mall["gift"], channel="member_centre",
                                                    store=chain.shop, at=AT) for m in members[1:]])
    won = [r for r in results if isinstance(r, MallRedemption)]
    refused = [r for r in results if not isinstance(r, MallRedemption)]
    assert len(won) == 1, results
    assert all(getattr(r, "error_code", None) == "out_of_stock" for r in refused), refused
    assert fetch("SELECT quantity FROM service_giftstock") == [(0,)]
    assert MallRedemption.objects.count() == 2
    _invariants()


def test_the_last_coupon_redeemed_at_once_goes_to_one(chain, mall):
    _postgres_only()
    members = [MemberFactory(home_store=chain.shop) for _ in range(THREADS)]
    for m in members:
        _give_points(m, 1000)
    results = run_together([lambda m=m: mall_redeem(member=m, item=mall["coupon"], channel="member_centre", at=AT)
                            for m in members])
    assert sum(1 for r in results if isinstance(r, MallRedemption)) == 1, results
    assert fetch("SELECT coupon_stock FROM campaigns_mallitem WHERE kind = 'coupon'") == [(0,)]
    assert fetch("SELECT COUNT(*) FROM campaigns_coupon") == [(1,)]
    _invariants()


def test_one_member_double_tapping_redeem_spends_only_what_the_balance_allows(chain, member, mall):
    _postgres_only()
    _give_points(member, 1000)  # enough for one umbrella of 500 and not three
    from membercare.service.gifts import stock_receive

    stock_receive(gift=mall["gift_obj"], store=chain.shop, quantity=5, by=chain.clerk.__class__.objects.get(
        pk=mall["gift"].created_by_id))
    results = run_together([lambda: mall_redeem(member=member, item=mall["gift"], channel="member_centre",
                                                store=chain.shop, at=AT) for _ in range(4)])
    assert sum(1 for r in results if isinstance(r, MallRedemption)) == 2, results
    assert fetch("SELECT points FROM loyalty_loyaltyaccount") == [(0,)]
    _invariants()
