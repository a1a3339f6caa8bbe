"""Pinning a member's relationship owner from the profile (care.owners): the manager of the member's
registration store or HQ; POST only; a refusal comes back on the profile with the reason."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.care.owners import can_pin_owner, owner_candidates, owner_pin, owner_unpin
from membercare.members.models import Member


def _bad(request: HttpRequest, member: Member, text: str) -> HttpResponse:
    from ..members.views import member_detail_page

    messages.error(request, text)
    response = member_detail_page(request, member.pk)
    response.status_code = 400
    return response


@require_POST
def care_owner_pin(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member.objects.select_related("home_store"), pk=pk)
    if not can_pin_owner(request.user, member):
        raise PermissionDenied
    wanted = request.POST.get("owner", "")
    owner = owner_candidates(request.user, member).filter(pk=int(wanted)).first() \
        if wanted.isdigit() and len(wanted) < 10 else None
    if owner is None:
        return _bad(request, member, _("Choose an active colleague of your stores as the owner."))
    try:
        owner_pin(member=member, owner=owner, by=request.user)
    except ValidationError as exc:
        return _bad(request, member, " ".join(exc.messages))
    messages.success(request, _("%(name)s is now the pinned relationship owner.") % {"name": owner})
    return redirect("member_detail", pk=member.pk)


@require_POST
def care_owner_unpin(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(Member.objects.select_related("home_store"), pk=pk)
    if not can_pin_owner(request.user, member):
        raise PermissionDenied
    try:
        owner_unpin(member=member, by=request.user)
    except ValidationError as exc:
        return _bad(request, member, " ".join(exc.messages))
    messages.success(request, _("The pin is removed: the monthly run derives the owner again."))
    return redirect("member_detail", pk=member.pk)
