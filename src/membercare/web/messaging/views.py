"""Messaging pages: message templates with a live preview (htmx), the outbox / delivery log with the cost per
channel, a care task completed by sending its message, and an opt-out at the counter (bulk sends: bulk.py;
settings: settings.py). Thin: the rules live in messaging.services and messaging.selectors; every page
checks permissions on the server."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from membercare.care.access import can_act_on_member, can_act_on_task
from membercare.care.catalogue import rule_label
from membercare.care.models import Task, TaskStatus
from membercare.care.selectors import my_task_counts
from membercare.core.permissions import (
    can_edit_programme,
    can_see_full_phone,
    can_work_members,
    require,
    visible_stores,
)
from membercare.core.phone import mask_phone
from membercare.members.models import Member
from membercare.members.selectors import member_search
from membercare.messaging.config import messaging_config
from membercare.messaging.content import content_violations
from membercare.messaging.models import Category, MessageChannel, MessageTemplate
from membercare.messaging.placeholders import PLACEHOLDERS, member_values
from membercare.messaging.placeholders import render as render_text
from membercare.messaging.policy import EXCLUSION_REASONS, sms_segments
from membercare.messaging.selectors import (
    cost_by_channel,
    outbox_search,
    today_range,
)
from membercare.messaging.services import opt_out, template_check, template_save, tier_label
from membercare.messaging.task_sends import (
    message_send_logged,
    task_group_preview,
    task_group_send,
    task_message_draft,
)
from membercare.org.models import Role

from ..forms import add_service_errors
from .forms import MESSAGE_CHANNELS as MESSAGE_CHANNEL_CHOICES
from .forms import CostPeriodForm, OptOutForm, OutboxFilterForm, TaskMessageForm, TemplateForm

# skip reasons shown in progress and the log: the policy's, plus a send cancelled before the message left
SKIP_LABELS = {**EXCLUSION_REASONS, "cancelled": gettext_lazy("the bulk send was cancelled")}


def can_manage_messaging(user) -> bool:
    """Templates, bulk sends, the whole outbox and the costs: the VIP specialist and the admin."""
    return can_edit_programme(user)


def can_see_outbox(user) -> bool:
    """The outbox: HQ sees every message; a store manager the messages of their own stores."""
    return can_manage_messaging(user) or (can_work_members(user) and user.role == Role.MANAGER)


def _htmx_response(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ["HX-Request"])
    return response


# --------------------------------------------------------------------------------------- templates


def template_list_page(request: HttpRequest) -> HttpResponse:
    """/messaging/templates/: the templates by category."""
    require(can_manage_messaging(request.user))
    templates = list(MessageTemplate.objects.select_related("updated_by").order_by("category", "name"))
    groups = [(value, label, [t for t in templates if t.category == value]) for value, label in Category.choices]
    return render(request, "web/messaging/templates.html", {"groups": groups})


TEMPLATE_FIELDS = ("name", "category", "channel", "subject", "body", "sms_template_code", "is_active")


def template_edit_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """/messaging/templates/new/ and /messaging/templates/<pk>/: the editor, the placeholders beside it and a
    live preview for a chosen member (the same checks as on save, with the words that broke a rule)."""
    require(can_manage_messaging(request.user))
    template = get_object_or_404(MessageTemplate, pk=pk) if pk else None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                saved = template_save(by=request.user, template=template,
                                      **{k: form.cleaned_data[k] for k in TEMPLATE_FIELDS})
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Template “%(name)s” saved.") % {"name": saved.name})
                return redirect("messaging_templates")
        data = request.POST
    else:
        initial = TemplateForm.initial_from(template) if template else {
            "channel": MessageChannel.SMS, "is_active": True,
            "category": request.GET.get("category") if request.GET.get("category") in Category.values else ""}
        form = TemplateForm(initial=initial)
        data = {**initial, "is_active": "on" if initial.get("is_active") else ""}
    return render(request, "web/messaging/template_edit.html", {
        "form": form, "template": template, "placeholders": list(PLACEHOLDERS.items()),
        "preview": template_preview(data),
    })


def template_preview(data) -> dict:
    """The template rendered for a member (or with sample values), its SMS segments and cost, and every
    content-rule refusal (for the template, and for this member's rendered text)."""
    category, channel = data.get("category") or "", data.get("channel") or MessageChannel.SMS
    body, subject = data.get("body") or "", data.get("subject") or ""
    query = (data.get("preview_member") or "").strip()
    config = messaging_config()
    samples = {key: p.sample for key, p in PLACEHOLDERS.items()}
    matches: list[Member] = []
    if query:
        matches = list(member_search(query).members[:5])
    member = matches[0] if matches else None
    values = {**samples, **member_values(member, tier_of=tier_label)} if member else samples
    rendered, rendered_subject = render_text(body, values), render_text(subject, values)
    errors: dict[str, list[str]] = {}
    if body.strip() or subject.strip():
        try:
            template_check(category=category, body=body, subject=subject, channel=channel)
        except ValidationError as exc:
            errors = exc.message_dict
    template_messages = {m for ms in errors.values() for m in ms}
    member_problems = []
    if member and category in Category.values and body.strip():
        member_problems = [v.message() for v in content_violations(category, f"{rendered_subject}\n{rendered}",
                                                                   config, values)
                           if v.message() not in template_messages]
    segments = sms_segments(rendered, config) if channel == MessageChannel.SMS else 0
    price = Decimal(str(config["sms"]["price_per_segment"]))
    return {"member": member, "matches": matches, "query": query, "body": rendered, "subject": rendered_subject,
            "chars": len(rendered), "segments": segments, "cost": (price * segments).quantize(Decimal("0.001")),
            "channel": channel, "errors": [(field, msgs) for field, msgs in errors.items()],
            "member_problems": member_problems, "ok": not errors and bool(body.strip())}


@require_POST
def template_preview_partial(request: HttpRequest) -> HttpResponse:
    """htmx: the preview panel for what is typed in the editor (nothing is saved)."""
    require(can_manage_messaging(request.user))
    return _htmx_response(render(request, "web/messaging/_template_preview.html",
                                 {"preview": template_preview(request.POST)}))


# ------------------------------------------------------------------------------------------ outbox


def outbox_page(request: HttpRequest) -> HttpResponse:
    """/messaging/outbox/: every message with its delivery status (HQ: all; a manager: their stores), and for
    HQ the cost per channel over a period."""
    require(can_see_outbox(request.user))
    user = request.user
    form = OutboxFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    store_ids = None if can_manage_messaging(user) else list(visible_stores(user).values_list("pk", flat=True))
    qs = outbox_search(q=(data.get("q") or "").strip(), status=data.get("status") or "",
                       channel=data.get("channel") or "", category=data.get("category") or "",
                       bulk_id=data.get("bulk"), since=data.get("since"), until=data.get("until"),
                       store_ids=store_ids)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    full = can_see_full_phone(user)
    rows = [(m, m.to if full or m.channel != MessageChannel.SMS else mask_phone(m.to),
             str(SKIP_LABELS.get(m.skip_reason, m.skip_reason)) if m.skip_reason else "") for m in page]
    costs = None
    cost_form = CostPeriodForm(request.GET or None)
    if can_manage_messaging(user):
        since, until = cost_form.period(today_range())
        lines = cost_by_channel(since=since, until=until)
        labels = dict(MessageChannel.choices)
        costs = {"since": since, "until": until,
                 "lines": [{**line, "label": labels.get(line["channel"], line["channel"])} for line in lines],
                 "total": sum((line["cost"] for line in lines), Decimal("0.00"))}
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "web/messaging/outbox.html", {
        "form": form, "page": page, "rows": rows, "costs": costs, "cost_form": cost_form,
        "query": params.urlencode(), "scoped": store_ids is not None})


