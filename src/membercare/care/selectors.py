"""Care reads: the clerk's task list, the manager's view of a store, contacts on the timeline, the member's
segments panel and the history of the care settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    DecimalField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.timeline import TimelineEvent
from membercare.loyalty.models import Card, CardStatus
from membercare.loyalty.programme import programme_at
from membercare.members.models import Member
from membercare.org.models import Role, Staff, Store
from membercare.sales.models import Receipt

from .catalogue import rule_label, script_hint
from .complaints import open_complaints_count as complaint_counts
from .config import DEFAULTS, merge
from .models import (
    SEGMENT_FIELD_NAMES,
    SEVEN_SEGMENTS,
    CareChannel,
    CareConfig,
    Contact,
    FollowUp,
    Lifecycle,
    MemberSegments,
    Outcome,
    Pyramid,
    SegmentSpan,
    SpendClass,
    Task,
    TaskStatus,
)


def card_order(programme=None) -> dict[str, int]:
    """Level code → its place when a member holds several cards, best first: the programme's levels by rank,
    highest first (within one rank the level listed later first: the default keeps 骑士卡 before 精英卡), then
    the accumulation card. A chain's own levels (普通卡/银卡/金卡/钻石卡) order as their ranks say."""
    programme = programme or programme_at()
    listed = list(programme.tiers)
    ordered = sorted(range(len(listed)), key=lambda i: (-listed[i].rank, -i))
    order = {listed[i].code: place for place, i in enumerate(ordered)}
    order.setdefault("accumulation", len(order))
    return order


def open_complaints_count(member_ids: list[int]) -> dict[int, int]:
    """Open complaints per member (service.selectors counts them; see care.complaints)."""
    return complaint_counts(member_ids)


@dataclass
class MemberFacts:
    card: str = ""
    last_purchase_on: dt.date | None = None
    clothing_size: str = ""
    shoe_size: str = ""
    tags: list[str] = field(default_factory=list)
    preferences: str = ""
    open_complaints: int = 0
    last_contact: Contact | None = None


@dataclass
class TaskRow:
    task: Task
    label: str
    hint: str
    overdue: bool
    days_overdue: int
    facts: MemberFacts

    @property
    def member(self) -> Member:
        return self.task.member


