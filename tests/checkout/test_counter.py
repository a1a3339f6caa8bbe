"""The counter like a POS (issue 18): sales without a member, payment methods, product search by SKU, barcode
or name, and the most points a basket takes."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from membercare.analytics.facts import refresh_store_days
from membercare.analytics.measures import sales_summary
from membercare.analytics.scope import Scope
from membercare.checkout.payments import DEFAULT_METHODS, active_methods
from membercare.checkout.pipeline import (
    CheckoutError,
    LineIn,
    PaymentIn,
    ReturnLineIn,
    basket_quote,
    checkout_post,
    identify,
    return_post,
)
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.loyalty.programme import programme_at
from membercare.loyalty.sale import most_points_redeemable
from membercare.sales.models import PaymentMethod, Product, Receipt, ReceiptPayment
from membercare.sales.selectors import product_by_code, product_search
from tests.api.conftest import Pos, hq_admin, keys  # noqa: F401
from tests.factories import ProductFactory

TZ = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 6, 1, 12, tzinfo=TZ)


def walk_in(chain, *lines, **kw):
    return checkout_post(store=chain.shop, clerk=chain.clerk, lines=[LineIn(*ln) for ln in lines], walk_in=True,
                         sold_at=AT, **kw)


def test_the_usual_payment_methods_are_data(db):
    assert [(m.code, m.name) for m in active_methods()] == [
        ("cash", "现金"), ("bank_card", "银行卡"), ("wechat_pay", "微信支付"), ("alipay", "支付宝")]
    PaymentMethod.objects.filter(code="alipay").update(is_active=False, name="支付宝（停用）")
    PaymentMethod.objects.create(code="union_qr", name="云闪付", position=35)
    assert [m.code for m in active_methods()] == ["cash", "bank_card", "wechat_pay", "union_qr"]


def test_the_migration_and_the_code_install_the_same_methods():
    import importlib

    migration = importlib.import_module("membercare.sales.migrations.0008_product_barcode_payments")
    assert migration.METHODS == DEFAULT_METHODS


# ------------------------------------------------------------------------------------------- without a member


def test_a_sale_without_a_member_is_priced_at_the_catalogue_and_promotions_and_earns_nothing(chain):
    receipt = walk_in(chain, ("SUIT", 1), ("SHIRT", 2, None, Decimal("800.00")))
    receipt.refresh_from_db()
    assert receipt.member_id is None and receipt.card_number == "" and receipt.tier == ""
    assert receipt.total_full_price == Decimal("7000.00")
    assert receipt.total_paid == Decimal("6600.00")  # the suit at full price, two shirts at the promotion price
    assert receipt.points_earned == 0 and not PointsEntry.objects.exists() and not LoyaltyAccount.objects.exists()
    assert list(receipt.adjustments.values_list("kind", "amount")) == [("promotion", Decimal("400.00"))]


@pytest.mark.parametrize("option", [{"birthday": True}, {"redeem_points": 100}, {"coupon_code": "ABCD-EFGH-JK23"}])
def test_a_sale_without_a_member_refuses_what_only_members_have_and_writes_nothing(chain, option):
    with pytest.raises(CheckoutError) as exc:
        walk_in(chain, ("SUIT", 1), **option)
    assert exc.value.error_code == "member_required_for_option"
    assert exc.value.field == next(iter(option))
    assert not Receipt.objects.exists()


def test_a_sale_without_a_member_ignores_a_card_or_phone_typed_before(chain, member):
    receipt = walk_in(chain, ("SUIT", 1), phone=member.phone)
    assert receipt.member_id is None and not PointsEntry.objects.exists()


def test_a_return_of_a_sale_without_a_member_refunds_it(chain):
    receipt = walk_in(chain, ("SUIT", 1), payments=[PaymentIn("cash")])
    ret = return_post(original=receipt, lines=None, clerk=chain.clerk, store=chain.shop, at=AT)
    assert ret.total_paid == Decimal("-5000.00") and ret.member_id is None
    assert list(ret.payments.values_list("method__code", "amount")) == [("cash", Decimal("-5000.00"))]


def test_sales_without_a_member_bring_the_members_share_of_sales_below_100_percent(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 3)], sold_at=AT)
    scope = Scope((chain.shop.pk,), AT.date(), AT.date())
    refresh_store_days(rebuild=True)
    assert sales_summary(scope)["vip_share"] == Decimal("1")
    walk_in(chain, ("SHIRT", 1))
    refresh_store_days(rebuild=True)
    summary = sales_summary(scope)
    assert summary["receipts"] == 2 and summary["member_receipts"] == 1
    assert summary["vip_share"] == Decimal("3000") / Decimal("4000")


# ------------------------------------------------------------------------------------------------ payments


def test_one_payment_method_without_an_amount_takes_the_whole_amount_due(chain, member):
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                            payments=[PaymentIn("wechat_pay")], sold_at=AT)
    assert list(receipt.payments.values_list("method__code", "amount")) == [("wechat_pay", receipt.total_paid)]


def test_a_split_payment_must_add_up_to_the_amount_due(chain, member):
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                      payments=[PaymentIn("cash", Decimal("1000.00")), PaymentIn("bank_card", Decimal("3000.00"))],
                      sold_at=AT)
    assert exc.value.error_code == "payments_mismatch" and "¥4000.00" in exc.value.text
    assert not Receipt.objects.exists() and not PointsEntry.objects.exists()
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                            payments=[PaymentIn("cash", Decimal("1000.00")),
                                      PaymentIn("bank_card", Decimal("4000.00"))], sold_at=AT)
    assert receipt.payments.aggregate(t=Sum("amount"))["t"] == receipt.total_paid


@pytest.mark.parametrize("payments,code", [
    ([PaymentIn("bitcoin")], "payment_method_unknown"),
    ([PaymentIn("cash", Decimal("-1.00")), PaymentIn("bank_card", Decimal("5001.00"))], "payment_amount_invalid"),
    ([PaymentIn("cash", Decimal("0.001")), PaymentIn("bank_card", Decimal("4999.999"))], "payment_amount_invalid"),
    ([PaymentIn("cash", Decimal("1"))] * 11, "payments_too_many"),
])
def test_bad_payments_are_refused_and_nothing_is_written(chain, payments, code):
    with pytest.raises(CheckoutError) as exc:
        walk_in(chain, ("SUIT", 1), payments=payments)
    assert exc.value.error_code == code and exc.value.field == "payment_method"
    assert not Receipt.objects.exists()


def test_a_switched_off_method_is_refused(chain):
    PaymentMethod.objects.filter(code="alipay").update(is_active=False)
    with pytest.raises(CheckoutError):
        walk_in(chain, ("SUIT", 1), payments=[PaymentIn("alipay")])


def test_partial_returns_refund_each_method_in_proportion_and_end_at_zero(chain, member):
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                            lines=[LineIn("SHIRT", 3)], sold_at=AT,
                            payments=[PaymentIn("cash", Decimal("1000.00")), PaymentIn("alipay", Decimal("2000.00"))])
    line = receipt.lines.get()
    first = return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop,
                        at=AT)
    assert dict(first.payments.values_list("method__code", "amount")) == {
        "cash": Decimal("-333.33"), "alipay": Decimal("-666.67")}
    return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop, at=AT)
    return_post(original=receipt, lines=[ReturnLineIn(line.pk, 1)], clerk=chain.clerk, store=chain.shop, at=AT)
    net = {code: round(total, 2) for code, total in ReceiptPayment.objects.filter(
        receipt__in=[receipt, *receipt.returns.all()]).values_list("method__code").annotate(t=Sum("amount"))}
    assert net == {"cash": Decimal("0.00"), "alipay": Decimal("0.00")}
    assert sorted(r.payments.get(method__code="cash").amount for r in receipt.returns.all()) == [
        Decimal("-333.34"), Decimal("-333.33"), Decimal("-333.33")]


# ------------------------------------------------------------------------------------------ product search


@pytest.fixture
def barcodes(chain):
    Product.objects.filter(sku="SUIT").update(barcode="6901234567892")
    Product.objects.filter(sku="SHIRT").update(barcode="6901234567809")


def test_a_scanned_barcode_or_a_typed_sku_names_one_product(chain, barcodes):
    assert product_by_code("6901234567892").sku == "SUIT"
    assert product_by_code(" shirt ").sku == "SHIRT"  # any case, spaces around
    assert product_by_code("6901234567892\r\n").sku == "SUIT"  # a scanner's line ending
    assert product_by_code("690123456789") is None and product_by_code("") is None


def test_the_search_finds_by_sku_start_or_name_part_exact_first(chain, barcodes):
    assert [p.sku for p in product_search("衫")] == ["POLO", "SHIRT"]  # 高尔夫衫, 衬衫: by name, in SKU order
    ProductFactory(sku="AAA", name="BAG 礼盒", brand=chain.main, series=chain.leather, full_price=Decimal("10"))
    assert [p.sku for p in product_search("bag")] == ["BAG"]  # an exact SKU names one product
    assert [p.sku for p in product_search("ba")] == ["BAG", "AAA"]  # SKUs starting with it, then names
    assert [p.sku for p in product_search("jd")] == ["JDCOAT", "JDTEE"]
    assert [p.sku for p in product_search("6901234567809")] == ["SHIRT"]
    ProductFactory(sku="PL-1", name="polo 衫", brand=chain.main, series=chain.golf, full_price=Decimal("10"))
    assert [p.sku for p in product_search("POLO ")] == ["POLO"]
    assert [p.sku for p in product_search("OLO")] == ["PL-1"]  # a Latin name part: any case
    assert product_search("   ") == [] and product_search("\x00\x07") == []
    assert len(product_search("s", limit=2)) == 2


def test_a_long_query_is_cut_before_it_costs_anything(chain):
    assert product_search("衬" * 10_000) == []


# ------------------------------------------------------------------------------------- the most points offered


def test_the_most_points_a_basket_takes_is_the_programmes_share_within_the_balance(db):
    programme = programme_at(AT.date())
    share, value = programme.max_redeem_share, programme.point_value
    most = most_points_redeemable(programme, Decimal("5000.00"), None)
    assert most == int(Decimal("5000.00") * share / value)
    assert most_points_redeemable(programme, Decimal("5000.00"), 120) == 120
    assert most_points_redeemable(programme, Decimal("0.00"), 1000) == 0


def test_the_most_points_offered_are_accepted_and_one_more_is_refused(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 12)],
                  sold_at=AT - dt.timedelta(days=2))
    balance = LoyaltyAccount.objects.get(member=member).points
    quote = basket_quote(store=chain.shop, ident=identify(store=chain.shop, phone=member.phone),
                         lines=[LineIn("SHIRT", 1)], on=AT.date(), balance=balance)
    most = most_points_redeemable(quote.programme, quote.total_paid, balance)
    assert 0 < most < balance
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                      redeem_points=most + 1, sold_at=AT)
    assert exc.value.error_code == "points_over_limit" and str(most) in exc.value.text
    receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                            redeem_points=most, sold_at=AT)
    assert receipt.points_redeemed == most


# --------------------------------------------------------------------------------------------------- the API


def test_the_pos_api_posts_a_sale_without_a_member_with_its_payments(client, chain, keys):  # noqa: F811
    pos = Pos(client, keys["SH01"])
    status, methods = pos.get("payment-methods")
    assert status == 200 and [m["code"] for m in methods] == ["cash", "bank_card", "wechat_pay", "alipay"]
    status, body = pos.post("checkout", {"walk_in": True, "lines": [{"sku": "SUIT", "quantity": 1}],
                                         "payments": [{"method": "cash", "amount": "1000.00"},
                                                      {"method": "alipay", "amount": "4000.00"}]})
    assert status == 201, body
    assert body["member_no"] is None and body["points_earned"] == 0 and body["card"] is None
    assert body["payments"] == [{"method": "cash", "name": "现金", "amount": "1000.00"},
                                {"method": "alipay", "name": "支付宝", "amount": "4000.00"}]
    status, body = pos.get(f"receipts/{body['number']}")
    assert status == 200 and [p["method"] for p in body["payments"]] == ["cash", "alipay"]
    status, body = pos.post("checkout", {"walk_in": True, "lines": [{"sku": "SUIT", "quantity": 1}],
                                         "payments": [{"method": "cash", "amount": "1.00"}]})
    assert status == 422 and body["code"] == "payments_mismatch" and "¥5000.00" in body["message"]
    assert Receipt.objects.count() == 1


def test_the_demo_catalogue_has_valid_ean13_barcodes():
    from membercare.demo.gen_catalogue import ean13

    assert ean13("400638133393") == "4006381333931"  # a published EAN-13 example
    assert ean13("692000000001")[-1] == str((10 - (6 + 27 + 2 + 0 + 0 + 0 + 0 + 0 + 0 + 0 + 0 + 3) % 10) % 10)


def test_the_active_methods_are_read_once_per_process_and_a_change_applies(chain, monkeypatch):
    """The methods are kept per process (one query less on every sale that records a payment); a method saved in
    this process applies at once, one added is found at once, one switched off by an update without signals is
    refused once the copy is older than METHODS_TTL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from membercare.checkout import payments

    walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("cash")])
    with CaptureQueriesContext(connection) as q:
        walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("wechat_pay")])
    assert not [x for x in q.captured_queries if "sales_paymentmethod" in x["sql"]]
    alipay = PaymentMethod.objects.get(code="alipay")
    alipay.is_active = False
    alipay.save()  # this process forgets its copy
    with pytest.raises(CheckoutError) as exc:
        walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("alipay")])
    assert exc.value.error_code == "payment_method_unknown"
    PaymentMethod.objects.bulk_create([PaymentMethod(code="union_qr", name="云闪付", position=35)])  # no signal
    assert walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("union_qr")]).payments.get().method.code == "union_qr"
    PaymentMethod.objects.filter(code="wechat_pay").update(is_active=False)  # as another process would: no signal
    walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("wechat_pay")])  # this process's copy is still fresh
    monkeypatch.setattr(payments, "METHODS_TTL", 0.0)
    with pytest.raises(CheckoutError):
        walk_in(chain, ("SHIRT", 1), payments=[PaymentIn("wechat_pay")])
