from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "membercare.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from membercare.members.models import Member
        from membercare.members.signals import member_saved
        from membercare.sales.pipeline import register

        from .perks import PerkProvider
        from .points_events import on_member_saved
        from .sale import register_providers
        from .selectors import register_export_columns

        register_providers()  # the card's discount, birthday privilege, points offset and earn, tier evaluation
        register(PerkProvider())  # perks used on the sale (free alterations…), recorded with the receipt
        register_export_columns()  # the member export's card level, points balance and spend
        member_saved.connect(on_member_saved, sender=Member, dispatch_uid="loyalty_profile_points")
