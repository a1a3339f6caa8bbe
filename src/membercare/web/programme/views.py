"""The programme editor and its history (the VIP specialist and the admin only). Thin: rules live in
loyalty.programme_services and loyalty.programme_selectors."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, require
from membercare.loyalty.models import ProgrammeVersion
from membercare.loyalty.programme_selectors import describe_changes, latest_version, programme_history, version_in_force
from membercare.loyalty.programme_services import programme_ensure_default, programme_update

from .forms import ProgrammeForm


def programme_edit_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    programme_ensure_default()
    base = latest_version()
    if request.method == "POST":
        form = ProgrammeForm(request.POST, base_rules=base.rules)
        if form.is_valid():
            if form.cleaned_data.get("base_version") not in (None, base.pk):
                form.add_error(None, _("Someone saved another version of the programme meanwhile. This form now "
                                       "starts from it: check your changes and save again."))
                form = _rebased(request, base, form)
            else:
                try:
                    version = programme_update(rules=form.rules(), effective_from=form.cleaned_data["effective_from"],
                                               by=request.user, note=form.cleaned_data["note"])
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, _("The programme was saved; it applies from %(date)s.") % {
                        "date": formats.date_format(version.effective_from)})
                    return redirect("programme_history")
    else:
        form = ProgrammeForm(base_rules=base.rules, base_version=base.pk)
    return render(request, "web/programme/edit.html", {
        "form": form, "base": base, "in_force": version_in_force(),
        "scheduled": ProgrammeVersion.objects.filter(effective_from__gt=timezone.localdate()).order_by(
            "effective_from", "pk"),
    })


def _rebased(request: HttpRequest, base: ProgrammeVersion, stale: ProgrammeForm) -> ProgrammeForm:
    """Keep what was typed, but point the form at the version saved meanwhile."""
    data = request.POST.copy()
    data["base_version"] = str(base.pk)
    form = ProgrammeForm(data, base_rules=base.rules)
    form.is_valid()
    for error in stale.non_field_errors():
        form.add_error(None, error)
    return form


def programme_history_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    programme_ensure_default()
    entries = [(e.version, e.status, describe_changes(e.changes)) for e in programme_history()]
    return render(request, "web/programme/history.html", {"entries": entries})
