"""The POS's points mall: the items of the store, a redemption at the till (idempotent: a retry spends once),
handing over a pickup voucher at its store only; refusals are 422 with the mall's codes, in Chinese."""

import datetime as dt

import pytest

from membercare.campaigns.mall import mall_redeem
from membercare.campaigns.models import MallRedemption
from membercare.loyalty.models import LoyaltyAccount
from tests.api.conftest import Pos
from tests.campaigns import test_mall as mall_tests

AT, _give_points, hq, mall = mall_tests.AT, mall_tests._give_points, mall_tests.hq, mall_tests.mall


@pytest.fixture
def pos2(client, keys, member):  # noqa: F811
    return Pos(client, keys["BJ01"])


def test_the_store_lists_what_it_can_give(pos, pos2, mall):
    batch = mall["coupon"].batch
    batch.valid_to = dt.date(2099, 12, 31)  # the fixture's batch ended in June
    batch.save()
    status, items = pos.get("mall/items")
    assert status == 200
    assert {(i["name"], i["in_stock"]) for i in items} == {("品牌雨伞", 2), ("百元优惠券", 1)}
    status, items = pos2.get("mall/items")  # BJ01 holds no umbrella
    assert [i["name"] for i in items] == ["百元优惠券"]


def test_a_redemption_at_the_till_is_idempotent_and_refusals_have_codes(pos, chain, member, mall):
    _give_points(member, 1000)
    body = {"item_id": mall["gift"].pk, "clerk": chain.clerk.username}
    status, out = pos.post(f"members/{member.member_no}/mall/redeem", body, idem="till-1")
    assert status == 201 and out["status"] == "collected" and out["balance"] == 500
    again = pos.post(f"members/{member.member_no}/mall/redeem", body, idem="till-1")
    assert again == (201, out) and LoyaltyAccount.objects.get(member=member).points == 500
    status, err = pos.post(f"members/{member.member_no}/mall/redeem", {"item_id": mall["coupon"].pk,
                                                                        "clerk": chain.clerk.username})
    assert status == 422 and err["code"] == "points_short" and "积分不足" in err["message"]
    status, err = pos.post(f"members/{member.member_no}/mall/redeem", {"item_id": mall["gift"].pk, "clerk": ""})
    assert status == 422
    assert MallRedemption.objects.count() == 1


def test_a_pickup_is_handed_over_at_its_store_only(pos, pos2, chain, member, mall):
    from tests.factories import StaffFactory

    _give_points(member, 1000)
    voucher = mall_redeem(member=member, item=mall["gift"], channel="member_centre", store=chain.shop, at=AT)
    bj_clerk = StaffFactory(username="bj1", stores=[chain.shop2])
    status, err = pos2.post(f"mall/pickups/{voucher.display_code}/collect", {"clerk": bj_clerk.username})
    assert status == 422 and err["code"] == "other_store"
    status, out = pos.post(f"mall/pickups/{voucher.code.lower()}/collect", {"clerk": chain.clerk.username})
    assert status == 201 and out["status"] == "collected"
    status, err = pos.post(f"mall/pickups/{voucher.code}/collect", {"clerk": chain.clerk.username})
    assert status == 422 and err["code"] == "collected"
