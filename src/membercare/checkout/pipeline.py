"""The sale pipeline: a quote, a sale and a return at the counter, the POS API and the offline upload.

Steps of a sale (checkout_post), in one transaction:
1. identify the member under the member's lock, with the programme in force and the basket's products
   (loyalty.identify: one statement on the hot path);
2. price the basket at the catalogue (`price_lines`: the SKUs, quantities, the POS's prices checked);
3. apply the registered adjustments in their declared order, then the tenders, then the rewards
   (sales.pipeline.providers(): items on promotion at their price, the card's discount, the exclusive sale,
   the birthday privilege, coupons, the points offset, points earned, the tier evaluation — each owned by its
   app);
4. write the receipt with its lines and every provider's linked rows (points entries) and statements in one
   go (loyalty.rows.insert_linked: one statement on PostgreSQL), then each provider's commit (a coupon's
   claim, the birthday use, the tier evaluation…), each with its own guard;
5. notify: the `sale_posted` signal (referrals, the care engine).
A refusal anywhere is a CheckoutError and nothing is written. A return (return_post) refunds lines in
proportion, refunds on the original's payment methods (checkout.payments) and runs the providers' `reverse`
hooks (points reversed and refunded, an upgrade undone).

A sale without a member (`walk_in`: a customer who is not a member or does not want to say) skips step 1
and every provider that needs a member (sales.pipeline.Adjustment.member_only): it is priced at the catalogue
and its promotions, earns nothing, and counts in the chain's sales but not in its members' sales.

How to add a price adjustment or a tender: write a subclass of sales.pipeline.Adjustment in the app that owns
it (its `quote`, and `rows`/`commit`/`reverse` as needed), choose its stage and order, and register it in the
app's AppConfig.ready. Nothing here changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.metrics import count_checkout, count_return
from membercare.core.sequences import next_number_sql, reserve_numbers
from membercare.loyalty import rows
from membercare.loyalty.identify import Identified, Locked, basket_products, identify, identify_locked
from membercare.loyalty.models import Card, LoyaltyAccount
from membercare.loyalty.points import lock_account
from membercare.loyalty.programme import Programme, programme_at
from membercare.loyalty.tiers import RollingBefore, issue_accumulation_card
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.models import Product, Receipt, ReceiptAdjustment, ReceiptLine
from membercare.sales.pipeline import (
    CENT,
    CheckoutError,
    LineIn,
    PaymentIn,
    QuoteLine,
    ReturnLineIn,
    SaleRequest,
    SaleRows,
    after_rollback,
    money,
    providers,
)
from membercare.sales.signals import return_posted, sale_posted

from .payments import payment_rows, refund_payments

__all__ = ["CheckoutError", "Identified", "LineIn", "PaymentIn", "Quote", "QuoteLine", "ReturnLineIn", "basket_quote",
           "checkout_post", "identify", "return_post"]

ZERO = Decimal("0")
MAX_LINE_UNITS = 999  # units of one line (a receipt of a retail chain; bounds the work of a quote)
MAX_BASKET_UNITS = 2000  # units of a basket, all lines together (a group purchase included)


@dataclass
class Quote:
    """A priced basket: what the till shows before the sale, and the sale's state while it is written.
    Providers put what they decided in their fields below or in `parts[name]`."""

    member: Member | None  # None: a sale without a member
    card: Card | None
    tier: str
    lines: list[QuoteLine]
    store: Store | None = None
    ident: Identified | None = None
    programme: Programme | None = None
    on: dt.date | None = None
    request: SaleRequest = field(default_factory=SaleRequest)
    balance: int | None = None  # the member's points as read under the lock (None: read when needed)
    total_full_price: Decimal = ZERO
    total_paid: Decimal = ZERO  # after the adjustments, before the tenders
    offset: Decimal = ZERO  # what the tenders took off the amount due without money (the points offset)
    to_pay: Decimal = ZERO
    points_redeemed: int = 0
    points_offset: Decimal = ZERO
    points_earned: int = 0
    birthday_items: int = 0
    birthday_scope: str = ""
    birthday_period: str = ""
    birthday_exception: bool = False  # given through an approved exception outside the birthday month
    notes: list[str] = field(default_factory=list)
    coupon: object = None  # campaigns.Coupon applied to this basket
    coupon_discount: Decimal = ZERO
    unearned: Decimal = ZERO  # paid by tenders that earn no points (stored value's bonus)
    parts: dict[str, Any] = field(default_factory=dict)
    reads: dict[str, Any] = field(default_factory=dict)  # read with the member's lock for the providers (by name)
    # what each adjustment and tender took off, in the pipeline's order: (provider name, amount > 0)
    adjustments: list[tuple[str, Decimal]] = field(default_factory=list)
    # set for a sale being written
    account: LoyaltyAccount | None = None
    clerk: Staff | None = None
    before: RollingBefore | None = None


def price_lines(lines: list[LineIn], products: dict[str, Product]) -> list[QuoteLine]:
    """The basket at the catalogue: each line checked (a promotion price between 0 and the full price), every
    unit at the full price; items on promotion are marked with their price (sales.promotions applies it)."""
    quote_lines: list[QuoteLine] = []
    units_in_basket = 0
    for i, line in enumerate(lines, start=1):
        product = products.get(line.sku)
        if product is None:
            raise CheckoutError("sku_unknown", _("Line %(n)d: unknown SKU “%(sku)s”.") % {"n": i, "sku": line.sku},
                                "lines")
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise CheckoutError("quantity_invalid", _("Line %(n)d: the quantity must be a whole number above 0.")
                                % {"n": i}, "lines")
        if line.quantity > MAX_LINE_UNITS:
            raise CheckoutError("quantity_too_large", _("Line %(n)d: at most %(max)d units on one line.") % {
                "n": i, "max": MAX_LINE_UNITS}, "lines")
        units_in_basket += line.quantity
        if units_in_basket > MAX_BASKET_UNITS:
            raise CheckoutError("basket_too_large", _("At most %(max)d units in one basket.") % {
                "max": MAX_BASKET_UNITS}, "lines")
        if line.full_price is not None and Decimal(line.full_price) != product.full_price:
            raise CheckoutError("price_mismatch", _("Line %(n)d: the price ¥%(given)s does not match the catalogue "
                                                    "price ¥%(price)s of %(sku)s.") % {
                "n": i, "given": line.full_price, "price": product.full_price, "sku": product.sku}, "lines")
        promo = None
        if line.promo_price is not None:
            promo = Decimal(line.promo_price)
            if promo < 0 or promo > product.full_price:
                raise CheckoutError("price_invalid", _("Line %(n)d: a promotion price must be between 0 and the full "
                                                       "price.") % {"n": i}, "lines")
            promo = money(promo)
        quote_lines.append(QuoteLine(product, line.quantity, product.full_price, promo is not None,
                                     [product.full_price] * line.quantity, 0, promo))
    return quote_lines


def _member_options_refused(request: SaleRequest) -> None:
    """A sale without a member asks for nothing only a member has."""
    for asked, name in ((request.birthday, "birthday"), (request.redeem_points, "redeem_points"),
                        (request.coupon_code, "coupon_code"), (request.perks, "perks")):
        if asked:
            raise CheckoutError("member_required_for_option", _(
                "The birthday privilege, points and coupons are for members: identify the member first, or "
                "leave them out of a sale without a member."), name)


def basket_quote(*, store: Store, ident: Identified | None, lines: list[LineIn], birthday: bool = False,
                 redeem_points: int = 0, on: dt.date | None = None, programme: Programme | None = None,
                 balance: int | None = None, coupon_code: str = "", products: dict[str, Product] | None = None,
                 payments: list[PaymentIn] | None = None, member_code: str = "", id_number: str = "",
                 reads: dict[str, Any] | None = None, perks: list[str] | None = None) -> Quote:
    """Price the basket (writes nothing). `products`: the lines' products when the caller read them already.
    `ident` None: a sale without a member (only the providers that need no member run). `payments`: how it
    will be paid, for the tenders that are payments (stored value). `reads`: what the providers asked read
    with the member's lock (Adjustment.lock_read). `perks`: codes of the card's perks the sale uses
    (loyalty.perks)."""
    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    if not lines:
        raise CheckoutError("basket_empty", _("The basket is empty."), "lines")
    request = SaleRequest(birthday=birthday, redeem_points=redeem_points, coupon_code=coupon_code,
                          payments=list(payments or ()), member_code=member_code or "", id_number=id_number or "",
                          perks=list(perks or ()))
    if ident is None:
        _member_options_refused(request)
    if products is None:
        products = basket_products([line.sku for line in lines])
    card = ident.card if ident else None
    quote = Quote(member=ident.member if ident else None, card=card, tier=card.kind if card else "",
                  lines=price_lines(lines, products), store=store, ident=ident, programme=programme, on=on,
                  request=request, balance=balance, reads=dict(reads or {}))
    stage = ""
    taken: dict[str, Decimal] = {}
    for provider in _steps(quote):
        if provider.stage != stage and provider.stage == "tender":  # the amount due, once the prices are final
            quote.total_paid = sum((ql.paid for ql in quote.lines), ZERO)
        stage = provider.stage
        if stage == "reward":
            provider.quote(quote)
            continue
        due_before, offset_before = sum((ql.paid for ql in quote.lines), ZERO), quote.offset
        provider.quote(quote)
        amount = due_before - sum((ql.paid for ql in quote.lines), ZERO) + quote.offset - offset_before
        if amount:
            taken[provider.name] = taken.get(provider.name, ZERO) + amount
    quote.adjustments = [(name, money(amount)) for name, amount in taken.items() if money(amount)]
    quote.total_full_price = money(sum((ql.full_price * ql.quantity for ql in quote.lines), ZERO))
    quote.total_paid = money(sum((ql.paid for ql in quote.lines), ZERO))
    quote.to_pay = money(quote.total_paid - quote.offset)
    return quote


def _steps(sale: Quote):
    """The providers that run for this sale: all of them, or for a sale without a member those that need none."""
    steps = providers()
    return steps if sale.member is not None else tuple(p for p in steps if not p.member_only)


# ----------------------------------------------------------------------------------------------- post


def _receipt_number(store: Store) -> str:
    return f"{store.code}-{reserve_numbers('receipt')[0]:010d}"  # as next_number_sql("receipt", ...) writes it


def checkout_post(*, store: Store, clerk: Staff | None, lines: list[LineIn], card_number: str = "",
                  phone: str = "", name: str = "", birthday_date: str | dt.date = "", birthday: bool = False,
                  redeem_points: int = 0, sold_at: dt.datetime | None = None, group_purchase: bool = False,
                  member_signed: bool = True, source: str = Receipt.Source.LIVE, number: str = "",
                  savepoint: bool = True, coupon_code: str = "", walk_in: bool = False,
                  payments: list[PaymentIn] | None = None, member_code: str = "", id_number: str = "",
                  perks: list[str] | None = None) -> Receipt:
    """Record a sale for a member (the steps in the module's docstring). In one transaction; inside the caller's
    transaction it is a savepoint unless `savepoint=False`, when a refusal leaves the caller's whole transaction
    to be rolled back (the POS API does, and records the refusal after). The receipt's lines are in
    `receipt.posted_lines`. `walk_in`: a sale without a member (card, phone and name are ignored);
    `payments`: how it was paid (none: not recorded); `member_code`: the member's code, which stored value asks for
    above its limit (a wrong one is counted even though the sale is refused); `id_number`: the member's ID number,
    which the birthday privilege asks for where the programme says so; `perks`: the card's perks used on the sale
    (loyalty.perks: refused past their quota)."""
    try:
        with transaction.atomic(savepoint=savepoint):
            receipt = _checkout_post(store=store, clerk=clerk, lines=lines, card_number=card_number, phone=phone,
                                     name=name, birthday_date=birthday_date, birthday=birthday,
                                     redeem_points=redeem_points, sold_at=sold_at, group_purchase=group_purchase,
                                     member_signed=member_signed, source=source, number=number,
                                     coupon_code=coupon_code, walk_in=walk_in, payments=payments,
                                     member_code=member_code, id_number=id_number, perks=perks)
    except CheckoutError as exc:
        count_checkout("refused", exc.error_code)
        after_rollback(exc)
        raise
    count_checkout("posted")
    return receipt


def _checkout_post(*, store: Store, clerk: Staff | None, lines: list[LineIn], card_number: str, phone: str,
                   name: str, birthday_date: str | dt.date, birthday: bool, redeem_points: int,
                   sold_at: dt.datetime | None, group_purchase: bool, member_signed: bool, source: str,
                   number: str, coupon_code: str = "", walk_in: bool = False,
                   payments: list[PaymentIn] | None = None, member_code: str = "", id_number: str = "",
                   perks: list[str] | None = None) -> Receipt:
    sold_at = sold_at or timezone.now()
    on = timezone.localtime(sold_at).date()
    if walk_in:
        return _walk_in_post(store=store, clerk=clerk, lines=lines, birthday=birthday, redeem_points=redeem_points,
                             coupon_code=coupon_code, sold_at=sold_at, on=on, group_purchase=group_purchase,
                             source=source, number=number, payments=payments, perks=perks)
    # 1. the member's account is locked first: it serialises every write for this member
    # (with what the providers ask read with it: one statement)
    asked = SaleRequest(birthday=birthday, redeem_points=redeem_points, coupon_code=coupon_code,
                        payments=list(payments or ()), member_code=member_code or "", id_number=id_number or "",
                        perks=list(perks or ()))
    reads = {p.name: read for p in providers() if (read := p.lock_read(asked)) is not None}
    locked: Locked = identify_locked(store=store, card_number=card_number, phone=phone, name=name,
                                     birthday=birthday_date, at=sold_at, skus=[line.sku for line in lines],
                                     reads=reads)
    # 2-3. the basket priced, the adjustments, tenders and rewards quoted
    sale = basket_quote(store=store, ident=locked.ident, lines=lines, birthday=birthday, redeem_points=redeem_points,
                        on=on, programme=locked.programme, balance=locked.account.points, coupon_code=coupon_code,
                        products=locked.products, payments=payments, member_code=member_code, id_number=id_number,
                        reads=locked.reads, perks=perks)
    sale.account, sale.clerk, sale.before = locked.account, clerk, locked.before
    if sale.card is None:  # a first purchase without a card this store accepts: an accumulation card
        sale.card = issue_accumulation_card(sale.member, store, sale.programme, at=sold_at)
    card = sale.card
    # 4. the receipt (its number from its sequence within the insert where the database can do it) …
    computed = None if number else next_number_sql("receipt", prefix=f"{store.code}-", width=10)
    receipt = Receipt(
        number=number or ("" if computed else _receipt_number(store)), store=store, clerk=clerk, member=sale.member,
        card_number=card.number, sold_at=sold_at, total_full_price=sale.total_full_price, total_paid=sale.to_pay,
        is_group_purchase=group_purchase, member_signed=member_signed, source=source, tier=card.kind,
        posted_at=timezone.now(),
    )
    _receipt_lines(sale, receipt)
    # … and every provider's rows and statements, in one go (one statement on PostgreSQL)
    out = SaleRows()
    steps = _steps(sale)
    for provider in steps:
        provider.rows(sale, receipt, out)
    _insert(sale, receipt, out, computed, payments)
    for provider in steps:  # each provider's own writes, with its own guard
        provider.commit(sale, receipt)
    receipt.points_balance = sale.account.points
    receipt.card = card  # as it is now (an upgrade by this sale included)
    receipt.programme = sale.programme  # for the level's name where the caller shows the card
    # 5. notify (bought_before: the member paid at this brand in the window before)
    if sale_posted.has_listeners(Receipt):
        sale_posted.send(Receipt, receipt=receipt, store=store, bought_before=locked.before.paid > 0)
    return receipt


def _receipt_lines(sale: Quote, receipt: Receipt) -> None:
    """The receipt's lines: the tenders' offset spread over the lines in proportion, so returns refund it
    exactly."""
    remaining = sale.offset
    receipt.posted_lines = []
    for i, ql in enumerate(sale.lines):
        share = (sale.offset * ql.paid / sale.total_paid).quantize(CENT) if sale.total_paid else 0
        if i == len(sale.lines) - 1:
            share = remaining
        remaining -= share
        receipt.posted_lines.append(ReceiptLine(
            receipt=receipt, product=ql.product, quantity=ql.quantity, full_price=ql.full_price * ql.quantity,
            paid_amount=ql.paid - share, on_promotion=ql.on_promotion, birthday_items=ql.birthday_items,
        ))


def _insert(sale: Quote, receipt: Receipt, out: SaleRows, computed, payments: list[PaymentIn] | None) -> None:
    """The receipt, its lines, the providers' linked rows, its adjustments and payments in one go."""
    adjustments = [ReceiptAdjustment(receipt=receipt, kind=name, amount=amount) for name, amount in sale.adjustments]
    paid = payment_rows(receipt, sale.to_pay, payments, getattr(sale, "known_methods", None))
    receipt.posted_payments = paid
    linked: dict[type, list] = {}  # one list per model (points entries, stored-value entries…)
    for row in out.linked:
        linked.setdefault(type(row), []).append(row)
    changed = rows.insert_linked(receipt, [(receipt.posted_lines, "receipt_id"),
                                           *((group, "receipt_id") for group in linked.values()),
                                           (adjustments, "receipt_id"), (paid, "receipt_id")],
                                 also=out.also, computed=("number", *computed) if computed else None,
                                 before=out.before)
    for check, count in zip(out.checks, changed, strict=True):
        check(count)


def _walk_in_post(*, store: Store, clerk: Staff | None, lines: list[LineIn], birthday: bool, redeem_points: int,
                  coupon_code: str, sold_at: dt.datetime, on: dt.date, group_purchase: bool, source: str,
                  number: str, payments: list[PaymentIn] | None, perks: list[str] | None = None) -> Receipt:
    """A sale without a member: no lock (nobody's balance moves), priced by the providers that need no member."""
    if not lines:
        raise CheckoutError("basket_empty", _("The basket is empty."), "lines")
    sale = basket_quote(store=store, ident=None, lines=lines, birthday=birthday, redeem_points=redeem_points,
                        on=on, coupon_code=coupon_code, products=basket_products([line.sku for line in lines]),
                        payments=payments, perks=perks)
    sale.clerk = clerk
    computed = None if number else next_number_sql("receipt", prefix=f"{store.code}-", width=10)
    receipt = Receipt(
        number=number or ("" if computed else _receipt_number(store)), store=store, clerk=clerk, member=None,
        card_number="", sold_at=sold_at, total_full_price=sale.total_full_price, total_paid=sale.to_pay,
        is_group_purchase=group_purchase, member_signed=False, source=source, tier="", posted_at=timezone.now(),
    )
    _receipt_lines(sale, receipt)
    out = SaleRows()
    steps = _steps(sale)
    for provider in steps:
        provider.rows(sale, receipt, out)
    _insert(sale, receipt, out, computed, payments)
    for provider in steps:
        provider.commit(sale, receipt)
    receipt.points_balance, receipt.card = None, None
    if sale_posted.has_listeners(Receipt):
        sale_posted.send(Receipt, receipt=receipt, store=store, bought_before=False)
    return receipt


# --------------------------------------------------------------------------------------------- returns


@dataclass
class Return:
    """A return being written, for the providers' `reverse` hooks."""

    original: Receipt
    receipt: Receipt
    account: LoyaltyAccount | None
    clerk: Staff | None
    store: Store
    at: dt.datetime


def _returned_quantity(line: ReceiptLine) -> int:
    return -sum(r.quantity for r in ReceiptLine.objects.filter(original_line=line))


def return_post(*, original: Receipt, lines: list[ReturnLineIn] | None, clerk: Staff | None, store: Store,
                at: dt.datetime | None = None, number: str = "") -> Receipt:
    """A full (lines=None) or partial return: refunds in proportion, then every provider runs backwards
    (points reversed in proportion and a redeemed-points offset refunded as points, the tier re-evaluated).
    In one transaction."""
    try:
        with transaction.atomic():
            ret = _return_post(original=original, lines=lines, clerk=clerk, store=store, at=at, number=number)
    except CheckoutError as exc:
        count_return("refused", exc.error_code)
        raise
    count_return("posted")
    return ret


def _return_post(*, original: Receipt, lines: list[ReturnLineIn] | None, clerk: Staff | None, store: Store,
                 at: dt.datetime | None, number: str) -> Receipt:
    at = at or timezone.now()
    if original.original_id is not None:
        raise CheckoutError("return_of_return", _("A return cannot be returned."), "receipt")
    account = lock_account(original.member_id) if original.member_id else None
    original_lines = {ln.pk: ln for ln in original.lines.select_for_update().select_related("product")}
    wanted = lines if lines is not None else [
        ReturnLineIn(pk, ln.quantity - _returned_quantity(ln)) for pk, ln in original_lines.items()]
    wanted = [w for w in wanted if lines is not None or w.quantity > 0]
    if not wanted:
        raise CheckoutError("return_nothing", _("Everything on this receipt was already returned."), "lines")
    asked: dict[int, int] = {}  # per line, the units asked for: a line named twice counts once, summed
    for w in wanted:
        line = original_lines.get(w.line_id)
        if line is None:
            raise CheckoutError("return_line_unknown", _("Line %(id)s is not on receipt %(number)s.") % {
                "id": w.line_id, "number": original.number}, "lines")
        if not isinstance(w.quantity, int) or isinstance(w.quantity, bool) or w.quantity <= 0:
            raise CheckoutError("quantity_invalid", _("Return quantities must be whole numbers above 0."), "lines")
        asked[line.pk] = asked.get(line.pk, 0) + w.quantity
    plan = []
    for pk, quantity in asked.items():
        line = original_lines[pk]
        left = line.quantity - _returned_quantity(line)
        if quantity > left:
            raise CheckoutError("return_too_many", _("Only %(n)d of %(sku)s can still be returned.") % {
                "n": left, "sku": line.product.sku}, "lines")
        plan.append((line, quantity))

    ret = Receipt.objects.create(
        number=number or _receipt_number(store), store=store, clerk=clerk, member_id=original.member_id,
        card_number=original.card_number, sold_at=at, total_full_price=ZERO, total_paid=ZERO,
        is_group_purchase=original.is_group_purchase, source=Receipt.Source.LIVE, original=original,
        tier=original.tier, posted_at=timezone.now(),
    )
    total_full = total_paid = ZERO
    for line, qty in plan:
        # birthday units are the first `birthday_items` units of a line; returns take full-discount units first
        full = money(line.full_price * qty / line.quantity)
        paid = money(line.paid_amount * qty / line.quantity)
        if qty + _returned_quantity(line) == line.quantity:  # the last units: whatever is left, exactly
            prior = ReceiptLine.objects.filter(original_line=line)
            full = line.full_price + sum((p.full_price for p in prior), ZERO)
            paid = line.paid_amount + sum((p.paid_amount for p in prior), ZERO)
        ReceiptLine.objects.create(receipt=ret, product=line.product, quantity=-qty, full_price=-full,
                                   paid_amount=-paid, on_promotion=line.on_promotion, original_line=line)
        total_full += full
        total_paid += paid
    ret.total_full_price = -total_full
    ret.total_paid = -total_paid
    ret.save(update_fields=["total_full_price", "total_paid"])

    refund_payments(original, ret)
    context = Return(original=original, receipt=ret, account=account, clerk=clerk, store=store, at=at)
    for provider in providers():
        if original.member_id or not provider.member_only:  # a sale without a member: its tenders (gift cards)
            provider.reverse(context)
    if return_posted.has_listeners(Receipt):
        return_posted.send(Receipt, receipt=ret, store=store)
    return ret
