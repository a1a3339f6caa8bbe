"""The member's stored-value panel on the profile (balance, principal and bonus, the latest entries) and what
the counter does there: a top-up, the member's code, freezing and unfreezing the card, moving a lost card's
balance to a new card, asking HQ to refund the balance. The rules (limits, bonus tiers, cash and real-name
thresholds, who may act at which store) are checked by storedvalue's writes (topup, member_code, lost_cards,
refunds); a refusal is shown with its reason and nothing is written. Each action answers htmx with the panel
re-rendered (its notice inside), a plain post with the profile again."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.core.permissions import can_work_members, require
from membercare.members.models import Member
from membercare.org.models import Store
from membercare.sales.models import PaymentMethod
from membercare.storedvalue.lost_cards import freeze, transfer, unfreeze
from membercare.storedvalue.member_code import member_code_set
from membercare.storedvalue.models import CardState, StoredValueCard, StoredValueEntry
from membercare.storedvalue.refunds import request_refund
from membercare.storedvalue.rules import METHOD_CODE
from membercare.storedvalue.selectors import card_entries, card_refunds, member_cards
from membercare.storedvalue.topup import TopUp, top_up
from membercare.storedvalue.writes import StoredValueError

from ..checkout.views import checkout_stores
from ..once import once

log = logging.getLogger(__name__)
REASON_MAX = 200


def _acting_store(member: Member, stores) -> Store | None:
    """The store the counter acts for: the member's home store when the user works there, else their first."""
    return next((s for s in stores if s.pk == member.home_store_id), None) or next(iter(stores), None)


def stored_value_panel(member: Member, user, *, notice: tuple[str, str] | None = None,
                       confirm_transfer: int | None = None, typed=None) -> dict:
    """What the profile's stored-value panel shows and offers. `notice`: (level, text) shown inside the panel
    (an htmx answer); `confirm_transfer`: the card whose move to a new card is being confirmed; `typed`: what a
    refused form held, put back in it."""
    cards = []
    for card in member_cards(member.pk):
        refunds = card_refunds(card)
        pending = next((r for r in refunds if r.status == "pending"), None)
        cards.append({"card": card, "entries": list(card_entries(card, limit=8)), "refunds": refunds,
                      "pending": pending, "confirm": card.pk == confirm_transfer})
    payment_methods_ensure_default()  # as the checkout does: a till always has a way to take money
    stores = list(checkout_stores(user))
    acting = _acting_store(member, stores)
    return {
        "cards": cards,
        "stores": stores,
        "acting_store": acting,
        "methods": PaymentMethod.objects.filter(is_active=True).exclude(code=METHOD_CODE).order_by("position"),
        "token": uuid.uuid4().hex,
        "notice": notice,
        "typed": typed or {},
    }


def _answer(request: HttpRequest, member: Member, level: str, text: str, *, status: int = 200,
            confirm_transfer: int | None = None) -> HttpResponse:
    """htmx: the panel re-rendered with the notice in it (status 200 even for a refusal, which htmx would not
    swap in: the notice says it); otherwise the notice as a message and the profile."""
    if request.htmx:
        panel = stored_value_panel(member, request.user, notice=(level, text) if text else None,
                                   confirm_transfer=confirm_transfer,
                                   typed=request.POST if level == "error" else None)
        response = render(request, "web/storedvalue/_profile_panel.html", {"member": member, "stored_value": panel})
        response["X-Refused"] = "1" if status >= 400 else "0"
        return response
    if text:
        getattr(messages, level)(request, text)
    url = reverse("member_detail", args=[member.pk])
    if confirm_transfer:
        url = reverse("stored_value_transfer", args=[member.pk, confirm_transfer])
    return redirect(url + "#stored-value")


def _card_and_store(request: HttpRequest, member: Member, card_pk: int) -> tuple[StoredValueCard, Store]:
    """The member's card and the store the user acts for (one they work at), or 403/404."""
    require(can_work_members(request.user))
    card = get_object_or_404(StoredValueCard, pk=card_pk, member=member)
    stores = list(checkout_stores(request.user))
    wanted = request.POST.get("store") or request.GET.get("store")
    store = next((s for s in stores if str(s.pk) == wanted), None) if wanted else _acting_store(member, stores)
    require(store is not None)
    return card, store


def _top_up_saved(done: TopUp) -> dict:
    return {"entry": done.entry.pk}


def _top_up_loaded(response: dict) -> TopUp:
    entry = StoredValueEntry.objects.select_related("card").get(pk=response["entry"])
    return TopUp(card=entry.card, entry=entry, principal=entry.principal, bonus=entry.bonus)


