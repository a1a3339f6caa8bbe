from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoredValueConfig(AppConfig):
    name = "membercare.storedvalue"
    label = "storedvalue"
    verbose_name = _("Stored value")

    def ready(self) -> None:
        from membercare.core.timeline import register_timeline_source

        from .sale import register_providers
        from .selectors import member_stored_value_events

        register_timeline_source("stored_value", member_stored_value_events)  # every movement on the profile
        register_providers()  # stored value as a tender of the sale pipeline
        from .gift_tender import register_gift_card_tender
        from .giftcard_selectors import member_gift_card_events

        register_gift_card_tender()  # gift cards (礼品卡) as a tender of the sale pipeline
        register_timeline_source("gift_card", member_gift_card_events)
