"""Care pages: the clerk's task list with the one-screen contact log (htmx), the manager's view of the store's
tasks by clerk (reassignment, a clerk leaving), the specialist's care settings and care events. Thin: the
rules live in care's writes (contacts, assignment, config_writes, calendar_writes) and care.selectors; every
page checks permissions on the server."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.analytics.measures import Scope, task_totals, tasks_by_clerk
from membercare.care.access import can_act_on_member, can_act_on_task, can_edit_care_settings, can_manage_store_tasks
from membercare.care.assignment import staff_leave, store_default_assignee_set, task_reassign
from membercare.care.calendar_writes import care_event_create, care_event_update
from membercare.care.config import care_config
from membercare.care.config_writes import care_config_save
from membercare.care.contacts import REASON_RULES, contact_log
from membercare.care.models import CareConfig, CareEvent, Lifecycle, MemberSegments, StoreCareSettings, Task
from membercare.care.selectors import (
    care_config_history,
    member_card,
    my_task_counts,
    store_open_tasks,
    store_staff,
    task_board,
)
from membercare.core.permissions import can_work_members, require
from membercare.members.models import Member
from membercare.org.models import Staff, Store

from ..forms import add_service_errors
from ..stores import picked_store, store_choices
from .forms import (
    CareEventForm,
    CareSettingsForm,
    ContactForm,
    DefaultAssigneeForm,
    LeaveForm,
    ReassignForm,
    setting_label,
    setting_value,
)

DORMANT_LIFECYCLES = (Lifecycle.DORMANT, Lifecycle.SLEEPING, Lifecycle.LOST)


# ---------------------------------------------------------------------------------- the task list


def _contact_form(task: Task, data=None) -> ContactForm:
    return ContactForm(data, prefix=f"t{task.pk}", initial={"channel": task.channel},
                       show_reason=task.rule in REASON_RULES)


DUE_FILTERS = ("overdue", "today")


def _board(request: HttpRequest, today: dt.date):
    q = request.GET
    store = q.get("store", "")
    return task_board(request.user, today, rule=q.get("rule", "")[:40], channel=q.get("channel", "")[:10],
                      due=q.get("due", "") if q.get("due") in DUE_FILTERS else "",
                      store=int(store) if store.isdigit() and len(store) < 10 else None, page=q.get("page") or 1)


def care_tasks_page(request: HttpRequest) -> HttpResponse:
    """/care/: my open tasks due today or overdue, one card per member with all of the member's reasons, the
    member's key facts and one contact form; grouped by kind (chips with counts), filtered, paged."""
    require(can_work_members(request.user))
    today = timezone.localdate()
    board = _board(request, today)
    return render(request, "web/care/tasks.html", {
        "board": board, "cards": [(card, _contact_form(card.primary.task)) for card in board.cards],
        "today": today, "counts": my_task_counts(request.user, today),
    })


def _visible_task(request: HttpRequest, pk: int) -> Task:
    task = get_object_or_404(Task.objects.select_related("member", "store"), pk=pk)
    if not can_act_on_task(request.user, task):
        raise PermissionDenied
    return task


def _log_from_form(request: HttpRequest, form: ContactForm, *, task: Task | None = None,
                   member: Member | None = None, also: list[str] | None = None) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        contact_log(task=task, member=member, staff=request.user, channel=data["channel"], outcome=data["outcome"],
                    reason=data.get("reason") or "", notes=data["notes"], next_step=data["next_step"],
                    next_due_on=data["next_due_on"], also=also or ())
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    return True


