"""One-time codes by SMS (验证码): a transactional message kind, generic over its purpose.

`code_send(phone, purpose, member=…, ip=…)` issues a 6-digit code (`secrets`), keeps only a salted HMAC of it
(`OneTimeCode`), valid `MEMBERCARE_OTP_MINUTES` (5) and for at most `MEMBERCARE_OTP_TRIES` (5) wrong tries, used
once. Sending is rate-limited per phone (`MEMBERCARE_OTP_PER_PHONE_MINUTE` 1 a minute,
`MEMBERCARE_OTP_PER_PHONE_HOUR` 5 an hour) and per client address (`MEMBERCARE_OTP_PER_IP_HOUR` 20 an hour):
a refusal is a `CodeRefused` with a stable code, a message in the user's language and the seconds to wait.

The SMS goes through the SMS channel's backend (the outbox file, or the provider with the template code
`MESSAGING_OTP_SMS_TEMPLATE_CODE` and the parameter `code`) right after the code is committed, not through the
worker's queue — a code that waits for the next batch is useless. It is recorded as a `Message` of category
"verification" like every other message (the log, the costs), but transactional: no marketing consent is
needed, the weekly cap, quiet hours and preferred times do not apply, and the member asked for it, so an
SMS opt-out does not stop it. The recorded message never holds the code (its text shows ******); only the
provider gets it. A phone without a member gets no SMS (a message is always a member's), and the caller is
told the same as when it went (`SentCode.sent` says which, for the caller's own log): no one learns from the
answer whose phone is a member's.

`code_verify(phone, purpose, code, member=…)` compares in constant time with the newest code of the phone and
purpose (an older one is superseded by a newer send) and consumes it atomically: of two verifies at once,
one wins. Issue 22 (the member centre's SMS sign-in) uses purpose "member_login"; stored value uses
"stored_value_spend", bound to the member.
"""

from __future__ import annotations

import copy
import datetime as dt
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.locks import hold_until_commit
from membercare.core.phone import normalize_phone
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .backends import SendResult, get_backend
from .models import Category, Message, MessageChannel, MessageStatus, OneTimeCode

log = logging.getLogger("membercare.messaging.otp")
CODE_LENGTH = 6
MASK = "*" * CODE_LENGTH
PURPOSES = {  # what the SMS says the code is for
    "stored_value_spend": gettext_lazy("paying with stored value"),
    "member_login": gettext_lazy("signing in to the member centre"),
    "member_join": gettext_lazy("joining as a member"),
}
_PURPOSE = re.compile(r"^[a-z][a-z_]{0,29}$")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def minutes_valid() -> int:
    return _setting("MEMBERCARE_OTP_MINUTES", 5)


def max_tries() -> int:
    return _setting("MEMBERCARE_OTP_TRIES", 5)


class CodeRefused(Exception):
    """A code not sent: `code` (stable, for the API), `message` (the user's language), `field`,
    `retry_after` (seconds, for a rate limit)."""

    def __init__(self, code: str, message: str, field: str = "phone", retry_after: int | None = None):
        super().__init__(message)
        self.code, self.message, self.field, self.retry_after = code, message, field, retry_after


@dataclass(frozen=True)
class SentCode:
    phone: str
    purpose: str
    expires_at: dt.datetime
    sent: bool  # False: no member has this phone (nothing was sent; tell the user the same anyway)
    message_id: int | None


def _hash(code: str, salt: str) -> str:
    return f"{salt}${salted_hmac('membercare.messaging.otp', f'{salt}:{code}', algorithm='sha256').hexdigest()}"


def _matches(code: str, stored: str) -> bool:
    salt = stored.split("$", 1)[0]
    return hmac.compare_digest(_hash(code, salt).encode(), stored.encode())


