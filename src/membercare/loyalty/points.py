"""The points ledger: every change is an entry; the account balance is kept equal to the ledger sum.

Callers hold the member's LoyaltyAccount row lock (`lock_account`) for the whole transaction, so two
stores writing for the same member at once are serialised and no point is lost or doubled.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.org.models import Staff

from . import rows
from .models import LoyaltyAccount, PointsEntry


def lock_account(member: Member | int) -> LoyaltyAccount:
    """The member's account, created if needed, locked until the transaction ends."""
    member_id = member if isinstance(member, int) else member.pk
    account = _locked(member_id)
    if account is None:  # first write for this member; a concurrent first write makes this insert do nothing
        LoyaltyAccount.objects.bulk_create([LoyaltyAccount(member_id=member_id)], ignore_conflicts=True)
        account = _locked(member_id)
    return account


_ACCOUNT_FIELDS = rows.fields_of(LoyaltyAccount, "member", "points")


def _locked(member_id: int) -> LoyaltyAccount | None:
    row = rows.fetch_one(f"SELECT a.member_id, a.points FROM {LoyaltyAccount._meta.db_table} a WHERE a.member_id = %s"
                         + rows.for_update("a"), [member_id], _ACCOUNT_FIELDS)
    return None if row is None else rows.instance(LoyaltyAccount, _ACCOUNT_FIELDS, row)


def _apply(account: LoyaltyAccount, delta: int) -> None:
    rows.execute(*balance_change(account, delta))
    account.points += delta


def balance_change(account: LoyaltyAccount, delta: int) -> tuple[str, list]:
    """The statement (and its parameters) that moves the account's balance by `delta`."""
    return (f"UPDATE {LoyaltyAccount._meta.db_table} SET points = points + %s, updated_at = %s WHERE member_id = %s",
            [delta, rows.param(LoyaltyAccount, "updated_at", timezone.now()), account.pk])


def _consume_sql() -> str:
    """Take `points` from the member's open earn lots, oldest (soonest to expire) first, in one statement:
    each lot gives what is still wanted after the lots before it. Parameters: points, points, the member's
    id, points, points. Nothing is taken when the open lots hold less than `points`. No row locks: every
    writer of a member's lots holds the member's account lock (see above)."""
    table = PointsEntry._meta.db_table
    order = "e.expires_on ASC NULLS LAST, e.created_at, e.id"
    return (f"UPDATE {table} SET remaining = {table}.remaining - t.take FROM ("
            "SELECT l.id, CASE WHEN l.remaining < %s - (l.run - l.remaining) THEN l.remaining "
            "ELSE %s - (l.run - l.remaining) END AS take FROM ("
            f"SELECT e.id, e.remaining, SUM(e.remaining) OVER (ORDER BY {order}) AS run, "
            f"SUM(e.remaining) OVER () AS total FROM {table} e WHERE e.member_id = %s AND e.remaining > 0) l "
            f"WHERE l.run - l.remaining < %s AND l.total >= %s) t WHERE {table}.id = t.id")


def consume_statement(member_id: int, points: int) -> tuple[str, list]:
    """The statement (and its parameters) taking `points` (> 0) from the member's open lots, oldest first; it
    changes no row when the lots hold less (check it with lots_agree)."""
    return _consume_sql(), [points, points, member_id, points, points]


def lots_agree(changed: int, member_id: int, points: int) -> None:
    """After consume_statement: the balance said there was enough, so the lots must have given it."""
    if not changed:
        raise RuntimeError(f"points lots of member {member_id} hold less than {points}")


def _consume(member_id: int, points: int, *, on: dt.date | None = None) -> None:
    """Take `points` (> 0) from the open earn lots, oldest (soonest to expire) first."""
    lots_agree(rows.execute(*consume_statement(member_id, points)), member_id, points)


def redeem_entry(account: LoyaltyAccount, points: int, *, kind: str = PointsEntry.Kind.REDEEM, receipt=None,
                 reason: str = "", operator: Staff | None = None, at: dt.datetime | None = None) -> PointsEntry:
    """The (unsaved) ledger entry taking `points` (> 0); whoever saves it also runs consume_statement and
    balance_change(account, -points) (points_take does)."""
    return PointsEntry(member_id=account.member_id, kind=kind, points=-points, receipt=receipt, reason=reason,
                       operator=operator, created_at=at or timezone.now())


