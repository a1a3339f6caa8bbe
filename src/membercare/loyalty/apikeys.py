"""Per-store API keys for POS systems.

A key reads ``mc_<prefix>_<secret>``. Only the SHA-256 of the secret is stored; the whole key is
shown once, when the administrator issues it. The prefix (unique, not secret) finds the row, the hash
is compared in constant time. A revoked key stops working at once: reads look the row up on every
request; writes (checkout, return) may take a key this process checked within the last minute from
memory, and then confirm it in their own transaction (`apikey_active_sql`), so a write with a key revoked
or a store closed a moment earlier is rolled back and refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_administer, require
from membercare.org.models import Brand, Staff, Store

from . import rows
from .models import ApiKey

KEY_PREFIX = "mc"
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most once a minute per key


class ApiKeyRejected(Exception):
    """The key is missing, malformed, unknown or revoked (`code` says which)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def apikey_issue(*, store: Store, name: str, by: Staff) -> tuple[ApiKey, str]:
    """Issue a key for `store`. Returns the key row and the plaintext key (shown once, never stored)."""
    require(can_administer(by))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name (e.g. the POS system and till).")})
    if len(name) > 100:
        raise ValidationError({"name": _("The name is too long (at most 100 characters).")})
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(store=store, name=name, prefix=prefix, key_hash=_hash(secret),
                                            created_by=by, created_at=timezone.now())
        except IntegrityError:  # prefix taken: draw again
            continue
        return key, f"{KEY_PREFIX}_{prefix}_{secret}"
    raise RuntimeError("could not draw a unique API key prefix")


@transaction.atomic
def apikey_revoke(*, key: ApiKey, by: Staff) -> ApiKey:
    """Revoke a key: the next request with it is refused."""
    require(can_administer(by))
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def apikey_list(*, by: Staff) -> QuerySet[ApiKey]:
    require(can_administer(by))
    return ApiKey.objects.select_related("store", "created_by").order_by("revoked_at", "store__code", "-created_at")


def _split(raw: str) -> tuple[str, str]:
    """(prefix, secret) of a presented key, or ApiKeyRejected."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise ApiKeyRejected("unauthenticated")
    return parts[1], parts[2]


def apikey_authenticate(raw: str) -> ApiKey:
    """The active key for a presented plaintext key (with its store and brand loaded), or ApiKeyRejected."""
    prefix, secret = _split(raw)
    key = _key_by_prefix(prefix)
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        raise ApiKeyRejected("unauthenticated")
    if key.revoked_at is not None:
        raise ApiKeyRejected("api_key_revoked")
    if not key.store.is_active:
        raise ApiKeyRejected("store_inactive")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        # a conditional UPDATE: several workers seeing a stale value write it once between them
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).exclude(
            last_used_at__gt=now - TOUCH_EVERY).update(last_used_at=now)
        key.last_used_at = now
    return key


REMEMBER_FOR = 60.0  # seconds a process may answer a key from memory for a write that confirms it (see above)
_REMEMBERED: dict[str, tuple[float, ApiKey]] = {}  # prefix -> (when checked, the key with its store and brand)


def apikey_authenticate_for_write(raw: str) -> ApiKey:
    """apikey_authenticate for a write that confirms the key in its own transaction with `apikey_active_sql`
    (and refuses with `apikey_refusal` when it no longer holds): a key this process authenticated within
    REMEMBER_FOR seconds is answered from memory (its secret checked against the stored hash all the same),
    which saves a query per sale. last_used_at is touched when the key is looked up again."""
    prefix, secret = _split(raw)
    remembered = _REMEMBERED.get(prefix)
    if remembered is not None and time.monotonic() - remembered[0] < REMEMBER_FOR:
        if hmac.compare_digest(remembered[1].key_hash, _hash(secret)):
            return remembered[1]
        raise ApiKeyRejected("unauthenticated")
    key = apikey_authenticate(raw)
    if len(_REMEMBERED) >= 1000:
        _REMEMBERED.clear()
    _REMEMBERED[prefix] = (time.monotonic(), key)
    return key


def apikey_active_sql() -> str:
    """SQL that is true while the key is not revoked, its store is open and still has the code and brand the
    write used; parameters: apikey_active_params(key)."""
    return (f"EXISTS (SELECT 1 FROM {ApiKey._meta.db_table} k JOIN {Store._meta.db_table} s ON s.id = k.store_id "
            "WHERE k.id = %s AND k.revoked_at IS NULL AND s.is_active AND s.code = %s AND s.brand_id = %s)")


def apikey_active_params(key: ApiKey) -> list:
    return [key.pk, key.store.code, key.store.brand_id]


def apikey_refusal(key: ApiKey) -> ApiKeyRejected:
    """Why a key that a write took from memory failed `apikey_active_sql`: revoked, or its store closed, or the
    store's code or brand changed since (`store_changed`: sending the request again succeeds). The key is
    forgotten, so the next request looks it up."""
    _REMEMBERED.pop(key.prefix, None)
    row = ApiKey.objects.filter(pk=key.pk).values_list("revoked_at", "store__is_active").first()
    if row is None:
        return ApiKeyRejected("unauthenticated")
    if row[0] is not None:
        return ApiKeyRejected("api_key_revoked")
    if not row[1]:
        return ApiKeyRejected("store_inactive")
    return ApiKeyRejected("store_changed")


_KEY_COLS, _KEY_FIELDS = rows.columns(ApiKey, "k")
_STORE_COLS, _STORE_FIELDS = rows.columns(Store, "s")
_BRAND_COLS, _BRAND_FIELDS = rows.columns(Brand, "b")
_KEY_ROW = _KEY_FIELDS + _STORE_FIELDS + _BRAND_FIELDS
_KEY_SQL = (f"SELECT {_KEY_COLS}, {_STORE_COLS}, {_BRAND_COLS} FROM {ApiKey._meta.db_table} k "
            f"JOIN {Store._meta.db_table} s ON s.id = k.store_id JOIN {Brand._meta.db_table} b ON b.id = s.brand_id "
            "WHERE k.prefix = %s")


def _key_by_prefix(prefix: str) -> ApiKey | None:
    """The key with its store and brand, in one hand-written query (every POS request runs it)."""
    row = rows.fetch_one(_KEY_SQL, [prefix], _KEY_ROW)
    if row is None:
        return None
    nk, ns = len(_KEY_FIELDS), len(_KEY_FIELDS) + len(_STORE_FIELDS)
    key = rows.instance(ApiKey, _KEY_FIELDS, row[:nk])
    store = rows.instance(Store, _STORE_FIELDS, row[nk:ns])
    store.brand = rows.instance(Brand, _BRAND_FIELDS, row[ns:])
    key.store = store
    return key
