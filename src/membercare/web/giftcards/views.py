"""Gift-card pages: HQ's batches (list with what was sold, spent and is outstanding; a new batch; a batch's
cards and its one export of the codes) and the counter's sale of gift cards and a card's page (its movements,
moving a bound card to another member). Thin: the rules live in storedvalue.giftcards, giftcard_batches,
giftcard_spend and their selectors."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.core.permissions import can_edit_programme, can_work_members, require
from membercare.core.xlsx import CONTENT_TYPE
from membercare.loyalty.models import IdempotencyRecord
from membercare.members.models import Member
from membercare.sales.models import PaymentMethod
from membercare.storedvalue import giftcard_selectors as sel
from membercare.storedvalue.giftcard_batches import batch_create, batch_export, batch_limits, gift_cards_sell
from membercare.storedvalue.giftcard_spend import gift_card_transfer, gift_card_void
from membercare.storedvalue.giftcards import GIFT_METHOD_CODE, masked, scope_label
from membercare.storedvalue.models import GiftCard, GiftCardBatch, GiftCardState
from membercare.storedvalue.rules import METHOD_CODE

from ..checkout.views import checkout_stores
from ..forms import add_service_errors
from .forms import BatchForm, SellForm, TransferForm, VoidForm


def gift_card_batches_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    page = Paginator(sel.batch_list(), 30).get_page(request.GET.get("page"))
    for batch in page:
        batch.scope_label = scope_label(batch.scope)
    return render(request, "web/giftcards/batch_list.html", {"page": page})


def gift_card_batch_new_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    max_face, min_days = batch_limits()
    form = BatchForm(request.POST or None, max_face=max_face, min_days=min_days,
                     initial={"valid_days": min_days, "face_value": max_face})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            batch = batch_create(by=request.user, name=d["name"], face_value=d["face_value"], count=d["count"],
                                 valid_days=d["valid_days"], scope=d["scope"] or "")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Gift card batch “%(name)s” made: %(n)d cards. Export the codes once for "
                                        "printing.") % {"name": batch.name, "n": batch.count})
            return redirect("gift_card_batch", pk=batch.pk)
    return render(request, "web/giftcards/batch_new.html", {"form": form}, status=422 if form.errors else 200)


def gift_card_batch_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_edit_programme(request.user))
    batch = get_object_or_404(GiftCardBatch.objects.select_related("created_by", "exported_by"), pk=pk)
    cards = Paginator(GiftCard.objects.filter(batch=batch).select_related("member", "activated_store")
                      .order_by("serial"), 50).get_page(request.GET.get("page"))
    for card in cards:
        card.masked = masked(card)
    return render(request, "web/giftcards/batch_detail.html", {
        "batch": batch, "figures": sel.batch_figures(batch), "cards": cards, "scope": scope_label(batch.scope)})


@require_POST
def gift_card_batch_export(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_edit_programme(request.user))
    batch = get_object_or_404(GiftCardBatch, pk=pk)
    try:
        out, filename = batch_export(batch=batch, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("gift_card_batch", pk=batch.pk)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=CONTENT_TYPE)


def _methods():
    payment_methods_ensure_default()
    return PaymentMethod.objects.filter(is_active=True).exclude(code__in=(METHOD_CODE, GIFT_METHOD_CODE)).order_by(
        "position")


def gift_card_sell_page(request: HttpRequest) -> HttpResponse:
    """The counter sells gift cards: codes, the payment method, the store; a large purchase names the buyer."""
    require(can_work_members(request.user))
    stores = list(checkout_stores(request.user))
    form = SellForm(request.POST or None, stores=stores, methods=_methods(), initial={"token": uuid.uuid4().hex})
    done = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        store = next(s for s in stores if str(s.pk) == d["store"])
        try:
            with transaction.atomic():
                if d["token"]:  # one sale per form, even on a double tap
                    IdempotencyRecord.objects.create(store=store, key=f"web-gift-sell:{d['token'][:40]}",
                                                     endpoint="web", request_hash="", status_code=201, response={},
                                                     created_at=timezone.now())
                done = gift_cards_sell(codes=form.code_list(), method=d["method"], store=store, by=request.user,
                                       buyer_name=d["buyer_name"], buyer_id_number=d["buyer_id_number"])
        except IntegrityError:
            messages.info(request, _("This sale was already recorded."))
            return redirect("gift_card_sell")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            for card in done.cards:
                card.masked = masked(card)
            form = SellForm(stores=stores, methods=_methods(), initial={"token": uuid.uuid4().hex,
                                                                        "store": str(store.pk)})
    return render(request, "web/giftcards/sell.html", {"form": form, "done": done},
                  status=422 if form.errors else 200)


def gift_card_page(request: HttpRequest, serial: str) -> HttpResponse:
    """A card by its printed number: status, balance, holder, movements; staff move a bound card to another
    member."""
    require(can_work_members(request.user))
    card = sel.card_by_serial(serial[:20])
    if card is None:
        raise Http404
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = Member.objects.filter(member_no=form.cleaned_data["member_no"].strip()).first()
        if member is None:
            form.add_error("member_no", _("No member has this number."))
        else:
            try:
                gift_card_transfer(card=card, to=member, by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc, field_for=lambda key: "member_no")
            else:
                messages.success(request, _("Gift card %(serial)s now belongs to %(name)s.") % {
                    "serial": card.serial, "name": member.name})
                return redirect("gift_card_detail", serial=card.serial)
    return render(request, "web/giftcards/card.html", {
        "card": card, "masked": masked(card), "entries": sel.card_entries(card), "form": form,
        "scope": scope_label(card.batch.scope),
        "can_void": card.status == GiftCardState.NEW and can_edit_programme(request.user)},
        status=422 if form.errors else 200)


def gift_card_void_page(request: HttpRequest, serial: str) -> HttpResponse:
    """HQ voids an unsold card (lost or stolen stock): a reason and a confirmation; a card that cannot be voided
    (sold, spent, already void) is refused with the reason and nothing is written."""
    require(can_edit_programme(request.user))
    card = sel.card_by_serial(serial[:20])
    if card is None:
        raise Http404
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            gift_card_void(card=card, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Gift card %(serial)s is void.") % {"serial": card.serial})
            return redirect("gift_card_detail", serial=card.serial)
    return render(request, "web/giftcards/void.html", {
        "card": card, "masked": masked(card), "form": form, "scope": scope_label(card.batch.scope)},
        status=422 if form.errors else 200)
