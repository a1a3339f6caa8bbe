"""The points mall (积分商城, issue 19 part 2): gifts and coupons for points, redeemed at the counter or by the
member in the member centre.

- A coupon item gives a coupon of its batch at once (one per member and batch, as every coupon); its stock is
  the item's `coupon_stock` (empty: no limit), taken under the item's row lock.
- A gift item takes one from a store's stock (service.GiftStock) with one conditional UPDATE (quantity >= 1),
  so of two redemptions of the last one only one gets it. At the counter the gift is handed over at once (a
  GiftIssue "redeemed for points"); in the member centre the member chooses the store and gets a pickup code:
  the stock is taken for it then, and the clerk of that store hands the gift over against the code.
- Points go through the ledger (kind "redeem") with the member's account locked first; a refusal (balance
  short, out of stock, item off sale) writes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.text import has_control
from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import lock_account, points_spend
from membercare.members.models import Member
from membercare.org.models import Staff, Store
from membercare.service.errors import ServiceError
from membercare.service.models import Gift, GiftIssue, GiftReason, GiftStock, StockMovement
from membercare.service.permissions import can_edit_gift_catalogue, works_in

from .codes import new_code, normalize_code
from .models import Coupon, CouponBatch, CouponIssue, MallItem, MallRedemption

MAX_ITEM_POINTS = 1_000_000
MAX_COUPON_STOCK = 1_000_000


# ------------------------------------------------------------------------------------------ the catalogue


@transaction.atomic
def mall_item_save(*, by: Staff, kind: str, name: str, points, gift: Gift | None = None,
                   batch: CouponBatch | None = None, coupon_stock=None, is_active: bool = True,
                   item: MallItem | None = None, at: dt.datetime | None = None) -> MallItem:
    """Create or change an item of the mall (HQ, as the gift catalogue)."""
    from django.core.exceptions import PermissionDenied

    if not can_edit_gift_catalogue(by):
        raise PermissionDenied
    if kind not in MallItem.Kind.values:
        raise ServiceError("kind_invalid", _("Choose a gift or a coupon."), "kind")
    name = (name or "").strip()
    if not name or len(name) > 60 or has_control(name):
        raise ServiceError("name_invalid", _("Name the item in 1 to 60 characters."), "name")
    try:
        points = int(str(points).strip())
    except (TypeError, ValueError):
        points = 0
    if not 1 <= points <= MAX_ITEM_POINTS:
        raise ServiceError("points_invalid", _("Points are a whole number from 1 to %(max)d.") % {
            "max": MAX_ITEM_POINTS}, "points")
    if kind == MallItem.Kind.GIFT:
        if gift is None:
            raise ServiceError("gift_required", _("Choose the gift."), "gift")
        batch, coupon_stock = None, None
    else:
        if batch is None:
            raise ServiceError("batch_required", _("Choose the coupon batch."), "batch")
        gift = None
        if coupon_stock not in (None, ""):
            try:
                coupon_stock = int(str(coupon_stock).strip())
            except (TypeError, ValueError):
                coupon_stock = -1
            if not 0 <= coupon_stock <= MAX_COUPON_STOCK:
                raise ServiceError("stock_invalid", _("Coupons left is a whole number from 0 to %(max)d, or empty "
                                                      "for no limit.") % {"max": MAX_COUPON_STOCK}, "coupon_stock")
        else:
            coupon_stock = None
    item = item or MallItem(created_by=by, created_at=at or timezone.now())
    item.kind, item.name, item.points, item.gift, item.batch = kind, name, points, gift, batch
    item.coupon_stock, item.is_active = coupon_stock, bool(is_active)
    item.save()
    return item


def mall_items(*, active_only: bool = True):
    qs = MallItem.objects.select_related("gift", "batch")
    if not active_only:
        return qs
    # on sale: the item, and a gift item's gift; a coupon item's batch not over yet
    return (qs.filter(is_active=True).exclude(kind=MallItem.Kind.GIFT, gift__is_active=False)
            .exclude(kind=MallItem.Kind.COUPON, batch__valid_to__lt=timezone.localdate()))


def gift_stores(item: MallItem) -> list[tuple[Store, int]]:
    """The active stores holding the item's gift, with how many (for the member to choose where to collect)."""
    if item.kind != MallItem.Kind.GIFT:
        return []
    stocks = (GiftStock.objects.filter(gift_id=item.gift_id, quantity__gt=0, store__is_active=True)
              .select_related("store").order_by("store__code"))
    return [(s.store, s.quantity) for s in stocks]


