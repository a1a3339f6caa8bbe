"""The member centre's pages under /m/ (issue 22): sign-in by SMS code, joining by a poster, the electronic card.

Mobile-first and light: no framework, one small stylesheet, the card's QR code drawn on the server as SVG
(segno) and refreshed by a few lines of script. Members have their own session (cookie `mc_member`, path
/m/; membercentre.models.MemberSession), never a staff session: the staff login middleware lets /m/ through
and every page here checks the member's session itself."""

from __future__ import annotations

from functools import wraps

import segno
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.campaigns.mall import gift_stores, mall_items, mall_redeem, member_redemptions
from membercare.campaigns.models import MallItem, MallRedemption
from membercare.core.phone import normalize_phone
from membercare.events.models import Invitation
from membercare.loyalty.donations import member_donations, points_donate
from membercare.loyalty.points import points_balance
from membercare.loyalty.programme import programme_at
from membercare.members.cardcode import WINDOW_SECONDS, card_code
from membercare.members.models import Member
from membercare.members.services import member_update
from membercare.members.validation import clean_member_data
from membercare.messaging.models import MessageChannel, OptOut
from membercare.messaging.otp import CodeRefused, code_send, code_verify
from membercare.messaging.policy import MESSAGE_CHANNELS
from membercare.messaging.services import opt_out
from membercare.org.models import Store
from membercare.privacy.requests import data_request_create, member_data_requests
from membercare.service.complaints import complaint_from_member
from membercare.service.errors import ServiceError
from membercare.service.models import Survey
from membercare.service.survey_form import SurveyAnswerForm
from membercare.service.surveys import survey_answer

from .forms import CodeForm, FeedbackForm, JoinForm, PhoneForm, PreferencesForm
from .selectors import card_page, session_of
from .services import member_join, poster_from_token, session_end, session_start, session_touch
from .wechat import get_adapter, link_openid

COOKIE = "mc_member"
COOKIE_PATH = "/m/"
_PENDING_SALT = "membercare.membercentre.pending"
_WECHAT_SALT = "membercare.membercentre.wechat"
WECHAT_COOKIE = "mc_wx"  # an openid met at a WeChat sign-in, waiting for a phone sign-in to link it
PENDING_SECONDS = 15 * 60  # a started sign-in or join is finished within this


