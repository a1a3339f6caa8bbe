"""Gift cards (礼品卡): anonymous prepaid cards (不记名卡 of the 2012 prepaid-card measures) made in batches by HQ,
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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.campaigns.codes import ALPHABET
from membercare.core.crypto import decrypt, encrypt
from membercare.core.idnumber import normalize_id_number
from membercare.core.permissions import can_edit_programme, require, visible_stores
from membercare.core.sequences import reserve_numbers
from membercare.core.xlsx import write_xlsx
from membercare.members.models import ExportLog, Member
from membercare.org.models import Brand, Staff, Store
from membercare.sales.models import PaymentMethod, Receipt
from membercare.sales.pipeline import CheckoutError

from .models import GiftCard, GiftCardBatch, GiftCardEntry, GiftCardSale, GiftCardState, GiftEntryKind
from .rules import METHOD_CODE as STORED_VALUE_CODE
from .rules import Rules, current_rules

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


# ------------------------------------------------------------------------------------------------- batches


def batch_limits(rules: Rules | None = None) -> tuple[Decimal, int]:
    """(largest face value, fewest valid days) the rules allow for an anonymous card."""
    rules = rules or current_rules()
    return rules.anonymous.max_balance, rules.anonymous.valid_days or 0


@transaction.atomic
def batch_create(*, by: Staff, name: str, face_value, count, valid_days, scope: str = "",
                 at: dt.datetime | None = None) -> GiftCardBatch:
    """HQ makes `count` cards of `face_value`; each refusal names its field and nothing is written."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise GiftCardError("name_invalid", _("Give the batch a name of at most 80 characters."), "name")
    face = _amount(face_value, "face_value")
    max_face, min_days = batch_limits()
    if face > max_face:
        raise GiftCardError("face_value_too_high", _(
            "An anonymous card holds at most ¥%(n)s (the prepaid-card rules).") % {"n": max_face}, "face_value")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CARDS_PER_BATCH:
        raise GiftCardError("count_invalid", _("Make between 1 and %(n)d cards in one batch.") % {
            "n": MAX_CARDS_PER_BATCH}, "count")
    if isinstance(valid_days, bool) or not isinstance(valid_days, int) or not min_days <= valid_days <= 36500:
        raise GiftCardError("valid_days_too_short", _(
            "An anonymous card is valid at least %(n)d days from its sale (the prepaid-card rules).") % {
            "n": min_days}, "valid_days")
    scope = (scope or "").strip()
    if scope and not Brand.objects.filter(code=scope).exists():
        raise GiftCardError("scope_unknown", _("Unknown brand “%(code)s”.") % {"code": scope[:20]}, "scope")
    ensure_gift_method()
    batch = GiftCardBatch.objects.create(name=name, face_value=face, count=count, valid_days=valid_days,
                                         scope=scope, created_by=by, created_at=at)
    serials = reserve_numbers("gift_card", count)
    cards, seen = [], set()
    for serial in serials:
        code = new_code()
        while code in seen:  # 74 bits: never in practice; the unique hash would refuse it anyway
            code = new_code()
        seen.add(code)
        cards.append(GiftCard(batch=batch, serial=f"GC{serial:010d}", code_hash=code_hash(code),
                              code_last4=code[-4:], code_sealed=encrypt(code)))
    GiftCard.objects.bulk_create(cards, batch_size=1000)
    return batch


XLSX_KIND = "gift_card_codes"