# ------------------------------------------------------------------------------------------- redeeming


def _refuse_inactive(item: MallItem) -> None:
    if not item.is_active or (item.kind == MallItem.Kind.GIFT and not item.gift.is_active):
        raise ServiceError("item_inactive", _("%(item)s is no longer in the points mall.") % {"item": item.name},
                           "item")


def mall_redeem(*, member: Member, item: MallItem, channel: str, store: Store | None = None,
                by: Staff | None = None, at: dt.datetime | None = None) -> MallRedemption:
    """Redeem one item for the member. At the counter `by` is the clerk and `store` their store (a gift comes
    from its stock and is handed over); in the member centre `by` is None and `store` is where a gift will be
    collected. Refused with nothing written: item off sale, balance short, out of stock, the coupon's batch
    over or already held by the member."""
    if channel not in MallRedemption.Channel.values:
        raise ServiceError("channel_invalid", _("Unknown channel."), "channel")
    if channel == MallRedemption.Channel.COUNTER:
        if by is None or store is None or not works_in(by, store):
            raise ServiceError("not_yours", _("You can only redeem at your own stores."), "store")
    at = at or timezone.now()
    with transaction.atomic():
        account = lock_account(member)  # the member's points and redemptions one at a time
        items = MallItem.objects.select_related("gift", "batch")
        if item.kind == MallItem.Kind.COUPON:  # its coupons left are counted under the item's row lock
            items = items.select_for_update(of=("self",))
        item = items.get(pk=item.pk)
        _refuse_inactive(item)
        if account.points < item.points:
            raise ServiceError("points_short", _("%(item)s needs %(need)d points; the balance is %(have)d.") % {
                "item": item.name, "need": item.points, "have": account.points}, "item")
        redemption = MallRedemption(member=member, item=item, item_name=item.name, points=item.points,
                                    channel=channel, store=store, by=by, created_at=at)
        if item.kind == MallItem.Kind.COUPON:
            redemption.coupon = _coupon_for(item, member, at)
            redemption.status = MallRedemption.Status.DONE
        else:
            if store is None:
                raise ServiceError("store_required", _("Choose the store where you will collect the gift."),
                                   "store")
            stock = _take_one(item, store)
            if channel == MallRedemption.Channel.COUNTER:
                redemption.status = MallRedemption.Status.COLLECTED
                redemption.collected_at, redemption.collected_by = at, by
            else:
                redemption.status = MallRedemption.Status.TO_COLLECT
                redemption.code = new_code()
        redemption.entry = points_spend(account, item.points, kind=PointsEntry.Kind.REDEEM, operator=by, at=at,
                                        reason=_("Points mall: %(item)s") % {"item": item.name})
        if item.kind == MallItem.Kind.GIFT:
            issue = None
            if channel == MallRedemption.Channel.COUNTER:
                issue = redemption.gift_issue = _gift_issue(redemption, by, at)
            reason = (_("Points mall: %(item)s") % {"item": item.name}) if issue else (
                _("Points mall: kept for pickup %(code)s") % {"code": redemption.code})
            StockMovement.objects.create(stock=stock, kind=StockMovement.Kind.ISSUE, quantity=-1,
                                         balance=stock.quantity, reason=reason[:200], issue=issue, by=by, at=at)
        redemption.save()
    return redemption


def _take_one(item: MallItem, store: Store) -> GiftStock:
    # the conditional UPDATE takes the last one or nothing: two redemptions at once cannot both get it
    taken = GiftStock.objects.filter(gift_id=item.gift_id, store=store, quantity__gte=1).update(
        quantity=F("quantity") - 1)
    if not taken:
        raise ServiceError("out_of_stock", _("%(item)s is out of stock at %(store)s.") % {
            "item": item.name, "store": store.name}, "item")
    return GiftStock.objects.get(gift_id=item.gift_id, store=store)


