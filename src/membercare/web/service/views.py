"""Service pages: complaints (list, open, the nine-step detail, report), after-sales service orders (list,
take in, the order with its next step), gifts (stock per store, giving a
gift), survey results and the public survey page. Thin: the rules live in membercare.service; every page
checks permissions on the server."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from membercare.campaigns.mall import mall_item_save, mall_items, mall_pickup, mall_redeem
from membercare.campaigns.models import CouponBatch, MallItem, MallRedemption
from membercare.core.permissions import can_see_full_phone, can_work_members, require, visible_stores
from membercare.loyalty.donations import donation_totals
from membercare.loyalty.points import points_adjust, points_balance
from membercare.members.models import Member
from membercare.members.selectors import member_search
from membercare.org.models import Role, Staff, Store
from membercare.service import aftersales, selectors
from membercare.service.complaints import complaint_assign, complaint_open, complaint_step_record
from membercare.service.errors import ServiceError
from membercare.service.gifts import gift_issue, gift_save, stock_adjust, stock_receive, stock_threshold_set
from membercare.service.models import Complaint, ComplaintState, Gift, GiftReason, ServiceOrder, ServiceStatus
from membercare.service.permissions import (
    can_edit_gift_catalogue,
    can_manage_stock,
    can_see_reports,
    can_work_complaint,
    is_chain_wide,
    works_in,
)
from membercare.service.surveys import survey_answer, survey_by_token

from ..forms import add_service_errors
from ..once import once
from .forms import (
    AssignForm,
    CancelOrderForm,
    ComplaintOpenForm,
    GiftForm,
    GiftIssueForm,
    MallItemForm,
    MallPickupForm,
    MallRedeemForm,
    PointsAdjustForm,
    ServiceOrderForm,
    StepForm,
    StockAdjustForm,
    StockReceiveForm,
    StockThresholdForm,
    SurveyAnswerForm,
)


def _stores(request: HttpRequest):
    return visible_stores(request.user).filter(is_active=True).order_by("code")


def _pick_store(request: HttpRequest, stores) -> Store:
    """The store chosen in ?store= (one the user may see), else their first."""
    chosen = request.GET.get("store") or request.POST.get("store") or ""
    store = stores.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    store = store or stores.first()
    if store is None:
        raise PermissionDenied
    return store


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# ------------------------------------------------------------------------------------ complaints


def complaint_list_page(request: HttpRequest) -> HttpResponse:
    """Mine or my stores', by step, overdue marked (and first)."""
    require(can_work_members(request.user))
    scope = request.GET.get("scope") or ("mine" if request.user.role == Role.CLERK else "store")
    state = request.GET.get("state", "open")
    store_id = _int(request.GET.get("store"))
    now = timezone.now()
    qs = selectors.complaint_list(request.user, mine=scope == "mine", state=state, store_id=store_id,
                                  overdue=request.GET.get("overdue") == "1", now=now)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    for c in page:
        c.overdue = selectors.is_overdue(c, now)
    stores = _stores(request)
    low = selectors.low_stock_count(set(stores.values_list("pk", flat=True))) if can_see_reports(request.user) else 0
    return render(request, "web/service/complaints.html", {
        "page": page, "scope": scope, "state": state, "store_id": store_id, "stores": stores,
        "states": ComplaintState.choices, "low_stock": low, "filters": request.GET,
        "can_report": can_see_reports(request.user)})


def member_pick(request: HttpRequest) -> HttpResponse:
    """htmx: the members matching what the clerk types, as choices for the open-complaint and gift forms."""
    require(can_work_members(request.user))
    query = request.GET.get("member_query", "").strip()
    result = member_search(query) if query else None
    response = render(request, "web/service/_member_pick.html", {
        "result": result, "full_phone": can_see_full_phone(request.user)})
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ["HX-Request"])
    return response


def _preset_member(request: HttpRequest) -> Member | None:
    member_id = _int(request.GET.get("member") or request.POST.get("member"))
    return Member.objects.select_related("home_store").filter(pk=member_id).first() if member_id else None


