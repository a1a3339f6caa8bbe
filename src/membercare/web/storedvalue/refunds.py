"""/stored-value/refunds/: the refund approval queue. HQ (VIP specialist, administrator) sees the chain's pending
requests and approves (the paying method chosen from the recorded methods; the principal on the card at
approval is paid back, the bonus forfeited) or rejects them; a store manager sees their stores' requests and
decisions, read-only; clerks are refused. Below: the decided requests, filtered by status, store and month,
paged. Thin: storedvalue.selectors reads, storedvalue.refunds writes (and checks the permission again)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import can_edit_programme, can_see_stored_value_books, require, visible_stores
from membercare.org.models import Store
from membercare.sales.models import PaymentMethod
from membercare.storedvalue.models import RefundState
from membercare.storedvalue.refunds import approve_refund, reject_refund
from membercare.storedvalue.rules import METHOD_CODE
from membercare.storedvalue.selectors import refunds_decided, refunds_pending, refunds_visible
from membercare.storedvalue.writes import StoredValueError

PAGE = 20


def _methods():
    return PaymentMethod.objects.filter(is_active=True).exclude(code=METHOD_CODE).order_by("position", "code")


def _stores(user):
    stores = Store.objects.all() if can_edit_programme(user) else visible_stores(user)
    return stores.order_by("code")


def _month(raw: str) -> tuple[tuple[int, int] | None, str]:
    if not raw:
        return None, ""
    try:
        day = dt.date.fromisoformat(f"{raw[:7]}-01")
    except ValueError:
        return None, _("“%(month)s” is not a month (YYYY-MM): every month is shown.") % {"month": raw[:20]}
    return (day.year, day.month), ""


def refund_queue(request: HttpRequest) -> HttpResponse:
    require(can_see_stored_value_books(request.user))
    stores = list(_stores(request.user))
    status = request.GET.get("status", "")
    if status not in (RefundState.APPROVED, RefundState.REJECTED):
        status = ""
    store_id = next((s.pk for s in stores if str(s.pk) == request.GET.get("store", "")), None)
    month, problem = _month(request.GET.get("month", "")[:20])
    pending = Paginator(refunds_pending(request.user).select_related("card"), PAGE).get_page(request.GET.get("p"))
    decided = Paginator(refunds_decided(request.user, status=status, store_id=store_id, month=month),
                        PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/storedvalue/refunds.html", {
        "pending": pending, "decided": decided, "can_decide": can_edit_programme(request.user),
        "methods": list(_methods()), "stores": stores, "status": status, "store_id": store_id,
        "month": request.GET.get("month", "")[:7] if month else "", "problem": problem,
        "statuses": [(RefundState.APPROVED, RefundState.APPROVED.label),
                     (RefundState.REJECTED, RefundState.REJECTED.label)],
        "query": query.urlencode(), "chain_wide": can_edit_programme(request.user),
        "this_month": timezone.localdate().strftime("%Y-%m"),
    })


@require_POST
def refund_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """HQ approves (with the paying method) or rejects one pending request."""
    require(can_edit_programme(request.user))
    refund = refunds_visible(request.user).filter(pk=pk).select_related("card").first()
    decision = request.POST.get("decision", "")
    if refund is None or decision not in ("approve", "reject"):
        raise Http404
    error, done = "", ""
    method = request.POST.get("method", "")[:30]
    try:
        if decision == "approve" and not _methods().filter(code=method).exists():
            error = _("Choose how the principal is paid back (a recorded payment method other than stored value).")
        elif decision == "approve":
            refund = approve_refund(refund=refund, by=request.user, method=method)
            done = _("Refund approved: ¥%(principal)s paid back with %(method)s, bonus ¥%(bonus)s forfeited.") % {
                "principal": refund.principal_refunded, "method": refund.method.name, "bonus": refund.bonus_forfeited}
        else:
            refund = reject_refund(refund=refund, by=request.user, reason=request.POST.get("reject_reason", "")[:400])
            done = _("Refund rejected: the balance stays on the card.")
    except StoredValueError as exc:
        error = exc.text
    if request.htmx:
        refund = refunds_visible(request.user).select_related("card").get(pk=refund.pk)
        response = render(request, "web/storedvalue/_refund_row.html", {
            "r": refund, "error": error, "done": done, "can_decide": True, "methods": list(_methods()),
            "chosen": method, "reject_reason": request.POST.get("reject_reason", "")[:200],
        })  # 200 with the refusal in the row: htmx swaps no error status in
        response["X-Refused"] = "1" if error else "0"
        return response
    (messages.error if error else messages.success)(request, error or done)
    return redirect("stored_value_refunds")
