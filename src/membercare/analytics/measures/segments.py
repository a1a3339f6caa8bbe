"""The members' measures: members registered, the segments and tiers on the snapshot day, churn by month and
its rate."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Max, Sum

from ..models import SegmentDay, SegmentMove
from .base import ACTIVE_BASE, CHURNED, Scope, rate


def members_registered(scope: Scope) -> int:
    """Members registered at the scope's stores (Member.home_store) by the end of the period, live."""
    from membercare.members.models import Member

    from ..sql import day_bounds

    _begin, stop = day_bounds(scope.end, scope.end)
    return Member.objects.filter(scope.stores_q("home_store_id"), created_at__lt=stop).count()


def snapshot_day(scope: Scope) -> dt.date | None:
    """The day of the last segment snapshot on or before the end of the period."""
    return SegmentDay.objects.filter(day__lte=scope.end).aggregate(d=Max("day"))["d"]


def _snapshot(scope: Scope, dimension: str) -> dict[str, int]:
    day = snapshot_day(scope)
    if day is None:
        return {}
    rows = SegmentDay.objects.filter(scope.stores_q(), day=day, dimension=dimension).values("value").annotate(
        n=Sum("members"))
    return {r["value"]: int(r["n"] or 0) for r in rows}


def segment_summary(scope: Scope) -> dict[str, Any]:
    """Members registered at the stores: `members` by the end of the period (members_registered, live); on the
    last snapshot on or before the end of the period, by card tier (best active card; "" = no active card),
    lifecycle (care segments: new, active, dormant, sleeping, lost, prospect), value pyramid, ABC spend class,
    follow-up class and seed 004's seven flags.
    repurchase_rate (12 months) = members with two or more purchase days in the last 12 months / members with
    at least one (care MemberSegments.purchase_days_12m)."""
    day = snapshot_day(scope)
    out: dict[str, Any] = {"day": day}
    if day is None:
        return out
    rows = SegmentDay.objects.filter(scope.stores_q(), day=day).values("dimension", "value").annotate(
        n=Sum("members"))
    dims: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        dims[r["dimension"]][r["value"]] = int(r["n"] or 0)
    snapshot_members = dims.get("members", {}).get("all", 0)
    tiers = dict(dims.get("tier", {}))
    tiers[""] = snapshot_members - sum(n for k, n in tiers.items() if k)
    out.update({
        "members": members_registered(scope), "tier": tiers, "lifecycle": dims.get("lifecycle", {}),
        "pyramid": dims.get("pyramid", {}), "spend_class": dims.get("spend_class", {}),
        "follow_up": dims.get("follow_up", {}),
        "flags": {k: v.get("1", 0) for k, v in dims.items() if k in _flag_codes()},
        "buyers_12m": dims.get("repurchase_12m", {}).get("buyers", 0),
        "repeat_12m": dims.get("repurchase_12m", {}).get("repeat", 0),
    })
    out["repurchase_rate"] = rate(out["repeat_12m"], out["buyers_12m"])
    return out


def _flag_codes() -> list[str]:
    from membercare.care.models import SEVEN_SEGMENTS

    return [code for code, _label in SEVEN_SEGMENTS]


def churn_by_month(scope: Scope) -> list[dict[str, Any]]:
    """Monthly churn from the month-over-month lifecycle migration (analytics SegmentMove), for every month
    whose first day lies in the period: base = members new, active or dormant on the first of the month;
    churned = those of them sleeping or lost on the first of the next month; rate = churned / base.
    (Dormant members are in the base: nobody can go from "active" — a purchase within 90 days — to
    "sleeping" — none for 180 days — within one month, so the active → sleeping flow passes through
    dormant.)"""
    rows = SegmentMove.objects.filter(scope.stores_q(), dimension="lifecycle", from_day__gte=scope.start,
                                      from_day__lte=scope.end, from_value__in=ACTIVE_BASE).values(
        "from_day", "to_value").annotate(n=Sum("members"))
    months: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        months[r["from_day"]][0] += int(r["n"])
        if r["to_value"] in CHURNED:
            months[r["from_day"]][1] += int(r["n"])
    return [{"month": m, "base": b, "churned": c, "rate": rate(c, b)} for m, (b, c) in sorted(months.items())]


def churn_rate(scope: Scope) -> dict[str, Any]:
    """Churn over the period: the months of churn_by_month summed (churned / base), and the months used."""
    months = churn_by_month(scope)
    base, churned = sum(m["base"] for m in months), sum(m["churned"] for m in months)
    return {"base": base, "churned": churned, "rate": rate(churned, base), "months": len(months)}
