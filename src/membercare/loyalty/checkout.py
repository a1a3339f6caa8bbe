"""Checkout at the counter (web UI and POS API): identify, quote, post; and returns.

Every write for a member first locks that member's LoyaltyAccount row, so checkouts for the same
member from several stores at once run one after another; the birthday privilege is additionally
guarded by a unique constraint (member, scope, birthday month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from membercare.core.sequences import next_number_sql, reserve_numbers
from membercare.members.models import Member
from membercare.members.validation import lunar_birthday_in_year, parse_date
from membercare.org.models import Brand, Staff, Store
from membercare.sales.models import Product, Receipt, ReceiptLine, Series
from membercare.sales.signals import return_posted, sale_posted

from . import rows
from .models import BirthdayUse, Card, CardStatus, LoyaltyAccount, PointsEntry
from .points import (
    balance_change,
    consume_statement,
    earn_entry,
    lock_account,
    lots_agree,
    points_earn,
    points_take,
    redeem_entry,
)
from .programme import Programme, programme_at, programme_day_param, programme_from_text, programme_text_sql
from .tiers import (
    RollingBefore,
    card_brands,
    card_rolling_sql,
    evaluate_after_sale,
    issue_accumulation_card,
    revert_upgrade_of,
    rolling_before,
    rolling_params,
    usable_cards,
    usable_cards_and_rolling,
)

CENT = Decimal("0.01")


class CheckoutError(ValidationError):
    """A refusal with a stable code (for the API) and a message in the user's language."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__({field or "__all__": [message]}, code=code)
        self.error_code = code
        self.text = message
        self.field = field


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------------- identification


@dataclass
class Identified:
    member: Member
    card: Card | None  # None: no card this store accepts yet (an accumulation card is issued on purchase)


def _card_refusal(card: Card, store: Store, programme: Programme, on: dt.date) -> CheckoutError | None:
    if card.status == CardStatus.VOID:
        if card.replaced_by_id:
            return CheckoutError("card_void", _("Card %(number)s is void: it was replaced by card %(new)s.") % {
                "number": card.number, "new": card.replaced_by.number}, "card")
        return CheckoutError("card_void", _("Card %(number)s is void.") % {"number": card.number}, "card")
    if card.status == CardStatus.PENDING:
        return CheckoutError("card_not_active", _("Card %(number)s is not active yet: the member has not signed "
                                                  "for it.") % {"number": card.number}, "card")
    if card.status == CardStatus.EXPIRED or (card.valid_until and card.valid_until < on):
        return CheckoutError("card_expired", _("Card %(number)s expired on %(date)s.") % {
            "number": card.number, "date": formats.date_format(card.valid_until or on)}, "card")
    if store.brand.code not in card_brands(card, programme):
        return CheckoutError("card_wrong_brand", _("Card %(number)s is not valid at %(brand)s stores.") % {
            "number": card.number, "brand": store.brand.name}, "card")
    return None


def identify(*, store: Store, card_number: str = "", phone: str = "", name: str = "", birthday: str | dt.date = "",
             on: dt.date | None = None, programme: Programme | None = None) -> Identified:
    """By card; or by phone; or, when the card is forgotten, by name + phone + birthday together."""
    from membercare.core.phone import normalize_phone
    from membercare.loyalty.models import normalize_card_number

    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    if card_number:
        card = (Card.objects.select_related("member", "brand", "replaced_by")
                .filter(number=normalize_card_number(card_number)).first())
        if card is None:
            raise CheckoutError("card_unknown", _("Card %(number)s is unknown.") % {"number": card_number}, "card")
        refusal = _card_refusal(card, store, programme, on)
        if refusal:
            raise refusal
        return Identified(card.member, card)
    if not phone:
        raise CheckoutError("member_required", _("Give a card number or the member's phone."), "card")
    try:
        number = normalize_phone(phone)
    except ValidationError as exc:
        raise CheckoutError("phone_invalid", exc.messages[0], "phone") from exc
    member = Member.objects.filter(phone=number).first()
    if member is None:
        raise CheckoutError("member_unknown", _("No member has the phone number %(phone)s.") % {"phone": phone},
                            "phone")
    _check_forgotten_card(member, name, birthday)
    cards = usable_cards(member, store, programme, on=on)
    return Identified(member, cards[0] if cards else None)


