"""Gift cards (礼品卡): batches within the anonymous-card rules, unguessable hashed codes exported once, the sale
that activates them, spending as a tender (alone, split, across visits), refusals with nothing written, binding
to a member and transfer, returns credited back, the liability."""

import datetime as dt
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from membercare.checkout.pipeline import CheckoutError, LineIn, PaymentIn, ReturnLineIn, checkout_post, return_post
from membercare.core.crypto import decrypt
from membercare.loyalty.models import PointsEntry
from membercare.members.models import ExportLog
from membercare.sales.models import Receipt, ReceiptPayment
from membercare.storedvalue import giftcard_selectors as gsel
from membercare.storedvalue.giftcard_batches import batch_create, batch_export, gift_cards_sell
from membercare.storedvalue.giftcard_spend import gift_card_transfer, gift_card_void
from membercare.storedvalue.giftcards import (
    GUESS_LIMIT,
    code_hash,
    display_code,
    is_well_formed,
    new_code,
    normalize_code,
)
from membercare.storedvalue.models import GiftCard, GiftCardEntry, GiftCardSale, GiftCardState
from membercare.storedvalue.rules import rules_update
from tests.factories import MemberFactory

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)
D = Decimal


def make_batch(hq, n=3, face="500.00", scope="", days=1095, name="端午礼品卡"):
    """A batch and its plain codes (as the one export gives them)."""
    batch = batch_create(by=hq, name=name, face_value=D(face), count=n, valid_days=days, scope=scope, at=AT)
    codes = [decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=batch).order_by("serial")]
    return batch, codes


def sold(chain, hq, n=1, face="500.00", **kw):
    batch, codes = make_batch(hq, n=n, face=face, **kw)
    gift_cards_sell(codes=codes, method="wechat_pay", store=chain.shop, by=chain.clerk, at=AT)
    return batch, codes


def card_of(code):
    return GiftCard.objects.get(code_hash=code_hash(code))


def pay(chain, lines, payments, member=None, at=AT, store=None):
    who = {"phone": member.phone} if member else {"walk_in": True}
    return checkout_post(store=store or chain.shop, clerk=chain.clerk, lines=[LineIn(*ln) for ln in lines],
                         payments=payments, sold_at=at, **who)


def assert_books():
    for card in GiftCard.objects.all():
        assert card.balance >= 0
        assert card.balance == sum((e.amount for e in card.entries.all()), D("0"))
    assert gsel.liability() == gsel.ledger_total() == sum((c.balance for c in GiftCard.objects.all()), D("0"))


# ------------------------------------------------------------------------------------------------ batches


def test_codes_are_long_unambiguous_checked_and_stored_only_as_a_hash(chain, hq):
    batch, codes = make_batch(hq, n=20)
    assert len(set(codes)) == 20
    for code in codes:
        assert len(code) == 16 and is_well_formed(code) and not set(code) & set("01OIL")
        card = card_of(code)
        assert card.code_last4 == code[-4:] and code not in card.code_hash and card.serial.startswith("GC")
        assert card.status == GiftCardState.NEW and card.balance == 0
    typo = codes[0][:5] + ("A" if codes[0][5] != "A" else "B") + codes[0][6:]
    assert not is_well_formed(typo)  # one wrong character is caught before any look-up
    assert normalize_code(display_code(codes[0]).lower()) == codes[0]


def test_a_batch_respects_the_anonymous_card_rules_and_names_the_field(chain, hq, clerk_of=None):
    cases = [({"face_value": D("1000.01")}, "face_value"), ({"count": 0}, "count"), ({"count": 10_001}, "count"),
             ({"valid_days": 1094}, "valid_days"), ({"name": ""}, "name"), ({"scope": "NOPE"}, "scope"),
             ({"face_value": "abc"}, "face_value"), ({"face_value": D("-5")}, "face_value")]
    for change, field in cases:
        args = {"name": "x", "face_value": D("100.00"), "count": 2, "valid_days": 1095, "scope": "", **change}
        with pytest.raises(CheckoutError) as exc:
            batch_create(by=hq, **args)
        assert exc.value.field == field, change
    assert not GiftCard.objects.exists()
    with pytest.raises(PermissionDenied):
        batch_create(by=chain.clerk, name="x", face_value=D("100.00"), count=1, valid_days=1095)
    # the rules are the source: HQ lowers the limit, the batch follows
    rules_update(by=hq, changes={"anonymous": {"max_balance": "200.00"}})
    with pytest.raises(CheckoutError):
        batch_create(by=hq, name="x", face_value=D("300.00"), count=1, valid_days=1095)


