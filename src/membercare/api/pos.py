"""The POS API (mounted at /api/pos/): member lookup, basket quote, checkout, return, points, card status.

Authenticated by the store's API key; the key's store is the store of every request. Writes need an
Idempotency-Key header. The rules live in membercare.checkout.pipeline; this module only translates
HTTP to service calls and results to JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router

from membercare.checkout import pipeline as core
from membercare.checkout.payments import active_methods
from membercare.loyalty.models import (
    Card,
    CardStatus,
    LoyaltyAccount,
    PerkUse,
    PointsEntry,
    normalize_card_number,
)
from membercare.loyalty.perks import PerkLeft, perk_use, perks_left
from membercare.loyalty.points import receipt_points_note
from membercare.loyalty.programme import Programme, card_label, programme_at
from membercare.loyalty.progress import level_progress
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.sales.models import Receipt, ReceiptLine, ReceiptPayment
from membercare.storedvalue.giftcard_batches import gift_cards_sell
from membercare.storedvalue.rules import current_rules
from membercare.storedvalue.topup import top_up
from membercare.storedvalue.writes import live_card, scope_of

from . import pos_schemas as s
from .auth import PosKeyAuth
from .errors import ApiError, ErrorOut
from .idempotency import idempotent, require_key

router = Router(auth=PosKeyAuth(), tags=["pos"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut,
          503: ErrorOut}
IdempotencyKey = Header(None, alias="Idempotency-Key", description="Unique per sale or return (e.g. a UUID); "
                                                                   "a retry with the same key replays the result.")


def _store(request: HttpRequest) -> Store:
    return request.auth.store


# -------------------------------------------------------------------------------------------- output


def money(value: Decimal | int | None) -> str:
    return f"{Decimal(value or 0):.2f}"


STATUS_LABELS = dict(CardStatus.choices)


def card_out(card: Card | None, programme: Programme | None = None) -> dict[str, Any] | None:
    """The card as the POS sees it; its level's name from `programme` (the one in force when not given)."""
    if card is None:
        return None
    return {"number": card.number, "kind": card.kind, "kind_label": card_label(card.kind, programme),
            "status": card.status, "status_label": str(STATUS_LABELS.get(card.status, card.status)),
            "valid_until": card.valid_until.isoformat() if card.valid_until else None}


def _balance(member_id: int) -> int:
    return LoyaltyAccount.objects.filter(member_id=member_id).values_list("points", flat=True).first() or 0


def stored_value_out(card) -> dict[str, Any] | None:  # a storedvalue.StoredValueCard
    if card is None:
        return None
    return {"number": card.number, "status": card.status, "balance": money(card.principal + card.bonus),
            "principal": money(card.principal), "bonus": money(card.bonus), "valid_until": card.expires_on}


def member_out(member: Member, card: Card | None, store: Store | None = None,
               programme: Programme | None = None) -> dict[str, Any]:
    if programme is None and (card is not None or store is not None):
        programme = programme_at()
    out = {"member_no": member.member_no, "name": member.name, "phone": member.masked_phone,
           "card": card_out(card, programme), "tier": card.kind if card else "", "points": _balance(member.pk)}
    if store is not None:
        out["stored_value"] = stored_value_out(live_card(member.pk, scope_of(store, current_rules())))
        out["progress"] = [
            {"brand": p.brand_code, "next_tier": p.next_code, "window_days": p.window_days, "paid": str(p.paid),
             "goal": str(p.goal) if p.goal is not None else None, "short": str(p.short),
             "single_receipt": str(p.single_receipt) if p.single_receipt is not None else None}
            for p in level_progress(member, cards=[card] if card else [], programme=programme)]
        out["perks"] = [perk_out(p) for p in perks_left(member, card, programme=programme)]
    return out


def perk_out(p: PerkLeft) -> dict[str, Any]:
    return {"code": p.perk.code, "name": p.perk.name, "quota": p.quota, "period": p.perk.period, "used": p.used,
            "left": p.left, "period_end": p.period_end}


