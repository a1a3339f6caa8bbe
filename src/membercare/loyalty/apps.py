from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "membercare.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from .sale import register_providers

        register_providers()  # the card's discount, birthday privilege, points offset and earn, tier evaluation
