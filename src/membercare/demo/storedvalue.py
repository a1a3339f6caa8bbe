"""The demo's stored value: members of the demo clerk's store and a few others topped up over the last weeks
(at their stores' counters, by the stores' clerks, with the programme's bonus tiers), so the member panel,
the checkout's 储值卡支付 and the stored-value books have something to show on first login."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.members.models import Member
from membercare.org.models import Role, Staff
from membercare.storedvalue.models import StoredValueCard
from membercare.storedvalue.topup import top_up

AMOUNTS = ["500.00", "1000.00", "2000.00", "1000.00", "3000.00", "800.00"]
METHODS = ["wechat_pay", "cash", "bank_card", "alipay"]


def demo_stored_value(today: dt.date | None = None, *, members: int = 40) -> dict[str, int]:
    if StoredValueCard.objects.exists():
        return {}
    today = today or timezone.localdate()
    payment_methods_ensure_default()  # the till's methods (a migration makes them; a flushed database lacks them)
    zone = ZoneInfo(settings.TIME_ZONE)
    clerk = Staff.objects.filter(username="clerk").first()
    home = list(clerk.stores.order_by("pk")[:1]) if clerk else []
    chosen = list(Member.objects.filter(home_store__in=home).order_by("pk")[: members // 2])
    chosen += list(Member.objects.exclude(home_store__in=home).order_by("-pk")[: members - len(chosen)])
    done = 0
    for n, member in enumerate(chosen):
        by = (Staff.objects.filter(role=Role.CLERK, stores=member.home_store, is_active=True).order_by("pk").first()
              or clerk)
        if by is None:
            continue
        at = dt.datetime.combine(today - dt.timedelta(days=1 + (n * 7) % 40), dt.time(11 + n % 8, 5 * (n % 12)),
                                 tzinfo=zone)
        top_up(member=member, amount=Decimal(AMOUNTS[n % len(AMOUNTS)]), method=METHODS[n % 4],
               store=member.home_store, by=by, at=at)
        done += 1
    return {"stored_value_top_ups": done, **demo_gift_cards(today)}


def demo_gift_cards(today: dt.date, *, count: int = 20, sold: int = 5) -> dict[str, int]:
    """One HQ batch of gift cards (礼品卡, ¥500, chain-wide) with a few sold at the demo clerk's store in the
    last days: the batch page, the books' gift-card line and the counter's sale page have something to show.
    The codes stay unexported, so HQ can try the one export."""
    from membercare.core.crypto import decrypt
    from membercare.storedvalue.giftcard_batches import batch_create, gift_cards_sell
    from membercare.storedvalue.models import GiftCard, GiftCardBatch

    if GiftCardBatch.objects.exists():
        return {}
    hq = Staff.objects.filter(username="specialist").first()
    clerk = Staff.objects.filter(username="clerk").first()
    store = clerk.stores.order_by("pk").first() if clerk else None
    if hq is None or store is None:
        return {}
    zone = ZoneInfo(settings.TIME_ZONE)
    batch = batch_create(by=hq, name="新春礼品卡", face_value=Decimal("500.00"), count=count,
                         valid_days=1095, at=dt.datetime.combine(today - dt.timedelta(days=20),
                                                                 dt.time(10), tzinfo=zone))
    cards = list(GiftCard.objects.filter(batch=batch).order_by("serial")[:sold])
    for n, card in enumerate(cards):
        at = dt.datetime.combine(today - dt.timedelta(days=1 + 3 * n), dt.time(15, 10 * n), tzinfo=zone)
        gift_cards_sell(codes=[decrypt(card.code_sealed)], method=METHODS[n % 4], store=store,
                        by=clerk, at=at)
    return {"gift_cards_sold": len(cards)}