def _phone(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise CodeRefused("phone_invalid", exc.messages[0], "phone") from exc


def _check_purpose(purpose: str) -> str:
    if not isinstance(purpose, str) or not _PURPOSE.match(purpose) or purpose not in PURPOSES:
        raise CodeRefused("code_purpose_unknown", _("Unknown purpose of a verification code."), "purpose")
    return purpose


def _limit(rows, limit: int, window: dt.timedelta, now: dt.datetime) -> int | None:
    """Seconds to wait when `rows` (the sends within the window) already reached `limit`, else None."""
    if limit <= 0:
        return None
    times = list(rows.filter(created_at__gt=now - window).order_by("-created_at")
                 .values_list("created_at", flat=True)[:limit])
    if len(times) < limit:
        return None
    return max(1, int((times[-1] + window - now).total_seconds()) + 1)


def _rate_check(phone: str, ip: str | None, now: dt.datetime) -> None:
    sent = OneTimeCode.objects.filter(phone=phone)
    wait = _limit(sent, _setting("MEMBERCARE_OTP_PER_PHONE_MINUTE", 1), dt.timedelta(minutes=1), now)
    if wait is not None:
        raise CodeRefused("code_too_soon", _(
            "A code was just sent to this phone: wait %(n)d seconds before asking for another.") % {"n": wait},
            "phone", wait)
    wait = _limit(sent, _setting("MEMBERCARE_OTP_PER_PHONE_HOUR", 5), dt.timedelta(hours=1), now)
    if wait is not None:
        raise CodeRefused("code_too_many", _(
            "Too many codes were sent to this phone in the last hour: try again in %(n)d minutes.") % {
            "n": -(-wait // 60)}, "phone", wait)
    if ip:
        wait = _limit(OneTimeCode.objects.filter(ip=ip), _setting("MEMBERCARE_OTP_PER_IP_HOUR", 20),
                      dt.timedelta(hours=1), now)
        if wait is not None:
            raise CodeRefused("code_too_many_from_address", _(
                "Too many codes were asked for from this device in the last hour: try again in %(n)d minutes.") % {
                "n": -(-wait // 60)}, "phone", wait)


def _text(code: str, purpose: str, minutes: int) -> str:
    with translation.override(settings.LANGUAGE_CODE):  # to the member, in the chain's language
        return _("Your verification code for %(purpose)s is %(code)s, valid for %(minutes)d minutes. Never tell "
                 "it to anyone.") % {"purpose": PURPOSES[purpose], "code": code, "minutes": minutes}


def _deliver(message_id: int, body: str, params: dict) -> None:
    """Hand the real text to the SMS backend (after the commit) and record the outcome; a failure is not
    retried (a late code is useless: the member asks for a new one)."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return
    outgoing = copy.copy(message)
    outgoing.body, outgoing.params = body, params
    try:
        result = get_backend(MessageChannel.SMS).send_many([outgoing])[0]
    except Exception as exc:  # noqa: BLE001 - a provider's failure is recorded, never raised to the counter
        result = exc
    now = timezone.now()
    if isinstance(result, SendResult):
        Message.objects.filter(pk=message_id).update(status=MessageStatus.SENT, sent_at=now, segments=result.segments,
                                                     provider_id=result.provider_id[:100])
    else:
        log.warning("verification code message %s not sent: %s", message_id, result)
        Message.objects.filter(pk=message_id).update(status=MessageStatus.FAILED, last_error=str(result)[:300])


def _deliver_to_new_phone(phone: str, body: str, code: str) -> None:
    """A code to a phone no member has (joining): handed to the SMS backend as an unsaved message."""
    template_code = getattr(settings, "MESSAGING_OTP_SMS_TEMPLATE_CODE", "")
    params = {"code": code, **({"_template_code": template_code} if template_code else {})}
    outgoing = Message(channel=MessageChannel.SMS, category=Category.VERIFICATION, is_marketing=False, to=phone,
                       body=body, params=params)
    try:
        get_backend(MessageChannel.SMS).send_many([outgoing])
    except Exception:  # noqa: BLE001 - a provider's failure is logged; the member asks for a new code
        log.warning("verification code to a new phone not sent", exc_info=True)


def code_send(phone: str, purpose: str, *, member: Member | None = None, ip: str | None = None,
              store: Store | None = None, sender: Staff | None = None, at: dt.datetime | None = None,
              new_phone: bool = False) -> SentCode:
    """Issue a new code for (phone, purpose) and send it by SMS after the commit. `member`: the member it is
    for (default: the member with this phone); `ip`: the client's address (rate-limited). Refused with a
    CodeRefused (nothing written) on a bad phone, an unknown purpose, or too many codes. `new_phone`: a phone
    no member has may get the code too (joining proves the phone before the member exists); it is sent without
    a Message row (a message belongs to a member), under the same limits."""
    phone, purpose = _phone(phone), _check_purpose(purpose)
    ip = (ip or "").strip()[:45] or None
    now = at or timezone.now()
    minutes = minutes_valid()
    with transaction.atomic():
        hold_until_commit(f"otp:{phone}")  # one send decision per phone at a time (PostgreSQL)
        _rate_check(phone, ip, now)
        if member is None:
            member = Member.objects.filter(phone=phone).first()
        elif member.phone != phone:
            raise CodeRefused("phone_not_members", _("This is not the member's phone number on file."), "phone")
        code = "".join(secrets.choice("0123456789") for _i in range(CODE_LENGTH))
        row = OneTimeCode.objects.create(phone=phone, purpose=purpose, member=member, ip=ip,
                                         code_hash=_hash(code, secrets.token_hex(8)), created_at=now,
                                         expires_at=now + dt.timedelta(minutes=minutes))
        if member is None:
            if new_phone:
                body = _text(code, purpose, minutes)
                transaction.on_commit(lambda: _deliver_to_new_phone(phone, body, code))
            return SentCode(phone, purpose, row.expires_at, new_phone, None)
        template_code = getattr(settings, "MESSAGING_OTP_SMS_TEMPLATE_CODE", "")
        params = {"code": code, **({"_template_code": template_code} if template_code else {})}
        message = Message.objects.create(
            member=member, channel=MessageChannel.SMS, category=Category.VERIFICATION, is_marketing=False,
            to=phone, body=_text(MASK, purpose, minutes), params={**params, "code": MASK}, store=store,
            sender=sender if sender is not None and sender.pk else None, status=MessageStatus.SENDING,
            claimed_at=now, attempts=1, send_after=now, created_at=now)
        OneTimeCode.objects.filter(pk=row.pk).update(message=message)
        body = _text(code, purpose, minutes)
        transaction.on_commit(lambda: _deliver(message.pk, body, params))
    return SentCode(phone, purpose, row.expires_at, True, message.pk)


def _newest(phone: str, purpose: str, *, lock: bool = False):
    rows = OneTimeCode.objects.filter(phone=phone, purpose=purpose).order_by("-created_at", "-pk")
    return (rows.select_for_update() if lock else rows).first()


def _member_id(member: Member | int | None) -> int | None:
    return getattr(member, "pk", member)


def code_pending(phone: str, purpose: str, *, member: Member | int | None = None,
                 at: dt.datetime | None = None) -> bool:
    """A code for (phone, purpose) — for `member` (a Member or its id) when given — is out and still usable
    (not used, not expired, tries left)."""
    try:
        phone = normalize_phone(phone)
    except ValidationError:
        return False
    row = _newest(phone, purpose)
    now = at or timezone.now()
    return (row is not None and row.used_at is None and row.expires_at > now and row.failures < max_tries()
            and (member is None or row.member_id == _member_id(member)))


def code_verify(phone: str, purpose: str, code: str, *, member: Member | int | None = None,
                at: dt.datetime | None = None) -> bool:
    """True when `code` is the newest code sent to (phone, purpose) — for `member` when given — unused,
    unexpired and with tries left; it is used up then (one winner among verifies at once). A wrong code
    counts a try (in the caller's transaction: a caller that rolls back also undoes the count, so a caller
    that refuses on a wrong code keeps its own count, as stored value's member code does)."""
    try:
        phone = normalize_phone(phone)
    except ValidationError:
        return False
    code = (code or "").strip()
    now = at or timezone.now()
    with transaction.atomic():
        row = _newest(phone, purpose, lock=True)
        if (row is None or row.used_at is not None or row.expires_at <= now or row.failures >= max_tries()
                or (member is not None and row.member_id != _member_id(member))):
            return False
        if len(code) == CODE_LENGTH and code.isdigit() and _matches(code, row.code_hash):
            return OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now) == 1
        OneTimeCode.objects.filter(pk=row.pk).update(failures=row.failures + 1)
        return False