_MEMBER_COLS, _MEMBER_FIELDS = rows.columns(  # what a checkout needs of the member (the rest loads on access)
    Member, "m", "id", "member_no", "name", "phone", "birthday", "lunar_birthday_month", "lunar_birthday_day",
    "lunar_birthday_leap", "celebrates_lunar")
_CARD_COLS, _CARD_FIELDS = rows.columns(Card, "c")
_BRAND_COLS, _BRAND_FIELDS = rows.columns(Brand, "b")
_POINTS_FIELD = rows.fields_of(LoyaltyAccount, "points")
_ACCOUNT_FIELDS = rows.fields_of(LoyaltyAccount, "member", "points")
_LOCKED_ROW = _MEMBER_FIELDS + _POINTS_FIELD + (None,)  # None: the programme's rules as text, as they come
_CARD_ROW = _CARD_FIELDS + _BRAND_FIELDS + rows.fields_of(Card, "number") + rows.fields_of(Receipt, "total_paid")
_REPLACED_BY_FIELDS = rows.fields_of(Card, "id", "number")
_PRODUCT_COLS, _PRODUCT_FIELDS = rows.columns(Product, "p")
_SERIES_COLS, _SERIES_FIELDS = rows.columns(Series, "s")
_PRODUCT_ROW = _PRODUCT_FIELDS + _SERIES_FIELDS
_LOCKED_PRODUCTS_ROW = _LOCKED_ROW + _PRODUCT_ROW


@dataclass
class Locked:
    """What a write for a member starts from, read under the member's lock (identify_locked)."""

    ident: Identified
    account: LoyaltyAccount
    programme: Programme
    before: RollingBefore  # paid at the store's brand in the window up to the sale, before it
    products: dict[str, Product] | None = None  # the basket's products when read with the lock (else None)


def _locked_member(where: str, params: list, on: dt.date, join: str = "",
                   skus: list[str] | tuple[str, ...] = ()) -> tuple[Member, LoyaltyAccount, Programme, dict] | None:
    """Lock the account of the member found by `where`, read the member, the programme in force on `on` and
    the products of `skus` (with their series), in one statement: one row per product found (the member's
    columns repeated), or one without a product. None when there is no such member or the member has no
    account yet."""
    cols, products_join = "", ""
    if skus:
        cols = f", {_PRODUCT_COLS}, {_SERIES_COLS}"
        products_join = (f" LEFT JOIN ({Product._meta.db_table} p JOIN {Series._meta.db_table} s "
                         f"ON s.id = p.series_id) ON p.sku IN ({', '.join(['%s'] * len(skus))})")
    found = rows.fetch_all(
        f"SELECT {_MEMBER_COLS}, a.points, ({programme_text_sql()}){cols} FROM {Member._meta.db_table} m {join} "
        f"JOIN {LoyaltyAccount._meta.db_table} a ON a.member_id = m.id{products_join} WHERE {where}"
        + rows.for_update("a"),
        [programme_day_param(on), *skus, *params], _LOCKED_PRODUCTS_ROW if skus else _LOCKED_ROW)
    if not found:
        return None
    row, n = found[0], len(_LOCKED_ROW)
    member = rows.instance(Member, _MEMBER_FIELDS, row[:n - 2])
    account = rows.instance(LoyaltyAccount, _ACCOUNT_FIELDS, [member.pk, row[n - 2]])
    return member, account, programme_from_text(row[n - 1]), _products_of([r[n:] for r in found]) if skus else None


def _first_write(source: str, number: str, where: str, on: dt.date,
                 join: str) -> tuple[Member, LoyaltyAccount, Programme, None] | None:
    """The member's first write: create the account (`source` selects the member's id, 0 and the time), then
    as _locked_member. On PostgreSQL one statement: the row it inserts is the member's lock (anyone else
    wanting it waits for this transaction), and when it inserts nothing (no such member, or another
    request created the account meanwhile) the caller's _locked_member takes the lock as usual."""
    now = rows.param(LoyaltyAccount, "updated_at", timezone.now())
    insert = (f"INSERT INTO {LoyaltyAccount._meta.db_table} (member_id, points, updated_at) {source} "
              "ON CONFLICT DO NOTHING")
    if rows.db().vendor != "postgresql":
        rows.execute(insert, [now, number])
        return _locked_member(where, [number], on, join)
    row = rows.fetch_one(
        f"WITH a AS ({insert} RETURNING member_id, points) SELECT {_MEMBER_COLS}, a.points, "
        f"({programme_text_sql()}) FROM a JOIN {Member._meta.db_table} m ON m.id = a.member_id",
        [now, number, programme_day_param(on)], _LOCKED_ROW)
    if row is None:
        return _locked_member(where, [number], on, join)
    member = rows.instance(Member, _MEMBER_FIELDS, row[:-2])
    account = rows.instance(LoyaltyAccount, _ACCOUNT_FIELDS, [member.pk, row[-2]])
    return member, account, programme_from_text(row[-1]), None