def points_earn(account: LoyaltyAccount, points: int, *, expires_on: dt.date | None, receipt=None,
                reason: str = "", operator: Staff | None = None, kind: str = PointsEntry.Kind.EARN,
                at: dt.datetime | None = None, source: str = "", source_key: str = "") -> PointsEntry | None:
    entry = earn_entry(account, points, expires_on=expires_on, receipt=receipt, reason=reason, operator=operator,
                       kind=kind, at=at)
    if entry is None:
        return None
    entry.source, entry.source_key = source, source_key
    rows.insert([entry])
    _apply(account, points)
    return entry


def earn_entry(account: LoyaltyAccount, points: int, *, expires_on: dt.date | None, receipt=None,
               reason: str = "", operator: Staff | None = None, kind: str = PointsEntry.Kind.EARN,
               at: dt.datetime | None = None) -> PointsEntry | None:
    """The (unsaved) ledger entry of an earn: a lot of `points`, nothing for 0 points. Whoever saves it
    also runs balance_change(account, points) and adds the points to `account.points` (points_earn does)."""
    if points <= 0:
        return None
    return PointsEntry(member_id=account.member_id, kind=kind, points=points, remaining=points, expires_on=expires_on,
                       receipt=receipt, reason=reason, operator=operator, created_at=at or timezone.now())


def points_take(account: LoyaltyAccount, points: int, *, kind: str, receipt=None, reason: str = "",
                operator: Staff | None = None, at: dt.datetime | None = None, allow_short: bool = False) -> int:
    """Redeem, reverse or adjust down. Returns the points actually taken (a reversal of points already
    spent takes only what is left when `allow_short`; the shortfall is written in the reason)."""
    if points <= 0:
        return 0
    take = points
    if account.points < points:
        if not allow_short:
            raise ValidationError({"points": _("Only %(n)d points are available.") % {"n": account.points}})
        take = account.points
    if take:
        _consume(account.member_id, take)
        rows.insert([redeem_entry(account, take, kind=kind, receipt=receipt, reason=reason, operator=operator, at=at)])
        _apply(account, -take)
    return take


def points_spend(account: LoyaltyAccount, points: int, *, kind: str, reason: str = "",
                 operator: Staff | None = None, at: dt.datetime | None = None, source: str = "") -> PointsEntry:
    """Take `points` (> 0) from the account (its lock held), oldest lots first; refused when the balance is
    short. Returns the ledger entry (mall redemptions and donations link it)."""
    if points <= 0:
        raise ValidationError({"points": _("Give a number of points above zero.")})
    if account.points < points:
        raise ValidationError({"points": _("Only %(n)d points are available.") % {"n": account.points}})
    _consume(account.member_id, points)
    entry = redeem_entry(account, points, kind=kind, reason=reason, operator=operator, at=at)
    entry.source = source
    rows.insert([entry])
    _apply(account, -points)
    return entry


MANUAL_CATEGORIES = (PointsEntry.Source.CORRECTION, PointsEntry.Source.COMPENSATION, PointsEntry.Source.GOODWILL,
                     PointsEntry.Source.OTHER)


@transaction.atomic
def points_adjust(*, member: Member, points: int, reason: str, by: Staff, category: str,
                  at: dt.datetime | None = None) -> PointsEntry:
    """A manual correction by the specialist, with a category and a reason (both kept in the ledger). The
    programme's earn_events.manual bounds it: at most `points` either way at once, at most `yearly_cap` added
    per member in a calendar year; added points are valid per its valid_days (empty: the programme's expiry)."""
    from membercare.core.permissions import can_edit_programme, require
    from membercare.core.text import has_control

    from .programme import programme_at

    require(can_edit_programme(by))
    if category not in MANUAL_CATEGORIES:
        raise ValidationError({"category": _("Choose the category of the adjustment.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for the adjustment.")})
    if len(reason) > 150:
        raise ValidationError({"reason": _("Keep the reason under 150 characters.")})
    if has_control(reason):
        raise ValidationError({"reason": _("The reason contains control characters.")})
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError({"points": _("Must be a whole number.")})
    if points == 0:
        raise ValidationError({"points": _("The adjustment must not be zero.")})
    at = at or timezone.now()
    on = timezone.localtime(at).date()
    rule = programme_at(on).earn_event("manual")
    if abs(points) > rule.points:
        raise ValidationError({"points": _("One adjustment moves at most %(n)d points.") % {"n": rule.points}})
    account = lock_account(member)
    label = PointsEntry.Source(category).label
    text = f"{label}: {reason}"
    if points > 0:
        added = year_total(member.pk, list(MANUAL_CATEGORIES), on)
        if added + points > rule.yearly_cap:
            raise ValidationError({"points": _(
                "Manual adjustments may add at most %(cap)d points to a member in a year; %(left)d are left.") % {
                "cap": rule.yearly_cap, "left": max(rule.yearly_cap - added, 0)}})
        return points_earn(account, points, expires_on=rule.expires_on(on), reason=text, operator=by,
                           kind=PointsEntry.Kind.ADJUST, at=at, source=category)
    return points_spend(account, -points, kind=PointsEntry.Kind.ADJUST, reason=text, operator=by, at=at,
                        source=category)


