from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "membercare.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from membercare.sales.pipeline import register

        from .redeem import CouponAdjustment

        register(CouponAdjustment())  # coupons in the sale pipeline, after the birthday privilege
