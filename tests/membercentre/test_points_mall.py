"""The member centre's points mall (/m/mall/): coupons into the member's coupons at once, gifts as a pickup
voucher at a chosen store, refusals shown in Chinese, donating points to a charity item."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from membercare.campaigns.mall import mall_item_save
from membercare.campaigns.models import Coupon, MallRedemption
from membercare.campaigns.services import batch_create
from membercare.loyalty.models import LoyaltyAccount, PointsDonation, ProgrammeVersion
from membercare.loyalty.points import lock_account, points_earn
from membercare.loyalty.programme_services import normalize_rules
from membercare.membercentre.services import session_start
from membercare.org.models import Role
from membercare.service.gifts import gift_save, stock_receive
from tests.factories import BrandFactory, MemberFactory, StaffFactory, StoreFactory


@pytest.fixture
def shop(db):
    return StoreFactory(code="SH01", name="上海南京西路店", brand=BrandFactory(code="MAIN", name="主品牌"))


@pytest.fixture
def member(shop):
    member = MemberFactory(name="王芳", phone="13800001234", home_store=shop)
    with transaction.atomic():
        points_earn(lock_account(member), 1000, expires_on=None)
    return member


@pytest.fixture
def items(shop):
    hq = StaffFactory(role=Role.SPECIALIST)
    gift = gift_save(by=hq, code="UMB", name="品牌雨伞", value=Decimal("99"))
    stock_receive(gift=gift, store=shop, quantity=3, by=hq)
    today = dt.date.today()
    batch = batch_create(by=None, name="百元券", brand=shop.brand, kind="amount", value=Decimal("100"),
                         valid_from=today, valid_to=today + dt.timedelta(days=30), min_spend=Decimal("0"))
    return {"gift": mall_item_save(by=hq, kind="gift", name="品牌雨伞", points=500, gift=gift),
            "coupon": mall_item_save(by=hq, kind="coupon", name="百元优惠券", points=300, batch=batch),
            "dear": mall_item_save(by=hq, kind="coupon", name="贵宾券", points=5000, batch=batch)}


@pytest.fixture
def phone(client, member):
    client.cookies["mc_member"] = session_start(member=member, ip="127.0.0.1", user_agent="test")
    client.cookies["mc_member"]["path"] = "/m/"
    return client


def test_the_mall_lists_items_and_the_balance(phone, items):
    page = phone.get("/m/mall/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert page.status_code == 200
    assert "积分商城" in text and "品牌雨伞" in text and "百元优惠券" in text and "上海南京西路店" in text
    assert "积分不足" in text  # the 5,000-point item cannot be redeemed with 1,000


def test_a_coupon_goes_to_my_coupons_and_a_gift_becomes_a_pickup_code(phone, member, items, shop):
    page = phone.post("/m/mall/", {"action": "redeem", "item": items["coupon"].pk})
    assert page.status_code == 302
    assert Coupon.objects.filter(member=member).count() == 1
    page = phone.post("/m/mall/", {"action": "redeem", "item": items["gift"].pk, "store": shop.pk})
    voucher = MallRedemption.objects.get(member=member, status="to_collect")
    shown = phone.get(page["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert voucher.display_code in shown and "提货码" in shown
    assert LoyaltyAccount.objects.get(member=member).points == 200


def test_a_refusal_is_shown_in_chinese_and_spends_nothing(phone, member, items):
    page = phone.post("/m/mall/", {"action": "redeem", "item": items["dear"].pk}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 400 and "积分不足" in page.content.decode()
    assert LoyaltyAccount.objects.get(member=member).points == 1000
    assert phone.post("/m/mall/", {"action": "redeem", "item": 999999}).status_code == 404


def test_points_are_donated_to_an_open_charity_item(phone, member, items):
    ProgrammeVersion.objects.create(
        effective_from=dt.date(2000, 1, 1), created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        rules=normalize_rules({"charities": [{"code": "school", "name": "希望工程助学"},
                                             {"code": "old", "name": "旧项目", "active": False}]}))
    text = phone.get("/m/mall/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "希望工程助学" in text and "旧项目" not in text
    assert phone.post("/m/mall/", {"action": "donate", "charity": "school", "points": "120"}).status_code == 302
    assert phone.post("/m/mall/", {"action": "donate", "charity": "old", "points": "10"}).status_code == 400
    assert phone.post("/m/mall/", {"action": "donate", "charity": "school", "points": "-5"}).status_code == 400
    donation = PointsDonation.objects.get(member=member)
    assert (donation.points, donation.entry.kind, donation.entry.points) == (120, "donation", -120)
    assert LoyaltyAccount.objects.get(member=member).points == 880


def test_the_mall_needs_a_signed_in_member(client, items):
    assert client.get("/m/mall/")["Location"] == "/m/"
    other = MemberFactory()
    assert other  # nothing of another member is reachable without their session
