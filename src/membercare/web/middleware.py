from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import FieldDoesNotExist
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from membercare.core.text import has_control

PUBLIC_PREFIXES = ("/login/", "/static/", "/i18n/", "/api/", "/healthz", "/readyz", "/metrics", "/admin/",
                   "/rsvp/", "/s/", "/m/")  # /s/: surveys; /m/: the member centre (its own sessions); /metrics
#                                                checks its own token


class LoginRequiredMiddleware:
    """Every page needs a login (the API and Django admin authenticate on their own). Permission
    checks per role and store happen in the views and services; this only keeps anonymous visitors out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PUBLIC_PREFIXES) and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class ControlCharacterGuard:
    """A page's path, query parameters and form fields must not carry control characters (NUL would reach the
    database and fail there with a 500): such a request gets a 400 page naming the field, in the user's
    language, before any view runs. The API has its own guard (api.middleware) answering JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            field = self.offending_field(request)
            if field is not None:
                return render(request, "web/bad_input.html", {"field": field_label(field), "key": field},
                              status=400)
        return self.get_response(request)

    @staticmethod
    def offending_field(request) -> str | None:
        if has_control(request.path_info):
            return "path"
        for data in (request.GET, request.POST if request.method == "POST" else None):
            if data is None:
                continue
            for key, values in data.lists():
                if has_control(key) or any(has_control(v) for v in values):
                    return key
        return None


# the pages' parameters that are no model field, by the name a user knows them
PARAMETER_LABELS = {
    "path": _("page address"), "q": _("search text"), "query": _("search text"), "page": _("page number"),
    "store": _("store"), "tag": _("tag"), "owner": _("relationship owner"), "member": _("member"),
    "card": _("card number"), "coupon_code": _("coupon code"), "reason": _("reason"), "note": _("note"),
}
# models whose field names the forms use, searched in this order (the member's fields first)
LABEL_MODELS = ("members.Member", "care.Contact", "service.Complaint", "messaging.MessageTemplate",
                "loyalty.Card", "campaigns.CouponBatch", "events.Event", "org.Staff", "org.Store")


def field_label(key: str) -> str:
    """What the refusal page calls the field `key`: its label in the user's language, never the raw key."""
    if key in PARAMETER_LABELS:
        return str(PARAMETER_LABELS[key])
    for label in LABEL_MODELS:
        try:
            return str(apps.get_model(label)._meta.get_field(key).verbose_name)
        except (FieldDoesNotExist, LookupError):
            continue
    return str(_("one of the fields"))
