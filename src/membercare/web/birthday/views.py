"""Birthday privilege exceptions: a clerk asks from the member's profile, the VIP specialist decides in a
queue. Thin: the rules and permissions live in loyalty.birthday_exceptions."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import can_edit_programme, can_work_members, require
from membercare.loyalty.birthday_exceptions import (
    birthday_exception_decide,
    birthday_exception_request,
    exception_queue,
)
from membercare.loyalty.models import BirthdayException
from membercare.members.models import Member

from .forms import ExceptionRequestForm


def exception_request_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/members/<pk>/birthday-exception/: ask for the privilege outside the birthday month."""
    require(can_work_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    today = timezone.localdate()
    initial = {"valid_from": today, "valid_to": today + dt.timedelta(days=13),
               "store": request.user.stores.order_by("pk").first() or member.home_store}
    form = ExceptionRequestForm(request.POST or None, initial=initial, user=request.user, member=member)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            exc = birthday_exception_request(member=member, store=d["store"], by=request.user, period=d["period"],
                                             valid_from=d["valid_from"], valid_to=d["valid_to"], reason=d["reason"])
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if exc.status == BirthdayException.Status.APPROVED:
                messages.success(request, _("Exception approved: the birthday privilege of %(period)s can be used "
                                            "until %(date)s.") % {"period": exc.period, "date": exc.valid_to})
            else:
                messages.success(request, _("Request sent to the VIP specialist."))
            return redirect("member_detail", pk=member.pk)
    return render(request, "web/birthday/exception_new.html", {"form": form, "member": member})


def exception_queue_page(request: HttpRequest) -> HttpResponse:
    """The specialist's queue (the chain's requests); others see their stores' requests and decisions."""
    require(can_work_members(request.user))
    status = request.GET.get("status", BirthdayException.Status.PENDING if can_edit_programme(request.user) else "")
    if status not in BirthdayException.Status.values:
        status = ""
    page = Paginator(exception_queue(request.user, status), 50).get_page(request.GET.get("page"))
    return render(request, "web/birthday/exceptions.html", {
        "page": page, "status": status, "statuses": BirthdayException.Status.choices,
        "can_decide": can_edit_programme(request.user)})


@require_POST
def exception_decide_view(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    require(can_edit_programme(request.user))
    exc = exception_queue(request.user).filter(pk=pk).first()
    if exc is None or decision not in ("approve", "reject"):
        raise Http404
    error = ""
    try:
        exc = birthday_exception_decide(exc, by=request.user, approve=decision == "approve",
                                        note=request.POST.get("note", ""))
    except ValidationError as failure:
        error = " ".join(failure.messages)
    if request.htmx:
        return render(request, "web/birthday/_exception_row.html", {"x": exc, "error": error, "can_decide": True})
    (messages.error if error else messages.success)(request, error or _("Decision saved."))
    return redirect("birthday_exceptions")
