"""The measures the business watches (DOMAIN.md "Measures the business watches"), read from the facts
(analytics.models, filled by analytics.facts) so that the whole chain answers in well under a second.

A `Scope` is a set of stores (None: the whole chain) and a period of local days [start, end] (inclusive).
Sales are attributed to the store of the receipt; member counts, segments, points balance and cohorts to
the member's registration store (Member.home_store). Money is Decimal yuan (2 places); rates are Decimal
shares in [0, 1] (None when the denominator is zero).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Max, Q, Sum
from django.utils import timezone

from .models import PointsDay, SegmentDay, SegmentMove, StoreDay
from .sql import add_months
from .sql import as_date as sql_date

CENT = Decimal("0.01")
VIP_SHARE_TARGET = Decimal("0.5")  # the playbook (seed 001): members' sales should be over half of all sales
ACTIVE_BASE = ("new", "active", "dormant")
CHURNED = ("sleeping", "lost")


@dataclass(frozen=True)
class Scope:
    store_ids: tuple[int, ...] | None  # None: the chain
    start: dt.date
    end: dt.date

    def stores_q(self, field: str = "store_id") -> Q:
        return Q() if self.store_ids is None else Q(**{f"{field}__in": list(self.store_ids)})


def money(cents: int | None) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def rate(part: int | Decimal | None, whole: int | Decimal | None, places: str = "0.0001") -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(Decimal(places))


def percent(value: Decimal | None) -> Decimal | None:
    """A share as a percentage with one decimal, half up (0.8125 -> 81.3)."""
    return None if value is None else (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# ---- sales ------------------------------------------------------------------------------------------------

SALES_FIELDS = ["sales_cents", "returns_cents", "receipts", "member_sales_cents", "member_returns_cents",
                "member_receipts", "vip_sales_cents", "vip_returns_cents", "new_members"]


def _store_days(scope: Scope):
    return StoreDay.objects.filter(scope.stores_q(), day__gte=scope.start, day__lte=scope.end)


def _unfolded_store_days(scope: Scope) -> list[dict[str, Any]]:
    """Per day of the period, SALES_FIELDS of the receipts and members not folded into StoreDay yet (ids above
    its cursors: posted since the nightly run), at the scope's stores, computed as StoreDay computes them."""
    from .facts import _storeday_select
    from .models import AnalyticsCursor
    from .sql import as_date, fetch, placeholders

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


# ---- points -------------------------------------------------------------------------------------------------

def _unfolded_points(scope: Scope, *, after: dt.date | None = None) -> list[tuple[dt.date, str, int]]:
    """(local day, kind, points) of the ledger entries not folded into PointsDay yet (ids above its cursor, and
    the holes below it), attributed to a store as PointsDay does, at the scope's stores; days in the period,
    or after `after` when given. The live part of a figure: a redemption made a minute ago counts."""
    from .models import AnalyticsCursor
    from .sql import fetch, localday, placeholders

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
    from .sql import fetch, placeholders

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
    from .sql import day_bounds, fetch, placeholders, ts

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
    (kind reverse); expired (kind expire); adjusted = manual adjustments (kind adjust, signed).
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


def members_registered(scope: Scope) -> int:
    """Members registered at the scope's stores (Member.home_store) by the end of the period, live."""
    from membercare.members.models import Member

    from .sql import day_bounds

    _begin, stop = day_bounds(scope.end, scope.end)
    return Member.objects.filter(scope.stores_q("home_store_id"), created_at__lt=stop).count()


# ---- segments, tiers, repurchase -------------------------------------------------------------------------

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


# ---- care tasks --------------------------------------------------------------------------------------------

# The one definition of a clerk's or a store's on-time rate (DOMAIN "tasks due and done on time per clerk and
# store"), used by the dashboards (chain, manager, a clerk's own), the store monthly report and its .xlsx, and
# the store task view:
#   due      = care tasks not cancelled whose due day is in the period and has come (on or before today);
#   on time  = those of them done on or before their due day (local day of done_at);
#   late     = those done after their due day; overdue = still open, due before today;
#   open     = still open among the due: overdue, or due today (not late yet);
#   on-time rate = on time / due (None when nothing is due).
# "not_yet_due" (open and due today or later in the period: the store task view's workload) is shown beside;
# tasks due after today are never counted as due.
# Counted live from the tasks (indexed by store or assignee, status and due day), so a task done a minute ago
# counts at once on every page.
TASK_FIELDS = ("due", "on_time", "late", "overdue", "open", "not_yet_due")


def _task_rows(group: str, *, store_ids: tuple[int, ...] | None, assignee_id: int | None, start: dt.date,
               end: dt.date, today: dt.date) -> list[tuple]:
    """(group value, *TASK_FIELDS) per `group` ("assignee_id" or "due_on")."""
    from .sql import fetch, localday, placeholders

    done_day = localday("t.done_at")
    came = "t.due_on <= %s"
    # status IN (open, done), not <> cancelled: an equality the (store | assignee, status, due_on) indexes range on
    where, params = ["t.status IN ('open', 'done')", "t.due_on >= %s", "t.due_on <= %s"], [start, end]
    if store_ids is None and assignee_id is None:  # the chain: every store, so the store index serves
        from membercare.org.models import Store

        store_ids = tuple(Store.objects.values_list("pk", flat=True))
    if store_ids is not None:
        if not store_ids:
            return []
        where.append(f"t.store_id IN ({placeholders(list(store_ids))})")
        params += list(store_ids)
    if assignee_id is not None:
        where.append("t.assignee_id = %s")
        params.append(assignee_id)
    counts = [
        f"SUM(CASE WHEN {came} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {came} AND t.status = 'done' AND {done_day} <= t.due_on THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {came} AND t.status = 'done' AND {done_day} > t.due_on THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN t.status = 'open' AND t.due_on < %s THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {came} AND t.status = 'open' THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN t.status = 'open' AND t.due_on >= %s THEN 1 ELSE 0 END)",
    ]
    return fetch(f"SELECT t.{group}, {', '.join(counts)} FROM care_task t WHERE {' AND '.join(where)} "
                 f"GROUP BY t.{group}", [today] * 6 + params)