def _coupon_for(item: MallItem, member: Member, at: dt.datetime) -> Coupon:
    batch = item.batch
    if batch.valid_to < timezone.localtime(at).date():
        raise ServiceError("batch_over", _("The coupons of %(item)s are no longer valid.") % {"item": item.name},
                           "item")
    if Coupon.objects.filter(batch=batch, member=member).exists():
        raise ServiceError("coupon_held", _("You already have a coupon of %(item)s.") % {"item": item.name}, "item")
    if item.coupon_stock is not None:
        if item.coupon_stock < 1:
            raise ServiceError("out_of_stock", _("%(item)s is sold out.") % {"item": item.name}, "item")
        item.coupon_stock -= 1
    if item.coupon_issue_id is None:
        item.coupon_issue = CouponIssue.objects.create(batch=batch, audience={"points_mall": item.pk}, seed="mall",
                                                       issued=0, issued_at=at)
    item.save(update_fields=["coupon_stock", "coupon_issue"])
    CouponIssue.objects.filter(pk=item.coupon_issue_id).update(issued=F("issued") + 1)
    for attempt in range(5):  # a colliding code (54 random bits: practically never) is drawn again
        try:
            with transaction.atomic():
                return Coupon.objects.create(batch=batch, issue_id=item.coupon_issue_id, member=member,
                                             code=new_code(), issued_at=at)
        except IntegrityError:
            if attempt == 4 or Coupon.objects.filter(batch=batch, member=member).exists():
                raise
    raise AssertionError("unreachable")


def _gift_issue(redemption: MallRedemption, by: Staff | None, at: dt.datetime) -> GiftIssue:
    return GiftIssue.objects.create(member=redemption.member, gift_id=redemption.item.gift_id,
                                    store=redemption.store, reason=GiftReason.POINTS, clerk=by, at=at,
                                    points_entry=redemption.entry, points=redemption.points,
                                    note=_("Points mall"))


def pickup_find(code: str) -> MallRedemption | None:
    code = normalize_code(code)[:12]
    if not code:
        return None
    return MallRedemption.objects.select_related("member", "item", "store").filter(code=code).first()


@transaction.atomic
def mall_pickup(*, code: str, store: Store, by: Staff, at: dt.datetime | None = None) -> MallRedemption:
    """Hand over a gift redeemed in the member centre against its pickup code, at the store it was kept at."""
    if not works_in(by, store):
        raise ServiceError("not_yours", _("You can only hand over gifts at your own stores."), "store")
    found = pickup_find(code)
    if found is None:
        raise ServiceError("code_unknown", _("No pickup voucher has this code."), "code")
    redemption = MallRedemption.objects.select_for_update(of=("self",)).select_related(
        "item", "member", "store").get(pk=found.pk)
    if redemption.status == MallRedemption.Status.COLLECTED:
        raise ServiceError("collected", _("This gift was collected on %(date)s.") % {
            "date": timezone.localtime(redemption.collected_at).strftime("%Y-%m-%d %H:%M")}, "code")
    if redemption.store_id != store.pk:
        raise ServiceError("other_store", _("This gift is kept at %(store)s: it is collected there.") % {
            "store": redemption.store.name}, "code")
    at = at or timezone.now()
    redemption.gift_issue = _gift_issue(redemption, by, at)
    redemption.status, redemption.collected_at, redemption.collected_by = MallRedemption.Status.COLLECTED, at, by
    redemption.save(update_fields=["gift_issue", "status", "collected_at", "collected_by"])
    return redemption


def member_redemptions(member: Member, *, limit: int = 20):
    return (MallRedemption.objects.filter(member=member).select_related("store", "coupon", "item")
            .order_by("-created_at", "-pk")[:limit])


def validation_text(exc: ValidationError) -> str:
    return getattr(exc, "text", None) or "; ".join(m for msgs in exc.message_dict.values() for m in msgs)


def mall_vouchers_void(member: Member, *, reason: str, at: dt.datetime | None = None) -> int:
    """Pickup vouchers of the member not collected yet are voided (privacy erasure): the code is blanked and
    the gift kept for it goes back to its store's stock (a movement says why). The points stay spent."""
    at = at or timezone.now()
    voided = 0
    for redemption in MallRedemption.objects.select_for_update(of=("self",)).filter(
            member=member, status=MallRedemption.Status.TO_COLLECT).select_related("item"):
        stock = GiftStock.objects.select_for_update().get(gift_id=redemption.item.gift_id, store_id=redemption.store_id)
        stock.quantity += 1
        stock.save(update_fields=["quantity"])
        StockMovement.objects.create(stock=stock, kind=StockMovement.Kind.ADJUST, quantity=1, balance=stock.quantity,
                                     reason=reason[:200], at=at)
        redemption.code, redemption.status = None, MallRedemption.Status.DONE
        redemption.save(update_fields=["code", "status"])
        voided += 1
    return voided
