"""Coupon reads: batches with their counts, a member's coupons, placeholder values, and campaign results.

Results (coupon_batch_results, and the same shape from events.selectors.event_results and
messaging.selectors.bulk_send_results) are intention-to-treat: `sales` is what every member reached paid
(net of returns) at the batch's brand over the window, `holdout_sales` what the hold-out group — drawn from
the same audience, given nothing — paid over the same window. The uplift per member is the difference of
the two averages; it is the campaign's effect whether or not the member used the coupon.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.care.marketing import db_time
from membercare.core.days import day_bounds
from membercare.members.models import Member
from membercare.sales.models import Receipt

from .codes import display_code
from .models import Coupon, CouponBatch, CouponHoldout, CouponRedemption

ZERO = Decimal("0.00")


def batch_list(stores=None) -> QuerySet[CouponBatch]:
    """Every batch with issued, held out and redeemed counts (one query)."""
    coupons = Q() if stores is None else Q(coupons__member__home_store__in=stores)
    return (CouponBatch.objects.select_related("brand")
            .annotate(n_issued=Count("coupons", filter=coupons, distinct=True),
                      n_redeemed=Count("coupons", filter=coupons & Q(coupons__redeemed_at__isnull=False),
                                       distinct=True))
            .order_by("-created_at", "-pk"))


def batch_status(batch: CouponBatch, on: dt.date | None = None) -> str:
    on = on or timezone.localdate()
    if on < batch.valid_from:
        return "upcoming"
    return "ended" if on > batch.valid_to else "running"


STATUS_LABELS = {"upcoming": _("Not started"), "running": _("Running"), "ended": _("Ended")}


def coupon_state(coupon: Coupon, on: dt.date | None = None) -> str:
    """valid / used / expired / upcoming."""
    on = on or timezone.localdate()
    if coupon.redeemed_at is not None:
        return "used"
    if coupon.expired_on is not None or on > coupon.batch.valid_to:
        return "expired"
    return "upcoming" if on < coupon.batch.valid_from else "valid"


COUPON_STATE_LABELS = {"valid": _("Valid"), "used": _("Used"), "expired": _("Expired"),
                       "upcoming": _("Not valid yet")}


def member_coupons(member: Member, on: dt.date | None = None) -> list[dict[str, Any]]:
    """The member's coupons, newest first, each with its state and, when used, the receipt and store."""
    on = on or timezone.localdate()
    out = []
    for c in (Coupon.objects.filter(member=member).select_related("batch", "redemption__receipt",
                                                                   "redemption__store")
              .order_by("-issued_at", "-pk")[:50]):
        state = coupon_state(c, on)
        redemption = getattr(c, "redemption", None) if state == "used" else None
        out.append({"coupon": c, "code": display_code(c.code), "state": state, "label": COUPON_STATE_LABELS[state],
                    "redemption": redemption})
    return out


