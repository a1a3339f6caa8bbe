"""Who may receive what, when: addresses, opt-outs, consent, the weekly cap, quiet hours, preferred times.

- An opt-out (a TD / 退订 / STOP reply) stops every message on that channel.
- Marketing categories (config "marketing_categories": new arrivals, promotions, event invitations) need
  the member's consent on that channel and count against the weekly cap.
- Quiet hours (default 21:00–09:00) hold every message until they end; a member's preferred contact time
  (morning, lunch, afternoon, evening, weekends) moves it to the next such window.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.members.models import Member

from .models import MessageChannel

EXCLUSION_REASONS = {
    "prefers_other": _("prefers another channel (send them this message on that channel)"),
    "no_address": _("no phone, email or WeChat on record for the channel"),
    "opted_out": _("opted out of the channel"),
    "no_consent": _("no marketing consent on the channel"),
    "capped": _("weekly message limit reached"),
    "content": _("the message breaks a content rule"),
    "erased": _("the member's personal data was erased"),
    "complaint_open": _("an open complaint: marketing waits until it is resolved"),
}
QUIET = "quiet_hours"
QUIET_LABEL = _("held until quiet hours end")

CONSENT_FIELD = {MessageChannel.SMS: "consent_sms", MessageChannel.EMAIL: "consent_email",
                 MessageChannel.WECHAT: "consent_wechat"}


def address_for(member: Member, channel: str) -> str:
    if channel == MessageChannel.SMS:
        return member.phone or ""
    if channel == MessageChannel.EMAIL:
        return member.email or ""
    if channel == MessageChannel.WECHAT:
        return member.wechat_id or ""
    return ""


def is_marketing(category: str, config: dict) -> bool:
    return category in config["marketing_categories"]


MESSAGE_CHANNELS = {MessageChannel.SMS, MessageChannel.EMAIL, MessageChannel.WECHAT}


def prefers_other(member: Member, channel: str) -> bool:
    """The member asked to be reached on another message channel (a phone-call preference is no objection)."""
    preferred = getattr(member, "preferred_channel", "") or ""
    return preferred in MESSAGE_CHANNELS and preferred != channel


def exclusion(member: Member, channel: str, *, marketing: bool, opted_out: bool, sent_this_week: int,
              config: dict, respect_preference: bool = False, open_complaint: bool = False) -> str:
    """The reason code (EXCLUSION_REASONS) why this member must not get the message, or ""."""
    if member.erased_at is not None:
        return "erased"
    if respect_preference and prefers_other(member, channel):
        return "prefers_other"
    if not address_for(member, channel):
        return "no_address"
    if opted_out:
        return "opted_out"
    if marketing and not getattr(member, CONSENT_FIELD[channel]):
        return "no_consent"
    if marketing and open_complaint:  # a member waiting for a complaint's remedy gets no promotion meanwhile
        return "complaint_open"
    if marketing and sent_this_week >= int(config["weekly_cap"]):
        return "capped"
    return ""


def _hm(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def in_quiet_hours(at: dt.datetime, config: dict) -> bool:
    local = timezone.localtime(at).time()
    start, end = _hm(config["quiet_hours"]["start"]), _hm(config["quiet_hours"]["end"])
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def _quiet_end(at: dt.datetime, config: dict) -> dt.datetime:
    local = timezone.localtime(at)
    end = _hm(config["quiet_hours"]["end"])
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += dt.timedelta(days=1)
    return candidate


def send_time(at: dt.datetime, config: dict, preferred_time: str = "any") -> dt.datetime:
    """The earliest moment at or after `at` outside quiet hours and inside the member's preferred time."""
    moment = _quiet_end(at, config) if in_quiet_hours(at, config) else at
    if preferred_time == "weekend":
        local = timezone.localtime(moment)
        while local.weekday() < 5:
            local = (local + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        moment = local
    elif preferred_time in config["preferred_times"]:
        start, end = (_hm(v) for v in config["preferred_times"][preferred_time])
        local = timezone.localtime(moment)
        if not (start <= local.time() < end):
            day = local if local.time() < start else local + dt.timedelta(days=1)
            moment = day.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if in_quiet_hours(moment, config):  # a preferred window that overlaps the quiet hours
        moment = _quiet_end(moment, config)
    return moment


def sms_segments(text: str, config: dict) -> int:
    """Billed SMS segments: up to 70 characters in one; longer messages go in parts of 67."""
    length = len(text or "")
    single, part = int(config["sms"]["segment_chars"]), int(config["sms"]["long_segment_chars"])
    if length <= single:
        return 1 if length else 0
    return -(-length // part)
