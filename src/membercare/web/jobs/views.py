"""/jobs/<pk>/: a background job's progress (htmx partial polled every second; a small page otherwise)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from membercare.core.jobs import job_for_user


def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for_user(request.user, pk)
    if request.headers.get("HX-Request"):
        return render(request, "web/_job_progress.html", {"job": job})
    return render(request, "web/jobs/status.html", {"job": job})
