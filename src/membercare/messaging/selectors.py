"""Messaging reads: the outbox / delivery log search, cost per channel, a member's messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from membercare.core.timeline import TimelineEvent

from .config import messaging_config
from .models import Message, MessageStatus


def outbox_search(*, q: str = "", status: str = "", channel: str = "", category: str = "", bulk_id: int | None = None,
                  since: dt.date | None = None, until: dt.date | None = None,
                  store_ids: list[int] | None = None) -> QuerySet[Message]:
    """Messages, newest first. `q` matches the member's name or number, the address (phone/email) or the text."""
    qs = Message.objects.select_related("member", "bulk", "store").order_by("-created_at", "-pk")
    if q:
        qs = qs.filter(Q(member__name__startswith=q) | Q(member__member_no=q.upper()) | Q(to=q)
                       | Q(body__contains=q))
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if category:
        qs = qs.filter(category=category)
    if bulk_id:
        qs = qs.filter(bulk_id=bulk_id)
    if since:
        qs = qs.filter(created_at__date__gte=since)
    if until:
        qs = qs.filter(created_at__date__lte=until)
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    return qs


def cost_by_channel(*, since: dt.date, until: dt.date) -> list[dict]:
    """Per channel: messages sent, billed units (SMS segments of 70 characters) and cost in yuan."""
    config = messaging_config()
    rows = (Message.objects.filter(status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
                                   sent_at__date__gte=since, sent_at__date__lte=until)
            .values("channel").annotate(messages=Count("pk"), units=Sum("segments")).order_by("channel"))
    out = []
    for row in rows:
        units = int(row["units"] or 0)
        price = Decimal(str(config["sms"]["price_per_segment"] if row["channel"] == "sms"
                            else config.get(row["channel"], {}).get("price", "0")))
        out.append({"channel": row["channel"], "messages": row["messages"], "units": units,
                    "cost": (price * units).quantize(Decimal("0.01"))})
    return out


def member_message_events(member, limit: int = 50) -> list[TimelineEvent]:
    """The member's messages for the timeline."""
    events = []
    for m in Message.objects.filter(member=member).order_by("-created_at")[:limit]:
        events.append(TimelineEvent(at=m.sent_at or m.created_at, kind="message",
                                    title=f"{m.get_channel_display()} · {m.get_category_display()}",
                                    detail=m.body[:120], extra={"status": m.get_status_display()}))
    return events


def today_range() -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    return today.replace(day=1), today


# the message category a care task's rule sends (care task list: "send message")
RULE_CATEGORY = {
    "birthday_greeting": "birthday",
    "holiday_greeting": "holiday",
    "season_greeting": "season",
    "sleeping_call": "missing_you",
    "dormant_review": "missing_you",
    "new_member_callback": "callback",
    "new_stock_call": "new_arrivals",
    "campaign_notice": "promotion",
    "points_expiring": "points_expiry",
}


def task_message_channel(task) -> str:
    """The channel a care task's message goes on: the member's own preference when it is a message channel,
    else the rule's channel, else SMS."""
    from .models import MessageChannel
    from .policy import MESSAGE_CHANNELS

    for channel in (task.member.preferred_channel, task.channel):
        if channel in MESSAGE_CHANNELS:
            return channel
    return MessageChannel.SMS


def template_for(category: str, channel: str):
    """The active template of a category, on `channel` if there is one, else on any channel (None: none)."""
    from .models import MessageTemplate

    templates = list(MessageTemplate.objects.filter(category=category, is_active=True).order_by("name", "pk"))
    return next((t for t in templates if t.channel == channel), templates[0] if templates else None)


RESULTS_WINDOW_DAYS = 14  # settings.MESSAGING_RESULTS_WINDOW_DAYS overrides it


