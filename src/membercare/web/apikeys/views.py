"""API key pages for the administrator: list, issue (the key is shown once), revoke.
Thin: the rules and the permission check live in loyalty.apikeys."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import can_administer, require
from membercare.loyalty.apikeys import apikey_issue, apikey_list, apikey_revoke
from membercare.loyalty.models import ApiKey

from .forms import ApiKeyForm


def apikey_list_page(request: HttpRequest) -> HttpResponse:
    keys = apikey_list(by=request.user)  # refuses everyone but the administrator
    return render(request, "web/apikeys/list.html", {"keys": keys, "form": ApiKeyForm()})


def apikey_issue_page(request: HttpRequest) -> HttpResponse:
    require(can_administer(request.user))
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, plaintext = apikey_issue(store=form.cleaned_data["store"], name=form.cleaned_data["name"],
                                          by=request.user)
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # shown once, in this response only; never stored, never in a redirect or a message
            response = render(request, "web/apikeys/issued.html", {"key": key, "plaintext": plaintext})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "web/apikeys/new.html", {"form": form})


@require_POST
def apikey_revoke_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_administer(request.user))
    key = get_object_or_404(ApiKey, pk=pk)
    apikey_revoke(key=key, by=request.user)
    messages.success(request, _("Key %(name)s (%(prefix)s) of %(store)s is revoked: it no longer works.") % {
        "name": key.name, "prefix": key.prefix, "store": key.store.name})
    return redirect("apikey_list")
