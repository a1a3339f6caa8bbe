"""Encryption at rest for sensitive personal data (PIPL): ID numbers are stored as Fernet tokens."""

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    if key_material:
        return Fernet(key_material.encode())
    digest = hashlib.sha256(("membercare-field-key:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def fernet() -> Fernet:
    return _fernet(settings.MEMBERCARE_FIELD_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong key or tampered value: never return garbage silently
        raise ValueError("cannot decrypt a sensitive field: wrong MEMBERCARE_FIELD_KEY?") from exc


def blind_index(value: str) -> str:
    """A keyed hash for equality look-ups on an encrypted value (finds duplicates without decrypting)."""
    key = (settings.MEMBERCARE_FIELD_KEY or settings.SECRET_KEY).encode()
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
