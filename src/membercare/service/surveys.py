"""Satisfaction surveys: created and sent after a callback (a care contact) or a closed complaint, answered
once through a tokenised public link.

The token is `secrets.token_urlsafe(24)` (192 random bits); only its SHA-256 is stored (unique), so the
database alone does not give the links away, and a forged token finds nothing. Answering is one conditional
UPDATE (`answered_at IS NULL`): of two submissions of the same link, even at the same moment, one is kept.
The message goes through messaging.services.message_send (category "survey", whose content rule requires
the {link} placeholder), so opt-outs, quiet hours and the member's preferred channel apply; a refusal is
kept on the survey (send_error) and never undoes what triggered it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.models import Contact, Outcome
from membercare.core.public import public_base_url
from membercare.loyalty.points import lock_account
from membercare.loyalty.points_events import earn_event
from membercare.members.models import Member
from membercare.messaging.models import MessageChannel
from membercare.messaging.policy import MESSAGE_CHANNELS
from membercare.messaging.selectors import template_for
from membercare.messaging.services import message_send
from membercare.org.models import Staff, Store

from .config import service_config
from .errors import ServiceError
from .models import Complaint, Survey

DEFAULT_BODY = "{title}您好，感谢您光临{store}，请花一分钟告诉我们您的感受：{link}"


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def survey_link(token: str, config: dict | None = None) -> str:
    base = (config or service_config())["surveys"].get("base_url") or public_base_url()
    return base.rstrip("/") + reverse("survey_public", args=[token])


def _channel(member: Member) -> str:
    preferred = getattr(member, "preferred_channel", "")
    return preferred if preferred in MESSAGE_CHANNELS else MessageChannel.SMS


def _error_text(exc: ValidationError) -> str:
    return "; ".join(str(m) for m in exc.messages)[:200]


@transaction.atomic
def survey_send(*, member: Member, store: Store | None, clerk: Staff | None, source: str,
                contact: Contact | None = None, complaint: Complaint | None = None,
                at: dt.datetime | None = None) -> tuple[Survey, str]:
    """Create the survey and queue its message. Returns the survey and its token (the token is not stored;
    for a survey that already existed for this contact or complaint, the token is "")."""
    existing = Survey.objects.filter(contact=contact).first() if contact is not None else None
    if complaint is not None:
        existing = existing or Survey.objects.filter(complaint=complaint).first()
    if existing is not None:
        return existing, ""
    at = at or timezone.now()
    config = service_config()
    token = secrets.token_urlsafe(24)
    survey = Survey.objects.create(
        member=member, store=store, clerk=clerk, source=source, contact=contact, complaint=complaint,
        token_hash=token_hash(token), created_at=at,
        expires_at=at + dt.timedelta(days=int(config["surveys"]["valid_days"])))
    channel = _channel(member)
    template = template_for("survey", channel)
    try:
        with transaction.atomic():  # a refused message leaves the survey (and whatever triggered it) in place
            message = message_send(member=member, channel=channel, category="survey", sender=clerk, store=store,
                                   template=template, body="" if template else DEFAULT_BODY,
                                   extra={"link": survey_link(token, config)}, at=at)
        survey.message = message
        survey.save(update_fields=["message"])
    except ValidationError as exc:
        survey.send_error = _error_text(exc)
        survey.save(update_fields=["send_error"])
    return survey, token


def survey_after_contact(contact: Contact) -> Survey | None:
    """A callback just logged: a survey when the member was reached on a task of a configured rule."""
    config = service_config()
    rules = config["surveys"]["after_contact_rules"] or []
    if contact.outcome != Outcome.REACHED or contact.task_id is None or contact.task.rule not in rules:
        return None
    survey, _token = survey_send(member=contact.member, store=contact.store, clerk=contact.staff, source="callback",
                                 contact=contact, at=contact.at)
    return survey


def survey_by_token(token: str) -> Survey | None:
    """The survey of a link, or None for a token nobody was sent (forged, mistyped)."""
    if not token or len(token) > 100:
        return None
    return Survey.objects.select_related("store").filter(token_hash=token_hash(token)).first()


def _score(value, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ServiceError("score_required", _("Choose a score from %(low)d to %(high)d.") % {
            "low": low, "high": high}, field) from exc
    if not low <= number <= high:
        raise ServiceError("score_range", _("Choose a score from %(low)d to %(high)d.") % {
            "low": low, "high": high}, field)
    return number


def survey_answer(*, token: str = "", csat, nps, comment: str = "", at: dt.datetime | None = None,
                  survey: Survey | None = None) -> Survey:
    """Record the member's answer, by the link's token or (the member centre, signed in) the survey itself. A
    survey answers once: a second submission (even a simultaneous one) is refused with code "already_answered"
    and changes nothing."""
    survey = survey if survey is not None else survey_by_token(token)
    if survey is None:
        raise ServiceError("not_found", _("This survey link is not valid."))
    csat, nps = _score(csat, "csat", 1, 5), _score(nps, "nps", 0, 10)
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise ServiceError("comment_too_long", _("Keep the comment under 1000 characters."), "comment")
    at = at or timezone.now()
    if survey.answered_at is not None:
        raise ServiceError("already_answered", _("This survey has already been answered. Thank you!"))
    if survey.expires_at < at:
        raise ServiceError("expired", _("This survey link has expired."))
    with transaction.atomic():
        lock_account(survey.member_id)  # the member's writes one at a time (the survey's points below)
        answered = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
            answered_at=at, csat=csat, nps=nps, comment=comment)
        if answered:  # the programme's earn_events.survey: once per survey (its key in the ledger)
            earn_event(member=survey.member_id, event="survey", key=str(survey.pk), at=at)
    if not answered:
        raise ServiceError("already_answered", _("This survey has already been answered. Thank you!"))
    survey.refresh_from_db()
    return survey
