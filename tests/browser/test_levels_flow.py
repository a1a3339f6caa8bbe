"""Card levels as the chain's data (issue 19 part 1's acceptance), in Chromium at 1024×768: the VIP specialist
configures 普通卡/银卡/金卡/钻石卡 with amount-or-frequency rules, per-level points multipliers and a 免费改衣 perk
entirely from the programme editor; then a clerk's sale at the counter upgrades a member, and the receipt shows
the level's name, the points, the progress to the next level and the perk used."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import Card, PerkUse
from membercare.loyalty.programme import programme_at
from membercare.org.models import Role
from membercare.sales.models import Receipt
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:No directory at:UserWarning")]


def _shots(tmp_path) -> Path:
    """Where the screenshots go (MEMBERCARE_SHOTS to keep them and look at them)."""
    return Path(os.environ.get("MEMBERCARE_SHOTS") or tmp_path)


def _level(page, prefix: str, **values) -> None:
    for name, value in values.items():
        field = page.locator(f"[name={prefix}{name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_a_chain_configures_four_levels_and_a_counter_sale_upgrades_a_member(page, login_as, chain, member,  # noqa: F811
                                                                            tmp_path):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1024, "height": 768})
    specialist = StaffFactory(username="vip_specialist", role=Role.SPECIALIST)
    # two purchases before the change, under DOMAIN.md's programme (an accumulation card, nothing more)
    for days in (20, 10):
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                      sold_at=timezone.now() - dt.timedelta(days=days))

    login_as(page, specialist)
    page.goto("/programme/")
    page.fill("[name=accumulation_name]", "普通卡")
    page.check("[name=t_elite_remove]")
    page.check("[name=t_knight_remove]")
    _level(page, "t_diamond_", requires="", rank="3", rolling_paid="10000", purchase_days="10", qualify="all",
           single_receipt="",
           points_mult="2", name="钻石卡")
    _level(page, "new0_", code="silver", name="银卡", color="#a8a9ad", rank="1", issue_brand="MAIN", zhe="9.5",
           rolling_paid="2000", purchase_days="3", qualify="any", points_mult="1.2", perk0_code="alteration",
           perk0_name="免费改衣", perk0_quota="1", perk0_period="season")
    _level(page, "new1_", code="gold", name="金卡", color="#c9a227", rank="2", issue_brand="MAIN", zhe="9",
           rolling_paid="5000", purchase_days="6", qualify="any", points_mult="1.5", perk0_code="alteration",
           perk0_name="免费改衣", perk0_quota="2", perk0_period="season")
    page.locator("#new-levels").scroll_into_view_if_needed()
    expect(page.locator("#new-levels legend")).to_have_text("新增等级")
    page.screenshot(path=str(_shots(tmp_path) / "levels_editor.png"))
    with page.expect_navigation():
        page.click("#programme-form button[type=submit]")
    assert "/programme/history/" in page.url, page.locator("main").inner_text()[:2000]

    programme = programme_at()
    assert programme.levels() == [("accumulation", "普通卡"), ("silver", "银卡"), ("gold", "金卡"),
                                  ("diamond", "钻石卡")]
    assert (programme.tier("silver").points_multiplier, programme.tier("gold").purchase_days,
            programme.tier("diamond").qualify) == (Decimal("1.2"), 6, "all")

    # a third purchase day today: ¥3,000 in the window, 3 days — 银卡 by either rule
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                  sold_at=timezone.now() - dt.timedelta(minutes=30))
    card = Card.objects.get(member=member)
    assert card.kind == "silver" and card.number.startswith("A")  # upgraded in place: the same number

    login_as(page, chain.clerk)
    page.goto("/checkout/")
    page.fill("#id_phone", member.phone)
    box = page.locator("#id_scan")
    box.fill("SUIT")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.locator("#member-panel")).to_contain_text("银卡")
    expect(page.locator("#perks-left")).to_contain_text("免费改衣")
    page.check("input[name=perks][value=alteration]")
    with page.expect_navigation():
        page.click("button[name=action][value=post]")

    receipt = Receipt.objects.get(member=member, lines__product__sku="SUIT")
    assert receipt.total_paid == Decimal("4750.00")  # 9.5折
    assert receipt.points_earned == 5700  # ×1.2, the silver card's multiplier
    card.refresh_from_db()
    assert card.kind == "gold"  # ¥7,750 in the window
    assert PerkUse.objects.filter(receipt=receipt, perk_code="alteration").count() == 1
    main = page.locator("main")
    expect(main).to_contain_text("金卡")  # the upgrade
    expect(main).to_contain_text("银卡")  # the card the sale was made with
    expect(page.locator("#points-earned")).to_contain_text("5700")
    expect(page.locator("#level-progress")).to_contain_text("再消费 ¥2,250 并再购物 7 天升级钻石卡")
    expect(page.locator("#perk-uses")).to_have_text("免费改衣")
    page.screenshot(path=str(_shots(tmp_path) / "levels_receipt.png"))
    page.problems.assert_none()
