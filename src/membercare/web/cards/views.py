"""Card pages: a clerk files applications and reports lost cards, the member signs for a card, and the VIP
specialist works the review queue. Thin: the rules and permissions live in loyalty.cards / selectors."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import can_edit_programme, can_work_members, require
from membercare.loyalty.cards import (
    CardError,
    application_approve,
    application_reject,
    card_activate_on_signature,
    card_apply,
    card_report_lost,
)
from membercare.loyalty.models import Card, CardApplication, CardKind, CardStatus
from membercare.loyalty.programme import card_label, programme_at
from membercare.loyalty.selectors import (
    application_counts,
    application_get,
    application_list,
    card_awaiting_signature,
    card_list_of_member,
    with_spend_context,
)
from membercare.members.models import Member

from ..forms import add_service_errors
from .forms import CardApplicationForm


def _member(request: HttpRequest) -> Member:
    pk = request.GET.get("member") or request.POST.get("member") or ""
    if not pk.isdigit():
        raise Http404
    return get_object_or_404(Member, pk=int(pk))


def apply_page(request: HttpRequest) -> HttpResponse:
    """/cards/apply/?member=<id>: a clerk files an application for the member."""
    require(can_work_members(request.user))
    member = _member(request)
    initial = {"kind": request.GET.get("kind", CardApplication.Kind.NEW),
               "card_kind": request.GET.get("card_kind", CardKind.ELITE),
               "old_card_number": request.GET.get("old", ""),
               "store": request.user.stores.order_by("pk").first() or member.home_store}
    form = CardApplicationForm(request.POST or None, initial=initial, user=request.user, member=member)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app = card_apply(member=member, kind=data["kind"], card_kind=data["card_kind"], store=data["store"],
                             by=request.user, old_card_number=data["old_card_number"], note=data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Application filed: %(kind)s, %(card)s, for %(name)s.") % {
                "kind": app.get_kind_display(), "card": card_label(app.card_kind), "name": member.name})
            return redirect("card_member", pk=member.pk)
    return render(request, "web/cards/apply.html", {"form": form, "member": member})


def applications_page(request: HttpRequest) -> HttpResponse:
    """The review queue (specialist: the whole chain; others: their stores' applications), pending first."""
    require(can_work_members(request.user))
    status = request.GET.get("status", "")
    if status and status not in CardApplication.Status.values:
        status = ""
    page = Paginator(application_list(request.user, status=status), 50).get_page(request.GET.get("page"))
    page.object_list = with_spend_context(list(page.object_list))
    return render(request, "web/cards/applications.html", {
        "page": page, "status": status, "statuses": CardApplication.Status.choices,
        "counts": application_counts(request.user), "can_review": can_edit_programme(request.user),
    })


def _row(request: HttpRequest, app: CardApplication, error: str = "", status: int = 200) -> HttpResponse:
    app = application_get(request.user, app.pk) or app
    with_spend_context([app])
    return render(request, "web/cards/_application_row.html", {
        "app": app, "error": error, "can_review": can_edit_programme(request.user)}, status=status)


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    app = application_get(request.user, pk)
    if app is None:
        raise Http404
    try:
        action(app)
    except PermissionDenied:
        raise
    except CardError as exc:
        if request.htmx:
            return _row(request, app, exc.text)
        messages.error(request, exc.text)
        return redirect("card_applications")
    except ValidationError as exc:
        text = " ".join(exc.messages)
        if request.htmx:
            return _row(request, app, text)
        messages.error(request, text)
        return redirect("card_applications")
    if request.htmx:
        return _row(request, app)
    messages.success(request, success)
    return redirect("card_applications")


@require_POST
def application_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_edit_programme(request.user))
    return _act(request, pk, lambda app: application_approve(application=app, by=request.user),
                _("Approved: the card is waiting for the member's signature."))


@require_POST
def application_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_edit_programme(request.user))
    reason = request.POST.get("reason", "")
    return _act(request, pk, lambda app: application_reject(application=app, by=request.user, reason=reason),
                _("Application rejected."))


@require_POST
def application_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The member signed for the card at the counter."""
    require(can_work_members(request.user))

    def activate(app: CardApplication) -> None:
        if app.new_card is None:
            raise CardError("card_not_pending", _("This application has no card waiting for a signature."), "card")
        card_activate_on_signature(card=app.new_card, by=request.user)

    return _act(request, pk, activate, _("The member signed: the card is active."))


def member_cards_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's cards (with their state and what replaced them) and applications; links to act on them."""
    require(can_work_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    cards = list(card_list_of_member(member))
    programme = programme_at()
    for card in cards:
        card.awaiting = card_awaiting_signature(card) if card.status == CardStatus.PENDING else None
        card.label = programme.label(card.kind)
        card.previous_label = programme.label(card.previous_kind) if card.previous_kind else ""
    return render(request, "web/cards/member.html", {
        "member": member, "cards": cards,
        "applications": with_spend_context(list(application_list(request.user, member=member))),
        "can_review": can_edit_programme(request.user),
    })


def report_lost_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The member reports a card lost: after the identity check the number stops working at once."""
    require(can_work_members(request.user))
    card = get_object_or_404(Card.objects.select_related("member"), pk=pk)
    error = ""
    if request.method == "POST":
        try:
            card_report_lost(card=card, by=request.user, reason=request.POST.get("reason", ""))
        except CardError as exc:
            error = exc.text
        else:
            messages.success(request, _("Card %(number)s no longer works anywhere. A reissue application was filed.")
                             % {"number": card.number})
            return redirect("card_member", pk=card.member_id)
    return render(request, "web/cards/lost.html", {"card": card, "error": error,
                                                    "reason": request.POST.get("reason", "")})
