"""Request and response shapes of the POS API. Money is a string with 2 decimals ("1700.00")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema
from pydantic import BaseModel

Money = str  # "1700.00"


class In(BaseModel):
    """A request body or query: plain pydantic (ninja's Schema also reads attributes of Django objects, which a
    request never is, at a cost per nested object on every checkout)."""


class LineIn(In):
    sku: str = Field(..., min_length=1, max_length=30, examples=["SUIT-001"])
    quantity: int = Field(..., le=9999, strict=True, json_schema_extra={"minimum": 1},
                          description="Whole number above 0 (true, 1.0 or \"1\" are refused).")
    full_price: Decimal | None = Field(None, max_digits=12, decimal_places=2,
                                       description="The POS's catalogue unit price; refused if it differs from ours.")
    promo_price: Decimal | None = Field(None, max_digits=12, decimal_places=2,
                                        description="Unit price of an item on promotion: it keeps this price.")


class MemberRefIn(In):
    """Who buys: a card number (or the member's electronic card code); or a phone; or, when the card is
    forgotten, name + phone + birthday."""

    card: str = Field("", max_length=40, description="A card number, or the card code their phone shows (MC and "
                      "18 digits; it changes every 30 seconds, is accepted for 90 and pays one sale: "
                      "card_code_invalid, card_code_used_up).")
    phone: str = Field("", max_length=30)
    name: str = Field("", max_length=50)
    birthday: dt.date | None = Field(None, description="The member's birthday, with name and phone.")


class BasketIn(MemberRefIn):
    lines: list[LineIn] = Field(..., max_length=200)
    birthday_privilege: bool = Field(False, description="Use the birthday-month privilege on this basket.")
    id_number: str = Field("", max_length=20, description="The member's ID number, typed from the ID card, where the "
                                                         "programme's birthday privilege asks for it (422 "
                                                         "birthday_id_required, birthday_id_invalid, "
                                                         "birthday_id_mismatch, birthday_id_not_on_file). Never "
                                                         "stored with the request.")
    redeem_points: int = Field(0, le=10**9, description="Points to redeem as a cash offset.")
    coupon_code: str = Field("", max_length=30, description="A campaign coupon's code (one use; dashes and "
                                                        "case do not matter).")
    perks: list[str] = Field([], max_length=10, description="Codes of the card's perks used with this sale, one use "
                             "each, e.g. [\"alteration\"]: a quote checks them, a checkout records them; past the "
                             "period's quota it is refused (422 perk_quota_used; perk_not_on_card, perks_invalid).")


class PaymentIn(In):
    method: str = Field(..., min_length=1, max_length=20, examples=["cash"],
                        description="A payment method's code (GET /payment-methods): cash, bank_card, wechat_pay, "
                                    "alipay, or the chain's own.")
    amount: Decimal | None = Field(None, max_digits=12, decimal_places=2, ge=0,
                                   description="Yuan paid with it; absent on a single payment: the whole amount due.")
    code: str = Field("", max_length=40, description="The gift card's code (XXXX-XXXX-XXXX-XXXX) when the method is "
                                                  "gift_card; one payment per card, at most 5 cards.")


class CheckoutIn(BasketIn):
    walk_in: bool = Field(False, description="A sale without a member: card, phone and name are ignored; no points, "
                                             "privileges or coupons.")
    payments: list[PaymentIn] = Field([], max_length=10, description="How the customer paid; the amounts add up to "
                                                                      "the amount due. Empty: not recorded.")
    member_code: str = Field("", max_length=20, description="The member's code — the card's PIN or the one-time "
                                                            "code sent by SMS (POST /members/{member_no}/"
                                                            "stored-value/code) — asked when more than the "
                                                            "stored-value rules' member_code_above is paid with "
                                                            "stored value. A wrong one is refused "
                                                            "(422 member_code_wrong) and counted; after "
                                                            "member_code_tries the code is locked "
                                                            "(422 member_code_locked).")
    group_purchase: bool = False
    member_signed: bool = True
    clerk: str = Field("", max_length=150, description="Username of the clerk (optional).")


class ReturnLineIn(In):
    line_id: int
    quantity: int = Field(..., le=9999, strict=True, json_schema_extra={"minimum": 1},
                          description="Whole number above 0.")


class ReturnIn(In):
    lines: list[ReturnLineIn] | None = Field(None, max_length=200,
                                             description="Lines to return; null or absent: everything left.")
    clerk: str = Field("", max_length=150, description="Username of the clerk (optional).")


class CardOut(Schema):
    number: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    valid_until: dt.date | None


class StoredValueOut(Schema):
    number: str
    status: str  # active, frozen
    balance: Money
    principal: Money
    bonus: Money
    valid_until: dt.date | None


class ProgressOut(Schema):
    brand: str = Field(..., description="The brand's code (its stores' sales count towards its cards).")
    next_tier: str | None = Field(..., description="The next card's code; null: the member holds the brand's "
                                                   "highest card.")
    window_days: int = Field(..., description="The rolling window the paid amount is summed over.")
    paid: Money = Field(..., description="Paid at the brand's stores in the window (returns counted).")
    goal: Money | None = Field(..., description="The next card's rolling threshold (null: it has none).")
    short: Money = Field(..., description="What is left to pay for the next card (0.00: reached).")
    single_receipt: Money | None = Field(..., description="One receipt of at least this upgrades at once.")


class PerkLeftOut(Schema):
    code: str = Field(..., description="The perk's code in the programme (e.g. alteration).")
    name: str = Field(..., description="What the programme calls it (免费改衣).")
    quota: int | None = Field(..., description="Uses per period; null: no limit.")
    period: str = Field(..., description="month, quarter, season (a calendar quarter), year, or none (the card's "
                                         "lifetime).")
    used: int = Field(..., description="Uses in the current period.")
    left: int | None = Field(..., description="Uses left in the current period; null: no limit.")
    period_end: dt.date | None = Field(..., description="The period's last day (Asia/Shanghai); null: the card's "
                                                        "lifetime.")


class MemberOut(Schema):
    member_no: str
    name: str
    phone: str  # masked: 138****1234
    card: CardOut | None
    tier: str
    points: int
    stored_value: StoredValueOut | None = Field(None, description="The stored-value card this store serves "
                                                                  "(none: the member has none here).")
    progress: list[ProgressOut] = Field(default_factory=list, description="Progress to the next card at the "
                                        "store's brand (at the till: the card in hand's brand).")
    perks: list[PerkLeftOut] = Field(default_factory=list, description="The card's perks that are not discounts "
                                     "(free alterations, the airport fast lane…) with what is left this period.")


class PerkUseIn(In):
    clerk: str = Field("", max_length=150, description="Username of the clerk (optional).")
    note: str = Field("", max_length=200, description="What was done (optional), e.g. the item altered.")


class PerkUseOut(Schema):
    member_no: str
    card_number: str
    perk: PerkLeftOut = Field(..., description="The perk after this use.")
    used_at: dt.datetime


class TopUpIn(In):
    amount: Decimal = Field(..., max_digits=12, decimal_places=2, gt=0, examples=["1000.00"],
                            description="Yuan the member pays in (the bonus of the matching tier is added).")
    method: str = Field(..., min_length=1, max_length=20, examples=["bank_card"],
                        description="The payment method it is paid with (not stored_value).")
    clerk: str = Field("", max_length=150, description="Username of the clerk (optional).")


class TopUpOut(Schema):
    member_no: str
    principal: Money
    bonus: Money
    method: str
    stored_value: StoredValueOut


class MemberCodeSentOut(Schema):
    member_no: str
    phone: str = Field(..., description="The phone the code went to, masked (138****1234).")
    valid_until: dt.datetime = Field(..., description="The code pays once until then (the checkout's member_code).")
    valid_minutes: int


class CardStatusOut(Schema):
    card: CardOut
    member_no: str | None = Field(None, description="The holder's member number; none for another brand's card.")
    usable_here: bool
    code: str | None
    message: str | None


class QuoteLineOut(Schema):
    sku: str
    name: str
    quantity: int
    full_price: Money
    on_promotion: bool
    unit_prices: list[Money]
    paid: Money
    birthday_items: int


class QuoteOut(Schema):
    member: MemberOut
    tier: str
    lines: list[QuoteLineOut]
    total_full_price: Money
    total_paid: Money
    points_redeemed: int
    points_offset: Money
    to_pay: Money
    points_earned: int
    points_note: str = Field("", description="What raised the points: a promotion, the card level's multiplier "
                                             "(e.g. “会员日双倍积分 ×2”).")
    birthday_items: int
    coupon_code: str | None = None
    coupon_discount: Money | None = None


class ReceiptLineOut(Schema):
    id: int
    sku: str
    name: str
    quantity: int
    full_price: Money
    paid: Money
    on_promotion: bool
    birthday_items: int
    original_line_id: int | None


class PaymentOut(Schema):
    method: str
    name: str
    amount: Money  # negative on a return: refunded


class PaymentMethodOut(Schema):
    code: str
    name: str


class ReceiptOut(Schema):
    number: str
    store: str
    sold_at: dt.datetime
    member_no: str | None
    card_number: str
    tier: str
    lines: list[ReceiptLineOut]
    total_full_price: Money
    total_paid: Money
    points_earned: int
    points_note: str = Field("", description="What raised the points: a promotion, the card level's multiplier "
                                             "(e.g. “会员日双倍积分 ×2”).")
    points_redeemed: int
    points_offset: Money
    points_change: int
    birthday_privilege: bool
    group_purchase: bool
    original: str | None
    card: CardOut | None
    points_balance: int | None
    coupon_code: str | None = None
    coupon_discount: Money | None = None
    payments: list[PaymentOut] = []
    perks_used: list[str] = Field([], description="Codes of the card's perks used with this sale.")
    level_card: CardOut | None = Field(None, description="The member's card of this store's own brand that the "
                                                         "sale issued or raised to a level, when the card presented "
                                                         "is another brand's honoured here (seed 001: the knight "
                                                         "card at the main brand's stores); else null.")


class PointsEntryOut(Schema):
    id: int
    kind: str
    kind_label: str
    points: int
    created_at: dt.datetime
    expires_on: dt.date | None
    receipt: str | None
    reason: str


class PointsOut(Schema):
    member_no: str
    balance: int
    page: int
    page_size: int
    total: int
    entries: list[PointsEntryOut]


class StoredValueEntryOut(Schema):
    id: int
    card: str
    kind: str
    kind_label: str
    principal: str
    bonus: str
    amount: str
    created_at: dt.datetime
    store: str | None
    receipt: str | None
    reason: str


class StoredValueMovementsOut(Schema):
    member_no: str
    page: int
    page_size: int
    total: int
    entries: list[StoredValueEntryOut]


class GiftCardSellIn(In):
    codes: list[str] = Field(..., min_length=1, max_length=50,
                             description="The codes of the gift cards sold (activated) together, at most 50.")
    method: str = Field(..., min_length=1, max_length=20, examples=["wechat_pay"],
                        description="The payment method they are paid with (not stored_value or gift_card).")
    clerk: str = Field("", max_length=150, description="Username of the clerk (optional).")
    buyer_name: str = Field("", max_length=50, description="The buyer's name: required (with the ID number) when "
                                                          "the sale reaches the rules' real_name_from.")
    buyer_id_number: str = Field("", max_length=30, description="The buyer's ID number (stored encrypted; never in "
                                                               "the stored request hash).")


class GiftCardOut(Schema):
    serial: str = Field(..., description="The card's printed number (GC and ten digits).")
    code_last4: str
    status: str
    balance: Money
    valid_until: dt.date | None = None
    scope: str = Field(..., description="\"\" the whole chain, or the brand's code.")


class GiftCardSaleOut(Schema):
    sale_number: str
    total: Money
    method: str
    cards: list[GiftCardOut]


class GiftCardCheckIn(In):
    code: str = Field(..., min_length=1, max_length=40, description="The gift card's code (sent in the body, "
                                                                    "never in a URL).")
