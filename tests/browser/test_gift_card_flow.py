"""In a real browser at 1024x768 (issue 21, gift cards): HQ makes a batch of gift cards, a clerk sells (activates)
one at the counter, a member's baskets are paid partly with it on two visits (the card's balance on each receipt),
the card's page then shows it spent with its ledger, and HQ voids an unsold card of the batch with a reason.
Screenshots go to $SV_SCREENSHOTS when set (to look at)."""

from decimal import Decimal

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.core.crypto import decrypt
from membercare.org.models import Role
from membercare.sales.models import Receipt
from membercare.storedvalue.giftcards import display_code
from membercare.storedvalue.models import GiftCard, GiftCardBatch, GiftCardEntry
from tests.browser.conftest import _django_allow_async_unsafe, browser, chromium_path, login_as, page  # noqa: F401
from tests.browser.test_stored_value_flow import shot
from tests.factories import StaffFactory
from tests.loyalty.conftest import chain, member  # noqa: F401

D = Decimal


def logout(page):  # noqa: F811
    page.context.clear_cookies()


def pay_with_gift_card(page, member, sku, code, amount, method):  # noqa: F811
    page.goto(f"/checkout/?phone={member.phone}")
    page.fill("input[name=line-0-sku]", sku)
    page.fill("input[name=line-0-quantity]", "1")
    page.locator("button[name=action][value=post]:not([disabled])").wait_for()
    page.fill("input[name=gift_card_code]", display_code(code))
    page.fill("input[name=gift_card_amount]", amount)
    page.check(f"input[name=payment_method][value={method}]")
    with page.expect_navigation():
        page.click("button[name=action][value=post]")
    assert "/receipts/" in page.url or "receipt" in page.url, page.url


def test_hq_batch_counter_sale_two_visits_then_spent_and_an_unsold_card_voided(page, login_as, chain,  # noqa: F811
                                                                               member):  # noqa: F811
    page.set_viewport_size({"width": 1024, "height": 768})
    page.on("dialog", lambda dialog: dialog.accept())  # the void's confirmation
    payment_methods_ensure_default()  # a flushed database has none; the first batch's gift_card method would
    # otherwise be the only one (the chain's methods come with its migration in a real installation)
    hq = StaffFactory(username="hq", role=Role.SPECIALIST)
    login_as(page, hq)
    page.goto("/gift-cards/batches/new/")
    page.fill("input[name=name]", "端午礼品卡")
    page.fill("input[name=face_value]", "500.00")
    page.fill("input[name=count]", "2")
    page.fill("input[name=valid_days]", "1095")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    batch = GiftCardBatch.objects.get()
    assert page.url.endswith(f"/gift-cards/batches/{batch.pk}/")
    assert "端午礼品卡" in page.locator("h1").inner_text()
    shot(page, "gc-1-batch")
    first, second = GiftCard.objects.filter(batch=batch).order_by("serial")
    code = decrypt(first.code_sealed)  # what the exported list would give the store
    logout(page)

    login_as(page, chain.clerk)
    page.goto("/gift-cards/sell/")
    page.fill("textarea[name=codes]", display_code(code))
    page.select_option("select[name=store]", str(chain.shop.pk))
    page.select_option("select[name=method]", "wechat_pay")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    sold = page.locator("#gift-sold").inner_text()
    assert "¥500.00" in sold and first.serial in sold
    shot(page, "gc-2-sold")

    pay_with_gift_card(page, member, "SHIRT", code, "300.00", "cash")
    balance = page.locator(f".gift-balance[data-serial={first.serial}]")
    assert balance.inner_text() == "¥200.00"
    assert f"礼品卡 {first.serial} 余额" in page.locator("main").inner_text()
    shot(page, "gc-3-first-visit")
    visit1 = Receipt.objects.get(member=member)
    assert {p.method.code: p.amount for p in visit1.payments.all()} == {"gift_card": D("300.00"),
                                                                        "cash": D("700.00")}

    pay_with_gift_card(page, member, "BELT", code, "200.00", "wechat_pay")
    assert page.locator(f".gift-balance[data-serial={first.serial}]").inner_text() == "¥0.00"
    shot(page, "gc-4-second-visit")
    visit2 = Receipt.objects.filter(member=member).exclude(pk=visit1.pk).get()
    assert {p.method.code: p.amount for p in visit2.payments.all()} == {"gift_card": D("200.00"),
                                                                        "wechat_pay": D("799.00")}

    page.goto(f"/gift-cards/cards/{first.serial}/")
    facts = page.locator(".facts").inner_text()
    assert "¥0.00" in facts and member.name in facts
    rows = page.locator("#gift-entries tbody tr")
    assert rows.count() == 3
    texts = [rows.nth(i).inner_text() for i in range(3)]  # newest first
    assert "¥-200.00" in texts[0] and visit2.number in texts[0]
    assert "¥-300.00" in texts[1] and visit1.number in texts[1]
    assert "¥500.00" in texts[2] and "售出（激活）" in texts[2] and "GS" in texts[2]
    shot(page, "gc-5-card-spent")
    card = GiftCard.objects.get(pk=first.pk)
    assert (card.status, card.balance, card.member_id) == ("active", D("0.00"), member.pk)
    assert list(GiftCardEntry.objects.filter(card=card).order_by("pk").values_list("kind", "amount")) == [
        ("sale", D("500.00")), ("spend", D("-300.00")), ("spend", D("-200.00"))]
    assert page.locator("#gift-void-link").count() == 0  # a clerk, and a sold card: no void offered
    logout(page)

    login_as(page, hq)
    page.goto(f"/gift-cards/cards/{first.serial}/void/")  # the spent card cannot be voided
    page.fill("#id_reason", "误操作")
    page.check("#id_confirm")
    with page.expect_navigation():
        page.click("#gift-void button[type=submit]")
    assert "已售出且余额已用完" in page.locator("#gift-void-refused").inner_text()
    page.goto(f"/gift-cards/batches/{batch.pk}/")
    with page.expect_navigation():
        page.click(f"a[href$='/gift-cards/cards/{second.serial}/void/']")
    page.fill("#id_reason", "运输途中遗失")
    page.check("#id_confirm")
    with page.expect_navigation():
        page.click("#gift-void button[type=submit]")
    assert f"礼品卡 {second.serial} 已作废" in page.locator(".messages").inner_text()
    assert "运输途中遗失" in page.locator("#gift-entries").inner_text()
    shot(page, "gc-6-voided")
    assert GiftCard.objects.get(pk=second.pk).status == "void"
    assert GiftCard.objects.get(pk=first.pk).status == "active"
    assert [f.split(" ", 2)[:2] for f in page.problems.failed] == [["422", "POST"]]  # only the refused void
    assert page.problems.failed[0].endswith(f"/gift-cards/cards/{first.serial}/void/")
    assert not page.problems.js_errors
