from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "membercare.events"
    label = "events"
    verbose_name = _("VIP events and referrals")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from membercare.care.marketing import register_marketing_source
        from membercare.members.models import Member
        from membercare.members.signals import member_referred
        from membercare.sales.models import Receipt
        from membercare.sales.pipeline import register
        from membercare.sales.signals import sale_posted

        from . import exclusive, referrals
        from .models import Event
        from .selectors import event_marketing_receipts

        # no query for a buyer without a pending referral
        sale_posted.connect(referrals.reward_on_first_purchase, sender=Receipt,
                            dispatch_uid="events_referral_reward")
        register_marketing_source("events", event_marketing_receipts)  # seed 004's marketing revenue
        register(exclusive.ExclusiveSaleDiscount())  # 折上折 in the sale pipeline, after the card's discount
        post_save.connect(exclusive.invalidate, sender=Event, dispatch_uid="events_sales_cache_save")
        post_delete.connect(exclusive.invalidate, sender=Event, dispatch_uid="events_sales_cache_delete")
        m2m_changed.connect(exclusive.invalidate, sender=Event.stores.through, dispatch_uid="events_sales_cache_m2m")

        # a member registered with a referral code (member_create): recorded here, a refusal refuses the registration
        member_referred.connect(referrals.record_on_registration, sender=Member, dispatch_uid="events_member_referred")
