"""Birthday privilege exceptions: the privilege outside the birthday month, approved by the VIP specialist.

A clerk or manager asks for one (the member was away all month, the store was closed…) with a reason and a
short window; the specialist approves or rejects it in a queue (a specialist's own request is approved at
once). An approved exception stands for one birthday month (`period`): at checkout inside its window the
privilege is given as if it were that month, and the use is recorded against that month, so the
once-per-birthday-month rule across all stores still holds and the birthday audit flags it as an exception.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, can_work_members, require, visible_stores
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .birthday import birthday_period
from .models import BirthdayException, BirthdayUse

MAX_WINDOW_DAYS = 31


class ExceptionError(ValidationError):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__({field or "__all__": [ValidationError(message, code=code)]})
        self.code = code


def _month_start(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _period_of_month(member: Member, first: dt.date) -> str | None:
    """The birthday period whose month is `first`'s month, if the member's birthday falls in it."""
    for day in (first, first.replace(day=15), _month_start(first, 1) - dt.timedelta(days=1)):
        period = birthday_period(member, day)
        if period is not None:
            return period
    return None


def candidate_periods(member: Member, on: dt.date | None = None) -> list[str]:
    """The birthday months an exception may stand for: the latest one on or before `on` and the next one."""
    on = on or timezone.localdate()
    first = on.replace(day=1)
    past = next((p for m in range(0, -13, -1) if (p := _period_of_month(member, _month_start(first, m)))), None)
    future = next((p for m in range(1, 14) if (p := _period_of_month(member, _month_start(first, m)))), None)
    return [p for p in (past, future) if p]


def _used(member: Member, period: str) -> BirthdayUse | None:
    return BirthdayUse.objects.select_related("store").filter(member=member, period=period).first()


@transaction.atomic
def birthday_exception_request(*, member: Member, store: Store, by: Staff, period: str, valid_from: dt.date,
                               valid_to: dt.date, reason: str) -> BirthdayException:
    """File a request; the specialist's own is approved at once. Refused: no reason, a window that is
    reversed, past or longer than a month, a month that is not the member's birthday month, a month whose
    privilege was used, or a second open request for the same month."""
    require(can_work_members(by))
    if store is None or not visible_stores(by).filter(pk=store.pk).exists():
        raise ExceptionError("store_not_yours", _("You can only ask for exceptions at your own stores."), "store")
    reason = (reason or "").strip()
    if not reason:
        raise ExceptionError("reason_required", _("Give the reason for the exception."), "reason")
    today = timezone.localdate()
    if valid_to < valid_from:
        raise ExceptionError("window_reversed", _("The last day comes before the first day."), "valid_to")
    if valid_to < today:
        raise ExceptionError("window_past", _("The window is already over."), "valid_to")
    if (valid_to - valid_from).days + 1 > MAX_WINDOW_DAYS:
        raise ExceptionError("window_too_long", _("An exception lasts at most %(n)d days.") % {"n": MAX_WINDOW_DAYS},
                             "valid_to")
    Member.objects.select_for_update().filter(pk=member.pk).first()  # one request at a time per member
    if period not in candidate_periods(member, today):
        raise ExceptionError("period_invalid", _("Choose the member's last or next birthday month."), "period")
    used = _used(member, period)
    if used:
        raise ExceptionError("period_used", _("The birthday privilege of %(period)s was already used on %(date)s at "
                                              "%(store)s.") % {
            "period": period, "date": formats.date_format(timezone.localtime(used.used_at), "SHORT_DATE_FORMAT"),
            "store": used.store.name}, "period")
    if BirthdayException.objects.filter(member=member, period=period).exclude(
            status=BirthdayException.Status.REJECTED).exists():
        raise ExceptionError("already_requested", _("An exception for %(period)s was already asked for.") % {
            "period": period}, "period")
    now = timezone.now()
    approve = can_edit_programme(by)
    return BirthdayException.objects.create(
        member=member, store=store, period=period, valid_from=valid_from, valid_to=valid_to, reason=reason,
        requested_by=by, requested_at=now,
        status=BirthdayException.Status.APPROVED if approve else BirthdayException.Status.PENDING,
        decided_by=by if approve else None, decided_at=now if approve else None)


@transaction.atomic
def birthday_exception_decide(exception: BirthdayException, *, by: Staff, approve: bool,
                              note: str = "") -> BirthdayException:
    """The specialist approves or rejects a waiting request (a rejection needs a note for the store)."""
    require(can_edit_programme(by))
    exception = BirthdayException.objects.select_for_update().get(pk=exception.pk)
    if exception.status != BirthdayException.Status.PENDING:
        raise ExceptionError("already_decided", _("This request was already decided."))
    note = (note or "").strip()
    if not approve and not note:
        raise ExceptionError("note_required", _("Say why the request is rejected."), "note")
    exception.status = BirthdayException.Status.APPROVED if approve else BirthdayException.Status.REJECTED
    exception.decided_by, exception.decided_at, exception.decision_note = by, timezone.now(), note
    exception.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return exception


def approved_exception_on(member: Member, on: dt.date) -> BirthdayException | None:
    """The approved exception whose window holds `on` (checkout asks only outside the birthday month)."""
    return (BirthdayException.objects
            .filter(member=member, status=BirthdayException.Status.APPROVED, valid_from__lte=on, valid_to__gte=on)
            .order_by("valid_to").first())


def exception_queue(user: Staff, status: str = "") -> QuerySet[BirthdayException]:
    """Requests the user may see: HQ the chain's, everyone else their stores'; newest first."""
    qs = BirthdayException.objects.select_related("member", "store", "requested_by", "decided_by")
    if not can_edit_programme(user):
        qs = qs.filter(store__in=visible_stores(user))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at")
