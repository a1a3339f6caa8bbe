"""POS authentication: a per-store API key in `Authorization: Bearer <key>` (or `X-Api-Key: <key>`).

The key's store is the store of every request (`request.auth.store`). Reads look the key up on every
request; writes use `PosKeyAuth(for_write=True)`, which may answer from the process's memory because the
write confirms the key in its own transaction (api/idempotency.py)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from membercare.loyalty.apikeys import ApiKeyRejected, apikey_authenticate, apikey_authenticate_for_write
from membercare.loyalty.models import ApiKey

from .errors import ApiError


def key_error(exc: ApiKeyRejected) -> ApiError:
    """The API's answer to a refused key."""
    if exc.code == "api_key_revoked":
        return ApiError(401, exc.code, _("This API key has been revoked."))
    if exc.code == "store_inactive":
        return ApiError(403, exc.code, _("The key's store is closed in MemberCare."))
    if exc.code == "store_changed":
        return ApiError(409, exc.code, _("The store's details changed a moment ago; nothing was recorded. Send the "
                                         "request again."))
    return ApiError(401, "unauthenticated", _("The API key is not valid."))


class PosKeyAuth(HttpBearer):
    def __init__(self, *, for_write: bool = False):
        super().__init__()
        self.for_write = for_write

    def __call__(self, request: HttpRequest) -> ApiKey:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            raw = header[7:].strip()
        else:
            raw = request.headers.get("X-Api-Key", "").strip()
        if not raw:
            raise ApiError(401, "unauthenticated", _("Give the store's API key: “Authorization: Bearer <key>” or "
                                                     "“X-Api-Key: <key>”."))
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        try:
            key = apikey_authenticate_for_write(token) if self.for_write else apikey_authenticate(token)
        except ApiKeyRejected as exc:
            raise key_error(exc) from exc
        throttle(key)
        return key


def throttle(key: ApiKey) -> None:
    """At most MEMBERCARE_POS_RATE_PER_MINUTE requests a key in a minute (a counter per key and minute in the
    cache); beyond, 429 — a till in a loop must not take the server from the other stores."""
    limit = settings.MEMBERCARE_POS_RATE_PER_MINUTE
    if limit <= 0:
        return
    name = f"pos-rate:{key.pk}:{int(time.time() // 60)}"
    if cache.add(name, 1, timeout=120):
        return
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=120)
        return
    if count > limit:
        raise ApiError(429, "too_many_requests", _("Too many requests with this store's key: at most %(n)d a minute. "
                                                   "Wait a moment, then retry with the same Idempotency-Key.") % {
            "n": limit})
