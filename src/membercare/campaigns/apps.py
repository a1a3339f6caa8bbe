from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "membercare.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from membercare.care.marketing import register_marketing_source
        from membercare.messaging.bulk import register_audience_values
        from membercare.sales.pipeline import register

        from .redeem import CouponAdjustment
        from .selectors import coupon_marketing_receipts, coupon_placeholder_values

        register(CouponAdjustment())  # coupons in the sale pipeline, after the birthday privilege
        # a coupon issue's bulk send fills {coupon_code} and {coupon_until} per member
        register_audience_values("coupon_issue", {"coupon_code", "coupon_until"}, coupon_placeholder_values)
        from membercare.care.plans import register_plan_action

        from .winback import check_coupon_target, winback_coupon

        # care's win-back plan per dormancy reason may give the member a coupon (care.plans)
        register_plan_action("coupon", _("Give a coupon of a batch"), winback_coupon, check_coupon_target)
        register_marketing_source("coupons", coupon_marketing_receipts)  # seed 004's marketing revenue
