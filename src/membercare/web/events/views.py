"""VIP event pages: list, new/edit, invite (audience, hold-out, preview counts), detail (RSVPs, attendance,
results), the door's check-in page (htmx search, one tap), the public RSVP page, and the referral panel's
actions on the member profile. Thin: the rules live in events.services, events.selectors, events.referrals."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import can_see_full_phone, can_work_members, require, visible_stores
from membercare.core.phone import mask_phone
from membercare.core.public import public_base_url
from membercare.events.models import Event, Invitation
from membercare.events.referrals import referral_code_for, referral_record
from membercare.events.selectors import event_counts, event_guests, event_results, recent_check_ins, visible_events
from membercare.events.services import (
    can_check_in,
    can_manage_event,
    can_run_events,
    check_in,
    event_invite,
    event_save,
    find_for_check_in,
    invitation_by_token,
    invite_preview,
    rsvp_answer,
)
from membercare.members.models import Member
from membercare.messaging.holdout import new_seed
from membercare.messaging.policy import EXCLUSION_REASONS

from ..forms import add_service_errors
from .forms import EventForm, InviteForm, ReferralCodeForm, RsvpForm


def _event(request: HttpRequest, pk: int) -> Event:
    event = visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404
    return event


def event_list_page(request: HttpRequest) -> HttpResponse:
    """/events/: upcoming and past events the user may see."""
    now = timezone.now()
    events = visible_events(request.user)
    upcoming = list(events.filter(ends_at__gte=now).order_by("starts_at", "pk"))
    past = Paginator(events.filter(ends_at__lt=now).order_by("-starts_at", "-pk"), 30).get_page(
        request.GET.get("page"))
    return render(request, "web/events/list.html", {"upcoming": upcoming, "past": past,
                                                     "can_create": can_run_events(request.user)})


def event_edit_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """/events/new/ and /events/<pk>/edit/."""
    require(can_run_events(request.user))
    event = _event(request, pk) if pk else None
    if event is not None:
        require(can_manage_event(request.user, event))
    form = EventForm(request.POST or None, user=request.user,
                     initial=EventForm.initial_from(event) if event else {"kind": Event.Kind.SALON})
    if request.method == "POST" and form.is_valid():
        try:
            saved = event_save(data=form.data_for_service(), by=request.user, event=event)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Event “%(title)s” saved.") % {"title": saved.title})
            return redirect("event_detail", pk=saved.pk)
    return render(request, "web/events/form.html", {"form": form, "event": event})


def event_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/events/<pk>/: facts, counts, the guests with their answers and attendance, and the results."""
    event = _event(request, pk)
    answer = request.GET.get("answer")
    guests = Paginator(event_guests(event, answer=answer if answer in ("yes", "no", "") else None), 50).get_page(
        request.GET.get("page"))
    full = can_see_full_phone(request.user)
    for inv in guests:
        inv.phone_shown = inv.member.phone if full else mask_phone(inv.member.phone)
        inv.reason_label = EXCLUSION_REASONS.get(inv.skip_reason, inv.skip_reason)
    return render(request, "web/events/detail.html", {
        "event": event, "counts": event_counts(event), "results": event_results(event), "guests": guests,
        "answer": answer, "can_manage": can_manage_event(request.user, event),
        "can_check_in": can_check_in(request.user, event), "stores": list(event.stores.all())})


