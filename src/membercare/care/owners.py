"""The relationship owner re-derived from who serves the member (issue 20, part 4; seed 000: 关系最亲密的导购).

Once a month (the daily job's "owners" step on `owners.rederive.day_of_month`, or its first run after that day)
every member's owner becomes the clerk who made out most of their sale receipts (returns excluded) in the last
`window_days` days (care settings, default 365); a tie goes to the clerk who served them most recently (then
the higher staff id, so the result never depends on the order rows come in). Only clerks who can receive tasks
count (active, working at an active store); a member with no such receipt in the window keeps their owner;
a member whose owner a manager pinned (care.OwnerPin) is left alone; erased members are skipped.

It is set-based SQL (1,000,000 members in production): one grouped query over the window's receipts ranks the
clerks per member (ROW_NUMBER) into a temporary table of the members whose owner changes; from it one INSERT
logs every change (care.OwnerChange: old owner, new owner, when, why, the receipts counted), one UPDATE sets
Member.owner and one UPDATE moves the member's open care tasks to the new owner (a store manager's review of
a win-back, care.plans, stays with the manager). The log shows on the member's timeline.

A manager of the member's registration store (or HQ) pins an owner on the member's profile (`owner_pin`,
logged, tasks follow too) and unpins it (`owner_unpin`, logged); the next monthly run then re-derives it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core import sql
from membercare.core.permissions import require
from membercare.core.timeline import TimelineEvent
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .access import CareError, can_manage_store_tasks, is_chain_wide
from .models import DailyRun, OwnerChange, OwnerPin, Task, TaskStatus
from .rules.base import fires
from .rules.lifecycle import month_day

logger = logging.getLogger(__name__)

STEP = "owners"
TZ = ZoneInfo("Asia/Shanghai")
KEEP_RULES = ("winback_review",)  # tasks that stay with whoever has them when the owner changes
MOVES = "care_tmp_owner_moves"


def owner_settings(config: dict[str, Any]) -> dict[str, Any]:
    return config.get("owners", {}).get("rederive", {})


def _previous_step(day: dt.date) -> dt.date | None:
    return DailyRun.objects.filter(day__lt=day, steps__has_key=STEP).aggregate(last=Max("day"))["last"]


def owners_step(day: dt.date, config: dict[str, Any]) -> int:
    """The daily job's step: re-derive on the month's `day_of_month` (or the first run after it); returns the
    number of members whose owner changed (0 on the other days)."""
    s = owner_settings(config)
    if not s.get("enabled", True):
        return 0
    if not fires(month_day(day, int(s.get("day_of_month", 1))), day, _previous_step(day)):
        return 0
    return rederive_owners(day, window_days=int(s.get("window_days", 365)))


def _dt_param(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _valid_clerks_sql() -> str:
    staff, stores = Staff._meta.db_table, Store._meta.db_table
    through = Staff.stores.through._meta.db_table
    return (f"SELECT s.id FROM {staff} s WHERE s.is_active AND EXISTS (SELECT 1 FROM {through} ss "
            f"JOIN {stores} st ON st.id = ss.store_id WHERE ss.staff_id = s.id AND st.is_active)")


@transaction.atomic
def rederive_owners(day: dt.date, *, window_days: int = 365) -> int:
    """Set every unpinned member's owner to the clerk who served them most in the `window_days` days before
    `day` (see the module docstring); returns the number of members whose owner changed."""
    if not 1 <= int(window_days) <= 3650:
        raise ValueError("window_days out of range")
    start = dt.datetime.combine(day - dt.timedelta(days=int(window_days)), dt.time(), tzinfo=TZ)
    end = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
    member, task = Member._meta.db_table, Task._meta.db_table
    moved = sql.temp_table(MOVES, f"""
        SELECT b.member_id, m.owner_id AS old_owner_id, b.clerk_id AS new_owner_id, b.n AS receipts
        FROM (SELECT c.member_id, c.clerk_id, c.n,
                     ROW_NUMBER() OVER (PARTITION BY c.member_id
                                        ORDER BY c.n DESC, c.last_at DESC, c.clerk_id DESC) AS rk
              FROM (SELECT r.member_id, r.clerk_id, COUNT(*) AS n, MAX(r.sold_at) AS last_at
                    FROM sales_receipt r
                    WHERE r.sold_at >= %s AND r.sold_at < %s AND r.original_id IS NULL
                      AND r.member_id IS NOT NULL AND r.clerk_id IN ({_valid_clerks_sql()})
                    GROUP BY r.member_id, r.clerk_id) c) b
        JOIN {member} m ON m.id = b.member_id
        WHERE b.rk = 1 AND m.erased_at IS NULL AND (m.owner_id IS NULL OR m.owner_id <> b.clerk_id)
          AND NOT EXISTS (SELECT 1 FROM {OwnerPin._meta.db_table} p WHERE p.member_id = b.member_id)""",
                           [_dt_param(start), _dt_param(end)], log=logger)
    if connection.vendor == "sqlite":  # CREATE TABLE AS reports no row count there
        moved = sql.fetch(f"SELECT COUNT(*) FROM {MOVES}")[0][0]
    if not moved:
        return 0
    sql.execute(f"CREATE INDEX {MOVES}_member ON {MOVES} (member_id)")
    sql.execute(f"""
        INSERT INTO {OwnerChange._meta.db_table}
               (member_id, old_owner_id, new_owner_id, at, why, by_id, receipts, window_days)
        SELECT member_id, old_owner_id, new_owner_id, %s, %s, NULL, receipts, %s FROM {MOVES}""",
                [_dt_param(timezone.now()), OwnerChange.Why.SERVED_MOST, int(window_days)], log=logger)
    keep = ", ".join(["%s"] * len(KEEP_RULES))
    if sql.pg():
        sql.execute(f"UPDATE {member} m SET owner_id = t.new_owner_id FROM {MOVES} t WHERE m.id = t.member_id",
                    log=logger)
        sql.execute(f"""UPDATE {task} k SET assignee_id = t.new_owner_id FROM {MOVES} t
                        WHERE k.member_id = t.member_id AND k.status = %s AND k.rule NOT IN ({keep})""",
                    [TaskStatus.OPEN, *KEEP_RULES], log=logger)
    else:
        sql.execute(f"""UPDATE {member} SET owner_id = (SELECT t.new_owner_id FROM {MOVES} t
                        WHERE t.member_id = {member}.id) WHERE id IN (SELECT member_id FROM {MOVES})""")
        sql.execute(f"""UPDATE {task} SET assignee_id = (SELECT t.new_owner_id FROM {MOVES} t
                        WHERE t.member_id = {task}.member_id)
                        WHERE status = %s AND rule NOT IN ({keep}) AND member_id IN (SELECT member_id FROM {MOVES})""",
                    [TaskStatus.OPEN, *KEEP_RULES])
        sql.execute(f"DROP TABLE {MOVES}")
    return int(moved)


# -------------------------------------------------------------------------------------- pinning


def can_pin_owner(user: Staff, member: Member) -> bool:
    """The manager of the member's registration store, or HQ."""
    return can_manage_store_tasks(user, member.home_store)