def test_the_code_list_is_exported_once_logged_then_gone(chain, hq):
    batch, codes = make_batch(hq, n=3)
    out, name = batch_export(batch=batch, by=hq)
    out.seek(0)
    sheet = zipfile.ZipFile(io.BytesIO(out.read())).read("xl/worksheets/sheet1.xml").decode()
    assert all(display_code(c) in sheet for c in codes) and name.endswith(".xlsx")
    assert ExportLog.objects.filter(kind="gift_card_codes", row_count=3, exported_by=hq).count() == 1
    assert not GiftCard.objects.exclude(code_sealed="").exists()  # nothing spendable left in the database
    with pytest.raises(CheckoutError) as exc:
        batch_export(batch=batch, by=hq)
    assert exc.value.error_code == "codes_exported"
    with pytest.raises(PermissionDenied):
        batch_export(batch=batch, by=chain.clerk)


# --------------------------------------------------------------------------------------------------- sale


def test_selling_activates_with_the_face_value_and_validity_and_no_points(chain, hq):
    batch, codes = make_batch(hq, n=2)
    done = gift_cards_sell(codes=[display_code(codes[0]).lower(), codes[1]], method="wechat_pay",
                           store=chain.shop, by=chain.clerk, at=AT)
    assert done.sale.number.startswith("GS") and done.sale.total == D("1000.00")
    for card in done.cards:
        card.refresh_from_db()
        assert card.status == GiftCardState.ACTIVE and card.balance == D("500.00") and card.member is None
        assert card.expires_on == dt.date(2026, 6, 1) + dt.timedelta(days=1095)
    assert GiftCardEntry.objects.filter(kind="sale", method__code="wechat_pay").count() == 2
    assert not PointsEntry.objects.exists() and not Receipt.objects.exists()
    assert_books()


@pytest.mark.parametrize("case", ["again", "void", "unknown", "twice", "stored_value", "other_brand", "cash_limit",
                                  "real_name", "other_store_clerk"])
def test_a_refused_sale_says_why_and_writes_nothing(chain, hq, case):
    batch, codes = make_batch(hq, n=2)
    jd_batch, jd_codes = make_batch(hq, n=1, scope="JUEDU", name="爵度卡")
    store, method, kw = chain.shop, "cash", {}
    want = {"again": "gift_card_already_active", "void": "gift_card_void", "unknown": "gift_card_unknown",
            "twice": "gift_card_code_twice", "stored_value": "gift_card_method_invalid",
            "other_brand": "gift_card_other_scope", "cash_limit": "gift_card_cash_refused",
            "real_name": "gift_card_real_name_required"}.get(case)
    sell = [codes[1]]
    if case == "again":
        gift_cards_sell(codes=[codes[0]], method="cash", store=store, by=chain.clerk, at=AT)
        sell = [codes[1], codes[0]]
    elif case == "void":
        gift_card_void(card=card_of(codes[0]), by=hq, reason="遗失")
        sell = [codes[1], codes[0]]
    elif case == "unknown":
        sell = [codes[1], new_code()]
    elif case == "twice":
        sell = [codes[1], codes[1].lower()]
    elif case == "stored_value":
        method = "stored_value"
    elif case == "other_brand":
        sell = [codes[1], jd_codes[0]]
    elif case in ("cash_limit", "real_name"):
        rules_update(by=hq, changes={"non_cash_from": "900.00", "real_name_from": "900.00"})
        sell = codes
        method = "cash" if case == "cash_limit" else "bank_card"
    before = (GiftCardEntry.objects.count(), GiftCardSale.objects.count(),
              list(GiftCard.objects.order_by("pk").values_list("status", "balance")))
    if case == "other_store_clerk":
        with pytest.raises(PermissionDenied):
            gift_cards_sell(codes=sell, method=method, store=chain.jd_shop, by=chain.clerk, at=AT)
    else:
        with pytest.raises(CheckoutError) as exc:
            gift_cards_sell(codes=sell, method=method, store=store, by=chain.clerk, at=AT, **kw)
        assert exc.value.error_code == want
        assert "礼品卡" in exc.value.text or case in ("stored_value", "twice", "cash_limit", "real_name")
    assert before == (GiftCardEntry.objects.count(), GiftCardSale.objects.count(),
                      list(GiftCard.objects.order_by("pk").values_list("status", "balance")))


def test_a_large_sale_records_the_buyer_with_the_id_number_encrypted(chain, hq):
    rules_update(by=hq, changes={"real_name_from": "900.00"})
    batch, codes = make_batch(hq, n=2)
    done = gift_cards_sell(codes=codes, method="bank_card", store=chain.shop, by=chain.clerk, at=AT,
                           buyer_name="李雷", buyer_id_number="110101199003074514")
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT buyer_id_number FROM storedvalue_giftcardsale WHERE id = %s", [done.sale.pk])
        raw = cur.fetchone()[0]
    assert "110101199003074514" not in raw
    assert GiftCardSale.objects.get().buyer_id_number == "110101199003074514"


