"""/analytics/: dashboards per role (the chain for HQ, the stores for a manager, own work for a clerk),
segment migration and cohorts, and the reports (store monthly report, VIP statement list, a member's
annual statement, the birthday audit's print layout), each as a page that prints cleanly and as .xlsx."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.analytics import reports
from membercare.analytics.cohorts import cohort_table, migration_matrix, migration_months
from membercare.analytics.dashboard import chain_dashboard, dashboard_sheets, own_dashboard
from membercare.analytics.facts import MOVE_DIMENSIONS
from membercare.analytics.scope import PERIODS, dashboard_role, resolve_filters
from membercare.analytics.statement import member_statement, past_year, vip_statement_list
from membercare.care.models import FollowUp, Lifecycle, MemberSegments, Pyramid, SpendClass
from membercare.core.jobs import job_start
from membercare.core.permissions import (
    can_edit_programme,
    can_export,
    can_see_full_phone,
    can_work_members,
    require,
    visible_stores,
)
from membercare.core.phone import mask_phone
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from membercare.loyalty.programme import programme_at
from membercare.members.models import Member
from membercare.org.models import Brand

from ..stores import picked_store, store_choices

CHOICES = {"lifecycle": Lifecycle, "spend_class": SpendClass, "pyramid": Pyramid, "follow_up": FollowUp}
VIP_INLINE_LIMIT = 500  # larger VIP lists are written by a background job with progress


def _require_staff(request: HttpRequest) -> None:
    require(can_work_members(request.user))


def _require_reports(request: HttpRequest) -> None:
    """Reports and migration pages: managers (their stores) and HQ; not clerks."""
    _require_staff(request)
    require(dashboard_role(request.user) != "own")


def _dashboard_data(request: HttpRequest):
    filters = resolve_filters(request.user, request.GET)
    role = dashboard_role(request.user)
    if role == "own":
        return role, filters, own_dashboard(request.user, filters)
    point_value = getattr(programme_at(filters.scope.end), "point_value", None)
    return role, filters, chain_dashboard(filters, point_value)


def dashboard(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    role, filters, data = _dashboard_data(request)
    return render(request, "web/analytics/dashboard.html", {
        "role": role, "filters": filters, "data": data, "periods": PERIODS.items(),
        "charts": data["charts"], "query": filters.query(), "can_export": can_export(request.user),
    })


def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures and every chart's data as .xlsx (aggregates only: no personal data)."""
    _require_staff(request)
    _role, filters, data = _dashboard_data(request)
    out = reports.write_xlsx(dashboard_sheets(data))
    name = f"dashboard-{filters.scope.start:%Y%m%d}-{filters.scope.end:%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)


def _label(dimension: str, value: str) -> str:
    if value == "":
        return _("not computed yet")
    try:
        return str(CHOICES[dimension](value).label)
    except (KeyError, ValueError):
        return value


def migration(request: HttpRequest) -> HttpResponse:
    """Segment migration for a month (first of the month → first of the next) and cohort retention."""
    _require_reports(request)
    filters = resolve_filters(request.user, request.GET)
    store_ids = filters.scope.store_ids
    months = migration_months()
    month = None
    if request.GET.get("month"):
        try:
            month = dt.date.fromisoformat(request.GET["month"]).replace(day=1)
        except ValueError:
            month = None
    month = month if month in months else (months[0] if months else None)
    dimension = request.GET.get("dimension", "lifecycle")
    if dimension not in MOVE_DIMENSIONS:
        dimension = "lifecycle"
    grid, afters = [], []
    if month is not None:
        matrix = migration_matrix(dimension, month, store_ids)
        order = ["", *(CHOICES[dimension].values)]
        befores = [v for v in order if v in matrix] + sorted(set(matrix) - set(order))
        afters_codes = [v for v in order if any(v in row for row in matrix.values())]
        afters = [_label(dimension, a) for a in afters_codes]
        grid = [{"label": _label(dimension, b), "cells": [matrix[b].get(a, 0) for a in afters_codes],
                 "total": sum(matrix[b].values()), "stayed": matrix[b].get(b, 0)} for b in befores]
    cohorts = cohort_table(store_ids=store_ids)
    return render(request, "web/analytics/migration.html", {
        "filters": filters, "months": months, "month": month, "dimension": dimension,
        "dimensions": [(d, MemberSegments._meta.get_field(d).verbose_name) for d in MOVE_DIMENSIONS],
        "grid": grid, "afters": afters, "cohorts": cohorts, "query": filters.query(),
    })


