"""Stored value: top-ups with bonus tiers and the prepaid-card limits, spends as a tender (alone and split),
returns in the spend's split, the refund with HQ's approval, freezing and the lost card."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.models import PointsEntry
from membercare.org.models import Role
from membercare.sales.models import ReceiptPayment
from membercare.storedvalue.lost_cards import freeze, transfer, unfreeze
from membercare.storedvalue.models import CardState, StoredValueCard, StoredValueEntry
from membercare.storedvalue.refunds import approve_refund, request_refund
from membercare.storedvalue.rules import DEFAULTS, current_rules, rules_update
from membercare.storedvalue.selectors import ledger_sums, liability
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)
D = Decimal


def entries_written():
    return StoredValueEntry.objects.count()


def assert_ledger(card):
    card.refresh_from_db()
    assert (card.principal, card.bonus) == ledger_sums(card)
    assert card.principal >= 0 and card.bonus >= 0


def topup(chain, member, amount, method="bank_card", **kw):
    return top_up(member=member, amount=D(amount), method=method, store=chain.shop, by=chain.clerk, at=AT, **kw)


def sell(chain, member, lines, payments, **kw):
    return checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                         lines=[LineIn(*ln) for ln in lines], payments=payments, sold_at=AT, **kw)


# ------------------------------------------------------------------------------------------------ top-up


def test_the_defaults_are_the_2012_measures(db):
    rules = current_rules()
    assert rules.named.max_balance == D("5000.00") and rules.named.valid_days is None
    assert rules.anonymous.max_balance == D("1000.00") and rules.anonymous.valid_days >= 3 * 365
    assert rules.non_cash_from == D("50000.00") and rules.real_name_from == D("10000.00")
    assert DEFAULTS["bonus_tiers"][0] == {"min_amount": "1000.00", "bonus": "100.00", "tiers": [], "from": None,
                                          "until": None}


def test_a_first_top_up_issues_a_named_card_without_expiry_with_the_tier_bonus(chain, member):
    done = topup(chain, member, "1000.00")
    card = done.card
    assert card.number.startswith("SV") and card.named and card.expires_on is None
    assert (done.principal, done.bonus) == (D("1000.00"), D("100.00"))  # 充1,000送100
    assert_ledger(card)
    assert card.balance == D("1100.00") == liability()
    entry = done.entry
    assert entry.method.code == "bank_card" and entry.store == chain.shop and entry.operator == chain.clerk
    small = topup(chain, member, "999.99")
    assert small.bonus == 0 and small.card.pk == card.pk


def test_bonus_tiers_per_level_and_period(chain, member, hq):
    rules_update(by=hq, changes={"bonus_tiers": [
        {"min_amount": "500.00", "bonus": "20.00", "tiers": [], "from": None, "until": None},
        {"min_amount": "500.00", "bonus": "80.00", "tiers": ["elite"], "from": None, "until": None},
        {"min_amount": "500.00", "bonus": "50.00", "tiers": [], "from": "2026-06-01", "until": "2026-06-30"},
    ]})
    assert topup(chain, member, "500.00").bonus == D("50.00")  # June's campaign; no elite card
    july = dt.datetime(2026, 7, 1, 10, tzinfo=TZ)
    assert top_up(member=member, amount=D("500.00"), method="cash", store=chain.shop, by=chain.clerk,
                  at=july).bonus == D("20.00")


def test_a_top_up_over_the_card_limit_is_refused_and_nothing_is_written(chain, member):
    topup(chain, member, "4000.00")  # + 100 bonus: 4100
    before = entries_written()
    with pytest.raises(CheckoutError) as exc:
        topup(chain, member, "1000.00")  # 1000 + 100 bonus would make 5200
    assert exc.value.error_code == "top_up_over_limit"
    assert "5000.00" in exc.value.text and "900.00" in exc.value.text
    assert entries_written() == before
    assert StoredValueCard.objects.get(member=member).balance == D("4100.00")
    topup(chain, member, "900.00")
    assert StoredValueCard.objects.get(member=member).balance == D("5000.00")


def test_cash_and_real_name_thresholds(chain, member, hq):
    # a named card holds at most ¥5,000 (the limit may not be raised: rules.LEGAL), so the thresholds are
    # brought within it to be reached
    rules_update(by=hq, changes={"real_name_from": "1000.00", "non_cash_from": "2000.00"})
    with pytest.raises(CheckoutError) as exc:
        topup(chain, member, "1000.00")
    assert exc.value.error_code == "top_up_real_name_required"
    member.id_number = "110101198503210012"
    member.save()
    with pytest.raises(CheckoutError) as exc:
        topup(chain, member, "2000.00", method="cash")
    assert exc.value.error_code == "top_up_cash_refused"
    assert entries_written() == 0
    assert topup(chain, member, "2000.00", method="bank_card").principal == D("2000.00")


@pytest.mark.parametrize(("amount", "method", "code"), [
    ("0", "cash", "amount_invalid"), ("-5", "cash", "amount_invalid"), ("1.001", "cash", "amount_invalid"),
    ("abc", "cash", "amount_invalid"), ("NaN", "cash", "amount_invalid"), ("100", "stored_value",
                                                                            "top_up_method_invalid"),
    ("100", "bitcoin", "payment_method_unknown"),
])
def test_bad_top_ups_are_refused_with_the_reason(chain, member, amount, method, code):
    with pytest.raises(CheckoutError) as exc:
        top_up(member=member, amount=amount, method=method, store=chain.shop, by=chain.clerk, at=AT)
    assert exc.value.error_code == code and exc.value.text
    assert entries_written() == 0 and not StoredValueCard.objects.exists()


def test_a_clerk_tops_up_only_at_their_own_store(chain, member):
    with pytest.raises(PermissionDenied):
        top_up(member=member, amount=D("100"), method="cash", store=chain.shop2, by=chain.clerk, at=AT)


def test_chain_or_brand_scope(chain, member, hq):
    rules_update(by=hq, changes={"scope": "brand"})
    main = topup(chain, member, "100.00").card
    jd = top_up(member=member, amount=D("100.00"), method="cash", store=chain.jd_shop, by=None, at=AT).card
    assert main.pk != jd.pk and (main.scope, jd.scope) == ("MAIN", "JUEDU")


# ------------------------------------------------------------------------------------------------- spend


def test_stored_value_alone_pays_the_whole_receipt_and_the_bonus_earns_no_points(chain, member):
    card = topup(chain, member, "1000.00").card  # 1000 + 100
    receipt = sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])  # 1000.00
    assert receipt.total_paid == D("1000.00")
    entry = StoredValueEntry.objects.get(receipt=receipt)
    # proportional: 1000 x 100/1100 = 90.91 bonus, 909.09 principal
    assert (entry.principal, entry.bonus) == (D("-909.09"), D("-90.91"))
    assert receipt.points_earned == 909  # on the principal only
    assert_ledger(card)
    assert card.balance == D("100.00")
    assert [(p.method.code, p.amount) for p in ReceiptPayment.objects.filter(receipt=receipt)] == [
        ("stored_value", D("1000.00"))]


def test_split_tenders_add_up_to_the_total(chain, member):
    card = topup(chain, member, "1000.00").card
    receipt = sell(chain, member, [("BAG", 1)], [PaymentIn("stored_value", D("700.00")),
                                                 PaymentIn("wechat_pay", D("2300.00"))])
    assert sum(p.amount for p in receipt.payments.all()) == receipt.total_paid == D("3000.00")
    card.refresh_from_db()
    assert card.balance == D("400.00")
    with pytest.raises(CheckoutError) as exc:
        sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value", D("300.00")), PaymentIn("cash", D("600"))])
    assert exc.value.error_code == "payments_mismatch"
    card.refresh_from_db()
    assert card.balance == D("400.00")


@pytest.mark.parametrize(("order", "principal", "bonus"), [
    ("principal_first", D("-1000.00"), D("0.00")), ("bonus_first", D("-900.00"), D("-100.00"))])
def test_the_order_principal_or_bonus_first(chain, member, hq, order, principal, bonus):
    rules_update(by=hq, changes={"spend_order": order, "points_on": "all"})
    topup(chain, member, "1000.00")
    receipt = sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    entry = StoredValueEntry.objects.get(receipt=receipt)
    assert (entry.principal, entry.bonus) == (principal, bonus)
    assert receipt.points_earned == 1000


def test_a_spend_beyond_the_balance_is_refused_and_nothing_is_written(chain, member):
    topup(chain, member, "100.00")
    before = (entries_written(), PointsEntry.objects.count())
    with pytest.raises(CheckoutError) as exc:
        sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    assert exc.value.error_code == "stored_value_insufficient" and "100.00" in exc.value.text
    assert (entries_written(), PointsEntry.objects.count()) == before
    assert not member.receipts.exists()


def test_no_card_frozen_or_expired_or_walk_in_is_refused(chain, member, hq):
    with pytest.raises(CheckoutError) as exc:
        sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    assert exc.value.error_code == "stored_value_none"
    card = topup(chain, member, "1000.00").card
    freeze(card=card, by=chain.clerk, reason="挂失")
    with pytest.raises(CheckoutError) as exc:
        sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    assert exc.value.error_code == "stored_value_frozen"
    with pytest.raises(CheckoutError) as exc:
        topup(chain, member, "100.00")
    assert exc.value.error_code == "stored_value_frozen"
    unfreeze(card=card, by=chain.clerk)
    StoredValueCard.objects.filter(pk=card.pk).update(expires_on=dt.date(2026, 5, 31))
    with pytest.raises(CheckoutError) as exc:
        sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    assert exc.value.error_code == "stored_value_expired"
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop, clerk=chain.clerk, lines=[LineIn("SHIRT", 1)], walk_in=True,
                      payments=[PaymentIn("stored_value")], sold_at=AT)
    assert exc.value.error_code == "stored_value_member_required"
    assert StoredValueEntry.objects.filter(kind="spend").count() == 0


# ------------------------------------------------------------------------------------------------ returns


def test_partial_returns_give_back_exactly_the_spend_split(chain, member):
    card = topup(chain, member, "3000.00").card  # 3000 + 100
    receipt = sell(chain, member, [("SHIRT", 3)], [PaymentIn("stored_value", D("1000.00")),
                                                   PaymentIn("cash", D("2000.00"))])
    spent = StoredValueEntry.objects.get(receipt=receipt)
    line = receipt.posted_lines[0]
    for _ in range(3):
        return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop,
                    at=AT + dt.timedelta(hours=1))
        assert_ledger(card)
    back = StoredValueEntry.objects.filter(kind="return")
    assert sum(e.principal for e in back) == -spent.principal
    assert sum(e.bonus for e in back) == -spent.bonus
    card.refresh_from_db()
    assert card.balance == D("3100.00")


def test_a_return_after_the_card_was_moved_goes_to_the_new_card(chain, member):
    card = topup(chain, member, "1000.00").card
    receipt = sell(chain, member, [("SHIRT", 1)], [PaymentIn("stored_value")])
    new = transfer(card=card, by=chain.clerk, store=chain.shop)
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop)
    new.refresh_from_db()
    card.refresh_from_db()
    assert card.status == CardState.CLOSED and card.balance == 0 and card.replaced_by == new
    assert new.balance == D("1100.00") and (new.principal, new.bonus) == (D("1000.00"), D("100.00"))
    assert_ledger(card)
    assert_ledger(new)


# ------------------------------------------------------------------------------------------------ refunds


def test_a_refund_pays_the_principal_back_only_with_hq_approval_and_forfeits_the_bonus(chain, member, hq):
    card = topup(chain, member, "1000.00").card
    refund = request_refund(card=card, by=chain.clerk, reason="会员搬家", store=chain.shop)
    with pytest.raises(CheckoutError):
        request_refund(card=card, by=chain.clerk, reason="again", store=chain.shop)
    with pytest.raises(PermissionDenied):
        approve_refund(refund=refund, by=chain.clerk, method="cash")
    manager = StaffFactory(username="m1", role=Role.MANAGER, stores=[chain.shop])
    with pytest.raises(PermissionDenied):
        approve_refund(refund=refund, by=manager, method="cash")
    refund = approve_refund(refund=refund, by=hq, method="bank_card")
    assert (refund.principal_refunded, refund.bonus_forfeited) == (D("1000.00"), D("100.00"))
    assert_ledger(card)
    assert card.balance == 0 and liability() == 0
    with pytest.raises(CheckoutError) as exc:
        approve_refund(refund=refund, by=hq, method="cash")
    assert exc.value.error_code == "refund_decided"


def test_a_reason_is_needed_and_another_members_card_is_not_mixed_in(chain, member):
    other = MemberFactory(name="李雷", phone="13900001111", home_store=chain.shop)
    card = topup(chain, member, "200.00").card
    topup(chain, other, "300.00")
    with pytest.raises(CheckoutError):
        freeze(card=card, by=chain.clerk, reason="  ")
    assert liability() == D("500.00")


def test_a_first_top_up_over_the_limit_is_refused_with_the_room_left(chain, member):
    with pytest.raises(CheckoutError) as exc:
        topup(chain, member, "5527.11")
    assert exc.value.error_code == "top_up_over_limit" and "5000.00" in exc.value.text
    assert entries_written() == 0
