from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "membercare.service"
    label = "service"
    verbose_name = _("Service")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from membercare.care.models import Contact
        from membercare.core.timeline import register_timeline_source

        from .handlers import on_contact_saved
        from .selectors import member_complaint_events, member_gift_events

        register_timeline_source("complaint", member_complaint_events)
        register_timeline_source("gift", member_gift_events)
        post_save.connect(on_contact_saved, sender=Contact, dispatch_uid="service_contact_saved")
