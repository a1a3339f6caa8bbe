"""Staff pages: the printable "scan to join" posters, one per store and one per clerk (issue 22 part 2).

A clerk prints their own; a store manager their stores' and their clerks'; HQ any store's. The poster's QR
code opens /m/join/ with a signed token naming the store (and the clerk, who becomes the relationship owner)."""

from __future__ import annotations

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from membercare.core.permissions import can_work_members, require, visible_staff, visible_stores
from membercare.core.public import public_base_url

from .services import poster_token


def _join_url(request: HttpRequest, store, clerk=None) -> str:
    return f"{public_base_url(request)}/m/join/?p={poster_token(store, clerk)}"


def poster_list(request: HttpRequest) -> HttpResponse:
    require(can_work_members(request.user))
    staff = visible_staff(request.user).filter(is_active=True)
    rows = []
    for store in visible_stores(request.user).select_related("brand").order_by("code")[:500]:
        clerks = [s for s in staff.filter(stores=store).order_by("display_name", "pk")[:200]]
        rows.append({"store": store, "clerks": clerks})
    return render(request, "membercentre/poster_list.html", {"rows": rows})


def poster(request: HttpRequest, store_id: int) -> HttpResponse:
    require(can_work_members(request.user))
    store = get_object_or_404(visible_stores(request.user).select_related("brand"), pk=store_id)
    clerk = None
    if request.GET.get("clerk", "").isdigit():
        clerk = get_object_or_404(visible_staff(request.user).filter(stores=store), pk=int(request.GET["clerk"]))
    url = _join_url(request, store, clerk)
    qr = mark_safe(segno.make(url, error="m").svg_inline(scale=6, border=2, omitsize=True))  # noqa: S308 - drawn by segno from our URL
    return render(request, "membercentre/poster.html", {"store": store, "clerk": clerk, "url": url, "qr": qr})


