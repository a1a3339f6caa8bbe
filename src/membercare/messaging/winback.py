"""The "message" action of care's win-back plans (care.plans, registered in MessagingConfig.ready): when a
clerk records a dormancy reason whose plan says so, the member is sent the message template the plan names
(its number) on the template's channel, from the clerk, like any message (consent, opt-outs, quiet hours and
the weekly cap apply: a refusal is reported on the task, it does not undo the contact)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import MessageTemplate
from .services import message_send


def _template(target: str) -> MessageTemplate | None:
    target = (target or "").strip()
    if not target.isdigit() or len(target) >= 10:
        return None
    return MessageTemplate.objects.filter(pk=int(target), is_active=True).first()


def check_message_target(target: str) -> str:
    """'' when `target` is an active message template's number, else what is wrong."""
    if _template(target) is None:
        return _("Give the number of an active message template.")
    return ""


def winback_message(contact, target: str) -> str:
    """Send template `target` to the contact's member; returns what was done, in words."""
    template = _template(target)
    if template is None:
        raise ValidationError(_("Give the number of an active message template."))
    message_send(member=contact.member, channel=template.channel, category=template.category,
                 sender=contact.staff, store=contact.store, template=template)
    return _("The message “%(template)s” was sent: ask whether they received it.") % {"template": template.name}
