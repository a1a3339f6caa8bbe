"""The demo's perk uses (issue 19 part 1): a few elite and diamond members at the demo clerk's store used a free
alteration or the airport fast lane this period, so the counter, the profile and the card page show what is left;
the member centre's demo login used one too when their card has perks."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from membercare.loyalty.models import Card, CardStatus, PerkUse
from membercare.loyalty.perks import perk_card, perk_use
from membercare.loyalty.programme import programme_at
from membercare.members.models import Member
from membercare.org.models import Role, Staff
from membercare.sales.pipeline import CheckoutError

from .membercentre import demo_member_login


def demo_perks(today: dt.date | None = None) -> dict[str, int]:
    if PerkUse.objects.exists():
        return {}
    clerk = Staff.objects.filter(username="clerk").first() or Staff.objects.filter(role=Role.CLERK).first()
    store = clerk.stores.order_by("pk").first() if clerk else None
    if store is None:
        return {}
    now = timezone.now()
    if today is not None and today != timezone.localdate():
        now = timezone.make_aware(dt.datetime.combine(today, dt.time(11, 0)))
    programme = programme_at(timezone.localdate(now))
    holders = list(Member.objects.filter(home_store=store, cards__status=CardStatus.ACTIVE,
                                         cards__kind__in=["elite", "diamond"]).distinct().order_by("member_no")[:4])
    login = demo_member_login()
    if login is not None and login not in holders:
        holders.insert(0, login)
    used = 0
    for i, member in enumerate(holders):
        card: Card | None = perk_card(member, store, programme)
        if card is None:
            continue
        tier = programme.tier(card.kind)
        for code, hours in (("alteration", 2 + i), ("airport", 30 + i)):
            if tier.perk(code) is None:
                continue
            try:
                perk_use(member=member, perk_code=code, store=store, clerk=clerk, at=now - dt.timedelta(hours=hours))
            except CheckoutError:
                continue
            used += 1
    return {"perk_uses": used}
