"""Idempotent writes: the first result for (store, Idempotency-Key) is stored and replayed.

The record is inserted first, inside the posting transaction. The unique constraint (store, key)
makes a concurrent second request wait for the first one's commit and then fail its insert, so it
replays the stored result instead of posting again; if the first one rolled back, the second posts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.loyalty.checkout import CheckoutError
from membercare.loyalty.models import IdempotencyRecord
from membercare.org.models import Store

from .errors import ApiError, checkout_error_body, error_response

MAX_KEY_LENGTH = 100


def require_key(value: str | None) -> str:
    key = (value or "").strip()
    if not key:
        raise ApiError(400, "idempotency_key_required", _("Every write needs an Idempotency-Key header (e.g. a "
                                                          "UUID made by the POS for this sale)."), "Idempotency-Key")
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(400, "idempotency_key_invalid", _("The Idempotency-Key must be at most %(n)d characters.")
                       % {"n": MAX_KEY_LENGTH}, "Idempotency-Key")
    return key


def request_hash(endpoint: str, body: Any) -> str:
    text = json.dumps({"endpoint": endpoint, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(record: IdempotencyRecord, digest: str) -> JsonResponse:
    if record.request_hash != digest:
        return error_response(409, "idempotency_key_reused", _("This Idempotency-Key was already used for a "
                                                               "different request."), "Idempotency-Key")
    response = JsonResponse(record.response, status=record.status_code, json_dumps_params={"ensure_ascii": False})
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request: HttpRequest, *, store: Store, key: str, endpoint: str, body: Any,
               run: Callable[[], tuple[int, dict[str, Any]]]) -> JsonResponse:
    """Run `run` once per (store, key): it returns (status, JSON body). A refusal (CheckoutError, ApiError)
    is a result too and is replayed the same way; an unexpected exception rolls everything back."""
    digest = request_hash(endpoint, body)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(store=store, key=key, endpoint=endpoint, request_hash=digest,
                                                      status_code=0, response={}, created_at=timezone.now())
            try:
                status, payload = run()
            except CheckoutError as exc:  # the core's own atomic block has rolled its writes back
                status, payload = 422, checkout_error_body(exc)
            except ApiError as exc:
                status, payload = exc.status, exc.payload
            record.status_code, record.response = status, payload
            record.save(update_fields=["status_code", "response"])
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(store=store, key=key).first()
        if existing is None:  # not our key's constraint: a real error
            raise
        return _replay(existing, digest)
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
