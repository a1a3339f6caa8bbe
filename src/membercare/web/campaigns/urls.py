"""URLs of the campaigns pages (included by web/urls.py)."""

from django.urls import path

from . import views as v

urlpatterns = [
    path("campaigns/coupons/", v.coupon_batches_page, name="coupon_batches"),
    path("campaigns/coupons/new/", v.coupon_batch_new_page, name="coupon_batch_new"),
    path("campaigns/coupons/<int:pk>/", v.coupon_batch_page, name="coupon_batch"),
    path("campaigns/coupons/<int:pk>/issue/", v.coupon_batch_issue_page, name="coupon_batch_issue"),
    path("campaigns/results/", v.campaign_results_page, name="campaign_results"),
]