def _task_line(row: tuple) -> dict[str, Any]:
    line = {f: int(v or 0) for f, v in zip(TASK_FIELDS, row[1:], strict=True)}
    line["on_time_rate"] = rate(line["on_time"], line["due"])
    return line


def tasks_by_clerk(scope: Scope, assignee_id: int | None = None, *,
                   staff_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Care tasks at the scope's stores with a due day in the period, per assignee (the definition above):
    due, on_time, late, overdue, open, not_yet_due, on_time_rate. Sorted by assignee name; assignee None = tasks
    nobody was assigned. `staff_ids`: people given a line even with no task (a store's clerks)."""
    from membercare.org.models import Staff

    today = timezone.localdate()
    rows = {r[0]: _task_line(r) for r in _task_rows("assignee_id", store_ids=scope.store_ids,
                                                    assignee_id=assignee_id, start=scope.start, end=scope.end,
                                                    today=today)}
    for pk in staff_ids or []:
        rows.setdefault(pk, _task_line((pk, 0, 0, 0, 0, 0, 0)))
    names = {s.pk: str(s) for s in Staff.objects.filter(pk__in=[pk for pk in rows if pk])}
    out = [{"assignee_id": pk, "name": names.get(pk, ""), **line} for pk, line in rows.items()]
    return sorted(out, key=lambda r: (r["assignee_id"] is None, r["name"], r["assignee_id"] or 0))


def task_totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The lines of tasks_by_clerk (or clerk_tasks_by_week) summed, with the on-time rate of the sums."""
    total = {f: sum(line[f] for line in lines) for f in TASK_FIELDS}
    total["on_time_rate"] = rate(total["on_time"], total["due"])
    return total


# ---- other apps' tiles ---------------------------------------------------------------------------------------

def complaint_tile(scope: Scope, stores: list) -> dict[str, Any]:
    """Complaints opened, closed, open, overdue and the time to resolve (service.selectors.complaint_stats)."""
    from membercare.service.selectors import complaint_stats

    return complaint_stats(stores, scope.start, scope.end)


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

    from .models import CampaignFact

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


# ---- a clerk's own work (live: a clerk's rows are few and indexed) --------------------------------------------

def clerk_sales(clerk_id: int, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The clerk's own receipts (Receipt.clerk) in the period: net sales, sale receipts, members' net sales
    and their share, average receipt (as sales_summary)."""
    from django.db.models import Count

    from membercare.sales.models import Receipt

    from .sql import day_bounds

    begin, stop = day_bounds(start, end)
    t = Receipt.objects.filter(clerk_id=clerk_id, sold_at__gte=begin, sold_at__lt=stop).aggregate(
        net=Sum("total_paid"), sales=Sum("total_paid", filter=Q(original__isnull=True)),
        receipts=Count("pk", filter=Q(original__isnull=True)),
        member_net=Sum("total_paid", filter=Q(member__isnull=False)))
    net, member_net = Decimal(t["net"] or 0), Decimal(t["member_net"] or 0)
    return {"net_sales": net.quantize(CENT), "member_sales": member_net.quantize(CENT), "receipts": t["receipts"],
            "average_receipt": (Decimal(t["sales"] or 0) / t["receipts"]).quantize(CENT) if t["receipts"] else None,
            "vip_share": rate(member_net, net) if net > 0 else None}


def clerk_tasks_by_week(clerk_id: int, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The clerk's care tasks (assigned to her, at every store) per week (Monday first) of the period up to
    today, by the one definition of the care tasks' section above."""
    today = timezone.localdate()
    weeks: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _task_rows("due_on", store_ids=None, assignee_id=clerk_id, start=start, end=min(end, today),
                          today=today):
        w = weeks[week_start(sql_date(row[0]))]
        for f, v in zip(TASK_FIELDS, row[1:], strict=True):
            w[f] += int(v or 0)
    out, day = [], week_start(start)
    while day <= min(end, today):
        w = weeks.get(day, {})
        line = {f: w.get(f, 0) for f in TASK_FIELDS}
        out.append({"week": day, **line, "on_time_rate": rate(line["on_time"], line["due"])})
        day += dt.timedelta(days=7)
    return out


def clerk_members(clerk_id: int) -> dict[str, int]:
    """Members the clerk owns (Member.owner), by current lifecycle ("" = segments not computed yet)."""
    from django.db.models import Count

    from membercare.members.models import Member

    rows = Member.objects.filter(owner_id=clerk_id).values("segments__lifecycle").annotate(n=Count("pk"))
    return {r["segments__lifecycle"] or "": r["n"] for r in rows}


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
