"""The stored-value pages HQ and the counter lacked (issue 21): the refund approval queue, the profile panel's
refund request, freeze, unfreeze and lost-card transfer (htmx: the panel re-renders), the rules editor, and
the top-up's request-once guard. Permissions per role and store on every new URL."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError
from django.urls import reverse

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.loyalty.models import IdempotencyRecord
from membercare.org.models import Role
from membercare.storedvalue.lost_cards import transfer
from membercare.storedvalue.models import (
    CardState,
    StoredValueCard,
    StoredValueEntry,
    StoredValueRefund,
    StoredValueSettings,
)
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.rules import current_rules
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
HX = {"HTTP_HX_REQUEST": "true", "HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=True):
        yield


@pytest.fixture
def staff(chain, hq):
    payment_methods_ensure_default()
    return {"clerk": chain.clerk, "hq": hq,
            "manager": StaffFactory(username="m1", role=Role.MANAGER, stores=[chain.shop]),
            "other_manager": StaffFactory(username="m2", role=Role.MANAGER, stores=[chain.shop2]),
            "other_clerk": StaffFactory(username="c2", role=Role.CLERK, stores=[chain.shop2])}


def refused(response) -> bool:
    """An htmx answer carrying a refusal (status 200, so htmx swaps it in; the notice or row says why)."""
    return response.status_code == 200 and response.get("X-Refused") == "1" and "error" in text(response)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def card_of(chain, member, amount="1000.00"):
    return top_up(member=member, amount=D(amount), method="wechat_pay", store=chain.shop, by=chain.clerk).card


def panel_url(name, member, card):
    return reverse(name, args=[member.pk, card.pk])


# ----------------------------------------------------------------------------------- the refund, end to end


def test_a_refund_asked_on_the_panel_is_approved_in_the_queue(client, chain, member, staff):
    card = card_of(chain, member)
    client.force_login(chain.clerk)
    url = panel_url("stored_value_refund_request", member, card)
    r = client.post(url, {"store": chain.shop.pk, "reason": "  ", "card_action": "refund"}, **HX)
    assert refused(r) and 'id="stored-value"' in text(r) and "请填写原因" in text(r)
    assert not StoredValueRefund.objects.exists()
    r = client.post(url, {"store": chain.shop.pk, "reason": "搬家到外地", "card_action": "refund"}, **HX)
    page = text(r)
    assert r.status_code == 200 and "已提交" in page and "退款申请" in page, page[:600]
    assert 'data-refund-status="pending"' in page
    assert 'id="refund-form-' not in page  # one pending request: no second button
    refund = StoredValueRefund.objects.get()
    assert (refund.store, refund.requested_by, refund.reason) == (chain.shop, chain.clerk, "搬家到外地")
    # the card keeps working meanwhile: a top-up after the request is paid back too (the principal at approval)
    top_up(member=member, amount=D("200.00"), method="cash", store=chain.shop, by=chain.clerk)

    client.force_login(staff["hq"])
    queue = text(client.get(reverse("stored_value_refunds"), **ZH))
    row = re.search(rf'<tr id="refund-{refund.pk}".*?</tr>', queue).group()
    assert "王芳" in row and "138****1234" in row and "13800001234" not in row and card.number in row
    assert "本金 ¥1000.00" in row and "赠送金额 ¥100.00" in row, row  # at the request
    assert 'data-to-pay="1200.00"' in row and "搬家到外地" in row and str(chain.clerk) in row
    decide = reverse("stored_value_refund_decide", args=[refund.pk])
    r = client.post(decide, {"decision": "approve", "method": "stored_value"}, **HX)
    assert refused(r) and "请选择退款方式" in text(r) and StoredValueRefund.objects.get().status == "pending"
    r = client.post(decide, {"decision": "approve", "method": "bank_card"}, **HX)
    assert r.status_code == 200 and 'data-status="approved"' in text(r) and 'data-paid="1200.00"' in text(r)
    card.refresh_from_db()
    assert (card.principal, card.bonus) == (D("0.00"), D("0.00"))
    refund.refresh_from_db()
    assert (refund.principal_refunded, refund.bonus_forfeited, refund.method.code) == (D("1200.00"), D("100.00"),
                                                                                          "bank_card")
    r = client.post(decide, {"decision": "reject"}, **HX)  # decided already: refused, nothing changes
    assert refused(r) and "已审批过" in text(r)

    # the history: filters by status, store and month, a bad month said
    history = reverse("stored_value_refunds")
    assert f'id="refund-{refund.pk}"' in text(client.get(history, {"status": "approved", "month": "2026-06"}))
    assert f'id="refund-{refund.pk}"' not in text(client.get(history, {"status": "rejected"}))
    assert f'id="refund-{refund.pk}"' not in text(client.get(history, {"month": "2026-05"}))
    assert f'id="refund-{refund.pk}"' not in text(client.get(history, {"store": chain.shop2.pk}))
    assert "不是有效的月份" in text(client.get(history, {"month": "2026-13"}, **ZH))

    client.force_login(chain.clerk)
    page = text(client.get(reverse("member_detail", args=[member.pk]), **ZH))
    assert 'data-balance="0.00"' in page and 'data-refund-status="approved"' in page and "赠送金额 ¥100.00 作废" in page


def test_a_rejected_refund_leaves_the_balance(client, chain, member, staff):
    card = card_of(chain, member)
    refund = request_refund(card=card, by=chain.clerk, reason="不想要了", store=chain.shop)
    client.force_login(staff["hq"])
    decide = reverse("stored_value_refund_decide", args=[refund.pk])
    r = client.post(decide, {"decision": "reject", "reject_reason": "  "}, **HX)  # a rejection says why
    assert refused(r) and "请说明拒绝退款的原因" in text(r)
    assert StoredValueRefund.objects.get(pk=refund.pk).status == "pending"
    r = client.post(decide, {"decision": "reject", "reject_reason": "卡内有未完成的退货，请先办理"})
    assert r.status_code == 302
    refund.refresh_from_db()
    card.refresh_from_db()
    assert refund.status == "rejected" and card.balance == D("1100.00")
    assert refund.reject_reason == "卡内有未完成的退货，请先办理"
    client.force_login(chain.clerk)
    assert "卡内有未完成的退货" in text(client.get(reverse("member_detail", args=[member.pk]), **ZH))


def test_a_request_follows_a_lost_card_and_keeps_its_balances_when_asked(client, chain, member, staff):
    card = card_of(chain, member)
    refund = request_refund(card=card, by=chain.clerk, reason="搬家", store=chain.shop)
    top_up(member=member, amount=D("200.00"), method="cash", store=chain.shop, by=chain.clerk)
    new = transfer(card=card, by=chain.clerk, store=chain.shop)
    client.force_login(staff["hq"])
    row = re.search(rf'<tr id="refund-{refund.pk}".*?</tr>', text(client.get(reverse("stored_value_refunds"), **ZH)))
    row = row.group()
    assert new.number in row and "本金 ¥1000.00" in row and "赠送金额 ¥100.00" in row, row
    assert 'data-to-pay="1200.00"' in row
    r = client.post(reverse("stored_value_refund_decide", args=[refund.pk]), {"decision": "approve",
                                                                               "method": "cash"}, **HX)
    assert 'data-paid="1200.00"' in text(r)


def test_who_sees_the_queue_and_who_decides(client, chain, member, staff):
    card = card_of(chain, member)
    refund = request_refund(card=card, by=chain.clerk, reason="搬家", store=chain.shop)
    queue, decide = reverse("stored_value_refunds"), reverse("stored_value_refund_decide", args=[refund.pk])
    for who in ("clerk", "other_clerk"):
        client.force_login(staff[who])
        assert client.get(queue).status_code == 403
        assert client.post(decide, {"decision": "approve", "method": "cash"}).status_code == 403
    client.force_login(staff["manager"])  # their store's request, read-only
    page = text(client.get(queue, **ZH))
    assert f'id="refund-{refund.pk}"' in page and "待审批" in page and 'id="decide-' not in page
    assert client.post(decide, {"decision": "approve", "method": "cash"}).status_code == 403
    client.force_login(staff["other_manager"])  # another store's: not shown
    page = text(client.get(queue, **ZH))
    assert f'id="refund-{refund.pk}"' not in page and "没有待审批的退款" in page
    assert client.post(decide, {"decision": "reject"}).status_code == 403
    assert StoredValueRefund.objects.get().status == "pending"
    client.force_login(staff["hq"])
    assert f'id="decide-{refund.pk}"' in text(client.get(queue))


# ----------------------------------------------------------------------- freeze, unfreeze, a lost card moved


def test_freeze_unfreeze_and_move_a_lost_card_on_the_panel(client, chain, member, staff):
    card = card_of(chain, member)
    client.force_login(chain.clerk)
    r = client.post(panel_url("stored_value_freeze", member, card), {"store": chain.shop.pk, "reason": ""}, **HX)
    assert refused(r) and "请填写原因" in text(r)
    r = client.post(panel_url("stored_value_freeze", member, card),
                    {"store": chain.shop.pk, "reason": "会员报失"}, **HX)
    assert r["X-Refused"] == "0" and 'data-status="frozen"' in text(r) and "已冻结" in text(r)
    assert StoredValueCard.objects.get(pk=card.pk).frozen_reason == "会员报失"
    r = client.post(panel_url("stored_value_freeze", member, card), {"store": chain.shop.pk, "reason": "又一次"},
                    **HX)
    assert refused(r) and "不是有效状态" in text(r)
    r = client.post(panel_url("stored_value_unfreeze", member, card), {"store": chain.shop.pk}, **HX)
    assert r.status_code == 200 and 'data-status="active"' in text(r)
    # the move asks first, showing the balances that move; nothing happens until confirmed
    r = client.get(panel_url("stored_value_transfer", member, card), {"store": chain.shop.pk}, **HX)
    page = text(r)
    assert 'id="transfer-confirm-' in page and "本金 ¥1000.00" in page and "赠送金额 ¥100.00" in page
    assert StoredValueCard.objects.filter(member=member).count() == 1
    page = text(client.get(panel_url("stored_value_transfer", member, card), **ZH))  # without htmx: a page
    assert "确认" in page and card.number in page
    r = client.post(panel_url("stored_value_transfer", member, card), {"store": chain.shop.pk, "confirm": "1"}, **HX)
    new = StoredValueCard.objects.get(member=member, status=CardState.ACTIVE)
    assert r.status_code == 200 and new.number in text(r) and new.number != card.number
    assert (new.principal, new.bonus) == (D("1000.00"), D("100.00"))
    assert StoredValueCard.objects.get(pk=card.pk).status == CardState.CLOSED
    r = client.post(panel_url("stored_value_transfer", member, card), {"store": chain.shop.pk, "confirm": "1"}, **HX)
    assert refused(r) and "已注销" in text(r)


def test_the_panel_actions_are_refused_at_a_store_not_ones_own(client, chain, member, staff):
    card = card_of(chain, member)
    client.force_login(staff["other_clerk"])
    for name, data in (("stored_value_freeze", {"reason": "x"}), ("stored_value_unfreeze", {}),
                       ("stored_value_transfer", {"confirm": "1"}), ("stored_value_refund_request", {"reason": "x"})):
        r = client.post(panel_url(name, member, card), {"store": chain.shop.pk, **data})
        assert r.status_code == 403, name
    other = StoredValueCard.objects.create(number="SV9999999999", member=MemberFactory(),
                                           created_at=dt.datetime.now(TZ))
    client.force_login(chain.clerk)  # another member's card under this member's address: not found
    assert client.post(panel_url("stored_value_freeze", member, other), {"store": chain.shop.pk,
                                                                          "reason": "x"}).status_code == 404
    card.refresh_from_db()
    assert card.status == CardState.ACTIVE and not StoredValueRefund.objects.exists()
    assert StoredValueEntry.objects.filter(card=card).count() == 1


# -------------------------------------------------------------------------------------------- the top-up


def test_a_repeated_top_up_form_is_recorded_once_and_says_so(client, chain, member, staff):
    client.force_login(chain.clerk)
    form = {"store": chain.shop.pk, "amount": "500.00", "method": "cash", "token": "tok-1"}
    url = reverse("stored_value_top_up", args=[member.pk])
    assert "已充值 ¥500.00" in text(client.post(url, form, follow=True, **ZH))
    assert "已记录" in text(client.post(url, form, follow=True, **ZH))
    assert StoredValueEntry.objects.filter(member=member).count() == 1


def test_another_integrity_error_is_an_error_not_already_recorded(client, chain, member, staff, monkeypatch):
    """Only the form key's unique row means "already recorded": the write's own integrity error is shown as a
    failure, and nothing is kept (the key's row rolled back with it)."""
    from membercare.web.storedvalue import views

    card = card_of(chain, member, "100.00")

    def clashing_top_up(**kwargs):
        StoredValueCard.objects.create(number=card.number, member=member, scope="x", created_at=card.created_at)
        raise AssertionError("the insert above must fail")

    monkeypatch.setattr(views, "top_up", clashing_top_up)
    client.force_login(chain.clerk)
    form = {"store": chain.shop.pk, "amount": "500.00", "method": "cash", "token": "tok-2"}
    page = text(client.post(reverse("stored_value_top_up", args=[member.pk]), form, follow=True, **ZH))
    assert "充值未记录" in page and "已记录" not in page
    assert not IdempotencyRecord.objects.filter(key="web-top-up:tok-2").exists()
    r = client.post(reverse("stored_value_top_up", args=[member.pk]), form, **HX)
    assert refused(r) and "充值未记录" in text(r)
    with pytest.raises(IntegrityError):
        clashing_top_up()


# ---------------------------------------------------------------------------------------- the rules editor


def rules_form(client, **changes):
    """The editor's form as shown, with `changes` typed over it."""
    page = client.get(reverse("stored_value_rules")).content.decode()
    page = page[page.index('id="rules-form"'):page.index('id="rules-history"')]
    data = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data.setdefault(name.group(1), []).append(value.group(1))
        else:
            data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    data.pop("csrfmiddlewaretoken", None)
    data.update(changes)
    return data


def test_the_rules_editor_saves_a_version_and_refuses_with_the_field_named(client, chain, staff):
    client.force_login(staff["hq"])
    page = text(client.get(reverse("stored_value_rules"), **ZH))
    for name in ("scope", "spend_order", "points_on", "named_max_balance", "named_valid_days",
                 "anonymous_max_balance", "anonymous_valid_days", "min_top_up", "cash_methods", "non_cash_from",
                 "real_name_from", "member_code_above", "member_code_tries", "member_code_lock_minutes",
                 "tier-0-min_amount", "tier-0-bonus", "tier-0-levels", "tier-0-start", "tier-0-end"):
        assert f'name="{name}"' in page, name
    assert "单张记名卡限额不得超过5000元" in page and "默认值" in page
    assert 'value="1000.00"' in page and "尚未保存" in page

    r = client.post(reverse("stored_value_rules"), rules_form(client, named_max_balance="6000.00",
                                                              **{"tier-1-min_amount": "2000", "tier-1-bonus": "300"}),
                    **ZH)
    page = text(r)
    assert r.status_code == 422 and "记名卡" in page and "不得超过 ¥5000.00" in page
    assert 'value="6000.00"' in page and 'value="2000"' in page  # what was typed stays
    assert not StoredValueSettings.objects.exists()
    r = client.post(reverse("stored_value_rules"), rules_form(client, **{"tier-1-min_amount": "300",
                                                                          "tier-1-bonus": "300"}), **ZH)
    page = text(r)
    assert r.status_code == 422 and "第 2 档" in page and "赠送金额须小于" in page
    assert 'id="tier-1"' in page and not StoredValueSettings.objects.exists()

    r = client.post(reverse("stored_value_rules"), rules_form(client, **{
        "tier-0-min_amount": "2000.00", "tier-0-bonus": "300.00", "cash_methods": ["cash", "alipay"]}))
    assert r.status_code == 302
    rules = current_rules()
    assert [(t.min_amount, t.bonus) for t in rules.bonus_tiers] == [(D("2000.00"), D("300.00"))]
    assert rules.cash_methods == ("cash", "alipay")
    version = StoredValueSettings.objects.get()
    assert version.created_by == staff["hq"]
    page = text(client.get(reverse("stored_value_rules"), **ZH))
    assert f'id="sv-version-{version.pk}"' in page and "充值 ¥2000.00，赠送 ¥300.00" in page
    # a form opened before that save is refused, its values kept
    stale = rules_form(client, min_top_up="5.00")
    StoredValueSettings.objects.create(params=version.params, created_by=staff["hq"], created_at=version.created_at)
    r = client.post(reverse("stored_value_rules"), stale, **ZH)
    assert r.status_code == 422 and "另存了一个版本" in text(r) and 'value="5.00"' in text(r)
    assert StoredValueSettings.objects.count() == 2


def test_only_hq_edits_the_rules(client, chain, staff):
    for who in ("clerk", "manager", "other_manager"):
        client.force_login(staff[who])
        assert client.get(reverse("stored_value_rules")).status_code == 403
        assert client.post(reverse("stored_value_rules"), {"min_top_up": "5"}).status_code == 403
    assert not StoredValueSettings.objects.exists()


def test_the_menu_offers_the_pages_to_whom_may_use_them(client, chain, staff):
    seen = {}
    for who in ("clerk", "manager", "hq"):
        client.force_login(staff[who])
        page = client.get(reverse("member_search"), **ZH).content.decode()
        seen[who] = (reverse("stored_value_refunds") in page, reverse("stored_value_rules") in page)
    assert seen == {"clerk": (False, False), "manager": (True, False), "hq": (True, True)}


def test_the_new_pages_show_no_english_in_chinese(client, chain, member, staff):
    """The demo the Chinese-page crawl walks has no refund request: the queue with rows, the panel with a pending
    request and a move to confirm, the refused rules form are read here with the crawl's checker."""
    from tests.web.test_untranslated import english_in, visible_text

    card = card_of(chain, member)
    request_refund(card=card, by=chain.clerk, reason="搬家", store=chain.shop)
    other = top_up(member=MemberFactory(phone="13900005678"), amount=D("300.00"), method="cash",
                   store=chain.shop, by=chain.clerk).card
    approve_refund(refund=request_refund(card=other, by=chain.clerk, reason="不用了", store=chain.shop),
                   by=staff["hq"], method="cash")
    pages = []
    client.force_login(staff["hq"])
    pages.append(client.get(reverse("stored_value_refunds"), **ZH))
    pages.append(client.post(reverse("stored_value_rules"), rules_form(client, named_max_balance="9000",
                                                                       **{"tier-1-min_amount": "5"}), **ZH))
    client.force_login(staff["manager"])
    pages.append(client.get(reverse("stored_value_refunds"), **ZH))
    pages.append(client.get(reverse("member_detail", args=[member.pk]), **ZH))
    pages.append(client.get(panel_url("stored_value_transfer", member, card), **HX))
    pages.append(client.get(panel_url("stored_value_transfer", member, card), **ZH))
    found = []
    for response in pages:
        assert response.status_code in (200, 422)
        texts, _links = visible_text(response.content.decode())
        found += [snippet for t in texts for snippet in english_in(t)]
    assert not found, found
