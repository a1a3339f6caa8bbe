"""The sales measures: net sales, members' and VIP cards' sales and their share against the playbook's target,
receipts, per period and by week (the nightly facts plus what was posted since)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Sum

from ..models import StoreDay
from .base import VIP_SHARE_TARGET, Scope, money, rate, week_start

SALES_FIELDS = ["sales_cents", "returns_cents", "receipts", "member_sales_cents", "member_returns_cents",
                "member_receipts", "vip_sales_cents", "vip_returns_cents", "new_members"]


def _store_days(scope: Scope):
    return StoreDay.objects.filter(scope.stores_q(), day__gte=scope.start, day__lte=scope.end)


def _unfolded_store_days(scope: Scope) -> list[dict[str, Any]]:
    """Per day of the period, SALES_FIELDS of the receipts and members not folded into StoreDay yet (ids above
    its cursors: posted since the nightly run), at the scope's stores, computed as StoreDay computes them."""
    from ..facts import _storeday_select
    from ..models import AnalyticsCursor
    from ..sql import as_date, fetch, placeholders

    cursors = dict(AnalyticsCursor.objects.filter(name__in=["store_days", "store_days_members"]).values_list(
        "name", "value"))
    stores, params = "", [cursors.get("store_days", 0), cursors.get("store_days_members", 0), scope.start, scope.end]
    if scope.store_ids is not None:
        if not scope.store_ids:
            return []
        stores = f"AND store_id IN ({placeholders(list(scope.store_ids))})"
        params += list(scope.store_ids)
    inner = _storeday_select("FROM sales_receipt r WHERE r.id > %s", "FROM members_member m WHERE m.id > %s")
    sums = ", ".join(f"SUM({f})" for f in SALES_FIELDS)
    rows = fetch(f"SELECT day, {sums} FROM ({inner}) x WHERE day >= %s AND day <= %s {stores} GROUP BY day",
                 params)
    return [{"day": as_date(r[0]), **{f: int(v or 0) for f, v in zip(SALES_FIELDS, r[1:], strict=True)}}
            for r in rows]


def _sales_days(scope: Scope) -> list[dict[str, Any]]:
    """SALES_FIELDS per day of the period at the scope's stores: the nightly facts (StoreDay) plus what was
    posted since (live), so a figure for a period that includes today includes today's sales."""
    facts = _store_days(scope).values("day").annotate(**{f: Sum(f) for f in SALES_FIELDS}).order_by("day")
    return [{"day": r["day"], **{f: int(r[f] or 0) for f in SALES_FIELDS}} for r in facts] + _unfolded_store_days(
        scope)


def sales_summary(scope: Scope) -> dict[str, Any]:
    """Sales in the scope (the nightly facts plus what was posted since: today's sales count).

    - net_sales: paid on sale receipts plus paid on returns (negative) made in the period, at those stores.
    - member_sales: the same for receipts with a member; vip_card_sales: for receipts on a card with
      privileges (elite, diamond, knight; not the accumulation card).
    - receipts / member_receipts: sale receipts (returns not counted).
    - average_receipt: paid on sale receipts / sale receipts (returns excluded: the ticket as rung up);
      member_average_receipt likewise for members' receipts.
    - vip_share: member_sales / net_sales (DOMAIN "VIP share of sales": the share of sales that comes from
      members), compared with VIP_SHARE_TARGET (half); vip_card_share: vip_card_sales / net_sales.
    - new_members: members registered at those stores in the period.
    """
    t = {f: 0 for f in SALES_FIELDS}
    for row in _sales_days(scope):
        for f in SALES_FIELDS:
            t[f] += row[f]
    net = t["sales_cents"] + t["returns_cents"]
    member_net = t["member_sales_cents"] + t["member_returns_cents"]
    vip_net = t["vip_sales_cents"] + t["vip_returns_cents"]
    return {
        "net_sales": money(net), "member_sales": money(member_net), "vip_card_sales": money(vip_net),
        "returns": money(t["returns_cents"]),
        "receipts": t["receipts"], "member_receipts": t["member_receipts"],
        "average_receipt": money(round(t["sales_cents"] / t["receipts"])) if t["receipts"] else None,
        "member_average_receipt": (money(round(t["member_sales_cents"] / t["member_receipts"]))
                                   if t["member_receipts"] else None),
        "vip_share": rate(member_net, net) if net > 0 else None,
        "vip_card_share": rate(vip_net, net) if net > 0 else None,
        "vip_share_target": VIP_SHARE_TARGET,
        "new_members": t["new_members"],
    }


def sales_by_week(scope: Scope) -> list[dict[str, Any]]:
    """Per week (Monday first) of the period: net sales, member net sales, their share, new members."""
    weeks: dict[dt.date, dict[str, int]] = {}
    for row in _sales_days(scope):
        w = weeks.setdefault(week_start(row["day"]), defaultdict(int))
        for f in SALES_FIELDS:
            w[f] += row[f]
    day, out = week_start(scope.start), []
    while day <= scope.end:
        w = weeks.get(day, defaultdict(int))
        net = w["sales_cents"] + w["returns_cents"]
        member = w["member_sales_cents"] + w["member_returns_cents"]
        out.append({"week": day, "net_sales": money(net), "member_sales": money(member),
                    "vip_share": rate(member, net) if net > 0 else None, "receipts": w["receipts"],
                    "new_members": w["new_members"]})
        day += dt.timedelta(days=7)
    return out
