"""/prediction/: the member value models per brand (fitted parameters, fit date, P(alive) distribution) and
a recompute button that starts a background job (core.jobs) whose progress the page polls."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from membercare.core.jobs import job_start, latest_job
from membercare.core.permissions import can_recompute_predictions
from membercare.prediction.selectors import brands_overview

JOB_KIND = "predictions_recompute"


def prediction_page(request: HttpRequest) -> HttpResponse:
    if not can_recompute_predictions(request.user):
        raise PermissionDenied
    job = latest_job(JOB_KIND, request.user)
    return render(request, "web/prediction/page.html", {"brands": brands_overview(), "job": job})


@require_POST
def prediction_recompute(request: HttpRequest) -> HttpResponse:
    if not can_recompute_predictions(request.user):
        raise PermissionDenied
    from membercare.prediction.services import predictions_job  # numpy/scipy load with the first recompute

    job = job_start(JOB_KIND, request.user, predictions_job)
    if request.headers.get("HX-Request"):
        return render(request, "web/_job_progress.html", {"job": job})
    return redirect("prediction_page")