# ------------------------------------------------------------------------------------------------ spending


def test_spent_across_visits_split_with_cash_bound_to_the_member_until_zero(chain, hq, member):
    batch, codes = sold(chain, hq)
    code = display_code(codes[0])
    r1 = pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("300.00"), code), PaymentIn("cash", D("699.00"))],
             member=member)
    card = card_of(codes[0])
    assert card.balance == D("200.00") and card.member == member
    assert {(p.method.code, p.amount) for p in ReceiptPayment.objects.filter(receipt=r1)} == {
        ("gift_card", D("300.00")), ("cash", D("699.00"))}
    assert r1.points_earned > 0  # points come when the card is spent on goods
    with pytest.raises(CheckoutError) as exc:  # beyond the balance
        pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("300.00"), code), PaymentIn("cash", D("699.00"))],
            member=member)
    assert exc.value.error_code == "gift_card_insufficient" and "200.00" in exc.value.text
    pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("200.00"), code), PaymentIn("alipay", D("799.00"))],
        member=member, at=AT + dt.timedelta(days=30))
    assert card_of(codes[0]).balance == 0
    timeline = gsel.member_gift_card_events(member, 10)
    assert len(timeline) == 2 and card.serial in timeline[0].title
    assert_books()


def test_a_walk_in_pays_with_a_card_alone_and_it_stays_anonymous(chain, hq):
    rules_update(by=hq, changes={"anonymous": {"max_balance": "1000.00"}})
    batch, codes = sold(chain, hq, face="1000.00")
    receipt = pay(chain, [("BELT", 1)], [PaymentIn("gift_card", None, codes[0])])
    card = card_of(codes[0])
    assert card.balance == D("1.00") and card.member is None
    assert ReceiptPayment.objects.get(receipt=receipt).amount == D("999.00")
    assert_books()


@pytest.mark.parametrize("case", ["unknown", "wrong", "new", "void", "expired", "other_scope", "other_member",
                                  "mismatch", "twice"])
def test_a_refused_gift_card_payment_says_why_and_writes_nothing(chain, hq, member, case):
    batch, codes = sold(chain, hq, n=2)
    code, amount, at, store, who = codes[0], D("300.00"), AT, chain.shop, member
    payments = None
    if case == "unknown":
        code = new_code()
    elif case == "wrong":
        code = code[:-1] + ("A" if code[-1] != "A" else "B")
    elif case == "new":
        code = make_batch(hq, n=1)[1][0]
    elif case == "void":
        fresh = make_batch(hq, n=1)[1][0]
        gift_card_void(card=card_of(fresh), by=hq, reason="遗失")
        code = fresh
    elif case == "expired":
        at = AT + dt.timedelta(days=1096)
    elif case == "other_scope":
        jd = make_batch(hq, n=1, scope="JUEDU", name="爵度")[1][0]
        gift_cards_sell(codes=[jd], method="cash", store=chain.jd_shop, by=None, at=AT)
        code = jd
    elif case == "other_member":
        other = MemberFactory(phone="13900009999")
        pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("1.00"), code), PaymentIn("cash", D("998.00"))],
            member=other)
    elif case == "mismatch":
        payments = [PaymentIn("gift_card", D("300.00"), code), PaymentIn("cash", D("600.00"))]
    elif case == "twice":
        payments = [PaymentIn("gift_card", D("300.00"), code), PaymentIn("gift_card", D("100.00"), code),
                    PaymentIn("cash", D("599.00"))]
    payments = payments or [PaymentIn("gift_card", amount, code), PaymentIn("cash", D("999.00") - amount)]
    before = (Receipt.objects.count(), GiftCardEntry.objects.count(),
              list(GiftCard.objects.order_by("pk").values_list("balance", "member_id")))
    with pytest.raises(CheckoutError) as exc:
        pay(chain, [("BELT", 1)], payments, member=who, at=at, store=store)
    want = {"unknown": "gift_card_unknown", "wrong": "gift_card_unknown", "new": "gift_card_not_active",
            "void": "gift_card_void", "expired": "gift_card_expired", "other_scope": "gift_card_other_scope",
            "other_member": "gift_card_other_member", "mismatch": "payments_mismatch", "twice": "gift_card_twice"}
    assert exc.value.error_code == want[case]
    assert before == (Receipt.objects.count(), GiftCardEntry.objects.count(),
                      list(GiftCard.objects.order_by("pk").values_list("balance", "member_id")))