def event_invite_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/events/<pk>/invite/: audience + hold-out → preview counts → invite (one message per member, own link)."""
    event = _event(request, pk)
    require(can_manage_event(request.user, event))
    initial = {"seed": new_seed(), "holdout_pct": 0}
    if request.GET.get("at_risk"):  # from the prediction page: its list is the audience (re-derived on POST)
        initial["at_risk"] = request.GET["at_risk"]
    form = InviteForm(request.POST or None, user=request.user, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        seed = form.cleaned_data.get("seed") or new_seed()
        audience, share = form.audience(), form.holdout_share()
        if request.POST.get("action") == "invite":
            try:
                result = event_invite(event=event, audience=audience, template=form.cleaned_data["template"],
                                      by=request.user, base_url=public_base_url(request),
                                      holdout_share=share, seed=seed)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(invited)d member(s) invited, %(sent)d message(s) queued, "
                                            "%(held)d in the hold-out group.") % {
                    "invited": result["invited"], "sent": result["sent"], "held": result["held_out"]})
                return redirect("event_detail", pk=event.pk)
        try:
            preview = invite_preview(event=event, audience=audience, holdout_share=share, seed=seed,
                                     by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "web/events/invite.html", {"form": form, "event": event, "preview": preview,
                                                      "counts": event_counts(event),
                                                      "at_risk": form.at_risk_source()})


# ----------------------------------------------------------------------------------------------- check-in


def _door(request: HttpRequest, pk: int) -> Event:
    event = _event(request, pk)
    require(can_check_in(request.user, event))
    return event


def _door_store(request: HttpRequest, event: Event):
    """The store the clerk checks in at: one of the event's stores among theirs (None for HQ elsewhere)."""
    mine = visible_stores(request.user)
    stores = list(event.stores.all())
    for store in stores:
        if mine.filter(pk=store.pk).exists():
            return store
    return mine.filter(brand_id=event.brand_id).first() if event.brand_id else None


def checkin_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/events/<pk>/checkin/: a big search box (phone, card or the scanned invitation), one tap to check in."""
    event = _door(request, pk)
    done = None
    if request.method == "POST":
        member = get_object_or_404(Member, pk=request.POST.get("member") or 0)
        try:
            done = check_in(event=event, member=member, by=request.user, store=_door_store(request, event))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        if request.headers.get("HX-Request"):
            return render(request, "web/events/_checkin_done.html", {"event": event, "done": done,
                                                                     "counts": event_counts(event)})
    return render(request, "web/events/checkin.html", {"event": event, "done": done, "counts": event_counts(event),
                                                       "recent": recent_check_ins(event)})


def checkin_find_partial(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the members matching what was typed or scanned, with their invitation and whether they are in."""
    event = _door(request, pk)
    invitation, members = find_for_check_in(event, request.GET.get("q", ""))
    ids = [m.pk for m in members]
    invitations = {i.member_id: i for i in Invitation.objects.filter(event=event, member_id__in=ids)}
    attended = set(event.attendances.filter(member_id__in=ids).values_list("member_id", flat=True))
    full = can_see_full_phone(request.user)
    rows = [{"member": m, "phone": m.phone if full else mask_phone(m.phone), "invitation": invitations.get(m.pk),
             "attended": m.pk in attended} for m in members]
    response = render(request, "web/events/_checkin_results.html", {"event": event, "rows": rows,
                                                                    "q": request.GET.get("q", "")})
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------ public RSVP


def rsvp_page(request: HttpRequest, token: str) -> HttpResponse:
    """/rsvp/<token>/: the member's answer, without login. A forged or unknown token is a 404."""
    invitation = invitation_by_token(token)
    if invitation is None:
        return render(request, "web/events/rsvp_invalid.html", status=404)
    form = RsvpForm(request.POST or None, initial={
        "answer": invitation.rsvp or None, "party_size": invitation.party_size or 1})
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            invitation = rsvp_answer(token=token, coming=form.cleaned_data["answer"] == "yes",
                                     party_size=form.cleaned_data.get("party_size") or 1)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            saved = True
    response = render(request, "web/events/rsvp.html", {"invitation": invitation, "event": invitation.event,
                                                        "form": form, "saved": saved,
                                                        "stores": list(invitation.event.stores.all())})
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


# ------------------------------------------------------------------------------------- referral (profile)


@require_POST
def member_referral_code(request: HttpRequest, pk: int) -> HttpResponse:
    """Make (or show) the member's referral code."""
    require(can_work_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    code = referral_code_for(member)
    messages.success(request, _("Referral code of %(name)s: %(code)s") % {"name": member.name, "code": code})
    return redirect("member_detail", pk=member.pk)


@require_POST
def member_referred_by(request: HttpRequest, pk: int) -> HttpResponse:
    """Record who brought this member (a member who has not bought yet), by the referrer's code."""
    require(can_work_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    form = ReferralCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a referral code."))
        return redirect("member_detail", pk=member.pk)
    try:
        referral = referral_record(referred=member, code=form.cleaned_data["referral_code"], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied:
        raise
    else:
        messages.success(request, _("Recorded: %(name)s was brought by %(referrer)s.") % {
            "name": member.name, "referrer": referral.referrer.name})
    return redirect("member_detail", pk=member.pk)