def bulk_send_results(bulk) -> dict:
    """What a bulk send brought, against its hold-out group, over the window from the send time (the bulk's
    scheduled time) to +14 days (settings.MESSAGING_RESULTS_WINDOW_DAYS):
    reached = messages delivered (sent or delivered), responded = recipients reached who bought in the window,
    attributed_sales = what those recipients paid in the window (returns in the window deducted);
    group_size and sales = the whole treated group — every member of the audience outside the hold-out, each of
    whom has a message row, sent or not (no consent, opted out…) — and what it paid: the audience was split at
    random, so this compares with holdout_size and holdout_sales, the same for the hold-out group. In SQL."""
    from django.conf import settings
    from django.db.models import Exists, OuterRef

    from membercare.sales.models import Receipt

    from .models import BulkHoldout

    days = int(getattr(settings, "MESSAGING_RESULTS_WINDOW_DAYS", RESULTS_WINDOW_DAYS))
    start = bulk.scheduled_at
    end = start + dt.timedelta(days=days)
    reached = Message.objects.filter(bulk_id=bulk.pk, status__in=[MessageStatus.SENT, MessageStatus.DELIVERED])
    in_window = Receipt.objects.filter(sold_at__gte=start, sold_at__lt=end)
    bought = in_window.filter(Exists(reached.filter(member_id=OuterRef("member_id")))).aggregate(
        sales=Sum("total_paid"), buyers=Count("member_id", distinct=True, filter=Q(original__isnull=True)))
    treated = Message.objects.filter(bulk_id=bulk.pk)
    group = in_window.filter(Exists(treated.filter(member_id=OuterRef("member_id")))).aggregate(
        sales=Sum("total_paid"))
    holdout = BulkHoldout.objects.filter(bulk_id=bulk.pk)
    held = in_window.filter(Exists(holdout.filter(member_id=OuterRef("member_id")))).aggregate(
        sales=Sum("total_paid"))
    zero = Decimal("0.00")
    return {"reached": reached.count(), "responded": bought["buyers"] or 0,
            "attributed_sales": (bought["sales"] or zero).quantize(zero), "group_size": treated.count(),
            "sales": (group["sales"] or zero).quantize(zero), "holdout_size": holdout.count(),
            "holdout_sales": (held["sales"] or zero).quantize(zero), "window_start": start, "window_end": end}


def marketing_sent_this_week(member_ids, at: dt.datetime) -> dict[int, int]:
    """{member id: marketing messages sent (or queued) in the 7 days before `at`} (the weekly cap)."""
    rows = (Message.objects.filter(member_id__in=member_ids, is_marketing=True, created_at__gte=at - dt.timedelta(
        days=7)).exclude(status__in=["skipped", "failed"]).values("member_id").annotate(n=Count("pk")))
    return {row["member_id"]: row["n"] for row in rows}


def member_tiers(member_ids: list[int]) -> dict[int, str]:
    """{member id: label of the best active card} (the programme's order: by rank, the default diamond > elite >
    knight > accumulation)."""
    from membercare.loyalty.models import Card, CardStatus
    from membercare.loyalty.programme import programme_at

    programme = programme_at()
    rank = programme.positions()
    best: dict[int, str] = {}
    for member_id, kind in Card.objects.filter(member_id__in=member_ids, status=CardStatus.ACTIVE).values_list(
            "member_id", "kind"):
        if rank.get(kind, 0) > rank.get(best.get(member_id), 0):
            best[member_id] = kind
    return {m: programme.label(k) for m, k in best.items()}


def bulk_send_marketing_receipts(window) -> tuple[str, list]:
    """care.marketing's source: a member's sale receipts within `window.response_days` days from the moment a
    bulk send's message to them was sent (sent or delivered; [sent_at, sent_at + days))."""
    from membercare.care.marketing import db_time
    from membercare.core.sql import pg

    days = int(window.response_days)
    before_end = (f"s.sold_at < m.sent_at + INTERVAL '1 day' * {days}" if pg()
                  else f"julianday(s.sold_at) < julianday(m.sent_at) + {days}")
    sql = f"""
        SELECT s.id FROM messaging_message m
        JOIN sales_receipt s ON s.member_id = m.member_id AND s.original_id IS NULL
        WHERE m.bulk_id IS NOT NULL AND m.status IN (%s, %s) AND m.sent_at >= %s AND m.sent_at < %s
          AND s.sold_at >= m.sent_at AND {before_end}"""
    return sql, [MessageStatus.SENT.value, MessageStatus.DELIVERED.value,
                 db_time(window.start - dt.timedelta(days=days)), db_time(window.end)]