def _open_tasks_ordered(qs: QuerySet[Task], day: dt.date) -> QuerySet[Task]:
    return qs.filter(status=TaskStatus.OPEN, due_on__lte=day).annotate(
        is_overdue=Case(When(due_on__lt=day, then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("is_overdue", "priority", "due_on", "pk")


def _last_contact_ids() -> Subquery:
    return Subquery(Contact.objects.filter(member=OuterRef("member")).order_by("-at", "-pk").values("pk")[:1])


def task_rows(tasks: list[Task], day: dt.date) -> list[TaskRow]:
    """The tasks with their members' key facts, in a fixed number of queries (cards, last purchases, tags,
    last contacts), whatever the number of tasks."""
    member_ids = list({t.member_id for t in tasks})
    cards: dict[int, Card] = {}
    order = card_order()
    for card in Card.objects.filter(member_id__in=member_ids, status=CardStatus.ACTIVE).only(
            "member_id", "kind", "number"):
        best = cards.get(card.member_id)
        if best is None or order.get(card.kind, 99) < order.get(best.kind, 99):
            cards[card.member_id] = card
    last_purchase = dict(MemberSegments.objects.filter(member_id__in=member_ids, last_purchase_on__isnull=False)
                         .values_list("member_id", "last_purchase_on"))
    missing = [m for m in member_ids if m not in last_purchase]
    if missing:  # segments not computed yet for these members: read the receipts
        for member_id, at in (Receipt.objects.filter(member_id__in=missing, total_paid__gt=0)
                              .values("member_id").annotate(last=Max("sold_at")).values_list("member_id", "last")):
            last_purchase[member_id] = timezone.localtime(at).date()
    tags: dict[int, list[str]] = {}
    for member_id, name in Member.tags.through.objects.filter(member_id__in=member_ids).values_list(
            "member_id", "tag__name").order_by("tag__name"):
        tags.setdefault(member_id, []).append(name)
    contact_ids = [t.last_contact_id for t in tasks if getattr(t, "last_contact_id", None)]
    contacts = {c.member_id: c for c in Contact.objects.filter(pk__in=contact_ids).select_related("staff")}
    complaints = open_complaints_count(member_ids)
    programme = programme_at(day)  # the levels' names
    rows = []
    for task in tasks:
        member = task.member
        card = cards.get(member.pk)
        facts = MemberFacts(
            card=programme.label(card.kind) if card else "",
            last_purchase_on=last_purchase.get(member.pk),
            clothing_size=member.clothing_size, shoe_size=member.shoe_size,
            tags=tags.get(member.pk, []),
            preferences=_preferences(member),
            open_complaints=complaints.get(member.pk, 0),
            last_contact=contacts.get(member.pk),
        )
        hint = script_hint(task.rule, task.context)
        if task.rule == "follow_up" and task.context.get("next_step"):
            hint = f"{hint} {task.context['next_step']}"
        overdue_days = (day - task.due_on).days
        rows.append(TaskRow(task=task, label=rule_label(task.rule, task.context), hint=hint,
                            overdue=overdue_days > 0, days_overdue=max(overdue_days, 0), facts=facts))
    return rows


def _preferences(member: Member) -> str:
    parts = [f"{member.get_preferred_channel_display()} · {member.get_preferred_time_display()}"]
    for value in (member.first_purchase_style, member.personality, member.get_decision_style_display()):
        if value:
            parts.append(str(value))
    return " · ".join(parts)


def my_task_counts(staff: Staff, day: dt.date | None = None) -> dict[str, int]:
    day = day or timezone.localdate()
    return Task.objects.filter(assignee=staff, status=TaskStatus.OPEN).aggregate(
        overdue=Count("pk", filter=Q(due_on__lt=day)), today=Count("pk", filter=Q(due_on=day)),
        upcoming=Count("pk", filter=Q(due_on__gt=day, due_on__lte=day + dt.timedelta(days=7))),
    )


# ------------------------------------------------------------------------------------- the care list

BOARD_PAGE = 7  # members per page: under four screens at a counter tablet's 1024x768, a contact form open (7: cards
# with two or three reasons of the day are taller)


@dataclass
class MemberCard:
    """One member on the care list with all of today's open tasks: worked (one contact) as one."""

    rows: list[TaskRow]

    @property
    def primary(self) -> TaskRow:
        return self.rows[0]

    @property
    def others(self) -> list[TaskRow]:
        return self.rows[1:]

    @property
    def overdue(self) -> bool:
        return any(r.overdue for r in self.rows)

    @property
    def days_overdue(self) -> int:
        return max(r.days_overdue for r in self.rows)


@dataclass
class TaskBoard:
    cards: list[MemberCard]
    page: Any  # django.core.paginator.Page of member groups
    groups: list[tuple[str, str, int, int]]  # (rule, label, open tasks, of them by message) over the other filters
    channels: list[tuple[str, str, int]]  # (channel, label, open tasks)
    stores: list[tuple[int, str, int]]  # (store id, name, open tasks): a manager's or a clerk's several stores
    tasks: int  # open tasks under the filters
    filters: dict[str, str]


def _tier_rank() -> Subquery:
    ranks = [When(kind=kind, then=Value(rank)) for kind, rank in card_order().items()]
    return Subquery(Card.objects.filter(member_id=OuterRef("member_id"), status=CardStatus.ACTIVE)
                    .annotate(rank=Case(*ranks, default=Value(99), output_field=IntegerField()))
                    .order_by("rank").values("rank")[:1], output_field=IntegerField())


def task_board(staff: Staff, day: dt.date | None = None, *, rule: str = "", channel: str = "", due: str = "",
               store: int | None = None, page: int | str = 1, per_page: int = BOARD_PAGE) -> TaskBoard:
    """The clerk's open tasks due by `day`, one card per member, in the order a clerk calls: members with an
    overdue task first, then by the most urgent task's priority, the member's best card (card_order) and their
    spending in 12 months; filtered by rule, channel, due ("overdue" or "today") and store, paged by member.
    Counts per rule, channel and store for the filter chips. A fixed number of queries whatever the number of
    tasks."""
    day = day or timezone.localdate()
    base = Task.objects.filter(assignee=staff, status=TaskStatus.OPEN, due_on__lte=day)
    due_filter = Q(due_on__lt=day) if due == "overdue" else Q(due_on=day) if due == "today" else Q()
    rule_filter = Q(rule=rule) if rule else Q()
    channel_filter = Q(channel=channel) if channel else Q()
    store_filter = Q(store_id=store) if store else Q()
    by_message = Q(channel__in=[CareChannel.SMS, CareChannel.EMAIL, CareChannel.WECHAT])
    groups = [(r["rule"], rule_label(r["rule"], {}), r["n"], r["msgs"]) for r in
              base.filter(due_filter, channel_filter, store_filter).values("rule")
              .annotate(n=Count("pk"), msgs=Count("pk", filter=by_message)).order_by("-n", "rule")]
    channel_labels = dict(CareChannel.choices)
    channels = [(r["channel"], str(channel_labels.get(r["channel"], r["channel"])), r["n"]) for r in
                base.filter(due_filter, rule_filter, store_filter).values("channel").annotate(n=Count("pk"))
                .order_by("-n", "channel")]
    stores = [(r["store_id"], r["store__name"], r["n"]) for r in
              base.filter(due_filter, rule_filter, channel_filter).values("store_id", "store__name")
              .annotate(n=Count("pk")).order_by("store__name")]
    tasks = base.filter(due_filter, rule_filter, channel_filter, store_filter)
    spend = Subquery(MemberSegments.objects.filter(member_id=OuterRef("member_id")).values("spend_12m")[:1])
    members = (tasks.values("member_id").annotate(
        first_due=Min("due_on"), top=Min("priority"), n=Count("pk"))
        .annotate(tier=Coalesce(_tier_rank(), Value(999)),
                  value=Coalesce(spend, Value(0), output_field=DecimalField(max_digits=14, decimal_places=2)),
                  late=Case(When(first_due__lt=day, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("late", "top", "tier", "-value", "member_id"))
    paginator = Paginator(members, per_page)
    current = paginator.get_page(page)
    ids = [m["member_id"] for m in current.object_list]
    found = list(_open_tasks_ordered(tasks.filter(member_id__in=ids), day).select_related("member", "store")
                 .annotate(last_contact_id=_last_contact_ids()))  # in a card: overdue first, then by priority
    by_member: dict[int, list[TaskRow]] = {}
    for row in task_rows(found, day):
        by_member.setdefault(row.task.member_id, []).append(row)
    cards = [MemberCard(by_member[m]) for m in ids if m in by_member]
    return TaskBoard(cards=cards, page=current, groups=groups, channels=channels, stores=stores,
                     tasks=sum(n for r, _label, n, _m in groups if not rule or r == rule),
                     filters={"rule": rule, "channel": channel, "due": due, "store": str(store or "")})


def member_card(task: Task, also: list[int], day: dt.date | None = None) -> MemberCard:
    """The card of `task` with the member's other open tasks among `also` (a card shown again with errors)."""
    day = day or timezone.localdate()
    found = list(Task.objects.filter(Q(pk=task.pk) | Q(pk__in=also, member_id=task.member_id,
                                                      status=TaskStatus.OPEN))
                 .select_related("member", "store").annotate(last_contact_id=_last_contact_ids())
                 .order_by("priority", "due_on", "pk"))
    rows = task_rows(found, day)
    rows.sort(key=lambda r: r.task.pk != task.pk)  # the task the form posts to stays first
    return MemberCard(rows)


# ------------------------------------------------------------------------------------ the manager


def store_staff(store: Store) -> QuerySet[Staff]:
    """The active staff who work in the store (the people tasks can go to)."""
    return Staff.objects.filter(stores=store, is_active=True, role__in=(Role.CLERK, Role.MANAGER)).order_by(
        "role", "display_name", "username")


def store_open_tasks(store: Store, *, assignee_id: int | None = None, day: dt.date | None = None,
                     limit: int = 300) -> list[Task]:
    """The store's open tasks (overdue first), for the manager to reassign."""
    day = day or timezone.localdate()
    qs = Task.objects.filter(store=store, status=TaskStatus.OPEN).select_related("member", "assignee")
    if assignee_id == 0:
        qs = qs.filter(assignee__isnull=True)
    elif assignee_id:
        qs = qs.filter(assignee_id=assignee_id)
    tasks = list(qs.order_by("due_on", "priority", "pk")[:limit])
    for task in tasks:
        task.label = rule_label(task.rule, task.context)
        task.overdue = task.due_on < day
    return tasks


# ------------------------------------------------------------------------------------ the timeline


def contact_title(contact: Contact) -> str:
    channel = CareChannel(contact.channel).label if contact.channel in CareChannel.values else contact.channel
    outcome = Outcome(contact.outcome).label if contact.outcome in Outcome.values else contact.outcome
    return _("%(channel)s · %(outcome)s · %(staff)s") % {
        "channel": channel, "outcome": outcome, "staff": contact.staff or "—"}


def member_contact_events(member: Member, limit: int) -> list[TimelineEvent]:
    """Every logged contact, for the member's timeline (registered as the "contact" source)."""
    contacts = (Contact.objects.filter(member=member).select_related("staff", "task")
                .order_by("-at", "-pk")[:limit])
    events = []
    for c in contacts:
        detail = [c.notes] if c.notes else []
        if c.reason:
            detail.append(_("Reason: %(reason)s") % {"reason": c.get_reason_display()})
        if c.next_step or c.next_due_on:
            detail.append(_("Next step: %(step)s %(date)s") % {
                "step": c.next_step, "date": c.next_due_on.isoformat() if c.next_due_on else ""})
        events.append(TimelineEvent(
            at=c.at, kind="contact", title=contact_title(c), detail=" · ".join(d.strip() for d in detail),
            extra={"task": rule_label(c.task.rule, c.task.context) if c.task else "", "outcome": c.outcome},
        ))
    return events


# --------------------------------------------------------------------------------- segments panel


def _choice(enum, value: str) -> str:
    return str(enum(value).label) if value in enum.values else (value or "—")


def segment_labels(row: Any) -> dict[str, Any]:
    """What a segments row (current or a history span) says, in words."""
    return {
        "lifecycle": _choice(Lifecycle, row.lifecycle),
        "spend_class": _choice(SpendClass, row.spend_class) if row.spend_class else "—",
        "rfm": f"R{row.rfm_r} F{row.rfm_f} M{row.rfm_m}",
        "pyramid": _choice(Pyramid, row.pyramid) if row.pyramid else "—",
        "follow_up": _choice(FollowUp, row.follow_up),
        "flags": [str(label) for code, label in SEVEN_SEGMENTS if getattr(row, code, False)],
    }


def _history_from_spans(member: Member) -> list[Any]:
    return list(SegmentSpan.objects.filter(member=member).order_by("-valid_from", "-pk")[:60])


def member_segments_panel(member: Member) -> dict[str, Any]:
    """Current segments (or None before the first daily run) and their history, newest first."""
    current = MemberSegments.objects.filter(member=member).first()
    try:  # written alongside the segments job; fall back to the spans themselves
        from .segment_selectors import member_segment_history
    except ImportError:
        member_segment_history = None
    spans = list(member_segment_history(member)) if member_segment_history else _history_from_spans(member)
    history = []
    for span in spans:
        if not all(hasattr(span, name) for name in ("valid_from", *SEGMENT_FIELD_NAMES)):
            continue
        valid_to = getattr(span, "valid_to", None)  # the span ends the day before
        history.append({"valid_from": span.valid_from, "valid_to": valid_to,
                        "valid_until": valid_to - dt.timedelta(days=1) if valid_to else None, **segment_labels(span)})
    history.sort(key=lambda h: h["valid_from"], reverse=True)
    return {"current": current, "labels": segment_labels(current) if current else None, "history": history}


# ------------------------------------------------------------------------------ settings history


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, old, new) for each setting that differs, in the order of the settings."""
    a, b = _flatten(old), _flatten(new)
    return [(path, a.get(path), b.get(path)) for path in dict.fromkeys([*a, *b]) if a.get(path) != b.get(path)]


@dataclass
class ConfigVersion:
    version: CareConfig
    changes: list[tuple[str, Any, Any]]


def care_config_history(limit: int = 100) -> list[ConfigVersion]:
    """Every saved version, newest first, each with what it changed (old -> new) from the one before."""
    versions = list(CareConfig.objects.select_related("created_by").order_by("created_at", "pk"))
    entries = []
    previous = DEFAULTS
    for version in versions:
        tree = merge(DEFAULTS, version.params or {})
        entries.append(ConfigVersion(version, config_diff(previous, tree)))
        previous = tree
    return entries[::-1][:limit]
