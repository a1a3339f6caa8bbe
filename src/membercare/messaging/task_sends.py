"""A group of message tasks sent in one action from the care list (issue 18): a clerk with 115 campaign notices
previews them all — each member's message as it would go, or why it would not (consent, opt-out, weekly cap,
an open complaint, content rules) and when (quiet hours, the member's preferred time) — and sends them at once.

Each task goes through the same path as one task's "send the message" (services.message_send with the rule's
template, then care's contact_log with outcome "message sent"), in a transaction of its own that first locks
the task and checks it is still open: a second click, a retried request or a colleague working the same list
sends nothing twice. A task whose member may not receive the message stays open, with the reason.
Written by hand on message_send rather than on bulk.bulk_schedule: a bulk send is for an audience, has no
task to close and no clerk as sender; here each message is the clerk's, on the member's timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.access import can_act_on_task
from membercare.care.contacts import contact_log
from membercare.care.models import Outcome, Task, TaskStatus
from membercare.members.models import Member
from membercare.org.models import Staff

from .models import Category, Message, MessageChannel, MessageTemplate
from .placeholders import date_text, member_values, render
from .policy import EXCLUSION_REASONS, MESSAGE_CHANNELS
from .selectors import RULE_CATEGORY, task_message_channel, template_for
from .services import SendRefused, message_send, tier_label

GROUP_MAX = 500  # tasks one action sends: a clerk's day has a few hundred at most


@dataclass
class TaskSend:
    task: Task
    channel: str
    body: str = ""
    send_after: dt.datetime | None = None
    refusal: str = ""  # EXCLUSION_REASONS code, or "error"
    refusal_text: str = ""

    @property
    def ok(self) -> bool:
        return not self.refusal

    @property
    def reason_label(self) -> str:
        return str(EXCLUSION_REASONS.get(self.refusal) or self.refusal_text)

    @property
    def channel_label(self) -> str:
        return str(dict(MessageChannel.choices).get(self.channel, self.channel))


def _extra(task: Task) -> dict:
    context = task.context or {}
    extra = {key: context[key] for key in ("holiday", "event") if context.get(key)}
    if task.rule == "points_expiring" and context.get("expires_on"):  # the figures the task was made with
        extra["points_expiring"] = context.get("points", "")
        extra["expires_on"] = date_text(context["expires_on"])
    return extra


def task_message_draft(task: Task, staff: Staff) -> tuple[str, MessageTemplate | None, str, str, str]:
    """What one task's message would say: (category, template, channel, body, subject) rendered for the member."""
    category = RULE_CATEGORY.get(task.rule, Category.CALLBACK)
    channel = task_message_channel(task)
    template = template_for(category, channel)
    values = member_values(task.member, store=task.store, clerk=staff, extra=_extra(task), tier_of=tier_label)
    greeting = (task.context or {}).get("greeting")  # a festival's own text (care.Festival.greeting)
    body = render(greeting, values) if greeting else (render(template.body, values) if template else "")
    subject = render(template.subject, values) if template else ""
    return category, template, channel, body, subject


def group_tasks(staff: Staff, rule: str, day: dt.date):
    """The staff's open tasks of `rule` due by `day` that go by message (SMS, email, WeChat)."""
    return (Task.objects.filter(assignee=staff, rule=rule, status=TaskStatus.OPEN, due_on__lte=day,
                                channel__in=MESSAGE_CHANNELS)
            .select_related("member", "member__home_store", "member__owner", "store").order_by("due_on", "pk"))


@transaction.atomic
def message_send_logged(*, staff: Staff, channel: str, category: str, member: Member | None = None,
                        task: Task | None = None, template: MessageTemplate | None = None, body: str = "",
                        subject: str = "", at: dt.datetime | None = None) -> Message:
    """A clerk's message to a member (for a task, which it completes, or not), logged as the contact with outcome
    "message sent", so it is on the member's timeline: the one path of the care list, its group sends and the
    profile. Refusals (services.SendRefused) write nothing."""
    member = task.member if task is not None else member
    message = message_send(member=member, channel=channel, category=category, sender=staff,
                           store=task.store if task is not None else None, task=task,
                           extra=_extra(task) if task is not None else None, template=template, body=body,
                           subject=subject, at=at)
    contact_log(task=task, member=None if task is not None else member, staff=staff, channel=channel,
                outcome=Outcome.MESSAGE_SENT, notes=message.body, at=at)
    return message


def _send_one(task: Task, staff: Staff, *, at: dt.datetime) -> Message:
    category, template, channel, _body, _subject = task_message_draft(task, staff)
    if template is None:
        raise SendRefused("no_template", _("No active message template for this kind of task."))
    return message_send_logged(staff=staff, task=task, channel=channel, category=category, template=template, at=at)


def task_group_preview(*, staff: Staff, rule: str, day: dt.date | None = None) -> list[TaskSend]:
    """Each task of the group as it would be sent now (a dry run of the send, rolled back), or why not."""
    day = day or timezone.localdate()
    at = timezone.now()
    out = []
    for task in group_tasks(staff, rule, day)[:GROUP_MAX]:
        line = TaskSend(task=task, channel=task_message_channel(task))
        try:
            with transaction.atomic():
                message = _send_one(task, staff, at=at)
                line.body, line.channel, line.send_after = message.body, message.channel, message.send_after
                transaction.set_rollback(True)
        except SendRefused as refused:
            line.refusal, line.refusal_text = refused.reason, "；".join(refused.messages)
        except ValidationError as invalid:
            line.refusal, line.refusal_text = "error", "；".join(invalid.messages)
        out.append(line)
    out.sort(key=lambda line: (line.ok is False, line.refusal))  # the ready first, the refused by reason
    return out


def task_group_send(*, staff: Staff, rule: str, task_ids: list[int], day: dt.date | None = None) -> dict[str, int]:
    """Send the messages of these tasks (of the group, still open, the staff's to work): each in its own
    transaction with the task locked. Returns counts: sent, refused (left open), skipped (done meanwhile)."""
    day = day or timezone.localdate()
    counts = {"sent": 0, "refused": 0, "skipped": 0}
    wanted = {int(i) for i in task_ids[:GROUP_MAX]}
    for task_id in sorted(wanted):
        at = timezone.now()
        try:
            with transaction.atomic():
                task = (group_tasks(staff, rule, day).select_for_update(of=("self",)).filter(pk=task_id).first())
                if task is None or not can_act_on_task(staff, task):
                    counts["skipped"] += 1
                    continue
                _send_one(task, staff, at=at)
                counts["sent"] += 1
        except ValidationError:
            counts["refused"] += 1
    return counts
