"""Gift-card batches and their sale: HQ makes a batch and exports its codes once; a counter (or the POS API)
sells and activates cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.crypto import decrypt, encrypt
from membercare.core.idnumber import normalize_id_number
from membercare.core.permissions import can_edit_programme, require
from membercare.core.sequences import reserve_numbers
from membercare.core.xlsx import write_xlsx
from membercare.members.models import ExportLog
from membercare.org.models import Brand, Staff, Store
from membercare.sales.models import PaymentMethod

from .giftcards import (
    GIFT_METHOD_CODE,
    MAX_CARDS_PER_BATCH,
    MAX_CARDS_PER_SALE,
    ZERO,
    GiftCardError,
    _amount,
    _require_at,
    code_hash,
    display_code,
    ensure_gift_method,
    find_card,
    money,
    new_code,
    normalize_code,
    scope_label,
    serves,
)
from .models import GiftCard, GiftCardBatch, GiftCardEntry, GiftCardSale, GiftCardState, GiftEntryKind
from .rules import METHOD_CODE as STORED_VALUE_CODE
from .rules import Rules, current_rules


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