def _card_and_balance(number: str) -> tuple[dict[str, Any] | None, int | None]:
    """The card (after any upgrade by this sale) and its member's points balance, in one query."""
    row = (Card.objects.filter(number=number)
           .values_list("number", "kind", "status", "valid_until", "member__loyalty__points").first())
    if row is None:
        return None, None
    card = Card(number=row[0], kind=row[1], status=row[2], valid_until=row[3])
    return card_out(card), row[4] or 0


def receipt_out(receipt: Receipt, *, points_change: int, card: dict[str, Any] | None = None,
                balance: int | None = None) -> dict[str, Any]:
    posted = getattr(receipt, "posted_lines", None)  # just written by this request: no need to read them back
    if posted is not None:
        lines = [(ln.pk, ln.product.sku, ln.product.name, ln.quantity, ln.full_price, ln.paid_amount,
                  ln.on_promotion, ln.birthday_items, ln.original_line_id) for ln in posted]
    else:
        lines = (ReceiptLine.objects.filter(receipt_id=receipt.pk).order_by("pk")
                 .values_list("pk", "product__sku", "product__name", "quantity", "full_price", "paid_amount",
                              "on_promotion", "birthday_items", "original_line_id"))
    return {
        "number": receipt.number, "store": receipt.store.code, "sold_at": receipt.sold_at.isoformat(),
        "member_no": receipt.member.member_no if receipt.member_id else None, "card_number": receipt.card_number,
        "tier": receipt.tier,
        "lines": [{"id": pk, "sku": sku, "name": name, "quantity": qty, "full_price": money(full),
                   "paid": money(paid), "on_promotion": promo, "birthday_items": bday, "original_line_id": orig}
                  for pk, sku, name, qty, full, paid, promo, bday, orig in lines],
        "total_full_price": money(receipt.total_full_price), "total_paid": money(receipt.total_paid),
        "points_earned": receipt.points_earned, "points_note": receipt_points_note(receipt),
        "points_redeemed": receipt.points_redeemed,
        "points_offset": money(receipt.points_offset), "points_change": points_change,
        "birthday_privilege": receipt.birthday_privilege, "group_purchase": receipt.is_group_purchase,
        "original": receipt.original.number if receipt.original_id else None,
        "card": card, "points_balance": balance, **_coupon_out(getattr(receipt, "coupon_applied", None)),
        "level_card": card_out(level_card) if (level_card := getattr(receipt, "level_card", None)) else None,
        "payments": [{"method": p.method.code, "name": p.method.name, "amount": money(p.amount)}
                     for p in _payments(receipt)],
        "perks_used": _perks_used(receipt),
    }


def _perks_used(receipt: Receipt) -> list[str]:
    used = getattr(receipt, "perks_used", None)  # set by the sale that just used them
    if used is None:
        used = list(PerkUse.objects.filter(receipt_id=receipt.pk).order_by("pk").values_list("perk_code", flat=True))
    return used


def _payments(receipt: Receipt) -> list[ReceiptPayment]:
    posted = getattr(receipt, "posted_payments", None)  # just written by this request
    if posted is not None:
        return posted
    return list(ReceiptPayment.objects.filter(receipt_id=receipt.pk).select_related("method").order_by("pk"))


def _coupon_out(redemption) -> dict[str, Any]:  # a campaigns.CouponRedemption made by this request
    if redemption is None:
        return {}
    return {"coupon_code": redemption.coupon.code, "coupon_discount": money(redemption.amount)}


