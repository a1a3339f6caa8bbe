"""POS authentication: a per-store API key in `Authorization: Bearer <key>` (or `X-Api-Key: <key>`).

The key's store is the store of every request (`request.auth.store`)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from membercare.loyalty.apikeys import ApiKeyRejected, apikey_authenticate
from membercare.loyalty.models import ApiKey

from .errors import ApiError


class PosKeyAuth(HttpBearer):
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
            return apikey_authenticate(token)
        except ApiKeyRejected as exc:
            if exc.code == "api_key_revoked":
                raise ApiError(401, exc.code, _("This API key has been revoked.")) from exc
            if exc.code == "store_inactive":
                raise ApiError(403, exc.code, _("The key's store is closed in MemberCare.")) from exc
            raise ApiError(401, "unauthenticated", _("The API key is not valid.")) from exc
