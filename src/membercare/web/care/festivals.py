"""/care/festivals/: the festivals the care rules greet members for (HQ's data: name, solar or lunar date, an
optional saved audience, greeting text and channel) — list, add, edit, switch off. VIP specialist and admin.
Thin: care.calendar_writes checks and writes, care.festivals computes the dates."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.access import can_edit_care_settings
from membercare.care.calendar_writes import festival_create, festival_update
from membercare.care.festivals import next_date
from membercare.care.models import Festival
from membercare.core.permissions import require

from ..forms import add_service_errors
from .forms import FestivalForm


def _field_for(name: str) -> str:
    return "audience" if name == "audience_id" else name


def _rows() -> list[dict]:
    from membercare.audiences.models import Audience

    today = timezone.localdate()
    festivals = list(Festival.objects.order_by("pk"))
    names = dict(Audience.objects.filter(pk__in=[f.audience_id for f in festivals if f.audience_id])
                 .values_list("pk", "name"))
    rows = [{"festival": f, "next_on": next_date(f, today) if f.active else None,
             "audience": names.get(f.audience_id) if f.audience_id else None,
             "audience_missing": bool(f.audience_id and f.audience_id not in names)} for f in festivals]
    # the next festival first; switched-off ones (and any without a date) last
    return sorted(rows, key=lambda r: (r["next_on"] is None, r["next_on"] or today, r["festival"].pk))


def care_festivals_page(request: HttpRequest) -> HttpResponse:
    """/care/festivals/: the list and the form to add one."""
    require(can_edit_care_settings(request.user))
    form = FestivalForm(request.POST or None, initial={"calendar": "solar", "active": True})
    if request.method == "POST" and form.is_valid():
        try:
            festival = festival_create(by=request.user, **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc, field_for=_field_for)
        else:
            messages.success(request, _("Festival “%(name)s” saved; the holiday greeting covers it from now on.")
                             % {"name": festival.name})
            return redirect("care_festivals")
    return render(request, "web/care/festivals.html", {"form": form, "rows": _rows()})


def care_festival_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/care/festivals/<pk>/: change it, or untick "greet members for it" to switch it off."""
    require(can_edit_care_settings(request.user))
    festival = get_object_or_404(Festival, pk=pk)
    form = FestivalForm(request.POST or None, initial=FestivalForm.initial_from(festival))
    if request.method == "POST" and form.is_valid():
        try:
            festival_update(festival=festival, by=request.user, **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc, field_for=_field_for)
        else:
            messages.success(request, _("Festival “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
            return redirect("care_festivals")
    return render(request, "web/care/festival_edit.html", {"form": form, "festival": festival})
