"""A clerk's own work, read live (a clerk's rows are few and indexed): sales, tasks by week, members."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from ..sql import as_date as sql_date
from .base import CENT, rate, week_start
from .tasks import TASK_FIELDS, _task_rows


def clerk_sales(clerk_id: int, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The clerk's own receipts (Receipt.clerk) in the period: net sales, sale receipts, members' net sales
    and their share, average receipt (as sales_summary)."""
    from django.db.models import Count

    from membercare.sales.models import Receipt

    from ..sql import day_bounds

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