def owner_candidates(user: Staff, member: Member) -> QuerySet[Staff]:
    """Whom `user` may pin as the member's owner: active staff working at an active store (of `user`'s stores
    unless `user` is HQ)."""
    qs = Staff.objects.filter(is_active=True, stores__is_active=True)
    if not is_chain_wide(user):
        qs = qs.filter(stores__in=user.stores.all())
    return Staff.objects.filter(pk__in=qs.values("pk")).order_by("display_name", "username")


def _move_open_tasks(member: Member, owner: Staff | None) -> int:
    return (Task.objects.filter(member=member, status=TaskStatus.OPEN).exclude(rule__in=KEEP_RULES)
            .update(assignee=owner))


@transaction.atomic
def owner_pin(*, member: Member, owner: Staff, by: Staff) -> OwnerPin:
    """Pin `owner` as the member's relationship owner: the monthly re-derivation leaves the member alone; the
    member's open tasks go to the owner; logged."""
    require(can_pin_owner(by, member))
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not owner_candidates(by, member).filter(pk=owner.pk).exists():
        raise CareError("owner_other_store", _("%(name)s cannot be the owner: choose an active colleague of "
                                               "your stores.") % {"name": owner}, "owner")
    old = member.owner_id
    now = timezone.now()
    if old != owner.pk:
        Member.objects.filter(pk=member.pk).update(owner=owner)
        _move_open_tasks(member, owner)
    OwnerChange.objects.create(member=member, old_owner_id=old, new_owner=owner, at=now,
                               why=OwnerChange.Why.PINNED, by=by)
    pin, _created = OwnerPin.objects.update_or_create(member=member, defaults={"pinned_by": by, "pinned_at": now})
    return pin


@transaction.atomic
def owner_unpin(*, member: Member, by: Staff) -> None:
    """Remove the pin: the next monthly run re-derives the owner. Logged."""
    require(can_pin_owner(by, member))
    deleted, _rows = OwnerPin.objects.filter(member=member).delete()
    if not deleted:
        raise CareError("not_pinned", _("The owner of this member is not pinned."), "owner")
    OwnerChange.objects.create(member=member, old_owner_id=member.owner_id, new_owner_id=member.owner_id,
                               at=timezone.now(), why=OwnerChange.Why.UNPINNED, by=by)


# ---------------------------------------------------------------------------------------- reads


def owner_panel(member: Member, user: Staff) -> dict[str, Any]:
    """What the profile shows: the pin (who, when), whether `user` may pin, and whom."""
    pin = OwnerPin.objects.select_related("pinned_by").filter(member=member).first()
    allowed = can_pin_owner(user, member)
    return {"pin": pin, "can_pin": allowed,
            "candidates": list(owner_candidates(user, member)) if allowed else []}


def owner_change_text(change: OwnerChange) -> tuple[str, str]:
    """(title, detail) of one change, for the timeline."""
    old, new = change.old_owner or "—", change.new_owner or "—"
    if change.why == OwnerChange.Why.SERVED_MOST:
        return (_("Relationship owner: %(old)s → %(new)s") % {"old": old, "new": new},
                _("Served the member most: %(n)d receipts in %(days)d days") % {
                    "n": change.receipts, "days": change.window_days})
    if change.why == OwnerChange.Why.PINNED:
        return (_("Relationship owner pinned: %(new)s") % {"new": new},
                _("By %(who)s (was %(old)s)") % {"who": change.by or "—", "old": old})
    return (_("Relationship owner unpinned: %(new)s") % {"new": new}, _("By %(who)s") % {"who": change.by or "—"})


def member_owner_events(member: Member, limit: int) -> list[TimelineEvent]:
    """The member's owner history for the timeline (registered as the "owner" source)."""
    changes = (OwnerChange.objects.filter(member=member).select_related("old_owner", "new_owner", "by")
               .order_by("-at", "-pk")[:limit])
    events = []
    for change in changes:
        title, detail = owner_change_text(change)
        events.append(TimelineEvent(at=change.at, kind="owner", title=title, detail=detail,
                                    extra={"why": change.why}))
    return events
