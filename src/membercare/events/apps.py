from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "membercare.events"
    label = "events"
    verbose_name = _("VIP events and referrals")
