"""In a real browser at 1024x768 (zh-CN), the stored-value pages of issue 21 that HQ and the counter lacked:
a store manager asks for a refund on the member's panel, the VIP specialist approves it in the queue, the
panel shows the balance 0 and the bonus forfeited; a card frozen, unfrozen and moved to a new card on the
panel; the specialist changes the bonus tier to 充2,000送300 and a top-up of 2,000 at the counter gets 300.
Screenshots go to $SV_SCREENSHOTS when set (to look at)."""

import os
from decimal import Decimal
from pathlib import Path

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.org.models import Role
from membercare.storedvalue.models import CardState, StoredValueCard, StoredValueRefund
from membercare.storedvalue.rules import current_rules
from membercare.storedvalue.topup import top_up
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401

D = Decimal


def shot(page, name, *, full=False):  # noqa: F811
    folder = os.environ.get("SV_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full)


def as_user(page, login_as, user):  # noqa: F811
    page.context.clear_cookies()
    login_as(page, user)


def test_a_manager_asks_a_refund_and_hq_approves_it(page, login_as, chain, member):  # noqa: F811
    payment_methods_ensure_default()  # a database flushed by an earlier transactional test has the till's methods
    manager = StaffFactory(username="sv_manager", role=Role.MANAGER, stores=[chain.shop])
    hq = StaffFactory(username="sv_hq", role=Role.SPECIALIST)
    card = top_up(member=member, amount=D("1000.00"), method="wechat_pay", store=chain.shop, by=chain.clerk).card
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, manager)
    page.goto(f"/members/{member.pk}/#stored-value")
    page.click(f"#sv-refund-{card.pk} > summary")
    page.locator(f"#refund-form-{card.pk}").scroll_into_view_if_needed()
    shot(page, "1-panel-refund-form")
    page.fill(f"#refund-form-{card.pk} input[name=reason]", "会员搬家到外地")
    page.click(f"#refund-form-{card.pk} button[type=submit]")
    page.locator("#stored-value [data-refund-status=pending]").wait_for()
    assert "已提交" in page.locator("#stored-value-notice").inner_text()
    page.locator("#stored-value [data-refund-status=pending]").scroll_into_view_if_needed()
    shot(page, "2-panel-refund-pending")
    assert page.locator(f"#refund-form-{card.pk}").count() == 0

    as_user(page, login_as, hq)
    page.goto("/stored-value/refunds/")
    refund = StoredValueRefund.objects.get()
    row = page.locator(f"#refund-{refund.pk}")
    assert "138****1234" in row.inner_text() and "会员搬家到外地" in row.inner_text()
    assert row.locator("[data-to-pay]").get_attribute("data-to-pay") == "1000.00"
    shot(page, "3-refund-queue")
    row.locator("select[name=method]").select_option("bank_card")
    row.locator("button[value=approve]").click()
    page.locator(f"#refund-{refund.pk}[data-status=approved]").wait_for()
    assert "¥1000.00" in page.locator(f"#refund-{refund.pk}").inner_text()
    shot(page, "4-refund-approved")

    as_user(page, login_as, manager)
    page.goto(f"/members/{member.pk}/#stored-value")
    page.locator("#stored-value").scroll_into_view_if_needed()
    assert page.locator("#stored-value [data-balance]").first.inner_text() == "¥0.00"
    approved = page.locator("#stored-value [data-refund-status=approved]").inner_text()
    assert "赠送金额 ¥100.00 作废" in approved and "¥1000.00" in approved
    shot(page, "5-panel-refunded")
    card.refresh_from_db()
    assert (card.principal, card.bonus) == (D("0.00"), D("0.00"))
    page.goto("/stored-value/refunds/")  # the manager reads their store's decision, without the buttons
    assert page.locator(f"#refund-{refund.pk}[data-status=approved]").count() == 1
    assert page.locator("form.sv-decide").count() == 0
    page.problems.assert_none()


