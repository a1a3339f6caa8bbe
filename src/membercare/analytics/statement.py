"""The annual VIP statement (issue 6 item 7): a member's past year — spend, points and privileges used — and
the list of top spenders of a brand to invite to the annual VIP gathering (seed 000: "统计过去一年VIP消费明细,
针对那些消费金额达到一定金额的老顾客,组织一次活动").

Spend = paid on sale receipts plus paid on returns (negative) made in the period (net), receipts = sale
receipts; points earned = ledger entries of kind earn made in the period, redeemed = kind redeem (as a
positive number) minus refunds; birthday privileges = BirthdayUse rows in the period not reversed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from membercare.loyalty.models import BirthdayUse, Card, CardStatus, PointsEntry
from membercare.loyalty.programme import Programme, label_cards, programme_at
from membercare.members.models import Member
from membercare.org.models import Brand
from membercare.sales.models import Receipt

from . import sql
from .measures import CENT

Progress = Callable[..., None]
CHUNK = 900


def past_year(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The 12 months up to yesterday: (today - 365 days, today - 1 day)."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=365), today - dt.timedelta(days=1)


@dataclass
class VipRow:
    rank: int
    member: Member
    spend: Decimal
    receipts: int
    points_earned: int = 0
    points_redeemed: int = 0
    birthday_uses: int = 0
    card: str = ""
    extras: dict[str, Any] = field(default_factory=dict)


def _points_by_member(member_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for i in range(0, len(member_ids), CHUNK):
        for r in (PointsEntry.objects.filter(member_id__in=member_ids[i:i + CHUNK], created_at__gte=start,
                                             created_at__lt=end)
                  .values("member_id", "kind").annotate(p=Sum("points"))):
            out.setdefault(r["member_id"], {})[r["kind"]] = int(r["p"] or 0)
    return out


def _birthday_uses(member_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(member_ids), CHUNK):
        for r in (BirthdayUse.objects.filter(member_id__in=member_ids[i:i + CHUNK], used_at__gte=start,
                                             used_at__lt=end, reversed=False)
                  .values("member_id").annotate(n=Count("*"))):
            out[r["member_id"]] = r["n"]
    return out


def _best_cards(member_ids: list[int], programme: Programme) -> dict[int, str]:
    rank = programme.positions()
    out: dict[int, str] = {}
    for i in range(0, len(member_ids), CHUNK):
        for member_id, kind in Card.objects.filter(member_id__in=member_ids[i:i + CHUNK],
                                                   status=CardStatus.ACTIVE).values_list("member_id", "kind"):
            if rank.get(kind, 0) > rank.get(out.get(member_id, ""), 0):
                out[member_id] = kind
    return out


def vip_statement_list(brand: Brand, start: dt.date, end: dt.date, *, limit: int = 100,
                       min_spend: Decimal | None = None, store_ids: list[int] | None = None,
                       progress: Progress | None = None) -> list[VipRow]:
    """The top spenders at `brand`'s stores (and its sub-brands') from `start` to `end` (local days,
    inclusive), ordered by net spend descending then member number: at most `limit`, and only those who
    spent at least `min_spend` when given. `store_ids` narrows to stores the caller may see."""
    begin, stop = sql.day_bounds(start, end)
    brands = [brand.pk, *Brand.objects.filter(parent=brand).values_list("pk", flat=True)]
    stores = Q(store__brand_id__in=brands)
    if store_ids is not None:
        stores &= Q(store_id__in=store_ids)
    if progress:
        progress(0, 3, "spend")
    spenders = (Receipt.objects.filter(stores, member__isnull=False, member__erased_at__isnull=True,
                                       sold_at__gte=begin, sold_at__lt=stop)
                .values("member_id").annotate(spend=Sum("total_paid"),
                                              receipts=Count("pk", filter=Q(original__isnull=True))))
    if min_spend is not None:
        spenders = spenders.filter(spend__gte=min_spend)
    top = list(spenders.order_by("-spend", "member_id")[:limit])
    ids = [r["member_id"] for r in top]
    if progress:
        progress(1, 3, "points")
    members = Member.objects.in_bulk(ids)
    points = _points_by_member(ids, begin, stop)
    uses = _birthday_uses(ids, begin, stop)
    programme = programme_at()
    cards = _best_cards(ids, programme)
    if progress:
        progress(2, 3, "extras")
    from membercare.campaigns.selectors import member_coupon_counts
    from membercare.events.selectors import member_event_counts

    extras = member_event_counts(ids, start, end)
    coupons = member_coupon_counts(ids, start, end)
    rows = []
    for i, r in enumerate(top, start=1):
        p = points.get(r["member_id"], {})
        row = VipRow(rank=i, member=members[r["member_id"]], spend=Decimal(r["spend"]).quantize(CENT),
                     receipts=r["receipts"], points_earned=p.get("earn", 0),
                     points_redeemed=-p.get("redeem", 0) - p.get("refund", 0),
                     birthday_uses=uses.get(r["member_id"], 0),
                     card=programme.label(cards[r["member_id"]]) if r["member_id"] in cards else "")
        if r["member_id"] in extras:
            row.extras["events"] = extras[r["member_id"]]
        if r["member_id"] in coupons:
            row.extras["coupons"] = coupons[r["member_id"]]
        rows.append(row)
    if progress:
        progress(3, 3, "done")
    return rows


def member_statement(member: Member, start: dt.date, end: dt.date) -> dict[str, Any]:
    """One member's year: spend and receipts (total and per store), points earned / redeemed / reversed /
    expired in the period and the balance now, birthday privileges used (with day, store and items), and
    the active cards."""
    begin, stop = sql.day_bounds(start, end)
    receipts = Receipt.objects.filter(member=member, sold_at__gte=begin, sold_at__lt=stop)
    totals = receipts.aggregate(spend=Sum("total_paid"), n=Count("pk", filter=Q(original__isnull=True)),
                                full=Sum("total_full_price"))
    per_store = list(receipts.values("store__name").annotate(spend=Sum("total_paid"),
                                                             n=Count("pk", filter=Q(original__isnull=True)))
                     .order_by("-spend", "store__name"))
    kinds = {r["kind"]: int(r["p"] or 0) for r in PointsEntry.objects.filter(
        member=member, created_at__gte=begin, created_at__lt=stop).values("kind").annotate(p=Sum("points"))}
    balance = getattr(getattr(member, "loyalty", None), "points", 0)
    uses = list(BirthdayUse.objects.filter(member=member, used_at__gte=begin, used_at__lt=stop)
                .select_related("store").order_by("used_at"))
    spend = Decimal(totals["spend"] or 0).quantize(CENT)
    full = Decimal(totals["full"] or 0).quantize(CENT)
    return {
        "member": member, "start": start, "end": end, "spend": spend, "receipts": totals["n"] or 0,
        "saved": (full - spend).quantize(CENT) if full > spend else Decimal("0.00"),
        "average_receipt": (spend / totals["n"]).quantize(CENT) if totals["n"] else None,
        "per_store": [{"store": r["store__name"], "spend": Decimal(r["spend"]).quantize(CENT), "receipts": r["n"]}
                      for r in per_store],
        "points_earned": kinds.get("earn", 0), "points_redeemed": -kinds.get("redeem", 0) - kinds.get("refund", 0),
        "points_reversed": -kinds.get("reverse", 0), "points_expired": -kinds.get("expire", 0),
        "points_adjusted": kinds.get("adjust", 0), "points_balance": balance,
        "birthday_uses": uses,
        "cards": label_cards(Card.objects.filter(member=member, status=CardStatus.ACTIVE).order_by("-issued_at")),
    }
