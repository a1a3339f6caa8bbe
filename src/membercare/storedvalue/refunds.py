"""The refund of a stored-value balance: the store's request, HQ's approval (principal paid back, bonus
forfeited) or rejection."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, require
from membercare.loyalty.points import lock_account
from membercare.org.models import Staff, Store

from .models import CardState, EntryKind, RefundState, StoredValueCard, StoredValueRefund
from .topup import _paying_method
from .writes import ZERO, StoredValueError, _card_for_write, _locked, _move, _require_staff_at, _successor


@transaction.atomic
def request_refund(*, card: StoredValueCard, by: Staff | None, reason: str,
                   store: Store | None = None) -> StoredValueRefund:
    """The member asks for the balance back: a request HQ approves (principal paid back, bonus forfeited)."""
    _require_staff_at(by, store)
    if not reason.strip():
        raise StoredValueError("reason_required", _("Give a reason."), "reason")
    card = _card_for_write(card)
    if card.status == CardState.CLOSED:
        raise StoredValueError("stored_value_closed", _("Stored-value card %(number)s is closed.") % {
            "number": card.number}, "card")
    if StoredValueRefund.objects.filter(card=card, status=RefundState.PENDING).exists():
        raise StoredValueError("refund_pending", _("A refund of this card is already awaiting approval."), "card")
    return StoredValueRefund.objects.create(card=card, reason=reason.strip()[:200], store=store,
                                            requested_by=by, requested_at=timezone.now())


def _pending(refund: StoredValueRefund) -> StoredValueRefund:
    refund = StoredValueRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundState.PENDING:
        raise StoredValueError("refund_decided", _("This refund was already decided."), "refund")
    return refund


@transaction.atomic
def approve_refund(*, refund: StoredValueRefund, by: Staff, method: str,
                   at: dt.datetime | None = None) -> StoredValueRefund:
    """HQ approves: the principal on the card now is paid back with `method`, the bonus is forfeited."""
    require(can_edit_programme(by))
    at = at or timezone.now()
    paying = _paying_method(method)
    lock_account(refund.card.member_id)
    refund = _pending(refund)  # transfer() moves a pending request to the new card: read it under the lock
    card = _successor(_locked(refund.card_id))  # and, for a request left on a replaced card, the card holding it
    principal, bonus = card.principal, card.bonus
    if principal:
        _move(card, -principal, ZERO, kind=EntryKind.REFUND, at=at, method=paying, store=refund.store, operator=by,
              reason=_("Refund approved: %(reason)s") % {"reason": refund.reason})
    if bonus:
        _move(card, ZERO, -bonus, kind=EntryKind.FORFEIT, at=at, store=refund.store, operator=by,
              reason=_("Bonus forfeited on refund"))
    refund.status, refund.decided_by, refund.decided_at = RefundState.APPROVED, by, at
    refund.principal_refunded, refund.bonus_forfeited, refund.method = principal, bonus, paying
    refund.save()
    return refund


@transaction.atomic
def reject_refund(*, refund: StoredValueRefund, by: Staff, reason: str = "") -> StoredValueRefund:
    """HQ refuses a pending request, saying why (the store tells the member): the balance stays on the card."""
    require(can_edit_programme(by))
    refund = _pending(refund)
    reason = " ".join((reason or "").split())
    if not reason:
        raise StoredValueError("reason_required", _("Say why the refund is rejected."), "reject_reason")
    if len(reason) > 200:
        raise StoredValueError("reason_too_long", _("Keep the reason under 200 characters."), "reject_reason")
    refund.status, refund.decided_by, refund.decided_at = RefundState.REJECTED, by, timezone.now()
    refund.reject_reason = reason
    refund.save(update_fields=["status", "decided_by", "decided_at", "reject_reason"])
    return refund
