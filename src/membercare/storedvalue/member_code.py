"""The stored-value member code: the card's PIN set at the counter, the one-time SMS code, the check of a spend
above `member_code_above` with its count of wrong tries and lock-out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.hashers import check_password, make_password
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.messaging.otp import CodeRefused, SentCode, code_pending, code_send, code_verify
from membercare.org.models import Staff, Store

from .models import CardState, StoredValueCard
from .rules import Rules, current_rules
from .writes import StoredValueError, _card_for_write, _require_staff_at, check_usable, live_card, scope_of

CODE_LENGTH = 6


@transaction.atomic
def member_code_set(*, card: StoredValueCard, code: str, by: Staff | None,
                    store: Store | None = None) -> StoredValueCard:
    """The member types a new code (6 digits) on the counter's keypad: kept hashed with Django's password
    hashers, never plain; wrong tries and a lock-out start again."""
    _require_staff_at(by, store)
    code = (code or "").strip()
    if len(code) != CODE_LENGTH or not code.isdigit():
        raise StoredValueError("member_code_invalid", _("The member code is %(n)d digits.") % {"n": CODE_LENGTH},
                               "code")
    if len(set(code)) == 1 or code in "0123456789" or code in "9876543210":
        raise StoredValueError("member_code_too_simple", _(
            "This member code is too easy to guess: avoid one digit repeated or digits in a row."), "code")
    card = _card_for_write(card)
    if card.status == CardState.CLOSED:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": card.number}, "card")
    if store is not None and card.scope != scope_of(store, current_rules()):
        raise StoredValueError("stored_value_other_scope", _(
            "Stored-value card %(number)s is not served at this store.") % {"number": card.number}, "card")
    # a new code starts the count again, but an active lock-out stays until it runs out (no bypass by resetting)
    locked = card.code_locked_until if card.code_locked_until and card.code_locked_until > timezone.now() else None
    card.code_hash, card.code_failures, card.code_locked_until = make_password(code), 0, locked
    card.save(update_fields=["code_hash", "code_failures", "code_locked_until"])
    return card


def _count_failure_sql(conn, card_id: int, tries: int, lock_until: dt.datetime, now: dt.datetime) -> int | None:
    """One statement: a wrong try counted (a lock that ran out starts the count again), the lock set at the
    `tries`-th; the count after it, or None when the card is not there (not visible to `conn`)."""
    table = StoredValueCard._meta.db_table
    until, at = conn.ops.adapt_datetimefield_value(lock_until), conn.ops.adapt_datetimefield_value(now)
    fresh = "(code_locked_until IS NOT NULL AND code_locked_until <= %s)"
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "
            f"code_locked_until = CASE WHEN {fresh} THEN NULL "
            f"WHEN code_failures + 1 >= %s THEN %s ELSE code_locked_until END, "
            f"code_failures = CASE WHEN {fresh} THEN 1 ELSE code_failures + 1 END "
            f"WHERE id = %s RETURNING code_failures",
            [at, tries, until, at, card_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _count_failure(card_id: int, rules: Rules, now: dt.datetime) -> int | None:
    """Count a wrong code in its own transaction, on a connection of its own: the refused sale's rollback
    does not undo it, and it is committed before the sale lets go of the member's lock, so the next try
    (serialised on that lock) sees it. Where the card is not visible to another connection (written in this
    same, uncommitted transaction) or the database refuses a second writer, it is counted here. SQLite (one
    writer, held by the sale): None, and the refusal counts it once the sale is rolled back."""
    lock_until = now + dt.timedelta(minutes=rules.member_code_lock_minutes)
    tries = rules.member_code_tries
    if connection.in_atomic_block and connection.vendor == "sqlite":
        return None  # one writer at a time: counted after the rollback (sales.pipeline.after_rollback)
    if connection.in_atomic_block:
        own = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            counted = _count_failure_sql(own, card_id, tries, lock_until, now)  # autocommit: its own transaction
        except DatabaseError:
            counted = None
        finally:
            own.close()
        if counted is not None:
            return counted
    with transaction.atomic():
        return _count_failure_sql(connection, card_id, tries, lock_until, now) or 0


def _code_locked(until: dt.datetime) -> StoredValueError:
    return StoredValueError("member_code_locked", _(
        "Too many wrong member codes: the card's code is locked until %(time)s.") % {
        "time": timezone.localtime(until).strftime("%H:%M")}, "member_code")


SPEND_PURPOSE = "stored_value_spend"  # the one-time SMS code's purpose (messaging.otp), bound to the member


def member_code_send(*, member: Member, store: Store, by: Staff | None, ip: str | None = None) -> SentCode:
    """Send the member a one-time code by SMS that pays, once, as the member code of a stored-value spend at
    `store` (instead of the PIN). Refused (nothing sent) without a usable card this store serves, without a
    phone on file, while the card's code is locked, or over the sending limits (code `code_too_soon`…: the
    refusal carries `retry_after`)."""
    _require_staff_at(by, store)
    now = timezone.now()
    card = check_usable(live_card(member.pk, scope_of(store, current_rules())), timezone.localdate(now))
    if card.code_locked_until is not None and card.code_locked_until > now:
        raise _code_locked(card.code_locked_until)
    if not member.phone:
        raise StoredValueError("member_phone_missing", _(
            "The member has no mobile phone on file to send a code to."), "member_code")
    try:
        return code_send(member.phone, SPEND_PURPOSE, member=member, ip=ip, store=store, sender=by)
    except CodeRefused as exc:
        refusal = StoredValueError(exc.code, exc.message, "member_code")
        refusal.retry_after = exc.retry_after
        raise refusal from exc


def member_code_check(card: StoredValueCard, amount: Decimal, code: str, rules: Rules,
                      now: dt.datetime | None = None) -> bool:
    """A spend of `amount` above `member_code_above` needs the member's code: the card's PIN or a one-time code
    sent to the member's phone for this purpose (`member_code_send`; used up by the sale). Refused
    (StoredValueError) without a PIN set and no SMS code out, while locked, without a code typed, with a wrong one
    (counted — a wrong PIN and a wrong SMS code alike — locking the code after `member_code_tries` wrong tries in
    a row for `member_code_lock_minutes`). Only a wrong try writes. True when the code was asked and right."""
    if rules.member_code_above is None or amount <= rules.member_code_above:
        return False
    now = now or timezone.now()
    fresh = StoredValueCard.objects.filter(pk=card.pk).values("code_hash", "code_failures", "code_locked_until",
                                                              "member__phone").first() or {}
    above = {"n": rules.member_code_above}
    locked_until = fresh.get("code_locked_until")
    if locked_until is not None and locked_until > now:
        raise _code_locked(locked_until)
    phone = fresh.get("member__phone") or ""
    pin = fresh.get("code_hash") or ""
    if not pin and not (phone and code_pending(phone, SPEND_PURPOSE, member=card.member_id, at=now)):
        raise StoredValueError("member_code_not_set", _(
            "Paying more than ¥%(n)s with stored value needs the member's code, and this member has not set one: "
            "set it on the member's stored-value panel first, or send the member a code by SMS.") % above,
            "member_code")
    code = (code or "").strip()
    if not code:
        raise StoredValueError("member_code_required", _(
            "Paying more than ¥%(n)s with stored value needs the member's code (or the code sent by SMS).") % above,
            "member_code")
    if pin and check_password(code, pin):
        return True
    if phone and code_verify(phone, SPEND_PURPOSE, code, member=card.member_id, at=now):
        return True
    failures = _count_failure(card.pk, rules, now)
    deferred = failures is None
    if deferred:
        lapsed = locked_until is not None and locked_until <= now
        failures = 1 if lapsed else fresh["code_failures"] + 1
    left = rules.member_code_tries - failures
    if left <= 0:
        exc = StoredValueError("member_code_locked", _(
            "Wrong member code. Too many wrong tries: the card's code is locked for %(n)d minutes.") % {
            "n": rules.member_code_lock_minutes}, "member_code")
    else:
        exc = StoredValueError("member_code_wrong", _("Wrong member code. Tries left: %(n)d.") % {"n": left},
                               "member_code")
    if deferred:
        exc.after_rollback = lambda: _count_failure(card.pk, rules, now)
    raise exc