def complaint_new_page(request: HttpRequest) -> HttpResponse:
    """A short form: from the profile (the member set) or from the counter (find the member)."""
    require(can_work_members(request.user))
    stores = _stores(request)
    member = _preset_member(request)
    initial = {"member": member.pk if member else None}
    user_stores = list(request.user.stores.filter(is_active=True).order_by("code"))
    home = member.home_store if member and stores.filter(pk=member.home_store_id).exists() else None
    initial["store"] = (user_stores[0] if user_stores else home or stores.first())
    form = ComplaintOpenForm(request.POST or None, stores=stores, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = complaint_open(by=request.user, member=data["member_obj"], store=data["store"],
                                       category=data["category"], severity=data["severity"],
                                       description=data["description"], sku=data["sku"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Complaint %(number)s opened.") % {"number": complaint.number})
            return redirect("service_complaint", pk=complaint.pk)
    return render(request, "web/service/complaint_new.html", {"form": form, "member": member})


def _visible_complaint(request: HttpRequest, pk: int) -> Complaint:
    complaint = get_object_or_404(Complaint.objects.select_related("member", "store", "owner", "opened_by",
                                                                   "escalated_to", "follow_up_task"), pk=pk)
    if not can_work_complaint(request.user, complaint):
        raise PermissionDenied
    return complaint


def _step_form(complaint: Complaint, data=None) -> StepForm | None:
    if not complaint.is_open:
        return None
    gifts = Gift.objects.filter(is_active=True, stocks__store=complaint.store, stocks__quantity__gt=0)
    return StepForm(data, step=complaint.state, gifts=gifts)


def _can_assign(user: Staff, complaint: Complaint) -> bool:
    return is_chain_wide(user) or (user.role == Role.MANAGER and
                                   user.stores.filter(pk=complaint.store_id).exists())


def _assign_form(request: HttpRequest, complaint: Complaint, data=None) -> AssignForm | None:
    if not _can_assign(request.user, complaint) or not complaint.is_open:
        return None
    colleagues = Staff.objects.filter(stores=complaint.store, is_active=True).order_by("role", "username")
    return AssignForm(data, colleagues=colleagues, initial={"owner": complaint.owner_id})


def _detail(request: HttpRequest, complaint: Complaint, *, form=None, assign_form=None, status: int = 200):
    return render(request, "web/service/complaint_detail.html", {
        "c": complaint, "steps": selectors.complaint_steps(complaint),
        "form": form or _step_form(complaint), "assign_form": assign_form or _assign_form(request, complaint),
        "overdue": selectors.is_overdue(complaint), "gifts": complaint.gift_issues.select_related("gift"),
        "current_label": ComplaintState(complaint.state).label}, status=status)


def complaint_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _visible_complaint(request, pk)
    if request.method != "POST":
        return _detail(request, complaint)
    form = _step_form(complaint, request.POST)
    if form is None:
        messages.error(request, _("This complaint is already closed."))
        return redirect("service_complaint", pk=pk)
    if request.POST.get("step") != complaint.state:  # the page was out of date: never record a step twice
        messages.error(request, _("Someone has already recorded this step: here is the complaint as it is now."))
        return redirect("service_complaint", pk=pk)
    if form.is_valid():
        data = form.cleaned_data
        try:
            complaint_step_record(complaint=complaint, step=complaint.state, note=data["note"], by=request.user,
                                  remedy=data.get("remedy", ""), satisfied=data.get("satisfied"),
                                  settlement=data.get("settlement", ""), gift=data.get("gift"))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Step recorded."))
            return redirect("service_complaint", pk=pk)
    return _detail(request, complaint, form=form, status=400)


@require_POST
def complaint_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    complaint = _visible_complaint(request, pk)
    form = _assign_form(request, complaint, request.POST)
    if form is None:
        raise PermissionDenied
    if form.is_valid():
        try:
            complaint_assign(complaint=complaint, owner=form.cleaned_data["owner"], by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Owner changed."))
            return redirect("service_complaint", pk=pk)
    return _detail(request, complaint, assign_form=form, status=400)


def _period(request: HttpRequest, default_days: int = 90) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        until = dt.date.fromisoformat(request.GET.get("to", "")) if request.GET.get("to") else today
        since = (dt.date.fromisoformat(request.GET["from"]) if request.GET.get("from")
                 else until - dt.timedelta(days=default_days - 1))
    except ValueError:
        until, since = today, today - dt.timedelta(days=default_days - 1)
    return since, until


def complaint_report_page(request: HttpRequest) -> HttpResponse:
    """Complaints grouped by category, product, store and clerk; repeats of the same kind."""
    require(can_see_reports(request.user))
    since, until = _period(request)
    stores = _stores(request)
    store_id = _int(request.GET.get("store"))
    store_ids = [store_id] if store_id and stores.filter(pk=store_id).exists() else (
        None if is_chain_wide(request.user) else list(stores.values_list("pk", flat=True)))
    return render(request, "web/service/complaint_report.html", {
        "groups": selectors.complaint_report(request.user, since=since, until=until, store_ids=store_ids),
        "repeats": selectors.complaint_repeats(request.user, until=until, store_ids=store_ids),
        "since": since, "until": until, "stores": stores, "store_id": store_id,
        "dims": [("category", _("By category")), ("product", _("By product")), ("store", _("By store")),
                 ("clerk", _("By clerk"))]})


# ----------------------------------------------------------------------------------------- gifts


def gift_stock_page(request: HttpRequest) -> HttpResponse:
    """A store's gift stock (low items highlighted), receiving and adjusting, the ledger; the catalogue (HQ)."""
    require(can_work_members(request.user))
    stores = _stores(request)
    store = _pick_store(request, stores)
    manage = can_manage_stock(request.user, store)
    catalogue = can_edit_gift_catalogue(request.user)
    gifts = Gift.objects.filter(is_active=True).order_by("code")
    data = request.POST if request.method == "POST" else None
    action = request.POST.get("action", "")
    forms = {"receive": StockReceiveForm(data if action == "receive" else None, gifts=gifts, prefix="r"),
             "adjust": StockAdjustForm(data if action == "adjust" else None, gifts=gifts, prefix="a"),
             "threshold": StockThresholdForm(data if action == "threshold" else None, gifts=gifts, prefix="t"),
             "gift": GiftForm(data if action == "gift" else None, prefix="g")}
    status = 200
    if request.method == "POST":
        if action == "gift":
            require(catalogue)
        elif action in ("receive", "adjust", "threshold"):
            require(manage)
        else:
            raise PermissionDenied
        form = forms[action]
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "receive":
                    stock_receive(gift=d["gift"], store=store, quantity=d["quantity"], by=request.user,
                                  reason=d["reason"])
                elif action == "adjust":
                    stock_adjust(gift=d["gift"], store=store, change=d["change"], reason=d["reason"],
                                 by=request.user)
                elif action == "threshold":
                    stock_threshold_set(gift=d["gift"], store=store, threshold=d["low_threshold"], by=request.user)
                else:
                    gift_save(by=request.user, code=d["code"], name=d["name"], value=d["value"],
                              points_cost=d["points_cost"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect(f"{request.path}?store={store.pk}")
        status = 400
    rows = selectors.stock_rows(store)
    return render(request, "web/service/gift_stock.html", {
        "store": store, "stores": stores, "rows": rows, "low": sum(1 for r in rows if r.is_low),
        "movements": selectors.stock_movements(store), "manage": manage, "catalogue": catalogue, **forms},
        status=status)


def gift_issue_page(request: HttpRequest) -> HttpResponse:
    """Give a gift to a member from the store's stock (birthday, holiday, for points, other)."""
    require(can_work_members(request.user))
    stores = _stores(request).filter(pk__in=request.user.stores.values("pk")) if not is_chain_wide(
        request.user) else _stores(request)
    store = _pick_store(request, stores)
    member = _preset_member(request)
    gifts = Gift.objects.filter(is_active=True, stocks__store=store, stocks__quantity__gt=0).order_by("code")
    form = GiftIssueForm(request.POST or None, gifts=gifts, initial={
        "member": member.pk if member else None, "reason": GiftReason.BIRTHDAY})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            issue = gift_issue(member=d["member_obj"], gift=d["gift"], store=store, reason=d["reason"],
                               by=request.user, note=d["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(gift)s given to %(name)s.") % {"gift": issue.gift.name,
                                                                        "name": issue.member.name})
            return redirect("member_detail", pk=issue.member_id)
    return render(request, "web/service/gift_issue.html", {"form": form, "store": store, "stores": stores,
                                                           "member": member},
                  status=400 if request.method == "POST" else 200)


# ------------------------------------------------------------------------------------- points mall


def mall_counter_page(request: HttpRequest) -> HttpResponse:
    """The counter's points mall: redeem an item for a member (a gift from this store's stock, a coupon into the
    member's coupons), hand over a gift redeemed in the member centre against its pickup code; HQ adds items and
    sees the points donated per charity item."""
    require(can_work_members(request.user))
    stores = _stores(request).filter(pk__in=request.user.stores.values("pk")) if not is_chain_wide(
        request.user) else _stores(request)
    store = _pick_store(request, stores)
    member = _preset_member(request)
    hq = can_edit_gift_catalogue(request.user)
    items = (mall_items().filter(Q(kind=MallItem.Kind.COUPON)
                                 | Q(gift__stocks__store=store, gift__stocks__quantity__gt=0))
             .distinct().order_by("points", "pk"))
    batches = CouponBatch.objects.filter(valid_to__gte=timezone.localdate()).order_by("-created_at")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    data = request.POST if request.method == "POST" else None
    forms = {"redeem": MallRedeemForm(data if action == "redeem" else None, items=items, prefix="r",
                                      initial={"member": member.pk if member else None}),
             "pickup": MallPickupForm(data if action == "pickup" else None, prefix="p"),
             "item": MallItemForm(data if action == "item" else None, batches=batches, prefix="i"),
             "adjust": PointsAdjustForm(data if action == "adjust" else None, prefix="a")}
    if request.method == "POST" and action == "toggle":  # HQ takes an item off sale or puts it back
        require(hq)
        item = get_object_or_404(MallItem, pk=_int(request.POST.get("item_id")) or 0)
        mall_item_save(by=request.user, kind=item.kind, name=item.name, points=item.points, gift=item.gift,
                       batch=item.batch, coupon_stock=item.coupon_stock, is_active=not item.is_active, item=item)
        messages.success(request, _("Saved."))
        return redirect(f"{request.path}?store={store.pk}")
    if request.method == "POST":
        if action not in forms or (action in ("item", "adjust") and not hq) or (action == "adjust" and not member):
            raise PermissionDenied
        if not works_in(request.user, store):
            raise PermissionDenied
        form = forms[action]
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "redeem":
                    token = (request.POST.get("token") or "")[:60]

                    def write(d=d) -> MallRedemption:
                        return mall_redeem(member=d["member_obj"], item=d["item"],
                                           channel=MallRedemption.Channel.COUNTER, store=store, by=request.user)

                    # one redemption per form, even on a double tap or a reload (the checkout's guard)
                    done = once(store, f"web-mall:{token}", write, save=lambda r: {"redemption": r.pk},
                                load=lambda saved: MallRedemption.objects.select_related("member").get(
                                    pk=saved["redemption"]))[0] if token else write()
                    messages.success(request, _("%(item)s redeemed for %(name)s: %(points)d points.") % {
                        "item": done.item_name, "name": done.member.name, "points": done.points})
                elif action == "pickup":
                    done = mall_pickup(code=d["code"], store=store, by=request.user)
                    messages.success(request, _("%(item)s handed over to %(name)s.") % {
                        "item": done.item_name, "name": done.member.name})
                elif action == "adjust":
                    points_adjust(member=member, points=d["points"], category=d["category"], reason=d["reason"],
                                  by=request.user)
                    messages.success(request, _("Points adjusted."))
                else:
                    mall_item_save(by=request.user, kind=d["kind"], name=d["name"], points=d["points"],
                                   gift=d["gift"], batch=d["batch"], coupon_stock=d["coupon_stock"])
                    messages.success(request, _("Saved."))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                keep = f"&member={member.pk}" if member else ""
                return redirect(f"{request.path}?store={store.pk}{keep}")
    return render(request, "web/service/mall_counter.html", {
        "token": secrets.token_urlsafe(16), "store": store, "stores": stores, "member": member, "hq": hq, **forms,
        "balance": points_balance(member) if member else None,
        "recent": MallRedemption.objects.filter(store=store).select_related("member").order_by("-created_at")[:10],
        "all_items": MallItem.objects.select_related("gift", "batch").order_by("-is_active", "points") if hq else (),
        "donations": donation_totals() if is_chain_wide(request.user) else ()},
        status=400 if request.method == "POST" else 200)


# --------------------------------------------------------------------------------------- surveys


def survey_results_page(request: HttpRequest) -> HttpResponse:
    require(can_see_reports(request.user))
    since, until = _period(request, default_days=30)
    stores = _stores(request)
    store_ids = None if is_chain_wide(request.user) else list(stores.values_list("pk", flat=True))
    return render(request, "web/service/survey_results.html", {
        "results": selectors.survey_results(since=since, until=until, store_ids=store_ids),
        "since": since, "until": until})


@never_cache
def survey_public(request: HttpRequest, token: str) -> HttpResponse:
    """The member's page (no login, no navigation, phone-sized). A forged or unknown token: 404."""
    survey = survey_by_token(token)
    if survey is None:
        return render(request, "web/service/survey_public.html", {"state": "not_found"}, status=404)
    if survey.answered_at is not None:
        return render(request, "web/service/survey_public.html", {"state": "answered", "survey": survey})
    if survey.expires_at < timezone.now():
        return render(request, "web/service/survey_public.html", {"state": "expired", "survey": survey},
                      status=410)
    form = SurveyAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            survey_answer(token=token, csat=d["csat"], nps=d["nps"], comment=d["comment"])
        except ValidationError as exc:
            if getattr(exc, "error_code", "") == "already_answered":
                return render(request, "web/service/survey_public.html", {"state": "answered", "survey": survey})
            add_service_errors(form, exc)
        else:
            return render(request, "web/service/survey_public.html", {"state": "thanks", "survey": survey})
    return render(request, "web/service/survey_public.html", {"state": "form", "survey": survey, "form": form},
                  status=400 if request.method == "POST" else 200)


# ----------------------------------------------------------------------------- after-sales service

ORDER_STEPS = {  # the button on the order page: the verb's service function and its success message
    "workshop": (aftersales.service_order_to_workshop, _lazy("Sent to the workshop.")),
    "ready": (aftersales.service_order_ready, _lazy("Marked ready: a care task asks to call the member.")),
    "collect": (aftersales.service_order_collect, _lazy("Collected by the member.")),
}


def order_list_page(request: HttpRequest) -> HttpResponse:
    """The store's service orders: overdue ones (promised date passed, not yet ready) highlighted and first."""
    require(can_work_members(request.user))
    status = request.GET.get("status", "open")
    stores = _stores(request)
    store_id = _int(request.GET.get("store"))
    store_id = store_id if store_id and stores.filter(pk=store_id).exists() else None
    today = timezone.localdate()
    page = Paginator(aftersales.order_list(request.user, status=status, store_id=store_id, today=today), 30) \
        .get_page(request.GET.get("page"))
    ids = ({store_id} if store_id else set(stores.values_list("pk", flat=True))) if not (
        is_chain_wide(request.user) and not store_id) else None
    since = today.replace(day=1)
    return render(request, "web/service/orders.html", {
        "page": page, "status": status, "store_id": store_id, "stores": stores,
        "statuses": ServiceStatus.choices, "today": today,
        "measures": aftersales.order_measures(ids, since, today, today=today), "since": since})


def order_new_page(request: HttpRequest) -> HttpResponse:
    """Take in an alteration or repair: from the profile (the member set, their purchases to choose from) or
    from the list (find the member, describe the item)."""
    require(can_work_members(request.user))
    stores = _stores(request)
    member = _preset_member(request)
    user_stores = list(request.user.stores.filter(is_active=True).order_by("code"))
    home = member.home_store if member and stores.filter(pk=member.home_store_id).exists() else None
    initial = {"member": member.pk if member else None,
               "store": user_stores[0] if user_stores else home or stores.first(),
               "promised_on": timezone.localdate() + dt.timedelta(days=3)}
    lines = list(aftersales.member_lines(member)) if member else []
    form = ServiceOrderForm(request.POST or None, stores=stores, lines=lines, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        line = next((x for x in lines if x.pk == data["receipt_line"]), None)
        try:
            if data["receipt_line"] and line is None:
                raise ServiceError("line_other_member", _("This purchase is not the member's."), "receipt_line")
            order = aftersales.service_order_open(
                by=request.user, member=data["member_obj"], store=data["store"], kind=data["kind"],
                work=data["work"], promised_on=data["promised_on"], receipt_line=line, item=data["item"],
                charged=data["charged"], amount=data["amount"], use_perk=data.get("use_perk", False))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Service order %(number)s taken in.") % {"number": order.number})
            return redirect("service_order", pk=order.pk)
    return render(request, "web/service/order_new.html", {"form": form, "member": member},
                  status=400 if form.errors else 200)


def _visible_order(request: HttpRequest, pk: int) -> ServiceOrder:
    order = get_object_or_404(ServiceOrder.objects.select_related(
        "member", "store", "taken_by", "receipt_line__product", "receipt_line__receipt", "ready_task"), pk=pk)
    if not aftersales.can_work_order(request.user, order):
        raise PermissionDenied
    return order


def order_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The order and the next step's button (and cancelling, with a reason, while it is open)."""
    order = _visible_order(request, pk)
    cancel_form = CancelOrderForm(request.POST if request.POST.get("action") == "cancel" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if request.POST.get("status") != order.status:  # the page was out of date: never take a step twice
            messages.error(request, _("Someone has already moved this order: here it is as it is now."))
            return redirect("service_order", pk=pk)
        try:
            if action == "cancel":
                if cancel_form.is_valid():
                    aftersales.service_order_cancel(order=order, by=request.user,
                                                    reason=cancel_form.cleaned_data["reason"])
                    messages.success(request, _("Service order cancelled."))
                    return redirect("service_order", pk=pk)
            elif action in ORDER_STEPS:
                step, done = ORDER_STEPS[action]
                step(order=order, by=request.user)
                messages.success(request, str(done))
                return redirect("service_order", pk=pk)
            else:
                return HttpResponse(status=400)
        except ValidationError as exc:
            add_service_errors(cancel_form, exc)
        status = 400
    nxt = {ServiceStatus.RECEIVED: ("workshop", _("Send to the workshop")),
           ServiceStatus.IN_WORKSHOP: ("ready", _("Back from the workshop: ready")),
           ServiceStatus.READY: ("collect", _("Collected by the member"))}.get(order.status)
    steps = [(ServiceStatus.RECEIVED.label, order.received_at), (ServiceStatus.IN_WORKSHOP.label, order.workshop_at),
             (ServiceStatus.READY.label, order.ready_at), (ServiceStatus.COLLECTED.label, order.collected_at)]
    if order.cancelled_at:
        steps.append((ServiceStatus.CANCELLED.label, order.cancelled_at))
    overdue = order.status in (ServiceStatus.RECEIVED, ServiceStatus.IN_WORKSHOP) and \
        order.promised_on < timezone.localdate()
    return render(request, "web/service/order_detail.html", {
        "o": order, "next": nxt, "steps": steps, "cancel_form": cancel_form, "overdue": overdue}, status=status)
