"""The care tasks' measures: due, on time, late, overdue and open, per clerk and in total."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from .base import Scope, rate

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
    from ..sql import fetch, localday, placeholders

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
