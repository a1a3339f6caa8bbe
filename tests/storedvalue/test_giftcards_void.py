"""Voiding a gift card (issue 21): HQ only (a store manager gets 403), a reason and a confirmation, refused with the
reason when the card cannot be voided (sold, spent, already void) and nothing written; the void is in the card's
history (a 0 entry with the reason)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from membercare.checkout.pipeline import LineIn, PaymentIn, checkout_post
from membercare.core.crypto import decrypt
from membercare.org.models import Role
from membercare.storedvalue.giftcard_batches import batch_create, gift_cards_sell
from membercare.storedvalue.giftcard_spend import gift_card_void
from membercare.storedvalue.giftcards import GiftCardError
from membercare.storedvalue.models import GiftCard, GiftCardEntry
from tests.factories import StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
D = Decimal
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=TZ), tick=False):
        yield


def cards(hq, n=1, face="300.00"):
    batch = batch_create(by=hq, name="端午卡", face_value=D(face), count=n, valid_days=1095)
    found = list(GiftCard.objects.filter(batch=batch).order_by("serial"))
    return [(c, decrypt(c.code_sealed)) for c in found]


def snapshot():
    return (list(GiftCard.objects.order_by("pk").values_list("status", "balance", "member_id")),
            list(GiftCardEntry.objects.order_by("pk").values_list("kind", "amount", "note")))


@pytest.mark.parametrize("role, allowed", [(Role.CLERK, False), (Role.MANAGER, False), (Role.SPECIALIST, True),
                                           (Role.ADMIN, True)])
def test_only_hq_opens_and_posts_the_void_page(client, chain, hq, role, allowed):
    [(card, _code)] = cards(hq)
    user = StaffFactory(username=f"u-{role}", role=role,
                        stores=[chain.shop] if role in (Role.CLERK, Role.MANAGER) else [])
    client.force_login(user)
    url = reverse("gift_card_void", args=[card.serial])
    assert client.get(url).status_code == (200 if allowed else 403)
    detail = client.get(reverse("gift_card_detail", args=[card.serial]), **ZH).content.decode()
    assert ("作废此卡" in detail) is allowed  # the link only where the void is allowed
    posted = client.post(url, {"reason": "库存遗失", "confirm": "on"})
    if allowed:
        assert posted.status_code == 302
        assert GiftCard.objects.get().status == "void"
    else:
        assert posted.status_code == 403
        assert GiftCard.objects.get().status == "new" and not GiftCardEntry.objects.exists()


def test_hq_voids_an_unsold_card_with_a_reason_and_sees_it_in_the_history(client, chain, hq):
    [(card, code), (other, _code2)] = cards(hq, n=2)
    client.force_login(hq)
    batch_page = client.get(reverse("gift_card_batch", args=[card.batch_id]), **ZH).content.decode()
    assert reverse("gift_card_void", args=[card.serial]) in batch_page
    page = client.get(reverse("gift_card_void", args=[card.serial]), **ZH).content.decode()
    assert "作废礼品卡" in page and "只能作废尚未售出的卡" in page
    done = client.post(reverse("gift_card_void", args=[card.serial]), {"reason": "  门店  库存遗失 ", "confirm": "on"},
                       follow=True, **ZH)
    text = done.content.decode()
    assert done.redirect_chain[-1][0] == reverse("gift_card_detail", args=[card.serial])
    assert f"礼品卡 {card.serial} 已作废。" in text and "已作废" in text and "门店 库存遗失" in text
    assert "作废此卡" not in text  # a void card offers no second void
    entry = GiftCardEntry.objects.get()
    assert (entry.card_id, entry.kind, entry.amount, entry.note, entry.operator_id) == (
        card.pk, "void", D("0.00"), "门店 库存遗失", hq.pk)
    assert GiftCard.objects.get(pk=other.pk).status == "new"
    with pytest.raises(GiftCardError) as exc:  # a void card is never sold
        gift_cards_sell(codes=[code], method="cash", store=chain.shop, by=chain.clerk)
    assert exc.value.error_code == "gift_card_void"
    batch_page = client.get(reverse("gift_card_batch", args=[card.batch_id])).content.decode()
    assert reverse("gift_card_void", args=[card.serial]) not in batch_page
    assert reverse("gift_card_void", args=[other.serial]) in batch_page


@pytest.mark.parametrize("case", ["sold", "spent", "void", "no_reason", "long_reason", "not_confirmed"])
def test_a_refused_void_says_why_in_chinese_and_writes_nothing(client, chain, hq, member, case):
    [(card, code)] = cards(hq)
    form = {"reason": "库存遗失", "confirm": "on"}
    want = {"sold": f"礼品卡 {card.serial} 已售出：只能作废未售出的卡。",
            "spent": f"礼品卡 {card.serial} 已售出且余额已用完：只能作废未售出的卡。",
            "void": f"礼品卡 {card.serial} 已经作废，不能再次作废。",
            "no_reason": 'id="id_reason_error"><li>这个字段是必填项。', "long_reason": "不超过 200 字符",
            "not_confirmed": 'id="id_confirm_error"><li>这个字段是必填项。'}[case]
    if case in ("sold", "spent"):
        gift_cards_sell(codes=[code], method="cash", store=chain.shop, by=chain.clerk)
    if case == "spent":
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("BELT", 1)],
                      payments=[PaymentIn("gift_card", D("300.00"), code), PaymentIn("cash", D("699.00"))])
        assert GiftCard.objects.get().balance == D("0.00")
    if case == "void":
        gift_card_void(card=card, by=hq, reason="第一次")
    if case == "no_reason":
        form["reason"] = "   "
    if case == "long_reason":
        form["reason"] = "长" * 201
    if case == "not_confirmed":
        del form["confirm"]
    before = snapshot()
    client.force_login(hq)
    refused = client.post(reverse("gift_card_void", args=[card.serial]), form, **ZH)
    text = refused.content.decode()
    assert refused.status_code == 422 and want in text, text[text.find("id=\"gift-void\""):]
    assert snapshot() == before


def test_the_service_refuses_a_reason_too_long_even_without_the_form(chain, hq):
    [(card, _code)] = cards(hq)
    with pytest.raises(GiftCardError) as exc:
        gift_card_void(card=card, by=hq, reason="x" * 201)
    assert exc.value.error_code == "void_reason_invalid"
    with pytest.raises(GiftCardError):
        gift_card_void(card=card, by=hq, reason=" \n ")
    assert GiftCard.objects.get().status == "new" and not GiftCardEntry.objects.exists()
