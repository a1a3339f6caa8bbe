"""Encryption at rest for sensitive personal data (PIPL): ID numbers are stored as Fernet tokens."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

from .keys import derived_field_key, field_keys


@lru_cache(maxsize=4)
def _fernet(key_material: str, secret_key: str) -> MultiFernet:
    """The first key encrypts, every key decrypts (a rotation in progress holds "new,old")."""
    keys = field_keys(key_material) or [derived_field_key(secret_key)]  # development only (settings check)
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(settings.MEMBERCARE_FIELD_KEY, settings.SECRET_KEY)


def encrypted_under_current_key(token: str) -> bool:
    """Whether `token` decrypts with the first (current) key alone."""
    current = Fernet((field_keys(settings.MEMBERCARE_FIELD_KEY) or [derived_field_key(settings.SECRET_KEY)])[0]
                     .encode())
    try:
        current.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value: never return garbage silently
        raise ValueError("cannot decrypt a sensitive field: wrong MEMBERCARE_FIELD_KEY?") from exc


def blind_index(value: str) -> str:
    """A keyed hash for equality look-ups on an encrypted value (finds duplicates without decrypting)."""
    keys = field_keys(settings.MEMBERCARE_FIELD_KEY)
    key = (keys[0] if keys else settings.SECRET_KEY).encode()  # the current key (the first)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code sees plain text. Not searchable: pair it with a blind index."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
