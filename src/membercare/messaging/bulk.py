"""Bulk sends to a segment or a filtered list: preview, resumable enqueueing, progress.

Audience (BulkSend.audience): {"lifecycle": [...], "spend_class": [...], "follow_up": [...], "flags": [...],
"store_ids": [...], "member_ids": [...], "tag_ids": [...], "preferred_channel": [...]} — every given key must
match (AND); with "respect_preferred_channel": true, members who prefer another message channel are left out
(reason "prefers_other") so that the specialist sends them the same message on their channel.

Enqueueing walks the audience in member-id order, a chunk per transaction, and records the last member
id reached with the chunk: a crash resumes after the last committed chunk, and (bulk, member) is unique,
so nobody is queued twice. Members who may not receive it get a "not sent" row with the reason, so the
delivery log explains every member of the audience.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.complaints import has_open_complaint_expr, open_complaints_count
from membercare.loyalty.models import LoyaltyAccount
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from .config import messaging_config
from .content import content_violations
from .holdout import holdout_threshold, new_seed
from .holdout import split as holdout_split
from .models import BulkHoldout, BulkSend, Message, MessageStatus, MessageTemplate, OptOut
from .placeholders import PLACEHOLDER, member_values, placeholders_used, render
from .policy import (
    CONSENT_FIELD,
    EXCLUSION_REASONS,
    MESSAGE_CHANNELS,
    QUIET_LABEL,
    address_for,
    exclusion,
    in_quiet_hours,
    is_marketing,
    send_time,
)
from .selectors import marketing_sent_this_week, member_tiers

CHUNK = 2000

# Placeholder values an audience key brings (e.g. "coupon_issue": each member's coupon code), registered by
# the app above messaging that owns the key (campaigns, from its AppConfig.ready): key -> (placeholders, fn)
AudienceValues = Callable[[Any, list[int]], dict[int, dict[str, str]]]
_AUDIENCE_VALUES: dict[str, tuple[frozenset[str], AudienceValues]] = {}


def register_audience_values(key: str, placeholders: set[str] | frozenset[str], values: AudienceValues) -> None:
    """When a bulk's audience has `key` and its template uses one of `placeholders`, each chunk's members get
    `values(audience[key], member_ids) -> {member id: {placeholder: text}}`."""
    _AUDIENCE_VALUES[key] = (frozenset(placeholders), values)


def audience_values(audience: dict, member_ids: list[int], used: set[str]) -> dict[int, dict[str, str]]:
    """{member id: {placeholder: text}} from every registered audience key the audience has."""
    out: dict[int, dict[str, str]] = {}
    for key, (placeholders, values) in _AUDIENCE_VALUES.items():
        if audience.get(key) and placeholders & used:
            for member_id, found in values(audience[key], member_ids).items():
                out.setdefault(member_id, {}).update(found)
    return out


def audience_queryset(audience: dict) -> QuerySet[Member]:
    qs = Member.objects.all()
    if audience.get("audience_snapshot"):  # a saved audience frozen when the send or issue was made
        from membercare.audiences.selectors import snapshot_members

        qs = qs.filter(snapshot_members(int(audience["audience_snapshot"])))
    elif audience.get("saved_audience"):  # a saved audience, live (previews), with its campaign's exclusions
        from membercare.audiences.models import Audience
        from membercare.audiences.selectors import audience_members

        saved = Audience.objects.filter(pk=audience["saved_audience"]).first()
        qs = qs.filter(pk__in=audience_members(saved, campaign_kind=audience.get("campaign_kind", ""),
                                               include=audience.get("include_segments") or [])
                       ) if saved else qs.none()
    seg = {}
    for key in ("lifecycle", "spend_class", "follow_up"):
        if audience.get(key):
            seg[f"segments__{key}__in"] = list(audience[key])
    for flag in audience.get("flags") or []:
        seg[f"segments__{flag}"] = True
    if seg:
        qs = qs.filter(**seg)
    if audience.get("store_ids"):
        qs = qs.filter(home_store_id__in=audience["store_ids"])
    if audience.get("member_ids"):
        qs = qs.filter(pk__in=audience["member_ids"])
    if audience.get("preferred_channel"):
        qs = qs.filter(preferred_channel__in=audience["preferred_channel"])
    if audience.get("tag_ids"):
        qs = qs.filter(tags__in=audience["tag_ids"]).distinct()
    if audience.get("coupon_issue"):  # the members given a coupon by one issue (campaigns)
        qs = qs.filter(coupons__issue_id=audience["coupon_issue"])
    return qs.order_by("pk")


def campaign_kind(template: MessageTemplate) -> str:
    """The audiences campaign kind of a send: a promotion template's send is a promotion (seed 004's default
    exclusions apply to it)."""
    from .models import Category

    return "promotion" if template.category == Category.PROMOTION else ""


def with_campaign_kind(audience: dict, template: MessageTemplate) -> dict:
    """The audience with the campaign kind set from the template (never from what a form posted)."""
    if not audience.get("saved_audience"):
        return audience
    return {**audience, "campaign_kind": campaign_kind(template)}


def freeze_saved_audience(audience: dict, *, by: Staff | None) -> dict:
    """A saved audience resolved now: its members kept in a snapshot the send (or coupon issue) goes to."""
    if not audience.get("saved_audience") or audience.get("audience_snapshot"):
        return audience
    from membercare.audiences.models import Audience
    from membercare.audiences.services import audience_freeze

    saved = Audience.objects.filter(pk=audience["saved_audience"]).first()
    if saved is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({"audience": [_("This audience no longer exists.")]})
    snapshot = audience_freeze(saved, by=by, campaign_kind=audience.get("campaign_kind", ""),
                               include=audience.get("include_segments") or [])
    return {**audience, "audience_snapshot": snapshot.pk}


def _week_count(at: dt.datetime):
    return Count("messages", filter=Q(messages__is_marketing=True, messages__created_at__gte=at - dt.timedelta(
        days=7)) & ~Q(messages__status__in=[MessageStatus.SKIPPED, MessageStatus.FAILED]))


def bulk_preview(*, template: MessageTemplate, audience: dict, at: dt.datetime, samples: int = 3,
                 holdout_share=0, holdout_seed: int = 0) -> dict:
    """How many will receive it, how many are excluded and why, how many are held for quiet hours, and a
    few rendered samples. Counted in the database (one aggregate query). With a hold-out share, that share
    of the audience (messaging.holdout, reproducible from the seed) is counted apart and gets nothing."""
    config = messaging_config()
    channel, marketing = template.channel, is_marketing(template.category, config)
    field = {"sms": "phone", "email": "email", "wechat": "wechat_id"}[channel]
    held = 0
    audience = with_campaign_kind(audience, template)
    members = audience_queryset(audience)
    if holdout_threshold(holdout_share):
        members, held_out = holdout_split(members, holdout_share, holdout_seed)
        held = held_out.count()
    members = members.annotate(
        opted=Exists(OptOut.objects.filter(member=OuterRef("pk"), channel=channel)))
    others = sorted(MESSAGE_CHANNELS - {channel})
    prefers = Q(preferred_channel__in=others) if audience.get("respect_preferred_channel") else Q(pk=None)
    no_address = Q(**{field: ""}) & ~prefers
    opted = Q(opted=True) & ~Q(**{field: ""}) & ~prefers
    no_consent = (Q(**{CONSENT_FIELD[channel]: False}) & ~Q(**{field: ""}) & ~Q(opted=True) & ~prefers
                  if marketing else Q(pk=None))
    counts = members.aggregate(total=Count("pk"), no_address=Count("pk", filter=no_address),
                               opted_out=Count("pk", filter=opted), no_consent=Count("pk", filter=no_consent),
                               prefers_other=Count("pk", filter=prefers))
    capped = complaint_open = 0
    if marketing:
        eligible = (members.exclude(**{field: ""}).exclude(opted=True).exclude(prefers)
                    .filter(**{CONSENT_FIELD[channel]: True}))
        complaint_open = eligible.filter(has_open_complaint_expr("pk")).values("pk").count()
        capped = (eligible.exclude(has_open_complaint_expr("pk")).annotate(week=_week_count(at))
                  .filter(week__gte=int(config["weekly_cap"])).values("pk").count())
    excluded = {"prefers_other": counts["prefers_other"], "no_address": counts["no_address"],
                "opted_out": counts["opted_out"],
                "no_consent": counts["no_consent"], "complaint_open": complaint_open, "capped": capped}
    receive = counts["total"] - sum(excluded.values())
    quiet = receive if in_quiet_hours(at, config) else 0
    rendered = []
    for member in audience_queryset(audience).select_related("home_store", "owner", "loyalty")[:samples]:
        values = member_values(member)
        rendered.append({"member": member.name, "to": address_for(member, channel),
                         "subject": render(template.subject, values), "body": render(template.body, values)})
    return {"total": counts["total"] + held, "receive": receive, "excluded": excluded, "quiet_hours": quiet,
            "holdout": {"share": str(holdout_share or 0), "seed": holdout_seed, "size": held},
            "reasons": {k: str(v) for k, v in EXCLUSION_REASONS.items()}, "quiet_label": str(QUIET_LABEL),
            "samples": rendered}


@transaction.atomic
def bulk_schedule(*, name: str, template: MessageTemplate, audience: dict, scheduled_at: dt.datetime,
                  by: Staff | None, holdout_share=0, holdout_seed: int | None = None) -> BulkSend:
    """Schedule a bulk send. With a hold-out share (0 to 0.5), that share of the audience is picked (random,
    reproducible from the seed kept in bulk.preview["holdout"]) and recorded in BulkHoldout: they get nothing."""
    from decimal import Decimal, InvalidOperation

    from django.core.exceptions import ValidationError

    if not (name or "").strip():
        raise ValidationError({"name": [_("The name is required.")]})
    if not template.is_active:
        raise ValidationError({"template": [_("This template is not active.")]})
    try:
        share = Decimal(str(holdout_share or 0))
    except InvalidOperation:
        share = Decimal("-1")
    if not Decimal("0") <= share <= Decimal("0.5"):
        raise ValidationError({"holdout_share": [_("The hold-out share must be between 0 and 50 percent.")]})
    seed = holdout_seed or new_seed()
    audience = freeze_saved_audience(with_campaign_kind(audience, template), by=by)
    preview = bulk_preview(template=template, audience=audience, at=scheduled_at, samples=0, holdout_share=share,
                           holdout_seed=seed)
    if preview["total"] == 0:
        raise ValidationError({"audience": [_("Nobody matches this audience.")]})
    bulk = BulkSend.objects.create(name=name.strip(), template=template, audience=audience,
                                   scheduled_at=scheduled_at, status=BulkSend.Status.SCHEDULED,
                                   preview={k: v for k, v in preview.items() if k != "samples"}, created_by=by,
                                   created_at=timezone.now())
    if preview["holdout"]["size"]:
        held = holdout_split(audience_queryset(audience), share, seed)[1].values_list("pk", flat=True)
        BulkHoldout.objects.bulk_create([BulkHoldout(bulk=bulk, member_id=pk) for pk in held.iterator()],
                                        batch_size=2000)
    return bulk


def bulk_enqueue(bulk: BulkSend, *, chunk: int = CHUNK, stop_after_chunks: int | None = None) -> int:
    """Create the bulk's messages (resuming where a previous run stopped). Returns how many were queued now.
    `stop_after_chunks` stops early (tests simulate a crash with it)."""

    config = messaging_config()
    template = bulk.template
    channel, marketing = template.channel, is_marketing(template.category, config)
    BulkSend.objects.filter(pk=bulk.pk, status=BulkSend.Status.SCHEDULED).update(
        status=BulkSend.Status.ENQUEUEING)
    queued = chunks = 0
    used = placeholders_used(f"{template.subject}\n{template.body}")
    checker = ContentChecker(template.category, f"{template.subject}\n{template.body}", config)
    respect = bool(bulk.audience.get("respect_preferred_channel"))
    base = audience_queryset(bulk.audience)
    if (bulk.preview.get("holdout") or {}).get("size"):  # the hold-out group gets nothing
        base = base.exclude(Exists(BulkHoldout.objects.filter(bulk_id=bulk.pk, member=OuterRef("pk"))))
    stores = {s.pk: s for s in Store.objects.all()}
    staff: dict[int, Staff] = {}
    while True:
        with transaction.atomic():
            locked = BulkSend.objects.select_for_update().get(pk=bulk.pk)
            if locked.status == BulkSend.Status.CANCELLED:
                return queued
            members = [_Recipient(*row) for row in base.filter(pk__gt=locked.enqueued_up_to).values_list(
                *_Recipient.FIELDS)[:chunk]]
            if not members:
                break
            ids = [m.pk for m in members]
            missing = {m.owner_id for m in members if m.owner_id and m.owner_id not in staff}
            staff.update({s.pk: s for s in Staff.objects.filter(pk__in=missing)})
            opted = set(OptOut.objects.filter(member_id__in=ids, channel=channel).values_list("member_id", flat=True))
            week = marketing_sent_this_week(ids, bulk.scheduled_at) if marketing else {}
            complaints = open_complaints_count(ids) if marketing else {}
            tiers = member_tiers(ids) if "tier" in used else {}
            extra = audience_values(bulk.audience, ids, used)
            points = dict(LoyaltyAccount.objects.filter(member_id__in=ids).values_list("member_id", "points")
                          ) if "points" in used else {}
            now = timezone.now()
            start = max(bulk.scheduled_at, now)
            when: dict[str, dt.datetime] = {}  # send time per preferred contact time
            rows = []
            for member in members:
                member.home_store, member.owner = stores.get(member.home_store_id), staff.get(member.owner_id)
                member.loyalty = _Points(points.get(member.pk, 0))
                values = member_values(member, only=used, extra={"event": bulk.name, "tier": tiers.get(member.pk, ""),
                                                                  **extra.get(member.pk, {})})
                body, subject = render(template.body, values), render(template.subject, values)
                reason = exclusion(member, channel, marketing=marketing, opted_out=member.pk in opted,
                                   sent_this_week=week.get(member.pk, 0), config=config,
                                   respect_preference=respect, open_complaint=bool(complaints.get(member.pk)))
                if not reason and not checker.passes(values):
                    reason = "content"
                if member.preferred_time not in when:
                    when[member.preferred_time] = send_time(start, config, member.preferred_time)
                params = {k: v for k, v in values.items() if "{" + k + "}" in template.body}
                if template.sms_template_code:
                    params["_template_code"] = template.sms_template_code
                rows.append({
                    "member_id": member.pk, "channel": channel, "category": template.category,
                    "is_marketing": marketing, "template_id": template.pk, "bulk_id": locked.pk,
                    "to": address_for(member, channel), "subject": subject, "body": body, "params": params,
                    "store_id": member.home_store_id, "status": MessageStatus.SKIPPED if reason else
                    MessageStatus.QUEUED, "skip_reason": reason, "send_after": when[member.preferred_time],
                    "created_at": now})
                queued += 0 if reason else 1
            _insert_messages(rows)
            locked.enqueued_up_to = ids[-1]
            locked.save(update_fields=["enqueued_up_to"])
        chunks += 1
        if stop_after_chunks is not None and chunks >= stop_after_chunks:
            return queued
    BulkSend.objects.filter(pk=bulk.pk, status=BulkSend.Status.ENQUEUEING).update(status=BulkSend.Status.SENDING)
    return queued


class _Recipient:
    """A member as the bulk send needs it (no model instance: 100,000 of them must be cheap)."""

    FIELDS = ("pk", "name", "gender", "phone", "email", "wechat_id", "consent_sms", "consent_email",
              "consent_wechat", "preferred_time", "preferred_channel", "member_no", "birthday", "home_store_id",
              "owner_id")
    title = Member.title
    erased_at = None  # audience_queryset (Member.objects) leaves erased members out

    def __init__(self, pk, name, gender, phone, email, wechat_id, consent_sms, consent_email, consent_wechat,
                 preferred_time, preferred_channel, member_no, birthday, home_store_id, owner_id):
        self.pk, self.name, self.gender, self.phone, self.email, self.wechat_id = pk, name, gender, phone, email, \
            wechat_id
        self.consent_sms, self.consent_email, self.consent_wechat = consent_sms, consent_email, consent_wechat
        self.preferred_time, self.preferred_channel = preferred_time, preferred_channel
        self.member_no, self.birthday = member_no, birthday
        self.home_store_id, self.owner_id = home_store_id, owner_id
        self.home_store = self.owner = self.loyalty = None


class _Points:
    def __init__(self, points: int):
        self.points = points


MESSAGE_COLUMNS = ["member_id", "channel", "category", "is_marketing", "template_id", "bulk_id", "to", "subject",
                   "body", "params", "store_id", "status", "skip_reason", "send_after", "created_at", "attempts",
                   "last_error", "provider_id", "segments"]


def _insert_messages(rows: list[dict]) -> None:
    """Insert a chunk of messages: COPY on PostgreSQL (the chunk's transaction holds the bulk send's row lock
    and its resume point, so a (bulk, member) pair cannot come twice; if it did, the unique index refuses
    the whole chunk), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Message.objects.bulk_create([Message(**row) for row in rows], ignore_conflicts=True, batch_size=1000)
        return
    table = Message._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in MESSAGE_COLUMNS)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row["member_id"], row["channel"], row["category"], row["is_marketing"],
                                row["template_id"], row["bulk_id"], row["to"], row["subject"], row["body"],
                                json.dumps(row["params"], ensure_ascii=False), row["store_id"], row["status"],
                                row["skip_reason"], row["send_after"], row["created_at"], 0, "", "", 0])


