"""The demo's coupons: a running thank-you batch issued to good customers (a hold-out group kept apart, a few
coupons already used at the till) and an ended spring batch whose unused coupons have expired."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Exists, OuterRef
from django.utils import timezone

from membercare.campaigns.models import Coupon, CouponBatch
from membercare.campaigns.services import batch_create, coupon_issue, coupons_expire
from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import Card, CardStatus
from membercare.members.models import Member
from membercare.messaging.models import MessageTemplate
from membercare.messaging.services import template_save
from membercare.org.models import Brand, Role, Staff
from membercare.sales.models import Product

TZ_NOON = dt.time(12)


def _at(day: dt.date, minutes: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, TZ_NOON)) + dt.timedelta(minutes=minutes)


def _issue_and_use(batch: CouponBatch, members: list[Member], *, seed: str, use: int, product: Product,
                   by: Staff | None) -> int:
    if not members:
        return 0
    coupon_issue(batch=batch, audience={"member_ids": [m.pk for m in members]}, holdout_share=Decimal("0.2"),
                 by=by, at=_at(batch.valid_from, -60), seed=seed)
    used = 0
    for i, coupon in enumerate(Coupon.objects.filter(batch=batch).select_related("member__home_store")
                               .order_by("member_id")[:use]):
        day = batch.valid_from + dt.timedelta(days=1 + i % 5)
        try:
            checkout_post(store=coupon.member.home_store, clerk=None, phone=coupon.member.phone,
                          lines=[LineIn(product.sku, 1)], coupon_code=coupon.code, sold_at=_at(day, i))
            used += 1
        except CheckoutError:  # e.g. a card this store does not accept: the demo simply skips it
            continue
    return used


def _customers(brand: Brand, before: dt.date, n: int, exclude=()) -> list[Member]:
    """Customers registered at a networked store of `brand` (their sales are recorded live) whose cards were all
    issued before `before` and one of them is active: a sale in the batch's days uses the card they had then."""
    later = Card.objects.filter(member=OuterRef("pk"), issued_at__gte=_at(before, -12 * 60))
    usable = Card.objects.filter(member=OuterRef("pk"), brand=brand, status=CardStatus.ACTIVE)
    return list(Member.objects.filter(home_store__brand=brand, home_store__is_active=True, home_store__networked=True)
                .exclude(pk__in=exclude).filter(Exists(usable), ~Exists(later)).order_by("pk")[:n])


def demo_campaigns(today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    if CouponBatch.objects.exists():
        return {}
    main = Brand.objects.filter(parent__isnull=True).order_by("pk").first()
    specialist = Staff.objects.filter(role=Role.SPECIALIST).order_by("pk").first()
    product = (Product.objects.filter(brand=main, full_price__gte=1200, full_price__lte=3000).order_by("sku").first()
               or Product.objects.filter(brand=main).order_by("-full_price").first())
    if main is None or product is None:
        return {}
    template = MessageTemplate.objects.filter(name="会员答谢券").first() or template_save(
        by=specialist, name="会员答谢券", category="promotion",
        body="{title}，感谢您一直以来的支持！您的专属优惠券 {coupon_code}，{coupon_until} 前在{store}使用。")
    thanks = batch_create(by=specialist, name="会员答谢券 满1000减200", brand=main, kind="amount", value=Decimal("200"),
                          min_spend=Decimal("1000"), valid_from=today - dt.timedelta(days=12),
                          valid_to=today + dt.timedelta(days=18), stacks_with_tier=True, template=template)
    spring = batch_create(by=specialist, name="春季焕新 9折券", brand=main, kind="percent", value=Decimal("10"),
                          valid_from=today - dt.timedelta(days=75), valid_to=today - dt.timedelta(days=45),
                          stacks_with_tier=True)
    spring_members = _customers(main, spring.valid_from, 60)
    thanks_members = _customers(main, thanks.valid_from, 100, exclude=[m.pk for m in spring_members])
    used = _issue_and_use(thanks, thanks_members, seed="demo-thanks", use=12, product=product, by=specialist)
    used += _issue_and_use(spring, spring_members, seed="demo-spring", use=5, product=product, by=specialist)
    expired = coupons_expire(today)
    return {"coupons": Coupon.objects.count(), "coupons_used": used, "coupons_expired": expired}