# ---------------------------------------------------------------------------- a care task's message


def _task(request: HttpRequest, pk: int) -> Task:
    task = get_object_or_404(Task.objects.select_related("member", "store"), pk=pk)
    if not can_act_on_task(request.user, task):
        raise PermissionDenied
    return task


def _task_message_initial(task: Task, staff) -> tuple[str, MessageTemplate | None, dict]:
    category, template, channel, body, subject = task_message_draft(task, staff)
    return category, template, {"channel": channel, "body": body, "subject": subject}


def care_task_message(request: HttpRequest, pk: int) -> HttpResponse:
    """A care task done by sending its message: the matching template rendered for the member, editable; on
    send the message is queued (consent, opt-outs, content rules checked) and the contact is logged, so the
    task is done and the message is on the member's timeline. htmx: errors come back inline in the card,
    success removes the card."""
    task = _task(request, pk)
    category, template, initial = _task_message_initial(task, request.user)
    form = TaskMessageForm(request.POST or None, initial=initial, prefix=f"m{task.pk}")
    context = {"task": task, "form": form, "template": template, "category": Category(category).label}
    if task.status != TaskStatus.OPEN:
        form.add_error(None, _("This task is already done or cancelled."))
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = message_send_logged(staff=request.user, task=task, channel=data["channel"],
                                          category=category, template=template, body=data["body"],
                                          subject=data["subject"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            done = _("Message to %(name)s sent; the task is done.") % {"name": task.member.name}
            if message.send_after > timezone.now() + timezone.timedelta(minutes=1):
                done = _("Message to %(name)s queued until %(at)s (quiet hours or the member's preferred time); "
                         "the task is done.") % {"name": task.member.name,
                                                 "at": timezone.localtime(message.send_after).strftime("%m-%d %H:%M")}
            if request.htmx:
                response = render(request, "web/messaging/_task_sent.html", {
                    "text": done, "counts": my_task_counts(request.user, timezone.localdate())})
                response["HX-Retarget"] = f"#task-{task.pk}"
                response["HX-Reswap"] = "outerHTML"
                return _htmx_response(response)
            messages.success(request, done)
            return redirect("care_tasks")
    if request.htmx:
        return _htmx_response(render(request, "web/messaging/_task_message.html", context))
    return render(request, "web/messaging/task_message.html", context)


# --------------------------------------------------------------------------------- member opt-outs


@require_POST
def member_opt_out(request: HttpRequest, pk: int) -> HttpResponse:
    """The member asks at the counter (or on the phone) not to be messaged on a channel."""
    require(can_work_members(request.user))
    member = get_object_or_404(Member, pk=pk)
    form = OptOutForm(request.POST)
    if form.is_valid():
        channel = form.cleaned_data["channel"]
        opt_out(member, channel, by=request.user,
                source=_("Asked %(staff)s") % {"staff": request.user.display_name or request.user.username})
        messages.success(request, _("%(name)s will get no more messages by %(channel)s.") % {
            "name": member.name, "channel": MessageChannel(channel).label})
    else:
        messages.error(request, _("Choose the channel."))
    return redirect(reverse("member_detail", args=[member.pk]) + "#opt-outs")


def care_task_group_send(request: HttpRequest, rule: str) -> HttpResponse:
    """A group of message tasks from the care list: GET previews each member's message (or why it would not
    go, and when it goes); POST sends the listed ones in one action (membercare.messaging.task_sends: each task
    locked and checked open, so nothing goes twice) and returns to the list with the counts."""
    require(can_work_members(request.user))
    rule = rule[:40]
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("task")[:500] if i.isdigit()]
        counts = task_group_send(staff=request.user, rule=rule, task_ids=ids)
        messages.success(request, _("%(sent)d messages sent, their tasks done; %(refused)d not sent (their "
                                    "tasks stay open); %(skipped)d already done.") % counts)
        return redirect(f"{reverse('care_tasks')}?rule={rule}")
    lines = task_group_preview(staff=request.user, rule=rule)
    return render(request, "web/messaging/task_group_send.html", {
        "rule": rule, "label": rule_label(rule, {}), "lines": lines,
        "ready": [line for line in lines if line.ok], "refused": [line for line in lines if not line.ok],
        "now": timezone.now(),
    })


def member_message_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-off message to a member from the profile, through the same rules as every send (consent for
    marketing, opt-outs, weekly cap, open complaints, content rules, quiet hours and preferred time); the contact
    is logged, so the message is on the member's timeline. A template fills the text in for the member."""
    member = get_object_or_404(Member.objects.select_related("home_store", "owner"), pk=pk)
    if not can_act_on_member(request.user, member):
        raise PermissionDenied
    templates = MessageTemplate.objects.filter(is_active=True).order_by("category", "name")
    picked = request.POST.get("template") or request.GET.get("template") or ""
    template = templates.filter(pk=int(picked)).first() if picked.isdigit() else None
    initial = {"channel": member.preferred_channel if member.preferred_channel in dict(MESSAGE_CHANNEL_CHOICES)
               else MessageChannel.SMS}
    if template is not None:
        values = member_values(member, clerk=request.user, tier_of=tier_label)
        initial.update(channel=template.channel, body=render_text(template.body, values),
                       subject=render_text(template.subject, values))
    form = TaskMessageForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        category = template.category if template is not None else Category.CALLBACK
        try:
            message_send_logged(staff=request.user, member=member, channel=data["channel"], category=category,
                                template=template, body=data["body"], subject=data["subject"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Message to %(name)s sent.") % {"name": member.name})
            return redirect("member_detail", pk=member.pk)
    return render(request, "web/messaging/member_message.html", {
        "member": member, "form": form, "templates": templates, "template": template})