def _month(request: HttpRequest) -> dt.date:
    today = timezone.localdate()
    try:
        return dt.date.fromisoformat(request.GET.get("month", "") + "-01")
    except ValueError:
        return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def store_report(request: HttpRequest) -> HttpResponse:
    """The store's monthly member report (?store=, ?month=YYYY-MM); .xlsx with ?format=xlsx."""
    _require_reports(request)
    stores = store_choices(request.user, active_only=False)  # inactive stores included
    store = picked_store(request, stores)
    month = _month(request)
    if request.GET.get("format") == "xlsx":
        out = reports.store_monthly_xlsx(request.user, store, month)
        return FileResponse(out, as_attachment=True, filename=f"store-{store.code}-{month:%Y%m}.xlsx",
                            content_type=XLSX_CONTENT_TYPE)
    return render(request, "web/analytics/store_report.html", {
        "stores": stores, "store": store, "month": month, "report": reports.store_monthly_report(store, month),
        "can_export": can_export(request.user),
    })


def _vip_params(request: HttpRequest, brands: list[Brand]):
    default_start, default_end = past_year()
    brand = next((b for b in brands if str(b.pk) == request.GET.get("brand", "")), brands[0] if brands else None)
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        start, end = default_start, default_end
    try:
        limit = max(1, min(int(request.GET.get("limit", "100")), 100_000))
    except ValueError:
        limit = 100
    try:
        min_spend = Decimal(request.GET["min_spend"]) if request.GET.get("min_spend") else None
    except InvalidOperation:
        min_spend = None
    return brand, min(start, end), max(start, end), limit, min_spend


def vip_list(request: HttpRequest) -> HttpResponse:
    """The annual VIP statement list: the top spenders of a brand over the past year (seed 000's gathering)."""
    _require_reports(request)
    stores = visible_stores(request.user)
    brands = list(Brand.objects.filter(pk__in=stores.values("brand_id")).order_by("code")) or \
        list(Brand.objects.filter(sub_brands__stores__in=stores).distinct().order_by("code"))
    brand, start, end, limit, min_spend = _vip_params(request, brands)
    if brand is None:
        raise Http404
    store_ids = None if request.user.is_chain_wide else list(stores.values_list("pk", flat=True))
    fmt = request.GET.get("format", "")
    if fmt == "xlsx":
        require(can_export(request.user))
        if limit > VIP_INLINE_LIMIT:
            job = job_start("vip_statement", request.user, reports.vip_list_job, user_id=request.user.pk,
                            brand_id=brand.pk, start=start.isoformat(), end=end.isoformat(), limit=limit,
                            min_spend=str(min_spend) if min_spend is not None else None)
            return render(request, "web/jobs/status.html", {"job": job})
        out, _count = reports.vip_list_xlsx(request.user, brand, start, end, limit=limit, min_spend=min_spend)
        return FileResponse(out, as_attachment=True, filename=f"vip-{brand.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx",
                            content_type=XLSX_CONTENT_TYPE)
    rows = vip_statement_list(brand, start, end, limit=min(limit, VIP_INLINE_LIMIT), min_spend=min_spend,
                              store_ids=store_ids)
    full_phone = can_see_full_phone(request.user)
    for row in rows:
        row.phone = row.member.phone if full_phone else mask_phone(row.member.phone)
    return render(request, "web/analytics/vip_list.html", {
        "brands": brands, "brand": brand, "start": start, "end": end, "limit": limit, "min_spend": min_spend,
        "rows": rows, "can_export": can_export(request.user), "inline_limit": VIP_INLINE_LIMIT,
        "query": request.GET.urlencode(),
    })


def member_statement_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's annual statement, printable (from the profile)."""
    _require_staff(request)
    member = get_object_or_404(Member.objects.select_related("home_store"), pk=pk)
    start, end = past_year()
    try:
        if request.GET.get("start") and request.GET.get("end"):
            start, end = dt.date.fromisoformat(request.GET["start"]), dt.date.fromisoformat(request.GET["end"])
    except ValueError:
        pass
    return render(request, "web/analytics/member_statement.html", {
        "s": member_statement(member, min(start, end), max(start, end)),
        "phone": member.phone if can_see_full_phone(request.user) else mask_phone(member.phone),
    })


def birthday_audit_print(request: HttpRequest) -> HttpResponse:
    """The birthday audit in a clean print layout (all rows, no pagination)."""
    from membercare.loyalty.audit import birthday_audit, flag_counts

    from ..birthday.audit import _audit_filters

    require(can_edit_programme(request.user))
    _form, filters = _audit_filters(request)
    rows = birthday_audit(**filters)
    return render(request, "web/analytics/birthday_audit_print.html", {
        "rows": rows, "filters": filters, "counts": flag_counts(rows), "printed_at": timezone.localtime(),
    })
