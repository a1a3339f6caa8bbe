from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "membercare.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from membercare.sales.pipeline import register

        from .perks import PerkProvider
        from .sale import register_providers
        from .selectors import register_export_columns

        register_providers()  # the card's discount, birthday privilege, points offset and earn, tier evaluation
        register(PerkProvider())  # perks used on the sale (free alterations…), recorded with the receipt
        register_export_columns()  # the member export's card level, points balance and spend