def _card_by_number(number: str, rolling: list) -> tuple[Card | None, object]:
    """The card with its brand and, when it was replaced, the replacing card's number; and what its member
    paid in the window of `rolling` (tiers.rolling_params). One query."""
    row = rows.fetch_one(
        f"SELECT {_CARD_COLS}, {_BRAND_COLS}, r.number, {card_rolling_sql()} FROM {Card._meta.db_table} c "
        f"JOIN {Brand._meta.db_table} b ON b.id = c.brand_id LEFT JOIN {Card._meta.db_table} r "
        "ON r.id = c.replaced_by_id WHERE c.number = %s", [*rolling, number], _CARD_ROW)
    if row is None:
        return None, None
    n, nb = len(_CARD_FIELDS), len(_CARD_FIELDS) + len(_BRAND_FIELDS)
    card = rows.instance(Card, _CARD_FIELDS, row[:n])
    card.brand = rows.instance(Brand, _BRAND_FIELDS, row[n:nb])
    if card.replaced_by_id:
        card.replaced_by = rows.instance(Card, _REPLACED_BY_FIELDS, [card.replaced_by_id, row[-2]])
    return card, row[-1]


def identify_locked(*, store: Store, card_number: str = "", phone: str = "", name: str = "",
                    birthday: str | dt.date = "", at: dt.datetime, skus: list[str] | tuple[str, ...] = ()
                    ) -> Locked:
    """identify() for a write at `at`: the member's LoyaltyAccount is locked first (created on the member's
    first write) and the cards are read after the lock, so a card reported lost or upgraded a moment
    earlier is seen. The same refusals as identify(). Also reads the programme in force and what the
    member paid at the store's brand in the programme's window up to `at` (for the tier evaluation), and,
    with the lock, the products of `skus` (Locked.products; None on a member's first write)."""
    from membercare.core.phone import normalize_phone
    from membercare.loyalty.models import normalize_card_number

    on = timezone.localtime(at).date()
    cards_table, members_table = Card._meta.db_table, Member._meta.db_table
    if card_number:
        number = normalize_card_number(card_number)
        join, where = f"JOIN {cards_table} c ON c.member_id = m.id", "c.number = %s"
        first_write = f"SELECT c.member_id, 0, %s FROM {cards_table} c WHERE c.number = %s"
    else:
        if not phone:
            raise CheckoutError("member_required", _("Give a card number or the member's phone."), "card")
        try:
            number = normalize_phone(phone)
        except ValidationError as exc:
            raise CheckoutError("phone_invalid", exc.messages[0], "phone") from exc
        join, where = "", "m.phone = %s"
        first_write = f"SELECT m.id, 0, %s FROM {members_table} m WHERE m.phone = %s"
    locked = _locked_member(where, [number], on, join, skus)
    if locked is None:  # the member's first write (no account yet), or an unknown card or phone
        locked = _first_write(first_write, number, where, on, join)
    if locked is None:
        programme = programme_at(on)
        ident = identify(store=store, card_number=card_number, phone=phone, name=name, birthday=birthday, on=on,
                         programme=programme)  # refuses the unknown card or phone
        locked = ident.member, lock_account(ident.member), programme, None  # (a member registered this moment)
    member, account, programme, products = locked
    if card_number:
        card, paid = _card_by_number(number, rolling_params(store, programme, at))
        refusal = _card_refusal(card, store, programme, on)
        if refusal:
            raise refusal
        card.member = member
        return Locked(Identified(member, card), account, programme, rolling_before(paid, store, programme, at),
                      products)
    _check_forgotten_card(member, name, birthday)
    cards, before = usable_cards_and_rolling(member.pk, store, programme, on=on, until=at)
    return Locked(Identified(member, cards[0] if cards else None), account, programme, before, products)