class ContentChecker:
    """The content rules for one template sent to many members: the template's own text is checked once;
    per member only the placeholder values are new, and each distinct value is checked once."""

    def __init__(self, category: str, template_text: str, config: dict):
        self.category, self.config = category, config
        self.template_ok = not [v for v in content_violations(category, template_text, config) if v.found]
        self.seen: dict[str, bool] = {}
        required = [r for rule in config["content_rules"].get(category, []) for r in rule.get("require", [])]
        self.required = [m.group(1) for r in required if (m := PLACEHOLDER.fullmatch(r))]  # e.g. {clerk}

    def passes(self, values: dict) -> bool:
        if not self.template_ok:
            return False
        if any(not values.get(name) for name in self.required):  # a greeting with nobody to sign it
            return False
        for value in values.values():
            text = str(value)
            if text not in self.seen:
                self.seen[text] = not [v for v in content_violations(self.category, text, self.config) if v.found]
            if not self.seen[text]:
                return False
        return True




def bulk_progress(bulk: BulkSend) -> dict:
    counts = Counter(dict(bulk.messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n")))
    reasons = dict(bulk.messages.filter(status=MessageStatus.SKIPPED).values_list("skip_reason")
                   .annotate(n=Count("pk")).values_list("skip_reason", "n"))
    total = bulk.preview.get("total", 0)
    handled = sum(counts[s] for s in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED,
                                      MessageStatus.SKIPPED, MessageStatus.UNKNOWN))
    return {"total": total, "created": sum(counts.values()), "by_status": dict(counts), "skipped_by_reason": reasons,
            "done_share": (handled / total) if total else 1.0}


def bulk_due(now: dt.datetime | None = None) -> list[BulkSend]:
    """Scheduled sends whose time has come, and sends interrupted while enqueueing (to resume)."""
    now = now or timezone.now()
    return list(BulkSend.objects.filter(Q(status=BulkSend.Status.SCHEDULED, scheduled_at__lte=now)
                                        | Q(status=BulkSend.Status.ENQUEUEING)).order_by("scheduled_at"))


CANCELLABLE = (BulkSend.Status.DRAFT, BulkSend.Status.SCHEDULED, BulkSend.Status.ENQUEUEING, BulkSend.Status.SENDING)


def bulk_cancel(bulk_id: int) -> tuple[BulkSend, int | None]:
    """Stop a bulk send: nothing more is enqueued (the enqueueing checks the status under the same row lock)
    and its messages still waiting in the queue are marked "not sent: cancelled". Returns (bulk, messages
    stopped), or (bulk, None) when it can no longer be cancelled."""
    with transaction.atomic():
        bulk = BulkSend.objects.select_for_update().get(pk=bulk_id)
        if bulk.status not in CANCELLABLE:
            return bulk, None
        bulk.status = BulkSend.Status.CANCELLED
        bulk.save(update_fields=["status"])
        stopped = Message.objects.filter(bulk=bulk, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SKIPPED, skip_reason="cancelled")
    return bulk, stopped


def bulks_finish() -> int:
    """Mark sending bulk sends done once none of their messages waits or is on its way."""
    waiting = Message.objects.filter(bulk=OuterRef("pk"), status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
    return (BulkSend.objects.filter(status=BulkSend.Status.SENDING).annotate(waiting=Exists(waiting))
            .filter(waiting=False).update(status=BulkSend.Status.DONE))
