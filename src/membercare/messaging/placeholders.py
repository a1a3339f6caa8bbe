"""Message placeholders: {name}, {title} (王女士), {store}, {clerk}, {tier}, {points}, ... filled per member.

A template names placeholders in braces; an unknown one is refused when the template is saved (with the
list of known ones), and rendering never fails on a member whose data is incomplete (an empty value).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from membercare.members.models import Member

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Placeholder:
    label: object
    sample: str


PLACEHOLDERS: dict[str, Placeholder] = {
    "name": Placeholder(_("member's full name"), "王丽"),
    "title": Placeholder(_("surname and title, e.g. 王女士"), "王女士"),
    "store": Placeholder(_("store name"), "静安店"),
    "clerk": Placeholder(_("clerk's name"), "李娜"),
    "tier": Placeholder(_("card tier"), "精英卡"),
    "points": Placeholder(_("points balance"), "1280"),
    "member_no": Placeholder(_("member number"), "M00000042"),
    "birthday": Placeholder(_("birthday (month and day)"), "3月8日"),
    "store_phone": Placeholder(_("store phone"), "021-12345678"),
    "link": Placeholder(_("link (survey, event RSVP)"), "https://example.invalid/s/abc"),
    "event": Placeholder(_("event or campaign name"), "秋季新品鉴赏会"),
    "holiday": Placeholder(_("holiday name"), "中秋节"),
    "coupon_code": Placeholder(_("coupon code (coupon campaigns)"), "K7M2-P9QX-4HTW"),
    "coupon_until": Placeholder(_("coupon valid until"), "2026-10-31"),
    "code": Placeholder(_("verification code (verification messages)"), "482915"),
    "minutes": Placeholder(_("minutes the verification code is valid"), "5"),
    "purpose": Placeholder(_("what the verification code is for"), "储值卡支付"),
    "points_expiring": Placeholder(_("points expiring soon (points reminders)"), "320"),
    "expires_on": Placeholder(_("date by which they expire"), "2026年12月31日"),
}


def placeholders_used(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def unknown_placeholders(text: str) -> list[str]:
    return sorted(placeholders_used(text) - set(PLACEHOLDERS))


def render(text: str, values: dict[str, object]) -> str:
    """Fill {placeholders} from `values`; unknown or missing ones become empty (saved templates have no
    unknown ones)."""

    def fill(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(fill, text or "")


def date_text(day: dt.date | str | None) -> str:
    """A date as a message writes it (2026年12月31日 in Chinese); '' for none."""
    if not day:
        return ""
    return formats.date_format(dt.date.fromisoformat(day) if isinstance(day, str) else day)


def _expiring(member: Member) -> tuple[int, dt.date | None]:
    """The member's points expiring within MEMBERCARE_POINTS_EXPIRING_DAYS (as the member centre's card page
    counts them) and the date by which they expire (the last of their dates)."""
    from django.conf import settings
    from django.db.models import Max, Sum
    from django.utils import timezone

    from membercare.loyalty.models import PointsEntry

    cache = getattr(member, "_expiring_points", None)
    if cache is None:
        today = timezone.localdate()
        soon = today + dt.timedelta(days=settings.MEMBERCARE_POINTS_EXPIRING_DAYS)
        found = PointsEntry.objects.filter(member=member, remaining__gt=0, expires_on__gte=today,
                                           expires_on__lte=soon).aggregate(points=Sum("remaining"),
                                                                           last=Max("expires_on"))
        cache = member._expiring_points = (found["points"] or 0, found["last"])
    return cache


def member_values(member: Member, *, store=None, clerk=None, extra: dict | None = None,
                  tier_of: Callable[[Member], str] | None = None, only: set[str] | None = None) -> dict[str, object]:
    """The placeholder values for one member (only those in `only` when given: bulk sends compute what the
    template uses). `store` defaults to the member's home store, `clerk` to the relationship owner."""
    store = store or member.home_store
    clerk = clerk or member.owner
    getters: dict[str, Callable[[], object]] = {
        "name": lambda: member.name,
        "title": lambda: member.title,
        "store": lambda: store.name if store else "",
        "store_phone": lambda: getattr(store, "phone", "") if store else "",
        "clerk": lambda: (clerk.display_name or clerk.get_full_name() or clerk.username) if clerk else "",
        "points": lambda: getattr(getattr(member, "loyalty", None), "points", 0),  # no account yet: 0
        "member_no": lambda: member.member_no,
        "birthday": lambda: formats.date_format(member.birthday, "MONTH_DAY_FORMAT") if member.birthday else "",
        "tier": lambda: tier_of(member) if tier_of else "",
        "points_expiring": lambda: _expiring(member)[0],
        "expires_on": lambda: date_text(_expiring(member)[1]),
    }
    values = {key: get() for key, get in getters.items() if only is None or key in only}
    values.update(extra or {})
    return values