def test_freeze_and_move_a_lost_card_on_the_panel(page, login_as, chain, member):  # noqa: F811
    payment_methods_ensure_default()
    card = top_up(member=member, amount=D("1000.00"), method="cash", store=chain.shop, by=chain.clerk).card
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, chain.clerk)
    page.goto(f"/members/{member.pk}/#stored-value")
    page.click(f"#sv-lost-{card.pk} > summary")
    page.fill(f"#freeze-form-{card.pk} input[name=reason]", "   ")  # blanks only: refused in the panel
    page.click(f"#freeze-form-{card.pk} button[type=submit]")
    page.locator("#stored-value-notice li.error").wait_for()
    assert "请填写原因" in page.locator("#stored-value-notice").inner_text()
    assert StoredValueCard.objects.get(pk=card.pk).status == CardState.ACTIVE
    assert page.locator(f"#sv-lost-{card.pk}").get_attribute("open") is not None  # still open, as left
    page.fill(f"#freeze-form-{card.pk} input[name=reason]", "会员报失")
    page.click(f"#freeze-form-{card.pk} button[type=submit]")
    page.locator("#stored-value dl[data-status=frozen]").wait_for()
    page.locator("#stored-value-notice").scroll_into_view_if_needed()
    shot(page, "6-panel-frozen")
    page.click(f"#sv-lost-{card.pk} > summary")
    page.click(f"#transfer-form-{card.pk} button[type=submit]")
    page.locator(f"#transfer-confirm-{card.pk}").wait_for()
    confirm = page.locator(f"#transfer-confirm-{card.pk}").inner_text()
    assert "本金 ¥1000.00" in confirm and "赠送金额 ¥100.00" in confirm
    page.locator(f"#transfer-confirm-{card.pk}").scroll_into_view_if_needed()
    shot(page, "7-panel-transfer-confirm")
    page.click(f"#transfer-confirm-{card.pk} button[type=submit]")
    new = None
    page.locator("#stored-value dl[data-status=active]").wait_for()
    new = StoredValueCard.objects.get(member=member, status=CardState.ACTIVE)
    assert new.number in page.locator("#stored-value-notice").inner_text()
    assert (new.principal, new.bonus) == (D("1000.00"), D("100.00"))
    page.locator("#stored-value-notice").scroll_into_view_if_needed()
    shot(page, "8-panel-transferred")
    page.problems.assert_none()


def test_hq_sets_the_bonus_tier_and_the_counter_gets_it(page, login_as, chain, member):  # noqa: F811
    payment_methods_ensure_default()
    hq = StaffFactory(username="sv_hq2", role=Role.SPECIALIST)
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, hq)
    page.goto("/stored-value/rules/")
    shot(page, "9-rules-top")
    page.fill("#id_tier-0-min_amount", "2000.00")
    page.fill("#id_tier-0-bonus", "2000.00")  # a bonus as large as the top-up: refused, the row says why
    with page.expect_navigation():
        page.click("#rules-form button[type=submit]")
    page.locator("#bonus-tiers .tier-errors").scroll_into_view_if_needed()
    assert "第 1 档" in page.locator("#bonus-tiers .tier-errors").inner_text()
    assert page.input_value("#id_tier-0-min_amount") == "2000.00"
    shot(page, "10-rules-refused")
    page.problems.failed.clear()  # the refusal (422) was expected
    page.fill("#id_tier-0-bonus", "300.00")
    with page.expect_navigation():
        page.click("#rules-form button[type=submit]")
    assert "已保存" in page.locator(".messages").inner_text()
    assert [(t.min_amount, t.bonus) for t in current_rules().bonus_tiers] == [(D("2000.00"), D("300.00"))]
    page.locator("#rules-history").scroll_into_view_if_needed()
    shot(page, "11-rules-history")
    shot(page, "12-rules-full", full=True)

    as_user(page, login_as, chain.clerk)
    page.goto(f"/members/{member.pk}/#stored-value")
    page.fill("#top-up-form input[name=amount]", "2000.00")
    page.check("#top-up-form input[value=bank_card]")
    with page.expect_navigation():
        page.click("#top-up-form button[type=submit]")
    assert page.locator("#stored-value [data-balance]").inner_text() == "¥2300.00"
    assert "赠送 ¥300.00" in page.locator(".messages").inner_text()
    page.problems.assert_none()
