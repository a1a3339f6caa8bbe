"""Offline stores' sales upload and the birthday audit pages. Thin: rules live in checkout.uploads and
loyalty.audit; permissions are checked there and here on the server."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.checkout.uploads import (
    SalesUploadError,
    confirm_upload,
    discard_upload,
    preview_upload,
    upload_columns,
)
from membercare.core.permissions import can_edit_programme, require, visible_stores
from membercare.core.workdays import calendar_covers
from membercare.loyalty.audit import birthday_audit, birthday_audit_xlsx, flag_counts
from membercare.loyalty.programme import programme_at
from membercare.org.models import Store
from membercare.sales.models import SalesUpload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AUDIT_PAGE_SIZE = 100


def _offline_stores(user) -> QuerySet[Store]:
    return visible_stores(user).filter(networked=False, is_active=True).order_by("code")


class SalesUploadForm(forms.Form):
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=Store.objects.none())
    file = forms.FileField(label=gettext_lazy("Sales file (.xlsx or .csv)"))

    def __init__(self, *args, stores: QuerySet[Store], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores


def sales_upload_page(request: HttpRequest) -> HttpResponse:
    stores = _offline_stores(request.user)
    if request.method == "POST":
        form = SalesUploadForm(request.POST, request.FILES, stores=stores)
        if form.is_valid():
            try:
                record = preview_upload(upload=form.cleaned_data["file"], store=form.cleaned_data["store"],
                                        user=request.user)
            except SalesUploadError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("sales_upload_preview", pk=record.pk)
    else:
        first = stores.first()
        form = SalesUploadForm(stores=stores, initial={"store": first.pk if first else None})
    uploads = SalesUpload.objects.filter(store__in=visible_stores(request.user)).select_related("store", "created_by")
    today = timezone.localdate()
    return render(request, "web/sales_upload.html", {
        "form": form, "has_stores": stores.exists(), "columns": upload_columns(), "uploads": uploads[:15],
        "deadline_days": programme_at(today).offline_upload_working_days,
        "calendar_estimated": not calendar_covers(today.year),
    })


def sales_upload_preview(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(SalesUpload.objects.select_related("store", "created_by", "posted_by")
                               .filter(store__in=visible_stores(request.user)), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "confirm":
                record = confirm_upload(upload=record, user=request.user)
                result = record.summary["result"]
                messages.success(request, _(
                    "Receipts posted: %(posted)d; already in the system: %(skipped)d; refused: %(refused)d."
                ) % result)
            elif action == "discard":
                discard_upload(upload=record, user=request.user)
                messages.success(request, _("The file was discarded; nothing was posted."))
                return redirect("sales_upload")
        except SalesUploadError as exc:
            messages.error(request, exc.message)
        return redirect("sales_upload_preview", pk=record.pk)
    summary = record.summary
    return render(request, "web/sales_upload_preview.html", {
        "record": record, "summary": summary, "result": summary.get("result"),
        "previewed": record.status == SalesUpload.Status.PREVIEWED,
        "more_errors": summary.get("error_count", 0) - len(summary.get("errors", [])),
        "more_receipts": summary.get("to_post", 0) - len(summary.get("receipt_list", [])),
    })


# ---------------------------------------------------------------------------------------- birthday audit


class AuditFilterForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), required=False,
                                   queryset=Store.objects.order_by("code"), empty_label=gettext_lazy("All stores"))
    flagged = forms.BooleanField(label=gettext_lazy("Flagged only"), required=False)


def _audit_filters(request: HttpRequest) -> tuple[AuditFilterForm, dict]:
    today = timezone.localdate()
    default_since = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # first day of last month
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    since = data.get("since") or default_since
    until = data.get("until") or today
    if until < since:
        since, until = until, since
    return form, {"since": since, "until": until, "store": data.get("store"), "flagged_only": bool(data.get("flagged"))}


def birthday_audit_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    form, filters = _audit_filters(request)
    if not form.is_bound:
        form = AuditFilterForm(initial={"since": filters["since"], "until": filters["until"]})
    rows = birthday_audit(**filters)
    page = Paginator(rows, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/birthday_audit.html", {
        "form": form, "filters": filters, "page": page, "total": len(rows), "counts": flag_counts(rows),
        "query": query.urlencode(),
    })


def birthday_audit_export(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    _form, filters = _audit_filters(request)
    out, _count = birthday_audit_xlsx(request.user, **filters)
    filename = f"birthday-audit-{filters['since']:%Y%m%d}-{filters['until']:%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)
