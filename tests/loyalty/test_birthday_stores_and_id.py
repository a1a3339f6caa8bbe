"""The birthday privilege completed as seed 001 has it (issue 19, part 3): used at self-operated stores only
(自营专柜 / 自营店) and, where the programme asks for it, with the member's ID number on the receipt, checked against
the profile."""

import copy
import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from membercare.checkout.pipeline import CheckoutError
from membercare.core.crypto import blind_index
from membercare.core.idnumber import id_check_char
from membercare.loyalty.audit import birthday_audit
from membercare.loyalty.models import BirthdayUse, Card
from membercare.loyalty.programme import DEFAULT_RULES, programme_at
from membercare.loyalty.programme_services import programme_update
from membercare.members.models import Member
from membercare.sales.models import Receipt

from .test_checkout import at, buy

FIRST17 = "11010519850321002"
ID_NUMBER = FIRST17 + id_check_char(FIRST17)
OTHER17 = "11010519850321003"
OTHER_ID = OTHER17 + id_check_char(OTHER17)


@pytest.fixture
def elite(chain, member):
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))  # ¥5,000 of business wear: elite card
    return Card.objects.get(member=member)


def birthday_rules(**flags) -> dict:
    tiers = copy.deepcopy(DEFAULT_RULES["tiers"])
    for tier in tiers:
        tier["birthday"].update(flags)
    return {"tiers": tiers}


def set_programme(specialist, **flags) -> None:
    with time_machine.travel(at(2026, 1, 1, 9), tick=False):  # a version applies from today or later
        programme_update(rules=birthday_rules(**flags), effective_from=dt.date(2026, 1, 1), by=specialist)


def refused(chain, card, **kw) -> CheckoutError:
    receipts = Receipt.objects.count()
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=card.number, lines=[("SHIRT", 2)], when=at(2026, 3, 10), birthday=True, **kw)
    assert Receipt.objects.count() == receipts and not BirthdayUse.objects.exists()  # nothing written
    return exc.value


def give_id(member, number=ID_NUMBER) -> None:
    Member.objects.filter(pk=member.pk).update(id_number=number, id_number_index=blind_index(number))


# ------------------------------------------------------------------------------------ self-operated stores


def test_the_default_programme_gives_the_privilege_at_self_operated_stores_only(chain, member, elite, specialist):
    assert all(t.birthday.self_operated_only for t in programme_at(dt.date(2026, 3, 10)).tiers)
    chain.shop.self_operated = False
    chain.shop.save(update_fields=["self_operated"])
    error = refused(chain, elite, store=chain.shop)
    assert error.error_code == "birthday_franchise_store" and error.field == "birthday"
    assert error.text == "生日特权只能在自营门店使用；上海南京西路店是加盟店。"
    # a self-operated store of the same brand gives it
    receipt = buy(chain, store=chain.shop2, card=elite.number, lines=[("SHIRT", 2)], when=at(2026, 3, 10),
                  birthday=True)
    assert receipt.birthday_privilege and BirthdayUse.objects.get().store == chain.shop2


def test_a_chain_may_allow_the_privilege_at_franchise_stores(chain, member, elite, specialist):
    set_programme(specialist, self_operated_only=False)
    chain.shop.self_operated = False
    chain.shop.save(update_fields=["self_operated"])
    receipt = buy(chain, card=elite.number, lines=[("SHIRT", 2)], when=at(2026, 3, 10), birthday=True)
    assert receipt.birthday_privilege


def test_the_audit_flags_an_uploaded_use_at_a_franchise_store(chain, member, elite):
    chain.shop.self_operated = False
    chain.shop.save(update_fields=["self_operated"])
    receipt = Receipt.objects.create(number="UP-1", store=chain.shop, member=member, card_number=elite.number,
                                     sold_at=at(2026, 3, 2), total_full_price=2000, total_paid=1200, tier="elite",
                                     birthday_privilege=True, source=Receipt.Source.UPLOAD)
    BirthdayUse.objects.create(member=member, scope="MAIN", period="2026-03", card_number=elite.number,
                               store=chain.shop, receipt=receipt, items=2, used_at=at(2026, 3, 2))
    [row] = birthday_audit(since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))
    assert "not_eligible" in row.flags and "在加盟店无效。" in row.notes