@require_POST
def care_task_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a contact for a task. htmx: on success the card goes away (and the counts refresh); on an error the
    card comes back with the errors next to the fields and everything typed kept."""
    task = _visible_task(request, pk)
    form = _contact_form(task, request.POST)
    also = request.POST.getlist("also")[:50]
    ok = _log_from_form(request, form, task=task, also=also)
    today = timezone.localdate()
    if request.htmx:
        if ok:
            response = render(request, "web/care/_task_done.html", {
                "member": task.member, "counts": my_task_counts(request.user, today)})
        else:
            response = render(request, "web/care/_task_card.html", {
                "card": member_card(task, [int(i) for i in also if i.isdigit()], today), "form": form, "open": True})
        response["Cache-Control"] = "no-store"
        patch_vary_headers(response, ["HX-Request"])
        return response
    if ok:
        messages.success(request, _("Contact with %(name)s logged.") % {"name": task.member.name})
        return redirect("care_tasks")
    board = _board(request, today)
    cards = [(card, form if card.primary.task.pk == task.pk else _contact_form(card.primary.task))
             for card in board.cards]
    if all(card.primary.task.pk != task.pk for card, _form in cards):
        cards.insert(0, (member_card(task, [int(i) for i in also if i.isdigit()], today), form))
    return render(request, "web/care/tasks.html", {"board": board, "cards": cards, "today": today,
                                                   "open_task": task.pk,
                                                   "counts": my_task_counts(request.user, today)})


def member_contact_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a contact with a member outside any task (from the profile)."""
    member = get_object_or_404(Member.objects.select_related("home_store"), pk=pk)
    require(can_act_on_member(request.user, member))
    segments = MemberSegments.objects.filter(member=member).only("lifecycle").first()
    show_reason = bool(segments and segments.lifecycle in DORMANT_LIFECYCLES)
    form = ContactForm(request.POST or None, initial={"channel": member.preferred_channel},
                       show_reason=show_reason)
    if request.method == "POST" and _log_from_form(request, form, member=member):
        messages.success(request, _("Contact with %(name)s logged.") % {"name": member.name})
        return redirect("member_detail", pk=member.pk)
    return render(request, "web/care/member_contact.html", {"member": member, "form": form})


# ---------------------------------------------------------------------------------- the manager


def _managed_store(request: HttpRequest) -> tuple[Store, list[Store]]:
    """The store picked among those the user manages (the first by default); 403 for any other."""
    stores = store_choices(request.user, can=can_manage_store_tasks)
    return picked_store(request, stores), stores


def _date(value: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def care_store_page(request: HttpRequest) -> HttpResponse:
    """/care/store/: the store's tasks by clerk (done on time vs late, overdue), open tasks to reassign, a clerk
    leaving, the default assignee. Managers see their stores; HQ picks any store."""
    require(can_work_members(request.user))
    if not can_manage_store_tasks(request.user):
        raise PermissionDenied
    store, stores = _managed_store(request)
    today = timezone.localdate()
    start = _date(request.GET.get("from", ""), today.replace(day=1))
    end = _date(request.GET.get("to", ""), today)
    if end < start:
        start, end = end, start
    assignee = request.GET.get("assignee", "")
    assignee_id = int(assignee) if assignee.isdigit() else None
    colleagues = store_staff(store)
    tasks = store_open_tasks(store, assignee_id=assignee_id, day=today)
    settings = StoreCareSettings.objects.filter(store=store).first()
    lines = tasks_by_clerk(Scope((store.pk,), start, end), staff_ids=[c.pk for c in colleagues])
    people = Staff.objects.in_bulk([line["assignee_id"] for line in lines if line["assignee_id"]])
    for line in lines:  # the analytics measure (one definition of on time, shared with the dashboards)
        line["staff"] = people.get(line["assignee_id"])
    return render(request, "web/care/store.html", {
        "store": store, "stores": stores, "start": start, "end": end, "today": today,
        "lines": lines, "total": task_totals(lines), "tasks": tasks, "assignee": assignee,
        "colleagues": colleagues,
        "reassign_form": ReassignForm(task_ids=[t.pk for t in tasks], colleagues=colleagues),
        "leave_form": LeaveForm(colleagues=colleagues, prefix="leave"),
        "default_form": DefaultAssigneeForm(colleagues=colleagues, initial={
            "default_assignee": settings.default_assignee_id if settings else None}),
    })


def _back_to_store(store: Store) -> HttpResponse:
    return redirect(f"{reverse('care_store')}?store={store.pk}")


def _form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@require_POST
def care_store_reassign(request: HttpRequest) -> HttpResponse:
    store, _stores = _managed_store(request)
    colleagues = store_staff(store)
    ids = [int(v) for v in request.POST.getlist("tasks") if v.isdigit()]
    form = ReassignForm(request.POST, task_ids=ids, colleagues=colleagues)
    if form.is_valid():
        try:
            moved = task_reassign(tasks=form.cleaned_data["tasks"], to_staff=form.cleaned_data["to_staff"],
                                  by=request.user, store=store)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(n)d task(s) given to %(name)s.") % {
                "n": moved, "name": form.cleaned_data["to_staff"]})
    else:
        messages.error(request, _form_errors(form))
    return _back_to_store(store)