def usable_coupons(member_id: int, store, on: dt.date | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """The member's coupons usable at `store` on `on` (its brand, unused, within their dates), the soonest to
    expire first: what the checkout offers the clerk (whether one fits the basket is the sale's to say)."""
    on = on or timezone.localdate()
    coupons = (Coupon.objects.filter(member_id=member_id, batch__brand_id=store.brand_id, redeemed_at__isnull=True,
                                     expired_on__isnull=True, batch__valid_from__lte=on, batch__valid_to__gte=on)
               .select_related("batch").order_by("batch__valid_to", "pk")[:limit])
    return [{"coupon": c, "code": display_code(c.code), "batch": c.batch} for c in coupons]


def coupon_placeholder_values(issue_id: int, member_ids: list[int]) -> dict[int, dict[str, str]]:
    """{member id: {"coupon_code": "ABCD-EFGH-JK23", "coupon_until": "2026-10-31"}} for a bulk send."""
    rows = Coupon.objects.filter(issue_id=issue_id, member_id__in=member_ids).values_list(
        "member_id", "code", "batch__valid_to")
    return {m: {"coupon_code": display_code(code), "coupon_until": until.isoformat()} for m, code, until in rows}


# ------------------------------------------------------------------------------------------------ results


def _batch_members(batch: CouponBatch, stores=None) -> tuple[QuerySet[Coupon], QuerySet[CouponHoldout]]:
    """The batch's coupons and hold-outs, of members registered at `stores` when given (a manager's view)."""
    coupons = Coupon.objects.filter(batch=batch)
    holdouts = CouponHoldout.objects.filter(batch=batch)
    if stores is not None:
        coupons = coupons.filter(member__home_store__in=stores)
        holdouts = holdouts.filter(member__home_store__in=stores)
    return coupons, holdouts


def coupon_batch_results(batch: CouponBatch, stores=None) -> dict[str, Any]:
    """reached (coupons issued), responded (coupons used), sales (what the members reached paid at the batch's
    brand from valid_from to valid_to, net of returns), holdout_size, holdout_sales (the same for the hold-out
    group), window_start, window_end; and redeemed_sales (net paid on the receipts the coupons were used on)
    and discount (what the coupons took off). `stores`: only members registered at those stores (a manager's
    view). SQL aggregates, five queries."""
    coupons, holdouts = _batch_members(batch, stores)
    counts = coupon_batch_counts(batch, stores)
    start, end = day_bounds(batch.valid_from, batch.valid_to)
    receipts = Receipt.objects.filter(sold_at__gte=start, sold_at__lt=end, store__brand_id=batch.brand_id)

    def paid(qs) -> Decimal:
        return (qs.aggregate(s=Sum("total_paid"))["s"] or ZERO).quantize(Decimal("0.01"))

    redemptions = CouponRedemption.objects.filter(coupon__in=coupons.values("pk"))
    used_on = redemptions.values("receipt_id")
    return {
        **counts,
        "sales": paid(receipts.filter(member_id__in=coupons.values("member_id"))),
        "holdout_sales": paid(receipts.filter(member_id__in=holdouts.values("member_id"))),
        "window_start": batch.valid_from, "window_end": batch.valid_to,
        # two indexed sums, not one OR (which reads every receipt)
        "redeemed_sales": paid(Receipt.objects.filter(pk__in=used_on)) + paid(
            Receipt.objects.filter(original_id__in=used_on)),
        "discount": redemptions.aggregate(s=Sum("amount"))["s"] or ZERO,
    }


def coupon_batch_counts(batch: CouponBatch, stores=None) -> dict[str, int]:
    """reached, responded and holdout_size of coupon_batch_results alone: indexed counts on the batch's
    coupons (live everywhere: cheap even for a 100,000-coupon batch)."""
    coupons, holdouts = _batch_members(batch, stores)
    counts = coupons.aggregate(reached=Count("pk"), responded=Count("pk", filter=Q(redeemed_at__isnull=False)))
    return {"reached": counts["reached"], "responded": counts["responded"], "holdout_size": holdouts.count()}


def coupon_batch_sales_by_store(batch: CouponBatch, *, after_id: int = 0) -> dict[int | None, dict[str, Decimal]]:
    """`sales` and `holdout_sales` of coupon_batch_results per registration store of the members (None: no
    store), from the receipts with an id above `after_id` only (0: all). Two grouped sums in SQL."""
    start, end = day_bounds(batch.valid_from, batch.valid_to)
    receipts = Receipt.objects.filter(sold_at__gte=start, sold_at__lt=end, store__brand_id=batch.brand_id)
    if after_id:
        receipts = receipts.filter(pk__gt=after_id)
    out: dict[int | None, dict[str, Decimal]] = {}
    for key, members in (("sales", Coupon.objects.filter(batch=batch).values("member_id")),
                         ("holdout_sales", CouponHoldout.objects.filter(batch=batch).values("member_id"))):
        rows = receipts.filter(member_id__in=members).values("member__home_store_id").annotate(s=Sum("total_paid"))
        for row in rows:
            line = out.setdefault(row["member__home_store_id"], {"sales": ZERO, "holdout_sales": ZERO})
            line[key] = (row["s"] or ZERO).quantize(Decimal("0.01"))
    return out


def uplift(result: dict[str, Any]) -> dict[str, Any]:
    """Per-member averages of both groups and their difference (None where a group is empty). The treated
    group is `group_size` where the result gives it (events, bulk sends: everyone outside the hold-out, reached
    or not), else `reached` (coupon batches: every coupon issued reached its member)."""
    reached, held = result.get("reached") or 0, result.get("holdout_size") or 0
    group = result.get("group_size", reached) or 0
    per = (Decimal(result.get("sales") or 0) / group).quantize(Decimal("0.01")) if group else None
    held_per = (Decimal(result.get("holdout_sales") or 0) / held).quantize(Decimal("0.01")) if held else None
    return {**result, "per_member": per, "holdout_per_member": held_per,
            "uplift_per_member": per - held_per if per is not None and held_per is not None else None,
            "response_rate": (result.get("responded") or 0) / reached if reached else None}


KIND_LABELS = {"coupon": _("Coupon batch"), "event": _("VIP event"), "bulk": _("Bulk send")}


def campaign_results(stores=None, limit: int = 50, start: dt.date | None = None,
                     end: dt.date | None = None) -> list[dict[str, Any]]:
    """The newest coupon batches, VIP events and bulk sends with their results (uplift included); with
    `start`/`end`, only those running in that period (filtered before anything is computed). `stores` (a
    manager): coupon results for their stores' members and the events held at their stores; bulk sends are
    HQ's and left out."""
    from django.db.models import Q

    from membercare.events.models import Event
    from membercare.events.selectors import event_results
    from membercare.messaging.models import BulkSend
    from membercare.messaging.selectors import bulk_send_results

    from .models import CouponIssue

    batches, events = CouponBatch.objects.all(), Event.objects.filter(cancelled=False)
    bulks = BulkSend.objects.exclude(pk__in=CouponIssue.objects.filter(bulk__isnull=False).values("bulk_id"))
    if start is not None and end is not None:
        first, stop = day_bounds(start, end)
        batches = batches.filter(valid_from__lte=end, valid_to__gte=start)
        events = events.filter(starts_at__lt=stop).filter(
            Q(ends_at__gte=first) | Q(sale_ends_on__gte=start))
        bulks = bulks.filter(scheduled_at__lt=stop, scheduled_at__gte=first - dt.timedelta(days=14))
    if stores is not None:
        events = events.filter(Q(stores__in=stores) | Q(stores__isnull=True, brand__stores__in=stores)).distinct()
        bulks = bulks.none()
    rows: list[dict[str, Any]] = []
    for batch in batches.order_by("-created_at", "-pk")[:limit]:
        rows.append({"kind": "coupon", "kind_label": KIND_LABELS["coupon"], "name": batch.name, "obj": batch,
                     "scoped": True, **uplift(coupon_batch_results(batch, stores=stores))})
    for event in events.order_by("-pk")[:limit]:
        rows.append({"kind": "event", "kind_label": KIND_LABELS["event"], "obj": event, "scoped": True,
                     "name": event.title, **uplift(event_results(event))})
    for bulk in bulks.order_by("-created_at", "-pk")[:limit]:  # coupon batches' own sends are shown with them
        rows.append({"kind": "bulk", "kind_label": KIND_LABELS["bulk"], "name": bulk.name, "obj": bulk,
                     "scoped": True, **uplift(bulk_send_results(bulk))})
    rows.sort(key=lambda r: _day(r.get("window_start")), reverse=True)
    return rows


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value or dt.date.min


def member_coupon_counts(member_ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """{member id: coupons used from `start` to `end` (local days)} for the annual VIP statement."""
    begin, stop = day_bounds(start, end)
    return dict(CouponRedemption.objects.filter(coupon__member_id__in=member_ids, redeemed_at__gte=begin,
                                                redeemed_at__lt=stop)
                .values("coupon__member_id").annotate(n=Count("pk")).values_list("coupon__member_id", "n"))


def coupon_marketing_receipts(window) -> tuple[str, list]:
    """care.marketing's source: the receipts that used a coupon (redeemed from a day before the window on: a
    redemption is written with its sale, or later when an offline receipt is uploaded)."""
    return ("SELECT receipt_id FROM campaigns_couponredemption WHERE redeemed_at >= %s",
            [db_time(window.start - dt.timedelta(days=1))])
