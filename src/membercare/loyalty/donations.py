"""Points donated to a charity item of the programme (issue 19 part 2): a ledger entry of kind "donation"
(oldest lots first, as any spending) and a PointsDonation row per donation; HQ sees the totals per item."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.org.models import Staff

from .models import PointsDonation, PointsEntry
from .points import lock_account, points_spend
from .programme import programme_at

MAX_DONATION = 1_000_000


def points_donate(*, member: Member, charity: str, points, by: Staff | None = None,
                  at: dt.datetime | None = None) -> PointsDonation:
    """Give `points` of the member's balance to the charity item `charity` (active in the programme)."""
    at = at or timezone.now()
    item = programme_at(timezone.localtime(at).date()).charity(str(charity or ""))
    if item is None or not item.active:
        raise ValidationError({"charity": _("Choose one of the charity items open for donations.")})
    try:
        points = int(str(points).strip())
    except (TypeError, ValueError):
        points = 0
    if not 1 <= points <= MAX_DONATION:
        raise ValidationError({"points": _("Donate a whole number of points from 1 to %(max)d.") % {
            "max": MAX_DONATION}})
    with transaction.atomic():
        account = lock_account(member)
        if account.points < points:
            raise ValidationError({"points": _("Only %(n)d points are available.") % {"n": account.points}})
        entry = points_spend(account, points, kind=PointsEntry.Kind.DONATION, operator=by, at=at,
                             reason=_("Donated to %(item)s") % {"item": item.name})
        return PointsDonation.objects.create(member=member, charity=item.code, charity_name=item.name, points=points,
                                             entry=entry, by=by, created_at=at)


def donation_totals() -> list[dict]:
    """Per charity item: points donated, donations, donors (HQ's view), most points first."""
    return list(PointsDonation.objects.values("charity").annotate(
        name=Max("charity_name"), points=Sum("points"), donations=Count("pk"),
        donors=Count("member", distinct=True)).order_by("-points", "charity"))


def member_donations(member: Member):
    return PointsDonation.objects.filter(member=member).order_by("-created_at", "-pk")[:20]
