"""The member's electronic card code (会员码): what the member's phone shows as a QR code (and its digits), and what
the counter search and the POS checkout accept in place of a card number (issue 22).

`MC` + the member's id (10 digits) + a check of 8 digits = an HMAC of the id and the current 30-second window
under a key derived from the secret key. The code changes every 30 seconds and is accepted for
`WINDOWS` windows (up to 90 s: a slow scanner, a clock a little off), so a screenshot is useless a minute and a
half later; one code pays one sale (`card_code_used_up`, recorded when the sale commits), so a photo of a code
taken at the till cannot pay a second one. The check is 8 digits: guessing one for a member whose id is known
is one chance in 10⁸ per try, and the counter search and the POS API are rate-limited.

Hand-written (a few lines of `hmac`): a TOTP library would add a second secret per member for no gain here —
the code only needs to prove that the server issued it for this member a moment ago.
"""

from __future__ import annotations

import hmac
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

WINDOW_SECONDS = 30
WINDOWS = 3  # the current window and the two before it
PATTERN = re.compile(r"MC(\d{10})(\d{8})")
_SALT = "membercare.members.cardcode"
_USED_KEY = "member-code-used:{}"


def _check(member_id: int, window: int) -> str:
    digest = salted_hmac(_SALT, f"{member_id}:{window}", secret=settings.SECRET_KEY, algorithm="sha256").digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def _window(at: float | None) -> int:
    return int((time.time() if at is None else at) // WINDOW_SECONDS)


def card_code(member_id: int, *, at: float | None = None) -> str:
    """The member's code for the window of `at` (a Unix time; now by default)."""
    return f"MC{member_id:010d}{_check(member_id, _window(at))}"


def looks_like_card_code(text: str) -> bool:
    return bool(PATTERN.fullmatch((text or "").strip().upper()))


def card_code_member_id(text: str, *, at: float | None = None) -> int | None:
    """The member id a code was issued for within the last WINDOWS windows, or None (malformed, forged,
    too old). Constant-time comparison of the check."""
    match = PATTERN.fullmatch((text or "").strip().upper())
    if not match:
        return None
    member_id, given = int(match.group(1)), match.group(2)
    now = _window(at)
    ok = False
    for window in range(now - WINDOWS + 1, now + 1):
        ok |= hmac.compare_digest(_check(member_id, window), given)
    return member_id if ok else None


def card_code_used(text: str) -> bool:
    """Whether this code already paid a sale."""
    return cache.get(_USED_KEY.format(text.strip().upper())) is not None


def card_code_mark_used(text: str) -> None:
    """Record that the code paid a sale (kept as long as the code could still be accepted)."""
    cache.set(_USED_KEY.format(text.strip().upper()), 1, WINDOW_SECONDS * (WINDOWS + 1))
