"""Rules on care events (care.CareEvent): new stock arriving, campaigns.

Both are marketing: only members who consented to marketing on the rule's channel are contacted
(consent_phone for a call, consent_sms for an SMS, ...; an in-store channel needs no consent).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import JSONObject
from django.utils import timezone

from membercare.sales.models import ReceiptLine

from ..models import CareEvent, MemberSegments
from ..taskgen import insert_select
from .base import CONTACTABLE, date_value, fires, previous_run, rule_config, spec

CONSENT_FIELD = {"phone": "member__consent_phone", "sms": "member__consent_sms", "email": "member__consent_email",
                 "wechat": "member__consent_wechat"}


def _event_rule(code: str, kind: str, day: dt.date, config: dict[str, Any], *, due_days_before: int | None) -> int:
    """Events of `kind` starting within `days_before` days: tasks for the follow-up classes. An event fires
    once (the first run on or after starts_on - days_before, or after the event was entered); due
    `due_days_before` the start (None: on the start day), never before today."""
    s = rule_config(config, code)
    lead = int(s.get("days_before", 5))
    prev = previous_run(code, day)
    created = 0
    events = CareEvent.objects.filter(kind=kind, starts_on__gte=day, starts_on__lte=day + dt.timedelta(days=lead))
    for event in events.order_by("starts_on", "pk"):
        entered = timezone.localdate(event.created_at)
        if not (fires(event.starts_on - dt.timedelta(days=lead), day, prev) or (prev is not None and entered >= prev)):
            continue
        due = event.starts_on - dt.timedelta(days=due_days_before if due_days_before is not None else 0)
        if due_days_before is not None and event.starts_on <= day:
            continue  # a notice on the day itself is no notice
        members = MemberSegments.objects.filter(follow_up__in=s.get("follow_up", ["A"]))
        if kind == CareEvent.Kind.NEW_STOCK:  # a call: new and active members only (dormant ones are won back)
            members = members.filter(lifecycle__in=CONTACTABLE)
        consent = CONSENT_FIELD.get(str(s.get("channel", "")))
        if consent:
            members = members.filter(**{consent: True})
        if kind == CareEvent.Kind.NEW_STOCK and (event.brand_id or event.series_id):
            bought = ReceiptLine.objects.filter(receipt__member_id=OuterRef("member_id"), quantity__gt=0)
            if event.brand_id:
                bought = bought.filter(product__brand_id=event.brand_id)
            if event.series_id:
                bought = bought.filter(product__series_id=event.series_id)
            members = members.filter(Exists(bought))
        rows = members.values(t_member=F("member_id"), t_key=Value(str(event.pk)), t_due=date_value(max(day, due)),
                              t_context=JSONObject(event=Value(event.title), event_id=Value(event.pk),
                                                   starts_on=Value(event.starts_on.isoformat())))
        created += insert_select(spec(code, day, config), rows)
    return created


def new_stock_call(day: dt.date, config: dict[str, Any]) -> int:
    """New stock arrives (CareEvent new_stock): `days_before` (3) its day, a call to the follow-up classes
    (A) who bought that brand and/or series (everyone in the classes when the event names neither);
    due on the day it arrives. Key: the event id."""
    return _event_rule("new_stock_call", CareEvent.Kind.NEW_STOCK, day, config, due_days_before=None)


def campaign_notice(day: dt.date, config: dict[str, Any]) -> int:
    """A campaign (CareEvent campaign): a notice to the follow-up classes (A, B, C, D) due `days_before` (5)
    its start, so it reaches them at least that early; an event entered later still gets its notice,
    due at once, until the day before it starts. Key: the event id."""
    lead = int(rule_config(config, "campaign_notice").get("days_before", 5))
    return _event_rule("campaign_notice", CareEvent.Kind.CAMPAIGN, day, config, due_days_before=lead)