@require_POST
def stored_value_top_up(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=pk)
    require(can_work_members(request.user))
    store = checkout_stores(request.user).filter(pk=request.POST.get("store") or 0).first()
    if store is None:
        return _answer(request, member, "error", _("Choose a store you work at."), status=422)
    token = (request.POST.get("token") or "")[:60]

    def write() -> TopUp:
        return top_up(member=member, amount=request.POST.get("amount", "")[:30],
                      method=request.POST.get("method", "")[:30], store=store, by=request.user)

    try:  # one top-up per form, even on a double tap (the checkout's guard)
        done, replayed = (once(store, f"web-top-up:{token}", write, save=_top_up_saved, load=_top_up_loaded)
                          if token else (write(), False))
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    except IntegrityError:
        log.exception("stored-value top-up refused by the database (member %s, store %s)", member.pk, store.pk)
        return _answer(request, member, "error", _(
            "The top-up was not recorded: the database refused it. Nothing was written; try again, and tell IT "
            "if it happens again."), status=500)
    if replayed:
        return _answer(request, member, "info", _("This top-up was already recorded."))
    return _answer(request, member, "success", _(
        "Topped up ¥%(amount)s (bonus ¥%(bonus)s): the balance of %(card)s is ¥%(balance)s.") % {
        "amount": done.principal, "bonus": done.bonus, "card": done.card.number,
        "balance": (done.card.principal + done.card.bonus).quantize(Decimal("0.01"))})


@require_POST
def stored_value_member_code(request: HttpRequest, pk: int) -> HttpResponse:
    """The member types a new code (twice) on the counter's keypad; kept hashed, never shown."""
    member = get_object_or_404(Member, pk=pk)
    require(can_work_members(request.user))
    card = StoredValueCard.objects.filter(member=member, pk=request.POST.get("card") or 0).first()
    store = checkout_stores(request.user).filter(pk=request.POST.get("store") or 0).first()
    if card is None or store is None:
        return _answer(request, member, "error", _("Choose a store you work at."), status=422)
    code, again = request.POST.get("code", "")[:20], request.POST.get("code_again", "")[:20]
    if code != again:
        return _answer(request, member, "error", _("The two member codes differ: type the same code twice."),
                       status=422)
    try:
        member_code_set(card=card, code=code, by=request.user, store=store)
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    return _answer(request, member, "success", _("The member code of %(card)s is set.") % {"card": card.number})


def _reason(request: HttpRequest) -> str:
    return (request.POST.get("reason") or "").strip()[:REASON_MAX]


@require_POST
def stored_value_freeze(request: HttpRequest, pk: int, card: int) -> HttpResponse:
    """Stop the card at once (reported lost, a dispute); a reason is required."""
    member = get_object_or_404(Member, pk=pk)
    sv_card, store = _card_and_store(request, member, card)
    try:
        freeze(card=sv_card, by=request.user, reason=_reason(request), store=store)
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    return _answer(request, member, "success", _(
        "Stored-value card %(card)s is frozen: nothing can be spent or topped up until it is unfrozen or moved "
        "to a new card.") % {"card": sv_card.number})


@require_POST
def stored_value_unfreeze(request: HttpRequest, pk: int, card: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=pk)
    sv_card, store = _card_and_store(request, member, card)
    try:
        unfreeze(card=sv_card, by=request.user, store=store)
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    return _answer(request, member, "success", _("Stored-value card %(card)s can be used again.") % {
        "card": sv_card.number})


def stored_value_transfer(request: HttpRequest, pk: int, card: int) -> HttpResponse:
    """A lost card: first the confirmation (the balances that move), then the move to a new card."""
    member = get_object_or_404(Member, pk=pk)
    sv_card, store = _card_and_store(request, member, card)
    if request.method != "POST" or request.POST.get("confirm") != "1":
        if sv_card.status == CardState.CLOSED:
            return _answer(request, member, "error", _("Stored-value card %(number)s is closed.") % {
                "number": sv_card.number}, status=422)
        if request.htmx:
            return _answer(request, member, "info", "", confirm_transfer=sv_card.pk)
        return render(request, "web/storedvalue/transfer_confirm.html", {
            "member": member, "card": sv_card, "store": store})
    try:
        new = transfer(card=sv_card, by=request.user, store=store)
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    return _answer(request, member, "success", _(
        "The balance of %(old)s (principal ¥%(principal)s, bonus ¥%(bonus)s) is on the new card %(new)s; "
        "%(old)s is closed.") % {"old": sv_card.number, "new": new.number, "principal": new.principal,
                                 "bonus": new.bonus})


@require_POST
def stored_value_refund_request(request: HttpRequest, pk: int, card: int) -> HttpResponse:
    """The member asks for the balance back: a request HQ approves (principal paid back, bonus forfeited)."""
    member = get_object_or_404(Member, pk=pk)
    sv_card, store = _card_and_store(request, member, card)
    try:
        request_refund(card=sv_card, by=request.user, reason=_reason(request), store=store)
    except StoredValueError as exc:
        return _answer(request, member, "error", exc.text, status=422)
    return _answer(request, member, "success", _(
        "The refund of %(card)s is requested: HQ approves it, then the principal is paid back and the bonus is "
        "forfeited.") % {"card": sv_card.number})
