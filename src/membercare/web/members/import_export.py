"""Import and export pages. Thin: the rules live in members.imports and members.exports.

Import is two steps: upload -> a dry-run preview listing every bad row (nothing written to the archive)
-> confirm -> the valid rows are imported in one transaction.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.audiences.selectors import can_use_audiences
from membercare.core.jobs import job_start
from membercare.core.permissions import can_export, can_import, require, visible_stores
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from membercare.members import exports
from membercare.members.imports import (
    ImportFileError,
    accepted_columns,
    confirm_import,
    discard_import,
    error_report_xlsx,
    max_bytes,
    preview_import,
)
from membercare.members.models import ImportJob
from membercare.members.selectors import member_list

from .forms import ImportUploadForm


def _visible_jobs(user):
    jobs = ImportJob.objects.select_related("default_store", "created_by")
    return jobs if user.is_chain_wide else jobs.filter(created_by=user)


def import_upload(request: HttpRequest) -> HttpResponse:
    require(can_import(request.user))
    stores = visible_stores(request.user).order_by("code")
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, stores=stores)
        if form.is_valid():
            try:
                job = preview_import(upload=form.cleaned_data["file"],
                                     default_store=form.cleaned_data["default_store"], user=request.user)
            except ImportFileError as exc:
                form.add_error("file", exc.message)
            else:
                return redirect("member_import_preview", pk=job.pk)
    else:
        home = request.user.stores.order_by("pk").first() or stores.first()
        form = ImportUploadForm(stores=stores, initial={"default_store": home.pk if home else None})
    return render(request, "web/members/import_upload.html", {
        "form": form, "columns": accepted_columns(), "max_mb": max_bytes() // (1024 * 1024),
        "jobs": _visible_jobs(request.user)[:10],
    })


def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_import(request.user))
    job = get_object_or_404(_visible_jobs(request.user), pk=pk)
    previewed = job.status == ImportJob.Status.PREVIEWED
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "confirm":
                job = confirm_import(job=job, user=request.user)
                result = job.summary["result"]
                messages.success(request, _(
                    "Imported: %(created)d new members, %(merged)d existing members completed, "
                    "%(skipped)d bad rows left out."
                ) % result)
            elif action == "discard":
                discard_import(job=job, user=request.user)
                messages.success(request, _("The file was discarded; nothing was imported."))
                return redirect("member_import")
        except ImportFileError as exc:
            messages.error(request, exc.message)
        return redirect("member_import_preview", pk=job.pk)
    if request.GET.get("download") == "errors":
        if not previewed or not job.file:
            raise Http404
        try:
            data = error_report_xlsx(job, user=request.user)
        except ImportFileError as exc:
            messages.error(request, exc.message)
            return redirect("member_import_preview", pk=job.pk)
        response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-bad-rows.xlsx"'
        return response
    summary = job.summary
    return render(request, "web/members/import_preview.html", {
        "job": job, "summary": summary, "previewed": previewed,
        "importable": summary.get("new", 0) + summary.get("merge", 0) - summary.get("unchanged", 0),
        "more_errors": summary.get("error_count", 0) - len(summary.get("errors", [])),
    })


EXPORT_INLINE_LIMIT = 5000  # larger member exports are written by a background job with progress


def export_members(request: HttpRequest) -> HttpResponse:
    require(can_export(request.user))
    store = request.GET.get("store", "")
    filters = {"store_id": int(store) if store.isdigit() and len(store) < 10 else None,
               "tag": request.GET.get("tag", "")[:50], "query": request.GET.get("q", "").strip()[:100]}
    file_format = "csv" if request.GET.get("format") == "csv" else "xlsx"
    audience = request.GET.get("audience", "")
    filters["audience_id"] = int(audience) if audience.isdigit() and len(audience) < 10 else None
    if filters["audience_id"] is not None and not can_use_audiences(request.user):
        raise PermissionDenied
    listed = exports.filtered_members(
        member_list(request.user, store_id=filters["store_id"], tag=filters["tag"], query=filters["query"]),
        request.user, audience_id=filters["audience_id"])
    if listed.count() > EXPORT_INLINE_LIMIT:
        job = job_start("members_export", request.user, exports.members_export_job, user_id=request.user.pk,
                        file_format=file_format, **filters)
        return render(request, "web/jobs/status.html", {"job": job})
    out, _count = exports.export_members(request.user, file_format=file_format, **filters)
    filename = f"members-{timezone.localtime():%Y%m%d-%H%M}.{file_format}"
    return FileResponse(out, as_attachment=True, filename=filename,
                        content_type=XLSX_CONTENT_TYPE if file_format == "xlsx" else "text/csv; charset=utf-8")
