"""Member centre writes: a member's session on their phone, joining by a store's or clerk's poster (issue 22).

Sign-in and joining prove the phone by a one-time SMS code (messaging.otp); these functions run after that
proof. Posters carry a signed token naming the store (and the clerk): it cannot be forged to claim members
for another store, and needs no table (a printed poster stays valid)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from membercare.members.models import Member
from membercare.members.services import member_create
from membercare.org.models import Staff, Store

from .models import MemberSession

SEEN_EVERY = dt.timedelta(hours=1)  # last_seen_at (and the sliding expiry) written at most this often
_POSTER_SALT = "membercare.membercentre.poster"
CONSENTS = ("consent_sms", "consent_phone", "consent_wechat", "consent_email")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def session_start(*, member: Member, ip: str = "", user_agent: str = "", now: dt.datetime | None = None) -> str:
    """A new session for the member; returns the key for their cookie (only its hash is stored)."""
    now = now or timezone.now()
    key = secrets.token_urlsafe(32)
    MemberSession.objects.create(member=member, key_hash=key_hash(key), created_at=now, last_seen_at=now,
                                 expires_at=now + dt.timedelta(days=settings.MEMBERCARE_MEMBER_SESSION_DAYS),
                                 ip=(ip or "")[:45], user_agent=(user_agent or "")[:200])
    return key


def session_touch(session: MemberSession, now: dt.datetime | None = None) -> None:
    """Slide the expiry on a visit (at most once per SEEN_EVERY: a page view writes nothing otherwise)."""
    now = now or timezone.now()
    if now - session.last_seen_at >= SEEN_EVERY:
        MemberSession.objects.filter(pk=session.pk).update(
            last_seen_at=now, expires_at=now + dt.timedelta(days=settings.MEMBERCARE_MEMBER_SESSION_DAYS))


def session_end(key: str, now: dt.datetime | None = None) -> None:
    MemberSession.objects.filter(key_hash=key_hash(key or ""), ended_at__isnull=True).update(
        ended_at=now or timezone.now())


def sessions_end_for(member_id: int, now: dt.datetime | None = None) -> int:
    """Sign the member out everywhere (erasure, a phone number changed)."""
    return MemberSession.objects.filter(member_id=member_id, ended_at__isnull=True).update(
        ended_at=now or timezone.now())


@dataclass(frozen=True)
class Poster:
    store: Store
    clerk: Staff | None


def poster_token(store: Store, clerk: Staff | None = None) -> str:
    return signing.dumps({"s": store.pk, "c": clerk.pk if clerk else None}, salt=_POSTER_SALT, compress=True)


def poster_from_token(token: str) -> Poster | None:
    """The store (and clerk) a poster's token names; None when forged, or the store or clerk is gone."""
    if not token or len(token) > 200:
        return None
    try:
        data = signing.loads(token, salt=_POSTER_SALT)
        store = Store.objects.select_related("brand").get(pk=int(data["s"]))
        clerk = Staff.objects.filter(pk=int(data["c"]), is_active=True).first() if data.get("c") else None
    except (signing.BadSignature, KeyError, TypeError, ValueError, Store.DoesNotExist):
        return None
    if clerk is not None and not clerk.stores.filter(pk=store.pk).exists():
        clerk = None
    return Poster(store, clerk)


@transaction.atomic
def member_join(*, data: dict[str, Any], poster: Poster) -> tuple[Member, bool]:
    """Register the member who scanned the poster (their phone already proven by a code), or find them: one
    phone = one member, so an existing member is signed in, never duplicated or changed. The store and the
    clerk of the poster become the registration store and the relationship owner. (member, created)."""
    existing = Member.objects.filter(phone=data.get("phone")).first()
    if existing is not None:
        return existing, False
    fields = {k: data[k] for k in ("name", "phone", "birthday", "gender") if k in data}
    fields.update({k: bool(data.get(k)) for k in CONSENTS})
    return member_create(data=fields, store=poster.store, by=None, owner=poster.clerk), True