@transaction.atomic
def batch_export(*, batch: GiftCardBatch, by: Staff, at: dt.datetime | None = None):
    """The batch's codes as .xlsx, once: logged (ExportLog), then the sealed codes are wiped, so a second
    export (or a leaked database) has none. Returns (file, filename)."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    batch = GiftCardBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.exported_at is not None:
        raise GiftCardError("codes_exported", _("The codes of this batch were exported on %(time)s by %(who)s; they "
                                                "are not kept and cannot be exported again.") % {
            "time": timezone.localtime(batch.exported_at).strftime("%Y-%m-%d %H:%M"),
            "who": batch.exported_by.get_full_name() or batch.exported_by.username if batch.exported_by else "—"},
            "batch")
    rows = [[c.serial, display_code(decrypt(c.code_sealed)), batch.face_value, batch.valid_days]
            for c in GiftCard.objects.filter(batch=batch).order_by("serial").only("serial", "code_sealed")]
    out = write_xlsx([(_("Gift cards"), [_("Gift card number"), _("Code"), _("Face value"),
                                         _("Valid days from activation")], rows)])
    GiftCard.objects.filter(batch=batch).update(code_sealed="")
    batch.exported_at, batch.exported_by = at, by
    batch.save(update_fields=["exported_at", "exported_by"])
    ExportLog.objects.create(exported_by=by, exported_at=at, kind=XLSX_KIND, filters={"batch": batch.pk},
                             row_count=len(rows), full_data=True)
    return out, f"gift-cards-{batch.pk}.xlsx"


# ---------------------------------------------------------------------------------------------------- sale


@dataclass
class Sold:
    sale: GiftCardSale
    cards: list[GiftCard]


def _require_at(by: Staff | None, store: Store) -> None:
    """Staff sell at a store they work at (HQ: any); the POS API (by=None) sells at its key's store."""
    if by is not None:
        require(visible_stores(by).filter(pk=store.pk).exists())


def _sale_method(code: str) -> PaymentMethod:
    if code in (STORED_VALUE_CODE, GIFT_METHOD_CODE):
        raise GiftCardError("gift_card_method_invalid", _(
            "Gift cards are paid with money: not with stored value or another gift card."), "method")
    method = PaymentMethod.objects.filter(code=code, is_active=True).first()
    if method is None:
        raise GiftCardError("payment_method_unknown", _("Unknown payment method “%(code)s”.") % {
            "code": str(code)[:20]}, "method")
    return method


def gift_cards_sell(*, codes: list[str], method: str, store: Store, by: Staff | None = None,
                    operator: Staff | None = None, buyer_name: str = "", buyer_id_number: str = "",
                    at: dt.datetime | None = None) -> Sold:
    """Sell (activate) the cards of `codes` at `store`, paid with `method`: each card's balance becomes its face
    value and its validity starts. All or nothing: a card already sold, void, of another scope, an unknown code,
    a code twice, cash above the cash threshold or a missing buyer above the real-name threshold refuses the
    whole sale with the reason. No points: the money is spent later on goods."""
    _require_at(by, store)
    at = at or timezone.now()
    on = timezone.localtime(at).date()
    if not codes:
        raise GiftCardError("gift_card_codes_missing", _("Type the code of at least one gift card."), "codes")
    if len(codes) > MAX_CARDS_PER_SALE:
        raise GiftCardError("gift_card_codes_too_many", _("At most %(n)d gift cards in one sale.") % {
            "n": MAX_CARDS_PER_SALE}, "codes")
    normal = [normalize_code(c) for c in codes]
    if len(set(normal)) != len(normal):
        raise GiftCardError("gift_card_code_twice", _("A gift card code is typed twice."), "codes")
    paying = _sale_method(method)
    rules = current_rules()
    with transaction.atomic():
        found = [find_card(code, store, field="codes") for code in normal]
        ids = sorted(c.pk for c in found)
        locked = {c.pk: c for c in GiftCard.objects.select_for_update(of=("self",)).select_related("batch")
                  .filter(pk__in=ids).order_by("pk")}
        cards = [locked[c.pk] for c in found]
        for card in cards:
            if card.status == GiftCardState.ACTIVE:
                raise GiftCardError("gift_card_already_active", _(
                    "Gift card %(serial)s was already sold on %(date)s.") % {
                    "serial": card.serial, "date": timezone.localtime(card.activated_at).strftime("%Y-%m-%d")},
                    "codes")
            if card.status == GiftCardState.VOID:
                raise GiftCardError("gift_card_void", _("Gift card %(serial)s is void.") % {"serial": card.serial},
                                    "codes")
            if not serves(card.batch.scope, store):
                raise GiftCardError("gift_card_other_scope", _(
                    "Gift card %(serial)s is not accepted at this store (cards of %(scope)s).") % {
                    "serial": card.serial, "scope": scope_label(card.batch.scope)}, "codes")
        total = money(sum((c.batch.face_value for c in cards), ZERO))
        if rules.non_cash_from is not None and total >= rules.non_cash_from and paying.code in rules.cash_methods:
            raise GiftCardError("gift_card_cash_refused", _(
                "Gift cards for ¥%(n)s or more must be paid by bank transfer or card, not in cash.") % {
                "n": rules.non_cash_from}, "method")
        buyer_name, id_number = (buyer_name or "").strip()[:50], ""
        if rules.real_name_from is not None and total >= rules.real_name_from:
            try:
                id_number = normalize_id_number(buyer_id_number or "")
            except ValidationError as exc:
                raise GiftCardError("id_number_invalid", " ".join(str(m) for m in exc.messages),
                                    "buyer_id_number") from exc
            if not buyer_name or not id_number:
                raise GiftCardError("gift_card_real_name_required", _(
                    "Gift cards for ¥%(n)s or more are sold with the buyer's name and ID number (real-name "
                    "registration).") % {"n": rules.real_name_from}, "buyer_id_number")
        sale = GiftCardSale.objects.create(number=f"GS{reserve_numbers('gift_card_sale')[0]:010d}", store=store,
                                           method=paying, total=total, operator=operator or by,
                                           buyer_name=buyer_name if id_number else "", buyer_id_number=id_number,
                                           created_at=at)
        for card in cards:
            card.status, card.balance = GiftCardState.ACTIVE, card.batch.face_value
            card.activated_at, card.activated_store = at, store
            card.expires_on = on + dt.timedelta(days=card.batch.valid_days)
            card.save(update_fields=["status", "balance", "activated_at", "activated_store", "expires_on"])
            GiftCardEntry.objects.create(card=card, kind=GiftEntryKind.SALE, amount=card.balance, sale=sale,
                                         method=paying, store=store, operator=sale.operator, created_at=at)
    return Sold(sale=sale, cards=cards)


