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

from .models import PointsDay, SegmentDay, SegmentMove, StoreDay, TaskDay
from .sql import add_months

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


def sales_summary(scope: Scope) -> dict[str, Any]:
    """Sales in the scope.

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
    t = _store_days(scope).aggregate(**{f: Sum(f) for f in SALES_FIELDS})
    t = {k: int(v or 0) for k, v in t.items()}
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
    rows = _store_days(scope).values("day").annotate(**{f: Sum(f) for f in SALES_FIELDS}).order_by("day")
    for row in rows:
        w = weeks.setdefault(week_start(row["day"]), defaultdict(int))
        for f in SALES_FIELDS:
            w[f] += int(row[f] or 0)
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

def points_summary(scope: Scope, point_value: Decimal | None = None) -> dict[str, Any]:
    """Points in the period from the ledger (loyalty PointsEntry, by the day the entry was made; an entry of a
    sale or return belongs to the receipt's store, any other to the member's registration store):
    issued = earned (kind earn: purchases and non-purchase actions); redeemed = spent (kind redeem, as a
    positive number) minus what returns refunded (kind refund); reversed = taken back by returns (kind
    reverse); expired (kind expire); adjusted = manual adjustments (kind adjust, signed).
    outstanding = the members' points balance (LoyaltyAccount) on the last snapshot on or before the end of
    the period (analytics SegmentDay "points"), and liability = outstanding x `point_value` (yuan per point
    as a cash offset, from the programme) when given."""
    by_kind = {r["kind"]: int(r["p"] or 0) for r in PointsDay.objects.filter(
        scope.stores_q(), day__gte=scope.start, day__lte=scope.end).values("kind").annotate(p=Sum("points"))}
    snapshot = _snapshot(scope, "points")
    outstanding = int(snapshot.get("balance", 0))
    return {
        "issued": by_kind.get("earn", 0),
        "redeemed": -by_kind.get("redeem", 0) - by_kind.get("refund", 0),
        "reversed": -by_kind.get("reverse", 0),
        "expired": -by_kind.get("expire", 0),
        "adjusted": by_kind.get("adjust", 0),
        "outstanding": outstanding,
        "holders": int(snapshot.get("holders", 0)),
        "liability": (Decimal(outstanding) * point_value).quantize(CENT) if point_value is not None else None,
    }


def points_by_month(scope: Scope) -> list[dict[str, Any]]:
    """Per calendar month of the period: points issued and redeemed (as in points_summary)."""
    months: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in PointsDay.objects.filter(scope.stores_q(), day__gte=scope.start, day__lte=scope.end).values(
            "day", "kind").annotate(p=Sum("points")):
        months[row["day"].replace(day=1)][row["kind"]] += int(row["p"] or 0)
    out, month = [], scope.start.replace(day=1)
    while month <= scope.end:
        k = months.get(month, {})
        out.append({"month": month, "issued": k.get("earn", 0),
                    "redeemed": -k.get("redeem", 0) - k.get("refund", 0)})
        month = add_months(month, 1)
    return out


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
    """Members registered at the stores, on the last snapshot on or before the end of the period:
    by card tier (best active card; "" = no active card), lifecycle (care segments: new, active, dormant,
    sleeping, lost, prospect), value pyramid, ABC spend class, follow-up class and seed 004's seven flags.
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
    members = dims.get("members", {}).get("all", 0)
    tiers = dict(dims.get("tier", {}))
    tiers[""] = members - sum(n for k, n in tiers.items() if k)
    out.update({
        "members": members, "tier": tiers, "lifecycle": dims.get("lifecycle", {}),
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

def tasks_by_clerk(scope: Scope, assignee_id: int | None = None) -> list[dict[str, Any]]:
    """Care tasks due in the period (up to today) per assignee, at the stores: due (not cancelled), done on
    time (done on or before the due day), done late, still open; on_time_rate = on time / due. Sorted by
    assignee name; assignee None = tasks nobody was assigned."""
    from membercare.org.models import Staff

    end = min(scope.end, timezone.localdate())
    rows = TaskDay.objects.filter(scope.stores_q(), due_on__gte=scope.start, due_on__lte=end)
    if assignee_id is not None:
        rows = rows.filter(assignee_id=assignee_id)
    grouped = rows.values("assignee_id").annotate(due=Sum("due"), on_time=Sum("on_time"), late=Sum("late"),
                                                  open=Sum("open"))
    names = {s.pk: str(s) for s in Staff.objects.filter(pk__in=[g["assignee_id"] for g in grouped if g["assignee_id"]])}
    out = [{"assignee_id": g["assignee_id"], "name": names.get(g["assignee_id"], ""), "due": int(g["due"]),
            "on_time": int(g["on_time"]), "late": int(g["late"]), "open": int(g["open"]),
            "on_time_rate": rate(g["on_time"], g["due"])} for g in grouped]
    return sorted(out, key=lambda r: (r["assignee_id"] is None, r["name"], r["assignee_id"] or 0))


# ---- other apps' tiles ---------------------------------------------------------------------------------------

def complaint_tile(scope: Scope, stores: list) -> dict[str, Any]:
    """Complaints opened, closed, open, overdue and the time to resolve (service.selectors.complaint_stats)."""
    from membercare.service.selectors import complaint_stats

    return complaint_stats(stores, scope.start, scope.end)


def campaign_tile(scope: Scope, stores: list) -> list[dict[str, Any]]:
    """Campaigns running in the period with their chain-wide results as of the last nightly run (CampaignFact;
    the campaign results page has them live and per store). A store or region scope (a manager, a filter)
    sees the coupon batches of its stores' brands and the events held at its stores; bulk sends are HQ's."""
    from django.utils.translation import gettext

    from membercare.campaigns.selectors import KIND_LABELS

    from .models import CampaignFact

    facts = CampaignFact.objects.filter(window_start__lte=scope.end, window_end__gte=scope.start)
    if scope.store_ids is not None:
        ids = set(scope.store_ids)
        brands = {s.brand_id for s in stores}  # a batch is redeemed at its own brand's stores only
        facts = [f for f in facts.exclude(kind="bulk")
                 if (f.kind == "coupon" and f.brand_id in brands)
                 or (f.kind == "event" and (ids & set(f.store_ids) or (not f.store_ids and f.brand_id in brands)))]
    rows = []
    for f in sorted(facts, key=lambda f: (f.window_start, f.pk), reverse=True)[:20]:
        r = f.result
        rows.append({gettext("Kind"): KIND_LABELS.get(f.kind, f.kind), gettext("Campaign"): f.name,
                     gettext("Reached"): r.get("reached") or 0, gettext("Responded"): r.get("responded") or 0,
                     gettext("Sales"): Decimal(r.get("sales") or 0),
                     gettext("Per member"): r.get("per_member") or "—",
                     gettext("Hold-out per member"): r.get("holdout_per_member") or "—"})
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
    """The clerk's care tasks due per week (Monday first) up to today, counted live as TaskDay counts them:
    due (not cancelled), done on time (done on or before the due day, local), done late, open."""
    from membercare.care.models import Task, TaskStatus

    end = min(end, timezone.localdate())
    weeks: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    tasks = Task.objects.filter(assignee_id=clerk_id, due_on__gte=start, due_on__lte=end).exclude(
        status=TaskStatus.CANCELLED)
    for due_on, status, done_at in tasks.values_list("due_on", "status", "done_at"):
        w = weeks[week_start(due_on)]
        w["due"] += 1
        if status == TaskStatus.DONE and done_at is not None:
            w["on_time" if timezone.localtime(done_at).date() <= due_on else "late"] += 1
        elif status == TaskStatus.OPEN:
            w["open"] += 1
    out, day = [], week_start(start)
    while day <= end:
        w = weeks.get(day, {})
        out.append({"week": day, "due": w.get("due", 0), "on_time": w.get("on_time", 0), "late": w.get("late", 0),
                    "open": w.get("open", 0), "on_time_rate": rate(w.get("on_time", 0), w.get("due", 0))})
        day += dt.timedelta(days=7)
    return out


def clerk_members(clerk_id: int) -> dict[str, int]:
    """Members the clerk owns (Member.owner), by current lifecycle ("" = segments not computed yet)."""
    from django.db.models import Count

    from membercare.members.models import Member

    rows = Member.objects.filter(owner_id=clerk_id).values("segments__lifecycle").annotate(n=Count("pk"))
    return {r["segments__lifecycle"] or "": r["n"] for r in rows}