def quote_out(quote: core.Quote) -> dict[str, Any]:
    return {
        "member": member_out(quote.member, quote.card, programme=quote.programme), "tier": quote.tier,
        "lines": [{"sku": ql.product.sku, "name": ql.product.name, "quantity": ql.quantity,
                   "full_price": money(ql.full_price), "on_promotion": ql.on_promotion,
                   "unit_prices": [money(p) for p in ql.unit_prices], "paid": money(ql.paid),
                   "birthday_items": ql.birthday_items} for ql in quote.lines],
        "total_full_price": money(quote.total_full_price), "total_paid": money(quote.total_paid),
        "points_redeemed": quote.points_redeemed, "points_offset": money(quote.points_offset),
        "to_pay": money(quote.to_pay), "points_earned": quote.points_earned,
        "points_note": quote.parts.get("points_note", "") if quote.points_earned else "",
        "birthday_items": quote.birthday_items,
        "coupon_code": quote.coupon.code if quote.coupon else None,
        "coupon_discount": money(quote.coupon_discount) if quote.coupon else None,
    }


# --------------------------------------------------------------------------------------------- reads


def _lines(payload: s.BasketIn) -> list[core.LineIn]:
    return [core.LineIn(ln.sku, ln.quantity, ln.full_price, ln.promo_price) for ln in payload.lines]


def _identify(store: Store, ref: s.MemberRefIn) -> core.Identified:
    return core.identify(store=store, card_number=ref.card, phone=ref.phone, name=ref.name,
                         birthday=ref.birthday or "")


@router.get("/members/lookup", response={200: s.MemberOut, **ERRORS}, summary="Find the member at the till")
def member_lookup(request, ref: Query[s.MemberRefIn]):
    """By card number; or phone; or name + phone + birthday when the card is forgotten. A void, unknown or
    expired card is refused with the reason. Returns the card this store accepts (none yet: the first
    purchase issues an accumulation card), the tier, the points balance and the stored-value card this store
    serves with its balance (principal and bonus)."""
    store = _store(request)
    ident = _identify(store, ref)
    return member_out(ident.member, ident.card, store)


@router.post("/quote", response={200: s.QuoteOut, **ERRORS}, summary="Price a basket (writes nothing)")
def basket_quote(request, payload: s.BasketIn):
    store = _store(request)
    ident = _identify(store, payload)
    quote = core.basket_quote(store=store, ident=ident, lines=_lines(payload), birthday=payload.birthday_privilege,
                              redeem_points=payload.redeem_points, balance=_balance(ident.member.pk),
                              coupon_code=payload.coupon_code, id_number=payload.id_number, perks=payload.perks)
    return quote_out(quote)


@router.get("/payment-methods", response={200: list[s.PaymentMethodOut], **ERRORS},
            summary="Payment methods the chain accepts")
def payment_methods(request):
    """The active payment methods, in the till's order: the codes a checkout's `payments` name."""
    return [{"code": m.code, "name": m.name} for m in active_methods()]


@router.get("/cards/{number}", response={200: s.CardStatusOut, **ERRORS}, summary="Card status")
def card_status(request, number: str):
    card = Card.objects.select_related("member").filter(number=normalize_card_number(number)).first()
    if card is None:
        raise ApiError(404, "card_unknown", _("Card %(number)s is unknown.") % {"number": number}, "number")
    code = message = None
    try:
        core.identify(store=_store(request), card_number=card.number)
    except core.CheckoutError as exc:
        code, message = exc.error_code, exc.text
    # another brand's card: its status and the reason, not whose it is
    member_no = None if code == "card_wrong_brand" else card.member.member_no
    return {"card": card_out(card), "member_no": member_no, "usable_here": code is None,
            "code": code, "message": message}


def _member(member_no: str, store: Store) -> Member:
    """The member with this number, if the key's brand knows the member: registered at one of its stores, holding
    one of its cards or having bought at one of its stores. Any other number is unknown to this key (a key
    must not walk the chain's members by number)."""
    brand_id = store.brand_id
    member = (Member.objects.filter(member_no=member_no)
              .filter(Q(home_store__brand_id=brand_id)
                      | Exists(Card.objects.filter(member=OuterRef("pk"), brand_id=brand_id))
                      | Exists(Receipt.objects.filter(member=OuterRef("pk"), store__brand_id=brand_id)))
              .first())
    if member is None:
        raise ApiError(404, "member_unknown", _("No member has the number %(no)s.") % {"no": member_no},
                       "member_no")
    return member