def year_bounds(on: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The calendar year of `on` in Asia/Shanghai, as aware datetimes [start, end)."""
    tz = timezone.get_default_timezone()
    return (dt.datetime(on.year, 1, 1, tzinfo=tz), dt.datetime(on.year + 1, 1, 1, tzinfo=tz))


def year_total(member_id: int, sources: list[str], on: dt.date) -> int:
    """Points the member earned (positive entries) from these sources in the calendar year of `on`."""
    start, end = year_bounds(on)
    return PointsEntry.objects.filter(member_id=member_id, source__in=sources, points__gt=0, created_at__gte=start,
                                      created_at__lt=end).aggregate(s=Sum("points"))["s"] or 0


def points_expire_due(*, today: dt.date | None = None) -> int:
    """The daily job: expire every lot whose date has passed (one transaction per member). Returns points."""
    today = today or timezone.localdate()
    member_ids = (PointsEntry.objects.filter(remaining__gt=0, expires_on__lt=today)
                  .values_list("member_id", flat=True).distinct())
    total = 0
    for member_id in list(member_ids):
        with transaction.atomic():
            account = lock_account(member_id)
            lots = list(PointsEntry.objects.select_for_update()
                        .filter(member_id=member_id, remaining__gt=0, expires_on__lt=today))
            expired = sum(lot.remaining for lot in lots)
            if not expired:
                continue
            for lot in lots:
                lot.remaining = 0
            PointsEntry.objects.bulk_update(lots, ["remaining"])
            PointsEntry.objects.create(member_id=member_id, kind=PointsEntry.Kind.EXPIRE, points=-expired,
                                       reason=_("Expired"), created_at=timezone.now())
            _apply(account, -expired)
            total += expired
    return total


def ledger_sum(member: Member) -> int:
    return PointsEntry.objects.filter(member=member).aggregate(s=Sum("points"))["s"] or 0


def points_balance(member: Member) -> int:
    return LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first() or 0


def points_history(member: Member, *, limit: int = 20):
    """The member's latest ledger entries, newest first (with receipt and operator)."""
    return (PointsEntry.objects.filter(member=member).select_related("receipt", "operator")
            .order_by("-created_at", "-pk")[:limit])


def receipt_points_note(receipt) -> str:
    """What raised a sale's points (a promotion, the card level's multiplier: "会员日双倍积分 ×2"), as its earn
    entry recorded it; the sale that was just written carries it without a query."""
    note = getattr(receipt, "points_note", None)
    if note is not None:
        return note
    if receipt.original_id is not None or not receipt.points_earned:
        return ""
    return PointsEntry.objects.filter(receipt_id=receipt.pk, kind=PointsEntry.Kind.EARN).values_list(
        "reason", flat=True).first() or ""


def balance_after_receipt(receipt) -> int | None:
    """The member's points balance right after this receipt's points moved (None: no member or no move): the
    ledger summed up to the receipt's last entry."""
    last = PointsEntry.objects.filter(receipt=receipt).order_by("-created_at", "-pk").first()
    if receipt.member_id is None or last is None:
        return None
    upto = PointsEntry.objects.filter(member_id=receipt.member_id).filter(
        Q(created_at__lt=last.created_at) | Q(created_at=last.created_at, pk__lte=last.pk))
    return upto.aggregate(s=Sum("points"))["s"] or 0


def points_liability(*, point_value=None) -> dict:
    """The points the chain owes its members: the balances, the ledger and the open lots summed (equal when
    the books hold), by kind of entry, and their value in yuan at the programme's point value (2 places)."""
    from decimal import Decimal

    from .programme import programme_at

    balances = LoyaltyAccount.objects.aggregate(s=Sum("points"))["s"] or 0
    ledger = PointsEntry.objects.aggregate(s=Sum("points"))["s"] or 0
    lots = PointsEntry.objects.filter(remaining__gt=0).aggregate(s=Sum("remaining"))["s"] or 0
    by_kind = dict(PointsEntry.objects.values_list("kind").annotate(s=Sum("points")).order_by("kind"))
    value = Decimal(point_value if point_value is not None else programme_at().point_value)
    return {"balances": balances, "ledger": ledger, "open_lots": lots, "by_kind": by_kind,
            "value": (Decimal(balances) * value).quantize(Decimal("0.01"))}