def test_wrong_codes_are_throttled_per_store_with_one_message(chain, hq, member):
    sold(chain, hq)
    messages = set()
    for _i in range(GUESS_LIMIT):
        with pytest.raises(CheckoutError) as exc:
            pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("1.00"), new_code()),
                                       PaymentIn("cash", D("998.00"))])
        messages.add((exc.value.error_code, exc.value.text))
    assert len(messages) == 1  # unknown and wrong look the same
    with pytest.raises(CheckoutError) as exc:
        pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("1.00"), new_code()), PaymentIn("cash", D("998.00"))])
    assert exc.value.error_code == "gift_card_locked"
    # another store is not locked
    with pytest.raises(CheckoutError) as exc:
        pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("1.00"), new_code()), PaymentIn("cash", D("998.00"))],
            store=chain.shop2)
    assert exc.value.error_code == "gift_card_unknown"


# ------------------------------------------------------------------------------------------ returns, holder


def test_returns_credit_the_cards_back_in_proportion_even_after_expiry(chain, hq, member):
    batch, codes = sold(chain, hq, n=2)
    receipt = pay(chain, [("BELT", 1), ("SHIRT", 1)],
                  [PaymentIn("gift_card", D("500.00"), codes[0]), PaymentIn("gift_card", D("400.00"), codes[1]),
                   PaymentIn("cash", D("1099.00"))], member=member)
    a, b = card_of(codes[0]), card_of(codes[1])
    assert (a.balance, b.balance) == (D("0.00"), D("100.00"))
    lines = {ln.product.sku: ln for ln in receipt.lines.all()}
    later = AT + dt.timedelta(days=1200)  # both cards expired
    return_post(original=receipt, lines=[ReturnLineIn(lines["BELT"].pk, 1)], clerk=None, store=chain.shop, at=later)
    return_post(original=receipt, lines=None, clerk=None, store=chain.shop, at=later)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.balance, b.balance) == (D("500.00"), D("500.00"))  # exactly what was paid, back on each card
    assert a.expires_on == dt.date(2026, 6, 1) + dt.timedelta(days=1095)  # not extended
    assert_books()


def test_a_walk_in_return_credits_the_card(chain, hq):
    batch, codes = sold(chain, hq)
    receipt = pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("300.00"), codes[0]), PaymentIn("cash",
                                                                                                  D("699.00"))])
    return_post(original=receipt, lines=None, clerk=None, store=chain.shop, at=AT)
    assert card_of(codes[0]).balance == D("500.00")
    assert_books()


def test_staff_transfer_a_bound_card_to_another_member(chain, hq, member):
    batch, codes = sold(chain, hq)
    pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("100.00"), codes[0]), PaymentIn("cash", D("899.00"))],
        member=member)
    other = MemberFactory(phone="13900009999", name="李娜")
    card = gift_card_transfer(card=card_of(codes[0]), to=other, by=chain.clerk, store=chain.shop)
    assert card.member == other and card.balance == D("400.00")
    pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("100.00"), codes[0]), PaymentIn("cash", D("899.00"))],
        member=other)
    with pytest.raises(CheckoutError):
        gift_card_transfer(card=card_of(codes[0]), to=other, by=chain.clerk)
    assert_books()


def test_the_liability_per_store_brand_and_day(chain, hq, member):
    batch, codes = sold(chain, hq, n=2)  # sold at SH01 on 1 June: 1000
    pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("300.00"), codes[0]), PaymentIn("cash", D("699.00"))],
        member=member, store=chain.shop2, at=AT + dt.timedelta(days=1))
    day1, day2 = dt.date(2026, 6, 1), dt.date(2026, 6, 2)
    assert gsel.outstanding(day1) == D("1000.00") and gsel.outstanding(day2) == D("700.00")
    assert gsel.outstanding_by_store(day2) == {chain.shop.pk: D("1000.00"), chain.shop2.pk: D("-300.00")}
    assert gsel.outstanding_by_scope(day2) == {"": D("700.00")}
    assert gsel.day_movements(day2) == {"spend": D("-300.00")}
    figures = gsel.batch_figures(batch)
    assert (figures["sold"], figures["sold_value"], figures["spent"], figures["outstanding"]) == (
        2, D("1000.00"), D("300.00"), D("700.00"))
    assert gsel.card_differences() == (0, [])


def test_the_reconciliation_checks_gift_cards_against_their_ledger(chain, hq, member):
    from membercare.storedvalue.reconcile import reconcile

    batch, codes = sold(chain, hq, n=2)
    pay(chain, [("BELT", 1)], [PaymentIn("gift_card", D("300.00"), codes[0]), PaymentIn("cash", D("699.00"))],
        member=member)
    assert reconcile(dt.date(2026, 6, 1)).ok
    GiftCard.objects.filter(code_hash=code_hash(codes[1])).update(balance=D("450.00"))  # a balance edited
    run = reconcile(dt.date(2026, 6, 1))
    assert not run.ok and run.cards_off == 1
    assert {"gift_card": card_of(codes[1]).serial, "balance": "450.00", "ledger": "500.00"} in run.differences