@router.get("/members/{member_no}/points", response={200: s.PointsOut, **ERRORS}, summary="Points and history")
def points_history(request, member_no: str, page: int = 1, page_size: int = 20):
    """The balance and the ledger (earn, redeem, expire, reverse, adjust, refund), newest first. Only of a member
    the key's brand knows (registered at, holding a card of, or having bought at one of its stores)."""
    member = _member(member_no, _store(request))
    if not 1 <= page <= 100_000 or not 1 <= page_size <= 100:
        raise ApiError(422, "invalid_parameter",
                       _("page must be between 1 and 100000 and page_size between 1 and 100."),
                       "page_size" if 1 <= page <= 100_000 else "page")
    entries = PointsEntry.objects.filter(member=member).select_related("receipt").order_by("-created_at", "-pk")
    start = (page - 1) * page_size
    kinds = dict(PointsEntry.Kind.choices)
    return {
        "member_no": member.member_no, "balance": _balance(member.pk), "page": page, "page_size": page_size,
        "total": entries.count(),
        "entries": [{"id": e.pk, "kind": e.kind, "kind_label": str(kinds.get(e.kind, e.kind)), "points": e.points,
                     "created_at": e.created_at, "expires_on": e.expires_on,
                     "receipt": e.receipt.number if e.receipt_id else None, "reason": e.reason}
                    for e in entries[start:start + page_size]],
    }


def _receipt(store: Store, number: str) -> Receipt:
    receipt = Receipt.objects.select_related("store", "member", "original").filter(number=number).first()
    if receipt is None:
        raise ApiError(404, "receipt_unknown", _("Receipt %(number)s is unknown.") % {"number": number}, "number")
    if receipt.store.brand_id != store.brand_id:
        raise ApiError(422, "receipt_other_brand", _("Receipt %(number)s is from another brand's store.") % {
            "number": number}, "number")
    return receipt


@router.get("/receipts/{number}", response={200: s.ReceiptOut, **ERRORS}, summary="A receipt (with line ids)")
def receipt_detail(request, number: str):
    receipt = _receipt(_store(request), number)
    change = sum(PointsEntry.objects.filter(receipt=receipt).values_list("points", flat=True))
    return JsonResponse(receipt_out(receipt, points_change=change), json_dumps_params={"ensure_ascii": False})


# -------------------------------------------------------------------------------------------- writes


def _clerk(store: Store, username: str) -> Staff | None:
    if not username:
        return None
    clerk = Staff.objects.filter(username=username, is_active=True, stores=store).first()
    if clerk is None:
        raise core.CheckoutError("clerk_unknown", _("%(name)s is not a clerk of this store.") % {"name": username},
                                 "clerk")
    return clerk


@router.post("/checkout", response={201: s.ReceiptOut, **ERRORS}, summary="Post a sale",
             auth=PosKeyAuth(for_write=True))
def checkout(request, payload: s.CheckoutIn, idempotency_key: str | None = IdempotencyKey):
    """Identify, price (tier discount on full-price items), birthday privilege, redeem and earn points,
    record the receipt and re-evaluate the tier, in one transaction. Needs an Idempotency-Key."""
    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        clerk = _clerk(store, payload.clerk)
        receipt = core.checkout_post(
            store=store, clerk=clerk, lines=_lines(payload), card_number=payload.card, phone=payload.phone,
            name=payload.name, birthday_date=payload.birthday or "", birthday=payload.birthday_privilege,
            redeem_points=payload.redeem_points, group_purchase=payload.group_purchase,
            member_signed=payload.member_signed, coupon_code=payload.coupon_code, walk_in=payload.walk_in,
            payments=[core.PaymentIn(p.method, p.amount, p.code) for p in payload.payments],
            member_code=payload.member_code, id_number=payload.id_number, perks=payload.perks,
            savepoint=False)  # a refusal rolls back the whole request
        # the card as it is after this sale (an upgrade included) and the balance, both known under the lock
        return 201, receipt_out(receipt, points_change=receipt.points_earned - receipt.points_redeemed,
                                card=card_out(receipt.card, getattr(receipt, "programme", None)),
                                balance=receipt.points_balance)

    # the member code (PIN) never enters the stored request hash: 10^6 codes would be tried against it offline;
    # nor the ID number (sensitive personal data, kept only encrypted on the profile)
    return idempotent(request, key=key, endpoint="checkout", body=payload.model_dump(mode="json",
                                                                                     exclude={"member_code",
                                                                                              "id_number"}),
                      run=run)


