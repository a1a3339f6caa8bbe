"""/care/reasons/: why dormant and sleeping members stopped coming, counted per reason (care.reasons), by
month, store, clerk, card tier or stage, with filters on each; .xlsx with ?format=xlsx. Managers see the
contacts logged in their stores, HQ the chain or one store."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.access import can_manage_store_tasks, is_chain_wide
from membercare.care.reasons import (
    GROUPS,
    ReasonFilters,
    ReasonReportError,
    add_months,
    parse_month,
    reason_report,
    reason_sheets,
    tier_labels,
    visible_clerks,
)
from membercare.core.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from membercare.core.xlsx import write_xlsx

from ..stores import picked_store, store_choices


def group_labels() -> dict[str, str]:
    return {"month": _("Month"), "store": _("Store"), "clerk": _("Clerk"), "tier": _("Card"),
            "stage": _("Asked at")}


def care_reasons_page(request: HttpRequest) -> HttpResponse:
    if not can_manage_store_tasks(request.user):
        raise PermissionDenied
    stores = store_choices(request.user, active_only=False)
    chain = is_chain_wide(request.user)
    store = picked_store(request, stores, default_first=False)  # none picked: all of them
    store_ids = [store.pk] if store else (None if chain else [s.pk for s in stores])
    clerks = visible_clerks(store_ids)
    q = request.GET
    this_month = timezone.localdate().replace(day=1)
    error = ""
    try:
        month_to = parse_month(q["to"]) if q.get("to") else this_month
        month_from = parse_month(q["from"]) if q.get("from") else add_months(month_to, -11)
        clerk = q.get("clerk", "")
        if clerk and not any(str(c.pk) == clerk for c in clerks):
            raise ReasonReportError(_("Choose a clerk of your stores."))
        filters = ReasonFilters(month_from=month_from, month_to=month_to, store_ids=store_ids,
                                clerk_id=int(clerk) if clerk else None, tier=q.get("tier", "")[:20],
                                group_by=q.get("group", "month")[:10])
    except ReasonReportError as exc:
        error = str(exc)
        filters = ReasonFilters(month_from=add_months(this_month, -11), month_to=this_month, store_ids=store_ids)
    report = reason_report(filters)
    groups = group_labels()
    if q.get("format") == "xlsx" and not error:
        out = write_xlsx(reason_sheets(report, groups[filters.group_by]))
        name = f"dormancy-reasons-{filters.month_from:%Y%m}-{filters.month_to:%Y%m}.xlsx"
        return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)
    response = render(request, "web/care/reasons.html", {
        "stores": stores, "store": store, "chain": chain, "clerks": clerks, "tiers": tier_labels(),
        "groups": [(code, groups[code]) for code in GROUPS], "group_title": groups[filters.group_by],
        "filters": filters, "report": report, "error": error,
        "xlsx_query": request.GET.urlencode(),
        # months to pick (a select: a month input shows the browser's own language)
        "months": [f"{add_months(this_month, -i):%Y-%m}" for i in range(0, 60)],
    })
    if error:
        response.status_code = 400
    return response
