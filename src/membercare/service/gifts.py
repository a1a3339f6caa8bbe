"""Gift writes: the catalogue, stock per store (receive, adjust, threshold) and giving a gift to a member.

Stock never goes below zero: a gift is taken out with one conditional UPDATE (quantity >= 1), so of two
clerks giving the last item at the same moment one wins and the other is refused; the database's check
constraint backs it up. Every change of stock is a StockMovement row with the quantity after it. A gift
for points takes them through the loyalty ledger with the member's account locked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_work_members, require
from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import lock_account, points_take
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .errors import ServiceError
from .models import Complaint, Gift, GiftIssue, GiftReason, GiftStock, StockMovement
from .permissions import can_edit_gift_catalogue, can_manage_stock, works_in


@transaction.atomic
def gift_save(*, by: Staff, code: str, name: str, value: Decimal | str | int = 0, points_cost: int | None = None,
              is_active: bool = True, gift: Gift | None = None) -> Gift:
    """Create or change a gift of the catalogue (HQ)."""
    require(can_edit_gift_catalogue(by))
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code:
        raise ServiceError("code_required", _("The code is required."), "code")
    if not name:
        raise ServiceError("name_required", _("The name is required."), "name")
    if Gift.objects.filter(code=code).exclude(pk=gift.pk if gift else None).exists():
        raise ServiceError("code_taken", _("Another gift has the code %(code)s.") % {"code": code}, "code")
    try:
        value = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ServiceError("value_invalid", _("Give the value in yuan, e.g. 99.00."), "value") from exc
    if value < 0:
        raise ServiceError("value_invalid", _("Give the value in yuan, e.g. 99.00."), "value")
    if points_cost is not None and int(points_cost) <= 0:
        raise ServiceError("points_invalid", _("Points must be a whole number above zero, or empty."),
                           "points_cost")
    gift = gift or Gift()
    gift.code, gift.name, gift.value, gift.is_active = code, name, value, is_active
    gift.points_cost = int(points_cost) if points_cost is not None else None
    gift.save()
    return gift


def _stock(gift: Gift, store: Store) -> GiftStock:
    """The (gift, store) stock row, created if needed, locked until the transaction ends."""
    GiftStock.objects.bulk_create([GiftStock(gift=gift, store=store)], ignore_conflicts=True)
    return GiftStock.objects.select_for_update().get(gift=gift, store=store)


def _whole(value, field: str, *, allow_negative: bool = False) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ServiceError("not_whole", _("Must be a whole number."), field) from exc
    if number == 0 or (number < 0 and not allow_negative):
        raise ServiceError("not_positive", _("Must be a whole number above zero.") if not allow_negative
                           else _("Must not be zero."), field)
    return number


@transaction.atomic
def stock_receive(*, gift: Gift, store: Store, quantity: int, by: Staff, reason: str = "",
                  at: dt.datetime | None = None) -> GiftStock:
    require(can_manage_stock(by, store))
    quantity = _whole(quantity, "quantity")
    stock = _stock(gift, store)
    stock.quantity += quantity
    stock.save(update_fields=["quantity"])
    StockMovement.objects.create(stock=stock, kind=StockMovement.Kind.RECEIVE, quantity=quantity,
                                 balance=stock.quantity, reason=(reason or "").strip()[:200], by=by,
                                 at=at or timezone.now())
    return stock


@transaction.atomic
def stock_adjust(*, gift: Gift, store: Store, change: int, reason: str, by: Staff,
                 at: dt.datetime | None = None) -> GiftStock:
    """Correct the count (broken, lost, counted differently), with a reason; never below zero."""
    require(can_manage_stock(by, store))
    change = _whole(change, "change", allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason_required", _("Give a reason for the adjustment."), "reason")
    stock = _stock(gift, store)
    if stock.quantity + change < 0:
        raise ServiceError("below_zero", _("Only %(n)d in stock: the count cannot go below zero.") % {
            "n": stock.quantity}, "change")
    stock.quantity += change
    stock.save(update_fields=["quantity"])
    StockMovement.objects.create(stock=stock, kind=StockMovement.Kind.ADJUST, quantity=change,
                                 balance=stock.quantity, reason=reason[:200], by=by, at=at or timezone.now())
    return stock


@transaction.atomic
def stock_threshold_set(*, gift: Gift, store: Store, threshold: int, by: Staff) -> GiftStock:
    require(can_manage_stock(by, store))
    try:
        threshold = int(threshold)
    except (TypeError, ValueError) as exc:
        raise ServiceError("not_whole", _("Must be a whole number."), "low_threshold") from exc
    if threshold < 0:
        raise ServiceError("not_whole", _("Must be a whole number."), "low_threshold")
    stock = _stock(gift, store)
    stock.low_threshold = threshold
    stock.save(update_fields=["low_threshold"])
    return stock


@transaction.atomic
def gift_issue(*, member: Member, gift: Gift, store: Store, reason: str, by: Staff,
               complaint: Complaint | None = None, note: str = "", at: dt.datetime | None = None) -> GiftIssue:
    """Give one gift to the member from the store's stock. Refused, with nothing written, when the store has
    none left, when the member lacks the points (reason "points"), or when the giver does not work there."""
    require(can_work_members(by))
    if not works_in(by, store):
        raise ServiceError("not_yours", _("You can only give gifts from the stock of your own stores."), "store")
    if reason not in GiftReason.values:
        raise ServiceError("reason_invalid", _("Choose why the gift is given."), "reason")
    if reason == GiftReason.COMPENSATION and complaint is None:
        raise ServiceError("complaint_required", _("A compensation gift is given from the complaint's "
                                                   "compensation step."), "reason")
    if not gift.is_active:
        raise ServiceError("gift_inactive", _("%(gift)s is no longer given out.") % {"gift": gift.name}, "gift")
    if reason == GiftReason.POINTS and not gift.points_cost:
        raise ServiceError("not_for_points", _("%(gift)s cannot be redeemed for points.") % {"gift": gift.name},
                           "gift")
    at = at or timezone.now()
    # the conditional UPDATE takes the last item or nothing: two clerks at once cannot both get it
    taken = GiftStock.objects.filter(gift=gift, store=store, quantity__gte=1).update(quantity=F("quantity") - 1)
    if not taken:
        raise ServiceError("out_of_stock", _("%(gift)s is out of stock at %(store)s: nothing was given.") % {
            "gift": gift.name, "store": store.name}, "gift")
    stock = GiftStock.objects.get(gift=gift, store=store)
    entry, points = None, 0
    if reason == GiftReason.POINTS:
        account = lock_account(member)
        points = int(gift.points_cost)
        if account.points < points:
            raise ServiceError("points_short", _("%(gift)s needs %(need)d points; the member has %(have)d.") % {
                "gift": gift.name, "need": points, "have": account.points}, "gift")
        points_take(account, points, kind=PointsEntry.Kind.REDEEM, reason=_("Gift: %(gift)s") % {"gift": gift.name},
                    operator=by, at=at)
        entry = PointsEntry.objects.filter(member=member, kind=PointsEntry.Kind.REDEEM).latest("pk")
    issue = GiftIssue.objects.create(member=member, gift=gift, store=store, reason=reason, clerk=by, at=at,
                                     complaint=complaint, points_entry=entry, points=points,
                                     note=(note or "").strip()[:200])
    StockMovement.objects.create(stock=stock, kind=StockMovement.Kind.ISSUE, quantity=-1, balance=stock.quantity,
                                 reason=GiftReason(reason).label, issue=issue, by=by, at=at)
    return issue