def _check_forgotten_card(member: Member, name: str, birthday: str | dt.date) -> None:
    if name or birthday:  # the forgotten-card check: all three must match
        try:
            given = parse_date(birthday) if isinstance(birthday, str) else birthday
        except ValidationError:
            given = None
        if not name or not given or name.strip() != member.name or given != member.birthday:
            raise CheckoutError("member_mismatch", _("Name, phone and birthday do not match one member."), "name")


# ---------------------------------------------------------------------------------------------- quote


def _products(skus: list[str]) -> dict[str, Product]:
    """The basket's products by SKU, each with its series (one query)."""
    return _products_of(rows.fetch_all(
        f"SELECT {_PRODUCT_COLS}, {_SERIES_COLS} FROM {Product._meta.db_table} p "
        f"JOIN {Series._meta.db_table} s ON s.id = p.series_id WHERE p.sku IN ({', '.join(['%s'] * len(skus))})",
        skus, _PRODUCT_ROW))


def _products_of(found: list) -> dict[str, Product]:
    """Products by SKU from rows of product and series columns (a row of NULLs: none)."""
    products = {}
    n = len(_PRODUCT_FIELDS)
    for row in found:
        if row[0] is None:
            continue
        product = rows.instance(Product, _PRODUCT_FIELDS, row[:n])
        product.series = rows.instance(Series, _SERIES_FIELDS, row[n:])
        products[product.sku] = product
    return products


@dataclass
class LineIn:
    sku: str
    quantity: int
    full_price: Decimal | None = None  # the POS's catalogue price, checked against ours when given
    promo_price: Decimal | None = None  # unit price of an item on promotion (keeps its price)


@dataclass
class QuoteLine:
    product: Product
    quantity: int
    full_price: Decimal  # per unit
    on_promotion: bool
    unit_prices: list[Decimal]  # per unit, after the tier discount or the birthday privilege
    birthday_items: int

    @property
    def paid(self) -> Decimal:
        return sum(self.unit_prices, Decimal("0"))

    @property
    def birthday_paid(self) -> Decimal:
        return sum(self.unit_prices[: self.birthday_items], Decimal("0"))


@dataclass
class Quote:
    member: Member
    card: Card | None
    tier: str
    lines: list[QuoteLine]
    total_full_price: Decimal
    total_paid: Decimal  # before points
    points_redeemed: int
    points_offset: Decimal
    to_pay: Decimal
    points_earned: int
    birthday_items: int
    birthday_scope: str = ""
    birthday_period: str = ""
    birthday_exception: bool = False  # given through an approved exception outside the birthday month
    notes: list[str] = field(default_factory=list)
    coupon: object = None  # campaigns.Coupon applied to this basket
    coupon_discount: Decimal = Decimal("0")


def birthday_period(member: Member, on: dt.date) -> str | None:
    """'YYYY-MM' when `on` is in the member's birthday month (the lunar birthday's month when the member
    celebrates it), else None."""
    if member.celebrates_lunar and member.lunar_birthday_month:
        for year in (on.year, on.year - 1):
            solar = lunar_birthday_in_year(member, year)
            if solar and (solar.year, solar.month) == (on.year, on.month):
                return f"{solar.year}-{solar.month:02d}"
        return None
    return f"{on.year}-{on.month:02d}" if member.birthday.month == on.month else None


def _check_birthday(ident: Identified, store: Store, programme: Programme,
                    on: dt.date) -> tuple[str, str, int, Decimal, bool]:
    card = ident.card
    tier = programme.tier(card.kind) if card else None
    if tier is None or tier.birthday is None:
        raise CheckoutError("birthday_not_eligible", _("The birthday privilege needs an active elite, diamond or "
                                                       "knight card."), "birthday")
    if store.brand.code not in tier.birthday.brands:
        raise CheckoutError("birthday_wrong_store", _("This card's birthday privilege is not valid at %(brand)s "
                                                      "stores.") % {"brand": store.brand.name}, "birthday")
    period, exception = birthday_period(ident.member, on), False
    if period is None:  # outside the month only with an exception the specialist approved
        from .birthday_exceptions import approved_exception_on

        approved = approved_exception_on(ident.member, on)
        if approved is None:
            raise CheckoutError("birthday_not_month", _("It is not the member's birthday month."), "birthday")
        period, exception = approved.period, True
    scope = ",".join(sorted(tier.birthday.brands))
    used = (BirthdayUse.objects.select_related("store")
            .filter(member=ident.member, scope=scope, period=period).first())
    if used:
        raise CheckoutError("birthday_used", _("The birthday privilege of this month was already used on %(date)s "
                                               "at %(store)s.") % {
            "date": formats.date_format(timezone.localtime(used.used_at), "SHORT_DATETIME_FORMAT"),
            "store": used.store.name}, "birthday")
    return scope, period, tier.birthday.items, tier.birthday.discount, exception


