"""The points measures: issued, redeemed, reversed, expired and adjusted per period and by month, and the
points outstanding at the period's end (and the liability)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from ..models import PointsDay
from ..sql import add_months
from ..sql import as_date as sql_date
from .base import CENT, Scope


def _unfolded_points(scope: Scope, *, after: dt.date | None = None) -> list[tuple[dt.date, str, int]]:
    """(local day, kind, points) of the ledger entries not folded into PointsDay yet (ids above its cursor, and
    the holes below it), attributed to a store as PointsDay does, at the scope's stores; days in the period,
    or after `after` when given. The live part of a figure: a redemption made a minute ago counts."""
    from ..models import AnalyticsCursor
    from ..sql import fetch, localday, placeholders

    cursor = AnalyticsCursor.objects.filter(name="points_days").first()
    low, holes = (cursor.value, [int(h) for h in cursor.holes]) if cursor else (0, [])
    day = localday("e.created_at")
    store = "COALESCE(r.store_id, m.home_store_id)"
    where = [f"(e.id > %s{f' OR e.id IN ({placeholders(holes)})' if holes else ''})"]
    params: list[Any] = [low, *holes]
    if after is not None:
        where.append(f"{day} > %s")
        params.append(after)
    else:
        where.append(f"{day} >= %s AND {day} <= %s")
        params += [scope.start, scope.end]
    if scope.store_ids is not None:
        if not scope.store_ids:
            return []
        where.append(f"{store} IN ({placeholders(list(scope.store_ids))})")
        params += list(scope.store_ids)
    rows = fetch(f"""
        SELECT {day}, e.kind, SUM(e.points) FROM loyalty_pointsentry e
        JOIN members_member m ON m.id = e.member_id LEFT JOIN sales_receipt r ON r.id = e.receipt_id
        WHERE {' AND '.join(where)} GROUP BY {day}, e.kind""", params)
    return [(sql_date(d), kind, int(p or 0)) for d, kind, p in rows]


def _points_by_day_kind(scope: Scope) -> list[tuple[dt.date, str, int]]:
    """(day, kind, points) in the scope: the nightly facts (PointsDay) plus the entries made since (live)."""
    facts = PointsDay.objects.filter(scope.stores_q(), day__gte=scope.start, day__lte=scope.end).values(
        "day", "kind").annotate(p=Sum("points"))
    return [(r["day"], r["kind"], int(r["p"] or 0)) for r in facts] + _unfolded_points(scope)


def _balance_now(scope: Scope) -> tuple[int, int]:
    """(points, holders): the balances of the members registered at the scope's stores now (LoyaltyAccount,
    always the sum of the member's ledger), live."""
    from ..sql import fetch, placeholders

    if scope.store_ids is None:
        row = fetch("SELECT SUM(a.points), SUM(CASE WHEN a.points > 0 THEN 1 ELSE 0 END) "
                    "FROM loyalty_loyaltyaccount a")[0]
    elif not scope.store_ids:
        return 0, 0
    else:
        row = fetch(f"""SELECT SUM(a.points), SUM(CASE WHEN a.points > 0 THEN 1 ELSE 0 END)
                        FROM loyalty_loyaltyaccount a JOIN members_member m ON m.id = a.member_id
                        WHERE m.home_store_id IN ({placeholders(list(scope.store_ids))})""", list(scope.store_ids))[0]
    return int(row[0] or 0), int(row[1] or 0)


def points_outstanding(scope: Scope) -> dict[str, Any]:
    """The points balance of the members registered at the scope's stores at the end of the period: for a period
    up to today, the balances now; for a past one, the balances now less every ledger entry made after the
    period (the balance is the ledger's sum: for stores, the ledger of their members through its (member,
    created_at) index; for the chain, the nightly facts after the end plus the entries since).
    holders (members with points) is known for now only (None for a past period)."""
    from ..sql import day_bounds, fetch, placeholders, ts

    points, holders = _balance_now(scope)
    today = timezone.localdate()
    if scope.end >= today:
        return {"outstanding": points, "holders": holders}
    if scope.store_ids is None:  # the chain: the facts' store attribution does not matter
        after = PointsDay.objects.filter(day__gt=scope.end).aggregate(p=Sum("points"))["p"] or 0
        after += sum(p for _d, _k, p in _unfolded_points(scope, after=scope.end))
    elif not scope.store_ids:
        return {"outstanding": 0, "holders": None}
    else:  # by registration store, as the balance (PointsDay puts a sale's points at the receipt's store)
        _begin, stop = day_bounds(scope.end, scope.end)
        after = fetch(f"""SELECT SUM(e.points) FROM loyalty_pointsentry e JOIN members_member m ON m.id = e.member_id
                          WHERE m.home_store_id IN ({placeholders(list(scope.store_ids))}) AND e.created_at >= %s""",
                      [*scope.store_ids, ts(stop)])[0][0] or 0
    return {"outstanding": points - int(after), "holders": None}


def points_summary(scope: Scope, point_value: Decimal | None = None) -> dict[str, Any]:
    """Points in the period from the ledger (loyalty PointsEntry, by the day the entry was made; an entry of a
    sale or return belongs to the receipt's store, any other to the member's registration store), read from
    the nightly facts (PointsDay) plus the entries made since (live, so today's activity counts):
    issued = earned (kind earn: purchases and non-purchase actions); redeemed ("points used") = spent (kind
    redeem, as a positive number) minus what returns refunded (kind refund); reversed = taken back by returns
    (kind reverse); expired (kind expire); adjusted = manual adjustments (kind adjust, signed); donated = given
    to the programme's charity items (kind donation, as a positive number).
    outstanding = the balance of the members registered at the stores at the end of the period
    (points_outstanding), and liability = outstanding x `point_value` (yuan per point as a cash offset, from
    the programme) when given."""
    by_kind: dict[str, int] = defaultdict(int)
    for _day, kind, points in _points_by_day_kind(scope):
        by_kind[kind] += points
    balance = points_outstanding(scope)
    outstanding = balance["outstanding"]
    return {
        "issued": by_kind.get("earn", 0),
        "redeemed": -by_kind.get("redeem", 0) - by_kind.get("refund", 0),
        "reversed": -by_kind.get("reverse", 0),
        "expired": -by_kind.get("expire", 0),
        "adjusted": by_kind.get("adjust", 0),
        "donated": -by_kind.get("donation", 0),
        "outstanding": outstanding,
        "holders": balance["holders"],
        "liability": (Decimal(outstanding) * point_value).quantize(CENT) if point_value is not None else None,
    }


def points_by_month(scope: Scope) -> list[dict[str, Any]]:
    """Per calendar month of the period: points issued and redeemed (as in points_summary)."""
    months: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, kind, points in _points_by_day_kind(scope):
        months[day.replace(day=1)][kind] += points
    out, month = [], scope.start.replace(day=1)
    while month <= scope.end:
        k = months.get(month, {})
        out.append({"month": month, "issued": k.get("earn", 0),
                    "redeemed": -k.get("redeem", 0) - k.get("refund", 0)})
        month = add_months(month, 1)
    return out
