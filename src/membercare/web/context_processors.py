"""What the navigation may show: links only; every page checks permissions again on the server."""

from django.http import HttpRequest

from membercare.core.permissions import can_administer, can_edit_programme


def nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {"nav": {"programme": can_edit_programme(user), "administer": can_administer(user)}}