# ------------------------------------------------------------------------------------ spend and return


@dataclass(frozen=True)
class GiftSpend:
    card_id: int
    serial: str
    amount: Decimal


def spend_commit(*, spends: list[GiftSpend], receipt: Receipt, member: Member | None, store: Store | None,
                 clerk: Staff | None, on: dt.date) -> list[GiftCardEntry]:
    """The sale's gift-card payments, inside its transaction: each card locked (in id order), checked again,
    its balance taken down; a card without a member is bound to the sale's member at its first use."""
    locked = {c.pk: c for c in GiftCard.objects.select_for_update(of=("self",)).select_related("batch")
              .filter(pk__in=sorted({s.card_id for s in spends})).order_by("pk")}
    entries = []
    for spend in spends:
        card = check_spendable(locked[spend.card_id], store, on)
        if member is not None and card.member_id not in (None, member.pk):
            raise GiftCardError("gift_card_other_member", _(
                "Gift card %(serial)s belongs to another member.") % {"serial": card.serial}, "payments")
        if spend.amount > card.balance:
            raise GiftCardError("gift_card_insufficient", _("Only ¥%(n)s is left on gift card %(serial)s.") % {
                "n": card.balance, "serial": card.serial}, "payments")
        card.balance = money(card.balance - spend.amount)
        if member is not None and card.member_id is None:
            card.member = member
        GiftCard.objects.filter(pk=card.pk).update(balance=card.balance, member=card.member)
        entries.append(GiftCardEntry.objects.create(
            card=card, kind=GiftEntryKind.SPEND, amount=-spend.amount, member=card.member, receipt=receipt,
            store=store, operator=clerk if clerk is not None and clerk.pk else None, created_at=receipt.sold_at))
    return entries


