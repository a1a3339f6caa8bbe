"""Who buys: the member and the card at the till (by card, phone, or name + phone + birthday), read under the
member's lock for a write, with the programme in force and the basket's products in the same statement.

The first step of the sale pipeline (membercare.checkout.pipeline). Every write for a member first locks that
member's LoyaltyAccount row, so checkouts for the same member from several stores at once run one after
another. The statements are hand-written (loyalty.rows): they are the checkout's hot path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from membercare.core.phone import normalize_phone
from membercare.members.cardcode import card_code_member_id, card_code_use, card_code_used, looks_like_card_code
from membercare.members.models import Member
from membercare.members.validation import parse_date
from membercare.org.models import Brand, Store
from membercare.sales.models import Product, Receipt, Series
from membercare.sales.pipeline import CheckoutError

from . import rows
from .models import Card, CardStatus, LoyaltyAccount, normalize_card_number
from .points import lock_account
from .programme import Programme, programme_at, programme_day_param, programme_from_text, programme_text_sql
from .tiers import (
    RollingBefore,
    card_brands,
    card_rolling_sql,
    rolling_before,
    rolling_params,
    usable_cards,
    usable_cards_and_rolling,
)

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


def _member_of_code(code: str) -> int:
    """The member id of an electronic card code (members.cardcode) that may pay a sale, else the refusal."""
    member_id = card_code_member_id(code)
    if member_id is None:
        raise CheckoutError("card_code_invalid", _("This card code is not valid or has expired: ask the member "
                                                     "to refresh it on their phone."), "card")
    if card_code_used(code):
        raise CheckoutError("card_code_used_up", _("This card code has already been used: ask the member to "
                                                  "refresh it on their phone."), "card")
    return member_id


def identify(*, store: Store, card_number: str = "", phone: str = "", name: str = "", birthday: str | dt.date = "",
             on: dt.date | None = None, programme: Programme | None = None) -> Identified:
    """By card (or the member's electronic card code); or by phone; or, when the card is forgotten, by name +
    phone + birthday together."""
    on = on or timezone.localdate()
    programme = programme or programme_at(on)
    if card_number and looks_like_card_code(card_number):
        member = Member.objects.filter(pk=_member_of_code(card_number)).first()
        if member is None:
            raise CheckoutError("card_code_invalid", _("This card code is not valid or has expired: ask the "
                                                         "member to refresh it on their phone."), "card")
        cards = usable_cards(member, store, programme, on=on)
        return Identified(member, cards[0] if cards else None)
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


_LOCKED_ROWS: dict[tuple[int, bool], tuple] = {}


def _locked_row(reads: int, products: bool) -> tuple:
    """The locked read's row fields, one tuple per shape kept for good: rows caches its converters by the
    tuple's identity, so a tuple built anew on every sale would be converted the slow way every time."""
    found = _LOCKED_ROWS.get((reads, products))
    if found is None:
        found = _LOCKED_ROWS[(reads, products)] = _LOCKED_ROW + (None,) * reads + (_PRODUCT_ROW if products else ())
    return found


@dataclass
class Locked:
    """What a write for a member starts from, read under the member's lock (identify_locked)."""

    ident: Identified
    account: LoyaltyAccount
    programme: Programme
    before: RollingBefore  # paid at the store's brand in the window up to the sale, before it
    products: dict[str, Product] | None = None  # the basket's products when read with the lock (else None)
    reads: dict[str, Any] = field(default_factory=dict)  # what the providers asked read with the lock (by name)


def _locked_member(where: str, params: list, on: dt.date, join: str = "", skus: list[str] | tuple[str, ...] = (),
                   reads: dict[str, tuple[str, list]] | None = None
                   ) -> tuple[Member, LoyaltyAccount, Programme, dict | None, dict[str, Any]] | None:
    """Lock the account of the member found by `where`, read the member, the programme in force on `on`, the
    products of `skus` (with their series) and the expressions of `reads` (name → SQL over `m` and its
    parameters; sales.pipeline.Adjustment.lock_read), in one statement: one row per product found (the member's
    columns repeated), or one without a product. None when there is no such member or the member has no
    account yet."""
    cols, products_join = "", ""
    reads = reads or {}
    read_cols = "".join(f", ({sql})" for sql, _params in reads.values())
    read_params = [p for _sql, params_ in reads.values() for p in params_]
    if skus:
        cols = f", {_PRODUCT_COLS}, {_SERIES_COLS}"
        products_join = (f" LEFT JOIN ({Product._meta.db_table} p JOIN {Series._meta.db_table} s "
                         f"ON s.id = p.series_id) ON p.sku IN ({', '.join(['%s'] * len(skus))})")
    found = rows.fetch_all(
        f"SELECT {_MEMBER_COLS}, a.points, ({programme_text_sql()}){read_cols}{cols} FROM {Member._meta.db_table} m "
        f"{join} JOIN {LoyaltyAccount._meta.db_table} a ON a.member_id = m.id{products_join} WHERE {where}"
        + rows.for_update("a"),
        [programme_day_param(on), *read_params, *skus, *params],
        _locked_row(len(reads), bool(skus)))
    if not found:
        return None
    row, n = found[0], len(_LOCKED_ROW)
    member = rows.instance(Member, _MEMBER_FIELDS, row[:n - 2])
    account = rows.instance(LoyaltyAccount, _ACCOUNT_FIELDS, [member.pk, row[n - 2]])
    programme = programme_from_text(row[n - 1])
    got, n = dict(zip(reads, row[n:n + len(reads)], strict=True)), n + len(reads)
    return member, account, programme, _products_of([r[n:] for r in found]) if skus else None, got


def _first_write(source: str, number: str, where: str, on: dt.date, join: str,
                 reads: dict[str, tuple[str, list]]) -> tuple[Member, LoyaltyAccount, Programme, None, dict] | None:
    """The member's first write: create the account (`source` selects the member's id, 0 and the time), then
    as _locked_member. On PostgreSQL one statement: the row it inserts is the member's lock (anyone else
    wanting it waits for this transaction), and when it inserts nothing (no such member, or another
    request created the account meanwhile) the caller's _locked_member takes the lock as usual. `reads` are
    read only where _locked_member runs (the providers read theirs themselves otherwise)."""
    now = rows.param(LoyaltyAccount, "updated_at", timezone.now())
    insert = (f"INSERT INTO {LoyaltyAccount._meta.db_table} (member_id, points, updated_at) {source} "
              "ON CONFLICT DO NOTHING")
    if rows.db().vendor != "postgresql":
        rows.execute(insert, [now, number])
        return _locked_member(where, [number], on, join, reads=reads)
    row = rows.fetch_one(
        f"WITH a AS ({insert} RETURNING member_id, points) SELECT {_MEMBER_COLS}, a.points, "
        f"({programme_text_sql()}) FROM a JOIN {Member._meta.db_table} m ON m.id = a.member_id",
        [now, number, programme_day_param(on)], _LOCKED_ROW)
    if row is None:
        return _locked_member(where, [number], on, join, reads=reads)
    member = rows.instance(Member, _MEMBER_FIELDS, row[:-2])
    account = rows.instance(LoyaltyAccount, _ACCOUNT_FIELDS, [member.pk, row[-2]])
    return member, account, programme_from_text(row[-1]), None, {}


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
                    birthday: str | dt.date = "", at: dt.datetime, skus: list[str] | tuple[str, ...] = (),
                    reads: dict[str, tuple[str, list]] | None = None) -> Locked:
    """identify() for a write at `at`: the member's LoyaltyAccount is locked first (created on the member's
    first write) and the cards are read after the lock, so a card reported lost or upgraded a moment
    earlier is seen. The same refusals as identify(). Also reads the programme in force and what the
    member paid at the store's brand in the programme's window up to `at` (for the tier evaluation), and,
    with the lock, the products of `skus` (Locked.products; None on a member's first write) and the providers'
    `reads` (Locked.reads; absent on a member's first write)."""
    on = timezone.localtime(at).date()
    cards_table, members_table = Card._meta.db_table, Member._meta.db_table
    code = card_number if card_number and looks_like_card_code(card_number) else ""
    if code:  # the member's electronic card code: the member by id, their cards as with a phone
        number = _member_of_code(code)
        card_number = ""
        join, where = "", "m.id = %s"
        first_write = f"SELECT m.id, 0, %s FROM {members_table} m WHERE m.id = %s"
    elif card_number:
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
    locked = _locked_member(where, [number], on, join, skus, reads)
    if locked is None:  # the member's first write (no account yet), or an unknown card or phone
        locked = _first_write(first_write, number, where, on, join, reads or {})
    if locked is None:
        programme = programme_at(on)
        ident = identify(store=store, card_number=card_number or code, phone=phone, name=name, birthday=birthday,
                         on=on, programme=programme)  # refuses the unknown card, code or phone
        locked = ident.member, lock_account(ident.member), programme, None, {}  # (a member registered just now)
    member, account, programme, products, got = locked
    if code and not card_code_use(code, member.pk):  # one code pays one sale (a unique row in this transaction)
        raise CheckoutError("card_code_used_up", _("This card code has already been used: ask the member to "
                                                   "refresh it on their phone."), "card")
    if card_number:
        card, paid = _card_by_number(number, rolling_params(store, programme, at))
        refusal = _card_refusal(card, store, programme, on)
        if refusal:
            raise refusal
        card.member = member
        return Locked(Identified(member, card), account, programme, rolling_before(paid, store, programme, at),
                      products, got)
    _check_forgotten_card(member, name, birthday)
    cards, before = usable_cards_and_rolling(member.pk, store, programme, on=on, until=at)
    # the member's row was read with the lock's snapshot; an erasure (membercare.privacy) committed while this
    # sale waited for the account voided every card, which the query above (a new snapshot) sees: only then is
    # the member looked at again, and refused as the phone now is (the card path sees the voided card above)
    if not cards and Member.all_objects.filter(pk=member.pk, erased_at__isnull=False).exists():
        if code:
            raise CheckoutError("card_code_invalid", _("This card code is not valid or has expired: ask the "
                                                         "member to refresh it on their phone."), "card")
        raise CheckoutError("member_unknown", _("No member has the phone number %(phone)s.") % {"phone": phone},
                            "phone")
    return Locked(Identified(member, cards[0] if cards else None), account, programme, before, products, got)


def _check_forgotten_card(member: Member, name: str, birthday: str | dt.date) -> None:
    if name or birthday:  # the forgotten-card check: all three must match
        try:
            given = parse_date(birthday) if isinstance(birthday, str) else birthday
        except ValidationError:
            given = None
        if not name or not given or name.strip() != member.name or given != member.birthday:
            raise CheckoutError("member_mismatch", _("Name, phone and birthday do not match one member."), "name")


def basket_products(skus: list[str]) -> dict[str, Product]:
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
