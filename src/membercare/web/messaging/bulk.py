"""Bulk send pages: audience, preview, schedule; progress (htmx), cancel, and "send now" for small due sends.
Thin: the rules live in messaging.bulk."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import require
from membercare.messaging.bulk import CANCELLABLE, bulk_enqueue, bulk_preview, bulk_progress, bulk_schedule
from membercare.messaging.bulk import bulk_cancel as bulk_cancel_service
from membercare.messaging.delivery import deliver_all
from membercare.messaging.models import BulkSend, MessageStatus
from membercare.messaging.policy import QUIET_LABEL

from ..forms import add_service_errors
from .forms import AudienceForm
from .views import SKIP_LABELS, _htmx_response, can_manage_messaging

SEND_NOW_LIMIT = 2000  # "send now" without the worker, for the demo: small audiences only


def bulk_list_page(request: HttpRequest) -> HttpResponse:
    require(can_manage_messaging(request.user))
    bulks = BulkSend.objects.select_related("template", "created_by").order_by("-created_at", "-pk")
    page = Paginator(bulks, 30).get_page(request.GET.get("page"))
    for bulk in page:
        bulk.excluded_total = int(bulk.preview.get("total", 0)) - int(bulk.preview.get("receive", 0))
    return render(request, "web/messaging/bulk_list.html", {"page": page})


def _preview_rows(preview: dict) -> list[tuple[str, str, int]]:
    return [(code, str(SKIP_LABELS.get(code, code)), n) for code, n in preview.get("excluded", {}).items()]


def bulk_new_page(request: HttpRequest) -> HttpResponse:
    """/messaging/bulk/new/: name, template, audience, time → the preview (who receives it, who does not and
    why, held for quiet hours, 3 samples) → schedule. Everything typed stays on the page."""
    require(can_manage_messaging(request.user))
    initial = {}
    if (request.GET.get("template") or "").isdigit():
        initial["template"] = int(request.GET["template"])
    if request.GET.get("at_risk"):  # from the prediction page: its list is the audience (re-derived on POST)
        initial["at_risk"] = request.GET["at_risk"]
    from membercare.messaging.holdout import new_seed

    form = AudienceForm(request.POST or None, user=request.user,
                        initial={**initial, "seed": new_seed(), "holdout_pct": 0})
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        audience, template = form.audience(), data["template"]
        at = max(data["scheduled_at"], timezone.now())
        share, seed = (data.get("holdout_pct") or Decimal("0")) / 100, data.get("seed") or new_seed()
        if request.POST.get("action") == "schedule":
            try:
                bulk = bulk_schedule(name=data["name"], template=template, audience=audience,
                                     scheduled_at=data["scheduled_at"], by=request.user, holdout_share=share,
                                     holdout_seed=seed)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("“%(name)s” is scheduled.") % {"name": bulk.name})
                return redirect("messaging_bulk", pk=bulk.pk)
        preview = bulk_preview(template=template, audience=audience, at=at, holdout_share=share, holdout_seed=seed)
        preview["rows"] = _preview_rows(preview)
        preview["at"] = at
    return render(request, "web/messaging/bulk_new.html", {"form": form, "preview": preview,
                                                           "quiet_label": QUIET_LABEL,
                                                           "at_risk": form.at_risk_source()})


def _bulk_state(bulk: BulkSend) -> dict:
    progress = bulk_progress(bulk)
    by_status = progress["by_status"]
    pending = by_status.get(MessageStatus.QUEUED, 0) + by_status.get(MessageStatus.SENDING, 0)
    finished = bulk.status in (BulkSend.Status.DONE, BulkSend.Status.CANCELLED) or (
        bulk.status == BulkSend.Status.SENDING and pending == 0)
    statuses = [(value, label, by_status.get(value, 0)) for value, label in MessageStatus.choices]
    reasons = [(code, str(SKIP_LABELS.get(code, code)), n) for code, n in progress["skipped_by_reason"].items()]
    next_at = (bulk.messages.filter(status=MessageStatus.QUEUED).aggregate(at=Min("send_after"))["at"]
               if by_status.get(MessageStatus.QUEUED) else None)
    return {"bulk": bulk, "progress": progress, "statuses": statuses, "reasons": reasons, "finished": finished,
            "percent": min(100, round(progress["done_share"] * 100)) if progress["created"] else 0,
            "pending": pending, "next_at": next_at, "can_cancel": bulk.status in CANCELLABLE and not finished,
            "can_send_now": bulk.status in (BulkSend.Status.SCHEDULED, BulkSend.Status.ENQUEUEING)
            and bulk.scheduled_at <= timezone.now(), "send_now_limit": SEND_NOW_LIMIT,
            "small": bulk.preview.get("total", 0) <= SEND_NOW_LIMIT}


def bulk_page(request: HttpRequest, pk: int) -> HttpResponse:
    """/messaging/bulk/<pk>/: what was scheduled, the progress (htmx polls it every 2 s while it runs), cancel."""
    require(can_manage_messaging(request.user))
    bulk = get_object_or_404(BulkSend.objects.select_related("template", "created_by"), pk=pk)
    preview = bulk.preview or {}
    from membercare.messaging.selectors import bulk_send_results

    return render(request, "web/messaging/bulk_detail.html", {
        **_bulk_state(bulk), "preview": preview, "preview_rows": _preview_rows(preview),
        "results": bulk_send_results(bulk) if bulk.status != BulkSend.Status.SCHEDULED else None,
        "audience": _audience_labels(bulk.audience), "quiet_label": QUIET_LABEL})


def bulk_progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_manage_messaging(request.user))
    bulk = get_object_or_404(BulkSend, pk=pk)
    return _htmx_response(render(request, "web/messaging/_bulk_progress.html", _bulk_state(bulk)))


@require_POST
def bulk_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop a bulk send: nothing more is enqueued (the enqueueing checks the status under the same lock), and
    its messages still waiting in the queue are not sent (marked "not sent: cancelled")."""
    require(can_manage_messaging(request.user))
    get_object_or_404(BulkSend, pk=pk)
    bulk, stopped = bulk_cancel_service(pk)
    if stopped is None:
        messages.error(request, _("This bulk send cannot be cancelled any more: %(status)s.") % {
            "status": bulk.get_status_display()})
        return redirect("messaging_bulk", pk=bulk.pk)
    messages.success(request, _("“%(name)s” is cancelled; %(n)d queued message(s) will not be sent.") % {
        "name": bulk.name, "n": stopped})
    return redirect("messaging_bulk", pk=bulk.pk)


