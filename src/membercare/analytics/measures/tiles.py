"""The tiles other apps' figures fill: complaints, campaigns against their hold-out groups, stored value and gift
cards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .base import CENT, Scope


def complaint_tile(scope: Scope, stores: list) -> dict[str, Any]:
    """Complaints opened, closed, open, overdue and the time to resolve (service.selectors.complaint_stats)."""
    from membercare.service.selectors import complaint_stats

    return complaint_stats(stores, scope.start, scope.end)


def aftersales_tile(scope: Scope, stores: list) -> dict[str, Any]:
    """After-sales service: orders taken in and collected in the period, overdue now, the average days from
    received to ready (service.aftersales.order_measures)."""
    from django.utils.translation import gettext as _

    from membercare.service.aftersales import order_measures

    ids = None if scope.store_ids is None else set(scope.store_ids)
    m = order_measures(ids, scope.start, scope.end)
    if not (m["opened"] or m["collected"] or m["overdue"]):
        return {}
    avg = m["avg_days_to_ready"]
    return {_("Taken in"): m["opened"], _("Collected"): m["collected"], _("Overdue now"): m["overdue"],
            _("Average days to ready"): "—" if avg is None else avg}


def campaign_tile(scope: Scope, stores: list) -> list[dict[str, Any]]:
    """Campaigns running in the period, with the results the campaign results page shows, for the same scope:
    the chain (HQ), or for a store or region scope (a manager, a filter) the coupon batches of its stores'
    brands counted over the members registered at those stores (as the results page counts a manager's), and
    the events held at its stores (events and bulk sends: chain-wide, as of the nightly run; bulk sends are
    HQ's). A coupon batch's figures are those of campaigns.selectors.coupon_batch_results: reached, responded
    and the hold-out counted live; sales and hold-out sales from the nightly run (CampaignFact, per store)
    plus the receipts posted since, read live. Rows: kind, kind_label, object_id, name, window_start,
    window_end, reached, responded, sales, holdout_size, holdout_sales, per_member, holdout_per_member
    (money as Decimal, 2 places), live (True for the coupon batches' figures)."""
    from membercare.campaigns.models import CouponBatch
    from membercare.campaigns.selectors import (
        KIND_LABELS,
        coupon_batch_counts,
        coupon_batch_sales_by_store,
        uplift,
    )

    from ..models import CampaignFact

    facts = CampaignFact.objects.filter(window_start__lte=scope.end, window_end__gte=scope.start)
    ids = None if scope.store_ids is None else set(scope.store_ids)
    if ids is not None:
        brands = {s.brand_id for s in stores}  # a batch is redeemed at its own brand's stores only
        facts = [f for f in facts.exclude(kind="bulk")
                 if (f.kind == "coupon" and f.brand_id in brands)
                 or (f.kind == "event" and (ids & set(f.store_ids) or (not f.store_ids and f.brand_id in brands)))]
    facts = sorted(facts, key=lambda f: (f.window_start, f.pk), reverse=True)[:20]
    batches = CouponBatch.objects.in_bulk([f.object_id for f in facts if f.kind == "coupon"])
    rows = []
    for f in facts:
        r = dict(f.result)
        live = f.kind == "coupon" and f.object_id in batches
        if live:
            batch = batches[f.object_id]
            by_store = {(None if k == "None" else int(k)): v for k, v in (r.get("by_store") or {}).items()}
            since = coupon_batch_sales_by_store(batch, after_id=int(r.get("receipt_high") or 0))
            chosen = [k for k in {*by_store, *since} if ids is None or k in ids]
            r.update(coupon_batch_counts(batch, None if ids is None else [s for s in stores if s.pk in ids]))
            for key in ("sales", "holdout_sales"):
                r[key] = sum((Decimal(by_store.get(k, {}).get(key, "0")) + since.get(k, {}).get(key, Decimal(0))
                              for k in chosen), Decimal(0))
        r = uplift({k: r.get(k) for k in ("reached", "responded", "group_size", "sales", "holdout_size",
                                          "holdout_sales") if r.get(k) is not None})
        rows.append({"kind": f.kind, "kind_label": KIND_LABELS.get(f.kind, f.kind), "object_id": f.object_id,
                     "name": f.name, "window_start": f.window_start, "window_end": f.window_end,
                     "reached": r.get("reached") or 0, "responded": r.get("responded") or 0,
                     "sales": Decimal(r.get("sales") or 0).quantize(CENT), "holdout_size": r.get("holdout_size") or 0,
                     "holdout_sales": Decimal(r.get("holdout_sales") or 0).quantize(CENT),
                     "per_member": r.get("per_member"), "holdout_per_member": r.get("holdout_per_member"),
                     "live": live, "computed_at": f.computed_at})
    return rows


# ---- stored value -----------------------------------------------------------------------------------------

def stored_value_summary(scope: Scope) -> dict[str, Decimal]:
    """Top-ups (principal paid in), stored value spent, balances refunded and revenue recognised in the period
    at the scope's stores (where the money moved), live from the ledger: storedvalue.liability.period_totals
    is the one definition, the stored-value books page reads it too."""
    from membercare.storedvalue.liability import period_totals

    return period_totals(scope.start, scope.end, store_ids=scope.store_ids)


def gift_card_summary(scope: Scope) -> dict[str, Decimal]:
    """Gift cards sold (activated) and spent in the period at the scope's stores, and the gift-card value
    outstanding at the period's end (what those stores' entries left, as on the stored-value books):
    storedvalue.giftcard_selectors.period_totals is the one definition."""
    from membercare.storedvalue.giftcard_selectors import period_totals

    return period_totals(scope.start, scope.end, store_ids=scope.store_ids)
