"""Reactions to care contacts (connected in ServiceConfig.ready): a callback sends a satisfaction survey, and
a contact logged on a complaint's follow-up task records the complaint's follow-up step (closing it).
Either runs in a savepoint: a refusal here never undoes the contact."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from membercare.care.models import Contact, Outcome

logger = logging.getLogger(__name__)


def on_contact_saved(sender, instance: Contact, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    from .complaints import FOLLOW_UP_RULE, complaint_step_record
    from .models import Complaint, ComplaintState
    from .surveys import survey_after_contact

    task = instance.task
    if task is not None and task.rule == FOLLOW_UP_RULE and instance.outcome == Outcome.REACHED:
        complaint = Complaint.objects.filter(pk=(task.context or {}).get("complaint"),
                                             state=ComplaintState.FOLLOW_UP).first()
        if complaint is not None and instance.staff is not None:
            try:
                with transaction.atomic():
                    complaint_step_record(complaint=complaint, step=ComplaintState.FOLLOW_UP,
                                          note=instance.notes or _("Follow-up call: member reached."),
                                          by=instance.staff, at=instance.at)
            except ValidationError as exc:
                logger.info("complaint %s follow-up not recorded from contact %s: %s", complaint.pk,
                            instance.pk, exc.messages)
            return  # closing the complaint sends its own survey
    try:
        with transaction.atomic():
            survey_after_contact(instance)
    except ValidationError as exc:
        logger.info("no survey after contact %s: %s", instance.pk, exc.messages)
