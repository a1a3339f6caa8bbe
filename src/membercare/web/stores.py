"""Store picking for pages: which stores the user may pick, and which one the request picked (?store=)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from membercare.core.permissions import visible_stores
from membercare.org.models import Store


def store_choices(user, *, active_only: bool = True, can: Callable[..., bool] | None = None) -> list[Store]:
    """The stores the user may pick, by code: those they can see (their own; HQ: the chain), the active ones
    unless active_only=False, and of those only the ones can(user, store) allows when `can` is given."""
    stores = visible_stores(user)
    if active_only:
        stores = stores.filter(is_active=True)
    return [s for s in stores.order_by("code") if can is None or can(user, s)]


def picked_store(request: HttpRequest, stores: list[Store], *, default_first: bool = True) -> Store | None:
    """The store named by a POSTed `store` field or ?store= among `stores`. None named: the first of them, or
    None ("all of them") with default_first=False. A store that is not among them, or no store to default
    to, is refused (403): the list is the permission check."""
    wanted = request.POST.get("store") or request.GET.get("store") or ""
    if not wanted:
        if not default_first:
            return None
        if not stores:
            raise PermissionDenied
        return stores[0]
    store = next((s for s in stores if str(s.pk) == wanted), None)
    if store is None:
        raise PermissionDenied
    return store
