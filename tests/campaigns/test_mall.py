"""The points mall: gifts (stock per store) and coupons for points, at the counter and in the member centre;
refusals in Chinese that write nothing; a pickup voucher handed over once at its store."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import translation

from membercare.campaigns.mall import mall_item_save, mall_pickup, mall_redeem
from membercare.campaigns.models import Coupon, MallItem, MallRedemption
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.points import ledger_sum, lock_account, points_earn
from membercare.org.models import Role
from membercare.service.gifts import gift_save, stock_receive
from membercare.service.models import GiftIssue, GiftStock, StockMovement
from tests.factories import StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 10, 15, tzinfo=TZ)


@pytest.fixture
def hq(db):
    return StaffFactory(role=Role.SPECIALIST)


@pytest.fixture
def mall(chain, hq, make_batch):
    gift = gift_save(by=hq, code="UMB", name="品牌雨伞", value=Decimal("99"))
    stock_receive(gift=gift, store=chain.shop, quantity=2, by=hq)
    batch = make_batch(name="百元券")
    return {
        "gift": mall_item_save(by=hq, kind="gift", name="品牌雨伞", points=500, gift=gift, at=AT),
        "coupon": mall_item_save(by=hq, kind="coupon", name="百元优惠券", points=800, batch=batch, coupon_stock=1,
                                 at=AT),
        "gift_obj": gift,
    }


def _give_points(member, points):
    from django.db import transaction

    with transaction.atomic():
        points_earn(lock_account(member), points, expires_on=None, at=AT - dt.timedelta(days=1))


def _balance(member):
    return LoyaltyAccount.objects.get(member=member).points


def _refused(exc_info, code):
    assert exc_info.value.error_code == code, exc_info.value.text
    return exc_info.value.text


def test_a_coupon_goes_to_the_members_coupons_at_once(chain, member, mall):
    _give_points(member, 1000)
    done = mall_redeem(member=member, item=mall["coupon"], channel="member_centre", at=AT)
    assert done.status == "done" and done.coupon.member_id == member.pk
    assert Coupon.objects.filter(member=member, batch=mall["coupon"].batch).count() == 1
    assert done.entry.kind == "redeem" and done.entry.points == -800
    assert _balance(member) == 200 == ledger_sum(member)
    assert MallItem.objects.get(pk=mall["coupon"].pk).coupon_stock == 0


def test_a_gift_in_the_member_centre_is_a_pickup_voucher_handed_over_once_at_its_store(chain, member, mall):
    _give_points(member, 1000)
    voucher = mall_redeem(member=member, item=mall["gift"], channel="member_centre", store=chain.shop, at=AT)
    assert voucher.status == "to_collect" and len(voucher.code) == 12 and voucher.gift_issue is None
    assert GiftStock.objects.get(gift=mall["gift_obj"], store=chain.shop).quantity == 1  # kept for the member
    other = StaffFactory(role=Role.CLERK, stores=[chain.shop2])
    with pytest.raises(ValidationError) as exc:
        mall_pickup(code=voucher.code, store=chain.shop2, by=other)
    assert exc.value.error_code == "other_store"
    done = mall_pickup(code=voucher.code.lower()[:4] + "-" + voucher.code[4:], store=chain.shop, by=chain.clerk)
    assert done.status == "collected" and done.gift_issue.reason == "points" and done.gift_issue.points == 500
    with pytest.raises(ValidationError) as exc:
        mall_pickup(code=voucher.code, store=chain.shop, by=chain.clerk)
    assert exc.value.error_code == "collected"
    assert GiftStock.objects.get(gift=mall["gift_obj"], store=chain.shop).quantity == 1  # taken once


def test_a_gift_at_the_counter_is_handed_over_from_the_stores_stock(chain, member, mall):
    _give_points(member, 600)
    done = mall_redeem(member=member, item=mall["gift"], channel="counter", store=chain.shop, by=chain.clerk, at=AT)
    assert done.status == "collected" and done.gift_issue.clerk == chain.clerk
    movement = StockMovement.objects.get(issue=done.gift_issue)
    assert (movement.quantity, movement.balance) == (-1, 1)
    assert _balance(member) == 100


def test_refusals_are_clear_in_chinese_and_write_nothing(chain, member, mall, hq):
    _give_points(member, 700)
    before = (PointsEntry.objects.count(), MallRedemption.objects.count(), GiftIssue.objects.count())
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as exc:
            mall_redeem(member=member, item=mall["coupon"], channel="member_centre", at=AT)
        assert "积分" in _refused(exc, "points_short") and "700" in exc.value.text
        with pytest.raises(ValidationError) as exc:
            mall_redeem(member=member, item=mall["gift"], channel="member_centre", store=chain.shop2, at=AT)
        assert "库存" in _refused(exc, "out_of_stock") or "兑完" in exc.value.text
        mall_item_save(by=hq, kind="gift", name="品牌雨伞", points=500, gift=mall["gift_obj"], is_active=False,
                       item=mall["gift"])
        with pytest.raises(ValidationError) as exc:
            mall_redeem(member=member, item=mall["gift"], channel="member_centre", store=chain.shop, at=AT)
        assert "下架" in _refused(exc, "item_inactive")
    assert (PointsEntry.objects.count(), MallRedemption.objects.count(), GiftIssue.objects.count()) == before
    assert GiftStock.objects.get(gift=mall["gift_obj"], store=chain.shop).quantity == 2
    assert _balance(member) == 700


def test_a_sold_out_coupon_and_a_second_coupon_of_the_batch_are_refused(chain, member, mall):
    from tests.factories import MemberFactory

    _give_points(member, 2000)
    mall_redeem(member=member, item=mall["coupon"], channel="member_centre", at=AT)
    other = MemberFactory(home_store=chain.shop)
    _give_points(other, 2000)
    with pytest.raises(ValidationError) as exc:
        mall_redeem(member=other, item=mall["coupon"], channel="member_centre", at=AT)
    assert exc.value.error_code == "out_of_stock"
    MallItem.objects.filter(pk=mall["coupon"].pk).update(coupon_stock=None)
    with pytest.raises(ValidationError) as exc:
        mall_redeem(member=member, item=mall["coupon"], channel="member_centre", at=AT)
    assert exc.value.error_code == "coupon_held"
    assert _balance(member) == 1200


def test_the_counter_checks_the_clerks_store_and_the_catalogue_is_hqs(chain, member, mall):
    _give_points(member, 1000)
    with pytest.raises(ValidationError) as exc:
        mall_redeem(member=member, item=mall["gift"], channel="counter", store=chain.shop2, by=chain.clerk, at=AT)
    assert exc.value.error_code == "not_yours"
    with pytest.raises(PermissionDenied):
        mall_item_save(by=chain.clerk, kind="gift", name="x", points=1, gift=mall["gift_obj"])


@pytest.mark.parametrize(("kw", "field"), [
    ({"kind": "voucher"}, "kind"), ({"name": ""}, "name"), ({"name": "长" * 61}, "name"), ({"points": 0}, "points"),
    ({"points": "abc"}, "points"), ({"gift": None}, "gift"), ({"kind": "coupon", "batch": None}, "batch"),
])
def test_a_wrong_item_is_refused_naming_its_field(mall, hq, kw, field):
    args = {"by": hq, "kind": "gift", "name": "雨伞", "points": 10, "gift": mall["gift_obj"], **kw}
    with pytest.raises(ValidationError) as exc:
        mall_item_save(**args)
    assert field in exc.value.message_dict


def test_redemptions_sum_to_the_ledgers_redeemed_points(chain, member, mall):
    _give_points(member, 5000)
    mall_redeem(member=member, item=mall["coupon"], channel="member_centre", at=AT)
    mall_redeem(member=member, item=mall["gift"], channel="counter", store=chain.shop, by=chain.clerk, at=AT)
    redeemed = -PointsEntry.objects.filter(member=member, kind="redeem").aggregate(s=Sum("points"))["s"]
    assert redeemed == MallRedemption.objects.filter(member=member).aggregate(s=Sum("points"))["s"] == 1300


def test_the_mall_shows_only_what_can_be_redeemed(mall, make_batch, hq):
    from membercare.campaigns.mall import mall_items

    assert {i.name for i in mall_items()} == {"品牌雨伞"}  # the coupons' batch ended in June
    batch = mall["coupon"].batch
    batch.valid_to = dt.date(2099, 12, 31)
    batch.save()
    assert {i.name for i in mall_items()} == {"品牌雨伞", "百元优惠券"}
    mall["gift_obj"].is_active = False
    mall["gift_obj"].save()
    over = make_batch(name="旧券", valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2020, 1, 31))
    mall_item_save(by=hq, kind="coupon", name="旧券", points=10, batch=over)
    assert {i.name for i in mall_items()} == {"百元优惠券"}
    assert len(mall_items(active_only=False)) == 3