def basket_quote(*, store: Store, ident: Identified, lines: list[LineIn], birthday: bool = False,
                 redeem_points: int = 0, on: dt.date | None = None, programme: Programme | None = None,
                 balance: int | None = None, coupon_code: str = "", products: dict[str, Product] | None = None
                 ) -> Quote:
    """Price the basket. `products`: the lines' products when the caller read them already (identify_locked)."""
    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    if not lines:
        raise CheckoutError("basket_empty", _("The basket is empty."), "lines")
    if products is None:
        products = _products([line.sku for line in lines])
    tier = programme.tier(ident.card.kind) if ident.card else None
    discount = tier.discount if tier else Decimal("0")
    from membercare.events.exclusive import exclusive_sale_discount  # 折上折: no query when no sale runs

    extra = exclusive_sale_discount(ident.member, store, on)
    quote_lines: list[QuoteLine] = []
    for i, line in enumerate(lines, start=1):
        product = products.get(line.sku)
        if product is None:
            raise CheckoutError("sku_unknown", _("Line %(n)d: unknown SKU “%(sku)s”.") % {"n": i, "sku": line.sku},
                                "lines")
        if not isinstance(line.quantity, int) or line.quantity <= 0:
            raise CheckoutError("quantity_invalid", _("Line %(n)d: the quantity must be a whole number above 0.")
                                % {"n": i}, "lines")
        if line.full_price is not None and Decimal(line.full_price) != product.full_price:
            raise CheckoutError("price_mismatch", _("Line %(n)d: the price ¥%(given)s does not match the catalogue "
                                                    "price ¥%(price)s of %(sku)s.") % {
                "n": i, "given": line.full_price, "price": product.full_price, "sku": product.sku}, "lines")
        if line.promo_price is not None:
            promo = Decimal(line.promo_price)
            if promo < 0 or promo > product.full_price:
                raise CheckoutError("price_invalid", _("Line %(n)d: a promotion price must be between 0 and the full "
                                                       "price.") % {"n": i}, "lines")
            units = [_money(promo)] * line.quantity
        else:
            units = [_money(_money(product.full_price * (1 - discount)) * (1 - extra))] * line.quantity
        quote_lines.append(QuoteLine(product, line.quantity, product.full_price, line.promo_price is not None,
                                     units, 0))

    scope = period = ""
    birthday_items = 0
    exception = False
    if birthday:
        scope, period, max_items, bday_discount, exception = _check_birthday(ident, store, programme, on)
        # the most expensive full-price units get the privilege
        candidates = sorted(((ql.full_price, idx) for idx, ql in enumerate(quote_lines) if not ql.on_promotion
                             for _u in range(ql.quantity)), reverse=True)[:max_items]
        if not candidates:
            raise CheckoutError("birthday_no_items", _("The birthday privilege applies to full-price items only."),
                                "birthday")
        for _price, idx in candidates:
            ql = quote_lines[idx]
            ql.unit_prices[ql.birthday_items] = _money(ql.full_price * (1 - bday_discount))
            ql.birthday_items += 1
        birthday_items = len(candidates)

    coupon = coupon_discount = None
    if coupon_code:  # a campaign coupon re-prices its units (no query without a code)
        from membercare.campaigns.redeem import coupon_apply

        coupon, coupon_discount = coupon_apply(coupon_code, ident=ident, store=store, lines=quote_lines, on=on)
    total_full = sum((ql.full_price * ql.quantity for ql in quote_lines), Decimal("0"))
    total_paid = sum((ql.paid for ql in quote_lines), Decimal("0"))
    offset = Decimal("0")
    if redeem_points:
        if redeem_points < 0:
            raise CheckoutError("points_invalid", _("Points to redeem must not be negative."), "redeem_points")
        if balance is None:
            balance = getattr(getattr(ident.member, "loyalty", None), "points", 0)
        if redeem_points > balance:
            raise CheckoutError("points_insufficient", _("Only %(n)d points are available.") % {"n": balance},
                                "redeem_points")
        offset = _money(redeem_points * programme.point_value)
        cap = _money(total_paid * programme.max_redeem_share)
        if offset > cap:
            most = int((cap / programme.point_value).to_integral_value(rounding=ROUND_DOWN))
            raise CheckoutError("points_over_limit", _("At most %(n)d points can be used on this receipt.") % {
                "n": most}, "redeem_points")
    earnable = sum((ql.paid - ql.birthday_paid for ql in quote_lines), Decimal("0")) - offset
    earned = int((max(earnable, Decimal("0")) * programme.points_per_yuan).to_integral_value(rounding=ROUND_DOWN))
    return Quote(
        member=ident.member, card=ident.card, tier=ident.card.kind if ident.card else "", lines=quote_lines,
        total_full_price=_money(total_full), total_paid=_money(total_paid), points_redeemed=redeem_points,
        points_offset=offset, to_pay=_money(total_paid - offset), points_earned=earned,
        coupon=coupon, coupon_discount=coupon_discount or Decimal("0"),
        birthday_items=birthday_items, birthday_scope=scope, birthday_period=period, birthday_exception=exception,
    )


