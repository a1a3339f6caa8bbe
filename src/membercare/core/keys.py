"""The keys a production server must be given: the secret key and the field key(s), checked at start; and the
settings it must not run with (eager background jobs outside the demo).

With DJANGO_DEBUG=0 the settings call check_production_keys(): a missing or development DJANGO_SECRET_KEY, or a
missing, malformed or secret-derived MEMBERCARE_FIELD_KEY stops the process with a message naming the variable
(otherwise ID numbers would be encrypted under a key anyone can compute from the public default).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production-0123456789"


def derived_field_key(secret_key: str) -> str:
    """The field key the development setup derives from the secret key (never accepted in production)."""
    digest = hashlib.sha256(("membercare-field-key:" + secret_key).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def field_keys(value: str) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def check_production_settings(env: Mapping[str, str]) -> None:
    """Settings besides the keys that production (DJANGO_DEBUG=0) must not run with, outside the demo."""
    demo = env.get("MEMBERCARE_DEMO", "0") == "1"
    if env.get("CELERY_TASK_ALWAYS_EAGER", "0") == "1" and not demo:
        raise ImproperlyConfigured(
            "CELERY_TASK_ALWAYS_EAGER=1 runs every background job (exports, reports, recomputes) inside the web "
            "request that starts it: unset it in production and run a Celery worker (celery -A "
            "membercare.celery_app worker); only the one-process demo (MEMBERCARE_DEMO=1) runs jobs eagerly.")
    if demo:
        return
    if not (env.get("MEMBERCARE_PUBLIC_URL") or "").strip():
        raise ImproperlyConfigured(
            "MEMBERCARE_PUBLIC_URL is not set: members' links (surveys, event replies) must start with the "
            "chain's public address, e.g. https://vip.example.com, whichever server or worker writes them.")
    if not (env.get("MESSAGING_SMS_ACCESS_KEY_ID") or "").strip() and env.get("MESSAGING_OUTBOX_ALLOWED") != "1":
        raise ImproperlyConfigured(
            "MESSAGING_SMS_ACCESS_KEY_ID is not set: SMS would only be written to a file on this server "
            "(var/outbox). Set the SMS provider's credentials, or MESSAGING_OUTBOX_ALLOWED=1 to keep messages in "
            "the outbox file on purpose (a chain without SMS yet).")


def check_production_keys(env: Mapping[str, str]) -> None:
    secret = (env.get("DJANGO_SECRET_KEY") or "").strip()
    if not secret or secret == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: with DJANGO_DEBUG=0 MemberCare needs its own secret key "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))').")
    keys = field_keys(env.get("MEMBERCARE_FIELD_KEY", ""))
    if not keys:
        raise ImproperlyConfigured(
            "MEMBERCARE_FIELD_KEY is not set: with DJANGO_DEBUG=0 MemberCare needs the key that encrypts ID numbers "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'); "
            "keep it safe and stable.")
    for key in keys:
        if not _is_fernet_key(key):
            raise ImproperlyConfigured("MEMBERCARE_FIELD_KEY holds a value that is not a Fernet key (32 bytes in "
                                       "url-safe base64).")
        if key in (derived_field_key(secret), derived_field_key(DEV_SECRET_KEY)):
            raise ImproperlyConfigured("MEMBERCARE_FIELD_KEY must not be derived from the secret key: generate "
                                       "one of its own.")
