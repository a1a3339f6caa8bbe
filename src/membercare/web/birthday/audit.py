"""The birthday audit (HQ): birthday privileges used in a period, flagged ones first, as a page or .xlsx.
Thin: the rules live in loyalty.audit."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from membercare.core.permissions import can_edit_programme, require
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from membercare.loyalty.audit import birthday_audit, birthday_audit_xlsx, flag_counts

from .forms import AuditFilterForm

AUDIT_PAGE_SIZE = 100


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
    return render(request, "web/birthday/audit.html", {
        "form": form, "filters": filters, "page": page, "total": len(rows), "counts": flag_counts(rows),
        "query": query.urlencode(),
    })


def birthday_audit_export(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    _form, filters = _audit_filters(request)
    out, _count = birthday_audit_xlsx(request.user, **filters)
    filename = f"birthday-audit-{filters['since']:%Y%m%d}-{filters['until']:%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
