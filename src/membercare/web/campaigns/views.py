"""Coupon pages (the VIP specialist and the admin: define and issue batches) and the campaign results (HQ for
the chain, a store manager for their own stores' members). Thin: the rules live in campaigns.services and
campaigns.selectors; clerks redeem coupons at the checkout."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.campaigns.codes import masked_code
from membercare.campaigns.models import Coupon, CouponBatch, CouponRedemption
from membercare.campaigns.selectors import COUPON_STATE_LABELS as STATE_LABELS
from membercare.campaigns.selectors import (
    STATUS_LABELS,
    batch_list,
    batch_status,
    campaign_results,
    coupon_batch_results,
    coupon_state,
    uplift,
)
from membercare.campaigns.services import (
    batch_create,
    can_run_campaigns,
    can_see_campaign_results,
    coupon_issue,
    issue_preview,
    results_stores,
)
from membercare.core.permissions import require

from ..forms import add_service_errors
from .forms import BatchForm, IssueForm


def coupon_batches_page(request: HttpRequest) -> HttpResponse:
    require(can_run_campaigns(request.user))
    page = Paginator(batch_list(), 30).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for batch in page:
        batch.status_label = STATUS_LABELS[batch_status(batch, today)]
    return render(request, "web/campaigns/batch_list.html", {"page": page})


def coupon_batch_new_page(request: HttpRequest) -> HttpResponse:
    require(can_run_campaigns(request.user))
    form = BatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            batch = batch_create(by=request.user, name=d["name"], brand=d["brand"], kind=d["kind"], value=d["value"],
                                 min_spend=d["min_spend"] or 0, skus=d["skus"], series=d["series"],
                                 valid_from=d["valid_from"], valid_to=d["valid_to"],
                                 stacks_with_tier=d["stacks_with_tier"], template=d["template"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Coupon batch “%(name)s” saved: now issue it.") % {"name": batch.name})
            return redirect("coupon_batch_issue", pk=batch.pk)
    return render(request, "web/campaigns/batch_new.html", {"form": form}, status=422 if form.errors else 200)


def coupon_batch_issue_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Audience (segment or pasted list), hold-out share, message → preview counts → issue."""
    require(can_run_campaigns(request.user))
    batch = get_object_or_404(CouponBatch.objects.select_related("template", "brand"), pk=pk)
    form = IssueForm(request.POST or None, initial={"template": batch.template_id}, user=request.user)
    preview = None
    if request.method == "POST" and form.is_valid():
        audience = form.audience()
        if request.POST.get("action") == "issue":
            try:
                issue = coupon_issue(batch=batch, audience=audience, holdout_share=form.holdout_share,
                                     by=request.user, send_message=form.cleaned_data["send_message"],
                                     template=form.cleaned_data.get("template"))
            except ValidationError as exc:
                add_service_errors(form, exc, field_for=lambda key: "holdout_percent" if key == "holdout_share"
                                   else key)
            else:
                messages.success(request, _("%(n)d coupon(s) issued, %(held)d member(s) held out.") % {
                    "n": issue.issued, "held": issue.held_out})
                return redirect("coupon_batch", pk=batch.pk)
        preview = issue_preview(batch=batch, audience=audience, holdout_share=form.holdout_share)
    return render(request, "web/campaigns/batch_issue.html", {"batch": batch, "form": form, "preview": preview},
                  status=422 if form.errors else 200)


def coupon_batch_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(can_run_campaigns(request.user))
    batch = get_object_or_404(CouponBatch.objects.select_related("brand", "template", "created_by"), pk=pk)
    coupons = Paginator(Coupon.objects.filter(batch=batch).select_related("member", "batch").order_by("pk"),
                        50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [{"code": masked_code(c.code), "member": c.member, "state": STATE_LABELS[coupon_state(c, today)],
             "issued_at": c.issued_at} for c in coupons]
    return render(request, "web/campaigns/batch_detail.html", {
        "batch": batch, "status": STATUS_LABELS[batch_status(batch, today)], "series": batch.series.all(),
        "can_issue": batch_status(batch, today) != "ended",
        "issues": batch.issues.select_related("issued_by", "bulk"), "coupons": coupons, "rows": rows,
        "redemptions": CouponRedemption.objects.filter(coupon__batch=batch)
        .select_related("receipt", "store", "coupon__member").order_by("-redeemed_at")[:100],
        "result": uplift(coupon_batch_results(batch)),
    })


def campaign_results_page(request: HttpRequest) -> HttpResponse:
    require(can_see_campaign_results(request.user))
    stores = results_stores(request.user)
    return render(request, "web/campaigns/results.html", {
        "rows": campaign_results(stores=stores), "scoped": stores is not None,
        "store_names": [s.name for s in stores] if stores is not None else []})
