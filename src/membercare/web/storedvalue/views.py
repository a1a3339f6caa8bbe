"""The member's stored-value panel on the profile (balance, principal and bonus, the latest entries) and the
counter's top-up form. The rules (limits, bonus tiers, cash and real-name thresholds) are checked by
storedvalue.services; a refusal is shown with its reason and nothing is written."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.core.permissions import can_work_members, require
from membercare.loyalty.models import IdempotencyRecord
from membercare.members.models import Member
from membercare.sales.models import PaymentMethod
from membercare.storedvalue.models import StoredValueCard
from membercare.storedvalue.rules import METHOD_CODE
from membercare.storedvalue.selectors import card_entries, member_cards
from membercare.storedvalue.services import StoredValueError, member_code_set, top_up

from ..checkout.views import checkout_stores


def stored_value_panel(member: Member, user) -> dict:
    """What the profile's stored-value panel shows and offers."""
    cards = [(card, list(card_entries(card, limit=8))) for card in member_cards(member.pk)]
    payment_methods_ensure_default()  # as the checkout does: a till always has a way to take money
    return {
        "cards": cards,
        "stores": checkout_stores(user),
        "methods": PaymentMethod.objects.filter(is_active=True).exclude(code=METHOD_CODE).order_by("position"),
        "token": uuid.uuid4().hex,
    }


@require_POST
def stored_value_top_up(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=pk)
    require(can_work_members(request.user))
    store = checkout_stores(request.user).filter(pk=request.POST.get("store") or 0).first()
    back = redirect(reverse("member_detail", args=[member.pk]) + "#stored-value")
    if store is None:
        messages.error(request, _("Choose a store you work at."))
        return back
    token = (request.POST.get("token") or "")[:60]
    try:
        with transaction.atomic():
            if token:  # one top-up per form, even on a double tap
                IdempotencyRecord.objects.create(store=store, key=f"web-top-up:{token}", endpoint="web",
                                                 request_hash="", status_code=201, response={},
                                                 created_at=timezone.now())
            done = top_up(member=member, amount=request.POST.get("amount", ""), method=request.POST.get("method", ""),
                          store=store, by=request.user)
    except StoredValueError as exc:
        messages.error(request, exc.text)
        return back
    except IntegrityError:
        messages.info(request, _("This top-up was already recorded."))
        return back
    messages.success(request, _("Topped up ¥%(amount)s (bonus ¥%(bonus)s): the balance of %(card)s is ¥%(balance)s.")
                     % {"amount": done.principal, "bonus": done.bonus, "card": done.card.number,
                        "balance": (done.card.principal + done.card.bonus).quantize(Decimal("0.01"))})
    return back


@require_POST
def stored_value_member_code(request: HttpRequest, pk: int) -> HttpResponse:
    """The member types a new code (twice) on the counter's keypad; kept hashed, never shown."""
    member = get_object_or_404(Member, pk=pk)
    require(can_work_members(request.user))
    back = redirect(reverse("member_detail", args=[member.pk]) + "#stored-value")
    card = StoredValueCard.objects.filter(member=member, pk=request.POST.get("card") or 0).first()
    store = checkout_stores(request.user).filter(pk=request.POST.get("store") or 0).first()
    if card is None or store is None:
        messages.error(request, _("Choose a store you work at."))
        return back
    code, again = request.POST.get("code", ""), request.POST.get("code_again", "")
    if code != again:
        messages.error(request, _("The two member codes differ: type the same code twice."))
        return back
    try:
        member_code_set(card=card, code=code, by=request.user, store=store)
    except StoredValueError as exc:
        messages.error(request, exc.text)
        return back
    messages.success(request, _("The member code of %(card)s is set.") % {"card": card.number})
    return back
