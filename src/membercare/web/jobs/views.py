"""/jobs/<pk>/: a background job's progress (htmx partial polled every second; a small page otherwise)."""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from membercare.core.jobs import job_file_open, job_for_user, job_restart
from membercare.core.models import Job
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE


def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for_user(request.user, pk)
    if request.headers.get("HX-Request"):
        return render(request, "web/_job_progress.html", {"job": job})
    return render(request, "web/jobs/status.html", {"job": job})


@require_POST
def job_restart_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a failed job's work again (its creator or an administrator), then follow the new job."""
    job = job_for_user(request.user, pk)
    if job.status != Job.Status.FAILED:
        return redirect("job_status", pk=job.pk)
    return redirect("job_status", pk=job_restart(job, request.user).pk)


def job_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A finished job's file (an export), for the user who started it or an administrator; from the shared
    file storage, so any app server serves what any worker wrote."""
    job = job_for_user(request.user, pk)
    found = job_file_open(job)
    if found is None:
        raise Http404
    content, filename = found
    kind = ("text/csv; charset=utf-8" if filename.endswith(".csv")
            else XLSX_CONTENT_TYPE)
    return FileResponse(content, as_attachment=True, filename=filename, content_type=kind)