@router.post("/receipts/{number}/return", response={201: s.ReceiptOut, **ERRORS}, summary="Return (full or partial)",
             auth=PosKeyAuth(for_write=True))
def receipt_return(request, number: str, payload: s.ReturnIn, idempotency_key: str | None = IdempotencyKey):
    """Full return (no `lines`) or partial (original line ids and quantities): refunds in proportion,
    reverses points and qualifying spend, refunds a points offset as points, re-evaluates the tier."""
    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        original = _receipt(store, number)
        lines = None if payload.lines is None else [core.ReturnLineIn(ln.line_id, ln.quantity)
                                                    for ln in payload.lines]
        ret = core.return_post(original=original, lines=lines, clerk=_clerk(store, payload.clerk), store=store)
        change = sum(PointsEntry.objects.filter(receipt=ret).values_list("points", flat=True))
        card, balance = _card_and_balance(ret.card_number) if ret.card_number else (None, None)
        if balance is None and ret.member_id:
            balance = _balance(ret.member_id)
        return 201, receipt_out(ret, points_change=change, card=card, balance=balance)

    return idempotent(request, key=key, endpoint=f"return:{number}",
                      body=payload.model_dump(mode="json"), run=run)


@router.post("/members/{member_no}/stored-value/top-up", response={201: s.TopUpOut, **ERRORS},
             summary="Top up the member's stored value", auth=PosKeyAuth(for_write=True))
def stored_value_top_up(request, member_no: str, payload: s.TopUpIn, idempotency_key: str | None = IdempotencyKey):
    """Add money paid with a payment method (cash, bank card…) to the member's stored-value card of this store's
    scope, with the bonus of the matching tier (充1,000送100); the first top-up issues the card. Refused with the
    reason above the card's limit (¥5,000 for a named card by default), in cash above the cash threshold,
    without an ID number above the real-name threshold, or on a frozen or expired card. Needs an
    Idempotency-Key: a retry never tops up twice."""
    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        member = _member(member_no, store)
        clerk = _clerk(store, payload.clerk)
        done = top_up(member=member, amount=payload.amount, method=payload.method, store=store, by=None,
                      operator=clerk)
        return 201, {"member_no": member.member_no, "principal": money(done.principal), "bonus": money(done.bonus),
                     "method": payload.method, "stored_value": stored_value_out(done.card)}

    return idempotent(request, key=key, endpoint=f"top_up:{member_no}", body=payload.model_dump(mode="json"),
                      run=run)


@router.post("/members/{member_no}/perks/{code}/use", response={201: s.PerkUseOut, **ERRORS},
             summary="Record one use of a perk (a free alteration, the airport fast lane…)",
             auth=PosKeyAuth(for_write=True))
