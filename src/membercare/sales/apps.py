from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "membercare.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from membercare.core.timeline import register_timeline_source

        from .pipeline import register
        from .promotions import PromotionPrice
        from .selectors import member_purchase_events

        register_timeline_source("purchase", member_purchase_events)
        register(PromotionPrice())  # items on promotion at their price: the sale pipeline's first adjustment
