"""Members pages: the counter search, the member list, a profile, registration and edit, the staff page.
Thin: rules live in services and selectors."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.audiences.selectors import can_use_audiences, visible_audiences
from membercare.care.access import can_act_on_member
from membercare.care.owners import owner_panel
from membercare.care.selectors import member_segments_panel
from membercare.core.permissions import (
    can_erase_members,
    can_export,
    can_import,
    can_see_full_phone,
    can_view_full_id,
    require,
    visible_staff,
    visible_stores,
)
from membercare.loyalty.models import PerkUse
from membercare.loyalty.perks import (
    can_reverse_perk_use,
    member_perks,
    perk_use,
    perk_use_reverse,
    perk_uses_with_reversal,
    recent_perk_uses,
)
from membercare.loyalty.points import points_balance, points_history
from membercare.loyalty.points_upgrade import points_upgrades, upgrade_with_points
from membercare.loyalty.programme import card_label, label_cards
from membercare.loyalty.progress import level_progress
from membercare.members.exports import filtered_members
from membercare.members.models import MAX_MEMBER_DATES, Member, MemberDate
from membercare.members.selectors import (
    TIMELINE_LABELS,
    change_rows,
    member_changes,
    member_list,
    member_search,
    member_timeline,
)
from membercare.members.services import (
    member_create,
    member_date_add,
    member_date_remove,
    member_reveal_id_number,
    member_update,
)
from membercare.sales.pipeline import CheckoutError

from ..checkout.views import checkout_stores
from ..storedvalue.views import stored_value_panel
from .forms import MemberDateForm, MemberForm


def _home_store(request: HttpRequest):
    return request.user.stores.order_by("pk").first() or visible_stores(request.user).order_by("pk").first()


def home(request: HttpRequest) -> HttpResponse:
    return redirect("member_search")


def member_search_page(request: HttpRequest) -> HttpResponse:
    """The counter: one box. htmx swaps only the results while the clerk types."""
    query = request.GET.get("q", "")
    result = member_search(query) if query else None
    context = {"q": query, "result": result, "full_phone": can_see_full_phone(request.user)}
    if request.htmx:
        response = render(request, "web/members/_search_results.html", context)
        response["Cache-Control"] = "no-store"  # Back must never show the bare fragment
    else:
        response = render(request, "web/members/search.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def member_list_page(request: HttpRequest) -> HttpResponse:
    stores = visible_stores(request.user)
    store_id = request.GET.get("store") or None
    qs = member_list(request.user, store_id=int(store_id) if store_id and store_id.isdigit() else None,
                     tag=request.GET.get("tag", ""), query=request.GET.get("q", "").strip())
    audiences = None
    if can_use_audiences(request.user):  # a saved audience narrows the list and its export (issue 20)
        audiences = visible_audiences(request.user).order_by("name", "pk")
        audience = request.GET.get("audience", "")
        if audience.isdigit() and len(audience) < 10:
            qs = filtered_members(qs, request.user, audience_id=int(audience))
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "web/members/list.html", {
        "page": page, "stores": stores, "full_phone": can_see_full_phone(request.user),
        "can_export": can_export(request.user), "can_import": can_import(request.user),
        "filters": request.GET, "audiences": audiences,
    })


def member_create_page(request: HttpRequest) -> HttpResponse:
    store = _home_store(request)
    if request.method == "POST":
        form = MemberForm(request.POST)
        if form.is_valid():
            try:
                member = member_create(data=form.cleaned_member, store=store, by=request.user, clean=False,
                                       referral_code=form.cleaned_data.get("referral_code") or "")
            except ValidationError as exc:  # the referral code (nothing was saved)
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Member %(name)s registered (%(no)s).") % {
                    "name": member.name, "no": member.member_no})
                return redirect("member_detail", pk=member.pk)
    else:
        form = MemberForm(initial={"phone": request.GET.get("phone", ""), "preferred_channel": "phone",
                                   "preferred_time": "any"})
    return render(request, "web/members/form.html", {"form": form, "store": store, "member": None})


def member_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=pk)
    if request.method == "POST":
        form = MemberForm(request.POST, instance=member)
        if form.is_valid():
            member_update(member=member, data=form.cleaned_member, by=request.user, clean=False)
            messages.success(request, _("Changes saved."))
            return redirect("member_detail", pk=member.pk)
    else:
        form = MemberForm(initial=MemberForm.initial_from(member), instance=member)
    return render(request, "web/members/form.html", {"form": form, "member": member, "store": member.home_store})


def member_detail_page(request: HttpRequest, pk: int, date_form: MemberDateForm | None = None) -> HttpResponse:
    member = get_object_or_404(Member.objects.select_related("home_store", "owner", "registered_by"), pk=pk)
    return render(request, "web/members/detail.html", {
        "member_dates": list(member.dates.all()),
        "max_member_dates": MAX_MEMBER_DATES,
        "date_form": date_form or MemberDateForm(),
        "member": member,
        "cards": label_cards(member.cards.order_by("-issued_at")),
        "points": (balance := points_balance(member)),
        "points_upgrades": points_upgrades(member, balance=balance),
        "points_history": points_history(member, limit=10),
        "birthday_uses": member.birthday_uses.select_related("store").order_by("-used_at")[:5],
        "birthday_exceptions": member.birthday_exceptions.order_by("-requested_at")[:3],
        "timeline": member_timeline(member),
        "timeline_labels": TIMELINE_LABELS,
        "changes": [(c, change_rows(c)) for c in member_changes(member)[:50]],
        "full_phone": True,  # the profile is for working with this member: the clerk needs to call
        "can_view_full_id": can_view_full_id(request.user),
        "segments": member_segments_panel(member),
        "owner_panel": owner_panel(member, request.user),
        "can_log_contact": can_act_on_member(request.user, member),
        "can_erase": can_erase_members(request.user),
        "sell_store_ids": set(checkout_stores(request.user).values_list("pk", flat=True)),
        "stored_value": stored_value_panel(member, request.user),
        "progress": level_progress(member),
        "perks": member_perks(member),
        "perk_uses": perk_uses_with_reversal(request.user, list(recent_perk_uses(member))),
        "perk_stores": list(checkout_stores(request.user)),
    })


@require_POST
def member_date_add_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A date the member gives (seed 000: 纪念日): greeted every year by the care job."""
    member = get_object_or_404(Member, pk=pk)
    form = MemberDateForm(request.POST)
    if form.is_valid():
        try:
            member_date_add(member=member, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(None if field == "__all__" or field not in form.fields else field, errors)
        else:
            messages.success(request, _("Date saved."))
            return redirect("member_detail", pk=member.pk)
    response = member_detail_page(request, pk, date_form=form)
    response.status_code = 400
    return response


@require_POST
def member_perk_use_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One use of a perk of the member's card, outside a sale (the alteration taken in, the fast lane booked), at
    one of the user's stores; loyalty.perks.perk_use counts it against the quota or refuses it."""
    member = get_object_or_404(Member, pk=pk)
    stores = checkout_stores(request.user)
    require(stores.exists())
    store_pk = request.POST.get("store", "")[:12]
    store = (stores.filter(pk=int(store_pk)).first() if store_pk.isdigit() else None) or stores.first()
    code = request.POST.get("perk", "")[:30]
    try:
        use = perk_use(member=member, perk_code=code, store=store, clerk=request.user,
                       note=request.POST.get("note", "")[:400])
    except CheckoutError as exc:
        messages.error(request, exc.text)
    else:
        messages.success(request, _("%(perk)s recorded at %(store)s.") % {"perk": use.perk_name, "store": store.name})
    return redirect("member_detail", pk=member.pk)


@require_POST
def member_points_upgrade_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Buy the next level with points at one of the user's stores (loyalty.points_upgrade)."""
    member = get_object_or_404(Member, pk=pk)
    stores = checkout_stores(request.user)
    require(stores.exists())
    store_pk = request.POST.get("store", "")[:12]
    store = (stores.filter(pk=int(store_pk)).first() if store_pk.isdigit() else None) or stores.first()
    try:
        card = upgrade_with_points(member=member, card_number=request.POST.get("card", "")[:20],
                                   tier_code=request.POST.get("tier", "")[:20], store=store, by=request.user)
    except CheckoutError as exc:
        messages.error(request, exc.text)
    else:
        messages.success(request, _("Card %(number)s is now %(level)s.") % {
            "number": card.number, "level": card_label(card.kind)})
    return redirect("member_detail", pk=member.pk)


@require_POST
def member_perk_reverse_page(request: HttpRequest, pk: int, use_pk: int) -> HttpResponse:
    """Reverse a perk use recorded by mistake (HQ, the store's manager, or its clerk on the same day), with a
    reason; the use stays on the list, marked reversed, and no longer counts against the quota."""
    use = get_object_or_404(PerkUse, pk=use_pk, member_id=pk)
    require(can_reverse_perk_use(request.user, use) or use.reversed)
    try:
        perk_use_reverse(use=use, by=request.user, reason=request.POST.get("reason", "")[:400])
    except CheckoutError as exc:
        messages.error(request, exc.text)
    else:
        messages.success(request, _("The use of %(perk)s on %(date)s was reversed.") % {
            "perk": use.perk_name, "date": timezone.localtime(use.used_at).strftime("%Y-%m-%d")})
    return redirect("member_detail", pk=pk)


@require_POST
def member_date_remove_page(request: HttpRequest, pk: int, date_pk: int) -> HttpResponse:
    member_date = get_object_or_404(MemberDate, pk=date_pk, member_id=pk)
    member_date_remove(member_date=member_date, by=request.user)
    messages.success(request, _("Date removed."))
    return redirect("member_detail", pk=pk)


@require_POST
def member_reveal_id(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member, pk=pk)
    require(can_view_full_id(request.user))
    return HttpResponse(member_reveal_id_number(member=member, by=request.user))


def staff_page(request: HttpRequest) -> HttpResponse:
    """A manager sees their store's staff and their work; HQ sees the chain; a clerk sees themself."""
    since = timezone.now() - timezone.timedelta(days=30)
    staff = (
        visible_staff(request.user).prefetch_related("stores")
        .annotate(
            registered=Count("registered_members", filter=Q(registered_members__created_at__gte=since),
                             distinct=True),
            owned=Count("owned_members", distinct=True),
        ).order_by("role", "username")
    )
    return render(request, "web/members/staff.html", {"staff": staff})
