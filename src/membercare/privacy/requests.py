"""A member's own data requests (PIPL): a copy of their data, or erasure, asked for in the member centre and
handled by an administrator (who exports or erases on the member's page, then closes the request). Every step is
a row: who asked, when, who handled it, how."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_erase_members
from membercare.members.models import Member
from membercare.org.models import Staff

from .models import DataRequest

log = logging.getLogger("membercare.privacy")


def data_request_create(*, member: Member, kind: str, at: dt.datetime | None = None) -> DataRequest:
    """Record the member's request (one waiting request per kind: asking again returns the waiting one)."""
    if kind not in DataRequest.Kind.values:
        raise ValidationError({"kind": _("Choose what you are asking for.")})
    waiting = DataRequest.objects.filter(member=member, kind=kind, status=DataRequest.Status.PENDING).first()
    if waiting is not None:
        return waiting
    try:
        with transaction.atomic():
            request = DataRequest.objects.create(member=member, kind=kind, requested_at=at or timezone.now())
    except IntegrityError:  # the same request a moment earlier (a double tap)
        return DataRequest.objects.get(member=member, kind=kind, status=DataRequest.Status.PENDING)
    log.info("data request %s (%s) by member %s", request.pk, kind, member.member_no)
    return request


def data_request_close(*, request: DataRequest, by: Staff, status: str, note: str = "") -> DataRequest:
    if not can_erase_members(by):
        raise PermissionDenied
    if status not in (DataRequest.Status.DONE, DataRequest.Status.REFUSED):
        raise ValidationError({"status": _("Choose done or refused.")})
    note = (note or "").strip()
    if status == DataRequest.Status.REFUSED and not note:
        raise ValidationError({"note": _("Say why the request is refused.")})
    if len(note) > 200:
        raise ValidationError({"note": _("Keep the note under 200 characters.")})
    updated = DataRequest.objects.filter(pk=request.pk, status=DataRequest.Status.PENDING).update(
        status=status, handled_by=by, handled_at=timezone.now(), note=note)
    if not updated:
        raise ValidationError({"status": _("This request was already handled.")})
    request.refresh_from_db()
    log.info("data request %s closed as %s by %s", request.pk, status, by.username)
    return request


def data_requests_pending() -> QuerySet[DataRequest]:
    return DataRequest.objects.filter(status=DataRequest.Status.PENDING).select_related("member").order_by(
        "requested_at", "pk")


def member_data_requests(member: Member) -> QuerySet[DataRequest]:
    return DataRequest.objects.filter(member=member).order_by("-requested_at", "-pk")[:10]
