"""Messaging writes: templates (content rules on save), one message to one member, inbound replies.

The settings' writes (checking, saving, history) are in settings_services; their names are importable here.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.complaints import open_complaints_count
from membercare.members.models import Member, MemberChange
from membercare.org.models import Staff, Store

from .config import messaging_config
from .content import content_check, content_violations
from .models import Category, InboundMessage, Message, MessageChannel, MessageTemplate, OptOut
from .placeholders import PLACEHOLDERS, member_values, render, unknown_placeholders
from .policy import CONSENT_FIELD, EXCLUSION_REASONS, address_for, exclusion, is_marketing, send_time
from .selectors import marketing_sent_this_week, member_tiers
from .settings_services import (
    SETTINGS_NOTE_KEY,
    SettingsVersion,
    messaging_config_history,
    messaging_config_save,
    messaging_config_validate,
    messaging_settings_diff,
    regex_problem,
)


class SendRefused(ValidationError):
    """The member may not receive this message; `reason` is a policy.EXCLUSION_REASONS code."""

    def __init__(self, reason: str, message: str, field: str = "channel"):
        super().__init__({field: [message]})
        self.reason = reason


OPT_OUT_WORDS = {"TD", "T", "退订", "STOP", "UNSUBSCRIBE", "N", "取消订阅"}


def template_check(*, category: str, body: str, subject: str = "", channel: str = MessageChannel.SMS,
                   sms_template_code: str = "") -> None:
    """Every problem of a template at once, per field, in the user's language."""
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = [_("Choose a category.")]
    if not (body or "").strip():
        errors["body"] = [_("The text is required.")]
    for field, text in (("body", body), ("subject", subject)):
        unknown = unknown_placeholders(text)
        if unknown:
            errors.setdefault(field, []).append(_("Unknown placeholders: %(names)s. Known: %(known)s.") % {
                "names": "、".join("{" + n + "}" for n in unknown),
                "known": "、".join("{" + n + "}" for n in PLACEHOLDERS)})
    if category in Category.values:
        for v in content_violations(category, f"{subject}\n{body}"):
            errors.setdefault("body", []).append(v.message())
    if channel == MessageChannel.EMAIL and not (subject or "").strip():
        errors["subject"] = [_("An email needs a subject.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def template_save(*, by: Staff | None, name: str, category: str, body: str, channel: str = MessageChannel.SMS,
                  subject: str = "", sms_template_code: str = "", is_active: bool = True,
                  template: MessageTemplate | None = None) -> MessageTemplate:
    template_check(category=category, body=body, subject=subject, channel=channel,
                   sms_template_code=sms_template_code)
    if not (name or "").strip():
        raise ValidationError({"name": [_("The name is required.")]})
    template = template or MessageTemplate()
    for field, value in {"name": name.strip(), "category": category, "body": body, "channel": channel,
                         "subject": subject, "sms_template_code": sms_template_code, "is_active": is_active,
                         "updated_by": by, "updated_at": timezone.now()}.items():
        setattr(template, field, value)
    template.save()
    return template


def tier_label(member: Member) -> str:
    """The member's best active card, as a label (one member's case of selectors.member_tiers)."""
    return member_tiers([member.pk]).get(member.pk, "")


@transaction.atomic
def message_send(*, member: Member, channel: str, category: str, sender: Staff | None, store: Store | None = None,
                 template: MessageTemplate | None = None, body: str = "", subject: str = "", task=None,
                 extra: dict | None = None, at: dt.datetime | None = None) -> Message:
    """Queue one message to one member (the worker delivers it). Refused, with the reason, when the member
    may not receive it; held until quiet hours end and the member's preferred time."""
    at = at or timezone.now()
    config = messaging_config()
    values = member_values(member, store=store, clerk=sender, extra=extra, tier_of=tier_label)
    edited = False
    if template is not None:  # the template's text, or the clerk's edit of it (then no provider template code)
        category, subject = template.category, subject or template.subject
        unchanged = (template.body, render(template.body, values))
        edited = bool((body or "").strip()) and body not in unchanged
        body = body if edited else template.body
    if not (body or "").strip():
        raise ValidationError({"body": [_("The text is required.")]})
    unknown = unknown_placeholders(body)
    if unknown:
        raise ValidationError({"body": [_("Unknown placeholders: %(names)s.") % {
            "names": "、".join("{" + n + "}" for n in unknown)}]})
    # one send decision per member at a time; a member erased meanwhile is refused below
    if Member.objects.select_for_update().filter(pk=member.pk).first() is None:
        member.erased_at = member.erased_at or at
    rendered, rendered_subject = render(body, values), render(subject, values)
    content_check(category, f"{rendered_subject}\n{rendered}", values=values)
    marketing = is_marketing(category, config)
    reason = exclusion(member, channel, marketing=marketing,
                       opted_out=OptOut.objects.filter(member=member, channel=channel).exists(),
                       sent_this_week=marketing_sent_this_week([member.pk], at).get(member.pk, 0), config=config,
                       open_complaint=marketing and bool(open_complaints_count([member.pk]).get(member.pk)))
    if reason:
        raise SendRefused(reason, _("Not sent: %(reason)s.") % {"reason": EXCLUSION_REASONS[reason]})
    params = {k: v for k, v in values.items() if "{" + k + "}" in body}
    if template is not None and template.sms_template_code and not edited:
        params["_template_code"] = template.sms_template_code
    return Message.objects.create(
        member=member, channel=channel, category=category, is_marketing=marketing, template=template, task=task,
        to=address_for(member, channel), subject=rendered_subject, body=rendered, params=params,
        store=store or member.home_store, sender=sender, send_after=send_time(at, config, member.preferred_time),
        created_at=at)


@transaction.atomic
def opt_out(member: Member, channel: str, *, source: str, at: dt.datetime | None = None,
            by: Staff | None = None) -> OptOut:
    """Stop every message on `channel` to the member, and withdraw the marketing consent (in the history)."""
    at = at or timezone.now()
    record, _created = OptOut.objects.get_or_create(member=member, channel=channel,
                                                    defaults={"at": at, "source": source[:100]})
    field = CONSENT_FIELD[channel]
    if getattr(member, field):
        Member.objects.filter(pk=member.pk).update(**{field: False})
        setattr(member, field, False)
        MemberChange.objects.create(member=member, action=MemberChange.Action.UPDATE, changed_by=by, changed_at=at,
                                    changes={field: [True, False], "_source": source[:100]})
    return record


@transaction.atomic
def inbound_receive(*, channel: str, sender: str, body: str, at: dt.datetime | None = None) -> InboundMessage:
    """A reply from a member. TD / 退订 / STOP (any case, alone) opts them out of that channel."""
    at = at or timezone.now()
    lookup = {MessageChannel.SMS: "phone", MessageChannel.EMAIL: "email__iexact",
              MessageChannel.WECHAT: "wechat_id"}[channel]
    address = sender.strip()
    if channel == MessageChannel.SMS:
        address = address.removeprefix("+86").removeprefix("86") if len(address) > 11 else address
    member = Member.objects.filter(**{lookup: address}).first() if address else None
    action = ""
    if member is not None and (body or "").strip().upper() in OPT_OUT_WORDS:
        opt_out(member, channel, source=_("Reply “%(text)s”") % {"text": body.strip()[:20]}, at=at)
        action = "opted_out"
    return InboundMessage.objects.create(channel=channel, sender=sender[:200], body=body or "", received_at=at,
                                         member=member, action=action)


__all__ = [
    "OPT_OUT_WORDS", "SETTINGS_NOTE_KEY", "SendRefused", "SettingsVersion", "inbound_receive", "message_send",
    "messaging_config_history", "messaging_config_save", "messaging_config_validate", "messaging_settings_diff",
    "opt_out", "regex_problem", "template_check", "template_save", "tier_label",
]
