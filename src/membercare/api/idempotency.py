"""Idempotent writes: the first result for (store, Idempotency-Key) is stored and replayed.

The record is inserted last, in the posting transaction, with the result. The unique constraint (store, key)
makes a concurrent second request with the same key wait for the first one's commit and then fail its
insert: its whole transaction (its own posting included) rolls back and it replays the stored result. Two
requests for one sale also queue on the member's account lock before that, so the second one's wasted
work is short. A refusal is recorded in a transaction of its own after the refused attempt rolled back;
if a concurrent request with the key recorded a result first, that result is replayed.

The record's insert also confirms the API key (revoked or its store closed since the request was
authenticated: nothing is inserted, the whole write rolls back and the key is refused), which lets writes
take the key from the process's memory (loyalty.apikeys.apikey_authenticate_for_write). The response is
serialised once, for the record and the answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.loyalty import rows
from membercare.loyalty.apikeys import ApiKeyRejected, apikey_active_params, apikey_active_sql, apikey_refusal
from membercare.loyalty.models import ApiKey, IdempotencyRecord
from membercare.sales.pipeline import CheckoutError, after_rollback

from .auth import key_error
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


_RECORD_SQL: dict[str, str] = {}


def _record_sql(vendor: str) -> str:
    """INSERT the record if the API key (the last parameter) is still active; the response is JSON text."""
    sql = _RECORD_SQL.get(vendor)
    if sql is None:
        qn = rows.db().ops.quote_name
        columns = ", ".join(qn(IdempotencyRecord._meta.get_field(name).column) for name in (
            "store", "key", "endpoint", "request_hash", "status_code", "response", "created_at"))
        response = "%s::jsonb" if vendor == "postgresql" else "%s"
        sql = _RECORD_SQL[vendor] = (
            f"INSERT INTO {qn(IdempotencyRecord._meta.db_table)} ({columns}) "
            f"SELECT %s, %s, %s, %s, %s, {response}, %s WHERE {apikey_active_sql()}")
    return sql


def _record(api_key: ApiKey, key: str, endpoint: str, digest: str, status: int, text: str) -> None:
    """Store the result (JSON text), or raise ApiKeyRejected when the key was revoked or its store closed or
    changed since the request was authenticated."""
    conn = rows.db()
    inserted = rows.execute(_record_sql(conn.vendor), [
        api_key.store_id, key, endpoint, digest, status, text,
        rows.param(IdempotencyRecord, "created_at", timezone.now()), *apikey_active_params(api_key)])
    if not inserted:
        raise apikey_refusal(api_key)


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, cls=DjangoJSONEncoder)


def idempotent(request: HttpRequest, *, key: str, endpoint: str, body: Any,
               run: Callable[[], tuple[int, dict[str, Any]]]) -> HttpResponse:
    """Run `run` once per (store of the request's API key, key): it returns (status, JSON body). A refusal
    (CheckoutError, ApiError) is a result too and is replayed the same way; an unexpected exception rolls
    everything back. A key revoked (or a store closed) since the request was authenticated: refused, nothing
    written."""
    api_key: ApiKey = request.auth
    digest = request_hash(endpoint, body)
    try:
        try:
            with transaction.atomic():
                status, payload = run()
                text = _dump(payload)
                _record(api_key, key, endpoint, digest, status, text)
        except (CheckoutError, ApiError) as exc:  # the attempt's writes are rolled back; the refusal is the result
            after_rollback(exc)
            status, payload = (422, checkout_error_body(exc)) if isinstance(exc, CheckoutError) else (
                exc.status, exc.payload)
            text = _dump(payload)
            with transaction.atomic():
                _record(api_key, key, endpoint, digest, status, text)
    except ApiKeyRejected as exc:
        raise key_error(exc) from exc
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(store_id=api_key.store_id, key=key).first()
        if existing is None:  # not our key's constraint: a real error
            raise
        return _replay(existing, digest)
    except DatabaseError as exc:
        return _after_database_error(api_key, key, digest, exc)
    return HttpResponse(text, status=status, content_type="application/json")


def _after_database_error(api_key: ApiKey, key: str, digest: str, error: DatabaseError) -> HttpResponse:
    """The database failed during the write — perhaps after its COMMIT went through (the connection dropped
    before the answer came back). Look the key up on a fresh connection before answering: the recorded
    result if there is one; if the look-up fails too, say the outcome is unknown (never "nothing was
    recorded"); if there is no record, nothing was recorded and the error goes to the usual handler."""
    try:
        connection.close()  # the failed connection may be unusable; the next query opens a new one
        existing = IdempotencyRecord.objects.filter(store_id=api_key.store_id, key=key).first()
    except DatabaseError:
        return error_response(503, "outcome_unknown", _("The database did not answer: it is not known whether this "
                                                        "request was recorded. Send it again with the same "
                                                        "Idempotency-Key: it is never recorded twice."))
    if existing is not None:
        return _replay(existing, digest)
    raise error