# ----------------------------------------------------------------------------------------------- post


def _receipt_number(store: Store) -> str:
    return f"{store.code}-{reserve_numbers('receipt')[0]:010d}"  # as next_number_sql("receipt", ...) writes it


def checkout_post(*, store: Store, clerk: Staff | None, lines: list[LineIn], card_number: str = "",
                  phone: str = "", name: str = "", birthday_date: str | dt.date = "", birthday: bool = False,
                  redeem_points: int = 0, sold_at: dt.datetime | None = None, group_purchase: bool = False,
                  member_signed: bool = True, source: str = Receipt.Source.LIVE, number: str = "",
                  savepoint: bool = True, coupon_code: str = "") -> Receipt:
    """Record a sale for a member: price, birthday privilege, points, receipt, tier evaluation. In one
    transaction; inside the caller's transaction it is a savepoint unless `savepoint=False`, when a refusal
    leaves the caller's whole transaction to be rolled back (the POS API does, and records the refusal after).
    The receipt's lines are in `receipt.posted_lines`."""
    with transaction.atomic(savepoint=savepoint):
        return _checkout_post(store=store, clerk=clerk, lines=lines, card_number=card_number, phone=phone,
                              name=name, birthday_date=birthday_date, birthday=birthday, redeem_points=redeem_points,
                              sold_at=sold_at, group_purchase=group_purchase, member_signed=member_signed,
                              source=source, number=number, coupon_code=coupon_code)