def perk_use_endpoint(request, member_no: str, code: str, payload: s.PerkUseIn,
                      idempotency_key: str | None = IdempotencyKey):
    """One use of a perk of the member's card at this store, outside a sale (a sale uses them with `perks` in
    POST /checkout). Counted against the programme's quota for the period (month, quarter, season = a calendar
    quarter, year, or the card's lifetime) under the member's lock: past it the use is refused (422
    perk_quota_used, with the perk, the quota and the period in the message) and nothing is written;
    perk_not_on_card, perk_no_card. Needs an Idempotency-Key: a retry never uses it twice."""
    store = _store(request)
    key = require_key(idempotency_key)
    if len(code) > 30:
        raise ApiError(422, "perks_invalid", _("A perk is named by its code (at most 30 characters)."), "code")

    def run() -> tuple[int, dict[str, Any]]:
        member = _member(member_no, store)
        use = perk_use(member=member, perk_code=code, store=store, clerk=_clerk(store, payload.clerk),
                       note=payload.note)
        left = next(p for p in perks_left(member, Card(number=use.card_number, kind=use.tier),
                                          timezone.localtime(use.used_at).date()) if p.perk.code == code)
        return 201, {"member_no": member.member_no, "card_number": use.card_number, "perk": perk_out(left),
                     "used_at": use.used_at.isoformat()}

    return idempotent(request, key=key, endpoint=f"perk:{member_no}:{code}", body=payload.model_dump(mode="json"),
                      run=run)


SEND_LIMITS = {"code_too_soon", "code_too_many", "code_too_many_from_address"}


@router.post("/members/{member_no}/stored-value/code", response={201: s.MemberCodeSentOut, **ERRORS},
             summary="Send the member a one-time code for a stored-value payment", auth=PosKeyAuth(for_write=True))
def stored_value_code(request, member_no: str, idempotency_key: str | None = IdempotencyKey):
    """Send a 6-digit one-time code by SMS to the member's phone on file. Typed as the checkout's `member_code`
    (instead of the card's PIN) it pays once, for this member, within its validity (5 minutes by default); a
    wrong one counts toward the card's lock-out like a wrong PIN. Only for a member the key's brand knows and the
    card this store serves. Refused: 404 `member_unknown`; 422 `stored_value_none`, `stored_value_frozen`,
    `stored_value_closed`, `stored_value_expired`, `member_code_locked` (the card's code is locked: no code is
    sent), `member_phone_missing`; 429 `code_too_soon` (one code a minute per phone), `code_too_many` (five an
    hour). Needs an Idempotency-Key: a retry never sends a second code."""
    from django.utils import timezone

    from membercare.core.phone import mask_phone
    from membercare.messaging.otp import minutes_valid
    from membercare.storedvalue.member_code import member_code_send
    from membercare.storedvalue.writes import StoredValueError

    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        member = _member(member_no, store)
        try:  # the POS system is the client: the key's own rate limit stands for the per-address one
            sent = member_code_send(member=member, store=store, by=None)
        except StoredValueError as exc:
            if exc.error_code in SEND_LIMITS:
                raise ApiError(429, exc.error_code, exc.text, exc.field) from exc
            raise
        return 201, {"member_no": member.member_no, "phone": mask_phone(sent.phone),
                     "valid_until": timezone.localtime(sent.expires_at).isoformat(), "valid_minutes": minutes_valid()}

    return idempotent(request, key=key, endpoint=f"sv_code:{member_no}", body={}, run=run)


def gift_card_out(card) -> dict[str, Any]:  # a storedvalue.GiftCard
    return {"serial": card.serial, "code_last4": card.code_last4, "status": card.status,
            "balance": money(card.balance), "valid_until": card.expires_on, "scope": card.batch.scope}


@router.post("/gift-cards/sell", response={201: s.GiftCardSaleOut, **ERRORS},
             summary="Sell (activate) gift cards", auth=PosKeyAuth(for_write=True))
