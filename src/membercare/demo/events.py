"""The demo's VIP events and referrals: an upcoming salon with invitations (a hold-out group) and answers, a past
new-collection show with attendance (and its points), and a referral pair rewarded on the first purchase."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from membercare.core.public import public_base_url
from membercare.events.models import Event, Invitation, Referral
from membercare.events.referrals import referral_code_for, referral_record
from membercare.events.services import EventData, check_in, event_invite, event_save
from membercare.members.models import Member
from membercare.messaging.models import Category, MessageTemplate
from membercare.org.models import Role, Staff, Store


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


@transaction.atomic
def demo_events(today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    if Event.objects.exists():
        return {"vip_events": Event.objects.count()}
    specialist = Staff.objects.filter(role=Role.SPECIALIST).order_by("pk").first()
    clerk = Staff.objects.filter(username="clerk").first() or Staff.objects.filter(role=Role.CLERK).first()
    store = clerk.stores.order_by("pk").first() if clerk else Store.objects.order_by("pk").first()
    if specialist is None or store is None:
        return {}
    rng = random.Random(6)
    members = list(Member.objects.filter(home_store=store, consent_sms=True).order_by("pk")[:40])
    template = MessageTemplate.objects.filter(category=Category.EVENT, is_active=True).order_by("pk").first()

    salon = event_save(by=specialist, data=EventData(
        kind=Event.Kind.SALON, title="秋冬新品 VIP 鉴赏沙龙", stores=[store], capacity=30, attendance_points=200,
        starts_at=_at(today + dt.timedelta(days=6), 14), ends_at=_at(today + dt.timedelta(days=6), 17),
        details="下午茶、新品试穿与搭配建议；欢迎携伴一位。"))
    if template and members:
        try:  # messages with each member's RSVP link (the demo's "today" may lie before the real one)
            event_invite(event=salon, audience={"member_ids": [m.pk for m in members]}, template=template,
                         by=specialist, base_url=public_base_url(), holdout_share=Decimal("0.1"), seed=2026)
        except ValidationError:
            Invitation.objects.bulk_create([Invitation(event=salon, member=m, token=secrets.token_urlsafe(24),
                                                       held_out=i % 10 == 9, invited_at=timezone.now())
                                            for i, m in enumerate(members)])
        for inv in Invitation.objects.filter(event=salon, held_out=False).order_by("pk")[:12]:
            coming = rng.random() < 0.75
            Invitation.objects.filter(pk=inv.pk).update(rsvp="yes" if coming else "no", responded_at=timezone.now(),
                                                        party_size=rng.choice([1, 1, 2]) if coming else 0)

    show_day = today - dt.timedelta(days=12)
    show = event_save(by=specialist, data=EventData(
        kind=Event.Kind.SHOW, title="春夏新品发布会", stores=[store], starts_at=_at(show_day, 18),
        ends_at=_at(show_day, 21), capacity=50, attendance_points=300))
    guests = list(Member.objects.filter(home_store=store).order_by("-pk")[:15])
    for i, member in enumerate(guests):
        Invitation.objects.create(event=show, member=member, token=secrets.token_urlsafe(24), held_out=i >= 13,
                                  invited_at=_at(show_day - dt.timedelta(days=10), 11),
                                  rsvp="yes" if i < 10 else "", party_size=1 if i < 10 else 0,
                                  responded_at=_at(show_day - dt.timedelta(days=8), 20) if i < 10 else None)
    for member in guests[:8]:
        check_in(event=show, member=member, by=clerk or specialist, store=store, at=_at(show_day, 18))

    # a referral pair: the referrer's friend registered with the code and bought once (both rewarded)
    referrer, friend = members[0] if members else None, None
    if referrer is not None:
        buyers = Member.objects.filter(receipts__isnull=False).values("pk")
        friend = Member.objects.exclude(pk__in=buyers).exclude(pk=referrer.pk).order_by("pk").first()
    if friend is not None:
        referral_record(referred=friend, code=referral_code_for(referrer), by=clerk)
        from membercare.checkout.pipeline import LineIn, checkout_post
        from membercare.sales.models import Product

        product = Product.objects.filter(brand=store.brand).order_by("full_price").first()
        if product is not None:
            checkout_post(store=store, clerk=clerk, phone=friend.phone, lines=[LineIn(product.sku, 1)],
                          sold_at=_at(today - dt.timedelta(days=1), 15))
    return {"vip_events": Event.objects.count(), "referrals": Referral.objects.count()}
