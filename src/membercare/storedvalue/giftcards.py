"""Gift cards (礼品卡), what their writes share: the codes, the refusal, amounts, the card a code finds and
whether it spends there (batches and the sale: giftcard_batches; spending, returns, holder, void: giftcard_spend).

Gift cards are anonymous prepaid cards (不记名卡 of the 2012 prepaid-card measures) made in batches by HQ,
activated when sold at a counter, spent as the `gift_card` tender of the sale pipeline across several visits.

Codes. 15 random characters (secrets) from campaigns.codes' unambiguous alphabet (31 characters: no 0/O, 1/I/L)
and a check character — about 74 bits, shown XXXX-XXXX-XXXX-XXXX. The database keeps the SHA-256 of the code
(74 random bits cannot be searched offline, so no key is needed and a key rotation changes nothing) and its last
4 characters for display; a leaked database reveals no spendable code. The plain codes are kept encrypted with
the field key (core.crypto) only until HQ exports the batch's list once (.xlsx, ExportLog); the export wipes
them. A card also has a public serial number (GC + 10 digits) printed on it, which spends nothing.

Rules (storedvalue.rules, `anonymous`): a face value at most `max_balance` (¥1,000); valid at least
`valid_days` (1095 days = 3 years) counted from the activation; the cash and real-name thresholds apply to one
sale of cards (`non_cash_from`, `real_name_from`: the buyer's name and ID number recorded).

Every write to a card holds its row (select_for_update, in id order when several): two counters spending one
card never overdraw it (the balance is also checked by the table), one card sold twice at once is sold once.
A wrong or unknown code is refused with one message and counted per store; after GUESS_LIMIT wrong codes in
GUESS_WINDOW the store's gift-card look-ups are refused for the rest of the window.

Returns of a sale paid by gift card credit the card back (even when it has expired since: the money is the
member's, the validity is not extended; docs/stored-value.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils.translation import gettext as _

from membercare.campaigns.codes import ALPHABET
from membercare.core.permissions import require, visible_stores
from membercare.org.models import Brand, Staff, Store
from membercare.sales.models import PaymentMethod
from membercare.sales.pipeline import CheckoutError

from .models import GiftCard, GiftCardState

GIFT_METHOD_CODE = "gift_card"  # the sales.PaymentMethod a gift-card payment names
GIFT_METHOD_NAME = "礼品卡"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BODY = 15
LENGTH = BODY + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_N = len(ALPHABET)
MAX_CARDS_PER_BATCH = 10_000
MAX_CARDS_PER_SALE = 50
MAX_GIFT_PAYMENTS = 5  # gift cards on one receipt
GUESS_LIMIT = 20  # wrong gift-card codes per store …
GUESS_WINDOW = 15 * 60  # … in this many seconds, then refused until the window ends


class GiftCardError(CheckoutError):
    """A gift-card refusal: a stable code (for the API) and a message in the user's language."""


# --------------------------------------------------------------------------------------------------- codes


def _check_char(body: str) -> str:
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(body))
    return ALPHABET[(-total * pow(LENGTH, -1, _N)) % _N]  # the full weighted sum is 0 mod 31


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return body + _check_char(body)


def normalize_code(text: str) -> str:
    return "".join(ch for ch in str(text or "")[:40].upper() if ch not in " -\t")


def is_well_formed(code: str) -> bool:
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        return False
    return sum((i + 1) * _VALUE[c] for i, c in enumerate(code)) % _N == 0


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def masked(card: GiftCard) -> str:
    return f"****-****-****-{card.code_last4}"


# ------------------------------------------------------------------------------------------------- helpers


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _amount(value, field: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or money(amount) != amount:
        raise GiftCardError("amount_invalid", _("Give an amount in yuan above 0 with at most 2 decimal places."),
                            field)
    return money(amount)


def ensure_gift_method() -> PaymentMethod:
    """The `gift_card` payment method, made with the first batch; one switched off stays off."""
    method, _created = PaymentMethod.objects.get_or_create(code=GIFT_METHOD_CODE,
                                                           defaults={"name": GIFT_METHOD_NAME, "position": 60})
    return method


def serves(card_scope: str, store: Store | None) -> bool:
    """A card of `card_scope` ("" the chain, or a brand's code) is sold and spent at the store."""
    if not card_scope:
        return True
    return store is not None and store.brand.code == card_scope


def scope_label(scope: str) -> str:
    if not scope:
        return _("The whole chain")
    return Brand.objects.filter(code=scope).values_list("name", flat=True).first() or scope


def _guess_key(store: Store | None) -> str:
    return f"giftcard:guesses:{store.pk if store else 0}"


def _guesses_exceeded(store: Store | None) -> bool:
    return (cache.get(_guess_key(store)) or 0) >= GUESS_LIMIT


def _count_guess(store: Store | None) -> None:
    key = _guess_key(store)
    if not cache.add(key, 1, GUESS_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.add(key, 1, GUESS_WINDOW)


def find_card(code: str, store: Store | None, *, lock: bool = False, field: str = "code") -> GiftCard:
    """The card of a typed code; an unknown or malformed code is refused with one message (a wrong code and a
    code that does not exist look the same) and counted per store."""
    if _guesses_exceeded(store):
        raise GiftCardError("gift_card_locked", _(
            "Too many wrong gift card codes at this store: try again in %(n)d minutes.") % {
            "n": GUESS_WINDOW // 60}, field)
    normal = normalize_code(code)
    if not normal:
        raise GiftCardError("gift_card_code_required", _("Type the gift card's code."), field)
    card = None
    if is_well_formed(normal):
        cards = GiftCard.objects.select_related("batch")
        if lock:
            cards = cards.select_for_update(of=("self",))
        card = cards.filter(code_hash=code_hash(normal)).first()
    if card is None:
        _count_guess(store)
        raise GiftCardError("gift_card_unknown", _("No gift card has this code: check the code and type it "
                                                   "again."), field)
    return card


def check_spendable(card: GiftCard, store: Store | None, on: dt.date, field: str = "payments") -> GiftCard:
    if card.status == GiftCardState.NEW:
        raise GiftCardError("gift_card_not_active", _("Gift card %(serial)s has not been sold (activated) yet.") % {
            "serial": card.serial}, field)
    if card.status == GiftCardState.VOID:
        raise GiftCardError("gift_card_void", _("Gift card %(serial)s is void.") % {"serial": card.serial}, field)
    if card.expires_on is not None and card.expires_on < on:
        raise GiftCardError("gift_card_expired", _("Gift card %(serial)s expired on %(date)s.") % {
            "serial": card.serial, "date": card.expires_on.isoformat()}, field)
    if not serves(card.batch.scope, store):
        raise GiftCardError("gift_card_other_scope", _("Gift card %(serial)s is not accepted at this store "
                                                       "(cards of %(scope)s).") % {
            "serial": card.serial, "scope": scope_label(card.batch.scope)}, field)
    return card


def _require_at(by: Staff | None, store: Store) -> None:
    """Staff sell at a store they work at (HQ: any); the POS API (by=None) sells at its key's store."""
    if by is not None:
        require(visible_stores(by).filter(pk=store.pk).exists())