def _client_ip(request: HttpRequest) -> str:
    return (request.META.get("REMOTE_ADDR") or "")[:45]


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def member_required(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        session = session_of(request.COOKIES.get(COOKIE, ""))
        if session is None:
            return redirect("m_signin")
        session_touch(session)
        request.member_session = session
        request.member = session.member
        return _no_store(view(request, *args, **kwargs))
    return wrapped


def _signed_in(request: HttpRequest, member) -> HttpResponse:
    key = session_start(member=member, ip=_client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
    response = redirect("m_card")
    response.set_cookie(COOKIE, key, max_age=30 * 86400, path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=settings.SESSION_COOKIE_SECURE)
    return response


def signin(request: HttpRequest) -> HttpResponse:
    """/m/: the phone number; a code goes to it by SMS (the same answer whether or not a member has it)."""
    if session_of(request.COOKIES.get(COOKIE, "")) is not None:
        return redirect("m_card")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = code_send(form.cleaned_data["phone"], "member_login", ip=_client_ip(request))
        except CodeRefused as exc:
            form.add_error("phone", exc.message)
        else:
            token = signing.dumps({"p": sent.phone}, salt=_PENDING_SALT)
            return redirect(f"{request.path}code/?t={token}")
    return _no_store(render(request, "membercentre/signin.html", {
        "form": form, "wechat": get_adapter() is not None, "wechat_unlinked": bool(_pending_openid(request))}))


def _pending_openid(request: HttpRequest) -> str | None:
    try:
        return signing.loads(request.COOKIES.get(WECHAT_COOKIE, "")[:500], salt=_WECHAT_SALT, max_age=PENDING_SECONDS)
    except signing.BadSignature:
        return None


def wechat_start(request: HttpRequest) -> HttpResponse:
    """/m/wechat/: to the official account's authorisation page (only when WeChat is connected)."""
    adapter = get_adapter()
    if adapter is None:
        raise Http404
    state = signing.dumps("wx", salt=_WECHAT_SALT)
    return redirect(adapter.authorize_url(request.build_absolute_uri("/m/wechat/back/"), state))


def wechat_back(request: HttpRequest) -> HttpResponse:
    """/m/wechat/back/?code=&state=: signed in when the openid is a member's; else remembered (signed, 15
    minutes) until the member signs in once by phone, which links it."""
    adapter = get_adapter()
    if adapter is None:
        raise Http404
    try:
        signing.loads(request.GET.get("state", "")[:500], salt=_WECHAT_SALT, max_age=PENDING_SECONDS)
    except signing.BadSignature:
        return redirect("m_signin")
    openid = adapter.openid_from_code(request.GET.get("code", "")[:200])
    if not openid:
        return redirect("m_signin")
    member = Member.objects.filter(wechat_id=openid).first()
    if member is not None:
        return _signed_in(request, member)
    response = redirect("m_signin")
    response.set_cookie(WECHAT_COOKIE, signing.dumps(openid, salt=_WECHAT_SALT), max_age=PENDING_SECONDS,
                        path=COOKIE_PATH, httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    return response


def _pending(request: HttpRequest) -> dict | None:
    token = request.POST.get("t") or request.GET.get("t") or ""
    if len(token) > 2000:
        return None
    try:
        return signing.loads(token, salt=_PENDING_SALT, max_age=PENDING_SECONDS)
    except signing.BadSignature:
        return None


def signin_code(request: HttpRequest) -> HttpResponse:
    """/m/code/: the code from the SMS; right → signed in."""
    pending = _pending(request)
    if pending is None or "p" not in pending:
        return redirect("m_signin")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = Member.objects.filter(phone=pending["p"]).first()
        if member is not None and code_verify(pending["p"], "member_login", form.cleaned_data["code"], member=member):
            openid = _pending_openid(request)
            if openid and not member.wechat_id:
                link_openid(member, openid)
            response = _signed_in(request, member)
            response.delete_cookie(WECHAT_COOKIE, path=COOKIE_PATH)
            return response
        form.add_error("code", _("The code is wrong or no longer valid: check the SMS or ask for a new code."))
    return _no_store(render(request, "membercentre/code.html", {
        "form": form, "token": request.POST.get("t") or request.GET.get("t"), "phone": _masked(pending["p"])}))


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    session_end(request.COOKIES.get(COOKIE, ""))
    response = redirect("m_signin")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _qr_svg(code: str) -> str:
    """The code as an inline SVG QR code (segno draws it from our own digits: safe to embed)."""
    return mark_safe(segno.make(code, error="m", micro=False).svg_inline(scale=5, border=2, dark="#111", omitsize=True))  # noqa: S308


@member_required
def card(request: HttpRequest) -> HttpResponse:
    """/m/card/: the electronic card — the code to show at the till, points, coupons, stored value, receipts,
    events."""
    member = request.member
    code = card_code(member.pk)
    return render(request, "membercentre/card.html", {
        "member": member, "code": code, "qr": _qr_svg(code),
        "refresh_seconds": WINDOW_SECONDS, **card_page(member)})


@member_required
def card_code_now(request: HttpRequest) -> HttpResponse:
    """/m/card/code/: the current code and its QR (the card page refreshes it every 30 seconds)."""
    code = card_code(request.member.pk)
    return JsonResponse({"code": code, "qr": _qr_svg(code)})


def join(request: HttpRequest) -> HttpResponse:
    """/m/join/?p=<poster>: the four required fields, the privacy notice and consent per channel; then a code
    to the phone proves it before anything is written."""
    poster = poster_from_token(request.GET.get("p") or request.POST.get("p") or "")
    if poster is None:
        return _no_store(render(request, "membercentre/join_invalid.html", status=404))
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        raw = {"name": data["name"], "phone": data["phone"], "birthday": data["birthday"].isoformat(),
               "gender": data["gender"]}
        try:
            phone = normalize_phone(data["phone"])
        except ValidationError as exc:
            form.add_error("phone", exc)
            phone = ""
        existing = Member.objects.filter(phone=phone).exists() if phone else False
        try:
            if not phone:
                raise CodeRefused("phone_invalid", "", "phone")
            if not existing:
                clean_member_data(raw)  # every field's refusal before a code is sent
            sent = code_send(phone or data["phone"], "member_join", ip=_client_ip(request), new_phone=not existing)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except CodeRefused as exc:
            if exc.message:
                form.add_error("phone", exc.message)
        else:
            pending = {"p": sent.phone, "d": raw, "c": {k: bool(data[k]) for k in
                                                        ("consent_sms", "consent_phone", "consent_wechat",
                                                         "consent_email")},
                       "poster": request.GET.get("p") or request.POST.get("p")}
            token = signing.dumps(pending, salt=_PENDING_SALT, compress=True)
            return redirect(f"/m/join/code/?t={token}")
    return _no_store(render(request, "membercentre/join.html", {
        "form": form, "poster": poster, "p": request.GET.get("p") or request.POST.get("p")}))


def join_code(request: HttpRequest) -> HttpResponse:
    """/m/join/code/: the code proves the phone; then the member is registered (or, when the phone is a
    member's already, signed in — one person, one member)."""
    pending = _pending(request)
    poster = poster_from_token((pending or {}).get("poster", ""))
    if pending is None or poster is None or "d" not in pending:
        return redirect("m_signin")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if code_verify(pending["p"], "member_join", form.cleaned_data["code"]):
            member, _created = member_join(data={**pending["d"], "phone": pending["p"], **pending["c"]},
                                           poster=poster)
            return _signed_in(request, member)
        form.add_error("code", _("The code is wrong or no longer valid: check the SMS or ask for a new code."))
    return _no_store(render(request, "membercentre/code.html", {
        "form": form, "token": request.POST.get("t") or request.GET.get("t"), "phone": _masked(pending["p"]),
        "joining": True}))


@member_required
def preferences(request: HttpRequest) -> HttpResponse:
    """/m/me/: contact preferences, sizes and consent per channel; stopping every message on a channel."""
    member = request.member
    form = PreferencesForm(request.POST or None, instance=Member.objects.get(pk=member.pk))
    saved = False
    if request.method == "POST" and request.POST.get("stop") in MESSAGE_CHANNELS:
        opt_out(member, request.POST["stop"], source="member centre")
        return redirect(f"{request.path}?stopped={request.POST['stop']}")
    if request.method == "POST" and form.is_valid():
        try:
            member_update(member=member, data={k: form.cleaned_data[k] for k in PreferencesForm.Meta.fields},
                          by=None)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            saved = True
    stopped = set(OptOut.objects.filter(member=member).values_list("channel", flat=True))
    channels = [(c, label, c in stopped) for c, label in MessageChannel.choices if c in MESSAGE_CHANNELS]
    return render(request, "membercentre/preferences.html", {"form": form, "saved": saved, "channels": channels})


@member_required
def feedback(request: HttpRequest) -> HttpResponse:
    """/m/feedback/: a complaint or feedback; it enters the nine steps at the member's store."""
    form = FeedbackForm(request.POST or None)
    filed = None
    if request.method == "POST" and form.is_valid():
        try:
            filed = complaint_from_member(member=request.member, category=form.cleaned_data["category"],
                                          description=form.cleaned_data["description"])
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.text)
        else:
            form = FeedbackForm()
    return render(request, "membercentre/feedback.html", {"form": form, "filed": filed})


@member_required
def my_data(request: HttpRequest) -> HttpResponse:
    """/m/data/: ask for a copy of one's data or for erasure (PIPL); the request waits in HQ's queue."""
    asked = None
    if request.method == "POST":
        try:
            asked = data_request_create(member=request.member, kind=request.POST.get("kind", ""))
        except ValidationError:
            asked = None
    return render(request, "membercentre/my_data.html", {
        "requests": list(member_data_requests(request.member)), "asked": asked})


@member_required
def event_pass(request: HttpRequest, token: str) -> HttpResponse:
    """/m/events/<token>/: the member's own invitation as a check-in QR for the door (the token is what the
    door's search finds); another member's token is a 404."""
    invitation = get_object_or_404(Invitation.objects.select_related("event"), token=token[:64],
                                   member=request.member, held_out=False)
    qr = mark_safe(segno.make(invitation.token, error="m").svg_inline(  # noqa: S308 - drawn by segno
        scale=5, border=2, omitsize=True))
    return render(request, "membercentre/event_pass.html", {"invitation": invitation, "event": invitation.event,
                                                            "qr": qr})


@member_required
def survey(request: HttpRequest, pk: int) -> HttpResponse:
    """/m/surveys/<pk>/: a satisfaction survey of the member's own, answered here instead of by the SMS link."""
    found = get_object_or_404(Survey.objects.select_related("store"), pk=pk, member=request.member)
    form = SurveyAnswerForm(request.POST or None)
    state = "answered" if found.answered_at else ("expired" if found.expires_at < timezone.now() else "form")
    if state == "form" and request.method == "POST" and form.is_valid():
        try:
            survey_answer(survey=found, csat=form.cleaned_data["csat"], nps=form.cleaned_data["nps"],
                          comment=form.cleaned_data["comment"])
        except ServiceError as exc:
            if exc.error_code == "already_answered":
                state = "answered"
            else:
                form.add_error(exc.field if exc.field in form.fields else None, exc.text)
        else:
            state = "thanks"
    return render(request, "membercentre/survey.html", {"survey": found, "form": form, "state": state})


def _first_error(exc: ValidationError) -> str:
    return getattr(exc, "text", None) or next(iter(m for msgs in exc.message_dict.values() for m in msgs), "")


@member_required
def points_mall(request: HttpRequest) -> HttpResponse:
    """/m/mall/: the points mall (积分商城) — gifts (collected at a store the member chooses, against a pickup
    code) and coupons (into the member's coupons at once) for points; donating points to a charity item."""
    member = request.member
    error, done, donated = "", None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "redeem":
                item = get_object_or_404(MallItem, pk=_int_or_none(request.POST.get("item")) or 0)
                store_id = _int_or_none(request.POST.get("store"))
                store = Store.objects.filter(pk=store_id, is_active=True).first() if store_id else None
                redemption = mall_redeem(member=member, item=item, channel=MallRedemption.Channel.MEMBER_CENTRE,
                                         store=store)
                return redirect(f"{request.path}?done={redemption.pk}")
            if action == "donate":
                points_donate(member=member, charity=request.POST.get("charity", "")[:30],
                              points=request.POST.get("points", "")[:9])
                return redirect(f"{request.path}?donated=1")
            raise Http404
        except ValidationError as exc:
            error = _first_error(exc)
    done_id = _int_or_none(request.GET.get("done"))
    if done_id:
        done = MallRedemption.objects.filter(pk=done_id, member=member).select_related("store", "coupon").first()
    donated = request.GET.get("donated") == "1"
    items = [{"item": i, "stores": sorted(gift_stores(i), key=lambda s: s[0].pk != member.home_store_id)}
             for i in mall_items()]  # the member's own store first
    charities = [c for c in programme_at().charities if c.active]
    return render(request, "membercentre/mall.html", {
        "points": points_balance(member), "items": items, "error": error, "done": done, "donated": donated,
        "redemptions": list(member_redemptions(member)), "charities": charities,
        "donations": list(member_donations(member))}, status=400 if error else 200)


def _int_or_none(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None
