"""Creating care tasks, idempotently: one primitive that every care rule uses.

`insert_select` is set-based: the rule gives a query (a QuerySet or raw SQL) that yields one row per task
with the columns

    t_member   the member's id
    t_key      what makes the task unique for the rule (a date, a period, an event id)
    t_due      the due date
    t_context  the rule-specific facts (a JSON object: JSONObject(...) in a QuerySet)
    t_assignee (optional) a staff id that overrides the assignment below

and this module wraps it in ``INSERT INTO care_task (...) SELECT ... ON CONFLICT (rule, member_id, key)
DO NOTHING`` (SQLite >= 3.24 and PostgreSQL), leaving out first the rows whose task exists (an anti-join on
the unique index: a rule that re-selects its whole window each day pays the assignment joins and the insert
only for the new rows), in member order (the indexes fill page by page), so a rule touching 100,000 members
is one statement, and a second run, or a run resumed after a crash, creates nothing twice. `create_tasks` is
the small variant for rules that compute a few rows in Python (bulk_create with ignore_conflicts).

Assignment (the same in both): the member's relationship owner (Member.owner) when that staff member is
active and still works at an active store; otherwise the store's StoreCareSettings.default_assignee (when
active); otherwise the manager of the member's home store (an active staff member with the manager role
in that store; the lowest id when there are several); otherwise nobody (the store's manager sees
unassigned tasks). The task's store is the member's home store. An erased member (membercare.privacy) gets
no task from either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store

from .models import StoreCareSettings, Task, TaskStatus

SOURCE_COLUMNS = ("t_member", "t_key", "t_due", "t_context")


@dataclass(frozen=True)
class TaskSpec:
    """What all tasks of one insert share: the rule, the day they are created, priority and channel."""

    rule: str
    day: dt.date
    priority: int = 50
    channel: str = "phone"

    @classmethod
    def from_settings(cls, rule: str, day: dt.date, settings: dict[str, Any]) -> TaskSpec:
        return cls(rule=rule, day=day, priority=int(settings.get("priority", 50)),
                   channel=str(settings.get("channel", "phone")))


def _tables() -> dict[str, str]:
    return {
        "task": Task._meta.db_table,
        "member": Member._meta.db_table,
        "staff": Staff._meta.db_table,
        "staff_stores": Staff.stores.through._meta.db_table,
        "store": Store._meta.db_table,
        "care_settings": StoreCareSettings._meta.db_table,
    }


def _assignment_joins() -> str:
    """LEFT JOINs that give, per member row `m`, the valid owner (ow), the store default (da), the manager (mg)."""
    t = _tables()
    works_at_active_store = (
        f"EXISTS (SELECT 1 FROM {t['staff_stores']} ss JOIN {t['store']} st ON st.id = ss.store_id "
        f"WHERE ss.staff_id = s.id AND st.is_active)"
    )
    return (
        f" LEFT JOIN (SELECT s.id FROM {t['staff']} s WHERE s.is_active AND {works_at_active_store}) ow"
        f" ON ow.id = m.owner_id"
        f" LEFT JOIN (SELECT cs.store_id, cs.default_assignee_id AS staff_id FROM {t['care_settings']} cs"
        f" JOIN {t['staff']} s ON s.id = cs.default_assignee_id WHERE s.is_active) da"
        f" ON da.store_id = m.home_store_id"
        f" LEFT JOIN (SELECT ss.store_id, MIN(s.id) AS staff_id FROM {t['staff']} s"
        f" JOIN {t['staff_stores']} ss ON ss.staff_id = s.id WHERE s.is_active AND s.role = %s"
        f" GROUP BY ss.store_id) mg ON mg.store_id = m.home_store_id"
    )


def insert_select(spec: TaskSpec, source: QuerySet | tuple[str, Sequence[Any]], *,
                  has_assignee: bool | None = None) -> int:
    """Insert one task per row of `source` (see the module docstring); returns the number created."""
    if isinstance(source, QuerySet):
        query = source.order_by()
        names = set(query.query.annotation_select) | set(query.query.values_select)
        missing = [c for c in SOURCE_COLUMNS if c not in names]
        if missing:
            raise ValueError(f"the task source lacks {', '.join(missing)}")
        if has_assignee is None:
            has_assignee = "t_assignee" in names
        inner_sql, inner_params = query.query.sql_with_params()
    else:
        inner_sql, inner_params = source
        has_assignee = bool(has_assignee)
    t = _tables()
    own = "src.t_assignee, " if has_assignee else ""
    sql = (
        f"INSERT INTO {t['task']} (rule, member_id, key, store_id, assignee_id, created_on, due_on, priority,"
        f" channel, context, status)"
        f" SELECT %s, src.t_member, src.t_key, m.home_store_id, COALESCE({own}ow.id, da.staff_id, mg.staff_id),"
        f" %s, src.t_due, %s, %s, src.t_context, %s"
        # the tasks already there are left out before the assignment joins (a rule re-selects its whole
        # window every day: 100,000 dormant members for a few new ones); ON CONFLICT still guards the race
        f" FROM (SELECT * FROM ({inner_sql}) s0 WHERE NOT EXISTS (SELECT 1 FROM {t['task']} x"
        f" WHERE x.rule = %s AND x.member_id = s0.t_member AND x.key = s0.t_key)) src"
        f" JOIN {t['member']} m ON m.id = src.t_member"
        f"{_assignment_joins()}"
        f" WHERE m.erased_at IS NULL"  # (also SQLite's need of a WHERE before ON CONFLICT after a SELECT)
        # in member order: the unique (rule, member, key) and (member, status) indexes are then filled
        # page after page instead of at random places (far fewer pages written, and logged, per row)
        f" ORDER BY src.t_member"
        f" ON CONFLICT (rule, member_id, key) DO NOTHING"
    )
    params = [spec.rule, spec.day, spec.priority, spec.channel, TaskStatus.OPEN, *inner_params, spec.rule,
              Role.MANAGER]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            cursor.execute("SET LOCAL jit = off")  # compiling these one-off plans costs more than it saves
            cursor.execute("SET LOCAL work_mem = '64MB'")  # the member-order sort of 100,000s of rows in memory
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


@dataclass
class NewTask:
    member_id: int
    key: str
    due_on: dt.date
    context: dict[str, Any] = field(default_factory=dict)
    assignee_id: int | None = None
    store_id: int | None = None  # the store whose list shows it (default: the member's home store)


def store_fallback_assignees(store_ids: Iterable[int]) -> dict[int, int | None]:
    """Per store: who gets a task whose member has no valid owner (the default assignee, else the manager)."""
    store_ids = set(store_ids)
    out: dict[int, int | None] = dict.fromkeys(store_ids)
    managers = (Staff.objects.filter(is_active=True, role=Role.MANAGER, stores__in=store_ids)
                .values_list("stores", "pk").order_by("pk"))
    for store_id, staff_id in managers:
        if store_id in store_ids and out.get(store_id) is None:
            out[store_id] = staff_id
    defaults = StoreCareSettings.objects.filter(store_id__in=store_ids, default_assignee__is_active=True)
    for store_id, staff_id in defaults.values_list("store_id", "default_assignee_id"):
        out[store_id] = staff_id
    return out


def working_staff() -> QuerySet:
    """Staff who can receive tasks: active and working at an active store (a subquery of ids)."""
    return Staff.objects.filter(is_active=True, stores__is_active=True).values("pk").distinct()


def valid_owner_ids(staff_ids: Iterable[int | None]) -> set[int]:
    """Of these staff ids, those that are active and still work at an active store."""
    ids = {s for s in staff_ids if s}
    return set(Staff.objects.filter(pk__in=ids, is_active=True, stores__is_active=True)
               .values_list("pk", flat=True).distinct())


def create_tasks(spec: TaskSpec, rows: Iterable[NewTask]) -> int:
    """The Python-list variant of `insert_select` (same assignment), for rules with a few rows."""
    rows = list({(r.member_id, r.key): r for r in rows}.values())
    if not rows:
        return 0
    members = dict(Member.objects.filter(pk__in={r.member_id for r in rows})
                   .values_list("pk", "home_store_id"))
    owners = dict(Member.objects.filter(pk__in=members).values_list("pk", "owner_id"))
    valid = valid_owner_ids(owners.values())
    fallback = store_fallback_assignees({*members.values(), *(r.store_id for r in rows if r.store_id)})
    existing = set(Task.objects.filter(rule=spec.rule, member_id__in=members,
                                       key__in={r.key for r in rows}).values_list("member_id", "key"))
    new = []
    for r in rows:
        if r.member_id not in members or (r.member_id, r.key) in existing:
            continue
        store_id = r.store_id or members[r.member_id]
        owner = owners.get(r.member_id)
        assignee = r.assignee_id or (owner if owner in valid else None) or fallback.get(store_id)
        new.append(Task(rule=spec.rule, key=r.key, member_id=r.member_id, store_id=store_id, assignee_id=assignee,
                        created_on=spec.day, due_on=r.due_on, priority=spec.priority, channel=spec.channel,
                        context=r.context, status=TaskStatus.OPEN))
    Task.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