def gift_cards_sell_endpoint(request, payload: s.GiftCardSellIn, idempotency_key: str | None = IdempotencyKey):
    """Sell gift cards (礼品卡) at this store, paid with one recorded payment method: each card's balance becomes
    its face value and its validity (the batch's days) starts today. All or nothing: a card already sold, void
    or of another brand, an unknown code (422 gift_card_unknown; wrong codes are counted per store and then
    refused for a while, 422 gift_card_locked), cash from the cash threshold, or a large sale without the
    buyer's name and ID number is refused with the reason and nothing is written. No points are earned: they
    come when the card is spent (payment method gift_card with its code in a checkout's payments). Needs an
    Idempotency-Key: a retry never sells twice."""
    store = _store(request)
    key = require_key(idempotency_key)

    def run() -> tuple[int, dict[str, Any]]:
        clerk = _clerk(store, payload.clerk)
        done = gift_cards_sell(codes=payload.codes, method=payload.method, store=store, by=None, operator=clerk,
                               buyer_name=payload.buyer_name, buyer_id_number=payload.buyer_id_number)
        return 201, {"sale_number": done.sale.number, "total": money(done.sale.total), "method": payload.method,
                     "cards": [gift_card_out(c) for c in done.cards]}

    # the buyer's ID number never enters the stored request hash (it could be searched offline)
    return idempotent(request, key=key, endpoint="gift_cards_sell",
                      body=payload.model_dump(mode="json", exclude={"buyer_id_number"}), run=run)


@router.post("/gift-cards/check", response={200: s.GiftCardOut, **ERRORS}, summary="A gift card's balance")
def gift_card_check(request, payload: s.GiftCardCheckIn):
    """The balance, status and validity of the gift card with this code (writes nothing; a wrong code counts
    towards the store's limit of wrong codes like a payment's). Refused: an unknown code (422
    gift_card_unknown), too many wrong codes (422 gift_card_locked), a card of another brand
    (422 gift_card_other_scope)."""
    from membercare.storedvalue.giftcards import find_card, scope_label, serves

    store = _store(request)
    try:
        card = find_card(payload.code, store)
    except core.CheckoutError as exc:
        raise ApiError(422, exc.error_code, exc.text, exc.field) from exc
    if not serves(card.batch.scope, store):
        raise ApiError(422, "gift_card_other_scope", _("Gift card %(serial)s is not accepted at this store "
                                                       "(cards of %(scope)s).") % {
            "serial": card.serial, "scope": scope_label(card.batch.scope)}, "code")
    return JsonResponse(gift_card_out(card), json_dumps_params={"ensure_ascii": False})


@router.get("/members/{member_no}/stored-value/movements", response={200: s.StoredValueMovementsOut, **ERRORS},
            summary="Stored-value movements")
def stored_value_movements(request, member_no: str, page: int = 1, page_size: int = 20):
    """Every movement on the member's stored-value cards (top-ups, spends, returns, refunds, forfeits, moves
    of a lost card), newest first, paginated (page_size at most 100). Only of a member the key's brand knows."""
    from membercare.storedvalue.models import EntryKind
    from membercare.storedvalue.selectors import member_entries

    if not 1 <= page <= 100_000 or not 1 <= page_size <= 100:
        raise ApiError(422, "invalid_parameter",
                       _("page must be between 1 and 100000 and page_size between 1 and 100."),
                       "page_size" if 1 <= page <= 100_000 else "page")
    from membercare.storedvalue.rules import current_rules
    from membercare.storedvalue.writes import scope_of

    store = _store(request)
    member = _member(member_no, store)
    # only the cards this store serves: with brand scopes another brand's movements are not this key's to read
    entries = member_entries(member.pk).filter(card__scope=scope_of(store, current_rules()))
    start = (page - 1) * page_size
    kinds = dict(EntryKind.choices)
    return {
        "member_no": member.member_no, "page": page, "page_size": page_size, "total": entries.count(),
        "entries": [{"id": e.pk, "card": e.card.number, "kind": e.kind, "kind_label": str(kinds.get(e.kind, e.kind)),
                     "principal": money(e.principal), "bonus": money(e.bonus), "amount": money(e.amount),
                     "created_at": e.created_at, "store": e.store.code if e.store_id else None,
                     "receipt": e.receipt.number if e.receipt_id else None, "reason": e.reason}
                    for e in entries[start:start + page_size]],
    }