def _checkout_post(*, store: Store, clerk: Staff | None, lines: list[LineIn], card_number: str, phone: str,
                   name: str, birthday_date: str | dt.date, birthday: bool, redeem_points: int,
                   sold_at: dt.datetime | None, group_purchase: bool, member_signed: bool, source: str,
                   number: str, coupon_code: str = "") -> Receipt:
    sold_at = sold_at or timezone.now()
    on = timezone.localtime(sold_at).date()
    # the member's account is locked first: it serialises every write for this member
    locked = identify_locked(store=store, card_number=card_number, phone=phone, name=name, birthday=birthday_date,
                             at=sold_at, skus=[line.sku for line in lines])
    ident, account, programme = locked.ident, locked.account, locked.programme
    quote = basket_quote(store=store, ident=ident, lines=lines, birthday=birthday, redeem_points=redeem_points,
                         on=on, programme=programme, balance=account.points, coupon_code=coupon_code,
                         products=locked.products)
    card = ident.card
    if card is None:
        card = issue_accumulation_card(ident.member, store, programme, at=sold_at)
    # the receipt number comes from its sequence within the insert where the database can do it
    computed = None if number else next_number_sql("receipt", prefix=f"{store.code}-", width=10)
    receipt = Receipt(
        number=number or ("" if computed else _receipt_number(store)), store=store, clerk=clerk, member=ident.member,
        card_number=card.number, sold_at=sold_at, total_full_price=quote.total_full_price,
        total_paid=quote.to_pay, is_group_purchase=group_purchase, member_signed=member_signed, source=source,
        tier=card.kind, birthday_privilege=quote.birthday_items > 0, points_earned=quote.points_earned,
        points_redeemed=quote.points_redeemed, points_offset=quote.points_offset, posted_at=timezone.now(),
    )
    # the points offset is spread over the lines in proportion, so returns refund it exactly
    remaining_offset = quote.points_offset
    receipt.posted_lines = []
    for i, ql in enumerate(quote.lines):
        share = (quote.points_offset * ql.paid / quote.total_paid).quantize(CENT) if quote.total_paid else 0
        if i == len(quote.lines) - 1:
            share = remaining_offset
        remaining_offset -= share
        receipt.posted_lines.append(ReceiptLine(
            receipt=receipt, product=ql.product, quantity=ql.quantity, full_price=ql.full_price * ql.quantity,
            paid_amount=ql.paid - share, on_promotion=ql.on_promotion, birthday_items=ql.birthday_items,
        ))
    # receipt, lines, the points redeemed and earned, and the balance in one go (one statement on PostgreSQL);
    # a redemption takes from the lots there were before this sale (this sale's lot is not among them)
    entries = []
    if quote.points_redeemed:
        entries.append(redeem_entry(account, quote.points_redeemed, receipt=receipt, operator=clerk, at=sold_at,
                                    reason=_("Cash offset ¥%(amount)s") % {"amount": quote.points_offset}))
    earn = earn_entry(account, quote.points_earned, expires_on=programme.points_expire_on(on), receipt=receipt,
                      operator=clerk, at=sold_at)
    if earn:
        entries.append(earn)
    change = quote.points_earned - quote.points_redeemed
    consumed = rows.insert_linked(
        receipt, [(receipt.posted_lines, "receipt_id"), (entries, "receipt_id")],
        also=[balance_change(account, change)] if change else [],
        computed=("number", *computed) if computed else None,
        before=[consume_statement(ident.member.pk, quote.points_redeemed)] if quote.points_redeemed else [])
    if quote.points_redeemed:
        lots_agree(consumed[0], ident.member.pk, quote.points_redeemed)
    account.points += change
    if quote.coupon is not None:  # claimed once, in this transaction (campaigns.redeem)
        from membercare.campaigns.redeem import coupon_redeem

        coupon_redeem(quote, receipt=receipt, store=store, at=sold_at)
    if quote.birthday_items:
        try:
            with transaction.atomic():
                BirthdayUse.objects.create(member=ident.member, scope=quote.birthday_scope,
                                           period=quote.birthday_period, card_number=card.number, store=store,
                                           receipt=receipt, items=quote.birthday_items, used_at=sold_at,
                                           exception=quote.birthday_exception)
        except IntegrityError as exc:  # another store got there first (unique constraint)
            raise CheckoutError("birthday_used", _("The birthday privilege of this month was already used."),
                                "birthday") from exc
    series_paid: dict[str, Decimal] = {}
    for line in receipt.posted_lines:
        code = line.product.series.code
        series_paid[code] = series_paid.get(code, Decimal("0")) + line.paid_amount
    evaluate_after_sale(ident.member, receipt, card, programme, series_paid=series_paid, before=locked.before)
    receipt.points_balance = account.points
    receipt.card = card  # as it is now (an upgrade by this sale included)
    if sale_posted.has_listeners(Receipt):  # bought_before: the member paid at this brand in the window before
        sale_posted.send(Receipt, receipt=receipt, store=store, bought_before=locked.before.paid > 0)
    return receipt


# --------------------------------------------------------------------------------------------- returns


@dataclass
class ReturnLineIn:
    line_id: int
    quantity: int


def _returned_quantity(line: ReceiptLine) -> int:
    return -sum(r.quantity for r in ReceiptLine.objects.filter(original_line=line))


