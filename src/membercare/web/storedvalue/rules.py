"""/stored-value/rules/: HQ (VIP specialist, administrator) edits the stored-value rules — every setting of
storedvalue.rules.DEFAULTS and the bonus tiers as a table — saving a new version through `rules_update`, which
checks them (the 2012 measures' limits, sense) and refuses with the setting named; nothing typed is lost on a
refusal. The current version (who, when) and the versions before it are shown read-only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, require
from membercare.storedvalue.models import StoredValueSettings
from membercare.storedvalue.rules import rules_document, rules_update
from membercare.storedvalue.selectors import rules_history

from .forms import RulesForm, TierFormSet, add_service_errors, tier_initial, tiers_document


def rules_edit(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    current = StoredValueSettings.objects.select_related("created_by").order_by("-created_at", "-pk").first()
    base = current.pk if current else None
    if request.method == "POST":
        form = RulesForm(request.POST)
        formset = TierFormSet(request.POST, prefix="tier")
        if form.is_valid() & formset.is_valid():
            if form.cleaned_data.get("base_version") != base:
                data = request.POST.copy()
                data["base_version"] = "" if base is None else str(base)
                form = RulesForm(data)
                form.is_valid()
                form.add_error(None, _("Someone saved another version of the rules meanwhile: check the history "
                                       "below, then save your changes again."))
            else:
                tiers, rows = tiers_document(formset)
                try:
                    rules_update(by=request.user, changes={**form.changes(), "bonus_tiers": tiers})
                except ValidationError as exc:
                    add_service_errors(form, formset, exc, rows)
                else:
                    messages.success(request, _("The stored-value rules were saved as a new version."))
                    return redirect("stored_value_rules")
        status = 422
    else:
        document = rules_document()
        form = RulesForm(document=document, base_version=base)
        formset = TierFormSet(initial=tier_initial(document), prefix="tier")
        status = 200
    return render(request, "web/storedvalue/rules.html", {
        "form": form, "formset": formset, "current": current, "history": rules_history(limit=30),
    }, status=status)
