"""The audience builder: the list, the editor (conditions and groups added and removed by htmx or a plain post),
a live count with a sample of 10 while editing, save and delete. Thin: the rules live in membercare.audiences."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.audiences.definition import DefinitionError, clean_definition, condition_count
from membercare.audiences.models import Audience
from membercare.audiences.selectors import (
    audience_sample,
    can_use_audiences,
    count_members,
    is_hq,
    user_store_ids,
    visible_audiences,
)
from membercare.audiences.services import audience_create, audience_update
from membercare.audiences.services import audience_delete as delete_audience
from membercare.core.permissions import require, visible_stores
from membercare.org.models import Brand

from .forms import apply_action, condition_menu, definition_from_post, view_tree


def audience_list_page(request: HttpRequest) -> HttpResponse:
    require(can_use_audiences(request.user))
    rows = list(visible_audiences(request.user).select_related("brand", "updated_by").prefetch_related("stores"))
    for row in rows:
        row.conditions = condition_count(row.definition)
    return render(request, "web/audiences/list.html", {"audiences": rows})


def _scope(request: HttpRequest) -> tuple[Brand | None, list]:
    brand = Brand.objects.filter(pk=request.POST.get("brand")).first() if (
        request.POST.get("brand") or "").isdigit() else None
    ids = [int(i) for i in request.POST.getlist("stores")[:500] if i.isdigit()]
    stores = list(visible_stores(request.user).filter(pk__in=ids))
    return brand, stores


def _problems(exc: DefinitionError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, message in exc.problems:
        out.setdefault(path, []).append(message)
    return out


def audience_edit_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """/audiences/new/, /audiences/<pk>/: name, scope, the include and exclude groups; "save" validates it all
    (every problem named at its condition), any other action edits the tree and draws the editor again."""
    require(can_use_audiences(request.user))
    audience = get_object_or_404(visible_audiences(request.user), pk=pk) if pk else None
    problems: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        tree = definition_from_post(request.POST)
        name = (request.POST.get("name") or "")[:200]
        brand, stores = _scope(request)
        action = request.POST.get("action", "")
        if action == "save":
            try:
                if audience is None:
                    audience = audience_create(by=request.user, name=name, definition=tree, brand=brand,
                                               stores=stores)
                else:
                    audience = audience_update(audience, by=request.user, name=name, definition=tree,
                                               brand=brand, stores=stores)
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"definition": exc.messages}
                try:
                    clean_definition(tree)
                except DefinitionError as bad:
                    problems = _problems(bad)
            else:
                messages.success(request, _("The audience “%(name)s” is saved.") % {"name": audience.name})
                return redirect("audience_edit", pk=audience.pk)
        else:
            tree = apply_action(tree, action, request.POST)
        chosen = {s.pk for s in stores}
        brand_id = brand.pk if brand else None
    else:
        from membercare.audiences.definition import empty_definition

        tree = audience.definition if audience else empty_definition()
        name = audience.name if audience else ""
        chosen = set(audience.stores.values_list("pk", flat=True)) if audience else set()
        brand_id = audience.brand_id if audience else None
    context = {"audience": audience, "name": name, "tree": view_tree(tree, problems),
               "condition_menu": condition_menu(),
               "errors": errors, "brands": Brand.objects.order_by("code"), "brand_id": brand_id,
               "stores": [(s.pk, s.name, s.pk in chosen) for s in visible_stores(request.user).order_by("code")],
               "hq": is_hq(request.user)}
    if request.headers.get("HX-Request") and request.method == "POST":
        return render(request, "web/audiences/_editor.html", context)
    return render(request, "web/audiences/edit.html", context)


def audience_count_partial(request: HttpRequest) -> HttpResponse:
    """The live count and a sample of 10 (masked phones) of the definition being edited, in the user's scope."""
    require(can_use_audiences(request.user))
    tree = definition_from_post(request.POST if request.method == "POST" else request.GET)
    brand, stores = _scope(request)
    context: dict = {}
    try:
        clean_definition(tree)
    except DefinitionError as exc:
        context["problems"] = [m for _p, m in exc.problems]
    else:
        draft = Audience(definition=tree, brand=brand)
        store_ids = [s.pk for s in stores] or user_store_ids(request.user)
        definition = tree
        from membercare.audiences.selectors import members_queryset

        ids = members_queryset(definition, brand_id=brand.pk if brand else None, store_ids=store_ids).values_list(
            "pk", flat=True)
        context["count"] = count_members(ids)
        context["sample"] = audience_sample(draft.definition, 10, user=request.user) if not stores and not brand \
            else _sample(ids)
    return render(request, "web/audiences/_count.html", context)


def _sample(ids) -> list[dict]:
    from membercare.core.phone import mask_phone
    from membercare.members.models import Member

    rows = Member.objects.filter(pk__in=ids).order_by("pk").values("name", "member_no", "phone",
                                                                   "home_store__name")[:10]
    return [{"name": r["name"], "member_no": r["member_no"], "phone": mask_phone(r["phone"]),
             "store": r["home_store__name"]} for r in rows]


@require_POST
def audience_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_use_audiences(request.user))
    audience = get_object_or_404(visible_audiences(request.user), pk=pk)
    try:
        delete_audience(audience, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("audience_edit", pk=audience.pk)
    messages.success(request, _("The audience “%(name)s” is deleted.") % {"name": audience.name})
    return redirect("audiences")

