"""In a real browser: the member redeems in the member centre's points mall at 390×844 (a coupon, then a gift
to collect at a store), and the clerk hands the gift over and redeems at the counter at 1024×768. Screenshots go
to $MALL_SCREENSHOTS when set (to look at)."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from membercare.campaigns.mall import mall_item_save
from membercare.campaigns.models import Coupon, MallRedemption
from membercare.campaigns.services import batch_create
from membercare.loyalty.models import LoyaltyAccount
from membercare.loyalty.points import lock_account, points_earn
from membercare.membercentre.services import session_start
from membercare.org.models import Role
from membercare.service.gifts import gift_save, stock_receive
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401

PHONE = {"width": 390, "height": 844}


def shot(page, name, full=False):  # noqa: F811
    folder = os.environ.get("MALL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full)


def _mall(shops):
    hq = StaffFactory(role=Role.SPECIALIST)
    umbrella = gift_save(by=hq, code="UMB", name="品牌晴雨伞", value=Decimal("199"))
    scarf = gift_save(by=hq, code="SCARF", name="真丝方巾", value=Decimal("399"))
    stock_receive(gift=umbrella, store=shops.shop, quantity=5, by=hq)
    stock_receive(gift=umbrella, store=shops.shop2, quantity=2, by=hq)
    stock_receive(gift=scarf, store=shops.shop, quantity=1, by=hq)
    today = dt.date.today()
    batch = batch_create(by=None, name="百元优惠券", brand=shops.main, kind="amount", value=Decimal("100"),
                         valid_from=today, valid_to=today + dt.timedelta(days=60), min_spend=Decimal("500"))
    return {"coupon": mall_item_save(by=hq, kind="coupon", name="满500减100优惠券", points=800, batch=batch,
                                     coupon_stock=50),
            "umbrella": mall_item_save(by=hq, kind="gift", name="品牌晴雨伞", points=1500, gift=umbrella),
            "scarf": mall_item_save(by=hq, kind="gift", name="真丝方巾", points=6000, gift=scarf)}


def test_the_member_redeems_in_the_mall_and_the_clerk_hands_it_over(transactional_db, browser, live_server,  # noqa: F811
                                                                    chain, member, login_as):  # noqa: F811
    items = _mall(chain)
    with transaction.atomic():
        points_earn(lock_account(member), 3000, expires_on=None)
    key = session_start(member=member, ip="127.0.0.1", user_agent="playwright")
    phone = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    phone.add_cookies([{"name": "mc_member", "value": key, "url": live_server.url + "/m/"}])
    m = phone.new_page()
    m.goto("/m/card/")
    with m.expect_navigation():
        m.click("a[href='/m/mall/']")
    assert "积分商城" in m.content() and m.locator("#mall-points").inner_text() == "3000"
    shot(m, "member_mall_390x844")
    width = m.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the mall is {width} px wide at 390"
    # a coupon: into the member's coupons at once
    with m.expect_navigation():
        m.locator(f"form:has(input[name=item][value='{items['coupon'].pk}']) button").click()
    assert Coupon.objects.filter(member=member).count() == 1
    assert "已放入您的优惠券" in m.content()
    # a gift: a pickup code at the chosen store
    umbrella = m.locator(f"form:has(input[name=item][value='{items['umbrella'].pk}'])")
    umbrella.locator("select").select_option(str(chain.shop.pk))
    with m.expect_navigation():
        umbrella.locator("button").click()
    voucher = MallRedemption.objects.get(member=member, status="to_collect")
    assert voucher.display_code in m.content() and m.locator("#mall-points").inner_text() == "700"
    shot(m, "member_mall_voucher_390x844")
    assert m.locator(f"form:has(input[name=item][value='{items['scarf'].pk}']) button").is_disabled()
    phone.close()

    desk = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                               viewport={"width": 1024, "height": 768})
    p = desk.new_page()
    login_as(p, chain.clerk)
    p.goto(f"/service/mall/?member={member.pk}")
    p.fill("#id_p-code", voucher.code)
    with p.expect_navigation():
        p.click("#mall-pickup button[type=submit]")
    assert MallRedemption.objects.get(pk=voucher.pk).status == "collected"
    p.goto(f"/service/mall/?member={member.pk}")
    shot(p, "counter_mall_1024x768")
    p.select_option("#id_r-item", str(items["scarf"].pk))
    with p.expect_navigation():
        p.click("#mall-redeem button[type=submit]")
    assert "积分不足" in p.content()  # 700 points left, the scarf needs 6,000
    shot(p, "counter_mall_refused_1024x768")
    assert LoyaltyAccount.objects.get(member=member).points == 700
    desk.close()

    hq = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                             viewport={"width": 1024, "height": 768})
    h = hq.new_page()
    login_as(h, items["coupon"].created_by)
    h.goto(f"/service/mall/?store={chain.shop.pk}&member={member.pk}")
    h.fill("#id_a-points", "100")
    h.select_option("#id_a-category", "compensation")
    h.fill("#id_a-reason", "活动积分补发")
    with h.expect_navigation():
        h.click("#points-adjust button[type=submit]")
    assert LoyaltyAccount.objects.get(member=member).points == 800
    shot(h, "counter_mall_hq_1024x768", full=True)
    hq.close()
