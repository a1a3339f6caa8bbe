"""Offline stores' sales upload (upload -> preview -> confirm). Thin: rules live in checkout.uploads;
permissions are checked there and here on the server."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.checkout.uploads import (
    SalesUploadError,
    confirm_upload,
    discard_upload,
    preview_upload,
    upload_columns,
)
from membercare.core.permissions import visible_stores
from membercare.core.workdays import calendar_covers
from membercare.loyalty.programme import programme_at
from membercare.org.models import Store
from membercare.sales.models import SalesUpload

from .forms import SalesUploadForm


def _offline_stores(user) -> QuerySet[Store]:
    return visible_stores(user).filter(networked=False, is_active=True).order_by("code")


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
    return render(request, "web/sales_upload/upload.html", {
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
    return render(request, "web/sales_upload/preview.html", {
        "record": record, "summary": summary, "result": summary.get("result"),
        "previewed": record.status == SalesUpload.Status.PREVIEWED,
        "more_errors": summary.get("error_count", 0) - len(summary.get("errors", [])),
        "more_receipts": summary.get("to_post", 0) - len(summary.get("receipt_list", [])),
    })
