"""Coupon codes: 11 random characters (secrets) from an unambiguous alphabet and a check character.

The alphabet has 31 characters (no 0/O, 1/I/L); 31 is prime, so the weighted check (weights 1..12, sum ≡ 0
mod 31) catches every single wrong character and every swap of two characters before any database lookup.
11 random characters are about 54 bits: codes cannot be guessed. Shown as XXXX-XXXX-XXXX; typed in any case,
with or without dashes and spaces.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BODY = 11
LENGTH = BODY + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_N = len(ALPHABET)


def check_char(body: str) -> str:
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(body))
    return ALPHABET[(-total * pow(LENGTH, -1, _N)) % _N]  # so that the full weighted sum is 0 mod 31


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return body + check_char(body)


def normalize_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def is_well_formed(code: str) -> bool:
    """`code` normalized: the right length, alphabet and check character."""
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        return False
    return sum((i + 1) * _VALUE[c] for i, c in enumerate(code)) % _N == 0


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def masked_code(code: str) -> str:
    """For lists: the first and last characters only (ABCD-****-**XY)."""
    return f"{code[:4]}-****-**{code[-2:]}" if len(code) == LENGTH else "****"
