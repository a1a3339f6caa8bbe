"""Coupons at checkout: check a code for a basket, price it, and redeem it with the sale.

A provider of the sale pipeline (sales.pipeline; registered in CampaignsConfig.ready, after the birthday
privilege): it does nothing, and asks nothing of the database, when no coupon code is given. The rules:
- the code is checked for its form and check character first (a typo is refused without a database lookup);
- the coupon must be the member's own, of the store's brand, unused, and valid on the day of the sale;
- it applies to the basket's full-price units (not items on promotion, not birthday-privilege units) of its
  products or series (all products when the batch names none); the minimum spend is on those units' amount
  before the coupon;
- stacking: a batch that stacks takes its discount from the card-discounted price; one that does not is
  taken from the full price and those units get no card discount. When that would leave the member paying
  more than without the coupon, the coupon is refused (coupon_no_benefit) and stays unused: the member is
  never worse off, and the clerk removes the code;
- amount off is spread over the units in proportion (cent remainder on the last), so a partial return refunds
  exactly what was paid for the units returned;
- redeeming claims the coupon with a conditional UPDATE (… WHERE redeemed_at IS NULL) in the sale's
  transaction (the member's account lock already serialises one member's checkouts; the claim holds even
  without it) and records a CouponRedemption (unique per coupon and per receipt);
- returns: a return, even of the whole receipt, re-opens nothing: the coupon stays used (the refund is what
  was paid, after the coupon).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.loyalty.identify import Identified
from membercare.org.models import Store
from membercare.sales.pipeline import Adjustment, CheckoutError, QuoteLine

from .codes import display_code, is_well_formed, normalize_code
from .models import Coupon, CouponBatch, CouponRedemption

CENT = Decimal("0.01")
FIELD = "coupon_code"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def coupon_for_basket(code_text: str, *, ident: Identified, store: Store, on: dt.date) -> Coupon:
    """The coupon `code_text` names, if this member may use it at this store on `on`; else a CheckoutError
    with a stable code (coupon_code_invalid, coupon_unknown, coupon_other_member, coupon_wrong_brand,
    coupon_used, coupon_expired, coupon_not_yet_valid)."""
    code = normalize_code(code_text)
    if not is_well_formed(code):
        raise CheckoutError("coupon_code_invalid", _("Coupon code “%(code)s” is mistyped: check every character "
                                                     "(12 characters, e.g. ABCD-EFGH-JK23).") % {
            "code": (code_text or "").strip()[:20]}, FIELD)
    coupon = Coupon.objects.select_related("batch").filter(code=code).first()
    shown = display_code(code)
    if coupon is None:
        raise CheckoutError("coupon_unknown", _("Coupon %(code)s is unknown.") % {"code": shown}, FIELD)
    batch = coupon.batch
    if coupon.member_id != ident.member.pk:
        raise CheckoutError("coupon_other_member", _("Coupon %(code)s was issued to another member.") % {
            "code": shown}, FIELD)
    if batch.brand_id != store.brand_id:
        raise CheckoutError("coupon_wrong_brand", _("Coupon %(code)s is not valid at %(brand)s stores.") % {
            "code": shown, "brand": store.brand.name}, FIELD)
    if coupon.redeemed_at is not None:
        raise CheckoutError("coupon_used", _("Coupon %(code)s was already used on %(date)s.") % {
            "code": shown, "date": formats.date_format(timezone.localtime(coupon.redeemed_at),
                                                       "SHORT_DATETIME_FORMAT")}, FIELD)
    if coupon.expired_on is not None or on > batch.valid_to:
        raise CheckoutError("coupon_expired", _("Coupon %(code)s expired on %(date)s.") % {
            "code": shown, "date": formats.date_format(batch.valid_to)}, FIELD)
    if on < batch.valid_from:
        raise CheckoutError("coupon_not_yet_valid", _("Coupon %(code)s is valid from %(date)s.") % {
            "code": shown, "date": formats.date_format(batch.valid_from)}, FIELD)
    return coupon


def _eligible(batch: CouponBatch, ql: QuoteLine, series_ids: set[int]) -> bool:
    if ql.on_promotion:
        return False
    if not batch.skus and not series_ids:
        return True
    return ql.product.sku in batch.skus or ql.product.series_id in series_ids


def coupon_apply(code_text: str, *, ident: Identified, store: Store, lines: list[QuoteLine],
                 on: dt.date) -> tuple[Coupon, Decimal]:
    """Check the coupon and re-price its units in `lines` (their unit_prices change in place). Returns the
    coupon and its discount (what it took off the price it applies to)."""
    coupon = coupon_for_basket(code_text, ident=ident, store=store, on=on)
    batch = coupon.batch
    shown = display_code(coupon.code)
    series_ids = set(batch.series.values_list("pk", flat=True))
    units = [(ql, u) for ql in lines if _eligible(batch, ql, series_ids) for u in range(ql.birthday_items,
                                                                                        ql.quantity)]
    if not units:
        raise CheckoutError("coupon_no_items", _("Coupon %(code)s applies to none of the items in the basket "
                                                 "(full-price items of its products or series only).") % {
            "code": shown}, FIELD)
    base = [ql.unit_prices[u] if batch.stacks_with_tier else ql.full_price for ql, u in units]
    before = sum(base, Decimal("0"))
    if before < batch.min_spend:
        raise CheckoutError("coupon_below_minimum", _("Coupon %(code)s needs a spend of ¥%(min)s on the items it "
                                                      "applies to; they come to ¥%(amount)s.") % {
            "code": shown, "min": batch.min_spend, "amount": _money(before)}, FIELD)
    if batch.kind == CouponBatch.Kind.PERCENT:
        new = [_money(price * (1 - batch.value / 100)) for price in base]
    else:
        off = min(batch.value, before)
        shares = [_money(off * price / before) if before else Decimal("0") for price in base]
        shares[-1] = off - sum(shares[:-1], Decimal("0"))
        new = [price - share for price, share in zip(base, shares, strict=True)]
    discount = before - sum(new, Decimal("0"))
    saving = sum((ql.unit_prices[u] for ql, u in units), Decimal("0")) - sum(new, Decimal("0"))
    if saving <= 0:
        raise CheckoutError("coupon_no_benefit", _("Coupon %(code)s does not combine with the card discount and "
                                                   "would save less than it: remove the coupon.") % {
            "code": shown}, FIELD)
    for (ql, u), price in zip(units, new, strict=True):
        ql.unit_prices[u] = price
    return coupon, _money(discount)


def coupon_redeem(quote, *, receipt, store: Store, at: dt.datetime) -> CouponRedemption:
    """Use the quote's coupon for `receipt`, inside the sale's transaction: claimed once (conditional UPDATE);
    a coupon someone used a moment earlier is refused and the sale rolls back."""
    coupon = quote.coupon
    claimed = Coupon.objects.filter(pk=coupon.pk, redeemed_at__isnull=True, expired_on__isnull=True).update(
        redeemed_at=at)
    if not claimed:
        raise CheckoutError("coupon_used", _("Coupon %(code)s was already used.") % {
            "code": display_code(coupon.code)}, FIELD)
    coupon.redeemed_at = at
    redemption = CouponRedemption.objects.create(coupon=coupon, receipt=receipt, store=store,
                                                 amount=quote.coupon_discount, redeemed_at=at)
    receipt.coupon_applied = redemption
    return redemption


class CouponAdjustment(Adjustment):
    name, stage, order = "coupon", "adjustment", 40
    label = gettext_lazy("Coupon")

    def quote(self, sale) -> None:
        if sale.request.coupon_code:  # a campaign coupon re-prices its units (no query without a code)
            sale.coupon, sale.coupon_discount = coupon_apply(sale.request.coupon_code, ident=sale.ident,
                                                             store=sale.store, lines=sale.lines, on=sale.on)

    def commit(self, sale, receipt) -> None:
        if sale.coupon is not None:  # claimed once, in the sale's transaction
            coupon_redeem(sale, receipt=receipt, store=sale.store, at=receipt.sold_at)