@require_POST
def bulk_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    """For the demo without a worker: prepare and deliver a small, due bulk send right away."""
    require(can_manage_messaging(request.user))
    bulk = get_object_or_404(BulkSend, pk=pk)
    state = _bulk_state(bulk)
    if not state["can_send_now"]:
        messages.error(request, _("Only a bulk send that is due and not started yet can be sent now."))
    elif not state["small"]:
        messages.info(request, _("More than %(n)d members: the messaging worker sends it (membercare "
                                 "messages_worker).") % {"n": SEND_NOW_LIMIT})
    else:
        queued = bulk_enqueue(bulk)
        counts = deliver_all()
        messages.success(request, _("%(queued)d message(s) prepared, %(sent)d sent now; the rest wait for quiet "
                                    "hours, the member's preferred time or a retry.") % {
            "queued": queued, "sent": counts["sent"]})
    return redirect("messaging_bulk", pk=bulk.pk)


def _audience_labels(audience: dict) -> list[tuple[str, str]]:
    """The audience filters in words, for the bulk's page."""
    from membercare.care.models import SEVEN_SEGMENTS, FollowUp, Lifecycle, SpendClass
    from membercare.members.models import Tag
    from membercare.org.models import Store

    out = []
    choices = {"lifecycle": (_("Lifecycle"), dict(Lifecycle.choices)),
               "spend_class": (_("Spend class (ABC)"), dict(SpendClass.choices)),
               "follow_up": (_("Follow-up class"), dict(FollowUp.choices)),
               "flags": (_("Segments (all ticked must hold)"), dict(SEVEN_SEGMENTS))}
    for key, (label, names) in choices.items():
        if audience.get(key):
            out.append((label, "、".join(str(names.get(v, v)) for v in audience[key])))
    if audience.get("store_ids"):
        out.append((_("Registration stores"), "、".join(
            Store.objects.filter(pk__in=audience["store_ids"]).order_by("code").values_list("name", flat=True))))
    if audience.get("tag_ids"):
        out.append((_("Tags"), "、".join(Tag.objects.filter(pk__in=audience["tag_ids"]).values_list("name",
                                                                                                  flat=True))))
    if audience.get("member_ids"):
        out.append((_("Members"), str(len(audience["member_ids"]))))
    if audience.get("saved_audience"):
        from membercare.audiences.models import Audience, AudienceSnapshot

        saved = Audience.objects.filter(pk=audience["saved_audience"]).first()
        snapshot = AudienceSnapshot.objects.filter(pk=audience.get("audience_snapshot") or 0).first()
        text = saved.name if saved else "—"
        if snapshot is not None:
            text += " · " + _("%(n)d members frozen on %(at)s") % {
                "n": snapshot.size, "at": timezone.localtime(snapshot.created_at).strftime("%Y-%m-%d %H:%M")}
        out.append((_("Saved audience"), text))
    return out or [(_("Audience"), _("All members"))]
