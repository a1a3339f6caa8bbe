"""Checkout through the service: pricing, tiers, birthday privilege, points, returns."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.models import BirthdayUse, Card, CardStatus, PointsEntry
from membercare.loyalty.points import ledger_sum

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=12):
    return dt.datetime(y, m, d, h, tzinfo=TZ)


def buy(chain, store=None, card="", phone="13800001234", lines=(("SHIRT", 1),), when=None, **kw):
    return checkout_post(store=store or chain.shop, clerk=chain.clerk, card_number=card, phone="" if card else phone,
                         lines=[LineIn(sku, qty) for sku, qty in lines], sold_at=when or at(2026, 6, 1), **kw)


def test_first_purchase_issues_an_accumulation_card_and_earns_a_point_per_yuan(chain, member):
    receipt = buy(chain, lines=[("SHIRT", 1), ("BELT", 1)])
    card = Card.objects.get(member=member)
    assert card.kind == "accumulation" and card.valid_until == dt.date(2027, 6, 1)
    assert receipt.total_paid == Decimal("1999.00") and receipt.points_earned == 1999
    assert member.loyalty.points == 1999 == ledger_sum(member)


def test_one_business_receipt_of_5000_makes_an_elite_card_with_85_percent_prices(chain, member):
    buy(chain, lines=[("SUIT", 1)])
    card = Card.objects.get(member=member)
    assert card.kind == "elite"
    receipt = buy(chain, card=card.number, lines=[("SHIRT", 2)], when=at(2026, 6, 2))
    assert receipt.total_paid == Decimal("1700.00") and receipt.tier == "elite"


def test_promotion_items_keep_their_price(chain, member):
    buy(chain, lines=[("SUIT", 1)])
    card = Card.objects.get(member=member)
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, card_number=card.number,
                            lines=[LineIn("SHIRT", 1, promo_price=Decimal("600"))], sold_at=at(2026, 6, 2))
    assert receipt.total_paid == Decimal("600.00")


def test_birthday_privilege_once_per_month_across_stores(chain, member):
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))
    card = Card.objects.get(member=member)
    receipt = buy(chain, card=card.number, lines=[("SHIRT", 3)], when=at(2026, 3, 10), birthday=True)
    # two items at 6折, the third at the elite 8.5折; birthday items earn no points
    assert receipt.total_paid == Decimal("600.00") * 2 + Decimal("850.00")
    assert receipt.points_earned == 850
    with pytest.raises(CheckoutError) as exc:
        buy(chain, store=chain.shop2, card=card.number, when=at(2026, 3, 20), birthday=True)
    assert exc.value.error_code == "birthday_used" and chain.shop.name in exc.value.text
    assert BirthdayUse.objects.count() == 1


def test_a_void_card_is_refused_with_the_reason(chain, member):
    buy(chain, lines=[("SUIT", 1)])
    card = Card.objects.get(member=member)
    card.status = CardStatus.VOID
    card.save()
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=card.number)
    assert exc.value.error_code == "card_void"


def test_points_redeem_and_full_return_restore_everything(chain, member):
    buy(chain, lines=[("SHIRT", 2)])  # 2000 points
    card = Card.objects.get(member=member)
    receipt = buy(chain, card=card.number, lines=[("BAG", 1)], redeem_points=1000, when=at(2026, 6, 3))
    assert receipt.points_offset == Decimal("10.00") and receipt.total_paid == Decimal("2990.00")
    return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=at(2026, 6, 4))
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 2000 == ledger_sum(member)
    kinds = sorted(PointsEntry.objects.filter(receipt__original=receipt).values_list("kind", flat=True))
    assert kinds == ["refund", "reverse"]


def test_partial_returns_reverse_in_proportion_and_never_more(chain, member):
    receipt = buy(chain, lines=[("SHIRT", 3)])  # 3000 points
    line = receipt.lines.get()
    return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop)
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 2000
    with pytest.raises(CheckoutError) as exc:
        return_post(original=receipt, lines=[ReturnLineIn(line.pk, 3)], clerk=chain.clerk, store=chain.shop)
    assert exc.value.error_code == "return_too_many"
    return_post(original=receipt, lines=[ReturnLineIn(line.pk, 2)], clerk=chain.clerk, store=chain.shop)
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 0 == ledger_sum(member)


@pytest.mark.parametrize("lines,code", [([("NOPE", 1)], "sku_unknown"), ([("SHIRT", 0)], "quantity_invalid"),
                                        ([("SHIRT", -1)], "quantity_invalid")])
def test_bad_baskets_write_nothing(chain, member, lines, code):
    with pytest.raises(CheckoutError) as exc:
        buy(chain, lines=lines)
    assert exc.value.error_code == code
    from membercare.sales.models import Receipt

    assert not Receipt.objects.exists() and not Card.objects.exists()


def test_price_mismatch(chain, member):
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                      lines=[LineIn("SHIRT", 1, full_price=Decimal("900"))])
    assert exc.value.error_code == "price_mismatch"


def test_a_knight_card_is_honoured_at_the_main_brand_and_the_sale_counts_for_a_main_brand_card(chain, member):
    """Seed 001: the knight card (the sub-brand's) also has 8.5折 on the main brand's goods. A sale there with it
    leaves the knight card as it is and counts for the main brand: a card of that brand when the member qualifies."""
    buy(chain, store=chain.jd_shop, lines=[("JDCOAT", 1)])
    knight = Card.objects.get(member=member)
    assert knight.kind == "knight" and knight.brand == chain.juedu
    receipt = buy(chain, card=knight.number, lines=[("SHIRT", 2)], when=at(2026, 6, 2))
    assert receipt.total_paid == Decimal("1700.00") and receipt.tier == "knight"  # 8.5折 at a main-brand store
    assert Card.objects.filter(member=member).count() == 1  # below every main-brand level: nothing issued
    big = buy(chain, card=knight.number, lines=[("SUIT", 4)], when=at(2026, 6, 3))  # ¥17,000 paid on one receipt
    assert big.total_paid == Decimal("17000.00")
    knight.refresh_from_db()
    assert knight.kind == "knight" and knight.upgraded_by != big  # never upgraded in place to a main-brand level
    main_card = Card.objects.get(member=member, brand=chain.main)
    assert main_card.kind == "diamond" and main_card.upgraded_by == big and main_card.status == CardStatus.ACTIVE
    # the member's best card is now the diamond card (8折), at the sub-brand too (爵度店铺享有8折优惠)
    assert buy(chain, lines=[("SHIRT", 1)], when=at(2026, 6, 4)).total_paid == Decimal("800.00")
    assert buy(chain, store=chain.jd_shop, lines=[("JDTEE", 1)], when=at(2026, 6, 4)).card_number == main_card.number
    knight.refresh_from_db()
    assert knight.kind == "knight"
    # the upgrading receipt returned: the main-brand card goes back, the knight card is untouched
    return_post(original=big, lines=None, clerk=chain.clerk, store=chain.shop, at=at(2026, 6, 5))
    main_card.refresh_from_db()
    knight.refresh_from_db()
    assert main_card.kind == "accumulation" and knight.kind == "knight"


def test_a_card_of_the_other_brand_only_is_refused(chain, member):
    buy(chain, store=chain.jd_shop, lines=[("JDTEE", 1)])  # the sub-brand's accumulation card
    card = Card.objects.get(member=member)
    assert card.kind == "accumulation" and card.brand == chain.juedu
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=card.number)
    assert exc.value.error_code == "card_wrong_brand"


@pytest.mark.parametrize("name,birthday", [("王芳", ""), ("", "1985-03-21"), ("王芳", "1985-03-22"), ("王芳", "abc")])
def test_forgotten_card_needs_name_phone_and_birthday_together(chain, member, name, birthday):
    from membercare.checkout.pipeline import identify

    with pytest.raises(CheckoutError) as exc:
        identify(store=chain.shop, phone=member.phone, name=name, birthday=birthday)
    assert exc.value.error_code == "member_mismatch"
    assert identify(store=chain.shop, phone=member.phone, name="王芳", birthday="1985-03-21").member == member


def test_a_malformed_programme_is_a_validation_error():
    from django.core.exceptions import ValidationError

    from membercare.loyalty.programme import parse_programme

    with pytest.raises(ValidationError):
        parse_programme({"window_days": "abc"})


@pytest.mark.parametrize("n", [1, 3, 8, 9, 14])  # up to 8 lines are written as VALUES rows, more as arrays
def test_every_line_of_a_basket_is_written_in_order_with_its_amounts(chain, member, n):
    from membercare.sales.models import ReceiptLine

    skus = ["SHIRT", "BELT", "POLO", "BAG", "SUIT"]
    lines = [(skus[i % len(skus)], 1 + i % 3) for i in range(n)]
    receipt = buy(chain, lines=lines)
    stored = list(ReceiptLine.objects.filter(receipt=receipt).order_by("pk")
                  .values_list("pk", "product__sku", "quantity", "paid_amount"))
    assert [(ln.pk, ln.product.sku, ln.quantity, ln.paid_amount) for ln in receipt.posted_lines] == stored
    assert [(sku, qty) for _pk, sku, qty, _paid in stored] == lines
    assert sum(paid for *_x, paid in stored) == receipt.total_paid
    earned = PointsEntry.objects.get(receipt=receipt)
    assert earned.points == receipt.points_earned == int(receipt.total_paid) == member.loyalty.points


@pytest.mark.parametrize("card", [False, True])  # found by phone or by card: the products come with the lock
def test_a_returning_member_s_basket_is_priced_from_the_catalogue_read_with_the_lock(chain, member, card):
    from membercare.sales.models import Product, Receipt

    first = buy(chain, lines=[("BELT", 1)])
    number = first.card_number if card else ""
    with pytest.raises(CheckoutError) as exc:
        buy(chain, card=number, lines=[("SHIRT", 1), ("NOPE", 1)], when=at(2026, 6, 2))
    assert exc.value.error_code == "sku_unknown" and "NOPE" in exc.value.text
    assert Receipt.objects.count() == 1 and member.loyalty.points == 999 == ledger_sum(member)
    Product.objects.filter(sku="SHIRT").update(full_price=Decimal("1200.00"))  # a price change applies at once
    receipt = buy(chain, card=number, lines=[("SHIRT", 1), ("BELT", 2), ("SHIRT", 1)], when=at(2026, 6, 3))
    assert [(ln.product.sku, ln.quantity, ln.full_price) for ln in receipt.posted_lines] == [
        ("SHIRT", 1, Decimal("1200.00")), ("BELT", 2, Decimal("1998.00")), ("SHIRT", 1, Decimal("1200.00"))]
    assert receipt.total_paid == Decimal("4398.00") and receipt.posted_lines[0].product.series.code == "business"


def test_an_upgrade_by_the_rules_changes_the_card_in_place_and_files_a_done_application(chain, member):
    from membercare.loyalty.models import CardApplication

    first = buy(chain, lines=[("SHIRT", 1)])
    card = Card.objects.get(member=member)
    assert card.kind == "accumulation" and card.valid_until is not None
    receipt = buy(chain, card=card.number, lines=[("SUIT", 1)], when=at(2026, 6, 2))
    card.refresh_from_db()
    assert (card.kind, card.previous_kind, card.upgraded_by_id, card.valid_until, card.is_group_purchase) == (
        "elite", "accumulation", receipt.pk, None, False)
    assert receipt.card.kind == "elite" and receipt.card_number == first.card_number == card.number
    app = CardApplication.objects.get(member=member)
    assert (app.kind, app.card_kind, app.old_card, app.new_card, app.receipt, app.status, app.proposed_by_rules,
            app.store) == ("upgrade", "elite", card, card, receipt, CardApplication.Status.DONE, True, chain.shop)
    assert app.filed_at is not None and app.reviewed_at == app.filed_at


def test_a_redemption_at_checkout_takes_the_oldest_lots_and_not_the_lot_of_the_same_sale(chain, member):
    buy(chain, lines=[("BELT", 1)], when=at(2026, 1, 10))  # 999 points, expire first
    buy(chain, lines=[("SHIRT", 1)], when=at(2026, 3, 10))  # 1000 points
    receipt = buy(chain, lines=[("BAG", 1)], when=at(2026, 6, 1), redeem_points=1200)
    lots = list(PointsEntry.objects.filter(member=member, kind=PointsEntry.Kind.EARN).order_by("pk")
                .values_list("points", "remaining"))
    earned = receipt.points_earned
    assert lots == [(999, 0), (1000, 799), (earned, earned)]
    entries = list(PointsEntry.objects.filter(receipt=receipt).order_by("pk").values_list("kind", "points"))
    assert entries == [(PointsEntry.Kind.REDEEM, -1200), (PointsEntry.Kind.EARN, earned)]
    assert receipt.points_offset == Decimal("12.00") and receipt.total_paid == Decimal("2988.00")
    assert earned == 2988 and member.loyalty.points == 999 + 1000 - 1200 + earned == ledger_sum(member)


def test_lots_that_disagree_with_the_balance_stop_a_checkout_that_redeems(chain, member):
    from membercare.sales.models import Receipt

    buy(chain, lines=[("BELT", 1)])
    PointsEntry.objects.filter(member=member).update(remaining=0)  # corrupted: the balance still says 999
    with pytest.raises(RuntimeError):
        buy(chain, lines=[("SHIRT", 1)], when=at(2026, 6, 2), redeem_points=500)
    assert Receipt.objects.count() == 1 and PointsEntry.objects.filter(member=member).count() == 1


def test_a_redemption_never_takes_from_the_lot_the_same_sale_earns(chain, member):
    from membercare.loyalty.points import lock_account, points_earn

    points_earn(lock_account(member), 500, expires_on=None)  # a lot that never expires sorts after any dated lot
    receipt = buy(chain, lines=[("SHIRT", 1)], redeem_points=300)
    lots = dict(PointsEntry.objects.filter(member=member, kind=PointsEntry.Kind.EARN)
                .values_list("points", "remaining"))
    assert lots == {500: 200, receipt.points_earned: receipt.points_earned} and receipt.points_earned == 997
    assert member.loyalty.points == 200 + 997 == ledger_sum(member)


def test_a_sale_reuses_the_row_converters_of_the_ones_before(chain, member):
    """The hand-written statements' converters are cached by their field tuples' identity: a tuple built anew on
    every sale (as the locked read's once was) missed the cache on every sale and rebuilt its converters."""
    from membercare.loyalty import rows

    for minute in range(2):
        buy(chain, lines=[("SHIRT", 1)], when=at(2026, 6, 1) + dt.timedelta(minutes=minute))
    cached = len(rows._CONVERTERS)
    for minute in range(2, 6):
        buy(chain, lines=[("SHIRT", 1)], when=at(2026, 6, 1) + dt.timedelta(minutes=minute))
    assert len(rows._CONVERTERS) == cached