def return_credit(*, original: Receipt, ret: Receipt, amount: Decimal, store: Store | None, clerk: Staff | None,
                  at: dt.datetime) -> list[GiftCardEntry]:
    """Give `amount` (what the return refunds on the gift-card method) back to the cards that paid the original,
    in proportion to what each paid, by cumulative targets: partial returns add up to a full one exactly. An
    expired card is credited too (its validity is not extended)."""
    spent: dict[int, Decimal] = {}
    for card_id, total in (GiftCardEntry.objects.filter(receipt=original, kind=GiftEntryKind.SPEND)
                           .values_list("card_id").annotate(t=Sum("amount")).order_by("card_id")):
        spent[card_id] = -money(total)
    if not spent or amount <= 0:
        return []
    done = {card_id: money(total) for card_id, total in GiftCardEntry.objects.filter(
        receipt__original=original, kind=GiftEntryKind.RETURN).exclude(receipt=ret).values_list("card_id")
        .annotate(t=Sum("amount"))}
    spent_total = sum(spent.values(), ZERO)
    done_total = sum(done.values(), ZERO)
    amount = min(amount, spent_total - done_total)
    returned = done_total + amount
    locked = {c.pk: c for c in GiftCard.objects.select_for_update().filter(pk__in=sorted(spent)).order_by("pk")}
    entries, left = [], amount
    for i, (card_id, paid) in enumerate(spent.items()):
        have = done.get(card_id, ZERO)
        if i == len(spent) - 1:
            credit = left
        else:
            target = paid if returned >= spent_total else money(paid * returned / spent_total)
            credit = min(max(target - have, ZERO), paid - have, left)
        left -= credit
        if credit <= 0:
            continue
        card = locked[card_id]
        card.balance = money(card.balance + credit)
        GiftCard.objects.filter(pk=card.pk).update(balance=card.balance)
        entries.append(GiftCardEntry.objects.create(
            card=card, kind=GiftEntryKind.RETURN, amount=credit, member=card.member, receipt=ret, store=store,
            operator=clerk if clerk is not None and clerk.pk else None, created_at=at))
    return entries


# ------------------------------------------------------------------------------------------ holder, void


@transaction.atomic
def gift_card_transfer(*, card: GiftCard, to: Member, by: Staff, store: Store | None = None,
                       at: dt.datetime | None = None) -> GiftCard:
    """Staff move a card bound to a member to another member (the balance goes along; an entry of 0 records it)."""
    require(by is not None and bool(getattr(by, "is_authenticated", False)))
    if store is not None:
        _require_at(by, store)
    at = at or timezone.now()
    card = GiftCard.objects.select_for_update().get(pk=card.pk)
    if card.status != GiftCardState.ACTIVE:
        raise GiftCardError("gift_card_not_active", _("Gift card %(serial)s is not active.") % {
            "serial": card.serial}, "card")
    if card.member_id is None:
        raise GiftCardError("gift_card_not_bound", _(
            "Gift card %(serial)s belongs to nobody yet: it is bound to the member who first pays with it.") % {
            "serial": card.serial}, "card")
    if card.member_id == to.pk:
        raise GiftCardError("gift_card_same_member", _("The gift card already belongs to this member."), "member")
    card.member = to
    card.save(update_fields=["member"])
    GiftCardEntry.objects.create(card=card, kind=GiftEntryKind.TRANSFER, amount=ZERO, member=to, store=store,
                                 operator=by, created_at=at)
    return card


MAX_VOID_REASON = 200


@transaction.atomic
def gift_card_void(*, card: GiftCard, by: Staff, reason: str, at: dt.datetime | None = None) -> GiftCard:
    """HQ voids a card not sold yet (lost or stolen stock), with a reason: it can never be sold or spent. The void
    is an entry of 0 in the card's ledger (its history), the reason in its note. A card sold (spent or not) or
    already void is refused with the reason and nothing is written: a sold card's balance is its holder's money."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > MAX_VOID_REASON:
        raise GiftCardError("void_reason_invalid", _("Give the reason for voiding in at most %(n)d characters.") % {
            "n": MAX_VOID_REASON}, "reason")
    card = GiftCard.objects.select_for_update().get(pk=card.pk)
    if card.status == GiftCardState.VOID:
        raise GiftCardError("gift_card_already_void", _("Gift card %(serial)s is already void.") % {
            "serial": card.serial}, "card")
    if card.status == GiftCardState.ACTIVE and card.balance == ZERO:
        raise GiftCardError("gift_card_spent", _(
            "Gift card %(serial)s was sold and is spent: only unsold cards are voided.") % {
            "serial": card.serial}, "card")
    if card.status != GiftCardState.NEW:
        raise GiftCardError("gift_card_sold", _("Gift card %(serial)s was sold: only unsold cards are voided.") % {
            "serial": card.serial}, "card")
    card.status = GiftCardState.VOID
    card.save(update_fields=["status"])
    GiftCardEntry.objects.create(card=card, kind=GiftEntryKind.VOID, amount=ZERO, operator=by, note=reason,
                                 created_at=at)
    return card