@transaction.atomic
def return_post(*, original: Receipt, lines: list[ReturnLineIn] | None, clerk: Staff | None, store: Store,
                at: dt.datetime | None = None, number: str = "") -> Receipt:
    """A full (lines=None) or partial return: refunds in proportion, reverses points and spend, refunds a
    redeemed-points offset as points, re-evaluates the tier."""
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
    plan = []
    for w in wanted:
        line = original_lines.get(w.line_id)
        if line is None:
            raise CheckoutError("return_line_unknown", _("Line %(id)s is not on receipt %(number)s.") % {
                "id": w.line_id, "number": original.number}, "lines")
        if not isinstance(w.quantity, int) or w.quantity <= 0:
            raise CheckoutError("quantity_invalid", _("Return quantities must be whole numbers above 0."), "lines")
        left = line.quantity - _returned_quantity(line)
        if w.quantity > left:
            raise CheckoutError("return_too_many", _("Only %(n)d of %(sku)s can still be returned.") % {
                "n": left, "sku": line.product.sku}, "lines")
        plan.append((line, w.quantity))

    ret = Receipt.objects.create(
        number=number or _receipt_number(store), store=store, clerk=clerk, member_id=original.member_id,
        card_number=original.card_number, sold_at=at, total_full_price=Decimal("0"), total_paid=Decimal("0"),
        is_group_purchase=original.is_group_purchase, source=Receipt.Source.LIVE, original=original,
        tier=original.tier, posted_at=timezone.now(),
    )
    total_full = total_paid = Decimal("0")
    for line, qty in plan:
        # birthday units are the first `birthday_items` units of a line; returns take full-discount units first
        full = _money(line.full_price * qty / line.quantity)
        paid = _money(line.paid_amount * qty / line.quantity)
        if qty + _returned_quantity(line) == line.quantity:  # the last units: whatever is left, exactly
            prior = ReceiptLine.objects.filter(original_line=line)
            full = line.full_price + sum((p.full_price for p in prior), Decimal("0"))
            paid = line.paid_amount + sum((p.paid_amount for p in prior), Decimal("0"))
        ReceiptLine.objects.create(receipt=ret, product=line.product, quantity=-qty, full_price=-full,
                                   paid_amount=-paid, on_promotion=line.on_promotion, original_line=line)
        total_full += full
        total_paid += paid
    ret.total_full_price = -total_full
    ret.total_paid = -total_paid
    ret.save(update_fields=["total_full_price", "total_paid"])

    if account is not None:
        _reverse_points(account, original, ret, clerk, at)
    revert_upgrade_of(original)
    if return_posted.has_listeners(Receipt):
        return_posted.send(Receipt, receipt=ret, store=store)
    return ret


def _returned_share(original: Receipt) -> tuple[Decimal, Decimal]:
    """(paid returned so far, paid originally): the share of the receipt that has come back."""
    returned = -sum((r.total_paid for r in original.returns.all()), Decimal("0"))
    return returned, original.total_paid


def _reverse_points(account, original: Receipt, ret: Receipt, clerk, at) -> None:
    returned, paid = _returned_share(original)
    returned = min(returned, paid)

    def part(points: int) -> int:  # multiply first: 3000 x 1000 / 3000 is exactly 1000
        return int((points * returned / paid).to_integral_value(rounding=ROUND_DOWN)) if paid else points

    # cumulative targets, so a series of partial returns reverses exactly what a full return would
    target_reversed, target_refund = part(original.points_earned), part(original.points_redeemed)
    share = returned / paid if paid else Decimal("1")
    if share == 1:
        target_reversed, target_refund = original.points_earned, original.points_redeemed
    done_reversed = -sum(e.points for e in PointsEntry.objects.filter(
        receipt__original=original, kind=PointsEntry.Kind.REVERSE).exclude(receipt=ret))
    done_refund = sum(e.points for e in PointsEntry.objects.filter(
        receipt__original=original, kind=PointsEntry.Kind.REFUND).exclude(receipt=ret))
    reverse = target_reversed - done_reversed
    refund = target_refund - done_refund
    programme = programme_at(timezone.localtime(at).date())
    if refund > 0:
        points_earn(account, refund, expires_on=programme.points_expire_on(timezone.localtime(at).date()),
                    receipt=ret, reason=_("Points offset refunded"), operator=clerk, kind=PointsEntry.Kind.REFUND,
                    at=at)
    if reverse > 0:
        taken = points_take(account, reverse, kind=PointsEntry.Kind.REVERSE, receipt=ret,
                            reason=_("Return of receipt %(number)s") % {"number": original.number},
                            operator=clerk, at=at, allow_short=True)
        if taken < reverse:
            entry = PointsEntry.objects.filter(receipt=ret, kind=PointsEntry.Kind.REVERSE).last()
            if entry is None:
                entry = PointsEntry.objects.create(member_id=account.member_id, kind=PointsEntry.Kind.REVERSE,
                                                   points=0, receipt=ret, operator=clerk, created_at=at, reason="")
            entry.reason += " " + _("(%(n)d points were already spent and could not be reversed)") % {
                "n": reverse - taken}
            entry.save(update_fields=["reason"])