# ------------------------------------------------------------------------------------ the ID number rule


def test_by_default_no_id_number_is_asked(chain, member, elite):
    receipt = buy(chain, card=elite.number, lines=[("SHIRT", 2)], when=at(2026, 3, 10), birthday=True)
    assert BirthdayUse.objects.get(receipt=receipt).id_number_checked is False


@pytest.mark.parametrize(("on_file", "typed", "code"), [
    (False, ID_NUMBER, "birthday_id_not_on_file"),
    (True, "", "birthday_id_required"),
    (True, "  ", "birthday_id_required"),
    (True, "12345", "birthday_id_invalid"),
    (True, OTHER_ID, "birthday_id_mismatch"),
    (True, "x" * 5000, "birthday_id_invalid"),  # bounded before it is parsed
])
def test_the_id_number_rule_refuses_with_the_reason_and_writes_nothing(chain, member, elite, specialist, on_file,
                                                                       typed, code):
    set_programme(specialist, id_number_required=True)
    if on_file:
        give_id(member)
    error = refused(chain, elite, id_number=typed)
    assert error.error_code == code and error.field == "id_number"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.text)  # a sentence for the clerk, in Chinese


def test_the_right_id_number_is_checked_and_recorded_and_the_receipt_says_so(chain, member, elite, specialist,
                                                                             client):
    set_programme(specialist, id_number_required=True)
    give_id(member)
    typed = ID_NUMBER[:-1] + ID_NUMBER[-1].lower() if ID_NUMBER.endswith("X") else f" {ID_NUMBER} "
    receipt = buy(chain, card=elite.number, lines=[("SHIRT", 2)], when=at(2026, 3, 10), birthday=True,
                  id_number=typed)
    assert BirthdayUse.objects.get(receipt=receipt).id_number_checked is True
    # the receipt shows the check with the masked number, never the whole number
    client.force_login(chain.clerk)
    html = client.get(reverse("checkout_receipt", args=[receipt.pk]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    masked = ID_NUMBER[:3] + "*" * 11 + ID_NUMBER[-4:]
    assert f"身份证号已核对：{masked}" in html and ID_NUMBER not in html


def test_the_rule_leaves_other_sales_alone(chain, member, elite, specialist):
    set_programme(specialist, id_number_required=True)
    receipt = buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 3, 10))  # no birthday privilege
    assert not receipt.birthday_privilege


# ------------------------------------------------------------------------------------ the programme editor


def test_the_programme_editor_sets_both_rules_per_card(specialist):
    from membercare.web.programme.forms import ProgrammeForm

    form = ProgrammeForm(base_rules=copy.deepcopy(DEFAULT_RULES))
    assert form.initial["t_elite_bday_self_operated"] is True and form.initial["t_elite_bday_id_required"] is False
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | bool)}
    for code in ("elite", "diamond", "knight"):
        data[f"t_{code}_bday_brands"] = form.initial[f"t_{code}_bday_brands"]
        data[f"t_{code}_bday_self_operated"] = "on"
    data["t_elite_bday_id_required"] = "on"
    data.pop("t_diamond_bday_self_operated")  # unticked: franchise stores give the diamond privilege too
    data["effective_from"] = "2026-01-01"
    bound = ProgrammeForm(data=data, base_rules=copy.deepcopy(DEFAULT_RULES))
    assert bound.is_valid(), bound.errors
    tiers = {t["code"]: t["birthday"] for t in bound.rules()["tiers"]}
    assert tiers["elite"]["id_number_required"] is True and tiers["elite"]["self_operated_only"] is True
    assert tiers["diamond"]["self_operated_only"] is False and tiers["diamond"]["id_number_required"] is False


def test_a_birthday_rule_of_the_wrong_shape_is_refused_with_its_field(specialist):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        set_programme(specialist, id_number_required="sometimes")
    assert "tiers[0].birthday.id_number_required" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        set_programme(specialist, signature=True)
    assert "tiers[0].birthday.signature" in exc.value.message_dict
