"""Points for events that are not sales (issue 19 part 2): a survey answered, the profile completed, the
membership anniversary, the dates the member gave (seed 000: 纪念日). The programme's `earn_events` says how many
points, the yearly cap per member and how long they stay valid.

Each event earns once per key: the ledger entry carries `source_key` ("survey:17", "profile", "member_date:2026",
"own_date:17:2026"), unique per member in the database, and the member's account lock is held while the
ledger is looked at and written, so a double submit (two requests at once) earns once.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.dates import is_leap_year, member_dates_on
from membercare.members.models import Member

from .models import PointsEntry
from .points import lock_account, points_earn, year_total
from .programme import programme_at

# the profile is complete when all of these are filled in (the four required at registration and the address)
PROFILE_FIELDS = ("name", "phone", "gender", "birthday", "address")

_REASONS = {
    "survey": lambda: _("Survey answered"),
    "profile": lambda: _("Profile completed"),
    "member_date": lambda: _("Membership anniversary"),
    "own_date": lambda: _("Member's own date"),
}


def earn_event(*, member: Member | int, event: str, key: str, at: dt.datetime | None = None,
               operator=None, note: str = "") -> PointsEntry | None:
    """Earn the programme's points for `event` once per (member, key). Returns the entry, or None when the
    event is off, the key has earned already, or the member's yearly cap is used up (the rest of the cap is
    given when it is less than the event's points). Runs in the caller's transaction when there is one."""
    member_id = member if isinstance(member, int) else member.pk
    at = at or timezone.now()
    on = timezone.localtime(at).date()
    rule = programme_at(on).earn_event(event)
    if rule.points <= 0:
        return None
    source_key = f"{event}:{key}" if key else event
    with transaction.atomic():
        account = lock_account(member_id)  # every earn of this member waits here: the look below is the truth
        if PointsEntry.objects.filter(member_id=member_id, source_key=source_key).exists():
            return None
        points = min(rule.points, rule.yearly_cap - year_total(member_id, [event], on))
        if points <= 0:
            return None
        reason = _REASONS[event]()
        if note:
            reason = f"{reason}: {note}"[:200]
        return points_earn(account, points, expires_on=rule.expires_on(on), reason=reason, operator=operator,
                           at=at, source=event, source_key=source_key)


def profile_complete(member: Member) -> bool:
    return all(str(getattr(member, name) or "").strip() for name in PROFILE_FIELDS)


def on_member_saved(sender, member: Member, **kwargs) -> None:
    """members.signals.member_saved: the first time the profile is complete, the profile points."""
    if getattr(member, "erased_at", None) is not None or not profile_complete(member):
        return
    if PointsEntry.objects.filter(member_id=member.pk, source_key="profile").exists():
        return  # the usual case after the first time: no lock taken
    earn_event(member=member, event="profile", key="")


def anniversary_members(today: dt.date):
    """Members whose registration anniversary is `today` (registered in an earlier year; registered on
    29 February: the 28th in a common year)."""
    qs = Member.objects.filter(created_at__month=today.month, created_at__day=today.day)
    if today.month == 2 and today.day == 28 and not is_leap_year(today.year):
        qs = Member.objects.filter(created_at__month=2, created_at__day__in=(28, 29))
    start = dt.datetime(today.year, 1, 1, tzinfo=timezone.get_default_timezone())
    return qs.filter(created_at__lt=start)



def _dated(today: dt.date) -> dt.datetime:
    """When a daily step's points are dated: now, or 09:00 of `today` for a catch-up run of another day."""
    at = timezone.now()
    if timezone.localtime(at).date() != today:
        at = dt.datetime(today.year, today.month, today.day, 9, tzinfo=timezone.get_default_timezone())
    return at


def member_date_points_due(today: dt.date | None = None) -> int:
    """The daily step: the membership-anniversary points, once per member and year (a second run the same
    day, or a later day of the same year, gives nothing). Returns how many members earned."""
    today = today or timezone.localdate()
    if programme_at(today).earn_event("member_date").points <= 0:
        return 0
    at = _dated(today)
    earned = 0
    for member_id in list(anniversary_members(today).values_list("pk", flat=True)):
        if earn_event(member=member_id, event="member_date", key=str(today.year), at=at) is not None:
            earned += 1
    return earned


def own_date_points_due(today: dt.date | None = None) -> int:
    """The daily step: points on each date a member gave (solar or lunar, as the care greeting keeps it), once
    per date and year, the occasion named on the ledger entry. Returns how many dates earned."""
    today = today or timezone.localdate()
    if programme_at(today).earn_event("own_date").points <= 0:
        return 0
    at = _dated(today)
    earned = 0
    for date_id, member_id, name in list(member_dates_on(today).values_list("pk", "member_id", "name")):
        if earn_event(member=member_id, event="own_date", key=f"{date_id}:{today.year}", at=at,
                      note=name) is not None:
            earned += 1
    return earned
