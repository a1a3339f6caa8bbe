"""Idempotent writes: the first result for (store, Idempotency-Key) is stored and replayed.

The record is inserted last, in the posting transaction, with the result. The unique constraint (store, key)
makes a concurrent second request with the same key wait for the first one's commit and then fail its
insert: its whole transaction (its own posting included) rolls back and it replays the stored result. Two
requests for one sale also queue on the member's account lock before that, so the second one's wasted
work is short. A refusal is recorded in a transaction of its own after the refused attempt rolled back;
if a concurrent request with the key recorded a result first, that result is replayed.
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

from membercare.loyalty import rows
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


def _record(store: Store, key: str, endpoint: str, digest: str, status: int, payload: dict[str, Any]) -> None:
    rows.insert([IdempotencyRecord(store_id=store.pk, key=key, endpoint=endpoint, request_hash=digest,
                                   status_code=status, response=payload, created_at=timezone.now())])


def idempotent(request: HttpRequest, *, store: Store, key: str, endpoint: str, body: Any,
               run: Callable[[], tuple[int, dict[str, Any]]]) -> JsonResponse:
    """Run `run` once per (store, key): it returns (status, JSON body). A refusal (CheckoutError, ApiError)
    is a result too and is replayed the same way; an unexpected exception rolls everything back."""
    digest = request_hash(endpoint, body)
    try:
        try:
            with transaction.atomic():
                status, payload = run()
                _record(store, key, endpoint, digest, status, payload)
        except (CheckoutError, ApiError) as exc:  # the attempt's writes are rolled back; the refusal is the result
            status, payload = (422, checkout_error_body(exc)) if isinstance(exc, CheckoutError) else (
                exc.status, exc.payload)
            with transaction.atomic():
                _record(store, key, endpoint, digest, status, payload)
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(store=store, key=key).first()
        if existing is None:  # not our key's constraint: a real error
            raise
        return _replay(existing, digest)
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
