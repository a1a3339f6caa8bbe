from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "membercare.care"
    label = "care"
    verbose_name = _("Care")

    def ready(self) -> None:
        from membercare.core.timeline import register_timeline_source

        from .owners import member_owner_events
        from .selectors import member_contact_events

        register_timeline_source("contact", member_contact_events)
        register_timeline_source("owner", member_owner_events)  # the relationship owner's changes
