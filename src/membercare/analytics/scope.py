"""Dashboard filters (brand, region, store, period) resolved on the server against what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.core.permissions import visible_stores
from membercare.org.models import Brand, Region, Role, Staff, Store

from .measures import Scope
from .sql import add_months

PERIODS = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "last_30": _("Last 30 days"),
    "last_90": _("Last 90 days"),
    "this_year": _("This year"),
    "last_12m": _("Last 12 months"),
    "custom": _("Dates below"),
}


def dashboard_role(user: Staff) -> str:
    """"chain" for HQ (specialist, admin), "stores" for a manager, "own" for a clerk."""
    if user.is_superuser or user.is_chain_wide:
        return "chain"
    return "stores" if user.role == Role.MANAGER else "own"


def period_dates(period: str, today: dt.date, start: str = "", end: str = "") -> tuple[dt.date, dt.date]:
    if period == "last_month":
        first = add_months(today, -1)
        return first, add_months(today, 0) - dt.timedelta(days=1)
    if period == "last_30":
        return today - dt.timedelta(days=29), today
    if period == "last_90":
        return today - dt.timedelta(days=89), today
    if period == "this_year":
        return today.replace(month=1, day=1), today
    if period == "last_12m":
        return add_months(today, -11), today
    if period == "custom":
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError:
            return today.replace(day=1), today
        return (first, last) if first <= last else (last, first)
    return today.replace(day=1), today


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class Filters:
    scope: Scope
    stores: list[Store]  # the stores in scope (objects, for labels and other apps' tiles)
    visible: list[Store]
    brands: list[Brand]
    regions: list[Region]
    brand: int | None
    region: int | None
    store: int | None
    period: str
    chain: bool  # the whole chain, no store filter

    @property
    def includes_today(self) -> bool:
        """The period includes today: its figures count today's activity (live), which the page says."""
        return self.scope.start <= timezone.localdate() <= self.scope.end

    def query(self) -> dict[str, Any]:
        return {"brand": self.brand or "", "region": self.region or "", "store": self.store or "",
                "period": self.period, "start": self.scope.start.isoformat(), "end": self.scope.end.isoformat()}


def resolve_filters(user: Staff, params: dict[str, Any], default_period: str = "this_month") -> Filters:
    """The scope the user asked for, never wider than visible_stores(user); asking for a store, brand or
    region outside it is refused (PermissionDenied)."""
    visible = list(visible_stores(user).select_related("brand", "region").order_by("code"))
    visible_ids = {s.pk for s in visible}
    brand, region, store = _int(params.get("brand")), _int(params.get("region")), _int(params.get("store"))
    if store is not None and store not in visible_ids:
        raise PermissionDenied
    brands = sorted({s.brand for s in visible}, key=lambda b: b.code)
    regions = sorted({s.region for s in visible}, key=lambda r: r.code)
    if brand is not None and brand not in {b.pk for b in brands}:
        raise PermissionDenied
    if region is not None and region not in {r.pk for r in regions}:
        raise PermissionDenied
    chosen = [s for s in visible if (brand is None or s.brand_id == brand or s.brand.parent_id == brand)
              and (region is None or s.region_id == region) and (store is None or s.pk == store)]
    chain = dashboard_role(user) == "chain" and brand is None and region is None and store is None
    period = params.get("period") or default_period
    if period not in PERIODS:
        period = default_period
    start, end = period_dates(period, timezone.localdate(), params.get("start", ""), params.get("end", ""))
    scope = Scope(None if chain else tuple(s.pk for s in chosen), start, end)
    return Filters(scope=scope, stores=chosen, visible=visible, brands=brands, regions=regions, brand=brand,
                   region=region, store=store, period=period, chain=chain)