@require_POST
def care_store_leave(request: HttpRequest) -> HttpResponse:
    store, _stores = _managed_store(request)
    form = LeaveForm(request.POST, colleagues=store_staff(store), prefix="leave")
    if form.is_valid():
        staff, to_staff = form.cleaned_data["staff"], form.cleaned_data["to_staff"]
        try:
            moved = staff_leave(staff=staff, by=request.user, store=store, to_staff=to_staff)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(name)s no longer works at %(store)s: %(tasks)d open task(s) and "
                                        "%(members)d member(s) handed over.") % {
                "name": staff, "store": store.name, "tasks": moved["tasks"], "members": moved["members"]})
    else:
        messages.error(request, _form_errors(form))
    return _back_to_store(store)


@require_POST
def care_store_default(request: HttpRequest) -> HttpResponse:
    store, _stores = _managed_store(request)
    form = DefaultAssigneeForm(request.POST, colleagues=store_staff(store))
    if form.is_valid():
        try:
            store_default_assignee_set(store=store, staff=form.cleaned_data["default_assignee"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Default assignee saved."))
    else:
        messages.error(request, _form_errors(form))
    return _back_to_store(store)


# ----------------------------------------------------------------------------------- the settings


def _latest_config_pk() -> int | None:
    return CareConfig.objects.order_by("-created_at", "-pk").values_list("pk", flat=True).first()


def care_settings_page(request: HttpRequest) -> HttpResponse:
    """/care/settings/: segment thresholds and every care rule (switch and parameters) as a form."""
    require(can_edit_care_settings(request.user))
    config, base_pk = care_config(), _latest_config_pk()
    if request.method == "POST":
        form = CareSettingsForm(request.POST, config=config)
        if form.is_valid():
            if form.cleaned_data.get("base_version") != base_pk:
                form.add_error(None, _("Someone saved other care settings meanwhile. The form shows what you "
                                       "typed: check it against the history and save again."))
                data = request.POST.copy()
                data["base_version"] = str(base_pk or "")
                errors = form.non_field_errors()
                form = CareSettingsForm(data, config=config)
                form.is_valid()
                for error in errors:
                    form.add_error(None, error)
            else:
                try:
                    care_config_save(params=form.params(), by=request.user, note=form.cleaned_data["note"])
                except ValidationError as exc:
                    add_service_errors(form, exc, field_for=form.field_for)
                else:
                    messages.success(request, _("The care settings were saved; the daily job uses them from its "
                                                "next run."))
                    return redirect("care_settings_history")
    else:
        form = CareSettingsForm(config=config, base_version=base_pk)
    return render(request, "web/care/settings.html", {"form": form})


def care_settings_history_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_care_settings(request.user))
    entries = [(e.version, [(setting_label(p), setting_value(p, old), setting_value(p, new))
                            for p, old, new in e.changes]) for e in care_config_history()]
    return render(request, "web/care/settings_history.html", {"entries": entries})


# ------------------------------------------------------------------------------------------ events


def care_events_page(request: HttpRequest) -> HttpResponse:
    """/care/events/: new stock and campaigns (the care rules call and notify members ahead of them)."""
    require(can_edit_care_settings(request.user))
    form = CareEventForm(request.POST or None, initial={"kind": CareEvent.Kind.NEW_STOCK})
    if request.method == "POST" and form.is_valid():
        try:
            care_event_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Event saved."))
            return redirect("care_events")
    today = timezone.localdate()
    events = CareEvent.objects.select_related("brand", "series", "created_by").order_by("-starts_on", "-pk")
    return render(request, "web/care/events.html", {
        "form": form, "upcoming": [e for e in events if (e.ends_on or e.starts_on) >= today],
        "past": [e for e in events if (e.ends_on or e.starts_on) < today][:50], "event": None,
    })


def care_event_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_edit_care_settings(request.user))
    event = get_object_or_404(CareEvent, pk=pk)
    form = CareEventForm(request.POST or None, initial=CareEventForm.initial_from(event))
    if request.method == "POST" and form.is_valid():
        try:
            care_event_update(event=event, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Event saved."))
            return redirect("care_events")
    return render(request, "web/care/event_edit.html", {"form": form, "event": event})

