"""/prediction/: per brand, the purchase model chosen by the hold-out check and its verdict, a chart of the
predicted against the actual hold-out purchases per calibration frequency class (Chart.js through the
analytics pages' chart include), the members of high value whose probability of being active has fallen
(with their relationship owner), the P(alive) distribution when the check allows it, the parameters under
"model details", and a recompute button that starts a background job (core.jobs) whose progress the page
polls.

HQ sees every member; a store manager the page without the recompute, with the list of the members registered
at their stores (prediction.selectors.at_risk_scope). From the list, its members go on to the existing ways
of reaching them: the bulk send composer (HQ) and an event's invitation (whoever may invite to the event),
with the list as the audience — those pages re-derive it for the user from the brand code, never from ids."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.jobs import job_start, latest_job
from membercare.core.permissions import can_recompute_predictions
from membercare.events.models import Event
from membercare.events.services import can_manage_event
from membercare.org.models import Brand
from membercare.prediction.selectors import at_risk_scope, brands_overview, can_see_at_risk

from ..messaging.views import can_manage_messaging

JOB_KIND = "predictions_recompute"


def _invitable_events(user) -> list[Event]:
    """Events not over or cancelled that the user may invite members to."""
    events = Event.objects.filter(cancelled=False, ends_at__gte=timezone.now()).prefetch_related("stores")
    return [e for e in events.order_by("starts_at", "pk") if can_manage_event(user, e)]


def prediction_page(request: HttpRequest) -> HttpResponse:
    if not can_see_at_risk(request.user):
        raise PermissionDenied
    hq = can_recompute_predictions(request.user)
    job = latest_job(JOB_KIND, request.user) if hq else None
    brands = brands_overview(at_risk_scope(request.user))
    charts = []
    for b in brands:
        fit = b["fit"]
        b["chart"] = holdout_chart(b["brand"].code, fit.holdout) if fit is not None else None
        if b["chart"]:
            charts.append(b["chart"])
        if fit is not None:
            b["params"] = fit.params.get(fit.model) or fit.params.get("bgnbd") or {}
            b["limits"] = (fit.params.get("limits") or {}).get(fit.model, [])
            error = (fit.holdout or {}).get("error")
            b["error_pct"] = f"{error * 100:.1f}" if error is not None else "—"
        for p in b["at_risk"]:
            p.days_since = p.age_days - p.recency_days  # as of the fit's date
    return render(request, "web/prediction/page.html", {
        "brands": brands, "job": job, "charts": charts, "can_recompute": hq, "scoped": not hq,
        "can_bulk": can_manage_messaging(request.user), "events": _invitable_events(request.user)})


def prediction_invite(request: HttpRequest) -> HttpResponse:
    """From the list's "invite to an event": the event's invitation page with the brand's list as audience."""
    if not can_see_at_risk(request.user):
        raise PermissionDenied
    brand = get_object_or_404(Brand, code=request.GET.get("brand", ""))
    event = get_object_or_404(Event, pk=request.GET.get("event") if (request.GET.get("event") or "").isdigit()
                              else 0)
    if not can_manage_event(request.user, event):
        raise PermissionDenied
    return redirect(f"{reverse('event_invite', args=[event.pk])}?at_risk={brand.code}")


def holdout_chart(code: str, check: dict) -> dict | None:
    """The chart spec (web/analytics/_chart.html, analytics.js) of a brand's hold-out check, or None."""
    classes = (check or {}).get("classes") or []
    if not classes:
        return None
    labels = [str(c["x"]) if c["x"] < len(classes) - 1 else f"{c['x']}+" for c in classes]
    actual = [round(c["actual"], 2) for c in classes]
    predicted = [round(c["predicted"], 2) for c in classes]
    title = _("Repeat purchases in the %(weeks)s weeks held out, per member, by purchases before them") % {
        "weeks": check.get("weeks")}
    return {"id": f"holdout-{code}", "key": f"holdout-{code}", "title": title, "type": "line", "labels": labels,
            "datasets": [{"label": _("Actual"), "data": actual}, {"label": _("Predicted"), "data": predicted}],
            "target": None, "stacked": False, "percent": False,
            "headers": [_("Repeat purchases before"), _("Members"), _("Actual"), _("Predicted")],
            "rows": [[lbl, c["members"], a, p] for lbl, c, a, p in zip(labels, classes, actual, predicted,
                                                                          strict=True)]}


@require_POST
def prediction_recompute(request: HttpRequest) -> HttpResponse:
    if not can_recompute_predictions(request.user):
        raise PermissionDenied
    from membercare.prediction.services import predictions_job  # numpy/scipy load with the first recompute

    job = job_start(JOB_KIND, request.user, predictions_job)
    if request.headers.get("HX-Request"):
        return render(request, "web/_job_progress.html", {"job": job})
    return redirect("prediction_page")
